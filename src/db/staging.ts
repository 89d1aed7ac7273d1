/**
 * The staging table and the COPY into it. Every format ends here: rows stream as COPY text into a
 * TEMP table while Node observes every value for type inference. Fixed-width inputs (CSV, XLSX)
 * get one text column per input column; inputs whose columns appear while reading (JSON, XML) get
 * one jsonb document per record, whose keys become columns once the whole input has been seen.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { ReaderFix, TableStream } from '../formats/types.js';
import { ColumnStats } from '../transform/infer.js';
import { ColumnNamer, quoteIdent } from '../transform/naming.js';
import type { Client } from './connection.js';

/** COPY data is sent in pieces of about this size: big enough to keep per-write overhead low. */
const COPY_CHUNK_CHARS = 1 << 18;

const NEEDS_ESCAPE = /[\\\t\n\r]/;

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
  /** `c3` for fixed-width inputs, or the document key for keyed inputs. */
  ref: { kind: 'column'; name: string } | { kind: 'key'; key: string };
  /** Values are JSON text (arrays, nested objects): the column is jsonb. */
  json: boolean;
}

export interface StageResult {
  rows: number;
  /** Rows whose field count differs from the header's (mapping errors). */
  raggedRows: number;
  /** Values that held NUL bytes, which PostgreSQL text cannot store (removed and recorded). */
  nulValues: number;
  /** Rows that carry corrections made while reading (`_fix`). */
  rowsWithFixes: number;
  columns: StagedColumn[];
}

/** SQL for a staged column's raw text; keyed columns push their key into `params`. */
export function rawSql(column: StagedColumn, params: unknown[], alias = 's'): string {
  if (column.ref.kind === 'column') return `${alias}.${quoteIdent(column.ref.name)}`;
  params.push(column.ref.key);
  return `(${alias}.doc ->> $${params.length}::text)`;
}

/** Target names picked by a mapping, by source name. */
export type TargetNames = ReadonlyMap<string, string>;

function stripNul(value: string, target: string, fixes: Record<string, ReaderFix>): string {
  const clean = value.replace(/\0/g, '');
  fixes[target] = { before: value.replace(/\0/g, '\\0'), after: clean, correction_type: 'nul_removed' };
  return clean;
}

function fixesJson(fixes: Record<string, ReaderFix> | null, result: StageResult): string {
  if (fixes === null) return '\\N';
  result.rowsWithFixes++;
  return escapeCopyText(JSON.stringify(fixes));
}

/** Creates the TEMP staging table for `table` (dropped at COMMIT/ROLLBACK). */
export async function createStage(client: Client, stage: string, table: TableStream): Promise<void> {
  const cols = ['_rn integer not null', '_err text', '_fix jsonb'];
  if (table.kind === 'fixed') cols.push(...table.header.map((_, i) => `c${i + 1} text`));
  else cols.push('doc jsonb not null');
  // TEMP: no WAL, invisible to other sessions; ON COMMIT DROP cleans up on every path.
  await client.query(`create temp table ${quoteIdent(stage)} (${cols.join(', ')}) on commit drop`);
}

/** Streams every row into the staging table, observing every value on the way. */
export async function copyIntoStage(
  client: Client,
  stage: string,
  table: TableStream,
  targets: TargetNames,
  signal?: AbortSignal,
  onChunk?: (rows: number) => void | Promise<void>,
): Promise<StageResult> {
  const namer = new ColumnNamer();
  const result: StageResult = { rows: 0, raggedRows: 0, nulValues: 0, rowsWithFixes: 0, columns: [] };
  const byKey = new Map<string, StagedColumn>();
  const addColumn = (sourceName: string, ref: StagedColumn['ref']): StagedColumn => {
    const col: StagedColumn = { sourceName, targetName: namer.next(sourceName, targets.get(sourceName)), stats: new ColumnStats(), ref, json: false };
    result.columns.push(col);
    return col;
  };

  async function* fixedText(t: Extract<TableStream, { kind: 'fixed' }>): AsyncGenerator<string> {
    const width = t.header.length;
    const cols = t.header.map((h, i) => addColumn(h, { kind: 'column', name: `c${i + 1}` }));
    const targetOf = new Map(cols.map((c) => [c.sourceName, c.targetName]));
    let parts: string[] = [];
    let size = 0;
    for await (const batch of t.batches) {
      for (const row of batch) {
        let fields = row.fields;
        let problem = '\\N';
        let fixes: Record<string, ReaderFix> | null = null;
        if (row.fixes) {
          fixes = {};
          for (const [k, v] of Object.entries(row.fixes)) fixes[targetOf.get(k) ?? k] = v;
        }
        if (fields.length !== width) {
          result.raggedRows++;
          problem = fields.length < width ? `too_few_fields:${fields.length}` : `too_many_fields:${fields.length}`;
          fields = fields.length < width ? [...fields, ...Array<null>(width - fields.length).fill(null)] : fields.slice(0, width);
        }
        let line = '';
        for (let i = 0; i < width; i++) {
          let f = fields[i] ?? null;
          if (f === null) {
            line += '\t\\N';
            continue;
          }
          if (f.includes('\0')) {
            result.nulValues++;
            f = stripNul(f, cols[i]!.targetName, (fixes ??= {}));
          }
          if (problem === '\\N') cols[i]!.stats.observe(f);
          line += '\t' + escapeCopyText(f);
        }
        const head = `${row.rn}\t${problem}\t${fixesJson(fixes, result)}`;
        parts.push(head + line + '\n');
        size += head.length + line.length + 1;
        result.rows++;
      }
      if (size >= COPY_CHUNK_CHARS) {
        await onChunk?.(result.rows);
        yield parts.join('');
        parts = [];
        size = 0;
      }
    }
    if (parts.length > 0) yield parts.join('');
  }

  async function* keyedText(t: Extract<TableStream, { kind: 'keyed' }>): AsyncGenerator<string> {
    let parts: string[] = [];
    let size = 0;
    for await (const batch of t.batches) {
      for (const row of batch) {
        let fixes: Record<string, ReaderFix> | null = null;
        // No prototype: a key named "__proto__" is an ordinary column.
        const clean = Object.create(null) as Record<string, string | null>;
        for (const [key, value] of Object.entries(row.values)) {
          let col = byKey.get(key);
          if (col === undefined) {
            col = addColumn(key, { kind: 'key', key });
            byKey.set(key, col);
          }
          let v = value;
          if (v !== null && v.includes('\0')) {
            result.nulValues++;
            v = stripNul(v, col.targetName, (fixes ??= {}));
          }
          col.stats.observe(v);
          clean[key] = v;
        }
        if (row.fixes) {
          fixes ??= {};
          for (const [k, v] of Object.entries(row.fixes)) fixes[byKey.get(k)?.targetName ?? k] = v;
        }
        const line = `${row.rn}\t\\N\t${fixesJson(fixes, result)}\t${escapeCopyText(JSON.stringify(clean))}\n`;
        parts.push(line);
        size += line.length;
        result.rows++;
      }
      if (size >= COPY_CHUNK_CHARS) {
        await onChunk?.(result.rows);
        yield parts.join('');
        parts = [];
        size = 0;
      }
    }
    if (parts.length > 0) yield parts.join('');
    for (const key of t.jsonKeys) {
      const col = byKey.get(key);
      if (col) col.json = true;
    }
  }

  const text = table.kind === 'fixed' ? fixedText(table) : keyedText(table);
  const copy = client.query(copyFrom(`copy ${quoteIdent(stage)} from stdin`));
  await pipeline(Readable.from(text, { highWaterMark: 2 }), copy, signal ? { signal } : {});
  return result;
}
