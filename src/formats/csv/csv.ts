import { BatchQueue, detectEncoding, SNIFFED_DELIMITERS, StrictDecoder, type FixedTableStream, type RawCsv, type Row, type RowBatch, type SniffedDelimiter } from '../shared/index.js';
import { AtlasError } from '../../errors.js';
import { CsvScanner, sniffDelimiter } from './csvScanner.js';

export interface CsvOptions {
  /** Field delimiter; sniffed among , ; tab | when null. */
  delimiter: string | null;
  /**
   * The delimiter the file's name or --format implies (TSV: tab), when `delimiter` is null: used
   * unless the first lines hold none of it and another sniffed delimiter splits the header. @default null
   */
  delimiterByName?: string | null;
  /** First record is the header. @default true */
  header: boolean;
  /** Encoding name (see --encoding); detected from a BOM, else UTF-8, when null. */
  encoding: string | null;
  /** Null values (--null-value): a quoted field holding one is marked on its row (`Row.quoted`). @default null */
  nullValues?: ReadonlySet<string> | null;
  /** --comment: lines starting with this character are skipped (and counted in the details). @default null */
  comment?: string | null;
  /** --fill-short-rows: a record with fewer fields than the header gets NULL for the missing ones (counted, said), instead of being a mapping error. @default false */
  fillShortRows?: boolean;
  /** --skip-lines: lines skipped before the header (a title, notes), counted from the file's first; an Excel `sep=` line among them still names the delimiter. @default 0 */
  skipLines?: number;
}

/** Excel's first line `sep=;` names the delimiter; it is not the header. */
const EXCEL_SEP_LINE = /^sep=([^"\r\n])(?:\r\n|\r|\n|$)/;

/** The first data records whose widths are compared with the header's (a title line taken for the header). */
const EARLY_RECORDS = 20;
/** What sets the width of a file without a header, as messages say it. */
export const WIDEST_EARLY = `the widest of the first ${EARLY_RECORDS} records`;

/**
 * Input is scanned in pieces that end with a line end, so that the scanner is often between
 * records at a piece's end; past this many bytes without one (CR-only line ends, a very long
 * field) what was read is scanned anyway.
 */
const MAX_UNCUT_BYTES = 1 << 20;
/**
 * A run of records longer than this (a quoted field over many lines, line ends the scanner cannot
 * be cut at) is not held to its end: its rows so far go as a batch of COPY text.
 */
const MAX_RUN_BYTES = 4 << 20;
/**
 * A header line longer than this is refused: no line of column names is that long (1594
 * columns of 255 characters, what atlas keeps of each, take 400 KB), and a whole file read as
 * one line (no line end, or a first line of data) would otherwise be held in memory.
 */
export const MAX_HEADER_LINE_BYTES = 1 << 20;

/**
 * The bytes of `rows` for COPY (FORMAT csv), or null where COPY would read them otherwise than
 * the scanner did, or refuse them: a NUL byte, a row of another width than the header's (a
 * mapping error), a single-column line `\.` (the end-of-data marker before PostgreSQL 18), line
 * ends other than all LF or all CRLF (COPY holds every line to the first one's).
 */
function rawOf(pieces: Buffer[], rows: Row[], width: number, delimiter: SniffedDelimiter): RawCsv | null {
  const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  if (bytes.indexOf(0) >= 0) return null;
  for (const row of rows) if (row.fields.length !== width) return null;
  if (width === 1 && rows.some((r) => r.fields[0] === '\\.')) return null;
  const firstCr = bytes.indexOf(13);
  if (firstCr < 0) return { bytes, delimiter, crlf: false };
  let crs = 0;
  for (let i = firstCr; i >= 0; i = bytes.indexOf(13, i + 1)) {
    if (bytes[i + 1] !== 10) return null;
    crs++;
  }
  let lfs = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) lfs++;
  return crs === lfs ? { bytes, delimiter, crlf: true } : null;
}

/**
 * Reads CSV: returns once the header is known, then streams the data records in batches.
 * Blank lines are not records (in a one-column file, those between records are counted in a
 * warning). `rn` counts data records from 1 (the first after the header).
 *
 * A batch is a run of whole records, between two points where the scanner is between records.
 * When the input is UTF-8 and its delimiter one atlas sniffs (SNIFFED_DELIMITERS), a run that COPY (FORMAT csv) reads
 * exactly as the scanner does (see rawOf) also carries its bytes: staging sends those to the
 * server as they are, and writes no COPY text for them, so the server's CSV parsing runs on the
 * other core (docs/decisions.md).
 */
export async function openCsv(bytes: AsyncIterable<Buffer>, options: CsvOptions): Promise<FixedTableStream> {
  const iterator = bytes[Symbol.asyncIterator]();
  let decoder: StrictDecoder | null = null;
  let scanner: CsvScanner | null = null;
  let header: string[] | null = null;
  let rn = 0;
  const pending = new BatchQueue<RowBatch>();
  let done = false;
  let delimiter = options.delimiter;
  /** What follows the last line end read: scanned with the next bytes. */
  let carry: Buffer | null = null;
  let readBytes = 0;
  // The run of records since the scanner was last between records: their rows and bytes, and
  // whether they may be given as bytes (not the first run, which holds the header or a BOM; no
  // blank line, which COPY would read as a record).
  let runRows: Row[] = [];
  let runBytes: Buffer[] = [];
  let runSize = 0;
  let runRaw = false;

  /** The data record (0: the header) that held the first quote read as a character, and the first text after a closing quote (CsvScanner). */
  let firstLiteralQuote: number | null = null;
  let firstTextAfterQuote: number | null = null;
  /** Blank lines since the last record; in a one-column file, those between records (maybe empty values). */
  let blanks = 0;
  let blankBetween = 0;
  /** --fill-short-rows: the records filled, and the first of them. */
  let shortRows = 0;
  let firstShortRow: { rn: number; fields: number } | null = null;
  /** The records' width: the header's, or without one the widest of the first EARLY_RECORDS records (decided once they are read, see settleWidth). */
  let width: number | null = null;
  /** Lines still to skip before the header (--skip-lines, an Excel `sep=` line); those skipped; whether the last skipped line ended in a CR whose LF is in the next piece. */
  let linesToSkip = options.skipLines ?? 0;
  let skippedLines = 0;
  let skipLf = false;
  let sepLine: string | null = null;
  /** The delimiter the name implied, when the file's lines held none of it and another was read instead. */
  let notAsNamed: string | null = null;
  let atFileStart = true;
  /** The width and scanner record number of the first data records (EARLY_RECORDS), to tell a title line read as the header. */
  const early: Array<{ width: number; n: number; hash: boolean; words: number }> = [];
  /**
   * A delimiter at the end of data lines, which the header lacks: decided on the first
   * EARLY_RECORDS data records (held until then), whatever pieces the input comes in. When each is
   * of the header's width or one field wider with that field empty, some wider, the extra empty
   * field is dropped from every record that has one (counted); one with a value there stays
   * ragged. `trailingAll`: every one of those records was wider (R's row names would look alike).
   */
  let trailing: 'undecided' | 'drop' | 'keep' = options.header ? 'undecided' : 'keep';
  let trailingAll = false;
  let trailingDropped = 0;
  const trailingKept = { count: 0, first: 0 };
  /** Drops the empty field past the header's `width` of a record that has one (trailing: 'drop'). */
  const dropTrailing = (row: Row, width: number): void => {
    if (row.fields.length !== width + 1) return;
    if (row.fields[width] === null) {
      row.fields.pop();
      trailingDropped++;
    } else if (trailingKept.count++ === 0) trailingKept.first = row.rn;
  };
  const onRecord = (fields: Array<string | null>, n: number, quoted: number[] | null): void => {
    if (firstLiteralQuote === null && scanner!.literalQuotes > 0) firstLiteralQuote = header === null && options.header ? 0 : rn + 1;
    if (firstTextAfterQuote === null && scanner!.textAfterQuote > 0) firstTextAfterQuote = header === null && options.header ? 0 : rn + 1;
    if (fields.length === 0) {
      runRaw = false;
      blanks++;
      return;
    }
    if (header === null && options.header) {
      header = fields.map((f) => f ?? '');
      blanks = 0;
      return;
    }
    if (options.header) width ??= (header as string[]).length;
    // Without a header the width is not known before the first records are (settleWidth fills those held).
    if (width !== null) fields = fillShort(fields, rn + 1, width);
    // Blank lines are not records; in a one-column file one between records may have been an
    // empty value (COPY and R's data.table read it as NULL): those are counted for a warning.
    // (Those right after a header count too: COPY reads them as records as well.)
    if (blanks > 0 && (rn > 0 || header !== null) && (header?.length ?? 1) === 1 && fields.length === 1) blankBetween += blanks;
    blanks = 0;
    rn++;
    if (rn <= EARLY_RECORDS) early.push({ width: fields.length, n, hash: fields[0]?.startsWith('#') === true, words: fields.length === 1 ? wordCount(fields[0] ?? '') : 0 });
    const row: Row = quoted === null ? { rn, fields } : { rn, fields, quoted };
    if (trailing === 'drop' && width !== null && fields.length === width + 1) {
      // COPY would read the extra field: the run goes as text lines.
      runRaw = false;
      dropTrailing(row, width);
    }
    runRows.push(row);
  };

  /** --fill-short-rows: `fields` filled with NULL to `width`, counted; else as they are. */
  const fillShort = (fields: Array<string | null>, recordNumber: number, width: number): Array<string | null> => {
    if (options.fillShortRows !== true || fields.length >= width) return fields;
    // COPY would refuse the short line: the run goes as text lines.
    runRaw = false;
    if (shortRows++ === 0) firstShortRow = { rn: recordNumber, fields: fields.length };
    return [...fields, ...Array<null>(width - fields.length).fill(null)];
  };

  /**
   * Without a header: the width is the widest of the first EARLY_RECORDS records (tzdata's
   * zone1970.tab has an optional last field), so that --fill-short-rows can keep the narrower
   * ones; the rows held until then are filled now.
   */
  const settleWidth = (): void => {
    if (width !== null || runRows.length === 0) return;
    width = Math.max(...early.map((r) => r.width));
    for (const r of runRows) r.fields = fillShort(r.fields, r.rn, width);
  };

  /** Decides on the rows held since the first data record (see `trailing`), and drops their extra field if so. */
  const settleTrailing = (): void => {
    if (trailing !== 'undecided' || runRows.length === 0) return;
    const w = (header as string[] | null)?.length ?? -1;
    const sample = runRows.slice(0, EARLY_RECORDS);
    const wider = sample.filter((r) => r.fields.length === w + 1).length;
    const fits = sample.every((r) => r.fields.length === w || (r.fields.length === w + 1 && r.fields[w] === null));
    // Every record wider and numbered 1, 2, 3, ... in its first field: R's default row names (write.table with na = "" and an empty last column), not a delimiter at the line ends; kept, and said.
    const rowNames = wider === sample.length && sample.every((r, i) => r.fields[0] === String(i + 1));
    trailing = wider > 0 && fits && !rowNames ? 'drop' : 'keep';
    if (trailing === 'keep') return;
    trailingAll = wider === sample.length;
    runRaw = false;
    for (const r of runRows) dropTrailing(r, w);
  };

  /** Ends the run: its rows become a batch, with their bytes when they may go as they are. */
  const endRun = (): void => {
    // The first data records are held until there are enough to decide on (or the input ends).
    if ((trailing === 'undecided' || width === null) && rn < EARLY_RECORDS && !done) return;
    settleWidth();
    settleTrailing();
    if (runRows.length > 0) {
      const batch: RowBatch = runRows;
      const raw = runRaw ? rawOf(runBytes, runRows, width!, delimiter as SniffedDelimiter) : null;
      if (raw !== null) batch.raw = raw;
      pending.push(batch);
    }
    runRows = [];
    runBytes = [];
    runSize = 0;
    // Only the delimiters atlas sniffs among go as bytes (db/staging/index.ts has COPY's DELIMITER for each).
    runRaw = (decoder as StrictDecoder | null)?.encoding === 'utf-8' && (SNIFFED_DELIMITERS as readonly string[]).includes(delimiter!);
  };

  /** `text` less the lines still to skip before the header (and an Excel `sep=` first line), counted. */
  const skipLeadingLines = (text: string): string => {
    if (atFileStart) {
      atFileStart = false;
      const sep = EXCEL_SEP_LINE.exec(text);
      if (sep !== null) {
        sepLine = sep[1]!;
        delimiter ??= sepLine;
        linesToSkip = Math.max(linesToSkip, 1);
      }
    }
    let at = 0;
    if (skipLf && text.length > 0) {
      skipLf = false;
      if (text.charCodeAt(0) === 10) at = 1;
    }
    while (linesToSkip > 0 && at < text.length) {
      const lf = text.indexOf('\n', at);
      const cr = text.indexOf('\r', at);
      const end = cr >= 0 && (lf < 0 || cr < lf) ? cr : lf;
      if (end < 0) return ''; // the line goes on in the next piece
      linesToSkip--;
      skippedLines++;
      at = end + 1;
      if (end === cr) {
        if (at === text.length) skipLf = true;
        else if (text.charCodeAt(at) === 10) at++;
      }
    }
    return text.slice(at);
  };

  /** Scans `piece` (it ends with a line end, or is the input's last bytes, or too long to wait for one). */
  const scan = (piece: Buffer): void => {
    if (decoder === null) decoder = new StrictDecoder(detectEncoding(piece, options.encoding));
    let text = decoder.decode(piece);
    if (scanner === null || linesToSkip > 0 || skipLf) {
      const length = text.length;
      text = skipLeadingLines(text);
      // The piece's bytes hold lines that were skipped: its run goes as text lines.
      if (text.length !== length) runRaw = false;
      if (scanner === null && text === '') return;
    }
    if (scanner === null) {
      if (delimiter == null) {
        const sample = text.slice(0, 64 * 1024);
        const comment = options.comment ?? null;
        delimiter = options.delimiterByName == null ? sniffDelimiter(sample, comment) : delimiterForName(sample, options.delimiterByName, comment);
        if (delimiter !== options.delimiterByName && options.delimiterByName != null) notAsNamed = options.delimiterByName;
      }
      scanner = new CsvScanner(delimiter, onRecord, '"', options.nullValues ?? null, options.comment ?? null);
    }
    const { literalQuotes, commentLines } = scanner;
    scanner.push(text);
    // COPY reads neither a quote after text as a character nor comment lines: such runs go as text lines.
    if (scanner.literalQuotes !== literalQuotes || scanner.commentLines !== commentLines) runRaw = false;
    if (runRaw) runBytes.push(piece);
    runSize += piece.length;
    if (scanner.atRecordStart()) endRun();
    else if (runSize > MAX_RUN_BYTES) {
      runRaw = false;
      runBytes = [];
      runSize = 0;
      settleWidth();
      settleTrailing();
      if (runRows.length > 0) pending.push(runRows);
      runRows = [];
    }
  };

  const feed = async (): Promise<boolean> => {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      if (carry !== null) scan(carry);
      carry = null;
      if (decoder && scanner) {
        scanner.push(decoder.end());
        if (scanner.insideQuotes) {
          throw new AtlasError(`the CSV ends inside a quoted field that starts in record ${rn + (header ? 2 : 1)}: the file is truncated or a quote is not closed`);
        }
        scanner.end();
        endRun();
      }
      return false;
    }
    readBytes += next.value.length;
    const data: Buffer = carry === null ? next.value : Buffer.concat([carry, next.value]);
    const cut = data.lastIndexOf(10) + 1;
    if (cut === 0 && data.length <= MAX_UNCUT_BYTES) {
      carry = data;
      return true;
    }
    const at = cut === 0 ? data.length : cut;
    carry = at < data.length ? data.subarray(at) : null;
    scan(data.subarray(0, at));
    return true;
  };

  // Read until the header (or, without one, the records' width) is known.
  while (!done && (options.header ? header === null : width === null)) {
    await feed();
    if (options.header && header === null && readBytes > MAX_HEADER_LINE_BYTES) {
      throw new AtlasError(`the first line, the header, is longer than ${MAX_HEADER_LINE_BYTES / (1 << 20)} MiB: atlas refuses a header that long`, {
        hint: 'is the first line data? --no-header reads it as data',
      });
    }
  }
  if (options.header && header === null) {
    if (skippedLines > 0) throw new AtlasError(`no header row found after the ${skippedLines} line(s) skipped${options.skipLines ? ' (--skip-lines)' : ''}: the file has no more`);
    throw new AtlasError('the file is empty: no header row found');
  }
  if (!options.header) {
    if (width === null) throw new AtlasError('the file is empty: no records found');
    header = Array.from({ length: width }, (_, i) => `column_${i + 1}`);
  }

  async function* batches(): AsyncGenerator<RowBatch> {
    for (;;) {
      for (const batch of pending.take()) yield batch;
      if (done) return;
      try {
        await feed();
      } catch (error) {
        // The records held for the trailing-delimiter decision were read: they go before the error, as they would have without the hold.
        if ((trailing === 'undecided' || width === null) && runRows.length > 0) {
          settleWidth();
          settleTrailing();
          const held = runRows;
          runRows = [];
          yield held;
        }
        throw error;
      }
    }
  }

  return {
    kind: 'fixed',
    header: header as unknown as string[],
    batches: batches(),
    get details() {
      const comments = options.comment == null ? {} : { comment: options.comment, comment_lines: (scanner as CsvScanner | null)?.commentLines ?? 0 };
      const filled = options.fillShortRows === true ? { short_rows_filled: shortRows } : {};
      const dropped = trailing === 'drop' ? { trailing_empty_fields_dropped: trailingDropped } : {};
      const skipped = skippedLines > 0 || (options.skipLines ?? 0) > 0 ? { skipped_lines: skippedLines } : {};
      const sep = { ...(sepLine === null ? {} : { excel_sep_line: sepLine }), ...(notAsNamed === null ? {} : { tsv_without_tabs: true }) };
      return { format: 'csv', delimiter, encoding: (decoder as StrictDecoder | null)?.encoding ?? 'utf-8', header: options.header, ...sep, ...skipped, ...comments, ...filled, ...dropped };
    },
    get warnings() {
      const out: string[] = [];
      if (notAsNamed !== null) {
        out.push(`the file's name (or --format) says TSV, but its first ${EARLY_RECORDS} lines hold no tab: read as separated by ${JSON.stringify(delimiter)}, which splits its header into ${(header as string[] | null)?.length ?? 0} fields (--delimiter '\t' reads it as tab-separated, one column)`);
      }
      const n = (scanner as CsvScanner | null)?.literalQuotes ?? 0;
      const where = (first: number | null): string => (first === 0 ? 'the header' : `data record ${first}`);
      if (n > 0) out.push(`${n} quote character(s) in the middle of unquoted fields (the first in ${where(firstLiteralQuote)}) kept as characters, as spreadsheets read them (5'11"), not as the start of a quoted field`);
      const after = (scanner as CsvScanner | null)?.textAfterQuote ?? 0;
      if (after > 0) out.push(`${after} field(s) with text after their closing quote (the first in ${where(firstTextAfterQuote)}) read as COPY reads them: "a"b is ab, a quote after it opening a quoted part again; check them against the file`);
      if (firstShortRow !== null) {
        out.push(`${shortRows} record(s) with fewer fields than ${options.header ? 'the header' : WIDEST_EARLY} (the first: data record ${firstShortRow.rn}, ${firstShortRow.fields} of ${width}) filled with NULL to its width (--fill-short-rows)`);
      }
      const dataLike = header === null || !options.header ? null : headerOfData(header as string[]);
      if (dataLike !== null) out.push(dataLike);
      const narrow = header === null || !options.header ? null : narrowHeader((header as string[]).length, early, skippedLines);
      if (narrow !== null) out.push(narrow);
      if (trailing === 'drop') {
        const kept = trailingKept.count === 0 ? '' : `; ${trailingKept.count} record(s) have a value there (the first: data record ${trailingKept.first}) and are kept out as mapping errors`;
        const rowNames = trailingAll ? `. If the header instead lacks its first name (R's row names), import with --skip-lines ${skippedLines + 1} --no-header` : '';
        out.push(`${trailingDropped} record(s) end in an empty field the header has no name for (a delimiter at the end of the line): that empty field dropped from each${kept}${rowNames}`);
      } else if (options.header && header !== null) {
        const short = oneNameShort((header as string[]).length, early, skippedLines);
        if (short !== null) out.push(short);
      }
      const spaced = options.delimiter == null && sepLine === null && options.header && header !== null ? spaceSeparated(header as string[], early) : null;
      if (spaced !== null) out.push(spaced);
      if (blankBetween > 0) out.push(`${blankBetween} blank line(s) between the records of this one-column file skipped: blank lines are not records (COPY would have read each as an empty value, NULL)`);
      // Unicode's Blocks.txt: notes in lines starting with # above the data, the first read as its
      // header, the others as records (a column named "#" above numbers is not one).
      const first = options.header && header !== null ? (header as string[])[0] : undefined;
      if (options.comment == null && first !== undefined && first.startsWith('#') && early.some((r) => r.hash)) {
        out.push(`the header read begins with # (${JSON.stringify(first.length > 40 ? `${first.slice(0, 40)}…` : first)}): if lines starting with # are comments, import with --comment '#'`);
      }
      return out;
    },
  };
}

/**
 * `named` (a .tsv file's tab), unless the first EARLY_RECORDS lines of `sample` hold none of it
 * and the delimiter sniffed among the others splits the first line (a comma-separated file named
 * .tsv would otherwise be one column of whole lines): then that one.
 */
function delimiterForName(sample: string, named: string, comment: string | null): string {
  const lines = sample.split(/\r\n|\r|\n/).filter((l) => comment === null || !l.startsWith(comment)).slice(0, EARLY_RECORDS);
  if (lines.some((l) => l.includes(named))) return named;
  const sniffed = sniffDelimiter(sample, comment);
  return sniffed !== named && lines[0] !== undefined && lines[0].includes(sniffed) ? sniffed : named;
}

/** A number or a date or time as files write them: no column name looks so, a record's value does. */
const DATA_SHAPED = /^(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?)$/;

/**
 * A warning when the line read as the header holds numbers or dates (a file without a header, as
 * papaparse's long-sample.csv: its first record named the columns and was lost), as XLSX warns of
 * a header row holding numbers; null otherwise.
 */
function headerOfData(header: readonly string[]): string | null {
  const shaped = header.map((h) => h.trim()).filter((h) => DATA_SHAPED.test(h));
  if (shaped.length === 0) return null;
  const shown = shaped.length > 3 ? `${shaped.slice(0, 3).join(', ')}, ...` : shaped.join(', ');
  return `the first line, read as the header, holds ${shaped.length} value(s) shaped like data (${shown}) that name columns and are not imported as data: if it is data, import with --no-header (columns column_1, column_2, ...)`;
}

/** Words of a one-field record,/** Words of a one-field record, counted only when one of them is a number (a line of phrases, "Ann Lee", is not columns). */
const wordCount = (text: string): number => {
  const words = text.trim() === '' ? [] : text.trim().split(/\s+/);
  return words.some((w) => /^[-+]?\.?\d/.test(w)) ? words.length : 0;
};

/**
 * A warning when the file read as one column but its header and most of its first records split
 * at spaces into as many fields (statsmodels' spector.csv): the delimiter is sniffed among , ; tab
 * and | only, so a file separated by spaces is one text column unless --delimiter says so.
 */
function spaceSeparated(header: readonly string[], early: ReadonlyArray<{ width: number; words: number }>): string | null {
  const words = header.length === 1 ? header[0]!.trim().split(/\s+/).length : 0;
  if (words < 2 || early.length === 0) return null;
  const alike = early.filter((r) => r.width === 1 && r.words === words).length;
  if (alike * 2 <= early.length) return null;
  return `the file was read as one column, but its header and ${alike} of its first ${early.length} records split at spaces into ${words} fields each: if it is separated by spaces, import it with --delimiter ' '`;
}

/**
 * A warning when most of the first data records have one field more than the header (R's
 * write.table output, whose row names have no name in the header): the header is one name short.
 */
function oneNameShort(headerWidth: number, early: ReadonlyArray<{ width: number }>, skippedLines: number): string | null {
  const longer = early.filter((r) => r.width === headerWidth + 1).length;
  if (longer * 2 <= early.length) return null;
  return (
    `${longer} of the first ${early.length} records have one field more than the header (${headerWidth + 1}, not ${headerWidth}): the header is one name short, as R's write.table writes no name above its row names; ` +
    `import with --skip-lines ${skippedLines + 1} --no-header (columns column_1, column_2, ..., which --mapping can rename), or add the missing name to the header line; ` +
    `if that first line is data, not names (a last field only some records have), import with --no-header --fill-short-rows`
  );
}

/**
 * A warning when the header is much narrower than most of the first data records (a title line
 * read as the header, every record then rejected), naming the --skip-lines that starts at the
 * first record about as wide as them; null otherwise. `n` counts the scanner's records from the
 * header (1), one per line unless a quoted field spans lines.
 */
function narrowHeader(headerWidth: number, early: ReadonlyArray<{ width: number; n: number }>, skippedLines: number): string | null {
  const wider = early.filter((r) => r.width > headerWidth);
  if (wider.length * 2 <= early.length) return null;
  const counts = new Map<number, number>();
  for (const r of wider) counts.set(r.width, (counts.get(r.width) ?? 0) + 1);
  const common = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  // One field more is a trailing delimiter or R's row names, told apart elsewhere.
  if (common < headerWidth + 2) return null;
  const start = early.find((r) => r.width >= common - 1)!;
  const skip = skippedLines + start.n - 1;
  return (
    `the header has ${headerWidth} field(s) but ${wider.length} of the first ${early.length} records have more (most ${common}): ` +
    `if the lines above the real header are a title or notes, skip them with --skip-lines ${skip} (line ${skip + 1}, ${start.width} fields, becomes the header)`
  );
}
