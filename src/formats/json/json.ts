import { BatchQueue, detectEncoding, lateShapes, newKeyShapes, RecordKeys, startPulling, TextChunks, type KeyedRow, type KeyedTableStream, type KeyShapes } from '../shared/index.js';
import { AtlasError, UsageError } from '../../errors.js';
import { flattenRecord, flattenVerified, flattenVerifiedAt, hasControlCharacter, LONE_SURROGATE_REPLACED, nestsDeeperThan, NUL_REMOVED, type FlatRecord, type KeyLimit } from './jsonFlatten.js';
import { describeCharacter, JsonArrayScanner, MAX_JSON_DEPTH, MAX_RECORD_CHARS, MAX_RECORD_COLUMNS, jsonKindOf } from './jsonScanner.js';
import { COLUMN_LIMIT_REASON } from '../../transform/naming.js';

/**
 * One record's keys and values: read by the checked walk, or, where that declines, JSON.parse
 * decides what is wrong (`invalid` says so in the format's words; `parsed` may refuse what
 * parsed) before the record is flattened.
 */
function readRecord(
  text: string,
  shapes: KeyShapes,
  rn: number,
  limit: KeyLimit | undefined,
  invalid: (err: Error) => AtlasError,
  parsed?: (value: unknown) => void,
  beforeParse?: () => void,
): FlatRecord {
  const record = flattenVerified(text, shapes, limit, rn);
  if (record !== null) return record;
  beforeParse?.();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(err as Error);
  }
  parsed?.(value);
  return flattenRecord(text, shapes, limit, rn);
}

export interface JsonOptions {
  /** Dotted keys leading to the array of records (e.g. `data.items`); the top-level array when null. */
  recordPath: string | null;
  /** Encoding name (see --encoding); detected from a BOM, else UTF-8, when null. */
  encoding: string | null;
}

export interface NdjsonOptions {
  /** Encoding name (see --encoding); detected from a BOM, else UTF-8, when null. */
  encoding: string | null;
}

/**
 * What JSON.parse found wrong in `text`, with where (`at character N`, counted from 1 in the line
 * or record), without quoting the text: V8 quotes it raw, binary padding included. The position is
 * V8's where its message gives one, else found by parsing prefixes (a prefix ending before the
 * fault fails only at its end), so only a failing record pays for it.
 */
export function jsonSyntaxProblem(text: string, err: Error): string {
  const positioned = /^(.*?)(?: in JSON)? at position (\d+)/s.exec(err.message);
  if (positioned !== null) {
    const at = Number(positioned[2]);
    const ch = text[at];
    const what = ch !== undefined && !/^[\p{L}\p{N}\p{P}\p{S} ]$/u.test(ch) ? ` (${describeCharacter(ch)})` : '';
    return `${printableMessage(positioned[1]!)} at character ${at + 1}${what}`;
  }
  if (/^Unexpected token /.test(err.message)) {
    const at = firstFaultAt(text);
    if (at !== null) return `found ${describeCharacter(text[at]!)} at character ${at + 1}, where JSON cannot have it`;
  }
  return printableMessage(err.message.replace(/, ".*$/s, ''));
}

/** The index of the first character that makes `text` invalid JSON, or null when parsing prefixes does not tell. */
function firstFaultAt(text: string): number | null {
  const failsBefore = (end: number): boolean => {
    try {
      JSON.parse(text.slice(0, end));
      return false;
    } catch (err) {
      const m = (err as Error).message;
      if (/^Unexpected end|^Unterminated string/.test(m)) return false;
      const at = /at position (\d+)/.exec(m);
      return at === null || Number(at[1]) < end;
    }
  };
  if (!failsBefore(text.length)) return null;
  let lo = 0;
  let hi = text.length; // failsBefore(hi), never failsBefore(lo)
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (failsBefore(mid)) hi = mid;
    else lo = mid;
  }
  return hi - 1;
}

/** A message on one line, its control characters (V8's quotes hold the text's) written as escapes. */
function printableMessage(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\0' ? '\\0' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** `data.items` -> ["data", "items"]; a leading `$.` (JSONPath habit) is accepted. */
export function parseRecordPath(recordPath: string | null): string[] {
  if (recordPath === null) return [];
  const path = recordPath.replace(/^\$\.?/, '');
  if (path === '') return [];
  const keys = path.split('.');
  if (keys.some((k) => k === '')) throw new UsageError(`--record-path "${recordPath}" has an empty key: write keys separated by dots, e.g. data.items`);
  return keys;
}

function tooManyColumns(where: string): AtlasError {
  return new AtlasError(
    `${where} brings the number of distinct keys past ${MAX_RECORD_COLUMNS}: ${COLUMN_LIMIT_REASON}`,
    { hint: 'keys nested two levels deep or more are kept together in one jsonb column; or split the file' },
  );
}

/** The keys records brought so far (see RecordKeys), with the limit in this format's words, and the values stored in another form (see FlatRecord.fixes). */
class ColumnKeys {
  private readonly keys = new RecordKeys(MAX_RECORD_COLUMNS);
  private lone = 0;
  private nulInJson = 0;

  /** Counts a record's corrections, for the warnings. */
  countFixes(fixes: FlatRecord['fixes']): FlatRecord['fixes'] {
    if (fixes === undefined) return undefined;
    for (const key in fixes) {
      const fix = fixes[key]!;
      if (fix.correction_type === LONE_SURROGATE_REPLACED) this.lone++;
      // A NUL in a string is the staging's to count; one in JSON text is removed here.
      if (fix.correction_type === NUL_REMOVED || (fix.nul_removed === true && typeof fix.before === 'string' && fix.before.includes('\\u0000'))) this.nulInJson++;
    }
    return fixes;
  }

  /** The limit for one record, failing with `where` in the message. */
  limitFor(where: () => string): KeyLimit {
    return { maxKeys: MAX_RECORD_COLUMNS, fail: () => { throw tooManyColumns(where()); } };
  }

  /** Counts the keys of a record; returns them, as the previous record's array when they are the same (see RecordKeys). */
  add(keys: readonly string[], where: () => string): readonly string[] {
    const counted = this.keys.add(keys);
    if (counted === null) throw tooManyColumns(where());
    return counted;
  }

  /** The warnings of keys renamed and of values stored in another form so far. */
  warnings(): string[] {
    const w = this.keys.warning();
    return [
      ...(w === null ? [] : [w]),
      ...(this.lone > 0 ? [`${this.lone} value(s) held a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its other half), which UTF-8 cannot hold; each was stored as U+FFFD (recorded in _corrections_applied)`] : []),
      ...(this.nulInJson > 0 ? [`${this.nulInJson} JSON value(s) held \\u0000, which PostgreSQL's jsonb cannot hold; it was removed (recorded in _corrections_applied)`] : []),
    ];
  }
}

/**
 * Streams the records of a JSON array of objects (top-level, or at `recordPath`), never holding
 * more than one record's text. Returns once the first record (or the end) is reached, so that a
 * file of the wrong shape fails here. `rn` is the record's 1-based position in the array.
 */
export async function openJson(bytes: AsyncIterable<Buffer>, options: JsonOptions): Promise<KeyedTableStream> {
  const path = parseRecordPath(options.recordPath);
  const shapes = newKeyShapes();
  const columns = new ColumnKeys();
  const pending = new BatchQueue<KeyedRow>();
  // Records are read where they lie in the text the scanner is given (see its `direct`); one it
  // declines comes here whole, through readRecord.
  let controlChecked: string | null = null;
  let hasControl = true;
  const scanner = new JsonArrayScanner(
    path,
    (text, index) => {
      const where = (): string => `record ${index + 1}`;
      const limit = columns.limitFor(where);
      const record = readRecord(text, shapes, index + 1, limit, (err) => new AtlasError(`record ${index + 1} of the array is not valid JSON: ${jsonSyntaxProblem(text, err)}`));
      pending.push({ rn: index + 1, keys: columns.add(record.keys, where), values: record.values, fixes: columns.countFixes(record.fixes) });
    },
    (text, start, index, maxDepth) => {
      if (text !== controlChecked) {
        controlChecked = text;
        hasControl = hasControlCharacter(text);
      }
      const where = (): string => `record ${index + 1}`;
      const record = flattenVerifiedAt(text, start, hasControl, maxDepth, shapes, columns.limitFor(where), index + 1);
      // A record past the size limit is left to the scanner, which refuses it.
      if (record === null || record.end - start > MAX_RECORD_CHARS) return -1;
      pending.push({ rn: index + 1, keys: columns.add(record.keys, where), values: record.values, fixes: columns.countFixes(record.fixes) });
      return record.end;
    },
  );
  const text = new TextChunks(bytes, (first) => detectEncoding(first, options.encoding));
  const batches = await startPulling(text, pending, (chunk) => scanner.push(chunk), () => scanner.end());
  return {
    kind: 'keyed',
    batches,
    jsonKeys: shapes.jsonKeys,
    lateShapes: () => lateShapes(shapes, null),
    get warnings() {
      return columns.warnings();
    },
    details: { format: 'json', record_path: path.length > 0 ? path.join('.') : null, encoding: text.encoding ?? 'utf-8' },
  };
}

/**
 * Streams NDJSON / JSON Lines: one JSON object per line, blank lines skipped. A line that is not
 * valid JSON, or not an object, fails the read with its line number (a row of nothing would
 * hide it). `rn` counts records (non-blank lines) from 1.
 */
export async function openNdjson(bytes: AsyncIterable<Buffer>, options: NdjsonOptions): Promise<KeyedTableStream> {
  const shapes = newKeyShapes();
  const columns = new ColumnKeys();
  const pending = new BatchQueue<KeyedRow>();
  let carry = '';
  let lineNo = 0;
  let rn = 0;

  const onLine = (raw: string): void => {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!/\S/.test(line)) return;
    const where = (): string => `line ${lineNo}`;
    const limit = columns.limitFor(where);
    const record = readRecord(
      line,
      shapes,
      rn + 1,
      limit,
      (err) => new AtlasError(`line ${lineNo} is not valid JSON: ${jsonSyntaxProblem(line, err)}`, { hint: lineNo === 1 ? 'if the file is one JSON document, use --format json' : null }),
      (value) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw new AtlasError(`line ${lineNo} is ${jsonKindOf(line.trimStart()[0] ?? '')}, not a JSON object: every line must hold one object`);
        }
      },
      // Only where the checked walk declines (it refuses deep values itself), so that a valid
      // line is not scanned a second time for its depth (docs/decisions.md).
      () => {
        if (nestsDeeperThan(line, MAX_JSON_DEPTH)) {
          throw new AtlasError(`line ${lineNo} is nested more than ${MAX_JSON_DEPTH} levels deep: atlas refuses such input`);
        }
      },
    );
    rn++;
    pending.push({ rn, keys: columns.add(record.keys, where), values: record.values, fixes: columns.countFixes(record.fixes) });
  };
  const onText = (text: string): void => {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) {
        carry += text.slice(start);
        if (carry.length > MAX_RECORD_CHARS) {
          throw new AtlasError(`line ${lineNo + 1} is longer than ${MAX_RECORD_CHARS / (1024 * 1024)} MiB: atlas refuses it to keep memory bounded`);
        }
        return;
      }
      const line = carry + text.slice(start, nl);
      carry = '';
      start = nl + 1;
      onLine(line);
    }
  };

  const text = new TextChunks(bytes, (first) => detectEncoding(first, options.encoding));
  const atEnd = (): void => {
    if (carry !== '') onLine(carry);
    carry = '';
  };
  const batches = await startPulling(text, pending, onText, atEnd);
  return {
    kind: 'keyed',
    batches,
    jsonKeys: shapes.jsonKeys,
    lateShapes: () => lateShapes(shapes, null),
    get warnings() {
      return columns.warnings();
    },
    details: { format: 'ndjson', record_path: null, encoding: text.encoding ?? 'utf-8' },
  };
}
