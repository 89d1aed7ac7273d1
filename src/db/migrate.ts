import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AtlasError } from '../errors.js';
import { quoteIdent } from '../transform/naming.js';
import { lockForTransaction, withTransaction, type Client } from './connection.js';
import { checkCanMigrate, checkSchemaUsable, getSchemaAccess, type SchemaAccess } from './privileges.js';

/** sql/ sits beside src/ and dist/, so this path works from either. */
const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The numbered files under sql/, in order. */
export function listMigrations(): Migration[] {
  return readdirSync(SQL_DIR)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.replace(/\.sql$/, ''), sql: readFileSync(SQL_DIR + f, 'utf8') }));
}

/**
 * Applies every migration not yet recorded in `<schema>.atlas_migrations`, each in its own
 * transaction under a transaction-level advisory lock, so that concurrent first runs migrate
 * exactly once (a session-level lock would not hold behind a pooler that gives each transaction
 * another server connection). The schema is created only when it does not exist: CREATE SCHEMA
 * IF NOT EXISTS checks the right to create schemas even when it does, which a least-privileged
 * role lacks. Returns the versions applied by this call.
 */
export async function migrate(client: Client, schema: string): Promise<number[]> {
  return migrateWith(client, schema, (fn) => withTransaction(client, fn));
}

/**
 * migrate inside the caller's transaction, all migrations in it: a dry run's, which it rolls
 * back, so that a dry run against a schema (or a version) atlas has not made yet creates nothing.
 */
export async function migrateInTransaction(client: Client, schema: string): Promise<number[]> {
  // A migration sets search_path for its transaction, which here goes on: the caller's comes back.
  const before = (await client.query<{ path: string }>(`select current_setting('search_path') as path`)).rows[0]!.path;
  const applied = await migrateWith(client, schema, (fn) => fn());
  if (applied.length > 0) await client.query(`select set_config('search_path', $1, true)`, [before]);
  return applied;
}

async function migrateWith(client: Client, schema: string, inTransaction: (fn: () => Promise<void>) => Promise<void>): Promise<number[]> {
  const migrations = listMigrations();
  const s = quoteIdent(schema);
  const access = await getSchemaAccess(client, schema);
  checkSchemaUsable(access, schema);
  // Cheap check without the lock: the common case is "nothing to do".
  const latest = migrations.at(-1)?.version ?? 0;
  const version = access.schemaExists ? await currentVersion(client, schema) : 0;
  // An older atlas on tables a newer one made misreads their records, and its undo of an upsert deleted the rows it had only updated.
  if (version > latest) {
    throw new AtlasError(`atlas's tables in schema ${schema} are at version ${version}, made by a newer atlas than this one, which knows versions up to ${latest}: it would misread their records and could undo imports wrongly, so it reads and changes nothing`, {
      hint: 'run the newer atlas that upgraded them (npm install, or git pull and npm run build, where it is installed)',
    });
  }
  if (version === latest) return [];
  checkCanMigrate(access, schema);

  const applied: number[] = [];
  let prepared = false;
  for (const m of migrations) {
    await inTransaction(async () => {
      await lockForTransaction(client, `atlas:migrate:${schema}`);
      if (!prepared) {
        const exists = await client.query(`select 1 from pg_namespace where nspname = $1`, [schema]);
        if (exists.rowCount === 0) await client.query(`create schema ${s}`);
        await client.query(
          `create table if not exists ${s}.atlas_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())`,
        );
        prepared = true;
      }
      const done = await client.query(`select 1 from ${s}.atlas_migrations where version = $1`, [m.version]);
      if (done.rowCount !== 0) return;
      await client.query(`set local search_path to ${s}`);
      await client.query(m.sql);
      await client.query(`insert into ${s}.atlas_migrations (version, name) values ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    });
  }
  return applied;
}

/**
 * What a read command finds of atlas in `schema`, without creating anything: no schema at all,
 * a schema where atlas never ran (no atlas_migrations: a fresh public, or a first import still
 * migrating), or atlas's tables (at any version: migrate upgrades an older one). A schema the
 * role may not use is refused as migrate refuses it, naming the GRANT.
 */
export async function getAtlasSchemaState(client: Client, schema: string): Promise<{ state: 'no schema' | 'no tables' | 'tables'; database: string; access: SchemaAccess }> {
  const access = await getSchemaAccess(client, schema);
  if (!access.schemaExists) return { state: 'no schema', database: access.database, access };
  checkSchemaUsable(access, schema);
  return { state: (await hasMigrationsTable(client, schema)) ? 'tables' : 'no tables', database: access.database, access };
}

async function hasMigrationsTable(client: Client, schema: string): Promise<boolean> {
  const exists = await client.query<{ ok: boolean }>(`select to_regclass(format('%I.atlas_migrations', $1::text)) is not null as ok`, [schema]);
  return exists.rows[0]?.ok === true;
}

async function currentVersion(client: Client, schema: string): Promise<number> {
  if (!(await hasMigrationsTable(client, schema))) return 0;
  const row = await client.query<{ v: number | null }>(`select max(version) as v from ${quoteIdent(schema)}.atlas_migrations`);
  return row.rows[0]?.v ?? 0;
}
