/**
 * The staging table and the COPY into it. Every format ends here: rows stream as COPY text (or,
 * for plain CSV, as the file's own bytes) into a TEMP table while Node observes every value for
 * type inference. Every input gets one text column per input column: fixed-width inputs (CSV,
 * XLSX) from their header, inputs whose columns appear while reading (JSON, XML) as their keys are
 * first seen.
 *
 * Measured and not kept: reading CSV and NDJSON in worker threads, each taking 1 MiB chunks of
 * whole lines and sending back their COPY lines and column statistics (merged in file order) while
 * the main thread staged them. On the 2-core bench machine, 300k-row files, 4 alternating runs:
 * CSV staging unchanged (median 1.97 s either way), NDJSON staging 3.0 -> 2.5 s, the imports as
 * long as before, and peak RSS 135 -> 235-260 MB (each worker's heap, and buffers awaiting
 * collection), past the 200 MB the bench allows. Two threads parsing slowed each other (per-row
 * cost +20-30% with both running), and the server needs the second core for the COPY.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { SPREADSHEET_ERROR, type KeyedRow, type ReaderFix, type RowBatch, type SniffedDelimiter, type TableStream } from '../formats/shared/index.js';
import { AtlasError } from '../errors.js';
import { ColumnStats } from '../transform/infer.js';
import { ColumnNamer, cutSourceNameNote, nulSourceNameProblem, quoteIdent, sourceNameOf } from '../transform/naming.js';
import type { Client } from './connection.js';

/** COPY data is sent in pieces of about this size: big enough to keep per-write overhead low. */
const COPY_CHUNK_CHARS = 1 << 18;

const NEEDS_ESCAPE = /[\\\t\n\r]/;
/** A value that needs escaping or holds NUL bytes: one test per value on the common path. */
const NEEDS_WORK = /[\\\t\n\r\0]/;

/** Escaping works on pieces of this size: a global replace holds ~35 bytes per match until it ends, so one 8 MB value of backslashes would otherwise need ~300 MB of heap. */
const ESCAPE_PIECE_CHARS = 1 << 16;

function escapePiece(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** COPY text format escaping (NUL bytes must already be gone). */
export function escapeCopyText(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  if (value.length <= ESCAPE_PIECE_CHARS) return escapePiece(value);
  const pieces: string[] = [];
  for (let i = 0; i < value.length; i += ESCAPE_PIECE_CHARS) pieces.push(escapePiece(value.slice(i, i + ESCAPE_PIECE_CHARS)));
  return pieces.join('');
}

/** A column as staged: where its text is, what it is called, what its values looked like. */
export interface StagedColumn {
  sourceName: string;
  targetName: string;
  stats: ColumnStats;
  /** The staging table's column (`c3`) that holds this column's text. */
  ref: { name: string };
  /** Values are JSON text (arrays, nested objects): the column is jsonb. */
  json: boolean;
  /** Spreadsheet error cells staged as NULL (rows of the header's width), by error text (`#N/A`); null when none. */
  errorCells: Map<string, number> | null;
  /** Values staged as NULL (see NullValuesOf), or null for none. */
  nulls: ReadonlySet<string> | null;
  /** How many values the column's `nulls` turned into NULL. */
  nulled: number;
}

export interface StageResult {
  rows: number;
  /** Rows whose field count differs from the header's (mapping errors). */
  raggedRows: number;
  /** Values that held NUL bytes, which PostgreSQL text cannot store (removed and recorded). */
  nulValues: number;
  /** Rows that carry corrections made while reading (`_fix`). */
  rowsWithFixes: number;
  /** Rows the server read from the input's own CSV bytes (the others went as COPY text lines). */
  csvRows: number;
  columns: StagedColumn[];
  /** Warnings about the columns found while reading (a key cut to MAX_SOURCE_NAME_CHARS). */
  notes: string[];
}

/** SQL for a staged column's raw text. */
export function rawSql(column: StagedColumn, alias = 's'): string {
  return `${alias}.${quoteIdent(column.ref.name)}`;
}

/** Target names picked by a mapping, by source name. */
export type TargetNames = ReadonlyMap<string, string>;

/**
 * The values that stand for "missing" in a source column (--null-value, the config's
 * null_values, a mapping's per-column null_values), or null for none. A value whose text,
 * trimmed, is one of them is staged as NULL before anything observes it, so inference never sees
 * it, and the row's `_fix` records it as a `null_value` correction.
 */
export type NullValuesOf = (sourceName: string) => ReadonlySet<string> | null;

/** True when `value` (trimmed as inference trims) is one of the column's null values. */
function isNullValue(nulls: ReadonlySet<string>, value: string): boolean {
  return nulls.has(value) || nulls.has(value.trim());
}

/** Stages a null value: counted on its column, recorded in the row's `_fix` members (see withFix). */
function nullValueFix(col: StagedColumn, quotedTarget: string, value: string, members: string): string {
  col.nulled++;
  return withFix(members, quotedTarget, { before: value, after: null, correction_type: 'null_value' });
}

/**
 * A row's corrections go into `_fix` as the members of a JSON object, written as text: `"target":
 * {fix}` joined by commas, "" for none. A key written twice keeps its last value, as jsonb does.
 * Compared with building an object per row and JSON.stringify of it: no object and no
 * Object.entries per row, each column's quoted name made once, and no key that an object would
 * treat specially (`__proto__`).
 */
function withFix(members: string, quotedTarget: string, fix: ReaderFix): string {
  // Each member is escaped for COPY text as it is made (escaping goes character by character), so
  // that a plain fix under a plain name needs no test of the whole row's JSON (an XLSX of dates:
  // one regular expression over ~200 characters per row, ~180 ms per 200k rows in a profile).
  const plain = plainFixJson(fix);
  const member = plain !== null && !NEEDS_ESCAPE.test(quotedTarget) ? `${quotedTarget}:${plain}` : escapeCopyText(`${quotedTarget}:${plain ?? JSON.stringify(fix)}`);
  return members === '' ? member : `${members},${member}`;
}

/** What an Excel date's fix holds (digits and date punctuation): text that needs no JSON escaping. */
const PLAIN_FIX_TEXT = /^[0-9.:T+-]+$/;

/**
 * The fix of an Excel serial date (a sheet of dates has one or more per row) as JSON text, written
 * from its two values: the same text JSON.stringify gives for its four keys in this order, and
 * nothing that COPY text escapes. Null for any other shape (then JSON.stringify). Measured on 400k
 * such fixes: 50-95 ms instead of 300-370 ms.
 */
function plainFixJson(fix: ReaderFix): string | null {
  const { before, after } = fix;
  if (
    fix.source_format === 'excel_serial' &&
    fix.correction_type === 'datetime_standardization' &&
    typeof after === 'string' &&
    PLAIN_FIX_TEXT.test(before) &&
    PLAIN_FIX_TEXT.test(after) &&
    Object.keys(fix).length === 4
  ) {
    return `{"before":"${before}","after":"${after}","correction_type":"datetime_standardization","source_format":"excel_serial"}`;
  }
  return null;
}

/** A reader's fix as JSON text, as staged in `_fix`. */
export function fixJson(fix: ReaderFix): string {
  return plainFixJson(fix) ?? JSON.stringify(fix);
}

/**
 * `value` without its NUL bytes (PostgreSQL text cannot hold them), counted, and the row's
 * correction members (see withFix) with the removal recorded under `quotedTarget`.
 */
function stripNul(value: string, quotedTarget: string, members: string, result: StageResult): [string, string] {
  result.nulValues++;
  const clean = value.replace(/\0/g, '');
  return [clean, withFix(members, quotedTarget, { before: value.replace(/\0/g, '\\0'), after: clean, correction_type: 'nul_removed' })];
}

/** Counts a spreadsheet error cell of `column` (see StagedColumn.errorCells). */
function countErrorCell(column: StagedColumn, text: string): void {
  column.errorCells ??= new Map();
  column.errorCells.set(text, (column.errorCells.get(text) ?? 0) + 1);
}

/** `_fix` of a row as COPY text: its members (escaped by withFix) as one JSON object, or NULL. */
function fixesJson(members: string, result: StageResult): string {
  if (members === '') return '\\N';
  result.rowsWithFixes++;
  return `{${members}}`;
}

/**
 * COPY's DELIMITER for each delimiter whose CSV bytes are sent as they are (formats/csv/csv.ts):
 * fixed text, never built from input; the type makes it name every one.
 */
const CSV_DELIMITER_SQL: Record<SniffedDelimiter, string> = { ',': "','", ';': "';'", '\t': "E'\\t'", '|': "'|'" };

/** How a COPY into the staging table reads its data: text lines, or CSV bytes with LF or CRLF line ends. */
type CopyKind = 'text' | 'csv' | 'csv-crlf';

/** Creates the TEMP staging table for `table` (dropped at COMMIT/ROLLBACK). */
export async function createStage(client: Client, stage: string, table: TableStream): Promise<void> {
  // A fixed input's `_rn` is an identity: rows sent as CSV bytes are numbered by it (see copyFixed).
  const cols = [table.kind === 'fixed' ? '_rn integer generated by default as identity' : '_rn integer not null', '_err text', '_fix jsonb'];
  // Keyed inputs start without columns: they are added as their keys appear (copyIntoStage).
  if (table.kind === 'fixed') cols.push(...table.header.map((_, i) => `c${i + 1} text`));
  // TEMP: no WAL, invisible to other sessions; ON COMMIT DROP cleans up on every path.
  await client.query(`create temp table ${quoteIdent(stage)} (${cols.join(', ')}) on commit drop`);
}

/** Streams every row into the staging table, observing every value on the way. */
export async function copyIntoStage(
  client: Client,
  stage: string,
  table: TableStream,
  targets: TargetNames,
  nullValuesOf: NullValuesOf = () => null,
  signal?: AbortSignal,
  onChunk?: (rows: number) => void | Promise<void>,
): Promise<StageResult> {
  const namer = new ColumnNamer();
  const result: StageResult = { rows: 0, raggedRows: 0, nulValues: 0, rowsWithFixes: 0, csvRows: 0, columns: [], notes: [] };
  const addColumn = (sourceName: string, ref: StagedColumn['ref']): StagedColumn => {
    const found = nullValuesOf(sourceName);
    const nulls = found !== null && found.size > 0 ? found : null;
    const col: StagedColumn = { sourceName, targetName: namer.next(sourceName, targets.get(sourceName)), stats: new ColumnStats(nulls), ref, json: false, errorCells: null, nulls, nulled: 0 };
    result.columns.push(col);
    return col;
  };

  // A COPY line is `_rn, _err, c1 .. cn, _fix`: `_fix` goes last because a value's NUL bytes add a
  // fix while the line is written. Lines are appended to one string per chunk rather than built
  // per row and joined (line building measured alone on 300k CSV rows: 1.2 -> 0.6 s; atlas's CPU
  // for a dry run of them: 4.5 -> 4.25 s).
  //
  // A batch that carries its CSV bytes (see formats/csv/csv.ts) is not written as lines: its values
  // are observed and its bytes go to a COPY (FORMAT csv), where the server parses them and `_rn`
  // comes from the staging table's identity, set to the batch's first row number. The COPY ends
  // and another starts (one round trip) where batches change from one kind to the other.
  async function copyFixed(t: Extract<TableStream, { kind: 'fixed' }>): Promise<void> {
    const width = t.header.length;
    const cols = t.header.map((h, i) => addColumn(h, { name: `c${i + 1}` }));
    const quoted = cols.map((c) => JSON.stringify(c.targetName));
    const columnNames = t.header.map((_, i) => quoteIdent(`c${i + 1}`)).join(', ');
    const iterator = t.batches[Symbol.asyncIterator]();
    const kindOf = (batch: RowBatch): CopyKind => (batch.raw === undefined ? 'text' : batch.raw.crlf ? 'csv-crlf' : 'csv');
    /** Positions of the columns that have null values. */
    const nullable = cols.flatMap((c, i) => (c.nulls === null ? [] : [i]));
    /** A batch holding a null value goes as COPY text lines, which stage it as NULL (its CSV bytes would not). */
    const holdsNullValue = (rows: RowBatch): boolean => rows.some((row) => nullable.some((i) => row.fields[i] != null && isNullValue(cols[i]!.nulls!, row.fields[i]!) && !row.quoted?.includes(i)));
    let batch: RowBatch | null = null;
    let finished = false;
    const nextBatch = async (): Promise<RowBatch | null> => {
      const next = await iterator.next();
      if (next.done) finished = true;
      batch = next.done ? null : next.value;
      if (batch?.raw !== undefined && nullable.length > 0 && holdsNullValue(batch)) delete batch.raw;
      return batch;
    };

    function appendLines(rows: RowBatch, chunk: string): string {
      for (const row of rows) {
        let fields = row.fields;
        let problem = '\\N';
        let fixes = '';
        if (row.fixes) {
          // A field past the header (a ragged row, which becomes a mapping error) is named as the reader would name it.
          row.fixes.forEach((fix, i) => {
            if (!fix) return;
            fixes = withFix(fixes, quoted[i] ?? JSON.stringify(`column_${i + 1}`), fix);
            if (fix.correction_type === SPREADSHEET_ERROR && fields.length === width) countErrorCell(cols[i]!, fix.before);
          });
        }
        if (fields.length !== width) {
          result.raggedRows++;
          problem = fields.length < width ? `too_few_fields:${fields.length}` : `too_many_fields:${fields.length}`;
          fields = fields.length < width ? [...fields, ...Array<null>(width - fields.length).fill(null)] : fields.slice(0, width);
        }
        chunk += `${row.rn}\t${problem}`;
        for (let i = 0; i < width; i++) {
          let f = fields[i] ?? null;
          if (f === null) {
            chunk += '\t\\N';
            continue;
          }
          const col = cols[i]!;
          if (col.nulls !== null && isNullValue(col.nulls, f) && !row.quoted?.includes(i)) {
            fixes = nullValueFix(col, quoted[i] as string, f, fixes);
            chunk += '\t\\N';
            continue;
          }
          const work = NEEDS_WORK.test(f);
          if (work && f.includes('\0')) [f, fixes] = stripNul(f, quoted[i] as string, fixes, result);
          if (problem === '\\N') col.stats.observe(f);
          chunk += '\t' + (work ? escapeCopyText(f) : f);
        }
        chunk += `\t${fixesJson(fixes, result)}\n`;
        result.rows++;
      }
      return chunk;
    }

    /** The COPY data of the batches from `batch` on, while they are of its kind; `sent` counts the rows of CSV bytes. */
    async function* segment(kind: CopyKind, sent: { rows: number }): AsyncGenerator<string | Buffer> {
      let chunk = '';
      let expectedRn = (batch as RowBatch)[0]?.rn ?? 0;
      for (let b = batch; b !== null; b = await nextBatch()) {
        if (kindOf(b) !== kind || (kind !== 'text' && b[0]!.rn !== expectedRn)) break; // for the next COPY
        if (kind === 'text') {
          chunk = appendLines(b, chunk);
          if (chunk.length < COPY_CHUNK_CHARS) continue;
          await onChunk?.(result.rows);
          yield chunk;
          chunk = '';
          continue;
        }
        // The rows are whole and of the header's width (csv.ts gives bytes only then).
        for (const row of b) {
          const fields = row.fields;
          for (let i = 0; i < width; i++) {
            const f = fields[i];
            if (f !== null && f !== undefined) cols[i]!.stats.observe(f);
          }
        }
        result.rows += b.length;
        result.csvRows += b.length;
        sent.rows += b.length;
        expectedRn = b[b.length - 1]!.rn + 1;
        await onChunk?.(result.rows);
        yield b.raw!.bytes;
      }
      if (chunk.length > 0) yield chunk;
    }

    await nextBatch();
    while (!finished) {
      const kind = kindOf(batch!);
      const sent = { rows: 0 };
      let sql: string;
      if (kind === 'text') sql = `copy ${quoteIdent(stage)} (_rn, _err, ${columnNames}, _fix) from stdin`;
      else {
        // The identity numbers the rows as the reader did: from the first one's number on.
        await client.query(`select setval(pg_get_serial_sequence($1, '_rn'), $2, false)`, [quoteIdent(stage), batch![0]!.rn]);
        sql = `copy ${quoteIdent(stage)} (${columnNames}) from stdin (format csv, delimiter ${CSV_DELIMITER_SQL[batch!.raw!.delimiter]})`;
      }
      const copy = client.query(copyFrom(sql));
      await pipeline(Readable.from(segment(kind, sent), { highWaterMark: 2 }), copy, signal ? { signal } : {});
      if (kind !== 'text' && copy.rowCount !== sent.rows) {
        // The server and the scanner split the same bytes differently: refused rather than load rows other than those read.
        throw new AtlasError(`internal error: the server read ${copy.rowCount} row(s) from CSV bytes that atlas read as ${sent.rows} row(s); nothing was imported`, {
          hint: 'please report it with the file (or its first lines up to the row count above)',
        });
      }
    }
  }

  // Keyed inputs (JSON, XML) bring their columns while they are read, so their staging table
  // grows: a COPY runs until a batch of records brings a key the table lacks, then the table gets
  // text columns for the new keys (a catalogue change, no rewrite) and the next COPY names them.
  // Records staged before a key appeared have NULL there, as keys missing from a record should.
  // Compared with the one jsonb document per record staged before: no JSON.stringify of each
  // record in Node, no jsonb parsing in COPY and no `->>` per value in the INSERT (200k JSON
  // records, same machine, runs alternated: staging 7.7-9.1 -> 6.6-7.0 s, duplicate check 1.7 ->
  // 1.0-1.2 s, insert 4.8-5.0 -> 4.3-4.5 s; the JSON reader itself remains the larger cost).
  // Restarts are bounded by the number of distinct keys, which the readers cap.
  async function copyKeyed(t: Extract<TableStream, { kind: 'keyed' }>): Promise<void> {
    const iterator = t.batches[Symbol.asyncIterator]();
    let batch: KeyedRow[] = [];
    let pos = 0;
    let finished = false;
    const nextBatch = async (): Promise<boolean> => {
      const next = await iterator.next();
      if (next.done) {
        finished = true;
        return false;
      }
      batch = next.value;
      pos = 0;
      return true;
    };
    /** Each key's position among the staged columns (and so in a COPY line). */
    const keyIndex = new Map<string, number>();
    /** The keys array last checked by addKeys: records sharing it (see RecordKeys) need no check. */
    let checkedKeys: readonly string[] | null = null;
    /** Adds a column for every key of `rows` not seen before; true when there was one. */
    const addKeys = (rows: KeyedRow[]): boolean => {
      const before = result.columns.length;
      for (const row of rows) {
        if (row.keys === checkedKeys) continue;
        checkedKeys = row.keys;
        for (const key of row.keys) {
          if (keyIndex.has(key)) continue;
          const where = `column ${result.columns.length + 1} (a key first in record ${row.rn})`;
          const name = sourceNameOf(key);
          if (name === null) throw new AtlasError(nulSourceNameProblem(where), { hint: 'remove the NUL byte (\\u0000) from the key' });
          if (name !== key) result.notes.push(cutSourceNameNote(where, key.length));
          keyIndex.set(key, result.columns.length);
          addColumn(name, { name: `c${result.columns.length + 1}` });
        }
      }
      return result.columns.length > before;
    };
    const columnOf = (key: string): StagedColumn | undefined => {
      const index = keyIndex.get(key);
      return index === undefined ? undefined : result.columns[index];
    };
    let staged = 0; // columns the staging table has
    let width = 0; // columns the running COPY sends
    // Each key's column for the keys array last seen; a key's column never changes, so this stays
    // valid across COPYs.
    let placedKeys: readonly string[] | null = null;
    let places: number[] = [];
    /** places is 0, 1, 2, ...: the keys are the first columns, in order, none repeated. */
    let inOrder = false;

    // Lines as in fixedText: `_rn, _err, c1 .. cn, _fix`, appended to one string per chunk.
    async function* segment(): AsyncGenerator<string> {
      let chunk = '';
      for (;;) {
        if (pos >= batch.length) {
          if (chunk.length >= COPY_CHUNK_CHARS) {
            await onChunk?.(result.rows);
            yield chunk;
            chunk = '';
          }
          if (!(await nextBatch())) break;
          if (addKeys(batch)) break; // new columns first: this batch goes into the next COPY
        }
        const row = batch[pos++] as KeyedRow;
        let fixes = '';
        // By column: a key absent from the record stays undefined (NULL, not observed); a key
        // repeated in it keeps its last value.
        const { keys, values } = row;
        if (keys !== placedKeys) {
          placedKeys = keys;
          places = keys.map((key) => keyIndex.get(key)!);
          inOrder = places.every((place, k) => place === k);
        }
        // A record holding every column in the staging table's order (the usual one) is its own line.
        let fields: Array<string | null | undefined> = values;
        if (!inOrder || keys.length !== width) {
          fields = new Array<string | null | undefined>(width);
          for (let k = 0; k < keys.length; k++) fields[places[k]!] = values[k];
        }
        chunk += `${row.rn}\t\\N`;
        for (let i = 0; i < width; i++) {
          let f = fields[i];
          if (f === undefined) {
            chunk += '\t\\N';
            continue;
          }
          const col = result.columns[i]!;
          if (f === null) {
            col.stats.observe(f);
            chunk += '\t\\N';
            continue;
          }
          if (col.nulls !== null && isNullValue(col.nulls, f)) {
            fixes = nullValueFix(col, JSON.stringify(col.targetName), f, fixes);
            chunk += '\t\\N';
            continue;
          }
          const work = NEEDS_WORK.test(f);
          if (work && f.includes('\0')) [f, fixes] = stripNul(f, JSON.stringify(col.targetName), fixes, result);
          col.stats.observe(f);
          chunk += '\t' + (work ? escapeCopyText(f) : f);
        }
        if (row.fixes) {
          for (const k of Object.keys(row.fixes)) fixes = withFix(fixes, JSON.stringify(columnOf(k)?.targetName ?? k), row.fixes[k] as ReaderFix);
        }
        chunk += `\t${fixesJson(fixes, result)}\n`;
        result.rows++;
      }
      if (chunk.length > 0) yield chunk;
    }

    if (!(await nextBatch())) return;
    addKeys(batch);
    while (!finished) {
      if (result.columns.length > staged) {
        const added = result.columns.slice(staged);
        await client.query(`alter table ${quoteIdent(stage)} ${added.map((c) => `add column ${quoteIdent(c.ref.name)} text`).join(', ')}`);
        staged = result.columns.length;
      }
      width = staged;
      const names = ['_rn', '_err', ...result.columns.map((c) => c.ref.name), '_fix'].map(quoteIdent).join(', ');
      const copy = client.query(copyFrom(`copy ${quoteIdent(stage)} (${names}) from stdin`));
      await pipeline(Readable.from(segment(), { highWaterMark: 2 }), copy, signal ? { signal } : {});
    }
    for (const key of t.jsonKeys) {
      const col = columnOf(key);
      if (col) col.json = true;
    }
  }

  if (table.kind === 'fixed') await copyFixed(table);
  else await copyKeyed(table);
  return result;
}

/** JSON's number grammar (RFC 8259), true and false: a staged scalar written as a JSON literal. */
const JSON_LITERAL = '^(-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false)$';

/**
 * One key, one shape (formats/shared/lateArrays.ts): a key (an XML element, a JSON key) held once in
 * some records and as an array in later ones is a jsonb array in every record. The readers
 * stream, so the records staged before its first array hold it as read (its text or scalar in
 * its column, or flattened into `key_member` columns); here those rows are rewritten to hold it as
 * an array of one (an XML element as xmlToJson makes it, a JSON object or scalar as it was), and
 * the columns its single occurrences were flattened into leave the import. Then every other
 * column of JSON is made JSON text in the rows read before its first JSON value, so that a
 * string there stays a JSON string whatever it starts with (jsonColumnSql casts as it is). Costs
 * one UPDATE of the rows before that point per such key, nothing when every key keeps one shape.
 * A key whose flattened columns also hold values of another origin after its first array is left
 * as read. Returns the records rewritten, by key.
 */
export async function reshapeLateArrays(client: Client, stage: string, result: StageResult, table: Extract<TableStream, { kind: 'keyed' }>): Promise<Record<string, number>> {
  const rewritten = Object.create(null) as Record<string, number>;
  const found = table.lateShapes();
  const byKey = new Map(result.columns.map((c) => [c.sourceName, c]));
  const dropped = new Set<string>();
  /** Columns whose every staged value is JSON text once rewritten. */
  const done = new Set<string>();
  const ref = (c: StagedColumn): string => `s.${quoteIdent(c.ref.name)}`;
  /** A value staged as read (before its key was written as JSON) as JSON: a string, or a JSON literal where its key had numbers or booleans. */
  const readAsJson = (c: StagedColumn, params: unknown[]): string => {
    if (!found.literals.has(c.sourceName)) return `to_jsonb(${ref(c)})`;
    params.push(JSON_LITERAL);
    return `case when ${ref(c)} ~ $${params.length}::text then ${ref(c)}::jsonb else to_jsonb(${ref(c)}) end`;
  };
  /** A staged value as JSON, wherever it was read. */
  const asJson = (c: StagedColumn, params: unknown[]): string => {
    const early = readAsJson(c, params);
    const since = found.jsonSince.get(c.sourceName);
    if (since === undefined) return early;
    params.push(since);
    return `case when s._rn >= $${params.length}::int then ${ref(c)}::jsonb else ${early} end`;
  };
  // Keys with flattened members first: a member that is itself an array later is folded into its key.
  for (const late of [...found.arrays].sort((a, b) => b.members.length - a.members.length)) {
    const column = byKey.get(late.key);
    if (column === undefined || dropped.has(late.key)) continue;
    const members = late.members.flatMap((m) => {
      const c = byKey.get(m.column);
      return c === undefined || dropped.has(m.column) ? [] : [{ member: m.member, column: c }];
    });
    const params: unknown[] = [late.since];
    if (members.length > 0) {
      const other = await client.query<{ clash: boolean }>(
        `select exists (select 1 from ${quoteIdent(stage)} s where s._rn >= $1 and (${members.map((m) => `${ref(m.column)} is not null`).join(' or ')})) as clash`,
        params,
      );
      if (other.rows[0]!.clash) continue;
    }
    // Each member present as a one-key object, concatenated (no subquery per row: 150k rows in a third of the time).
    const member = (key: string, c: StagedColumn): string => {
      params.push(key);
      return `case when ${ref(c)} is not null then jsonb_build_object($${params.length}::text, ${asJson(c, params)}) else '{}'::jsonb end`;
    };
    const own = asJson(column, params);
    const anyMember = members.length === 0 ? 'false' : members.map((m) => `${ref(m.column)} is not null`).join(' or ');
    // The key's JSON: an object of its members (and, XML, its own text as "#text"), or, with none, its text or JSON.
    const parts = (): string[] => [...members.map((m) => member(m.member, m.column)), ...(found.textMember === null ? [] : [member(found.textMember, column)])];
    const element = members.length === 0 ? own : `case when ${anyMember} then ${parts().join(' || ')} else ${own} end`;
    const res = await client.query(
      `update ${quoteIdent(stage)} s set ${quoteIdent(column.ref.name)} = jsonb_build_array(${element})::text
        where s._rn < $1 and (${ref(column)} is not null or ${anyMember})`,
      params,
    );
    // A key absent from every earlier record (first met as an array) has nothing rewritten, and is not counted.
    if (res.rowCount) rewritten[late.key] = res.rowCount;
    done.add(late.key);
    for (const m of members) dropped.add(m.column.sourceName);
  }
  result.columns = result.columns.filter((c) => !dropped.has(c.sourceName));
  for (const c of result.columns) {
    const since = found.jsonSince.get(c.sourceName);
    if (!c.json || done.has(c.sourceName) || since === undefined || since <= 1) continue;
    const params: unknown[] = [since];
    const early = readAsJson(c, params);
    await client.query(`update ${quoteIdent(stage)} s set ${quoteIdent(c.ref.name)} = (${early})::text where s._rn < $1 and ${ref(c)} is not null`, params);
  }
  return rewritten;
}
