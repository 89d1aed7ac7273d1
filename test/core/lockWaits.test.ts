/**
 * An import that waits for a lock another session holds says so while it waits (a cron log must
 * show why nothing happens) and records who held it and for how long at least.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { importFile, type ImportOptions } from '../../src/core/import.ts';
import type { LockWait } from '../../src/db/lockWaits.ts';
import { qualify } from '../../src/transform/naming.ts';
import { csv, runAtlas, useTempDir, useTestDb, type TestDb } from '../helpers.ts';

/** A session of its own holding `lock` in an open transaction until `release` is called. */
async function holdLock(db: TestDb, lock: string): Promise<{ pid: number; release: () => Promise<void> }> {
  const holder = new pg.Client({ connectionString: db.url, application_name: 'lock-holder-test' });
  await holder.connect();
  const pid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  await holder.query('begin');
  await holder.query(lock);
  let released: Promise<void> | null = null;
  const release = (): Promise<void> => (released ??= holder.query('commit').then(() => holder.end()));
  // An import that never says it waits fails its test instead of waiting for ever.
  setTimeout(() => void release(), 30_000).unref();
  return { pid, release };
}

describe('an import waiting for a lock', () => {
  const db = useTestDb();
  const files = useTempDir();
  const base: Omit<ImportOptions, 'source'> = { table: 'waits', lockWaitPollMs: 100 };

  it('is told who holds the table, once per holder, and records it in its warnings; an import that waits for nothing records nothing', async () => {
    const first = await importFile(db.settings, { ...base, source: files.write('a.csv', csv([['k'], ['a']])) });
    assert.deepEqual(first.warnings.filter((w) => /waited/.test(w)), []);
    const holder = await holdLock(db, `lock table ${qualify(db.schema, 'waits')} in access exclusive mode`);
    const waits: LockWait[] = [];
    const result = await importFile(db.settings, {
      ...base,
      source: files.write('b.csv', csv([['k'], ['b']])),
      onLockWait: (wait) => {
        waits.push(wait);
        // Held a little longer after it is seen, so that the wait is at least a second.
        if (waits.length === 1) setTimeout(() => void holder.release(), 1200);
      },
    });
    assert.equal(result.rows_inserted, 1);
    assert.equal(waits.length, 1, 'said when the holders change, not at every poll');
    assert.deepEqual(
      waits[0]!.holders.map((h) => [h.pid, h.application]),
      [[holder.pid, 'lock-holder-test']],
    );
    assert.deepEqual(waits[0]!.waitingFor, { lockType: 'relation', relation: qualify(db.schema, 'waits').replaceAll('"', '') });
    assert.deepEqual([waits[0]!.holders[0]!.state, waits[0]!.holders[0]!.query?.startsWith('lock table ')], ['idle in transaction', true]);
    const said = result.warnings.filter((w) => /^waited at least/.test(w));
    assert.equal(said.length, 1);
    // (The holder's state at the last poll may be its COMMIT: not asserted here.)
    assert.match(said[0]!, new RegExp(`^waited at least [1-9]\\d* s for a lock on table .*waits held by another session: pid ${holder.pid} \\(.*lock-holder-test; `));
    const recorded = await db.rows<{ warnings: string[] }>(`select warnings from ${qualify(db.schema, 'import_history')} where import_id = $1`, [result.import_id]);
    assert.deepEqual(recorded[0]!.warnings.filter((w) => /^waited at least/.test(w)), said);
  });

  it("names another import's hold of the table as such", async () => {
    await importFile(db.settings, { ...base, table: 'waits2', source: files.write('c.csv', csv([['k'], ['c']])) });
    const holder = await holdLock(db, `select pg_advisory_xact_lock(hashtextextended('atlas:table:${db.schema}.waits2', 0))`);
    const waits: LockWait[] = [];
    const result = await importFile(db.settings, {
      ...base,
      table: 'waits2',
      source: files.write('d.csv', csv([['k'], ['d']])),
      onLockWait: (wait) => {
        waits.push(wait);
        void holder.release();
      },
    });
    assert.equal(result.rows_inserted, 1);
    assert.equal(waits.length, 1);
    const said = result.warnings.find((w) => /^waited/.test(w)) ?? '';
    assert.match(said, /for the table's import lock \(another atlas import or undo of the table\) held by another session: pid \d+/);
    // The holder's statement without its string literals (another session's may hold secrets).
    assert.match(said, /: select pg_advisory_xact_lock\(hashtextextended\('\.\.\.', 0\)\)\)$/);
    assert.doesNotMatch(said, /atlas:table:/);
  });

  it('the command says so on stderr under cron (no terminal, no --progress), with the holder', async () => {
    const conn = ['--database-url', db.url, '--schema', db.schema];
    await importFile(db.settings, { ...base, table: 'waits3', source: files.write('e.csv', csv([['k'], ['e']])) });
    const holder = await holdLock(db, `lock table ${qualify(db.schema, 'waits3')} in access exclusive mode`);
    let stderr = '';
    const run = await runAtlas(['import', files.write('f.csv', csv([['k'], ['f']])), '--table', 'waits3', ...conn], {
      onSpawn: (child) =>
        child.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (/waiting \d+ s so far/.test(stderr)) void holder.release();
        }),
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`^atlas: waiting \\d+ s so far for a lock on table .*waits3 held by another session: pid ${holder.pid} \\(.*lock-holder-test; .*\\); the import goes on when that session's transaction ends$`, 'm'));
  });
});
