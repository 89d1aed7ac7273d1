/**
 * The user's tables, the ones atlas imports into: whether they exist, their columns and types, the
 * rows of each import through the metadata columns (`_import_id`, `_source_row_number`,
 * `_corrections_applied`), and writing rows with the import id check skipped where it cannot fail.
 * Table names come from import_history or the user and are always quoted; every value is a parameter.
 */
import { AtlasError } from '../errors.js';
import type { ColumnDef } from '../transform/ddl.js';
import { parseJsonExact } from '../transform/exactJson.js';
import { qualify, quoteIdent, RESERVED_COLUMNS, sanitizeIdentifier } from '../transform/naming.js';
import { isoTime } from '../transform/time.js';
import { catalogTypeRef, typedNullSql, type CatalogType, type TypeRef } from '../transform/typeRef.js';
import type { Client } from './connection.js';

/** A user column of an existing table. */
export interface ExistingColumn extends ColumnDef {
  /** The column's type as SQL refers to it (sqlType is its name, for messages only). */
  type: TypeRef;
  /** NOT NULL without a default: rows must bring a value. */
  required: boolean;
  /** NOT NULL (the column's or a domain's under it), default or not: a NULL the file brings cannot be stored. */
  notNull: boolean;
  /** A generated column: PostgreSQL computes it, nothing writes it. */
  generated: boolean;
  /** Why an INSERT may not give the column a value: a generated column, or an identity column GENERATED ALWAYS; null when it may. */
  serverOnly: 'a generated column' | 'an identity column generated always' | null;
  /** A json or jsonb column whose first value is an array (findArrayColumns): one key, one shape. */
  arrays?: boolean;
}

/** The user columns of an existing table (metadata columns and `id` excluded), or null if it does not exist. */
export interface ExistingTable {
  columns: ExistingColumn[];
  /** The table has atlas's metadata columns (`_import_id`, ...). */
  tracked: boolean;
  /** The table has the indexed `_row_hash` column of the duplicate check. */
  hasRowHash: boolean;
  /** The base type of its `id` column (`bigint`), or null when it has none. */
  idType: string | null;
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

/** atlas's own columns: not the user's columns of a table. */
const METADATA: ReadonlySet<string> = new Set(RESERVED_COLUMNS);

interface ColumnRow {
  name: string;
  type: string;
  required: boolean;
  not_null: boolean;
  constrained: boolean;
  generated: boolean;
  identity_always: boolean;
  t_oid: string;
  t_typmod: number;
  t_schema: string;
  t_name: string;
  t_elem_schema: string | null;
  t_elem_name: string | null;
  b_oid: string;
  b_typmod: number;
  b_schema: string;
  b_name: string;
  b_elem_schema: string | null;
  b_elem_name: string | null;
  base_name: string;
}

function catalogType(r: ColumnRow, p: 't' | 'b'): CatalogType {
  const elemSchema = r[`${p}_elem_schema`];
  const elemName = r[`${p}_elem_name`];
  return {
    oid: Number(r[`${p}_oid`]),
    typmod: Number(r[`${p}_typmod`]),
    schema: r[`${p}_schema`],
    name: r[`${p}_name`],
    element: elemSchema !== null && elemName !== null ? { schema: elemSchema, name: elemName } : null,
  };
}

/**
 * The table's columns with their types: each type's schema, name and modifier (and its array
 * element's), and under any domains the type they are built on with the modifier they give it.
 * These are parts to quote and numbers (catalogTypeRef), never text pasted into SQL.
 */
export async function getExistingTable(client: Client, schema: string, table: string): Promise<ExistingTable | null> {
  // A table another transaction committed between the reading's two statements is read again (at most twice).
  for (let attempt = 1; ; attempt++) {
    const found = await readExistingTable(client, schema, table, attempt === 3);
    if (found !== READ_AGAIN) return found;
  }
}

/** readExistingTable's answer when the table showed up, with its columns, after its columns were read. */
const READ_AGAIN = Symbol('read again');

async function readExistingTable(client: Client, schema: string, table: string, lastTry: boolean): Promise<ExistingTable | null | typeof READ_AGAIN> {
  const res = await client.query<ColumnRow>(
    `with recursive col as (
       select a.attnum, a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.atttypid, a.atttypmod,
              a.attnotnull, a.atthasdef or a.attidentity <> '' or a.attgenerated <> '' as filled,
              a.attgenerated <> '' as generated, a.attidentity = 'a' as identity_always
         from pg_attribute a
         join pg_class c on c.oid = a.attrelid
         join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')
          and a.attnum > 0 and not a.attisdropped
     ), chain as (
       select attnum, atttypid as typid, atttypmod as typmod, 0 as depth from col
       union all
       select ch.attnum, d.typbasetype, d.typtypmod, ch.depth + 1 from chain ch join pg_type d on d.oid = ch.typid and d.typtype = 'd'
     ), base as (
       select distinct on (attnum) attnum, typid, typmod from chain order by attnum, depth desc
     ), dom as (
       -- What the domains under a column add: NOT NULL, CHECKs, a default (none for a column of a plain type).
       select ch.attnum, bool_or(d.typnotnull) as not_null, bool_or(d.typdefault is not null or d.typdefaultbin is not null) as has_default,
              bool_or(d.typnotnull or exists (select 1 from pg_constraint k where k.contypid = d.oid and k.contype = 'c')) as constrained
         from chain ch join pg_type d on d.oid = ch.typid and d.typtype = 'd'
        group by ch.attnum
     ), described as (
       select t.oid, tn.nspname as schema, t.typname as name, en.nspname as elem_schema, e.typname as elem_name
         from pg_type t
         join pg_namespace tn on tn.oid = t.typnamespace
         left join pg_type e on e.oid = t.typelem and t.typlen = -1
         left join pg_namespace en on en.oid = e.typnamespace
     )
     select col.name, col.type, col.generated, col.identity_always,
            col.attnotnull or coalesce(dom.not_null, false) as not_null,
            (col.attnotnull or coalesce(dom.not_null, false)) and not col.filled and not coalesce(dom.has_default, false) as required,
            coalesce(dom.constrained, false) as constrained,
            col.atttypid::int8::text as t_oid, col.atttypmod as t_typmod, ct.schema as t_schema, ct.name as t_name, ct.elem_schema as t_elem_schema, ct.elem_name as t_elem_name,
            b.typid::int8::text as b_oid, b.typmod as b_typmod, bt.schema as b_schema, bt.name as b_name, bt.elem_schema as b_elem_schema, bt.elem_name as b_elem_name,
            format_type(b.typid, null) as base_name
       from col
       join base b on b.attnum = col.attnum
       left join dom on dom.attnum = col.attnum
       join described ct on ct.oid = col.atttypid
       join described bt on bt.oid = b.typid
      order by col.attnum`,
    [schema, table],
  );
  if (res.rows.length === 0) {
    // A statement of its own, so a snapshot of its own: a table another transaction committed since
    // the first one shows here with its columns (a batch's earlier file creates it), and is read again.
    const other = await client.query<{ relkind: string; has_columns: boolean }>(
      `select c.relkind, exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as has_columns
         from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`,
      [schema, table],
    );
    const relkind = other.rows[0]?.relkind;
    if (relkind === undefined) return null;
    if (other.rows[0]!.has_columns && (relkind === 'r' || relkind === 'p') && !lastTry) return READ_AGAIN;
    if (relkind !== 'r' && relkind !== 'p') {
      throw new AtlasError(`${schema}.${table} is ${RELKINDS[relkind] ?? `a relation of kind "${relkind}"`}, not a table: atlas imports only into tables`, {
        hint: 'import into a table of another name with --table NAME',
      });
    }
    return { columns: [], tracked: false, hasRowHash: false, idType: null };
  }
  const names = new Set(res.rows.map((r) => r.name));
  return {
    columns: res.rows
      .filter((r) => !METADATA.has(r.name))
      .map((r) => ({
        name: r.name,
        sqlType: r.type,
        type: catalogTypeRef({ type: catalogType(r, 't'), base: catalogType(r, 'b'), baseName: r.base_name, constrainedDomain: r.constrained }),
        required: r.required,
        notNull: r.not_null,
        generated: r.generated,
        serverOnly: r.generated ? 'a generated column' : r.identity_always ? 'an identity column generated always' : null,
      })),
    tracked: names.has('_import_id') && names.has('_source_row_number') && names.has('_corrections_applied'),
    hasRowHash: names.has('_row_hash'),
    idType: res.rows.find((r) => r.name === 'id')?.base_name ?? null,
  };
}

/**
 * A text that changes whenever what getExistingTable reads of the table does (its oid, and each
 * column's name, type as the server names it, nullability, default, identity, generation), in one
 * light catalog query: a batch file that read the table before its turn checks this under the lock
 * instead of reading the columns again. Null when there is no such table.
 */
export async function tableFingerprint(client: Client, schema: string, table: string): Promise<string | null> {
  const res = await client.query<{ f: string }>(
    `select c.oid::int8::text || '|' || coalesce(string_agg(
              row(a.attnum, a.attname, a.atttypid, a.atttypmod, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef, a.attidentity, a.attgenerated)::text,
              '|' order by a.attnum), '') as f
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')
      group by c.oid`,
    [schema, table],
  );
  return res.rows[0]?.f ?? null;
}

/** A unique index on plain columns of a table (no expression, no predicate). */
export interface UniqueIndex {
  name: string;
  columns: string[];
  /** NULLS NOT DISTINCT (PostgreSQL 15+): NULLs conflict too. */
  nulls_equal: boolean;
  /** Not left invalid by a failed CREATE INDEX CONCURRENTLY. */
  valid: boolean;
}

/**
 * The columns of `table` whose names sanitising would change (`"Order Date"`, `"Amount"`: made by
 * another tool, quoted): a header spelled exactly so is meant for them. None when no such table.
 */
export async function listUnsanitisedColumns(client: Client, schema: string, table: string): Promise<string[]> {
  const res = await client.query<{ name: string }>(
    `select a.attname as name from pg_attribute a where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [qualify(schema, table)],
  );
  return res.rows.map((r) => r.name).filter((name) => sanitizeIdentifier(name) !== name);
}

/** The unique indexes on plain columns of `table`, by name (none when the table does not exist). */
export async function listUniqueIndexes(client: Client, schema: string, table: string): Promise<UniqueIndex[]> {
  const res = await client.query<UniqueIndex>(
    `select c.relname as name, i.indisvalid as valid,
            -- indnullsnotdistinct is PostgreSQL 15's: read through to_jsonb so older servers answer too
            coalesce((to_jsonb(i)->>'indnullsnotdistinct')::boolean, false) as nulls_equal,
            array(select a.attname::text from unnest(i.indkey::int2[]) with ordinality k(n, o)
                    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.n order by k.o) as columns
       from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = to_regclass($1) and i.indisunique and i.indpred is null and i.indexprs is null
      order by c.relname`,
    [qualify(schema, table)],
  );
  return res.rows;
}

/** Rows read, at most, for a json column's first value: a column of NULLs is not read whole (docs/decisions.md, one key, one shape, 7). */
const SHAPE_PROBE_ROWS = 10_000;

/**
 * Sets `arrays` on the json and jsonb columns whose first value that is not NULL, among the
 * table's first SHAPE_PROBE_ROWS rows, is a JSON array: a JSON or XML reader's values that are not
 * arrays go into such a column as arrays of one, as they would in one file (one key, one shape).
 */
export async function findArrayColumns(client: Client, schema: string, table: string, columns: ExistingColumn[]): Promise<void> {
  const probed = columns.filter((c) => c.type.base === 'json' || c.type.base === 'jsonb');
  if (probed.length === 0) return;
  const firstIsArray = probed.map(
    (c, i) =>
      `(select jsonb_typeof(x.v::jsonb) = 'array' from (select t.${quoteIdent(c.name)} as v from ${qualify(schema, table)} t limit $1) x where x.v is not null limit 1) as a${i}`,
  );
  const res = await client.query<Record<string, boolean | null>>(`select ${firstIsArray.join(', ')}`, [SHAPE_PROBE_ROWS]);
  probed.forEach((c, i) => {
    c.arrays = res.rows[0]![`a${i}`] === true;
  });
}

/** Built-in types known to have an extended hash function, so the server need not be asked. */
const HASHABLE = new Set(['integer', 'bigint', 'smallint', 'numeric', 'real', 'double precision', 'text', 'character varying', 'character', 'boolean', 'date', 'time without time zone', 'timestamp without time zone', 'timestamp with time zone', 'interval', 'uuid', 'jsonb', 'bytea']);

/**
 * Sets `hashAs` on the columns whose type has no extended hash function, which the duplicate
 * check's hash_record_extended needs (json, xml, money, point, an array of one, ...): asked of the
 * server, which answers for any type, built-in or not (hashing a typed NULL fails the same way as
 * a value would), under a savepoint each. Runs inside the caller's transaction.
 */
export async function findTypesWithoutHash(client: Client, columns: ReadonlyArray<{ type: TypeRef }>): Promise<void> {
  const asked = new Map<string, boolean>();
  for (const c of columns) {
    if (c.type.base !== null && HASHABLE.has(c.type.base)) continue;
    let hashable = asked.get(c.type.sql);
    if (hashable === undefined) {
      await client.query('savepoint atlas_hash_probe');
      try {
        await client.query(`select hash_record_extended(row(${typedNullSql(c.type)}), 0)`);
        hashable = true;
        await client.query('release savepoint atlas_hash_probe');
      } catch (err) {
        await client.query('rollback to savepoint atlas_hash_probe');
        await client.query('release savepoint atlas_hash_probe');
        // 42883 undefined_function: "could not identify an extended hash function for type ..."
        if ((err as { code?: string }).code !== '42883') throw err;
        hashable = false;
      }
      asked.set(c.type.sql, hashable);
    }
    if (!hashable) c.type.hashAs = c.type.base === 'json' ? 'jsonb' : 'text';
  }
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
 * no trigger but the checks of that foreign key (internal or not), no rule, no foreign key from or
 * to it but that one, no deferrable constraint, and no partitions (whose own triggers would be missed).
 * atlas writes its own import id there, and withImportIdCheckSkipped first takes the lock the
 * per-row check would take (FOR KEY SHARE on that history row, held to COMMIT: a concurrent
 * delete of the record waits, or has already happened and the import fails), so the check
 * cannot fail; skipping it is what pg_restore --disable-triggers does, and saves about 10 µs a
 * row (docs/decisions.md).
 */
export async function canSkipImportIdCheck(client: Client, schema: string, table: string, fkColumn: string): Promise<boolean> {
  const res = await client.query<{ ok: boolean }>(`${canSkipSql} select ok from v`, [schema, table, fkColumn]);
  return res.rows[0]?.ok === true;
}

/** CTEs ending in `v(ok)`, canSkipImportIdCheck's answer for ($1 schema, $2 table, $3 fkColumn). */
const canSkipSql = `with t as (select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2 and c.relkind = 'r'),
     fk as (select k.oid from pg_constraint k join t on k.conrelid = t.oid
             where k.contype = 'f'
               and k.confrelid = (select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = 'import_history')
               and k.conkey = array[(select a.attnum from pg_attribute a where a.attrelid = t.oid and a.attname = $3)]),
     v as (select current_setting('is_superuser') = 'on'
        and exists (select 1 from t)
        -- Replica mode also silences internal triggers: a deferrable unique's recheck, the actions of
        -- foreign keys that reference this table. Only the import id key's own checks may go.
        and not exists (select 1 from pg_trigger g join t on g.tgrelid = t.oid where g.tgconstraint not in (select oid from fk))
        and not exists (select 1 from pg_rewrite r join t on r.ev_class = t.oid)
        and not exists (select 1 from pg_constraint k join t on k.conrelid = t.oid or k.confrelid = t.oid where k.contype = 'f' and k.oid not in (select oid from fk))
        and not exists (select 1 from pg_constraint k join t on k.conrelid = t.oid where k.condeferrable and k.oid not in (select oid from fk))
        as ok)`;

/**
 * Statistics of `_row_hash` for a table this import made, in its transaction (it holds the table's
 * lock already, and nobody else sees the table): until autovacuum's first analyse, a minute or
 * more later, the planner would take each hash to match 1/200 of the table and hash all of it for
 * every later import's duplicate check, so that a batch's per-file cost grew with the table
 * (docs/decisions.md). A small sample says enough of a column of unique hashes.
 */
export async function analyzeNewTableRowHash(client: Client, schema: string, table: string): Promise<void> {
  await client.query(`set local default_statistics_target = 10`);
  await client.query(`analyze ${qualify(schema, table)} (_row_hash)`);
  await client.query(`set local default_statistics_target to default`);
}

/**
 * Runs one statement writing rows of this import into `table`, with per-row triggers (so foreign
 * key checks) off when canSkipImportIdCheck allows it, after locking the import's history row as
 * the skipped checks would have. The check, the lock and the setting are one round trip (a batch
 * of small files runs this once a file, under its table's lock: docs/decisions.md).
 */
export async function withImportIdCheckSkipped<T>(
  client: Client,
  target: { schema: string; table: string; fkColumn: string; importId: string },
  fn: () => Promise<T>,
): Promise<T> {
  // (FOR KEY SHARE is what the per-row check would take, so taking it when the check runs changes nothing.)
  const res = await client.query<{ ok: boolean; held: number }>(
    `${canSkipSql}, held as (select count(*)::int as n from (select 1 from ${qualify(target.schema, 'import_history')} where import_id = $4 for key share) h)
     select v.ok, held.n as held,
            case when v.ok and held.n = 1 then set_config('session_replication_role', 'replica', true) end as role
       from v, held`,
    [target.schema, target.table, target.fkColumn, target.importId],
  );
  const { ok, held } = res.rows[0]!;
  if (!ok) return fn();
  if (held !== 1) throw new AtlasError(`the history record of import ${target.importId} was deleted while the import ran; nothing was written`);
  const result = await fn();
  await client.query(`set local session_replication_role = origin`);
  return result;
}

/**
 * Whether the server may store other values than an import writes: a column in `leftOut` it fills
 * (a default, its domain's too, an identity, a generated column), or a BEFORE row trigger on INSERT or UPDATE.
 */
export async function serverFillsRows(client: Client, schema: string, table: string, leftOut: readonly string[]): Promise<boolean> {
  // tgtype bits: 1 row, 2 before, 4 insert, 16 update (pg_trigger.h).
  const res = await client.query<{ fills: boolean }>(
    `select exists (select 1 from pg_attribute a
                     where a.attrelid = to_regclass($1) and a.attname = any($2::text[]) and not a.attisdropped
                       and (a.atthasdef or a.attidentity <> '' or a.attgenerated <> ''
                            or exists (select 1 from pg_type d where d.oid = a.atttypid and d.typtype = 'd' and d.typdefaultbin is not null)))
         or exists (select 1 from pg_trigger g
                     where g.tgrelid = to_regclass($1) and not g.tgisinternal and g.tgenabled in ('O', 'A')
                       and g.tgtype & 3 = 3 and g.tgtype & 20 <> 0) as fills`,
    [qualify(schema, table), leftOut],
  );
  return res.rows[0]?.fills === true;
}

/** What undo and lineage need to know about a table: whether it exists and which columns it has. */
export interface DataTableInfo {
  /** Every column name, atlas's metadata columns included. */
  columns: Set<string>;
  /** It has `_import_id`, so its rows can be traced to imports. */
  tracked: boolean;
  /** Its `id` column's type, under a domain its base type (`bigint`), or null when it has none. */
  idType: string | null;
  /** A partitioned table (relkind p): its unique indexes must hold its partition key. */
  partitioned: boolean;
}

/** The table's columns, or null when no table (or view) of that name exists in the schema. */
export async function getDataTable(client: Client, schema: string, table: string): Promise<DataTableInfo | null> {
  const res = await client.query<{ relkind: string; name: string | null; type: string | null }>(
    `select c.relkind, a.attname as name, format_type(coalesce(nullif(ty.typbasetype, 0), a.atttypid), null) as type
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
       left join pg_type ty on ty.oid = a.atttypid
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f')`,
    [schema, table],
  );
  if (res.rows.length === 0) return null;
  const columns = new Set(res.rows.flatMap((r) => (r.name === null ? [] : [r.name])));
  return { columns, tracked: columns.has('_import_id'), idType: res.rows.find((r) => r.name === 'id')?.type ?? null, partitioned: res.rows[0]!.relkind === 'p' };
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
 * unchanged (an UPDATE by someone else before that rewrite is counted on the record of the import
 * whose row it changed first: recordChangesBeforeRewrite); so is
 * undo --reassign's rewrite of rows it gives to a later import (`metadata.reassigned[].xmin` of
 * that import's record), and the rows an undo put back from pre-images (`metadata.restore_xmin`
 * of the undone import's record). When such a record is deleted (history prune, undo --purge), its
 * ids go to `metadata.kept_xmins` of a record that stays (db/history.ts, deleteImports).
 */
export async function getImportRowState(client: Client, schema: string, table: string, importId: string, importXmin: string): Promise<ImportRowState> {
  // Rows changed before a later rewrite of _row_hash, which gave them atlas's own xmin, are counted on the record (recordChangesBeforeRewrite).
  const res = await client.query<{ n: string; changed: string; before: number | null }>(
    `select count(*) as n, count(*) filter (where t.xmin::text <> $2 and t.xmin::text not in (${ownRewriteXminsSql(schema, '$3')})) as changed,
            (select (h.metadata->>'changed_before_rewrite')::int from ${qualify(schema, 'import_history')} h where h.import_id = $1) as before
       from ${qualify(schema, table)} t where t._import_id = $1`,
    [importId, importXmin, table],
  );
  const row = res.rows[0];
  return { rows: Number(row?.n ?? 0), changed: Number(row?.changed ?? 0) + (row?.before ?? 0) };
}

/** The xmins of atlas's own rewrites of rows of the table named by text parameter `table` (`$3`), as getImportRowState counts them. */
function ownRewriteXminsSql(schema: string, table: string): string {
  const h = qualify(schema, 'import_history');
  return `select h.metadata->>'rehash_xmin' from ${h} h where h.table_name = ${table} and h.metadata ? 'rehash_xmin'
          union all
          select re.value->>'xmin' from ${h} h cross join jsonb_array_elements(h.metadata->'reassigned') as re(value)
           where h.table_name = ${table} and re.value ? 'xmin'
          union all
          select h.metadata->>'restore_xmin' from ${h} h where h.table_name = ${table} and h.metadata ? 'restore_xmin'
          union all
          select kx.value from ${h} h
           cross join jsonb_array_elements_text(case when jsonb_typeof(h.metadata->'kept_xmins') = 'array' then h.metadata->'kept_xmins' else '[]'::jsonb end) as kx(value)
           where h.table_name = ${table}`;
}

/**
 * Before atlas rewrites every row's `_row_hash` (rowDuplicates.ts, rehash): the rows of each import
 * changed by someone else since it wrote them, counted on its record
 * (`metadata.changed_before_rewrite`, added to), since the rewrite gives them atlas's own xmin and
 * undo could no longer tell them from rows left as the import wrote them. (A stale hash, which
 * makes the rewrite, is most often such a change.) The records keep `import_xmin`, as updating them
 * gives them a new xmin. Rows this transaction wrote are its own.
 */
export async function recordChangesBeforeRewrite(client: Client, schema: string, table: string): Promise<void> {
  const h = qualify(schema, 'import_history');
  await client.query(
    `with changed as (
       select t._import_id as import_id, count(*)::int as n
         from ${qualify(schema, table)} t join ${h} r on r.import_id = t._import_id
        where t.xmin::text <> coalesce(r.metadata->>'import_xmin', r.xmin::text) and t.xmin::text <> (txid_current() % 4294967296)::text
          and t.xmin::text not in (${ownRewriteXminsSql(schema, '$1')})
        group by t._import_id
     )
     update ${h} h
        set metadata = h.metadata || jsonb_build_object(
              'import_xmin', coalesce(h.metadata->>'import_xmin', h.xmin::text),
              'changed_before_rewrite', coalesce((h.metadata->>'changed_before_rewrite')::int, 0) + c.n),
            updated_at = clock_timestamp()
       from changed c where h.import_id = c.import_id`,
    [table],
  );
}

/** Deletes every row of one import from a table; returns how many. */
export async function deleteImportRows(client: Client, schema: string, table: string, importId: string): Promise<number> {
  const res = await client.query(`delete from ${qualify(schema, table)} where _import_id = $1`, [importId]);
  return res.rowCount ?? 0;
}

/** One row of a data table, split into atlas's metadata and the user's values. */
export interface TracedRow {
  /** The row's `_import_id`: null for a row atlas did not load (there before its columns were added, or written by hand). */
  importId: string | null;
  sourceRowNumber: number | null;
  /** When the row was inserted (ISO 8601 UTC), or null. */
  importedAt: string | null;
  correctionsApplied: Record<string, unknown> | null;
  /** The user columns, as JSON (numbers, strings, booleans; dates as ISO text). */
  values: Record<string, unknown>;
}

/**
 * `_imported_at` (text `at`, of the import whose id is text `importId`) as the instant it was: read
 * in the TimeZone its import recorded (metadata.time_zone), else, for an import recorded before it
 * was kept, in this session's.
 */
export function importedAtSql(schema: string | null, at: string, importId: string): string {
  if (schema === null) return `(${at})::timestamptz`; // a schema without atlas's history: no zone recorded
  const zone = `(select h.metadata->>'time_zone' from ${qualify(schema, 'import_history')} h where h.import_id = (${importId})::uuid)`;
  return `((${at})::timestamp at time zone coalesce(${zone}, current_setting('TimeZone')))`;
}

/** The row with `id` = `rowId` (atlas's identity column), or null; `hasHistory` false in a schema without atlas's tables. */
export async function getRowById(client: Client, schema: string, table: string, rowId: string, hasHistory = true): Promise<TracedRow | null> {
  // row_to_json keeps every type exact (numeric as a JSON number, date as ISO text) without per-type
  // code, and the columns in table order, as earlier versions (pre-images) show them; read as text,
  // so that parseJsonExact keeps the digits of a bigint or numeric that a double would lose.
  // $1 as bigint: an integer or smallint id column compares with it (and uses its index) where an
  // id beyond that column's range would otherwise be an error from the server.
  // _imported_at is a timestamp without time zone (the spec's type), written by now() in the
  // importing session's TimeZone: read back in that zone, it is the instant it was written.
  const res = await client.query<{ row: string; imported_at: Date | null }>(
    `select row_to_json(t)::text as row, ${importedAtSql(hasHistory ? schema : null, "row_to_json(t)->>'_imported_at'", "row_to_json(t)->>'_import_id'")} as imported_at from ${qualify(schema, table)} t where t.id = $1::bigint`,
    [rowId],
  );
  if (res.rows[0] === undefined) return null;
  const row = parseJsonExact(res.rows[0].row) as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (!(RESERVED_COLUMNS as readonly string[]).includes(k)) values[k] = v;
  return {
    importId: typeof row._import_id === 'string' ? row._import_id : null,
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
