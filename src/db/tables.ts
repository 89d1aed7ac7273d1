import { AtlasError } from '../errors.js';
import type { ColumnDef } from '../transform/ddl.js';
import { qualify } from '../transform/naming.js';

import type { Client } from './connection.js';

/** A user column of an existing table. */
export interface ExistingColumn extends ColumnDef {
  /** NOT NULL without a default: rows must bring a value. */
  required: boolean;
}

/** The user columns of an existing table (metadata columns and `id` excluded), or null if it does not exist. */
export interface ExistingTable {
  columns: ExistingColumn[];
  /** The table has atlas's metadata columns (`_import_id`, ...). */
  tracked: boolean;
  /** The table has the indexed `_row_hash` column of the duplicate check. */
  hasRowHash: boolean;
}

/** What pg_class.relkind says a relation is, for the refusal of one that is not a table. */
const RELKINDS: Record<string, string> = {
  v: 'a view',
  m: 'a materialized view',
  f: 'a foreign table',
  S: 'a sequence',
  i: 'an index',
  I: 'a partitioned index',
  c: 'a composite type',
  t: 'a TOAST table',
};

const METADATA = new Set(['id', '_import_id', '_imported_at', '_source_row_number', '_corrections_applied', '_row_hash']);

export async function getExistingTable(client: Client, schema: string, table: string): Promise<ExistingTable | null> {
  const res = await client.query<{ name: string; type: string; required: boolean }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
            a.attnotnull and not a.atthasdef and a.attidentity = '' and a.attgenerated = '' as required
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')
        and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [schema, table],
  );
  if (res.rows.length === 0) {
    const other = await client.query<{ relkind: string }>(
      `select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`,
      [schema, table],
    );
    const relkind = other.rows[0]?.relkind;
    if (relkind === undefined) return null;
    if (relkind !== 'r' && relkind !== 'p') {
      throw new AtlasError(`${schema}.${table} is ${RELKINDS[relkind] ?? `a relation of kind "${relkind}"`}, not a table: atlas imports only into tables`, {
        hint: 'import into a table of another name with --table NAME',
      });
    }
    return { columns: [], tracked: false, hasRowHash: false };
  }
  const names = new Set(res.rows.map((r) => r.name));
  return {
    columns: res.rows.filter((r) => !METADATA.has(r.name)).map((r) => ({ name: r.name, sqlType: r.type, required: r.required })),
    tracked: names.has('_import_id') && names.has('_source_row_number') && names.has('_corrections_applied'),
    hasRowHash: names.has('_row_hash'),
  };
}

/**
 * The columns PostgreSQL counts against its limit of 1600 for an existing table: every column it
 * ever had, dropped ones included (their numbers are never reused).
 */
export async function countTableColumns(client: Client, schema: string, table: string): Promise<{ total: number; dropped: number }> {
  const res = await client.query<{ total: number; dropped: number }>(
    `select count(*)::int as total, (count(*) filter (where a.attisdropped))::int as dropped
       from pg_attribute a
      where a.attrelid = to_regclass(format('%I.%I', $1::text, $2::text)) and a.attnum > 0`,
    [schema, table],
  );
  return res.rows[0] ?? { total: 0, dropped: 0 };
}

/** server_version_num, e.g. 150012. */
export async function getServerVersion(client: Client): Promise<number> {
  const res = await client.query<{ v: string }>(`select current_setting('server_version_num') as v`);
  return Number(res.rows[0]?.v ?? 0);
}

/**
 * True when rows written to `table` in this transaction may skip the per-row check of the foreign
 * key `fkColumn -> import_history`: the connecting role is a superuser (session_replication_role
 * is a superuser setting; a role granted SET on it is not looked for), and the table has nothing
 * else that replica mode would switch off:
 * no trigger but the internal ones of its foreign keys, no rule, no foreign key but that one, and
 * no partitions (whose own triggers would be missed).
 * atlas writes its own import id there, and withImportIdCheckSkipped first takes the lock the
 * per-row check would take (FOR KEY SHARE on that history row, held to COMMIT: a concurrent
 * delete of the record waits, or has already happened and the import fails), so the check
 * cannot fail; skipping it is what pg_restore
 * --disable-triggers does, and saved ~10 µs a row here (200k rows all duplicates: the duplicate
 * check phase 10.6 s -> 8.5 s; 100k new rows appended to a table: the insert phase 4.6 s -> 3.2-3.8 s).
 */
export async function canSkipImportIdCheck(client: Client, schema: string, table: string, fkColumn: string): Promise<boolean> {
  const res = await client.query<{ ok: boolean }>(
    `with t as (select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2 and c.relkind = 'r')
     select current_setting('is_superuser') = 'on'
        and exists (select 1 from t)
        and not exists (select 1 from pg_trigger g join t on g.tgrelid = t.oid where not g.tgisinternal)
        and not exists (select 1 from pg_rewrite r join t on r.ev_class = t.oid)
        and not exists (
          select 1 from pg_constraint k join t on k.conrelid = t.oid
           where k.contype = 'f'
             and (k.confrelid <> (select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = 'import_history')
                  or k.conkey <> array[(select a.attnum from pg_attribute a where a.attrelid = t.oid and a.attname = $3)]))
        as ok`,
    [schema, table, fkColumn],
  );
  return res.rows[0]?.ok === true;
}

/**
 * Runs one statement writing rows of this import into `table`, with per-row triggers (so foreign
 * key checks) off when canSkipImportIdCheck allows it, after locking the import's history row as
 * the skipped checks would have.
 */
export async function withImportIdCheckSkipped<T>(
  client: Client,
  target: { schema: string; table: string; fkColumn: string; importId: string },
  fn: () => Promise<T>,
): Promise<T> {
  if (!(await canSkipImportIdCheck(client, target.schema, target.table, target.fkColumn))) return fn();
  const held = await client.query(`select 1 from ${qualify(target.schema, 'import_history')} where import_id = $1 for key share`, [target.importId]);
  if (held.rowCount !== 1) throw new AtlasError(`the history record of import ${target.importId} was deleted while the import ran; nothing was written`);
  await client.query(`set local session_replication_role = replica`);
  const result = await fn();
  await client.query(`set local session_replication_role = origin`);
  return result;
}
