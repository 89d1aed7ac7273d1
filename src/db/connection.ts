import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import type { Settings } from '../config.js';
import { AtlasError, CancelledError, DatabaseError, describeError, UsageError } from '../errors.js';
import { quoteIdent } from '../transform/naming.js';
import { ensureEmbeddedServer } from './embedded.js';

export type Client = pg.Client;

/**
 * How atlas reached its database; `embedded` carries the port for the stderr notice, and the
 * seconds it took to reach the server (start it, or wait for another process starting it), which
 * an import does not count as its own.
 */
export interface DatabaseTarget {
  url: string;
  embedded: { home: string; dataDir: string; port: number; started: boolean; seconds: number } | null;
}

/** Resolves the settings' database to a URL, starting the embedded server when none is configured. */
export async function resolveDatabase(settings: Settings): Promise<DatabaseTarget> {
  if (settings.databaseUrl !== null) return { url: settings.databaseUrl, embedded: null };
  const begun = performance.now();
  const info = await ensureEmbeddedServer(settings.atlasHome);
  const seconds = Math.round(performance.now() - begun) / 1000;
  return { url: info.url, embedded: { home: settings.atlasHome, dataDir: info.dataDir, port: info.port, started: info.started, seconds } };
}

/** The key the server gave each open client (BackendKeyData), for cancel requests. */
const cancelKeys = new WeakMap<Client, { processID: number; secretKey: number }>();

/** How a connection is opened. */
export interface OpenOptions {
  /** Aborting it while the connection is being made ends the attempt at once (Ctrl-C, SIGTERM). */
  signal?: AbortSignal | undefined;
  /** Where the URL came from, named in the hint of a failure. @default null (the URL is named, not where it was set) */
  source?: Pick<Settings, 'databaseSource' | 'configPath'> | null;
  /** @default "atlas" */
  applicationName?: string;
}

/**
 * How long a connection may take before it is given up, when neither the URL's connect_timeout
 * nor PGCONNECT_TIMEOUT says: a frozen server or a proxy whose backend is gone accepts TCP and
 * never answers, and libpq's own default (wait forever) would hang a cron job until the peer closes.
 */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;

/**
 * The connect timeout in seconds, as libpq reads it: the URL's `connect_timeout`, else
 * PGCONNECT_TIMEOUT, else atlas's default; 0 (or less) waits without a limit. (pg's JavaScript
 * client reads neither.)
 */
export function connectTimeoutSeconds(url: string, env: NodeJS.ProcessEnv = process.env): number {
  let fromUrl: string | null = null;
  try {
    fromUrl = new URL(url).searchParams.get('connect_timeout');
  } catch {
    /* a URL that new URL refuses: pg has already accepted or refused it */
  }
  const [given, where] = fromUrl !== null ? [fromUrl, 'connect_timeout in the database URL'] : [env.PGCONNECT_TIMEOUT ?? '', 'PGCONNECT_TIMEOUT'];
  if (given.trim() === '') return DEFAULT_CONNECT_TIMEOUT_SECONDS;
  if (!/^\s*-?\d+\s*$/.test(given)) throw new UsageError(`${where} must be a whole number of seconds, not "${given}"`);
  return Math.max(0, Number(given));
}

/** The hint of a connection that failed: where its URL was set, to check it there. */
function connectHint(source: Pick<Settings, 'databaseSource' | 'configPath'> | null): string {
  switch (source?.databaseSource) {
    case 'embedded':
      return 'see atlas server status (after atlas server stop, the next command starts it again)';
    case '--database-url':
      return 'check the URL given with --database-url';
    case 'ATLAS_DATABASE_URL':
      return 'check the URL in ATLAS_DATABASE_URL (an environment variable), or unset it to use DATABASE_URL, the config file or the embedded server';
    case 'DATABASE_URL':
      return 'check the URL in DATABASE_URL (an environment variable), or unset it to use the config file or the embedded server';
    case 'config file':
      return `check database.url in the config file ${source.configPath ?? ''}, or remove it to use the embedded server`;
    default:
      return 'check the database URL';
  }
}

/**
 * TCP keepalive after a minute without traffic (the system's probes then take ~11 minutes): a server
 * host that died or a network that dropped the connection ends an import waiting on a reply, which
 * would otherwise wait for ever (libpq turns keepalives on too).
 */
const KEEPALIVE_IDLE_MS = 60_000;

/** The server process a connection talks to, as the server said at connecting; null before. (Behind PgBouncer, PgBouncer's own number, which no backend has.) */
export function backendPidOf(client: Client): number | null {
  return cancelKeys.get(client)?.processID ?? null;
}

/**
 * Opens a client with an error listener attached (an idle client's socket error must not crash the
 * process). The connection is given up past its connect timeout, or when `signal` aborts, by
 * destroying its socket: pg alone would wait until the server answers or closes.
 */
export async function openClient(url: string, options: OpenOptions = {}): Promise<Client> {
  if (options.signal?.aborted) throw new CancelledError('cancelled before connecting to PostgreSQL; nothing was written');
  const timeout = connectTimeoutSeconds(url);
  const source = options.source ?? null;
  // Ours, through pg's `stream` option, so that it can be destroyed while pg waits on it (a TLS socket pg wraps around it goes with it).
  const socket = new Socket();
  let client: Client;
  try {
    client = new pg.Client({ connectionString: url, application_name: options.applicationName ?? 'atlas', stream: () => socket, keepAlive: true, keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS });
  } catch (err) {
    // sslrootcert, sslcert and sslkey name files the driver reads as it parses the URL.
    const unreadable = err as NodeJS.ErrnoException;
    if (typeof unreadable.path === 'string') {
      throw new UsageError(`cannot read ${unreadable.path}, named in the database URL (sslrootcert, sslcert or sslkey): ${unreadable.code ?? unreadable.message}`, { cause: err });
    }
    // The parser's own message is a bare "Invalid URL"; the URL is never echoed (it may hold a password).
    throw new UsageError('the database URL is not a valid connection URL (a port that is not a number, or a password with an unencoded "/", "?" or "#"?)', {
      hint: 'percent-encode special characters in the user name and password (/ as %2F, @ as %40, # as %23)',
      cause: err,
    });
  }
  client.on('error', () => {
    /* surfaced through the failing query instead */
  });
  // pg keeps the key in fields of its own; its connection emits the protocol message (pg pinned: test/db/connection.test.ts).
  client.connection.on('backendKeyData', (msg: { processID: number; secretKey: number }) => cancelKeys.set(client, { processID: msg.processID, secretKey: msg.secretKey }));
  const server = client.host.startsWith('/') ? `the socket in ${client.host}` : `${client.host}:${client.port}`;
  let gaveUp: 'timeout' | 'cancelled' | null = null;
  const giveUp = (why: 'timeout' | 'cancelled'): void => {
    gaveUp ??= why;
    socket.destroy(new Error(why));
  };
  const timer = timeout > 0 ? setTimeout(() => giveUp('timeout'), timeout * 1000) : null;
  const onAbort = (): void => giveUp('cancelled');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
  } catch (err) {
    socket.destroy();
    await client.end().catch(() => undefined);
    if (gaveUp === 'cancelled') throw new CancelledError(`cancelled while connecting to PostgreSQL at ${server}; nothing was written`);
    if (gaveUp === 'timeout') {
      throw new DatabaseError(`cannot connect to PostgreSQL: ${server} did not answer within ${timeout} s (a frozen server, a firewall that drops the packets, or a proxy whose server is gone?)`, {
        hint: `${connectHint(source)}; connect_timeout=N in the URL or PGCONNECT_TIMEOUT sets how long to wait (default ${DEFAULT_CONNECT_TIMEOUT_SECONDS} s)`,
        cause: err,
      });
    }
    throw new DatabaseError(`cannot connect to PostgreSQL: ${describeError(err)}`, { hint: connectHint(source), cause: err });
  } finally {
    if (timer !== null) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
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
  await client.query(BEGIN);
  try {
    const result = await fn();
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
}

/**
 * Every transaction atlas opens is read committed, whatever the server's or role's default: each
 * statement sees what committed before it, so that an undo that waited for the table's lock sees
 * the import that held it (under repeatable read it deleted rows that import had just come to rely on).
 */
export const BEGIN = 'begin isolation level read committed';

/**
 * The xmin of the rows written from now on under the savepoint just opened: its subtransaction's
 * own id, which no SQL function returns (txid_current() gives the top transaction's), read off a
 * one-row temp table `table` written for it.
 */
export async function savepointXid(client: Client, table: string): Promise<string> {
  const name = quoteIdent(table);
  await client.query(`create temp table ${name} on commit drop as select`);
  return (await client.query<{ x: string }>(`select xmin::text as x from ${name}`)).rows[0]!.x;
}

/** work_mem for a transaction that sorts and hashes millions of rows (an import, an undo): in memory rather than spilled to disk. */
const LARGE_WORK_MEM = '128MB';

/**
 * Settings under which values read and written as text mean the same whatever the server or role
 * sets (SET LOCAL, so that a pooler's next client never sees them): the DateStyle a date form atlas
 * does not rewrite itself (`3/1/13`) is read in, month first; extra_float_digits 1 (the default),
 * so a float's text is exact, as the pre-images kept for undo and the check for rounded floats
 * need; standard_conforming_strings on, or the backslashes of atlas's patterns (`'\.0+$'`) would be
 * escapes and 150 go into an integer column as 1; IntervalStyle postgres, in which `-1 2:00:00`
 * reads as -1 day +2 hours (sql_standard reads it negative throughout) and pre-images are written
 * as undo reads them; bytea_output hex, which corrections and pre-images show.
 */
const TEXT_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ['datestyle', 'ISO, MDY'],
  ['extra_float_digits', '1'],
  ['standard_conforming_strings', 'on'],
  ['intervalstyle', 'postgres'],
  ['bytea_output', 'hex'],
];

/** SET LOCAL of each setting, as one SELECT (set_config(..., true)), with `also` selected beside. */
async function setLocal(client: Client, settings: ReadonlyArray<readonly [string, string]>, also: string | null = null): Promise<Record<string, string>> {
  const sets = settings.map(([name, value]) => `set_config('${name}', '${value}', true)`);
  return (await client.query<Record<string, string>>(`select ${[...sets, ...(also === null ? [] : [also])].join(', ')}`)).rows[0]!;
}

/**
 * An import's transaction settings: work_mem (LARGE_WORK_MEM) and TEXT_SETTINGS. Returns the
 * session's TimeZone, in which `_imported_at` (a timestamp without time zone, now()) is written:
 * the record keeps it, so that the time can be read back as the instant it was.
 */
export async function useImportSettings(client: Client): Promise<{ timeZone: string }> {
  // idle_in_transaction_session_timeout off for this transaction: in a batch, a file's transaction
  // sits idle while it waits for the file before it to commit, and a server's limit ended it.
  const r = await setLocal(client, [['work_mem', LARGE_WORK_MEM], ['idle_in_transaction_session_timeout', '0'], ...TEXT_SETTINGS], "current_setting('TimeZone') as time_zone");
  return { timeZone: r.time_zone! };
}

/**
 * A read command's transaction settings (history, stats, lineage, errors): values come back as
 * atlas parses them whatever the role's DateStyle (under SQL or German every time read as null)
 * or extra_float_digits (below 1, lineage showed 0.1 for 0.1234567890123457).
 */
export async function useReadSettings(client: Client): Promise<void> {
  await setLocal(client, TEXT_SETTINGS);
}

/** An undo's transaction settings: the same as an import's (undo reads the pre-images imports wrote as text). */
export async function useUndoSettings(client: Client): Promise<void> {
  await setLocal(client, [['work_mem', LARGE_WORK_MEM], ...TEXT_SETTINGS]);
}

/**
 * Runs `fn` with row-level security off for the rest of the transaction (SET LOCAL): a policy that
 * would hide rows from this role then fails the query (42501) instead of narrowing what atlas
 * counts, and that failure is one line naming the table, `what` first (`otherWay` ends its hint).
 */
export async function withRowSecurityOff<T>(client: Client, what: string, fn: () => Promise<T>, otherWay = ''): Promise<T> {
  await client.query('set local row_security = off');
  try {
    return await fn();
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    const table = e.code === '42501' && typeof e.message === 'string' ? /row-level security policy for table "(.+)"/.exec(e.message)?.[1] : undefined;
    if (table === undefined) throw err;
    throw new AtlasError(`${what}: row-level security policies on table ${table} may hide some of its rows from this role, and atlas must see them all; nothing was changed`, {
      hint: `run it as a superuser, a role with BYPASSRLS, or the table's owner (when the table is not FORCE ROW LEVEL SECURITY)${otherWay}`,
      cause: err,
    });
  }
}

/** The key of a table's lock (lockForTransaction): one import or undo at a time decides what to write into that table. */
export function tableLockKey(schema: string, table: string): string {
  return `atlas:table:${schema}.${table}`;
}

/** Takes a transaction-level advisory lock named by `key` (released at COMMIT/ROLLBACK); returns the server process id of the connection, in the same round trip. */
export async function lockForTransaction(client: Client, key: string): Promise<number> {
  const res = await client.query<{ pid: number }>('select pg_advisory_xact_lock(hashtextextended($1, 0)), pg_backend_pid() as pid', [key]);
  return res.rows[0]!.pid;
}

/** While a query runs, Ctrl-C cancels it on the server (COPY is cancelled through its stream). */
export function cancelQueriesOnAbort(client: Client, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => undefined;
  const onAbort = (): void => void cancelRunningQuery(client);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/**
 * Asks the server to cancel the statement `client` is running: a CancelRequest carrying the key
 * the server gave that connection, sent on a new connection to the same host and port (plain, as
 * libpq before version 17 sends it). Unlike pg_cancel_backend(pid), it reaches the right
 * statement behind PgBouncer, which gives its clients keys of its own and forwards the request to
 * the server connection the client is using at that moment. As libpq does, it then waits for the
 * other end to close the connection, which says the request was taken (PgBouncer drops a request
 * whose sender closes first). Resolves then, or when the server cannot be reached.
 */
export function cancelRunningQuery(client: Client): Promise<void> {
  const key = cancelKeys.get(client);
  if (key === undefined) return Promise.resolve();
  const request = Buffer.alloc(16);
  request.writeInt32BE(16, 0);
  request.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  request.writeInt32BE(key.processID, 8);
  request.writeInt32BE(key.secretKey, 12);
  return new Promise((resolve) => {
    // A host starting with "/" is a Unix socket directory, as in libpq.
    const socket = client.host.startsWith('/') ? connect(join(client.host, `.s.PGSQL.${client.port}`)) : connect(client.port, client.host);
    socket.setTimeout(CANCEL_TIMEOUT_MS, () => socket.destroy());
    socket.once('connect', () => socket.write(request));
    socket.on('data', () => undefined);
    socket.once('end', () => socket.destroy());
    socket.once('error', () => resolve());
    socket.once('close', () => resolve());
  });
}

/** CancelRequest's code in the PostgreSQL protocol (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;
/** How long a cancel request may take to be taken before it is given up. */
const CANCEL_TIMEOUT_MS = 5000;
