import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { resolveSettings, type Settings } from '../src/config.ts';

export const ROOT = new URL('..', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin', 'atlas.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/** The test database; `npm test` sets it (embedded server) unless the caller did. */
export function testDatabaseUrl(): string {
  const url = process.env.ATLAS_TEST_DATABASE_URL;
  if (!url) throw new Error('ATLAS_TEST_DATABASE_URL is not set: run the tests with `npm test`, which starts a PostgreSQL for them');
  return url;
}

export interface TestDb {
  url: string;
  schema: string;
  client: pg.Client;
  settings: Settings;
  /** Runs a query and returns its rows. */
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A schema of its own for one test (dropped by close()), and a client to inspect it. */
export async function openTestDb(): Promise<TestDb> {
  const url = testDatabaseUrl();
  const client = new pg.Client(url);
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot reach the test PostgreSQL (${(err as Error).message}); check ATLAS_TEST_DATABASE_URL or run \`npm test\``);
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await client.query(`create schema ${schema}`);
  const settings = resolveSettings({ databaseUrl: url, schema }, {}, tmpdir());
  return {
    url,
    schema,
    client,
    settings,
    rows: async (sql, params) => (await client.query(sql, params)).rows,
    close: async () => {
      await client.query(`drop schema ${schema} cascade`);
      await client.end();
    },
  };
}

/**
 * The test database of the enclosing describe block (or test file): a schema of its own, opened
 * (then `setup`, e.g. migrateTestDb) before its tests, dropped after them (`teardown` first).
 * The object is filled in by that `before` hook: use it inside hooks and tests.
 */
export function useTestDb(options: { setup?: (db: TestDb) => Promise<unknown>; teardown?: (db: TestDb) => Promise<unknown> } = {}): TestDb {
  const db = {} as TestDb;
  before(async () => {
    Object.assign(db, await openTestDb());
    await options.setup?.(db);
  });
  after(async () => {
    if (db.close === undefined) return; // never opened: its before hook failed
    try {
      await options.teardown?.(db);
    } finally {
      await db.close();
    }
  });
  return db;
}

/** A temporary directory, removed after the tests of the enclosing describe block (or test file). */
export function useTempDir(prefix?: string): ReturnType<typeof tempDir> {
  const dir = tempDir(prefix);
  after(() => dir.cleanup());
  return dir;
}

/** A temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'atlas-test-'): { dir: string; write(name: string, content: string | Buffer): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write: (name, content) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real binary (`bin`: another installation's). The environment is cleared of database variables unless given. */
export function runAtlas(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string | Buffer; cwd?: string; bin?: string; onSpawn?: (child: ReturnType<typeof spawn>) => void } = {},
): Promise<RunResult> {
  const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, ATLAS_DATABASE_URL: undefined, NO_COLOR: '1', ...options.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], { env: env as NodeJS.ProcessEnv, cwd: options.cwd ?? tmpdir(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    options.onSpawn?.(child);
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** CSV text from rows of values (quoted when needed). */
export function csv(rows: ReadonlyArray<ReadonlyArray<string | number>>, delimiter = ','): string {
  return rows
    .map((r) => r.map((v) => {
      const s = String(v);
      return /[",\r\n;\t|]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    }).join(delimiter))
    .join('\n') + '\n';
}
