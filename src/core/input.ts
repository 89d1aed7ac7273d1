/** Opening an import's input: the source's bytes, hashed as given, gunzipped when compressed, read by its format. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Settings } from '../config.js';
import { AtlasError, UsageError } from '../errors.js';
import { openCsv } from '../formats/csv/index.js';
import { FORMAT_EXTENSIONS, tableNameFromFileName, type FileFormat, type FixedTableStream, type TableStream } from '../formats/shared/index.js';
import { openXlsx, openXlsxArchive, parseSheetRange, type XlsxOptions } from '../formats/xlsx/index.js';
import { openZipArchive } from '../formats/zip/index.js';
import { HashingReader, openLocalSource, type OpenedSource } from '../sources/source.js';
import { cutSourceNameNote, nulSourceNameProblem, sourceNameOf } from '../transform/naming.js';

/** How to read the input; null fields are detected. */
export interface InputOptions {
  source: string;
  format: FileFormat | null;
  delimiter: string | null;
  /** CSV/TSV: lines starting with this character are comments, skipped; none when null. */
  comment?: string | null;
  /** CSV/TSV: a record with fewer fields than the header gets NULL for the rest (else a mapping error). */
  fillShortRows?: boolean;
  /** CSV/TSV: lines skipped before the header (a title, notes). @default 0 */
  skipLines?: number;
  header: boolean;
  encoding: string | null;
  name: string | null;
  sheet: string | null;
  headerRow: number | null;
  recordPath: string | null;
  /** XLSX: the block of cells to read (`A5:F15`, `A5:F`); the whole sheet when null. */
  range?: string | null;
  /** The entry of a zip archive to import; the first data file when null. */
  entry?: string | null;
  /** The table named by --table or the mapping, for the commands that messages suggest. */
  table?: string | null;
  /** Every null value of any column (CSV marks quoted fields holding one: see Row.quoted). @default null */
  nullValues?: ReadonlySet<string> | null;
  stdin?: NodeJS.ReadableStream | undefined;
}

export interface OpenedInput {
  opened: OpenedSource;
  reader: HashingReader;
  format: FileFormat;
  compressed: boolean;
  /** The zip archive's entry that was read, or null when the input is not a zip of data files. */
  entry: string | null;
  table: TableStream;
  /** Warnings about the input found while opening it (a header cell cut to MAX_SOURCE_NAME_CHARS). */
  notes: string[];
}

/**
 * The format from --format, else the extension (a `.gz` suffix ignored), else the first bytes (a
 * zip is looked into first, see readInput). `{` first is NDJSON, unless --record-path was given
 * (`recordPath`): only a JSON document has a path to its records.
 */
export function detectFormat(requested: FileFormat | null, fileName: string | null, firstBytes: Buffer, recordPath: string | null = null): FileFormat {
  if (requested) return requested;
  const byExt = formatOfName(fileName);
  const ext = extensionOf(fileName);
  // `.txt` names any text: JSON Lines (npm ndjson's test data.txt), JSON or XML by their first character, else CSV.
  if (byExt && ext !== 'txt') return byExt;
  const head = firstBytes.subarray(0, 512).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('<')) return 'xml';
  if (head.startsWith('[')) return 'json';
  if (head.startsWith('{')) return recordPath === null ? 'ndjson' : 'json';
  if (byExt) return byExt;
  if (fileName === null || ext === '') return 'csv';
  if (ext === 'zip') throw new UsageError(`${fileName} is not a zip archive (its first bytes are not a zip's)`, { hint: 'if it is a data file of another kind, pass --format csv|tsv|xlsx|json|ndjson|xml' });
  // A binary format (Parquet, a pickle, a database file) is named as such: --format csv would only read its bytes as text.
  if (firstBytes.subarray(0, 4).toString('latin1') === 'PAR1') {
    throw new UsageError(`${fileName} is a Parquet file, which atlas does not read`, { hint: `export it as CSV or NDJSON first, e.g. duckdb -c "copy (select * from '${fileName}') to 'out.csv'"` });
  }
  if (firstBytes.subarray(0, 512).includes(0)) {
    throw new UsageError(`cannot tell the format of ${fileName}: its first bytes are not text (a binary format, which atlas does not read?)`, {
      hint: 'atlas reads CSV, TSV, XLSX, JSON, NDJSON and XML: export the data as one of them (text in UTF-16 without a byte-order mark: pass --format and --encoding utf16le)',
    });
  }
  throw new UsageError(`cannot tell the format of ${fileName} from its extension .${ext}`, { hint: 'pass --format csv|tsv|xlsx|json|ndjson|xml' });
}

/** The last extension of a file name (a `.gz` suffix ignored), lower case; '' for none. */
function extensionOf(fileName: string | null): string {
  const name = (fileName ?? '').toLowerCase().replace(/\.(gz|gzip)$/, '');
  return name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : '';
}

/** The format a file's extension names, if any. */
function formatOfName(fileName: string | null): FileFormat | null {
  const ext = extensionOf(fileName);
  return Object.hasOwn(FORMAT_EXTENSIONS, ext) ? (FORMAT_EXTENSIONS[ext] as FileFormat) : null;
}

const isZip = (b: Buffer): boolean => b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
/** A zip of no entries is its end record alone. */
const isEmptyZip = (b: Buffer): boolean => b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x05 && b[3] === 0x06;
const isGzip = (b: Buffer): boolean => b[0] === 0x1f && b[1] === 0x8b;
/** A tar archive's first header has `ustar` at offset 257 (POSIX and GNU alike). */
const isTar = (b: Buffer): boolean => b.length >= 262 && b.toString('latin1', 257, 262) === 'ustar';

/** Compressions and archives atlas does not read: how to know them, and the command that writes their content to stdout. */
const UNREAD_COMPRESSIONS = [
  { what: 'bzip2-compressed', ext: 'bz2', magic: [0x42, 0x5a, 0x68], command: 'bzip2 -dc' },
  { what: 'xz-compressed', ext: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], command: 'xz -dc' },
  { what: 'zstd-compressed', ext: 'zst', magic: [0x28, 0xb5, 0x2f, 0xfd], command: 'zstd -dc' },
  { what: 'a 7-Zip archive', ext: '7z', magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], command: '7z x -so' },
  { what: 'a RAR archive', ext: 'rar', magic: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07], command: 'unrar p -inul' },
] as const;

/** A file name as one shell word. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Refuses, in one line that gives a command that works, a compression atlas does not read (by
 * its first bytes, or the file's extension): read as text it would fail later with hints that
 * each point the wrong way.
 */
function refuseUnreadCompression(first: Buffer, fileName: string | null, table: string | null): void {
  const message = unreadCompression(first, fileName, table);
  if (message !== null) throw new AtlasError(message);
}

/** What refuseUnreadCompression says of a file (by its first bytes, or its name alone when `first` is empty), or null when atlas reads it. */
export function unreadCompression(first: Buffer, fileName: string | null, table: string | null): string | null {
  const ext = (fileName ?? '').toLowerCase().split('.').pop();
  const found = UNREAD_COMPRESSIONS.find((c) => (first.length > 0 && c.magic.every((byte, i) => first[i] === byte)) || (fileName !== null && ext === c.ext));
  if (found === undefined) return null;
  const inner = fileName === null ? null : fileName.slice(0, fileName.length - found.ext.length - 1);
  const target = table ?? (fileName === null ? 'TABLE' : tableNameFromFileName(fileName));
  const command =
    fileName === null
      ? `... | ${found.command} | atlas import - --table ${shellWord(target)}`
      : `${found.command} ${shellWord(fileName)} | atlas import - --table ${shellWord(target)} --name ${shellWord(inner ?? fileName)}`;
  return `${fileName ?? 'the input'} is ${found.what}, which atlas does not read; decompress it on the way in: ${command}`;
}

/**
 * Refuses, in one line with a command that works, a tar archive (gzipped or not), an empty zip
 * and a compressed file inside a zip: read as text they failed with a hint to pass --format,
 * which then failed on a NUL byte.
 */
function refuseUnreadArchive(first: Buffer, fileName: string | null, table: string | null, compressed: boolean): void {
  const name = fileName ?? 'the input';
  if (isEmptyZip(first)) throw new AtlasError(`${name} is an empty zip archive: nothing to import`);
  if (!isTar(first)) return;
  // The first member's name, when the first header is a file's (type '0' or NUL): the command then names it.
  const field = (from: number, to: number): string => first.toString('utf8', from, to).replace(/\0[^]*$/, '');
  const isFile = first[156] === 0x30 || first[156] === 0;
  const member = isFile ? [field(345, 500), field(0, 100)].filter((p) => p !== '').join('/') : '';
  const inner = member === '' ? 'FILE.csv' : member;
  const base = inner.slice(inner.lastIndexOf('/') + 1);
  const target = table ?? (member === '' ? 'TABLE' : tableNameFromFileName(base));
  const tail = `| atlas import - --table ${shellWord(target)} --name ${shellWord(base)}`;
  const command = fileName === null ? `... | tar -x${compressed ? 'z' : ''}O ${shellWord(inner)} ${tail}` : `tar -xOf ${shellWord(fileName)} ${shellWord(inner)} ${tail}`;
  throw new AtlasError(`${name} is a tar archive, which atlas does not read; write the file you mean to stdout on the way in: ${command}`);
}

/** Refuses an entry of a zip that is itself compressed: the zip's reader hands on its bytes as they are. */
function refuseCompressedEntry(first: Buffer, fileName: string | null, entry: string, table: string | null): void {
  const other = UNREAD_COMPRESSIONS.find((c) => c.magic.every((byte, i) => first[i] === byte));
  if (!isGzip(first) && other === undefined) return;
  const base = entry.slice(entry.lastIndexOf('/') + 1);
  const inner = other === undefined ? base : base.replace(new RegExp(`\\.${other.ext}$`, 'i'), '');
  const target = table ?? tableNameFromFileName(inner);
  const command = `unzip -p ${shellWord(fileName ?? 'FILE.zip')} ${shellWord(entry)} ${other === undefined ? '' : `| ${other.command} `}| atlas import - --table ${shellWord(target)} --name ${shellWord(inner)}`;
  throw new AtlasError(`${entry} in ${fileName ?? 'the zip archive'} is ${other === undefined ? 'gzip-compressed' : other.what}, and a compressed file inside a zip is not read; extract it on the way in: ${command}`);
}

/** What format detection and the magic numbers look at: the input's first bytes. */
const PEEK_BYTES = 512;

/**
 * Reads the first PEEK_BYTES bytes (or all, if fewer) and yields them again: a pipe delivers what
 * its writer has written so far, so one chunk may be a single newline (`(printf '\n'; sleep 3; cat x.ndjson) | atlas import -`).
 */
async function peek(source: AsyncIterable<Buffer>): Promise<{ first: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  // A read error after the first bytes is the reading's, raised where they end: what came before is read (and recorded) first.
  let failed: { error: unknown } | null = null;
  while (size < PEEK_BYTES) {
    let n: IteratorResult<Buffer>;
    try {
      n = await it.next();
    } catch (error) {
      if (chunks.length === 0) throw error;
      failed = { error };
      break;
    }
    if (n.done) {
      done = true;
      break;
    }
    chunks.push(n.value);
    size += n.value.length;
  }
  const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (failed !== null) throw failed.error;
    if (done) return;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  return { first: head, rest: rest() };
}

function gunzip(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const out = createGunzip();
  // pipeline, not pipe: an error of the source (a read error, a dropped S3 connection) then ends
  // the gunzipped stream with that error instead of escaping as an uncaught exception that
  // kills the process before the import's record says it failed.
  pipeline(Readable.from(source), out).catch(() => undefined); // its error reaches the loop below
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of out) yield chunk as Buffer;
    } catch (err) {
      // zlib's own errors carry a Z_ code; anything else is the source's, passed on as it is.
      if (!String((err as NodeJS.ErrnoException).code ?? '').startsWith('Z_')) throw err;
      throw new AtlasError(`the gzip data is corrupt or truncated: ${(err as Error).message}`, { cause: err });
    }
  }
  return chunks();
}

/** Opens the source named by `options.source` (a path, `-`, or `s3://bucket/key`); `signal` cancels the wait for S3. */
export async function openSource(settings: Settings, options: InputOptions, signal?: AbortSignal): Promise<OpenedSource> {
  if (options.source.startsWith('s3://')) {
    // The AWS SDK loads only for s3:// sources.
    const { openS3Source } = await import('../sources/s3.js');
    const opened = await openS3Source(options.source, settings.s3, process.env, signal);
    return options.name == null ? opened : { ...opened, fileName: options.name };
  }
  return openLocalSource(options.source, options.name, (options.stdin ?? process.stdin) as never);
}

/**
 * Reads an opened source as far as its header. `seen` learns the reader and the format as soon as
 * they exist, so that an input that turns out unreadable is still recorded with what was read.
 */
export async function readInput(opened: OpenedSource, options: InputOptions, seen: { reader: HashingReader | null; format: FileFormat | null } = { reader: null, format: null }): Promise<OpenedInput> {
  const reader = new HashingReader(opened.stream as AsyncIterable<Buffer>);
  seen.reader = reader;
  let { first, rest } = await peek(reader);
  const compressed = first[0] === 0x1f && first[1] === 0x8b;
  if (compressed) ({ first, rest } = await peek(gunzip(rest)));
  refuseUnreadCompression(first, opened.fileName, options.table ?? null);
  refuseUnreadArchive(first, opened.fileName, options.table ?? null, compressed);
  const wanted = options.entry ?? null;
  // A zip is a workbook only if it has a workbook's parts (openZipArchive looks), whatever its name, unless .xlsx says so.
  const zip = isZip(first) && (options.format ?? formatOfName(opened.fileName)) !== 'xlsx';
  if (wanted !== null && !zip) throw new UsageError('--entry names a file inside a .zip archive, and this input is not one');
  if (zip) {
    const content = await openZipArchive(rest, wanted);
    if (content.kind === 'workbook') {
      seen.format = 'xlsx';
      return opening(opened, reader, 'xlsx', compressed, null, await openXlsxArchive(content.zip, xlsxOptions(options)));
    }
    ({ first, rest } = await peek(content.bytes));
    refuseCompressedEntry(first, opened.fileName, content.name, options.table ?? null);
    const format = detectFormat(options.format, content.name, first, options.recordPath);
    seen.format = format;
    return opening(opened, reader, format, compressed, content.name, await openTable(format, rest, options));
  }
  const format = detectFormat(options.format, opened.fileName, first, options.recordPath);
  seen.format = format;
  return opening(opened, reader, format, compressed, null, await openTable(format, rest, options));
}

/** The opened input, with a fixed input's header cells made its columns' source names (keepHeader). */
function opening(opened: OpenedSource, reader: HashingReader, format: FileFormat, compressed: boolean, entry: string | null, table: TableStream): OpenedInput {
  const notes = table.kind === 'fixed' ? keepHeader(table) : [];
  return { opened, reader, format, compressed, entry, table, notes };
}

function xlsxOptions(options: InputOptions): XlsxOptions {
  return {
    sheet: options.sheet === null ? null : /^\d+$/.test(options.sheet) ? Number(options.sheet) : options.sheet,
    headerRow: options.headerRow,
    range: options.range == null ? null : parseSheetRange(options.range),
    header: options.header,
  };
}

/**
 * Makes a fixed input's header cells its columns' source names (see sourceNameOf): a cell with a
 * NUL byte is refused, a cell too long cut; returns a warning per cut cell.
 */
function keepHeader(table: FixedTableStream): string[] {
  const notes: string[] = [];
  table.header = table.header.map((cell, i) => {
    const where = `column ${i + 1} of the header`;
    const name = sourceNameOf(cell);
    if (name === null) throw new AtlasError(nulSourceNameProblem(where), { hint: 'remove the NUL byte from the header line' });
    if (name !== cell) notes.push(cutSourceNameNote(where, cell.length));
    return name;
  });
  return notes;
}

/** Options that choose what of a file is read, and the formats they apply to: given for another, they would be recorded as used and not be. */
const FORMAT_OPTIONS: ReadonlyArray<{ flag: string; given: (o: InputOptions) => boolean; formats: readonly FileFormat[]; does: string }> = [
  { flag: '--range', given: (o) => o.range != null, formats: ['xlsx'], does: 'reads a block of cells of a spreadsheet (XLSX)' },
  { flag: '--sheet', given: (o) => o.sheet !== null, formats: ['xlsx'], does: 'chooses a sheet of a spreadsheet (XLSX)' },
  { flag: '--header-row', given: (o) => o.headerRow !== null, formats: ['xlsx'], does: 'chooses the header row of a spreadsheet (XLSX)' },
  { flag: '--record-path', given: (o) => o.recordPath !== null, formats: ['json', 'xml'], does: 'chooses the records of a JSON or XML document' },
  { flag: '--comment', given: (o) => o.comment != null, formats: ['csv', 'tsv'], does: 'skips comment lines of CSV/TSV' },
  { flag: '--fill-short-rows', given: (o) => o.fillShortRows === true, formats: ['csv', 'tsv'], does: 'fills short records of CSV/TSV' },
  { flag: '--skip-lines', given: (o) => (o.skipLines ?? 0) > 0, formats: ['csv', 'tsv'], does: 'skips lines above the header of CSV/TSV' },
];

async function openTable(format: FileFormat, bytes: AsyncIterable<Buffer>, options: InputOptions): Promise<TableStream> {
  for (const o of FORMAT_OPTIONS) {
    if (o.given(options) && !o.formats.includes(format)) throw new UsageError(`${o.flag} ${o.does}; this input is ${format.toUpperCase()}`, { hint: 'leave it out for this file, or pass --format if the format was guessed wrong' });
  }
  switch (format) {
    case 'csv':
    case 'tsv':
      return openCsv(bytes, {
        delimiter: options.delimiter ?? null,
        delimiterByName: format === 'tsv' ? '\t' : null,
        header: options.header,
        encoding: options.encoding,
        nullValues: options.nullValues ?? null,
        comment: options.comment ?? null,
        fillShortRows: options.fillShortRows === true,
        skipLines: options.skipLines ?? 0,
      });
    // Each reader loads its library (exceljs, sax) only when a file of its format is imported;
    // the XLSX reader's own code is loaded with its index, which --range's parsing needs anyway.
    case 'xlsx':
      return openXlsx(bytes, xlsxOptions(options));
    case 'json': {
      const { openJson } = await import('../formats/json/index.js');
      return openJson(bytes, { recordPath: options.recordPath, encoding: options.encoding });
    }
    case 'ndjson': {
      const { openNdjson } = await import('../formats/json/index.js');
      return openNdjson(bytes, { encoding: options.encoding });
    }
    case 'xml': {
      const { openXml } = await import('../formats/xml/index.js');
      return openXml(bytes, { recordPath: options.recordPath, encoding: options.encoding });
    }
  }
}
