/**
 * Queries on import_duplicates: rows an import skipped as duplicates (sql/002). Each query
 * first checks the table exists, so a schema not yet migrated to it reads as "not kept".
 */
import { qualify } from '../transform/naming.js';
import { parseJsonExact } from '../transform/exactJson.js';
import { isoTime } from '../transform/time.js';
import type { Client } from './connection.js';
import { tableExists } from './tables.js';

export const IMPORT_DUPLICATES_TABLE = 'import_duplicates';

/** A skipped duplicate: the record as it would have been stored, and what it equals. */
export interface DuplicateRow {
  /** A number, or its text past what a double holds exactly (as every bigint here). */
  id: number | string;
  import_id: string;
  /** The skipped record's position in its file. */
  record_number: number;
  record: Record<string, unknown> | null;
  /** The row already in the table that it equals, or null. */
  matched_row_id: number | string | null;
  /** The earlier record of the same file that it equals, or null. */
  matched_record_number: number | null;
  detected_at: string;
}

/** One page of an import's skipped duplicates in file order, or null when the table does not exist. */
export async function listImportDuplicates(
  client: Client,
  schema: string,
  importId: string,
  limit: number,
  offset: number,
): Promise<{ rows: DuplicateRow[]; total: number } | null> {
  if (!(await tableExists(client, schema, IMPORT_DUPLICATES_TABLE))) return null;
  const table = qualify(schema, IMPORT_DUPLICATES_TABLE);
  const total = await client.query<{ n: string }>(`select count(*) as n from ${table} d where d.import_id = $1`, [importId]);
  // row_to_json: every column whatever later migrations add, bigint ids as JSON numbers, and the
  // record as stored (json, in its columns' order; to_jsonb would reorder its keys). Read as text:
  // parseJsonExact keeps the digits of a bigint or numeric that a double would lose.
  const res = await client.query<{ row: string }>(
    `select row_to_json(d)::text as row from ${table} d where d.import_id = $1 order by d.record_number, d.id limit $2 offset $3`,
    [importId, limit, offset],
  );
  const rows = res.rows.map((r) => parseJsonExact(r.row) as DuplicateRow);
  // row_to_json writes detected_at in json's own format (microseconds, +00:00): JSON output has one format.
  return { rows: rows.map((r) => ({ ...r, detected_at: isoTime(r.detected_at)! })), total: Number(total.rows[0]?.n ?? 0) };
}

/** A later import that skipped records as duplicates of rows of an import being undone. */
export interface DependentImport {
  import_id: string;
  file_name: string | null;
  import_timestamp: string;
  /** Its skipped records that equal rows of the import being undone. */
  records: number;
  /** Rows it is the earliest to rely on: re-attributed to it by undo --reassign. */
  rows: number;
  /** Of `records`, those that rely on rows the undone import updated: undo puts back their previous version, not deletes them. */
  records_on_updated: number;
  /** Of `rows`, those the undone import updated. */
  rows_on_updated: number;
}

/** `id (file.csv, 3 record(s))`: a later import that relies on an import's rows, as refusals name it. */
export function dependentImportText(d: DependentImport): string {
  return `${d.import_id} (${d.file_name ?? 'stdin'}, ${d.records} record(s))`;
}

/**
 * The condition that the record `d`, skipped by the import of history record `h`, relies on a row
 * of import $1 in table $2: it matched such a row, and not the version before $1 updated it (which
 * undo puts back), as a record of an import that ended before $1 did. mapping_completed_at is set
 * under the table's lock, so it orders imports into one table as they committed; import_timestamp
 * is when each started, maybe before waiting for that lock.
 */
function reliesOnRowsSql(schema: string, table: string): string {
  // Its rows in the table, and those a later import (not undone) deleted or updated, whose versions
  // by $1 that import's pre-images hold: undo --force of $1 takes those out of the pre-images too.
  return `(d.matched_row_id in (select t.id from ${qualify(schema, table)} t where t._import_id = $1)
           or d.matched_row_id in (select l.row_id from ${qualify(schema, 'import_preimages')} l join ${qualify(schema, 'import_history')} lh on lh.import_id = l.import_id
                                    where l.prior_import_id = $1 and l.table_name = $2 and l.import_id <> $1 and lh.status in ('success', 'partial')))
          and not exists (
            select 1 from ${qualify(schema, 'import_preimages')} p join ${qualify(schema, 'import_history')} u on u.import_id = p.import_id
             where p.import_id = $1 and p.table_name = $2 and p.row_id = d.matched_row_id and h.mapping_completed_at < u.mapping_completed_at)`;
}

/**
 * CTEs over the records that committed imports into `table` (success or partial) other than $1
 * skipped as duplicates of rows of import $1 (params: $1 the import id, $2 the table name):
 * `deps`, each such record; `firsts`, each such row once, with the record that claims it: the
 * earliest import's (then the smallest import id), its first record.
 */
export function dependentRecordsSql(schema: string, table: string): string {
  return `deps as (
       select d.id as dup_id, d.import_id, d.matched_row_id, d.record_number, d.record, h.import_timestamp, h.file_name
         from ${qualify(schema, IMPORT_DUPLICATES_TABLE)} d
         join ${qualify(schema, 'import_history')} h on h.import_id = d.import_id
        where h.table_name = $2 and h.import_id <> $1 and h.status in ('success', 'partial')
          and ${reliesOnRowsSql(schema, table)}
     ), firsts as (
       select distinct on (matched_row_id) * from deps order by matched_row_id, import_timestamp, import_id, record_number
     )`;
}

/**
 * The committed imports into `table` that skipped records as duplicates of rows of `importId`:
 * once those rows are gone, the data of those records is not in the table either. Earliest first.
 */
export async function listDependentImports(client: Client, schema: string, table: string, importId: string): Promise<DependentImport[]> {
  if (!(await tableExists(client, schema, IMPORT_DUPLICATES_TABLE))) return [];
  const h = qualify(schema, 'import_history');
  // Only the columns that decide which record claims a row: not each record's jsonb, which made the
  // sort of 1.5M records spill to disk (docs/decisions.md).
  const res = await client.query<{ import_id: string; file_name: string | null; import_timestamp: Date; records: number; rows: number; records_on_updated: number; rows_on_updated: number }>(
    `with deps as materialized (
       select d.import_id, d.matched_row_id, d.record_number, h.import_timestamp,
              exists (select 1 from ${qualify(schema, 'import_preimages')} p where p.import_id = $1 and p.table_name = $2 and p.row_id = d.matched_row_id) as on_updated
         from ${qualify(schema, IMPORT_DUPLICATES_TABLE)} d
         join ${h} h on h.import_id = d.import_id
        where h.table_name = $2 and h.import_id <> $1 and h.status in ('success', 'partial')
          and ${reliesOnRowsSql(schema, table)}
     ), firsts as (
       select distinct on (matched_row_id) import_id, on_updated from deps order by matched_row_id, import_timestamp, import_id, record_number
     )
     select h.import_id, h.file_name, h.import_timestamp, r.records::int as records, coalesce(f.rows, 0)::int as rows, r.on_updated::int as records_on_updated,
            coalesce(f.on_updated, 0)::int as rows_on_updated
       from (select import_id, count(*) as records, count(*) filter (where on_updated) as on_updated from deps group by import_id) r
       join ${h} h on h.import_id = r.import_id
       left join (select import_id, count(*) as rows, count(*) filter (where on_updated) as on_updated from firsts group by import_id) f on f.import_id = r.import_id
      order by h.import_timestamp, h.import_id`,
    [importId, table],
  );
  return res.rows.map((r) => ({ ...r, import_timestamp: r.import_timestamp.toISOString() }));
}
