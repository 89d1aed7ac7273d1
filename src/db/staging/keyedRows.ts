/**
 * Staging of keyed inputs (JSON, XML), which bring their columns while they are read: a COPY runs
 * until a batch of records brings a key the staging table lacks, then the table gets text columns
 * for the new keys (a catalogue change, no rewrite) and the next COPY names them. Records staged
 * before a key appeared have NULL there, as keys missing from a record should. Restarts are
 * bounded by the number of distinct keys, which the readers cap. Why columns rather than a jsonb
 * document per record: docs/decisions.md.
 */
import type { KeyedRow, ReaderFix, TableStream } from '../../formats/shared/index.js';
import { AtlasError } from '../../errors.js';
import { escapeCopyText, NEEDS_WORK } from '../../transform/copyText.js';
import { cutSourceNameNote, nulSourceNameProblem, quoteIdent, sourceNameOf } from '../../transform/naming.js';
import type { StagedColumn } from './columns.js';
import { fixesJson, isNullValue, nullValueFix, stripNul, withFix } from './rowFixes.js';
import { COPY_CHUNK_CHARS, type StageRun } from './run.js';

type KeyedTable = Extract<TableStream, { kind: 'keyed' }>;

/** The staged columns of a keyed input, by key, as its keys appear. */
class KeyColumns {
  /** Each key's position among the staged columns (and so in a COPY line). */
  readonly #index = new Map<string, number>();
  /** The keys array last checked by add: records sharing it (see RecordKeys) need no check. */
  #checkedKeys: readonly string[] | null = null;
  // Each key's column for the keys array last seen; a key's column never changes, so this stays valid across COPYs.
  #placedKeys: readonly string[] | null = null;
  #places: number[] = [];
  /** #places is 0, 1, 2, ...: the keys are the first columns, in order, none repeated. */
  #inOrder = false;

  constructor(readonly run: StageRun) {}

  /** Adds a column for every key of `rows` not seen before; true when there was one. */
  add(rows: KeyedRow[]): boolean {
    const columns = this.run.result.columns;
    const before = columns.length;
    for (const row of rows) {
      if (row.keys === this.#checkedKeys) continue;
      this.#checkedKeys = row.keys;
      for (const key of row.keys) {
        if (this.#index.has(key)) continue;
        const where = `column ${columns.length + 1} (a key first in record ${row.rn})`;
        const name = sourceNameOf(key);
        if (name === null) throw new AtlasError(nulSourceNameProblem(where), { hint: 'remove the NUL byte (\\u0000) from the key' });
        if (name !== key) this.run.result.notes.push(cutSourceNameNote(where, key.length));
        this.#index.set(key, columns.length);
        this.run.addColumn(name, { name: `c${columns.length + 1}` });
      }
    }
    return columns.length > before;
  }

  columnOf(key: string): StagedColumn | undefined {
    const index = this.#index.get(key);
    return index === undefined ? undefined : this.run.result.columns[index];
  }

  /** The record's values in column order, `width` of them (a key absent from it stays undefined; a key repeated keeps its last value). */
  fields(row: KeyedRow, width: number): Array<string | null | undefined> {
    const { keys, values } = row;
    if (keys !== this.#placedKeys) {
      this.#placedKeys = keys;
      this.#places = keys.map((key) => this.#index.get(key)!);
      this.#inOrder = this.#places.every((place, k) => place === k);
    }
    // A record holding every column in the staging table's order (the usual one) is its own line.
    if (this.#inOrder && keys.length === width) return values;
    const fields = new Array<string | null | undefined>(width);
    for (let k = 0; k < keys.length; k++) fields[this.#places[k]!] = values[k];
    return fields;
  }
}

/** The reader's batches of records, one record at a time. */
class Records {
  batch: KeyedRow[] = [];
  pos = 0;
  finished = false;
  readonly #iterator: AsyncIterator<KeyedRow[]>;

  constructor(table: KeyedTable) {
    this.#iterator = table.batches[Symbol.asyncIterator]();
  }

  async nextBatch(): Promise<boolean> {
    const next = await this.#iterator.next();
    if (next.done) {
      this.finished = true;
      return false;
    }
    this.batch = next.value;
    this.pos = 0;
    return true;
  }
}

/** `chunk` with the COPY text line (`_rn, _err, c1 .. cn, _fix`) of one record appended, observing its values. */
function appendRecord(run: StageRun, keys: KeyColumns, row: KeyedRow, width: number, chunk: string): string {
  const result = run.result;
  const fields = keys.fields(row, width);
  let fixes = '';
  let line = chunk + `${row.rn}\t\\N`;
  for (let i = 0; i < width; i++) {
    let f = fields[i];
    if (f === undefined) {
      line += '\t\\N';
      continue;
    }
    const col = result.columns[i]!;
    if (f === null) {
      col.stats.observe(f);
      line += '\t\\N';
      continue;
    }
    if (col.nulls !== null && isNullValue(col.nulls, f)) {
      fixes = nullValueFix(col, JSON.stringify(col.targetName), f, fixes);
      line += '\t\\N';
      continue;
    }
    const work = NEEDS_WORK.test(f);
    if (work && f.includes('\0')) [f, fixes] = stripNul(f, JSON.stringify(col.targetName), fixes, result);
    col.stats.observe(f);
    line += '\t' + (work ? escapeCopyText(f) : f);
  }
  if (row.fixes) {
    for (const k of Object.keys(row.fixes)) fixes = withFix(fixes, JSON.stringify(keys.columnOf(k)?.targetName ?? k), row.fixes[k] as ReaderFix);
  }
  result.rows++;
  return `${line}\t${fixesJson(fixes, result)}\n`;
}

/** The COPY data of the records from the current one on, until a batch brings a new key (it then goes to the next COPY). */
async function* segment(run: StageRun, keys: KeyColumns, records: Records, width: number): AsyncGenerator<string> {
  let chunk = '';
  for (;;) {
    if (records.pos >= records.batch.length) {
      if (chunk.length >= COPY_CHUNK_CHARS) {
        await run.onChunk?.(run.result.rows);
        yield chunk;
        chunk = '';
      }
      if (!(await records.nextBatch())) break;
      if (keys.add(records.batch)) break; // new columns first: this batch goes into the next COPY
    }
    chunk = appendRecord(run, keys, records.batch[records.pos++]!, width, chunk);
  }
  if (chunk.length > 0) yield chunk;
}

/** Stages every record of a keyed input, adding staging columns as keys appear. */
export async function copyKeyed(run: StageRun, table: KeyedTable): Promise<void> {
  const keys = new KeyColumns(run);
  const records = new Records(table);
  const stage = quoteIdent(run.stage);
  const columns = run.result.columns;
  if (!(await records.nextBatch())) return;
  keys.add(records.batch);
  let staged = 0; // columns the staging table has
  while (!records.finished) {
    if (columns.length > staged) {
      const added = columns.slice(staged);
      await run.client.query(`alter table ${stage} ${added.map((c) => `add column ${quoteIdent(c.ref.name)} text`).join(', ')}`);
      staged = columns.length;
    }
    const names = ['_rn', '_err', ...columns.map((c) => c.ref.name), '_fix'].map(quoteIdent).join(', ');
    await run.copy(`copy ${stage} (${names}) from stdin`, segment(run, keys, records, staged));
  }
  for (const key of table.jsonKeys) {
    const col = keys.columnOf(key);
    if (col) col.json = true;
  }
}
