/** Opening an import's input: the source's bytes, hashed as given, gunzipped when compressed, read by its format. */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Settings } from '../config.js';
import { AtlasError, UsageError } from '../errors.js';
import { openCsv } from '../formats/csv.js';
import type { FileFormat, TableStream } from '../formats/types.js';
import { HashingReader, openLocalSource, type OpenedSource } from '../sources/source.js';

/** How to read the input; null fields are detected. */
export interface InputOptions {
  source: string;
  format: FileFormat | null;
  delimiter: string | null;
  header: boolean;
  encoding: string | null;
  name: string | null;
  sheet: string | null;
  headerRow: number | null;
  recordPath: string | null;
  /** Every null value of any column (CSV marks quoted fields holding one: see Row.quoted). @default null */
  nullValues?: ReadonlySet<string> | null;
  stdin?: NodeJS.ReadableStream | undefined;
}

export interface OpenedInput {
  opened: OpenedSource;
  reader: HashingReader;
  format: FileFormat;
  compressed: boolean;
  table: TableStream;
}

const EXTENSIONS: Record<string, FileFormat> = {
  csv: 'csv',
  txt: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  xlsx: 'xlsx',
  xlsm: 'xlsx',
  xls: 'xlsx',
  json: 'json',
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  xml: 'xml',
};

/** The format from --format, else the extension (a `.gz` suffix ignored), else the first bytes. */
export function detectFormat(requested: FileFormat | null, fileName: string | null, firstBytes: Buffer): FileFormat {
  if (requested) return requested;
  const name = (fileName ?? '').toLowerCase().replace(/\.(gz|gzip)$/, '');
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : '';
  const byExt = EXTENSIONS[ext];
  if (byExt) return byExt;
  const head = firstBytes.subarray(0, 512).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (firstBytes[0] === 0x50 && firstBytes[1] === 0x4b) return 'xlsx';
  if (head.startsWith('<')) return 'xml';
  if (head.startsWith('[')) return 'json';
  if (head.startsWith('{')) return 'ndjson';
  if (fileName === null || ext === '') return 'csv';
  throw new UsageError(`cannot tell the format of ${fileName} from its extension .${ext}`, { hint: 'pass --format csv|tsv|xlsx|json|ndjson|xml' });
}

/** Yields the first chunk again after peeking at it. */
async function peek(source: AsyncIterable<Buffer>): Promise<{ first: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  async function* rest(): AsyncGenerator<Buffer> {
    if (!first.done) yield head;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  return { first: head, rest: rest() };
}

function gunzip(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const out = Readable.from(source).pipe(createGunzip());
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of out) yield chunk as Buffer;
    } catch (err) {
      throw new AtlasError(`the gzip data is corrupt or truncated: ${(err as Error).message}`, { cause: err });
    }
  }
  return chunks();
}

/** Opens the source named by `options.source` (a path, `-`, or `s3://bucket/key`). */
export async function openSource(settings: Settings, options: InputOptions): Promise<OpenedSource> {
  if (options.source.startsWith('s3://')) {
    // The AWS SDK loads only for s3:// sources.
    const { openS3Source } = await import('../sources/s3.js');
    return openS3Source(options.source, settings.s3, process.env);
  }
  return openLocalSource(options.source, options.name, (options.stdin ?? process.stdin) as never);
}

/** Reads an opened source as far as its header. */
export async function readInput(opened: OpenedSource, options: InputOptions): Promise<OpenedInput> {
  const reader = new HashingReader(opened.stream as AsyncIterable<Buffer>);
  let { first, rest } = await peek(reader);
  const compressed = first[0] === 0x1f && first[1] === 0x8b;
  if (compressed) ({ first, rest } = await peek(gunzip(rest)));
  const format = detectFormat(options.format, opened.fileName, first);
  const table = await openTable(format, rest, options);
  return { opened, reader, format, compressed, table };
}

async function openTable(format: FileFormat, bytes: AsyncIterable<Buffer>, options: InputOptions): Promise<TableStream> {
  switch (format) {
    case 'csv':
    case 'tsv':
      return openCsv(bytes, { delimiter: format === 'tsv' ? (options.delimiter ?? '\t') : options.delimiter, header: options.header, encoding: options.encoding, nullValues: options.nullValues ?? null });
    // Each reader loads its library (exceljs, sax) only when a file of its format is imported.
    case 'xlsx': {
      const { openXlsx } = await import('../formats/xlsx.js');
      return openXlsx(bytes, { sheet: options.sheet === null ? null : /^\d+$/.test(options.sheet) ? Number(options.sheet) : options.sheet, headerRow: options.headerRow });
    }
    case 'json': {
      const { openJson } = await import('../formats/json.js');
      return openJson(bytes, { recordPath: options.recordPath, encoding: options.encoding });
    }
    case 'ndjson': {
      const { openNdjson } = await import('../formats/json.js');
      return openNdjson(bytes, { encoding: options.encoding });
    }
    case 'xml': {
      const { openXml } = await import('../formats/xml.js');
      return openXml(bytes, { recordPath: options.recordPath, encoding: options.encoding });
    }
  }
}
