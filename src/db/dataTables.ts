/**
 * Queries on the data tables atlas imports into, through their metadata columns (`_import_id`,
 * `_source_row_number`, `_corrections_applied`). Table names come from import_history or the
 * user and are always quoted; every value is a parameter.
 */
import { qualify, quoteIdent, RESERVED_COLUMNS } from '../transform/naming.js';
import { isoTime } from '../transform/time.js';
import type { Client } from './connection.js';

/** What undo and lineage need to know about a table: whether it exists and which columns it has. */
export interface DataTableInfo {
  /** Every column name, atlas's metadata columns included. */
  columns: Set<string>;
  /** It has `_import_id`, so its rows can be traced to imports. */
  tracked: boolean;
}

/** The table's columns, or null when no table (or view) of that name exists in the schema. */
export async function getDataTable(client: Client, schema: string, table: string): Promise<DataTableInfo | null> {
  const res = await client.query<{ relkind: string; name: string | null }>(
    `select c.relkind, a.attname as name
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f')`,
    [schema, table],
  );
  if (res.rows.length === 0) return null;
  const columns = new Set(res.rows.flatMap((r) => (r.name === null ? [] : [r.name])));
  return { columns, tracked: columns.has('_import_id') };
}

/** Rows per import now present in a table, most rows first. */
export async function countRowsByImport(client: Client, schema: string, table: string): Promise<Array<{ importId: string; rows: number }>> {
  const res = await client.query<{ import_id: string; n: string }>(
    `select _import_id as import_id, count(*) as n from ${qualify(schema, table)} group by _import_id order by count(*) desc`,
  );
  return res.rows.map((r) => ({ importId: r.import_id, rows: Number(r.n) }));
}

/** How many rows of one import a table holds, and how many of them were written by another transaction. */
export interface ImportRowState {
  rows: number;
  /** Rows whose xmin is not the import's transaction: updated (or inserted by hand) since. */
  changed: number;
}

/**
 * Counts the rows of `importId` in `table`, and those changed since the import.
 *
 * The rule: an import inserts all its rows and writes its final history record in one
 * transaction, so every row it inserted has that transaction's id as `xmin`, the same as the
 * history record's `xmin` (`importXmin`). An UPDATE writes a new row version whose xmin is the
 * updating transaction, so a row of the import whose xmin differs was updated since (a table-wide
 * UPDATE included, which a "do the rows agree with each other" test would miss); a row added with
 * the import's id by hand differs too. Deleted rows cannot be seen, so the caller also compares
 * `rows` with the recorded `rows_inserted`. Row locks (SELECT FOR UPDATE) set xmax, not xmin, and
 * VACUUM FREEZE keeps the raw xmin, so neither counts as a change. A table rewrite that re-inserts
 * rows (ALTER COLUMN ... TYPE) or a dump and restore gives every row a new xmin: such a table
 * reads as changed, which errs on the safe side (undo then asks for --force). atlas's own rewrite
 * of `_row_hash` (a later import adding columns, or repairing stale hashes) is not a change: that
 * import records its transaction id (`metadata.rehash_xmin`), and rows with that xmin count as
 * unchanged (an UPDATE by someone else before that rewrite can no longer be told apart); so is
 * undo --reassign's rewrite of rows it gives to a later import (`metadata.reassigned[].xmin` of
 * that import's record), and the rows an undo put back from pre-images (`metadata.restore_xmin`
 * of the undone import's record). When such a record is deleted (history prune, undo --purge), its
 * ids go to `metadata.kept_xmins` of a record that stays (db/history.ts, deleteImports).
 */
export async function getImportRowState(client: Client, schema: string, table: string, importId: string, importXmin: string): Promise<ImportRowState> {
  const res = await client.query<{ n: string; changed: string }>(
    `select count(*) as n,
            count(*) filter (where t.xmin::text <> $2 and t.xmin::text not in (
              select h.metadata->>'rehash_xmin' from ${qualify(schema, 'import_history')} h where h.table_name = $3 and h.metadata ? 'rehash_xmin'
              union all
              select e->>'xmin' from ${qualify(schema, 'import_history')} h cross join jsonb_array_elements(h.metadata->'reassigned') e
               where h.table_name = $3 and e ? 'xmin'
              union all
              select h.metadata->>'restore_xmin' from ${qualify(schema, 'import_history')} h where h.table_name = $3 and h.metadata ? 'restore_xmin'
              union all
              select x from ${qualify(schema, 'import_history')} h
               cross join jsonb_array_elements_text(case when jsonb_typeof(h.metadata->'kept_xmins') = 'array' then h.metadata->'kept_xmins' else '[]'::jsonb end) x
               where h.table_name = $3
            )) as changed
       from ${qualify(schema, table)} t where t._import_id = $1`,
    [importId, importXmin, table],
  );
  return { rows: Number(res.rows[0]?.n ?? 0), changed: Number(res.rows[0]?.changed ?? 0) };
}

/** Deletes every row of one import from a table; returns how many. */
export async function deleteImportRows(client: Client, schema: string, table: string, importId: string): Promise<number> {
  const res = await client.query(`delete from ${qualify(schema, table)} where _import_id = $1`, [importId]);
  return res.rowCount ?? 0;
}

/** One row of a data table, split into atlas's metadata and the user's values. */
export interface TracedRow {
  importId: string;
  sourceRowNumber: number | null;
  /** When the row was inserted (ISO 8601 UTC), or null. */
  importedAt: string | null;
  correctionsApplied: Record<string, unknown> | null;
  /** The user columns, as JSON (numbers, strings, booleans; dates as ISO text). */
  values: Record<string, unknown>;
}

/** The row with `id` = `rowId` (atlas's identity column), or null. */
export async function getRowById(client: Client, schema: string, table: string, rowId: string): Promise<TracedRow | null> {
  // to_jsonb keeps every type exact (numeric as a JSON number, date as ISO text) without per-type code.
  // $1 as bigint: an integer or smallint id column compares with it (and uses its index) where an
  // id beyond that column's range would otherwise be an error from the server.
  // _imported_at is a timestamp without time zone (the spec's type), written by now() in the
  // server's TimeZone: read back as timestamptz in that same zone, it is the instant it was written.
  const res = await client.query<{ row: Record<string, unknown>; imported_at: Date | null }>(
    `select to_jsonb(t) as row, (to_jsonb(t)->>'_imported_at')::timestamptz as imported_at from ${qualify(schema, table)} t where t.id = $1::bigint`,
    [rowId],
  );
  const row = res.rows[0]?.row;
  if (row === undefined) return null;
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (!(RESERVED_COLUMNS as readonly string[]).includes(k)) values[k] = v;
  return {
    importId: String(row._import_id),
    sourceRowNumber: (row._source_row_number as number | null | undefined) ?? null,
    importedAt: isoTime(res.rows[0]!.imported_at),
    correctionsApplied: (row._corrections_applied as Record<string, unknown> | null | undefined) ?? null,
    values,
  };
}

/** A table holding rows that reference some import. */
export interface RowOwner {
  importId: string;
  /** `schema.table` */
  table: string;
  rows: number;
}

/** atlas's own tables that reference import_history: part of an import's record, not data. */
const RECORD_TABLES = ['mapping_errors', 'import_duplicates', 'import_preimages'];

/**
 * Which of `importIds` still own rows in any table (every table with a foreign key to this
 * schema's import_history, atlas's own record tables aside). Deleting such a record would
 * cascade to those rows, so pruning and purging skip or refuse them.
 */
export async function findRowOwners(client: Client, schema: string, importIds: readonly string[]): Promise<RowOwner[]> {
  if (importIds.length === 0) return [];
  const refs = await client.query<{ schema: string; table: string; column: string }>(
    `select n.nspname as schema, r.relname as table, a.attname as column
       from pg_constraint c
       join pg_class r on r.oid = c.conrelid
       join pg_namespace n on n.oid = r.relnamespace
       join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      where c.contype = 'f' and c.confrelid = to_regclass($1) and cardinality(c.conkey) = 1
        and not (n.nspname = $2 and r.relname = any($3::text[]))
      order by 1, 2`,
    [qualify(schema, 'import_history'), schema, RECORD_TABLES],
  );
  const owners: RowOwner[] = [];
  for (const ref of refs.rows) {
    const col = quoteIdent(ref.column);
    const res = await client.query<{ import_id: string; n: string }>(
      `select ${col}::text as import_id, count(*) as n from ${qualify(ref.schema, ref.table)}
        where ${col} = any($1::uuid[]) group by ${col}`,
      [importIds],
    );
    for (const r of res.rows) owners.push({ importId: r.import_id, table: `${ref.schema}.${ref.table}`, rows: Number(r.n) });
  }
  return owners;
}

/** Whether a table of that name exists in the schema. */
export async function tableExists(client: Client, schema: string, table: string): Promise<boolean> {
  const res = await client.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [qualify(schema, table)]);
  return res.rows[0]?.ok === true;
}
