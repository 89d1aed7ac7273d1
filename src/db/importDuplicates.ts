/**
 * Queries on import_duplicates: rows an import skipped as duplicates (sql/002). Each query
 * first checks the table exists, so a schema not yet migrated to it reads as "not kept".
 */
import { qualify } from '../transform/naming.js';
import { isoTime } from '../transform/time.js';
import type { Client } from './connection.js';
import { tableExists } from './dataTables.js';

export const IMPORT_DUPLICATES_TABLE = 'import_duplicates';

/** A skipped duplicate: the record as it would have been stored, and what it equals. */
export interface DuplicateRow {
  id: number;
  import_id: string;
  /** The skipped record's position in its file. */
  record_number: number;
  record: Record<string, unknown> | null;
  /** The row already in the table that it equals, or null. */
  matched_row_id: number | null;
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
  // record as stored (json, in its columns' order; to_jsonb would reorder its keys).
  const res = await client.query<{ row: DuplicateRow }>(
    `select row_to_json(d) as row from ${table} d where d.import_id = $1 order by d.record_number, d.id limit $2 offset $3`,
    [importId, limit, offset],
  );
  // row_to_json writes detected_at in json's own format (microseconds, +00:00): JSON output has one format.
  return { rows: res.rows.map((r) => ({ ...r.row, detected_at: isoTime(r.row.detected_at)! })), total: Number(total.rows[0]?.n ?? 0) };
}

/**
 * How many records of other imports into `table` were skipped as duplicates of rows of
 * `importId` (undoing it removes the rows they matched); 0 when the table does not exist.
 */
export async function countLaterDuplicatesOf(client: Client, schema: string, table: string, importId: string): Promise<number> {
  if (!(await tableExists(client, schema, IMPORT_DUPLICATES_TABLE))) return 0;
  const res = await client.query<{ n: string }>(
    `select count(*) as n
       from ${qualify(schema, IMPORT_DUPLICATES_TABLE)} d
       join ${qualify(schema, 'import_history')} h on h.import_id = d.import_id and h.table_name = $2
      where d.import_id <> $1
        and d.matched_row_id in (select t.id from ${qualify(schema, table)} t where t._import_id = $1)`,
    [importId, table],
  );
  return Number(res.rows[0]?.n ?? 0);
}
