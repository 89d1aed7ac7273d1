/**
 * kill -9 of the atlas process at every phase of an import (ATLAS_DEBUG_PAUSE points): the server
 * rolls the import's transaction back when its connection drops, so none of its rows (nor its
 * table, when it created one) remain; the in_progress record left behind is stored as failed
 * (interrupted) by the next atlas to connect; imports before and after are unaffected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runAtlas, useTempDir, useTestDb } from '../helpers.ts';
import { isInterrupted, type ImportRecord } from '../../src/db/history.ts';
import { assertPromiseHolds, backendOfImport, countRows, historyOf, numberedCsv, startAtlas, tableExists, waitFor } from './helpers.ts';

/** Every pause point, in the order an import reaches them. */
const POINTS = ['reading', 'staging', 'copy', 'types', 'duplicates', 'insert', 'commit'] as const;
/** Rows of the killed file: over 1 MB of COPY text, so the `copy` point (after the first ~1 MB chunk) is reached. */
const KILLED_ROWS = 35_000;
const BASE_ROWS = 1000;

describe('kill -9 of atlas at each phase of an import', { timeout: 180_000 }, () => {
  const db = useTestDb();
  const files = useTempDir('atlas-kill-');
  let conn: string[];
  let killedFile: string;
  const killedIds: string[] = [];

  before(async () => {
    conn = ['--database-url', db.url, '--schema', db.schema];
    // An earlier import into the same table: it must come through every kill untouched.
    const base = files.write('base.csv', numberedCsv(0, BASE_ROWS));
    const r = await runAtlas(['import', base, '--table', 'events', ...conn]);
    assert.equal(r.code, 0, r.stderr);
    killedFile = files.write('killed.csv', numberedCsv(1_000_000, KILLED_ROWS));
  });

  for (const point of POINTS) {
    it(`at ${point}: no row of the import remains, the earlier import is intact, its record is stored as failed (interrupted)`, async () => {
      const before = new Set((await historyOf(db.client, db.schema)).map((r) => r.import_id));
      const atlas = startAtlas(['import', killedFile, '--table', 'events', ...conn], { pause: point });
      await atlas.paused(point);
      atlas.child.kill('SIGKILL');
      const run = await atlas.done;
      assert.equal(run.signal, 'SIGKILL');

      const fresh = (await historyOf(db.client, db.schema)).filter((r) => !before.has(r.import_id));
      if (point === 'reading') {
        // Killed before it touched the database: nothing to roll back, nothing recorded.
        assert.equal(fresh.length, 0);
      } else {
        assert.equal(fresh.length, 1);
        const id = fresh[0]!.import_id;
        killedIds.push(id);
        // The server notices the dropped connection, rolls back and releases the import's lock;
        // then atlas, connecting, stores the record as failed (interrupted).
        await waitFor('the import\'s lock to be released', async () => (await backendOfImport(db.client, id)) === null);
        const shown = await runAtlas(['history', id, '--json', ...conn]);
        assert.equal(shown.code, 0, shown.stderr);
        const rec = (JSON.parse(shown.stdout) as { import_record: ImportRecord }).import_record;
        assert.equal(rec.status, 'failed');
        assert.equal(rec.metadata.interrupted, true);
        assert.match(rec.error_message ?? '', /^interrupted: .*nothing was written$/);
        const [row] = await db.rows<{ status: string; error_message: string }>(`select status, error_message from ${db.schema}.import_history where import_id = $1`, [id]);
        assert.deepEqual(row, { status: rec.status, error_message: rec.error_message }, 'SQL says what atlas says');
      }
      assert.equal(await countRows(db.client, db.schema, 'events'), BASE_ROWS, 'only the earlier import\'s rows are in the table');
      await assertPromiseHolds(db.client, db.schema);
    });
  }

  it('an import waiting for the table while another is killed mid-INSERT then completes', async () => {
    const killed = startAtlas(['import', killedFile, '--table', 'events', ...conn], { pause: 'insert' });
    await killed.paused('insert');
    // The paused import holds the table's lock: this one stages its rows, then waits for it.
    const waiting = startAtlas(['import', files.write('waiting.csv', numberedCsv(2_000_000, 300)), '--table', 'events', '--json', ...conn]);
    await waitFor('the second import to wait on the table lock', async () => {
      const r = await db.rows(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like 'select pg_advisory_xact_lock%' and application_name = 'atlas'`);
      return r.length > 0;
    });
    killed.child.kill('SIGKILL');
    const run = await waiting.done;
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { rows_inserted: number }).rows_inserted, 300);
    assert.equal(await countRows(db.client, db.schema, 'events'), BASE_ROWS + 300);
    await waitFor('the killed import to show interrupted', async () => !(await historyOf(db.client, db.schema)).some((r) => r.status === 'in_progress'));
    killedIds.push(...(await historyOf(db.client, db.schema)).filter((r) => isInterrupted(r) && !killedIds.includes(r.import_id)).map((r) => r.import_id));
    await assertPromiseHolds(db.client, db.schema);
  });

  it('a table created by a killed import does not exist afterwards', async () => {
    const atlas = startAtlas(['import', killedFile, '--table', 'fresh_table', ...conn], { pause: 'commit' });
    await atlas.paused('commit');
    atlas.child.kill('SIGKILL');
    await atlas.done;
    await waitFor('the killed import to be rolled back', async () => !(await historyOf(db.client, db.schema)).some((r) => r.status === 'in_progress'));
    assert.equal(await tableExists(db.client, db.schema, 'fresh_table'), false);
  });

  it('after the kills: history lists them as interrupted, stats and SQL count them as failed, undo refuses them, and the same import then succeeds in full', async () => {
    const listed = await runAtlas(['history', '--status', 'interrupted', '--json', ...conn]);
    assert.equal(listed.code, 0, listed.stderr);
    const interrupted = (JSON.parse(listed.stdout) as { imports: Array<{ import_id: string }> }).imports.map((i) => i.import_id);
    for (const id of killedIds) assert.ok(interrupted.includes(id), `${id} is listed as interrupted`);
    const shown = await runAtlas(['history', killedIds[0]!, ...conn]);
    assert.match(shown.stdout, /^ {2}status +failed \(interrupted\)$/m, 'shown as both');
    const stuck = await runAtlas(['history', '--status', 'in_progress', '--json', ...conn]);
    assert.equal((JSON.parse(stuck.stdout) as { total_count: number }).total_count, 0, 'nothing shows as running forever');
    const stats = await runAtlas(['stats', '--json', ...conn]);
    assert.equal(stats.code, 0, stats.stderr);
    const figures = JSON.parse(stats.stdout) as { in_progress_imports: number; failed_imports: number };
    assert.equal(figures.in_progress_imports, 0, 'stats counts none as running');
    const [sql] = await db.rows<{ failed: string; in_progress: string }>(
      `select count(*) filter (where status = 'failed') as failed, count(*) filter (where status = 'in_progress') as in_progress from ${db.schema}.import_history`,
    );
    assert.equal(figures.failed_imports, Number(sql!.failed), 'stats and SQL agree');
    assert.equal(Number(sql!.in_progress), 0);
    const failedListed = await runAtlas(['history', '--status', 'failed', '--json', ...conn]);
    assert.equal((JSON.parse(failedListed.stdout) as { total_count: number }).total_count, Number(sql!.failed), 'history --status failed and SQL agree');
    assert.ok(figures.failed_imports >= killedIds.length, 'stats counts the interrupted ones with the failed');

    const undo = await runAtlas(['undo', killedIds[0]!, '--yes', ...conn]);
    assert.equal(undo.code, 1);
    assert.match(undo.stderr, /interrupted/);

    const again = await runAtlas(['import', killedFile, '--table', 'events', '--json', ...conn]);
    assert.equal(again.code, 0, again.stderr);
    const out = JSON.parse(again.stdout) as { rows_inserted: number; total_rows_in_file: number };
    assert.equal(out.rows_inserted, KILLED_ROWS);
    assert.equal(await countRows(db.client, db.schema, 'events'), BASE_ROWS + 300 + KILLED_ROWS);
    await assertPromiseHolds(db.client, db.schema);
  });
});
