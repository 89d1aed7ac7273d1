/**
 * The servers the benchmark measures on, in the order the report shows them:
 *
 * - `pg15`, the production-shaped reference: Debian's PostgreSQL 15 binaries with initdb's default
 *   settings (wal_level=replica, as on the servers users load into; the README recommends no
 *   settings for them), in a cluster of the bench's own under bench/data/pg15; or the server of
 *   ATLAS_BENCH_DATABASE_URL in its place.
 * - `embedded`: atlas's embedded PostgreSQL with its loading settings (wal_level=minimal, ...),
 *   data under bench/data/home.
 *
 * Both are started when needed and left running; `node --import tsx bench/run.ts --stop` stops them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scalar } from './db.ts';
import { DATA_DIR } from './generate.ts';
import { fail, fmt, log, ROOT, seconds } from './util.ts';

export const SERVER_NAMES = ['pg15', 'embedded'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export interface BenchServer {
  name: ServerName;
  url: string;
  /** What it is and where, for the report. */
  label: string;
  /** `select version()`. */
  version: string;
  /** The settings that shape load times, `name=value, ...`. */
  settings: string;
  walLevel: string;
}

const EMBEDDED_HOME = join(DATA_DIR, 'home');
const PG15_BIN = '/usr/lib/postgresql/15/bin';
const PG15_DIR = join(DATA_DIR, 'pg15');
const PG15_CREDENTIALS = join(DATA_DIR, 'pg15.json');
const PG15_LOG = join(PG15_DIR, 'bench-server.log');
/** Tried first so that the cluster usually keeps its port; any free port when it is taken. */
const PG15_PREFERRED_PORT = 54315;
const PG15_USER = 'atlas_bench';
/** How the bench's PostgreSQL 15 is started: these connection settings only, so the load settings are initdb's. */
const pg15Options = (port: number): string => `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;

/** The settings the report lists for each server: those that shape load times. */
const REPORTED_SETTINGS = [
  'wal_level',
  'max_wal_senders',
  'synchronous_commit',
  'fsync',
  'full_page_writes',
  'wal_compression',
  'shared_buffers',
  'wal_buffers',
  'max_wal_size',
  'checkpoint_timeout',
  'work_mem',
  'maintenance_work_mem',
  'max_parallel_workers_per_gather',
  'max_parallel_maintenance_workers',
];

export const PG15_INSTALL_HINT = 'apt-get install postgresql-15';

/** Whether Debian's PostgreSQL 15 binaries are there, for the bench's own cluster. */
export const pg15Installed = (): boolean => existsSync(join(PG15_BIN, 'initdb')) && existsSync(join(PG15_BIN, 'pg_ctl'));

/** Starts (if needed) each named server, in `SERVER_NAMES` order, and reads its version and settings. */
export async function startServers(names: ReadonlySet<ServerName>): Promise<BenchServer[]> {
  const servers: BenchServer[] = [];
  for (const name of SERVER_NAMES) {
    if (!names.has(name)) continue;
    const { url, label } = name === 'pg15' ? await startProductionShaped() : await startEmbedded();
    const version = await scalar<string>(url, 'select version()');
    const settings = await scalar<string>(
      url,
      `select string_agg(name || '=' || current_setting(name), ', ' order by array_position($1::text[], name)) from pg_settings where name = any($1)`,
      [REPORTED_SETTINGS],
    );
    const walLevel = await scalar<string>(url, 'select current_setting($1)', ['wal_level']);
    log(`  ${name}: ${version}\n  ${name} settings: ${settings}\n`);
    servers.push({ name, url, label, version, settings, walLevel });
  }
  return servers;
}

async function startProductionShaped(): Promise<{ url: string; label: string }> {
  const fromEnv = process.env.ATLAS_BENCH_DATABASE_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    log('database pg15: ATLAS_BENCH_DATABASE_URL, with its own settings\n');
    return { url: fromEnv, label: 'the server of ATLAS_BENCH_DATABASE_URL, with its own settings' };
  }
  const started = performance.now();
  const { url, port, how } = await ensurePg15Cluster();
  log(`database pg15: the bench's PostgreSQL 15 on port ${port} (${how === 'started' ? `started in ${fmt(seconds(performance.now() - started), 1)} s` : how})\n`);
  return {
    url,
    label: `Debian's PostgreSQL 15 (${PG15_BIN}) with initdb's default settings, the bench's own cluster in ${PG15_DIR.slice(ROOT.length)}, port ${port}`,
  };
}

async function startEmbedded(): Promise<{ url: string; label: string }> {
  const { ensureEmbeddedServer } = await import('../src/db/embedded.ts');
  const started = performance.now();
  const info = await ensureEmbeddedServer(EMBEDDED_HOME);
  const how = info.started ? `started in ${fmt(seconds(performance.now() - started), 1)} s` : 'already running';
  log(`database embedded: atlas's embedded PostgreSQL on port ${info.port} (${how}, data in ${info.dataDir})\n`);
  return { url: info.url, label: `atlas's embedded PostgreSQL with its loading settings (README, "Which database"), ATLAS_HOME ${EMBEDDED_HOME.slice(ROOT.length)}, cluster in ${info.dataDir}, port ${info.port}` };
}

/** Stops both of the bench's own servers (not ATLAS_BENCH_DATABASE_URL's), saying which were running. */
export async function stopServers(): Promise<void> {
  const pg15 = await stopPg15Cluster();
  log(`pg15 (${PG15_DIR.slice(ROOT.length)}): ${pg15 ? 'stopped' : 'was not running'}\n`);
  const { stopEmbeddedServer } = await import('../src/db/embedded.ts');
  const embedded = await stopEmbeddedServer(EMBEDDED_HOME);
  log(`embedded (${EMBEDDED_HOME.slice(ROOT.length)}): ${embedded ? 'stopped' : 'was not running'}\n`);
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** PostgreSQL refuses to run as root: as root, the cluster belongs to and runs as `postgres` (Debian's package creates that user). */
function clusterUser(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string): number | null => {
    const res = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    return res.status === 0 ? Number(res.stdout.trim()) : null;
  };
  const uid = id('-u');
  const gid = id('-g');
  if (uid === null || gid === null) fail(`the bench runs as root and there is no "postgres" user to run PostgreSQL 15 as (${PG15_INSTALL_HINT} creates it)`);
  return { uid, gid };
}

function runAsUser(cmd: string, args: readonly string[], runAs: RunAs): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { ...runAs, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, output }));
  });
}

const lastLines = (text: string): string => text.trim().split('\n').filter((l) => l.trim() !== '').slice(-2).join(' ');

/** The port of the cluster's running postmaster (postmaster.pid line 4), or null when it is not running. */
function runningPort(): number | null {
  let lines: string[];
  try {
    lines = readFileSync(join(PG15_DIR, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  return port;
}

function freePort(preferred: number): Promise<number> {
  const listen = (port: number): Promise<number | null> =>
    new Promise((resolvePort) => {
      const server = createServer();
      server.once('error', () => resolvePort(null));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolvePort(typeof address === 'object' && address !== null ? address.port : null));
      });
    });
  return listen(preferred).then(async (port) => port ?? (await listen(0)) ?? fail('no free loopback port for PostgreSQL 15'));
}

/** initdb with its defaults (but a password login for the bench's superuser) into bench/data/pg15. */
async function initPg15Cluster(runAs: RunAs): Promise<void> {
  if (existsSync(PG15_DIR) && readdirSync(PG15_DIR).length > 0) {
    fail(`${PG15_DIR} holds files but no PostgreSQL cluster (an initdb cut short?): delete it and run the bench again`);
  }
  mkdirSync(PG15_DIR, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined) {
    chownSync(PG15_DIR, runAs.uid, runAs.gid ?? runAs.uid);
    if (spawnSync('test', ['-w', PG15_DIR, '-a', '-x', PG15_DIR], runAs).status !== 0) {
      fail(`the postgres user cannot reach ${PG15_DIR} (PostgreSQL runs as postgres when the bench runs as root): run the bench from a checkout postgres can reach, or set ATLAS_BENCH_DATABASE_URL`);
    }
  }
  const password = randomBytes(18).toString('hex');
  const pwfile = join(tmpdir(), `atlas-bench-pw-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined) chownSync(pwfile, runAs.uid, runAs.gid ?? runAs.uid);
  try {
    const args = [`--pgdata=${PG15_DIR}`, '--auth=scram-sha-256', `--username=${PG15_USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C.UTF-8'];
    const res = await runAsUser(join(PG15_BIN, 'initdb'), args, runAs);
    if (res.code !== 0) fail(`initdb of PostgreSQL 15 in ${PG15_DIR} failed: ${lastLines(res.output)}`);
  } finally {
    unlinkSync(pwfile);
  }
  writeFileSync(PG15_CREDENTIALS, JSON.stringify({ user: PG15_USER, password }), { mode: 0o600 });
}

async function ensurePg15Cluster(): Promise<{ url: string; port: number; how: 'started' | 'already running' }> {
  if (!pg15Installed()) fail(`PostgreSQL 15 is not installed (no ${PG15_BIN}/initdb): ${PG15_INSTALL_HINT}`);
  const runAs = clusterUser();
  if (!existsSync(join(PG15_DIR, 'PG_VERSION'))) await initPg15Cluster(runAs);
  if (!existsSync(PG15_CREDENTIALS)) fail(`${PG15_CREDENTIALS} is missing, so the bench cannot log in to its cluster: stop it (bench/run.ts --stop), delete ${PG15_DIR} and run again`);
  const creds = JSON.parse(readFileSync(PG15_CREDENTIALS, 'utf8')) as { user: string; password: string };
  const urlFor = (port: number): string => `postgresql://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/postgres`;
  const running = runningPort();
  if (running !== null) return { url: urlFor(running), port: running, how: 'already running' };
  const port = await freePort(PG15_PREFERRED_PORT);
  const res = await runAsUser(join(PG15_BIN, 'pg_ctl'), ['start', '-D', PG15_DIR, '-w', '-t', '60', '-l', PG15_LOG, '-o', pg15Options(port)], runAs);
  if (res.code !== 0) fail(`could not start PostgreSQL 15 in ${PG15_DIR}: ${lastLines(res.output)} (see ${PG15_LOG})`);
  return { url: urlFor(port), port, how: 'started' };
}

/** Fast shutdown of the bench's PostgreSQL 15; false when it was not running. */
async function stopPg15Cluster(): Promise<boolean> {
  if (runningPort() === null) return false;
  const res = await runAsUser(join(PG15_BIN, 'pg_ctl'), ['stop', '-D', PG15_DIR, '-m', 'fast', '-w', '-t', '60'], clusterUser());
  if (res.code !== 0) fail(`could not stop PostgreSQL 15 in ${PG15_DIR}: ${lastLines(res.output)}`);
  return true;
}
