/**
 * An import stopped from outside, on the shared test server: Ctrl-C / SIGTERM (mid-COPY and while
 * a statement runs), a statement timeout, and its backend terminated (pg_terminate_backend)
 * mid-COPY and mid-INSERT. Each time: a clear one-line error naming the import, non-zero exit,
 * nothing partial in the table, a history record that says why; running it again succeeds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { qualify } from '../../src/transform/naming.ts';
import { runAtlas, type TestDb, useTempDir, useTestDb } from '../helpers.ts';
import {
  assertCleanStderr,
  assertPromiseHolds,
  backendOfImport,
  CANCEL_EXIT_MS,
  countImportRows,
  countRows,
  errorLines,
  historyOf,
  holdLock,
  inProgressImport,
  listenWithoutAnswering,
  numberedCsv,
  runAtlasWith,
  signalWhileBlocked,
  startAtlas,
  tableExists,
  waitFor,
  waitUntilBlocked,
} from './helpers.ts';

/** Over 1 MB of COPY text: the `copy` pause point (after the first ~1 MB chunk) is mid-COPY. */
const ROWS = 35_000;

/** The one record of an import into `table`, as history shows it. */
async function recordOf(db: TestDb, table: string): Promise<{ import_id: string; status: string; error_message: string | null }> {
  const recs = (await historyOf(db.client, db.schema)).filter((r) => r.table_name === table);
  assert.equal(recs.length, 1, `one record for ${table}`);
  return recs[0]!;
}

describe('an import stopped from outside', { timeout: 240_000 }, () => {
  const db = useTestDb({ teardown: () => assertPromiseHolds(db.client, db.schema) });
  const files = useTempDir('atlas-interrupt-');
  let conn: string[];
  let big: string;

  before(async () => {
    conn = ['--database-url', db.url, '--schema', db.schema];
    big = files.write('big.csv', numberedCsv(0, ROWS));
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} mid-COPY: the COPY is cancelled, rolled back, recorded as failed: cancelled, exit within 2 s`, async () => {
      const table = `sig_copy_${signal.toLowerCase()}`;
      const atlas = startAtlas(['import', big, '--table', table, ...conn], { pause: 'copy' });
      await atlas.paused('copy');
      const id = await inProgressImport(db.client, db.schema, table);
      const pid = await backendOfImport(db.client, id);
      assert.ok(pid !== null);
      const sent = performance.now();
      atlas.child.kill(signal);
      const run = await atlas.done;
      const took = performance.now() - sent;
      assert.ok(took < CANCEL_EXIT_MS, `exited ${Math.round(took)} ms after ${signal}`);
      assert.equal(run.code, 1, run.stderr);
      assertCleanStderr(run.stderr);
      assert.deepEqual(errorLines(run.stderr), [`atlas: import ${id} cancelled; nothing was written`]);
      const rec = await recordOf(db, table);
      assert.equal(rec.status, 'failed');
      assert.equal(rec.error_message, 'cancelled');
      assert.equal(await tableExists(db.client, db.schema, table), false, 'the table the import would have created does not exist');
      // Its session is gone too: no COPY left running on the server.
      await waitFor('the backend to end', async () => (await db.rows(`select 1 from pg_stat_activity where pid = $1`, [pid])).length === 0);
    });
  }

  it('SIGTERM while a statement waits on a lock: the statement is cancelled on the server, exit within 2 s', async () => {
    const table = 'sig_blocked';
    // The lock is held as "another import" of the same table would: atlas waits for it before deciding the table's shape.
    const { run, exitMs } = await signalWhileBlocked({ client: db.client, url: db.url, schema: db.schema, table, file: big, conn, signal: 'SIGTERM' });
    assert.ok(exitMs < CANCEL_EXIT_MS, `exited ${Math.round(exitMs)} ms after SIGTERM`);
    assert.equal(run.code, 1, run.stderr);
    assertCleanStderr(run.stderr);
    const rec = await recordOf(db, table);
    assert.equal(rec.status, 'failed');
    assert.equal(rec.error_message, 'cancelled');
    assert.equal(await tableExists(db.client, db.schema, table), false);
  });

  it('SIGINT while the INSERT ... SELECT runs (blocked on the table): cancelled, the earlier rows intact', async () => {
    const table = 'sig_insert';
    const first = await runAtlas(['import', files.write('first.csv', numberedCsv(ROWS, 500)), '--table', table, ...conn]);
    assert.equal(first.code, 0, first.stderr);
    // SHARE mode lets atlas read the table (duplicate check) but not insert into it.
    const lock = await holdLock(db.url, `lock table ${qualify(db.schema, table)} in share mode`);
    let id = '';
    try {
      const atlas = startAtlas(['import', big, '--table', table, ...conn]);
      id = await inProgressImport(db.client, db.schema, table);
      const pid = await waitFor('the import backend', () => backendOfImport(db.client, id));
      await waitUntilBlocked(db.client, pid, /^insert into/);
      const sent = performance.now();
      atlas.child.kill('SIGINT');
      const run = await atlas.done;
      assert.ok(performance.now() - sent < CANCEL_EXIT_MS, `exited ${Math.round(performance.now() - sent)} ms after SIGINT`);
      assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(errorLines(run.stderr), [`atlas: import ${id} cancelled; nothing was written`]);
    } finally {
      await lock.release();
    }
    const rec = (await historyOf(db.client, db.schema)).find((r) => r.import_id === id);
    assert.equal(rec?.status, 'failed');
    assert.equal(rec?.error_message, 'cancelled');
    assert.equal(await countRows(db.client, db.schema, table), 500);
  });

  it('a statement timeout: failed with the server\'s reason, nothing written; without it the import succeeds', async () => {
    const table = 'timeout_table';
    const small = files.write('small.csv', numberedCsv(0, 2000));
    const lock = await holdLock(db.url, `select pg_advisory_xact_lock(hashtextextended('atlas:table:${db.schema}.${table}', 0))`);
    let run;
    try {
      const url = new URL(db.url);
      url.searchParams.set('options', '-c statement_timeout=1000');
      run = await startAtlas(['import', small, '--table', table, '--database-url', url.toString(), '--schema', db.schema]).done;
    } finally {
      await lock.release();
    }
    assert.equal(run.code, 1, run.stderr);
    assertCleanStderr(run.stderr);
    const rec = await recordOf(db, table);
    assert.deepEqual(errorLines(run.stderr), [`atlas: import ${rec.import_id} into ${table} failed: canceling statement due to statement timeout (SQLSTATE 57014)`]);
    assert.equal(rec.status, 'failed');
    assert.match(rec.error_message ?? '', /statement timeout/);
    assert.equal(await tableExists(db.client, db.schema, table), false);

    const again = await runAtlas(['import', small, '--table', table, '--json', ...conn]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { rows_inserted: number }).rows_inserted, 2000);
  });

  describe('the backend terminated (pg_terminate_backend)', () => {
    const terminated: string[] = [];

    it('mid-COPY: one clear line naming the import, exit 1, no table; the same command then succeeds in full', async () => {
      const table = 'term_copy';
      const args = ['import', big, '--table', table, ...conn];
      const atlas = startAtlas(args, { pause: 'copy' });
      await atlas.paused('copy');
      const id = await inProgressImport(db.client, db.schema, table);
      terminated.push(id);
      const pid = await backendOfImport(db.client, id);
      await db.client.query('select pg_terminate_backend($1)', [pid]);
      const run = await atlas.done;
      assert.equal(run.code, 1, run.stderr);
      assertCleanStderr(run.stderr);
      assert.deepEqual(errorLines(run.stderr), [`atlas: import ${id} into ${table} failed: terminating connection due to administrator command (SQLSTATE 57P01)`]);
      assert.equal(await tableExists(db.client, db.schema, table), false);
      const rec = await recordOf(db, table);
      assert.equal(rec.status, 'failed');

      const again = await runAtlas([...args, '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout) as { rows_inserted: number }).rows_inserted, ROWS);
      assert.equal(await countRows(db.client, db.schema, table), ROWS);
    });

    it('mid-INSERT: same, and the rows of the earlier import are intact', async () => {
      const table = 'term_insert';
      const first = await runAtlas(['import', files.write('term_first.csv', numberedCsv(ROWS, 500)), '--table', table, ...conn]);
      assert.equal(first.code, 0, first.stderr);
      const args = ['import', big, '--table', table, ...conn];
      const lock = await holdLock(db.url, `lock table ${qualify(db.schema, table)} in share mode`);
      let id = '';
      let run;
      try {
        const atlas = startAtlas(args);
        id = await inProgressImport(db.client, db.schema, table);
        terminated.push(id);
        const pid = await waitFor('the import backend', () => backendOfImport(db.client, id));
        await waitUntilBlocked(db.client, pid, /^insert into/);
        await db.client.query('select pg_terminate_backend($1)', [pid]);
        run = await atlas.done;
      } finally {
        await lock.release();
      }
      assert.equal(run.code, 1, run.stderr);
      assertCleanStderr(run.stderr);
      assert.deepEqual(errorLines(run.stderr), [`atlas: import ${id} into ${table} failed: terminating connection due to administrator command (SQLSTATE 57P01)`]);
      assert.equal(await countImportRows(db.client, db.schema, table, id), 0);
      assert.equal(await countRows(db.client, db.schema, table), 500);

      const again = await runAtlas([...args, '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout) as { rows_inserted: number }).rows_inserted, ROWS);
      assert.equal(await countRows(db.client, db.schema, table), ROWS + 500);
    });

    it('its history record says why: failed, with the server\'s reason', async () => {
      assert.equal(terminated.length, 2);
      for (const id of terminated) {
        const rec = (await historyOf(db.client, db.schema)).find((r) => r.import_id === id);
        assert.equal(rec?.status, 'failed');
        assert.match(rec?.error_message ?? '', /terminating connection due to administrator command/);
      }
    });
  });
});

describe('atlas against a server that accepts the connection and never answers', { timeout: 180_000 }, () => {
  const files = useTempDir('atlas-unanswered-');
  const env = { PGCONNECT_TIMEOUT: undefined };

  it('SIGTERM while an import connects ends it: cancelled, nothing written, exit 1 (pg alone waits until the server closes)', async () => {
    const server = await listenWithoutAnswering();
    try {
      const file = files.write('a.csv', 'a\n1\n');
      // No connect_timeout: atlas's default (30 s) is not what ends it.
      const atlas = startAtlas(['import', file, '--database-url', server.url()], { env, timeoutMs: 90_000 });
      await server.connected;
      atlas.child.kill('SIGTERM');
      const run = await atlas.done;
      assert.equal(run.timedOut, false, 'atlas ended');
      assert.equal(run.code, 1, run.stderr);
      assertCleanStderr(run.stderr);
      assert.deepEqual(errorLines(run.stderr), [`atlas: cancelled while connecting to PostgreSQL at 127.0.0.1:${server.port}; nothing was written`]);
    } finally {
      await server.close();
    }
  });

  it('the URL\'s connect_timeout ends a read command\'s wait: one line with a hint, exit 1', async () => {
    const server = await listenWithoutAnswering();
    try {
      const run = await runAtlasWith(['history', '--database-url', server.url('?connect_timeout=1')], { env, timeoutMs: 90_000 });
      assert.equal(run.timedOut, false, 'atlas ended');
      assert.equal(run.code, 1, run.stderr);
      assertCleanStderr(run.stderr);
      assert.deepEqual(errorLines(run.stderr), [`atlas: cannot connect to PostgreSQL: 127.0.0.1:${server.port} did not answer within 1 s (a frozen server, a firewall that drops the packets, or a proxy whose server is gone?)`]);
      assert.match(run.stderr, /^ {2}hint: .*connect_timeout=N in the URL or PGCONNECT_TIMEOUT sets how long to wait \(default 30 s\)$/m);
      assert.doesNotMatch(run.stderr, /secret/, 'the password never shows');
    } finally {
      await server.close();
    }
  });
});
