/**
 * The benchmark's database side: connections, the reference table and its `psql \copy`, and the
 * checks on what atlas loaded.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { exec, fail, quoteIdent, quoteLiteral, redact, seconds } from './util.ts';

/** The data's columns in file order, with their types: the plain typed table a hand-written loader or pgloader fills. */
export const FILE_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['id', 'integer'],
  ['name', 'text'],
  ['email', 'text'],
  ['signup_date', 'date'],
  ['amount', 'numeric'],
  ['active', 'boolean'],
  ['category', 'text'],
  ['city', 'text'],
  ['notes', 'text'],
  ['created_at', 'timestamp'],
];

/** The same columns in atlas's table: it renames the file's `id` to `id_2` (`id` is its own key). */
export const REFERENCE_COLUMNS: ReadonlyArray<readonly [string, string]> = FILE_COLUMNS.map(([name, type]) => [name === 'id' ? 'id_2' : name, type]);

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'atlas-bench' });
  client.on('error', () => {
    /* surfaced through the failing query */
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function scalar<T>(url: string, sql: string, params: unknown[] = []): Promise<T> {
  return withClient(url, async (c) => {
    const res = await c.query<Record<string, T>>(sql, params);
    const row = res.rows[0];
    if (row === undefined) fail(`no row from: ${sql}`);
    return Object.values(row)[0] as T;
  });
}

/**
 * Flushes dirty buffers before a timed step so that no step pays for the previous one's checkpoint.
 * Needs superuser or pg_checkpoint; skipped silently when not allowed.
 */
export async function checkpoint(url: string): Promise<void> {
  await withClient(url, (c) => c.query('checkpoint')).catch(() => undefined);
}

export const qualified = (schema: string, table: string): string => `${quoteIdent(schema)}.${quoteIdent(table)}`;

export async function rowCount(url: string, schema: string, table: string, where = 'true'): Promise<number> {
  return Number(await scalar<string>(url, `select count(*) from ${qualified(schema, table)} where ${where}`));
}

/**
 * A table's shape, for comparing the reference with atlas's table: every column (`name type [not
 * null]`, in order), every index (its definition without its name) and every constraint.
 */
export async function tableShape(url: string, schema: string, table: string): Promise<{ columns: string[]; indexes: string[]; constraints: string[] }> {
  return withClient(url, async (c) => {
    const cols = await c.query<{ name: string; type: string; notnull: boolean }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull
         from pg_attribute a join pg_class k on k.oid = a.attrelid join pg_namespace n on n.oid = k.relnamespace
        where n.nspname = $1 and k.relname = $2 and a.attnum > 0 and not a.attisdropped
        order by a.attnum`,
      [schema, table],
    );
    const idx = await c.query<{ def: string }>(
      `select regexp_replace(pg_get_indexdef(i.indexrelid), 'INDEX \\S+ ON \\S+ ', 'INDEX ') as def
         from pg_index i join pg_class k on k.oid = i.indrelid join pg_namespace n on n.oid = k.relnamespace
        where n.nspname = $1 and k.relname = $2`,
      [schema, table],
    );
    const con = await c.query<{ def: string }>(
      `select pg_get_constraintdef(o.oid) as def
         from pg_constraint o join pg_class k on k.oid = o.conrelid join pg_namespace n on n.oid = k.relnamespace
        where n.nspname = $1 and k.relname = $2`,
      [schema, table],
    );
    return {
      columns: cols.rows.map((r) => `${r.name} ${r.type}${r.notnull ? ' not null' : ''}`),
      indexes: idx.rows.map((r) => r.def).sort(),
      constraints: con.rows.map((r) => r.def).sort(),
    };
  });
}

/**
 * Rows whose data columns differ between two tables holding the same file, matched on the file's
 * id: `id_2` in atlas's table and the reference, `id` in a plain table (`columns` = FILE_COLUMNS).
 */
export async function differingRows(url: string, schema: string, a: string, b: string, columns = REFERENCE_COLUMNS): Promise<number> {
  const [key, ...rest] = columns.map(([n]) => quoteIdent(n));
  const row = (alias: string): string => `(${rest.map((col) => `${alias}.${col}`).join(', ')})`;
  return Number(
    await scalar<string>(
      url,
      `select count(*) from ${qualified(schema, a)} r full join ${qualified(schema, b)} t on t.${key} = r.${key}
        where r.${key} is null or t.${key} is null or ${row('r')} is distinct from ${row('t')}`,
    ),
  );
}

/**
 * The DDL of a reference table of the shape atlas gives a new table once its import has finished:
 * identity primary key, the ten columns, the metadata columns, the cascading foreign key to
 * import_history, and the indexes on `_import_id` and `_row_hash`. `_import_id` defaults to the
 * import_history record `importId` (made by referenceImport). `_row_hash` defaults to a random
 * bigint: psql cannot compute atlas's hash, and an index of a million NULLs would cost the
 * reference far less than atlas's index of a million distinct values.
 */
function referenceTableDdl(schema: string, table: string, importId: string): string[] {
  const s = quoteIdent(schema);
  const cols = [
    'id bigint generated always as identity primary key',
    ...REFERENCE_COLUMNS.map(([name, type]) => `${quoteIdent(name)} ${type}`),
    `_import_id uuid not null default ${quoteLiteral(importId)} references ${s}.import_history (import_id) on delete cascade`,
    '_imported_at timestamp default now()',
    '_source_row_number integer',
    '_corrections_applied jsonb',
    "_row_hash bigint default (random() * 9.2e18)::bigint",
  ];
  return [
    `create table ${qualified(schema, table)} (\n  ${cols.join(',\n  ')}\n)`,
    `create index on ${qualified(schema, table)} (_import_id)`,
    `create index on ${qualified(schema, table)} (_row_hash)`,
  ];
}

/** The import_history record a reference table's rows point at. */
async function referenceImport(url: string, schema: string, table: string): Promise<string> {
  const importId = randomUUID();
  await withClient(url, (c) =>
    c.query(`insert into ${quoteIdent(schema)}.import_history (import_id, source_type, table_name, status) values ($1, 'local_upload', $2, 'success')`, [importId, table]),
  );
  return importId;
}

/** Creates a reference table (see referenceTableDdl). */
export async function createReferenceTable(url: string, schema: string, table: string): Promise<void> {
  const ddl = referenceTableDdl(schema, table, await referenceImport(url, schema, table));
  await withClient(url, async (c) => {
    for (const sql of ddl) await c.query(sql);
  });
}

/** Runs psql with `commands` (each a -c), failing the bench with psql's message when it fails; returns its wall time. */
async function timedPsql(url: string, commands: readonly string[]): Promise<number> {
  const res = await exec('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', "set datestyle to 'ISO, MDY'", ...commands.flatMap((c) => ['-c', c])]);
  if (res.code !== 0) fail(`psql \\copy failed (exit ${res.code}): ${redact(res.stderr.trim(), url)}`);
  return seconds(res.ms);
}

function copyCommand(schema: string, table: string, file: string, columns: ReadonlyArray<readonly [string, string]>): string {
  const target = `${qualified(schema, table)}(${columns.map(([n]) => quoteIdent(n)).join(',')})`;
  return `\\copy ${target} from ${quoteLiteral(file)} with (format csv, header true)`;
}

/**
 * Times `psql \copy` of a CSV file into a table (after a checkpoint): a reference table, or with
 * `columns` = FILE_COLUMNS a plain one. Checks the rows arrived.
 */
export async function timePsqlCopy(url: string, schema: string, table: string, file: string, rows: number, columns = REFERENCE_COLUMNS): Promise<number> {
  const before = await rowCount(url, schema, table);
  await checkpoint(url);
  const took = await timedPsql(url, [copyCommand(schema, table, file, columns)]);
  const n = await rowCount(url, schema, table);
  if (n !== before + rows) fail(`psql \\copy left ${n} rows in ${table}, expected ${before + rows}`);
  return took;
}

/** A plain typed table of the file's columns, as a hand-written loader would make: no key, no index, no tracking. */
export async function createPlainTable(url: string, schema: string, table: string): Promise<void> {
  const cols = FILE_COLUMNS.map(([name, type]) => `${quoteIdent(name)} ${type}`).join(', ');
  await withClient(url, (c) => c.query(`create table ${qualified(schema, table)} (${cols})`));
}

/**
 * Times a psql session that creates the reference table and `\copy`s the CSV into it in one
 * transaction, as atlas creates a new table in its import's: with wal_level=minimal (atlas's
 * embedded server) neither then writes WAL for the table, which a table made before the COPY
 * (timePsqlCopy) pays. Checks the rows arrived.
 */
export async function timePsqlCopyIntoNewTable(url: string, schema: string, table: string, file: string, rows: number): Promise<number> {
  const ddl = referenceTableDdl(schema, table, await referenceImport(url, schema, table));
  await checkpoint(url);
  const took = await timedPsql(url, ['begin', ...ddl, copyCommand(schema, table, file, REFERENCE_COLUMNS), 'commit']);
  const n = await rowCount(url, schema, table);
  if (n !== rows) fail(`psql \\copy left ${n} rows in ${table}, expected ${rows}`);
  return took;
}

/** atlas's own phase timings of one import, from its history record (null when it recorded none). */
export interface Phases {
  staging: number | null;
  duplicates: number | null;
  insert: number | null;
}

export async function importPhases(url: string, schema: string, importId: string): Promise<Phases> {
  const row = await withClient(url, async (c) => {
    const r = await c.query<{ staging: string | null; duplicates: string | null; insert: string | null }>(
      `select parsing_time_seconds as staging, duplicate_check_time_seconds as duplicates, insert_time_seconds as insert
         from ${quoteIdent(schema)}.import_history where import_id = $1`,
      [importId],
    );
    return r.rows[0];
  });
  const num = (v: string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
  return { staging: num(row?.staging), duplicates: num(row?.duplicates), insert: num(row?.insert) };
}

/** A table's row count and the sum of a 64-bit hash of each whole row's text: equal sums, equal rows (all but surely). */
export interface TableChecksum {
  rows: number;
  /** Decimal text: a numeric sum of bigints. */
  sum: string;
}

/**
 * Every column of every row (`id` and the metadata columns too) in one cheap scan: a row put back
 * with any value, id or time stamp other than before changes the sum.
 */
export async function tableChecksum(url: string, schema: string, table: string): Promise<TableChecksum> {
  return withClient(url, async (c) => {
    const r = await c.query<{ rows: string; sum: string }>(
      `select count(*) as rows, coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text as sum from ${qualified(schema, table)} t`,
    );
    return { rows: Number(r.rows[0]!.rows), sum: r.rows[0]!.sum };
  });
}

/** An import's row counts as its history record holds them. */
export interface ImportCounts {
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
}

export async function importCounts(url: string, schema: string, importId: string): Promise<ImportCounts> {
  return withClient(url, async (c) => {
    const r = await c.query<{ inserted: number; updated: number; unchanged: number; deleted: number }>(
      `select rows_inserted as inserted, rows_updated as updated, rows_unchanged as unchanged, rows_deleted as deleted
         from ${quoteIdent(schema)}.import_history where import_id = $1`,
      [importId],
    );
    return r.rows[0] ?? fail(`no import_history record ${importId}`);
  });
}

/**
 * VACUUM (ANALYZE) of every table in the schema, untimed, between steps: the next timed step then
 * neither sets the hint bits of the rows just loaded nor races autovacuum over them, whichever
 * side (psql or atlas) would have drawn that cost.
 */
export async function settle(url: string, schema: string): Promise<void> {
  await withClient(url, async (c) => {
    const res = await c.query<{ name: string }>(`select tablename as name from pg_tables where schemaname = $1 order by 1`, [schema]);
    for (const r of res.rows) await c.query(`vacuum (analyze) ${qualified(schema, r.name)}`);
  });
}

/** Drops a run's schema, saying so (without failing the bench) when it cannot. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  await withClient(url, (c) => c.query(`drop schema if exists ${quoteIdent(schema)} cascade`)).catch((err: unknown) => {
    process.stderr.write(`\nbench: could not drop schema ${schema}: ${err instanceof Error ? err.message : String(err)}\n`);
  });
}
