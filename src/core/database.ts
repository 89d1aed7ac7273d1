import type { Settings } from '../config.js';
import { BEGIN, openClient, resolveDatabase, useReadSettings, withTransaction, type Client, type DatabaseTarget } from '../db/connection.js';
import { markInterruptedImports } from '../db/history.js';
import { getAtlasSchemaState, migrate, migrateInTransaction } from '../db/migrate.js';
import { checkWritable } from '../db/privileges.js';
import { NotFoundError } from '../errors.js';
import { quoteIdent } from '../transform/naming.js';

/** Told which database is used, before any work (the CLI says so on stderr for the embedded one). */
export type DatabaseListener = (target: DatabaseTarget) => void;

/** What every core call that opens the database takes, as an option (never a positional argument). */
export interface DatabaseOptions {
  onDatabase?: DatabaseListener | undefined;
  /** Aborting it while the connection is being made ends the attempt (Ctrl-C during an import). */
  signal?: AbortSignal | undefined;
}

/**
 * Every core call that writes runs through this: resolve the database, connect, make sure the
 * schema is current (creating it and atlas's tables on a first run), and store imports whose
 * process is gone as failed (interrupted), so that what every command reads, and what SQL reads, agree.
 */
export async function withDatabase<T>(settings: Settings, options: DatabaseOptions, fn: (client: Client, url: string, target: DatabaseTarget) => Promise<T>): Promise<T> {
  return connected(settings, options, async (client, target) => {
    await migrate(client, settings.schema);
    await markInterruptedImports(client, settings.schema);
    return fn(client, target.url, target);
  });
}

/**
 * withDatabase for a dry run: `fn` runs in a transaction that is always rolled back, with the
 * schema and atlas's tables made (or upgraded) inside it, so that a dry run creates nothing, not
 * even on a first run or against a mistyped --schema, and still reports what the import would do.
 */
export async function withDatabaseRolledBack<T>(settings: Settings, options: DatabaseOptions, fn: (client: Client, url: string, target: DatabaseTarget) => Promise<T>): Promise<T> {
  return connected(settings, options, async (client, target) => {
    await client.query(BEGIN);
    try {
      await migrateInTransaction(client, settings.schema);
      return await fn(client, target.url, target);
    } finally {
      await client.query('rollback').catch(() => undefined);
    }
  });
}

/**
 * withDatabase for a command that reads or changes only what imports made (history, stats, errors,
 * lineage, undo, history prune and compact): it never creates a schema or atlas's tables. A schema
 * that does not exist is an error naming it (a mistyped --schema would otherwise be created, and
 * answer "no imports"); in one where atlas never ran, `empty` answers (no imports, without the
 * tables); atlas's tables of an older version are upgraded in place, as by any command.
 */
export async function withExistingSchema<T>(
  settings: Settings,
  options: DatabaseOptions,
  fn: (client: Client, url: string) => Promise<T>,
  empty: (client: Client) => Promise<T>,
  /** What the command writes (`an undo`): a read-only session is then one line before it starts. */
  writes: string | null = null,
): Promise<T> {
  return connected(settings, options, async (client, target) => {
    const { state, database, access } = await getAtlasSchemaState(client, settings.schema);
    if (state === 'no schema') throw missingSchema(settings, database);
    if (state === 'no tables') return empty(client);
    if (writes !== null) checkWritable(access, writes);
    await migrate(client, settings.schema);
    await markInterruptedImports(client, settings.schema);
    // A command that writes sets its own transaction; a read runs in one with settings under which atlas reads values right.
    if (writes !== null) return fn(client, target.url);
    return withTransaction(client, async () => {
      await useReadSettings(client);
      return fn(client, target.url);
    });
  });
}

async function connected<T>(settings: Settings, options: DatabaseOptions, fn: (client: Client, target: DatabaseTarget) => Promise<T>): Promise<T> {
  const target = await resolveDatabase(settings);
  options.onDatabase?.(target);
  const client = await openClient(target.url, { signal: options.signal, source: settings });
  try {
    return await fn(client, target);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The schema a read was pointed at does not exist: which rule named it, to correct it there. */
function missingSchema(settings: Settings, database: string): NotFoundError {
  const hints: Record<Settings['schemaSource'], string> = {
    '--schema': 'check the name given with --schema (without it: ATLAS_SCHEMA, the config file, else public)',
    ATLAS_SCHEMA: "check ATLAS_SCHEMA (an environment variable), or unset it to use the config file's database.schema or public",
    'config file': `check database.schema in the config file ${settings.configPath ?? ''}`,
    default: 'name the schema atlas imports into with --schema, ATLAS_SCHEMA or database.schema in the config file',
  };
  return new NotFoundError(`schema ${quoteIdent(settings.schema)} does not exist in database ${quoteIdent(database)}: no import ran there`, { hint: hints[settings.schemaSource] });
}
