/**
 * The setups of production servers, made by the tests on the test PostgreSQL: a database where a
 * role holds exactly the privileges atlas needs (made through the test database's superuser
 * connection), and PgBouncer in transaction pooling mode in front of it (Debian's `pgbouncer`,
 * started on a free loopback port).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { quoteIdent } from '../../src/transform/naming.ts';

/** A database of the test's own and a role that may do in it exactly what atlas needs. */
export interface RestrictedSetup {
  /** The role's connection URL (directly to the server). */
  url: string;
  role: string;
  password: string;
  database: string;
  /** The schema atlas works in: the superuser's, with USAGE and CREATE granted to the role. */
  schema: string;
  /** A superuser connection to `database`, and its URL. */
  admin: pg.Client;
  adminUrl: string;
  /** Another schema like `schema`, for a test that needs a fresh one. */
  addSchema(name: string): Promise<void>;
  /** Another login role that may connect to `database` (and nothing else until granted); dropped with the rest. */
  addRole(): Promise<{ role: string; url: string }>;
  drop(): Promise<void>;
}

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client(url);
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/**
 * Creates a database (PUBLIC may neither connect nor create temporary tables in it) and a role
 * with CONNECT and TEMPORARY on it, and USAGE and CREATE on a schema it does not own. The role
 * may not create schemas. `adminUrl` must be a superuser's (the test database's is).
 */
export async function createRestrictedSetup(adminUrl: string): Promise<RestrictedSetup> {
  const server = await connect(adminUrl);
  const suffix = randomBytes(5).toString('hex');
  const role = `atlas_least_${suffix}`;
  const password = randomBytes(16).toString('hex');
  const database = `atlas_least_${suffix}`;
  const schema = 'loads';
  let admin: pg.Client | null = null;
  try {
    const su = await server.query<{ su: string }>(`select current_setting('is_superuser') as su`);
    if (su.rows[0]!.su !== 'on') throw new Error('the least-privilege tests create a role and a database: ATLAS_TEST_DATABASE_URL must be a superuser\'s (it is under `npm test` and in .ci/run)');
    // Names and password are generated hex: safe as they are in statements that take no parameters.
    await server.query(`create role ${quoteIdent(role)} login password '${password}'`);
    await server.query(`create database ${quoteIdent(database)}`);
    await server.query(`revoke all on database ${quoteIdent(database)} from public`);
    await server.query(`grant connect, temporary on database ${quoteIdent(database)} to ${quoteIdent(role)}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    const databaseAdminUrl = url.toString();
    admin = await connect(databaseAdminUrl);
    await admin.query('revoke create on schema public from public');
    const adminClient = admin;
    const addSchema = async (name: string): Promise<void> => {
      await adminClient.query(`create schema ${quoteIdent(name)}`);
      await adminClient.query(`grant usage, create on schema ${quoteIdent(name)} to ${quoteIdent(role)}`);
    };
    await addSchema(schema);
    const extraRoles: string[] = [];
    const addRole = async (): Promise<{ role: string; url: string }> => {
      const extra = `${role}_${extraRoles.length + 1}`;
      const extraPassword = randomBytes(16).toString('hex');
      await server.query(`create role ${quoteIdent(extra)} login password '${extraPassword}'`);
      extraRoles.push(extra);
      await server.query(`grant connect on database ${quoteIdent(database)} to ${quoteIdent(extra)}`);
      const u = new URL(databaseAdminUrl);
      u.username = extra;
      u.password = extraPassword;
      return { role: extra, url: u.toString() };
    };
    url.username = role;
    url.password = password;
    return {
      url: url.toString(),
      role,
      password,
      database,
      schema,
      admin,
      adminUrl: databaseAdminUrl,
      addSchema,
      addRole,
      drop: async () => {
        await adminClient.end().catch(() => undefined);
        await server.query(`drop database if exists ${quoteIdent(database)} with (force)`);
        for (const r of [...extraRoles, role]) await server.query(`drop role if exists ${quoteIdent(r)}`);
        await server.end();
      },
    };
  } catch (err) {
    await admin?.end().catch(() => undefined);
    await server.query(`drop database if exists ${quoteIdent(database)} with (force)`).catch(() => undefined);
    await server.query(`drop role if exists ${quoteIdent(role)}`).catch(() => undefined);
    await server.end();
    throw err;
  }
}

/** Debian's pgbouncer, or null when it is not installed. */
export function findPgBouncer(): string | null {
  for (const path of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) if (existsSync(path)) return path;
  const which = spawnSync('which', ['pgbouncer'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}

export const PGBOUNCER_MISSING = 'pgbouncer is not installed: these tests need Debian\'s pgbouncer package (apt-get install pgbouncer; .ci/run installs it)';

export interface PgBouncer {
  port: number;
  /** `url` (a direct URL to the server) rewritten to go through this PgBouncer. */
  through(url: string): string;
  /** PgBouncer's log so far. */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts PgBouncer in transaction pooling mode in front of the server `serverUrl` points at, for
 * `users` (SCRAM for clients; the plain-text passwords of its user list log it in to the server,
 * whether the server asks for SCRAM or MD5). Transactions go to the server connections in turn
 * (server_round_robin), so a client's consecutive transactions run on different ones, as they may
 * on a busy pooler: anything atlas kept in a session would show. As root it runs as `postgres`
 * (it refuses root).
 */
export async function startPgBouncer(binary: string, serverUrl: string, users: ReadonlyArray<{ user: string; password: string }>): Promise<PgBouncer> {
  const target = new URL(serverUrl);
  const dir = mkdtempSync(join(tmpdir(), 'atlas-pgbouncer-'));
  const port = await freePort();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  writeFileSync(join(dir, 'userlist.txt'), users.map((u) => `${quote(u.user)} ${quote(u.password)}`).join('\n') + '\n', { mode: 0o600 });
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || '5432'}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'server_round_robin = 1',
      // More than the tests' concurrent imports: each holds one server connection for its transaction and briefly needs another.
      'default_pool_size = 24',
      'max_client_conn = 500',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const runAs: { uid?: number; gid?: number } = {};
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
    Object.assign(runAs, { uid, gid });
  }
  const child: ChildProcess = spawn(binary, [join(dir, 'pgbouncer.ini')], { ...runAs, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  const done = new Promise<void>((resolve) => child.once('close', () => {
    exited = true;
    resolve();
  }));
  const log = (): string => {
    try {
      return output + readFileSync(join(dir, 'pgbouncer.log'), 'utf8');
    } catch {
      return output;
    }
  };
  for (let i = 0; !(await accepts(port)); i++) {
    if (exited || i > 200) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start: ${log()}`);
    }
    await sleep(50);
  }
  return {
    port,
    through: (url) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    log,
    stop: async () => {
      if (!exited) child.kill('SIGINT');
      await done;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
