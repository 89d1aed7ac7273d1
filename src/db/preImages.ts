/**
 * Queries on import_preimages (sql/005): the previous version of every row an import updated or
 * deleted, owned by that import, so that its undo can put back exactly what was there. Table
 * names come from import_history or the user and are always quoted; every value is a parameter.
 */
import { qualify, quoteIdent } from '../transform/naming.js';
import { parseJsonExact } from '../transform/exactJson.js';
import { isoTime } from '../transform/time.js';
import type { Client } from './connection.js';
import { dependentRecordsSql } from './importDuplicates.js';
import { listRowTriggersAndRules, type TriggerOrRule } from './rowTriggers.js';
import { withImportIdCheckSkipped } from './tables.js';

const PREIMAGES = 'import_preimages';

/** What happened to a row whose previous version is kept. */
export type PreImageAction = 'updated' | 'deleted';

/** A json or jsonb column of a data table (a domain over one too). */
interface JsonColumn {
  name: string;
  jsonb: boolean;
}

/** The json and jsonb columns of a table: in them JSON null is a value, which row_to_json writes as it writes SQL NULL. */
async function listJsonColumns(client: Client, schema: string, table: string): Promise<JsonColumn[]> {
  const res = await client.query<JsonColumn>(
    `select a.attname as name, b.oid = 'jsonb'::regtype as jsonb
       from pg_attribute a join pg_type t on t.oid = a.atttypid join pg_type b on b.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
      where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped and b.oid in ('json'::regtype, 'jsonb'::regtype)
      order by a.attnum`,
    [qualify(schema, table)],
  );
  return res.rows;
}

/**
 * Keeps the current version of the rows of `table` that `rowsSql` selects (a query over the
 * table aliased `t`, which must select whole rows as `t`), before this import updates or deletes
 * them: the whole row as row_to_json writes it (every column, `id` and the metadata included),
 * and the json/jsonb columns holding JSON null (`json_nulls`, sql/006). Returns how many were kept.
 */
export async function savePreImages(
  client: Client,
  p: { schema: string; table: string; importId: string; action: PreImageAction; from: string; params?: unknown[] },
): Promise<number> {
  const params: unknown[] = [p.importId, p.table, p.action, ...(p.params ?? [])];
  // Only a table with json or jsonb columns pays for json_nulls: the others' statement is as it was.
  const json = await listJsonColumns(client, p.schema, p.table);
  const named = json.map((c) => `case when ${c.jsonb ? 'jsonb' : 'json'}_typeof(t.${quoteIdent(c.name)}) = 'null' then $${params.push(c.name)}::text end`);
  const [nullsColumn, nullsValue] = json.length === 0 ? ['', ''] : [', json_nulls', `, nullif(array_remove(array[${named.join(', ')}], null), '{}')`];
  const sql = `insert into ${qualify(p.schema, PREIMAGES)} (import_id, table_name, row_id, prior_import_id, action, row_data${nullsColumn})
    select $1::uuid, $2::text, t.id, t._import_id, $3::text, row_to_json(t.*)${nullsValue} ${p.from}`;
  const res = await withImportIdCheckSkipped(client, { schema: p.schema, table: PREIMAGES, fkColumn: 'import_id', importId: p.importId }, () => client.query(sql, params));
  return res.rowCount ?? 0;
}

/** The columns of a table that an INSERT may write (not dropped, not generated), in table order. */
async function writableColumns(client: Client, schema: string, table: string): Promise<string[]> {
  const res = await client.query<{ name: string }>(
    `select a.attname as name from pg_attribute a
      where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
      order by a.attnum`,
    [qualify(schema, table)],
  );
  return res.rows.map((r) => r.name);
}

/**
 * The value of each of `columns` in a pre-image `p` read as `r` (json_populate_record of its
 * row_data), as it was in the table: a json/jsonb column named in `p.json_nulls` held JSON null,
 * which json_populate_record reads as SQL NULL. Column names go into `params`.
 */
export async function preImageValuesSql(client: Client, schema: string, table: string, columns: readonly string[], params: unknown[]): Promise<string[]> {
  const json = new Set((await listJsonColumns(client, schema, table)).map((c) => c.name));
  return columns.map((c) =>
    json.has(c) ? `case when r.${quoteIdent(c)} is null and $${params.push(c)}::text = any(p.json_nulls) then 'null' else r.${quoteIdent(c)} end` : `r.${quoteIdent(c)}`,
  );
}

/** The column names the pre-images an import kept of `table` hold (all of the table's columns when they were kept). */
export async function listPreImageColumns(client: Client, schema: string, table: string, importId: string): Promise<string[]> {
  const res = await client.query<{ name: string }>(
    `select distinct k as name from ${qualify(schema, PREIMAGES)} p cross join lateral json_object_keys(p.row_data) k
      where p.import_id = $1 and p.table_name = $2 order by 1`,
    [importId, table],
  );
  return res.rows.map((r) => r.name);
}

/**
 * The columns undo writes from the pre-images: those they hold. A column added since (by a later
 * import or by hand) is left out, so a row put back in place keeps its value and one inserted
 * back takes the column's default, as the rows did when it was added.
 */
export async function restoredColumns(client: Client, schema: string, table: string, importId: string): Promise<string[]> {
  const kept = new Set(await listPreImageColumns(client, schema, table, importId));
  return (await writableColumns(client, schema, table)).filter((c) => kept.has(c));
}

/** The pre-images `p` of rows import `$1` updated in table `$2`, but those of the rows whose ids are in `$3`. */
const UPDATED_PREIMAGES = `p.import_id = $1 and p.table_name = $2 and p.action = 'updated' and not (p.row_id = any($3::bigint[]))`;

/** The rows of `table` (as `t`) that undo of import `$1` deletes: those it inserted, not those it updated (`$3`: ids left to later imports). */
export function insertedRowsSql(schema: string, table: string): string {
  return `select t.* from ${qualify(schema, table)} t where t._import_id = $1
        and not exists (select 1 from ${qualify(schema, PREIMAGES)} p where ${UPDATED_PREIMAGES} and p.row_id = t.id)`;
}

/**
 * Deletes the rows an import inserted into `table`, not those it updated that undo puts back in
 * place (restoreUpdatedRows): deleting these would fire other tables' ON DELETE actions. First, so
 * that a key an inserted row took from an updated one is free again. Returns how many it deleted.
 */
export async function deleteInsertedRows(client: Client, schema: string, table: string, importId: string, skipRowIds: readonly string[]): Promise<number> {
  const res = await client.query(
    `delete from ${qualify(schema, table)} t where t._import_id = $1
        and not exists (select 1 from ${qualify(schema, PREIMAGES)} p where ${UPDATED_PREIMAGES} and p.row_id = t.id)`,
    [importId, table, skipRowIds],
  );
  return res.rowCount ?? 0;
}

/**
 * Puts the previous versions of the rows an import updated back in place, by UPDATE on their id
 * (every column but `id`), as the upsert changed them: other tables' rows that reference them keep
 * their references. Rows no longer carrying its id (later imports' or reassigned) are left alone.
 * `restored`: restoredColumns' answer.
 */
export async function restoreUpdatedRows(client: Client, schema: string, table: string, importId: string, skipRowIds: readonly string[], restored: readonly string[]): Promise<number> {
  const columns = restored.filter((c) => c !== 'id');
  const params: unknown[] = [importId, table, skipRowIds];
  const values = await preImageValuesSql(client, schema, table, columns, params);
  const res = await client.query(
    `update ${qualify(schema, table)} t set ${columns.map((c, i) => `${quoteIdent(c)} = ${values[i]!}`).join(', ')}
       from ${qualify(schema, PREIMAGES)} p
       cross join lateral json_populate_record(null::${qualify(schema, table)}, p.row_data) r
      where ${UPDATED_PREIMAGES} and t.id = p.row_id and t._import_id = $1`,
    params,
  );
  return res.rowCount ?? 0;
}

/** How many rows restoreUpdatedRows would put back in place: rows the import updated that still carry its id (not those deleted since). */
export async function countInPlaceRestores(client: Client, schema: string, table: string, importId: string, skipRowIds: readonly string[]): Promise<number> {
  const res = await client.query<{ n: number }>(
    `select count(*)::int as n from ${qualify(schema, PREIMAGES)} p join ${qualify(schema, table)} t on t.id = p.row_id and t._import_id = $1 where ${UPDATED_PREIMAGES}`,
    [importId, table, skipRowIds],
  );
  return res.rows[0]?.n ?? 0;
}

/**
 * Puts back the pre-images an import kept of `table`'s rows, as they were: every column, `id`
 * included (OVERRIDING SYSTEM VALUE: atlas's `id` is an identity column). The import's own rows
 * must be deleted (or, those it updated, put back in place) first. Rows whose ids are in `skipRowIds` are left out (later imports changed
 * them since: they are theirs now), and so are rows whose id is in the table (undo --reassign
 * kept them for later imports that rely on them). Returns how many rows were put back. `columns`:
 * restoredColumns' answer.
 */
export async function restorePreImages(client: Client, schema: string, table: string, importId: string, skipRowIds: readonly string[], columns: readonly string[]): Promise<number> {
  const params: unknown[] = [importId, table, skipRowIds];
  const values = await preImageValuesSql(client, schema, table, columns, params);
  const res = await client.query(
    `insert into ${qualify(schema, table)} (${columns.map(quoteIdent).join(', ')}) overriding system value
     select ${values.join(', ')}
       from ${qualify(schema, PREIMAGES)} p
       cross join lateral json_populate_record(null::${qualify(schema, table)}, p.row_data) r
      where p.import_id = $1 and p.table_name = $2 and not (p.row_id = any($3::bigint[]))
        -- a row undo --reassign just gave to a later import stays that import's
        and not exists (select 1 from ${qualify(schema, table)} x where x.id = p.row_id)
      order by p.row_id`,
    params,
  );
  return res.rowCount ?? 0;
}

/**
 * The enabled triggers and rules of `table` that may change a row as undo puts it back: row
 * triggers on INSERT or UPDATE (an `updated_at` set by a BEFORE trigger) and rules on them. Undo
 * then checks the rows it put back (findAlteredRestores).
 */
export function listRestoreChangers(client: Client, schema: string, table: string): Promise<TriggerOrRule[]> {
  return listRowTriggersAndRules(client, schema, table, { events: ['insert', 'update'], beforeOnly: false, insteadRulesOnly: false });
}

/**
 * The rows undo put back (in place or inserted back) that differ from their previous versions in
 * a column it restored, compared as text (every type has one): what a trigger or rule changed.
 * Rows whose ids are in `skipRowIds` were not put back; `columns` are those it restored (restoredColumns).
 */
export async function findAlteredRestores(client: Client, schema: string, table: string, importId: string, skipRowIds: readonly string[], columns: readonly string[]): Promise<{ rows: number; columns: string[] }> {
  const params: unknown[] = [importId, table, skipRowIds];
  const values = await preImageValuesSql(client, schema, table, columns, params);
  // Each differing column by its position (a name is never put in SQL text as a literal).
  const differs = columns.map((c, i) => `case when (t.${quoteIdent(c)})::text is distinct from (${values[i]!})::text then ${i} end`);
  const res = await client.query<{ rows: number; positions: number[] }>(
    `with d as (
       select array_remove(array[${differs.join(', ')}]::int[], null) as positions
         from ${qualify(schema, PREIMAGES)} p
         cross join lateral json_populate_record(null::${qualify(schema, table)}, p.row_data) r
         join ${qualify(schema, table)} t on t.id = p.row_id
        where p.import_id = $1 and p.table_name = $2 and not (p.row_id = any($3::bigint[])))
     select count(*) filter (where cardinality(positions) > 0)::int as rows,
            array(select distinct x from d cross join unnest(d.positions) x order by 1) as positions
       from d`,
    params,
  );
  const row = res.rows[0]!;
  return { rows: row.rows, columns: row.positions.map((i) => columns[i]!) };
}

/** How many pre-images an import kept. */
export async function countPreImages(client: Client, schema: string, importId: string): Promise<number> {
  const res = await client.query<{ n: number }>(`select count(*)::int as n from ${qualify(schema, PREIMAGES)} where import_id = $1`, [importId]);
  return res.rows[0]?.n ?? 0;
}

/** A later import that changed (updated or deleted) rows an import wrote, or kept them in place, and has not been undone. */
export interface LaterChange {
  import_id: string;
  file_name: string | null;
  import_timestamp: string;
  import_mode: string;
  /** Rows of the earlier import it changed. */
  rows: number;
  /** Rows of the earlier import a replace kept in place as rows of its file, or an upsert found unchanged (`metadata.kept_in_place`). */
  kept: number;
}

/**
 * The imports, not undone, that updated or deleted rows `importId` wrote into `table` (their
 * pre-images hold versions written by it), or that replaced the table keeping some of its rows
 * in place, earliest first: undoing `importId` before them would take back rows they rely on, or
 * their undo would bring back rows of an undone import.
 */
export async function listLaterChanges(client: Client, schema: string, table: string, importId: string): Promise<LaterChange[]> {
  const h = qualify(schema, 'import_history');
  const res = await client.query<{ import_id: string; file_name: string | null; import_timestamp: Date; import_mode: string; rows: number; kept: number }>(
    `select h.import_id, h.file_name, h.import_timestamp, h.import_mode, sum(x.changed)::int as rows, sum(x.kept)::int as kept
       from (select p.import_id, count(*) as changed, 0 as kept from ${qualify(schema, PREIMAGES)} p
              where p.prior_import_id = $1 and p.table_name = $2 and p.import_id <> $1 group by p.import_id
             union all
             select k.import_id, 0, sum((e->>'rows')::int) from ${h} k
              cross join jsonb_array_elements(case when jsonb_typeof(k.metadata->'kept_in_place') = 'array' then k.metadata->'kept_in_place' else '[]'::jsonb end) e
              where k.table_name = $2 and k.import_id <> $1 and e->>'import_id' = $1::text group by k.import_id) x
       join ${h} h on h.import_id = x.import_id
      where h.status in ('success', 'partial')
      group by h.import_id, h.file_name, h.import_timestamp, h.import_mode
      order by h.import_timestamp, h.import_id`,
    [importId, table],
  );
  return res.rows.map((r) => ({ ...r, import_timestamp: isoTime(r.import_timestamp)! }));
}

/**
 * The later imports into `table`, not undone, that updated or deleted rows (of any import) and
 * whose pre-images `history compact` dropped: which rows they changed is no longer known, so they
 * are the ones that may have changed the rows of an import since.
 */
export async function listCompactedLaterChanges(client: Client, schema: string, table: string, importId: string): Promise<Array<{ import_id: string; import_mode: string; file_name: string | null; rows_updated: number; rows_deleted: number }>> {
  const res = await client.query<{ import_id: string; import_mode: string; file_name: string | null; rows_updated: number; rows_deleted: number }>(
    `select import_id, import_mode, file_name, coalesce(rows_updated, 0) as rows_updated, coalesce(rows_deleted, 0) as rows_deleted
       from ${qualify(schema, 'import_history')}
      where table_name = $1 and import_id <> $2 and status in ('success', 'partial') and preimages_pruned_at is not null
        and created_at > (select created_at from ${qualify(schema, 'import_history')} where import_id = $2)
        and (coalesce(rows_updated, 0) > 0 or coalesce(rows_deleted, 0) > 0)
      order by created_at, import_id`,
    [table, importId],
  );
  return res.rows;
}

/** `id (upsert, file.csv, 3 row(s))`, or `... 3 row(s), 40 kept in place)` for a replace or an upsert that kept some. */
export function laterChangeText(l: LaterChange): string {
  const what = [l.rows > 0 || l.kept === 0 ? `${l.rows} row(s)` : null, l.kept > 0 ? `${l.kept} kept in place` : null].filter((x) => x !== null).join(', ');
  return `${l.import_id} (${l.import_mode}, ${l.file_name ?? 'stdin'}, ${what})`;
}

/** The pre-images, kept by imports not undone, of versions of rows `$1` wrote into table `$2`. */
function laterPreImagesSql(schema: string): string {
  return `select p.id, p.row_id from ${qualify(schema, PREIMAGES)} p join ${qualify(schema, 'import_history')} h on h.import_id = p.import_id
           where p.prior_import_id = $1 and p.table_name = $2 and p.import_id <> $1 and h.status in ('success', 'partial')`;
}

/** The ids of the rows `importId` wrote that later imports (not undone) changed since: undo --force leaves them to those imports (handOverPreImages). */
export async function listLaterChangedRowIds(client: Client, schema: string, table: string, importId: string): Promise<string[]> {
  const rows = await client.query<{ row_id: string }>(`select distinct l.row_id::text as row_id from (${laterPreImagesSql(schema)}) l`, [importId, table]);
  return rows.rows.map((r) => r.row_id);
}

/**
 * Undo --force of `importId` while later imports changed some of its rows: those rows stay as
 * the later imports left them, and the later imports' pre-images of them (versions `importId`
 * wrote) are rewritten to what was there before `importId`: its own pre-image of the row, or
 * nothing where it inserted the row (undoing the later import then deletes it). So no later undo
 * brings back a version of an undone import. Returns the ids of the rows concerned, which the
 * undo of `importId` must not put back, and per later import how many of its pre-images were
 * rewritten and dropped.
 */
export async function handOverPreImages(client: Client, schema: string, table: string, importId: string): Promise<{ rowIds: string[]; byImport: Array<{ import_id: string; rewritten: number; dropped: number }> }> {
  const pre = qualify(schema, PREIMAGES);
  const later = laterPreImagesSql(schema);
  const rows = await listLaterChangedRowIds(client, schema, table, importId);
  const counts = await client.query<{ import_id: string; rewritten: number; dropped: number }>(
    `select p.import_id::text as import_id,
            count(*) filter (where exists (select 1 from ${pre} own where own.import_id = $1 and own.table_name = $2 and own.row_id = l.row_id))::int as rewritten,
            count(*) filter (where not exists (select 1 from ${pre} own where own.import_id = $1 and own.table_name = $2 and own.row_id = l.row_id))::int as dropped
       from (${later}) l join ${pre} p on p.id = l.id group by 1 order by 1`,
    [importId, table],
  );
  await client.query(
    `update ${pre} p set row_data = own.row_data, json_nulls = own.json_nulls, prior_import_id = own.prior_import_id
       from (${later}) l, ${pre} own
      where p.id = l.id and own.import_id = $1 and own.table_name = $2 and own.row_id = l.row_id`,
    [importId, table],
  );
  await client.query(
    `delete from ${pre} p using (${later}) l
      where p.id = l.id and not exists (select 1 from ${pre} own where own.import_id = $1 and own.table_name = $2 and own.row_id = l.row_id)`,
    [importId, table],
  );
  return { rowIds: rows, byImport: counts.rows };
}

/**
 * How many of the previous versions `importId` kept are of rows later imports (not undone) changed
 * since: an undo --force leaves those rows as the later imports left them and hands these versions
 * over to them (handOverPreImages), so it does not put them back.
 */
export async function countHandedOverPreImages(client: Client, schema: string, table: string, importId: string): Promise<number> {
  const pre = qualify(schema, PREIMAGES);
  const res = await client.query<{ n: number }>(
    `select count(*)::int as n from ${pre} own
      where own.import_id = $1 and own.table_name = $2
        and own.row_id in (select l.row_id from (${laterPreImagesSql(schema)}) l)`,
    [importId, table],
  );
  return res.rows[0]?.n ?? 0;
}

/**
 * Per import that wrote rows of `table`: how many of them later imports (not undone) updated or
 * deleted, by their pre-images (or, once compacted, by the record of a --replace-import of it):
 * atlas's own changes to an import's rows, which lineage accounts for. (Rows undo --reassign gave
 * an import are in its record's rows_inserted already: recordReassignment.)
 */
export async function countAtlasChangesByImport(client: Client, schema: string, table: string): Promise<Map<string, number>> {
  const h = qualify(schema, 'import_history');
  const res = await client.query<{ import_id: string; changed: number }>(
    `select import_id, sum(changed)::int as changed from (
       select p.prior_import_id as import_id, count(*) as changed
         from ${qualify(schema, PREIMAGES)} p join ${h} h on h.import_id = p.import_id
        where p.table_name = $1 and p.prior_import_id is not null and p.import_id <> p.prior_import_id and h.status in ('success', 'partial')
        group by p.prior_import_id
       union all
       -- A --replace-import whose pre-images history compact dropped: every row it deleted was the replaced import's.
       select h.replaces_import_id, coalesce(h.rows_deleted, 0)
         from ${h} h
        where h.table_name = $1 and h.replaces_import_id is not null and h.preimages_pruned_at is not null and h.status in ('success', 'partial')
     ) x group by import_id`,
    [table],
  );
  return new Map(res.rows.map((r) => [r.import_id, r.changed]));
}

/** One earlier version of a row: who wrote it, and which import then updated or deleted it. */
export interface RowVersionRow {
  prior_import_id: string | null;
  row_data: Record<string, unknown>;
  changed_by: string;
  action: PreImageAction;
}

/** The kept earlier versions of one row, oldest first, of imports not undone (an undone one's change was taken back). */
export async function listRowVersions(client: Client, schema: string, table: string, rowId: string): Promise<RowVersionRow[]> {
  // row_data as text: parseJsonExact keeps the digits a double would lose.
  const res = await client.query<Omit<RowVersionRow, 'row_data'> & { row_data: string }>(
    `select p.prior_import_id, p.row_data::text as row_data, p.import_id as changed_by, p.action
       from ${qualify(schema, PREIMAGES)} p join ${qualify(schema, 'import_history')} h on h.import_id = p.import_id
      where p.table_name = $1 and p.row_id = $2::bigint and h.status in ('success', 'partial')
      order by p.id`,
    [table, rowId],
  );
  return res.rows.map((r) => ({ ...r, row_data: parseJsonExact(r.row_data) as Record<string, unknown> }));
}

/**
 * Drops the pre-images of imports older than the cutoff and stamps their records
 * `preimages_pruned_at`: they can no longer be undone. Returns those imports (all that would be,
 * in a dry run) with how many pre-images each had.
 */
export async function prunePreImages(client: Client, schema: string, cutoff: Date, dryRun: boolean): Promise<Array<{ import_id: string; table_name: string; status: string; preimages: number }>> {
  const h = qualify(schema, 'import_history');
  const pre = qualify(schema, PREIMAGES);
  const res = await client.query<{ import_id: string; table_name: string; status: string; preimages: number }>(
    `select p.import_id, h.table_name, h.status, count(*)::int as preimages
       from ${pre} p join ${h} h on h.import_id = p.import_id
      where h.import_timestamp < $1 and h.status <> 'in_progress'
      group by p.import_id, h.table_name, h.status, h.import_timestamp
      order by h.import_timestamp`,
    [cutoff],
  );
  if (dryRun || res.rows.length === 0) return res.rows;
  const ids = res.rows.map((r) => r.import_id);
  // The records first: their row locks wait for an undo of one of them to end (it holds its record FOR UPDATE).
  await client.query(`update ${h} set preimages_pruned_at = clock_timestamp(), updated_at = clock_timestamp() where import_id = any($1::uuid[])`, [ids]);
  await client.query(`delete from ${pre} where import_id = any($1::uuid[])`, [ids]);
  return res.rows;
}

/**
 * How many of the rows later imports rely on are no longer `importId`'s rows in the table: a later
 * import deleted or updated them, and holds its version in its pre-images. Undo --reassign cannot
 * give such a row to the import that relies on it.
 */
export async function countDependentRowsChangedSince(client: Client, schema: string, table: string, importId: string): Promise<number> {
  const res = await client.query<{ n: number }>(
    `with ${dependentRecordsSql(schema, table)}
     select count(*)::int as n from firsts f
      where not exists (select 1 from ${qualify(schema, table)} t where t.id = f.matched_row_id and t._import_id = $1)`,
    [importId, table],
  );
  return res.rows[0]?.n ?? 0;
}

