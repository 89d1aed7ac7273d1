import pg from 'pg';
import type { Settings } from '../config.js';
import { DatabaseError, describeError, UsageError } from '../errors.js';
import { ensureEmbeddedServer } from './embedded.js';

export type Client = pg.Client;

/**
 * How atlas reached its database; `embedded` carries the port for the stderr notice, and the
 * seconds it took to reach the server (start it, or wait for another process starting it), which
 * an import does not count as its own.
 */
export interface DatabaseTarget {
  url: string;
  embedded: { home: string; port: number; started: boolean; seconds: number } | null;
}

/** Resolves the settings' database to a URL, starting the embedded server when none is configured. */
export async function resolveDatabase(settings: Settings): Promise<DatabaseTarget> {
  if (settings.databaseUrl !== null) return { url: settings.databaseUrl, embedded: null };
  const begun = performance.now();
  const info = await ensureEmbeddedServer(settings.atlasHome);
  const seconds = Math.round(performance.now() - begun) / 1000;
  return { url: info.url, embedded: { home: settings.atlasHome, port: info.port, started: info.started, seconds } };
}

/** Opens a client with an error listener attached (an idle client's socket error must not crash the process). */
export async function openClient(url: string, applicationName = 'atlas'): Promise<Client> {
  let client: Client;
  try {
    client = new pg.Client({ connectionString: url, application_name: applicationName });
  } catch (err) {
    // The parser's own message is a bare "Invalid URL"; the URL is never echoed (it may hold a password).
    throw new UsageError('the database URL is not a valid connection URL (a port that is not a number, or a password with an unencoded "/", "?" or "#"?)', {
      hint: 'percent-encode special characters in the user name and password (/ as %2F, @ as %40, # as %23)',
      cause: err,
    });
  }
  client.on('error', () => {
    /* surfaced through the failing query instead */
  });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new DatabaseError(`cannot connect to PostgreSQL: ${describeError(err)}`, {
      hint: 'check --database-url / DATABASE_URL, or unset them to use the embedded server',
      cause: err,
    });
  }
  return client;
}

/** Runs `fn` with a fresh connection, always closed afterwards. */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await openClient(url);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `fn` inside BEGIN/COMMIT; any throw rolls back. */
export async function withTransaction<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  await client.query('begin');
  try {
    const result = await fn();
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}

/** Holds a session-level advisory lock named by `key` while `fn` runs. */
export async function withAdvisoryLock<T>(client: Client, key: string, fn: () => Promise<T>): Promise<T> {
  await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [key]);
  try {
    return await fn();
  } finally {
    await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => undefined);
  }
}

/** Takes a transaction-level advisory lock named by `key` (released at COMMIT/ROLLBACK). */
export async function lockForTransaction(client: Client, key: string): Promise<void> {
  await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}
