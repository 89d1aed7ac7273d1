/**
 * An incremental CSV tokenizer that splits records exactly as PostgreSQL's `COPY ... (FORMAT csv)`
 * does (quote `"` doubled to escape, a quote toggles quoting, CR, LF and CRLF end a record
 * outside quotes, an unquoted empty field is NULL), except that a quote after text in an
 * unquoted field is read as itself. Where a run of records is plain
 * enough (see csv.ts), the server parses their bytes itself and this scanner's records only feed
 * type inference; the COPY's row count is checked against theirs.
 */

import { AtlasError } from '../../errors.js';
import { heapShare, MIB, SNIFFED_DELIMITERS } from '../shared/index.js';

/**
 * The longest field accepted (UTF-16 code units): 1/8 of the heap, in whole MiB (32 MiB under
 * --max-old-space-size=256), at most MAX_TEXT_CHARS (247 MiB). A field is held several times over
 * on its way to COPY, so a larger one (or an unterminated quote swallowing the rest of a big file)
 * is a clear error, not an out-of-memory crash.
 */
export const MAX_FIELD_CHARS = heapShare(8);

/**
 * Called with each record's fields; `null` is an unquoted empty field (NULL in COPY). `quoted`: the
 * positions of quoted fields whose text is one of the scanner's watched values, or null for none.
 */
export type RecordHandler = (fields: Array<string | null>, recordNumber: number, quoted: number[] | null) => void;

const CR = 13;
const LF = 10;

export class CsvScanner {
  private readonly delimiter: number;
  private readonly quote: number;
  private readonly onRecord: RecordHandler;
  private fields: Array<string | null> = [];
  /** Text of the field being read, carried across chunks. */
  private field = '';
  private fieldQuoted = false;
  private inQuotes = false;
  /** A quote seen at the end of a chunk inside quotes: closing quote or first half of `""`. */
  private pendingQuote = false;
  /** A CR ended the last record; an LF right after it belongs to it. */
  private afterCR = false;
  private recordHasContent = false;
  /** Quoted fields of this record whose text (trimmed or not) is watched. */
  private quoted: number[] | null = null;
  /** Records emitted so far. */
  records = 0;
  /** The comment character's code (-1: none), whether a comment line goes on into the next chunk, and the comment lines skipped. */
  private readonly comment: number;
  private inComment = false;
  commentLines = 0;
  /** Quotes read as characters, after text in an unquoted field; the record of the first (counting every record). */
  literalQuotes = 0;
  firstLiteralQuote = 0;
  /** Fields with text after their closing quote ("a"b: ab, as COPY reads it); the record of the first. */
  textAfterQuote = 0;
  firstTextAfterQuote = 0;

  /**
   * `watched`: texts (null values) whose quoted occurrences are reported to `onRecord`.
   * `comment`: a line starting with it (where a record would start) is skipped, and counted.
   */
  constructor(delimiter: string, onRecord: RecordHandler, quote = '"', private readonly watched: ReadonlySet<string> | null = null, comment: string | null = null) {
    this.delimiter = delimiter.charCodeAt(0);
    this.quote = quote.charCodeAt(0);
    this.onRecord = onRecord;
    this.comment = comment === null ? -1 : comment.charCodeAt(0);
  }

  /** True between records: everything pushed so far ended with a record's end. */
  atRecordStart(): boolean {
    return !this.inQuotes && !this.pendingQuote && !this.afterCR && !this.inComment && this.field === '' && this.fields.length === 0 && !this.recordHasContent;
  }

  /**
   * Skips the comment lines from `i`, where a record starts (the rest of one begun in an earlier
   * chunk first); returns where the next record starts.
   */
  private skipComments(chunk: string, i: number): number {
    const n = chunk.length;
    while (this.inComment || (i < n && chunk.charCodeAt(i) === this.comment)) {
      if (!this.inComment) this.commentLines++;
      this.inComment = true;
      let end = i;
      while (end < n && chunk.charCodeAt(end) !== LF && chunk.charCodeAt(end) !== CR) end++;
      if (end === n) return n;
      this.inComment = false;
      i = end + 1;
      if (chunk.charCodeAt(end) === CR) {
        if (i < n) {
          if (chunk.charCodeAt(i) === LF) i++;
        } else this.afterCR = true;
      }
    }
    return i;
  }

  /** True while the scanner is inside a quoted field (an unterminated quote at end of input). */
  get insideQuotes(): boolean {
    return this.inQuotes && !this.pendingQuote;
  }

  push(chunk: string): void {
    const { delimiter, quote } = this;
    const n = chunk.length;
    let i = 0;
    let start = 0; // start of the not-yet-copied part of the current field in this chunk

    if (this.afterCR) {
      this.afterCR = false;
      if (n > 0 && chunk.charCodeAt(0) === LF) {
        i = 1;
        start = 1;
      }
    }
    if (this.pendingQuote) {
      this.pendingQuote = false;
      if (n > 0 && chunk.charCodeAt(0) === quote) {
        this.field += '"';
        i = 1;
        start = 1;
      } else {
        this.inQuotes = false;
        if (n > 0) this.afterClosingQuote(chunk.charCodeAt(0));
      }
    }
    if (this.comment >= 0 && (this.inComment || this.atRecordStart())) {
      i = this.skipComments(chunk, i);
      start = i;
    }

    while (i < n) {
      const c = chunk.charCodeAt(i);
      if (this.inQuotes) {
        if (c === quote) {
          if (i + 1 >= n) {
            this.field += chunk.slice(start, i);
            this.pendingQuote = true;
            i++;
            start = i;
            continue;
          }
          if (chunk.charCodeAt(i + 1) === quote) {
            this.field += chunk.slice(start, i + 1);
            i += 2;
            start = i;
            continue;
          }
          this.field += chunk.slice(start, i);
          this.inQuotes = false;
          this.afterClosingQuote(chunk.charCodeAt(i + 1));
          i++;
          start = i;
          continue;
        }
        i++;
        continue;
      }
      if (c === quote) {
        // After text in an unquoted field (5'11", 37.8"N) a quote is that character, as Python's
        // csv and spreadsheets read it; COPY would start a quoted section there and run records
        // together, so a run holding one does not go to COPY as bytes (csv.ts).
        if (!this.fieldQuoted && (i > start || this.field !== '') && /\S/.test(this.field + chunk.slice(start, i))) {
          if (this.literalQuotes++ === 0) this.firstLiteralQuote = this.records + 1;
          this.recordHasContent = true;
          i++;
          continue;
        }
        this.field += chunk.slice(start, i);
        this.inQuotes = true;
        this.fieldQuoted = true;
        this.recordHasContent = true;
        i++;
        start = i;
        continue;
      }
      if (c === delimiter) {
        this.field += chunk.slice(start, i);
        this.endField();
        this.recordHasContent = true;
        i++;
        start = i;
        continue;
      }
      if (c === LF || c === CR) {
        this.field += chunk.slice(start, i);
        this.endRecord();
        i++;
        if (c === CR) {
          if (i < n) {
            if (chunk.charCodeAt(i) === LF) i++;
          } else {
            this.afterCR = true;
          }
        }
        if (this.comment >= 0 && !this.afterCR) i = this.skipComments(chunk, i);
        start = i;
        continue;
      }
      this.recordHasContent = true;
      i++;
    }
    if (start < n) this.field += chunk.slice(start, n);
    if (this.field.length > MAX_FIELD_CHARS) {
      throw new AtlasError(
        `a field longer than ${MAX_FIELD_CHARS / MIB} MiB in record ${this.records + 1}${this.inQuotes ? ' (a quote that is never closed?)' : ''}: atlas refuses it to keep memory bounded`,
      );
    }
  }

  /** `c`, the character after a closing quote: counted unless it ends the field (or reopens it: "a""b" is a doubled quote). */
  private afterClosingQuote(c: number): void {
    if (c === this.delimiter || c === LF || c === CR || c === this.quote) return;
    if (this.textAfterQuote++ === 0) this.firstTextAfterQuote = this.records + 1;
  }

  /** Flushes a last record without a trailing newline. */
  end(): void {
    if (this.pendingQuote) {
      this.pendingQuote = false;
      this.inQuotes = false;
    }
    if (this.recordHasContent || this.field !== '' || this.fields.length > 0) this.endRecord();
  }

  private endField(): void {
    if (this.fieldQuoted && this.watched !== null && (this.watched.has(this.field) || this.watched.has(this.field.trim()))) (this.quoted ??= []).push(this.fields.length);
    this.fields.push(this.field === '' && !this.fieldQuoted ? null : this.field);
    this.field = '';
    this.fieldQuoted = false;
  }

  private endRecord(): void {
    this.endField();
    const fields = this.fields;
    const quoted = this.quoted;
    this.fields = [];
    this.quoted = null;
    const empty = fields.length === 1 && fields[0] === null && !this.recordHasContent;
    this.recordHasContent = false;
    // PostgreSQL skips nothing: an empty line is a record with one NULL field. We mirror that,
    // except that an empty line is reported as such so callers can name it.
    this.records++;
    this.onRecord(empty ? [] : fields, this.records, quoted);
  }
}

/**
 * Picks the delimiter that splits the first lines most consistently: the candidate whose most
 * frequent non-zero count (outside quotes) is on the most lines, less the lines above the first
 * of them (a title line above the header does not rule out the delimiter below it), then the
 * highest count. A candidate on no line is not picked; none found is `,`.
 */
export function sniffDelimiter(sample: string, comment: string | null = null): string {
  const lines: string[] = [];
  let current = '';
  let inQuotes = false;
  // --comment's lines are not the file's lines: 20 of them above the data left nothing to sniff (unicode-data's Blocks.txt).
  const keep = (line: string): void => {
    if (line !== '' && (comment === null || !line.startsWith(comment))) lines.push(line);
  };
  for (const ch of sample) {
    if (ch === '"' && !(comment !== null && current.startsWith(comment))) inQuotes = !inQuotes;
    if (!inQuotes && (ch === '\n' || ch === '\r')) {
      keep(current);
      current = '';
      if (lines.length >= 20) break;
      continue;
    }
    current += ch;
  }
  if (lines.length < 20) keep(current);
  let best: string = ',';
  let bestScore = -Infinity;
  for (const d of SNIFFED_DELIMITERS) {
    const counts = lines.map((line) => countOutsideQuotes(line, d));
    // The most frequent non-zero count, the earliest on a tie.
    const freq = new Map<number, number>();
    for (const c of counts) if (c > 0) freq.set(c, (freq.get(c) ?? 0) + 1);
    let mode = 0;
    for (const [c, n] of freq) if (n > (freq.get(mode) ?? 0)) mode = c;
    if (mode === 0) continue;
    const score = (freq.get(mode)! - counts.indexOf(mode)) * 1000 + mode;
    if (score > bestScore) {
      bestScore = score;
      best = d;
    }
  }
  return best;
}

function countOutsideQuotes(line: string, delimiter: string): number {
  let count = 0;
  let inQuotes = false;
  for (const ch of line) {
    if (ch === '"') inQuotes = !inQuotes;
    else if (ch === delimiter && !inQuotes) count++;
  }
  return count;
}
