/**
 * Staging of fixed-width inputs (CSV, XLSX): one staging column per header column. A COPY line is
 * `_rn, _err, c1 .. cn, _fix`; `_fix` goes last because a value's NUL bytes add a fix while the
 * line is written. A batch that carries its CSV bytes (formats/csv/csv.ts) is not written as lines:
 * its values are observed and its bytes go to a COPY (FORMAT csv), where the server parses them
 * and `_rn` comes from the staging table's identity. The COPY ends and another starts (one round
 * trip) where batches change from one kind to the other.
 */
import type { SniffedDelimiter } from '../../formats/shared/index.js';
import { SPREADSHEET_ERROR, UNREAD_CELL_TYPES, type RowBatch, type TableStream } from '../../formats/shared/index.js';
import { AtlasError } from '../../errors.js';
import { MAX_SOURCE_VALUE_CHARS } from '../mappingErrors.js';
import { recordLine } from '../recordText.js';
import { escapeCopyText, NEEDS_WORK } from '../../transform/copyText.js';
import { quoteIdent } from '../../transform/naming.js';
import type { StagedColumn, StageResult } from './columns.js';
import { countErrorCell, countUnreadCell, fixesJson, isNullValue, nullValueFix, stripNul, withFix } from './rowFixes.js';
import { COPY_CHUNK_CHARS, type StageRun } from './run.js';

type FixedTable = Extract<TableStream, { kind: 'fixed' }>;

/**
 * COPY's DELIMITER for each delimiter whose CSV bytes are sent as they are (formats/csv/csv.ts):
 * fixed text, never built from input; the type makes it name every one.
 */
const CSV_DELIMITER_SQL: Record<SniffedDelimiter, string> = { ',': "','", ';': "';'", '\t': "E'\\t'", '|': "'|'" };

/** How a COPY into the staging table reads its data: text lines, or CSV bytes with LF or CRLF line ends. */
type CopyKind = 'text' | 'csv' | 'csv-crlf';

const kindOf = (batch: RowBatch): CopyKind => (batch.raw === undefined ? 'text' : batch.raw.crlf ? 'csv-crlf' : 'csv');

/** The header's staged columns. */
interface FixedColumns {
  cols: StagedColumn[];
  /** Each column's target name as a JSON string (a `_fix` key). */
  quoted: string[];
  /** The input's field delimiter (`,` for a spreadsheet): a ragged record is kept as a line of it. */
  delimiter: string;
}

/** The reader's batches, one at a time, with what the COPY needs to know of each. */
class Batches {
  batch: RowBatch | null = null;
  finished = false;
  readonly #iterator: AsyncIterator<RowBatch>;
  /** Positions of the columns that have null values. */
  readonly #nullable: number[];

  constructor(
    table: FixedTable,
    readonly cols: StagedColumn[],
  ) {
    this.#iterator = table.batches[Symbol.asyncIterator]();
    this.#nullable = cols.flatMap((c, i) => (c.nulls === null ? [] : [i]));
  }

  async next(): Promise<RowBatch | null> {
    const next = await this.#iterator.next();
    if (next.done) this.finished = true;
    this.batch = next.done ? null : next.value;
    // A batch holding a null value goes as COPY text lines, which stage it as NULL (its CSV bytes would not).
    if (this.batch?.raw !== undefined && this.#nullable.length > 0 && this.#holdsNullValue(this.batch)) delete this.batch.raw;
    return this.batch;
  }

  #holdsNullValue(rows: RowBatch): boolean {
    const cols = this.cols;
    return rows.some((row) => this.#nullable.some((i) => row.fields[i] != null && isNullValue(cols[i]!.nulls!, row.fields[i]!) && !row.quoted?.includes(i)));
  }
}

/** Appends a COPY text line per row of `rows` to `chunk`, observing each value of a whole row. */
function appendLines(result: StageResult, { cols, quoted, delimiter }: FixedColumns, rows: RowBatch, chunk: string): string {
  const width = cols.length;
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
        else if (UNREAD_CELL_TYPES.includes(fix.correction_type) && fields.length === width) countUnreadCell(cols[i]!, fix);
      });
    }
    if (fields.length !== width) {
      result.raggedRows++;
      // The record's text follows its count: a field past the header has no column to be staged in (core/sql/errorRows.ts).
      const line = escapeCopyText(recordLine(fields, delimiter, MAX_SOURCE_VALUE_CHARS));
      problem = `${fields.length < width ? 'too_few_fields' : 'too_many_fields'}:${fields.length}:${line}`;
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
      // A short record (a mapping error) is seen too, its fields being the first columns': the type holds its
      // values, so that it can be loaded later (--fill-short-rows) into the column this import makes.
      if (problem === '\\N' || problem.startsWith('too_few_fields')) col.stats.observe(f);
      chunk += '\t' + (work ? escapeCopyText(f) : f);
    }
    chunk += `\t${fixesJson(fixes, result)}\n`;
    result.rows++;
  }
  return chunk;
}

/** Observes every value of a batch sent as CSV bytes (whole rows of the header's width: csv.ts gives bytes only then). */
function observeRawBatch({ cols }: FixedColumns, rows: RowBatch): void {
  const width = cols.length;
  for (const row of rows) {
    const fields = row.fields;
    for (let i = 0; i < width; i++) {
      const f = fields[i];
      if (f !== null && f !== undefined) cols[i]!.stats.observe(f);
    }
  }
}

/** The COPY data of the batches from the current one on, while they are of its kind; `sent` counts the rows of CSV bytes. */
async function* segment(run: StageRun, columns: FixedColumns, batches: Batches, kind: CopyKind, sent: { rows: number }): AsyncGenerator<string | Buffer> {
  const result = run.result;
  let chunk = '';
  let expectedRn = batches.batch![0]?.rn ?? 0;
  for (let b = batches.batch; b !== null; b = await batches.next()) {
    if (kindOf(b) !== kind || (kind !== 'text' && b[0]!.rn !== expectedRn)) break; // for the next COPY
    if (kind === 'text') {
      chunk = appendLines(result, columns, b, chunk);
      if (chunk.length < COPY_CHUNK_CHARS) continue;
      await run.onChunk?.(result.rows);
      yield chunk;
      chunk = '';
      continue;
    }
    observeRawBatch(columns, b);
    result.rows += b.length;
    result.csvRows += b.length;
    sent.rows += b.length;
    expectedRn = b[b.length - 1]!.rn + 1;
    await run.onChunk?.(result.rows);
    yield b.raw!.bytes;
  }
  if (chunk.length > 0) yield chunk;
}

/** Stages every row of a fixed-width input, one COPY per run of batches of one kind. */
export async function copyFixed(run: StageRun, table: FixedTable): Promise<void> {
  const cols = table.header.map((h, i) => run.addColumn(h, { name: `c${i + 1}` }));
  const delimiter = typeof table.details.delimiter === 'string' ? table.details.delimiter : ',';
  const columns: FixedColumns = { cols, quoted: cols.map((c) => JSON.stringify(c.targetName)), delimiter };
  const columnNames = table.header.map((_, i) => quoteIdent(`c${i + 1}`)).join(', ');
  const stage = quoteIdent(run.stage);
  const batches = new Batches(table, cols);
  await batches.next();
  while (!batches.finished) {
    const first = batches.batch!;
    const kind = kindOf(first);
    const sent = { rows: 0 };
    let sql: string;
    if (kind === 'text') sql = `copy ${stage} (_rn, _err, ${columnNames}, _fix) from stdin`;
    else {
      // The identity numbers the rows as the reader did: from the first one's number on.
      await run.client.query(`select setval(pg_get_serial_sequence($1, '_rn'), $2, false)`, [stage, first[0]!.rn]);
      sql = `copy ${stage} (${columnNames}) from stdin (format csv, delimiter ${CSV_DELIMITER_SQL[first.raw!.delimiter]})`;
    }
    const read = await run.copy(sql, segment(run, columns, batches, kind, sent));
    if (kind !== 'text' && read !== sent.rows) {
      // The server and the scanner split the same bytes differently: refused rather than load rows other than those read.
      throw new AtlasError(`internal error: the server read ${read} row(s) from CSV bytes that atlas read as ${sent.rows} row(s); nothing was imported`, {
        hint: 'please report it with the file (or its first lines up to the row count above)',
      });
    }
  }
}
