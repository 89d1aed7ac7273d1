/**
 * Helpers of the guarantees battery (README "Guarantees"): spawning atlas with a capped heap and a
 * time limit, waiting for its ATLAS_DEBUG_PAUSE points, finding its backend, and checking the
 * promise itself over every history record of a schema.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { listImports, markInterruptedImports, type ImportSummary } from '../../src/db/history.ts';
import { qualify } from '../../src/transform/naming.ts';
import { BIN } from '../helpers.ts';

/** The slow cases (100 MB inputs, more rounds) run when this is set; `.ci/run` sets it. */
export const SLOW = process.env.ATLAS_SLOW_TESTS === '1';

/** The README's bound on how long an import cancelled by Ctrl-C or SIGTERM may take to exit. */
export const CANCEL_EXIT_MS = 2000;

/** Heap cap for atlas in the hostile battery: memory must stay bounded whatever the input. */
export const CAPPED_HEAP = ['--max-old-space-size=256'];

export interface AtlasRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the run (ms). */
  ms: number;
  /** The time limit was reached and the process was killed. */
  timedOut: boolean;
}

export interface AtlasProcess {
  child: ChildProcess;
  /** Settles when the process has exited. */
  done: Promise<AtlasRun>;
  stderr(): string;
  /** Resolves when atlas says `paused at <point>`; rejects if it exits first or takes longer than `timeoutMs`. */
  paused(point: string, timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  /** Node flags before bin/atlas.js (e.g. CAPPED_HEAP). */
  nodeArgs?: string[];
  /** Killed (SIGKILL) past this; the run reports timedOut. @default 120000 */
  timeoutMs?: number;
  /** ATLAS_DEBUG_PAUSE points, comma-separated. */
  pause?: string;
  cwd?: string;
}

/** Starts the real binary (database variables cleared unless given, like runAtlas). */
export function startAtlas(args: string[], options: StartOptions = {}): AtlasProcess {
  const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, ATLAS_DATABASE_URL: undefined, ATLAS_DEBUG_PAUSE: options.pause, NO_COLOR: '1', ...options.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], { env: env as NodeJS.ProcessEnv, cwd: options.cwd ?? tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const l of listeners) l();
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 120_000);
  const done = new Promise<AtlasRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const l of listeners) l();
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
  let exited = false;
  void done.then(() => (exited = true), () => (exited = true));
  return {
    child,
    done,
    stderr: () => stderr,
    paused: (point, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (stderr.includes(`paused at ${point} `)) finish(null);
          else if (exited) finish(new Error(`atlas exited before pausing at ${point}: ${stderr}`));
        };
        const limit = setTimeout(() => finish(new Error(`atlas did not pause at ${point} within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
        const finish = (err: Error | null): void => {
          clearTimeout(limit);
          listeners.delete(check);
          if (err) reject(err);
          else resolve();
        };
        listeners.add(check);
        void done.then(check, check);
        check();
      }),
  };
}

/** Runs atlas to the end (see startAtlas). */
export function runAtlasWith(args: string[], options: StartOptions = {}): Promise<AtlasRun> {
  return startAtlas(args, options).done;
}

/** Polls `probe` until it returns something other than null/undefined/false. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** What a crash must never print: a stack trace, an unhandled error, an out-of-memory abort. */
export function assertCleanStderr(stderr: string): void {
  const problems = [
    [/^\s+at .+:\d+:\d+\)?$/m, 'a stack trace'],
    [/Unhandled|uncaught/i, 'an unhandled error'],
    [/FATAL ERROR|heap out of memory|Allocation failed/, 'an out-of-memory abort'],
  ] as const;
  for (const [re, what] of problems) if (re.test(stderr)) throw new Error(`stderr shows ${what}:\n${stderr.slice(0, 4000)}`);
}

/** The lines atlas printed as its error (`atlas: ...`), other than debug and cancellation notices. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('atlas: ') && !l.startsWith('atlas: debug:') && !l.startsWith('atlas: cancelling'));
}

/**
 * Every history record of the schema, as `atlas history` shows it: first, as atlas does whenever
 * it connects, imports whose process is gone are stored as failed (interrupted).
 */
export async function historyOf(client: pg.Client, schema: string): Promise<ImportSummary[]> {
  const exists = await client.query(`select to_regclass($1) as t`, [`${qualify(schema, 'import_history')}`]);
  if (exists.rows[0]?.t === null) return [];
  await markInterruptedImports(client, schema);
  return (await listImports(client, schema, { table: null, user: null, status: null, since: null, limit: 100_000, offset: 0 })).rows;
}

export async function tableExists(client: pg.Client, schema: string, table: string): Promise<boolean> {
  const r = await client.query(`select to_regclass($1) is not null as e`, [qualify(schema, table)]);
  return r.rows[0]?.e === true;
}

/** Rows of `table` now (0 when it does not exist). */
export async function countRows(client: pg.Client, schema: string, table: string): Promise<number> {
  if (!(await tableExists(client, schema, table))) return 0;
  return Number((await client.query(`select count(*) as n from ${qualify(schema, table)}`)).rows[0].n);
}

/** Rows of `table` carrying `importId` (0 when the table does not exist). */
export async function countImportRows(client: pg.Client, schema: string, table: string, importId: string): Promise<number> {
  if (!(await tableExists(client, schema, table))) return 0;
  return Number((await client.query(`select count(*) as n from ${qualify(schema, table)} where _import_id = $1`, [importId])).rows[0].n);
}

/**
 * The promise, checked over every record of the schema: a committed import (success, partial)
 * has exactly `rows_inserted` rows in its table, plus the rows it updated (an upsert), less those
 * later imports not undone have updated or deleted since (their pre-images say which); any other
 * (failed, interrupted ones included, undone) has none; none is `in_progress` once no atlas
 * process runs. Returns the records.
 */
export async function assertPromiseHolds(client: pg.Client, schema: string): Promise<ImportSummary[]> {
  const records = await historyOf(client, schema);
  for (const r of records) {
    const rows = await countImportRows(client, schema, r.table_name, r.import_id);
    if (r.status === 'success' || r.status === 'partial') {
      const taken = Number(
        (
          await client.query(
            `select count(*) as n from ${qualify(schema, 'import_preimages')} p join ${qualify(schema, 'import_history')} h on h.import_id = p.import_id
              where p.prior_import_id = $1 and p.import_id <> $1 and h.status in ('success', 'partial')`,
            [r.import_id],
          )
        ).rows[0].n,
      );
      const expected = (r.rows_inserted ?? 0) + r.rows_updated - taken;
      if (rows !== expected) throw new Error(`import ${r.import_id} (${r.status}) records ${r.rows_inserted} rows inserted and ${r.rows_updated} updated, ${taken} changed since by later imports, but ${r.table_name} holds ${rows} of its rows`);
    } else if (r.status === 'in_progress') {
      throw new Error(`import ${r.import_id} is still in_progress with no atlas process running`);
    } else if (rows !== 0) {
      throw new Error(`import ${r.import_id} is ${r.status} but ${r.table_name} holds ${rows} of its rows`);
    }
    if (r.status === 'failed' && !r.error_message) throw new Error(`failed import ${r.import_id} does not say why`);
  }
  return records;
}

/** The backend (pid) running an import: the one whose transaction holds its `atlas:import:<id>` advisory lock. */
export async function backendOfImport(client: pg.Client, importId: string): Promise<number | null> {
  const r = await client.query<{ pid: number }>(
    `select l.pid from pg_locks l, lateral (select hashtextextended('atlas:import:' || $1::text, 0) as k) key
     where l.locktype = 'advisory' and l.granted and l.objsubid = 1
       and l.database = (select oid from pg_database where datname = current_database())
       and l.classid = ((key.k >> 32) & 4294967295)::oid and l.objid = (key.k & 4294967295)::oid`,
    [importId],
  );
  return r.rows[0]?.pid ?? null;
}

/** The in_progress import into `table`, once atlas has recorded it. */
export async function inProgressImport(client: pg.Client, schema: string, table: string): Promise<string> {
  return waitFor(`an in_progress import into ${table}`, async () => {
    const exists = await client.query(`select to_regclass($1) as t`, [qualify(schema, 'import_history')]);
    if (exists.rows[0]?.t === null) return null;
    const r = await client.query<{ import_id: string }>(`select import_id from ${qualify(schema, 'import_history')} where table_name = $1 and status = 'in_progress' order by import_timestamp desc limit 1`, [table]);
    return r.rows[0]?.import_id ?? null;
  });
}

/** Waits until the import's backend waits on a lock while running a statement that starts with `statementStart`. */
export async function waitUntilBlocked(client: pg.Client, pid: number, statementStart: RegExp): Promise<void> {
  await waitFor(`backend ${pid} to block in ${statementStart.source}`, async () => {
    const r = await client.query<{ wait_event_type: string | null; query: string }>(`select wait_event_type, query from pg_stat_activity where pid = $1`, [pid]);
    const row = r.rows[0];
    return row !== undefined && row.wait_event_type === 'Lock' && statementStart.test(row.query.trimStart());
  });
}

/** A CSV whose row for `id` is always the same: files with overlapping id ranges share equal rows. */
export function numberedCsv(from: number, count: number): string {
  const lines = ['id,name,amount,day'];
  for (let id = from; id < from + count; id++) lines.push(`${id},name ${id},${id % 1000}.25,2024-01-${String((id % 28) + 1).padStart(2, '0')}`);
  return `${lines.join('\n')}\n`;
}

/** What `atlas import --json` says of an import. */
export interface ImportOut {
  import_id: string;
  rows_inserted: number;
  duplicates_found: number;
  total_rows_in_file: number;
}

/**
 * `parallel` imports at once into `table`, file i holding ids [base + i*rows/2, base + i*rows/2 + rows):
 * each overlaps its neighbours by half. Checks that every one succeeded without a deadlock, that
 * each row of each file was inserted or found a duplicate, and that each owns exactly the rows it
 * says it inserted. Returns how many distinct rows the files hold.
 */
export async function raceOverlappingImports(
  o: { client: pg.Client; schema: string; conn: string[]; write(name: string, content: string): string; table: string; parallel: number; rows: number; base: number },
): Promise<number> {
  const paths = Array.from({ length: o.parallel }, (_, i) => o.write(`${o.table}_${o.base}_${i}.csv`, numberedCsv(o.base + (i * o.rows) / 2, o.rows)));
  const runs = await Promise.all(paths.map((p) => runAtlasWith(['import', p, '--table', o.table, '--json', ...o.conn], { timeoutMs: 180_000 })));
  for (const r of runs) {
    if (r.code !== 0 || /deadlock/i.test(r.stderr)) throw new Error(`an import of the race failed (exit ${r.code}): ${r.stderr}`);
    const out = JSON.parse(r.stdout) as ImportOut;
    if (out.rows_inserted + out.duplicates_found !== o.rows) throw new Error(`import ${out.import_id}: ${out.rows_inserted} inserted + ${out.duplicates_found} duplicates, not the file's ${o.rows} rows`);
    const owned = await countImportRows(o.client, o.schema, o.table, out.import_id);
    if (owned !== out.rows_inserted) throw new Error(`import ${out.import_id} says it inserted ${out.rows_inserted} rows; ${owned} carry its id`);
  }
  return ((o.parallel + 1) * o.rows) / 2;
}

/** A second session that holds a lock (taken by `sql` in its open transaction) until released, to block atlas at a chosen statement. */
export async function holdLock(url: string, sql: string): Promise<{ release(): Promise<void> }> {
  const c = new pg.Client(url);
  c.on('error', () => undefined);
  await c.connect();
  await c.query('begin');
  await c.query(sql);
  return {
    release: async () => {
      await c.query('rollback').catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

/**
 * Starts an import of `file` into `table` while a second session holds the table's lock (as
 * another import of it would), waits until the import's statement waits for it, sends `signal`,
 * and returns the import's id, its run, and how long it took to exit after the signal. `client`
 * and `url` are a session of the test's (the lock's holder connects with `url`).
 */
export async function signalWhileBlocked(
  o: { client: pg.Client; url: string; schema: string; table: string; file: string; conn: string[]; signal: NodeJS.Signals },
): Promise<{ id: string; run: AtlasRun; exitMs: number }> {
  const lock = await holdLock(o.url, `select pg_advisory_xact_lock(hashtextextended('atlas:table:${o.schema}.${o.table}', 0))`);
  try {
    const atlas = startAtlas(['import', o.file, '--table', o.table, ...o.conn]);
    const id = await inProgressImport(o.client, o.schema, o.table);
    const pid = await waitFor('the import backend', () => backendOfImport(o.client, id));
    await waitUntilBlocked(o.client, pid, /^select pg_advisory_xact_lock/);
    const sent = performance.now();
    atlas.child.kill(o.signal);
    const run = await atlas.done;
    return { id, run, exitMs: performance.now() - sent };
  } finally {
    await lock.release();
  }
}

/**
 * A server that accepts TCP connections and never answers (a frozen server, a proxy whose server
 * is gone), on a free port of 127.0.0.1; `connected` resolves at its first connection.
 */
export async function listenWithoutAnswering(): Promise<{ port: number; url: (query?: string) => string; connected: Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connected!: () => void;
  const first = new Promise<void>((resolve) => (connected = resolve));
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    connected();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (query = '') => `postgresql://atlas:secret@127.0.0.1:${port}/db${query}`,
    connected: first,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
