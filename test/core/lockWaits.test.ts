/**
 * An import that waits for a lock another session holds says so while it waits (a cron log must
 * show why nothing happens) and records who held it and for how long at least.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { compactHistory } from '../../src/core/compact.ts';
import { pruneHistory } from '../../src/core/history.ts';
import { importFile, type ImportOptions } from '../../src/core/import.ts';
import { ImportFailedError } from '../../src/errors.ts';
import { importBatch } from '../../src/core/importBatch.ts';
import { undoImport } from '../../src/core/undo.ts';
import { undoBatch } from '../../src/core/undoBatch.ts';
import type { LockWait } from '../../src/db/lockWaits.ts';
import { qualify } from '../../src/transform/naming.ts';
import { csv, runAtlas, useTempDir, useTestDb, type RunResult, type TestDb } from '../helpers.ts';

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

/** `act` run while `lock` is held: the waits it was told of, the holder released at the first. */
async function whileHeld<T>(db: TestDb, lock: string, act: (onLockWait: (wait: LockWait) => void) => Promise<T>): Promise<{ result: T; waits: LockWait[]; holderPid: number }> {
  const holder = await holdLock(db, lock);
  const waits: LockWait[] = [];
  const result = await act((wait) => {
    waits.push(wait);
    void holder.release();
  });
  await holder.release();
  return { result, waits, holderPid: holder.pid };
}

/** Runs atlas with `args` while table `table` is locked; `onWaiting` once atlas says it waits (the lock is released after the run in any case). */
async function runWhileTableLocked(db: TestDb, table: string, args: string[], onWaiting: (child: ChildProcess, holder: { release: () => Promise<void> }) => void): Promise<{ run: RunResult; holderPid: number }> {
  const holder = await holdLock(db, `lock table ${qualify(db.schema, table)} in access exclusive mode`);
  let stderr = '';
  let said = false;
  const run = await runAtlas([...args, '--database-url', db.url, '--schema', db.schema], {
    onSpawn: (child) =>
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (said || !/waiting \d+ s so far/.test(stderr)) return;
        said = true;
        onWaiting(child, holder);
      }),
  });
  await holder.release();
  return { run, holderPid: holder.pid };
}

/** Runs atlas with `args` while table `table` is locked, released once atlas says it waits; its exit code 0 and its line on stderr checked. */
async function assertCommandSaysItWaits(db: TestDb, table: string, args: string[], what: string): Promise<void> {
  const { run, holderPid } = await runWhileTableLocked(db, table, args, (_child, holder) => void holder.release());
  assert.equal(run.code, 0, run.stderr);
  const line = `^atlas: waiting \\d+ s so far for a lock on table .*${table} held by another session: pid ${holderPid} \\(.*lock-holder-test; .*\\); ${what} goes on when that session's transaction ends$`;
  assert.match(run.stderr, new RegExp(line, 'm'));
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

  it('says a wait of the connection that writes its record: import_history locked as another import making a table locks it until it commits (an --atomic batch: 19.8 s without a word)', async () => {
    await importFile(db.settings, { ...base, table: 'waits_other', source: files.write('g.csv', csv([['k'], ['g']])) });
    const { result, waits, holderPid } = await whileHeld(db, `lock table ${qualify(db.schema, 'import_history')} in share row exclusive mode`, (onLockWait) =>
      importFile(db.settings, { ...base, table: 'waits_other', source: files.write('h.csv', csv([['k'], ['h']])), onLockWait }),
    );
    assert.equal(result.rows_inserted, 1);
    assert.deepEqual(
      waits.map((w) => [w.waitingFor?.relation, w.holders.map((h) => h.pid)]),
      [[qualify(db.schema, 'import_history').replaceAll('"', ''), [holderPid]]],
    );
    assert.equal(result.warnings.filter((w) => /^waited .*import_history held by another session/.test(w)).length, 1, result.warnings.join('\n'));
  });

  it('a record that could not be written (lock_timeout behind that lock) is said not to exist, not "could not be marked failed"', async () => {
    await importFile(db.settings, { ...base, table: 'waits_timeout', source: files.write('i.csv', csv([['k'], ['i']])) });
    const url = new URL(db.settings.databaseUrl!);
    url.searchParams.set('options', '-c lock_timeout=300');
    const settings = { ...db.settings, databaseUrl: url.toString() };
    const attempt = (name: string) => importFile(settings, { ...base, table: 'waits_timeout', source: files.write(name, csv([['k'], [name]])) });
    const history = () => db.rows<{ status: string; error_message: string | null }>(`select status, error_message from ${qualify(db.schema, 'import_history')} where file_name = $1`, ['j.csv']);
    const holder = await holdLock(db, `lock table ${qualify(db.schema, 'import_history')} in share row exclusive mode`);
    // Held throughout: no record can be written, and the failure says so (it said the record "could not be marked failed").
    await assert.rejects(attempt('j.csv'), (err: unknown) => err instanceof ImportFailedError && /lock timeout/.test(err.message) && err.warnings.some((w) => /^no history record of import .* could be written \(.*lock timeout/.test(w)));
    assert.deepEqual(await history(), []);
    await holder.release();
  });

  it('the command says so on stderr under cron (no terminal, no --progress), with the holder', async () => {
    await importFile(db.settings, { ...base, table: 'waits3', source: files.write('e.csv', csv([['k'], ['e']])) });
    await assertCommandSaysItWaits(db, 'waits3', ['import', files.write('f.csv', csv([['k'], ['f']])), '--table', 'waits3'], 'the import');
  });
});

describe('undo, undo of a batch, history prune and history compact waiting for a lock', () => {
  const db = useTestDb();
  const files = useTempDir();
  const poll = { lockWaitPollMs: 100 };
  const undoOptions = { dryRun: false, force: false, purge: false, ...poll };

  it('undo is told who holds its table, and goes on when it is released', async () => {
    const r = await importFile(db.settings, { table: 'uw', source: files.write('u.csv', csv([['k'], ['a'], ['b']])) });
    const { result, waits, holderPid } = await whileHeld(db, `lock table ${qualify(db.schema, 'uw')} in access exclusive mode`, (onLockWait) => undoImport(db.settings, r.import_id, { ...undoOptions, onLockWait }));
    assert.equal(result.rows_removed, 2);
    assert.deepEqual(waits.map((w) => [w.waitingFor?.lockType, w.holders.map((h) => h.pid)]), [['relation', [holderPid]]]);
  });

  /** Runs `args` (an undo) while `table` is locked, SIGINT once it says it waits: exit 1, `said` on stderr, the records still `success`, the rows still there. */
  async function assertUndoCancelled(args: string[], table: string, said: RegExp, importIds: readonly string[], rows: number): Promise<void> {
    const { run } = await runWhileTableLocked(db, table, [...args, '--yes'], (child) => child.kill('SIGINT'));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^atlas: cancelling: rolling back the undo.*\.\.\.$/m);
    assert.match(run.stderr, said);
    const recs = await db.rows<{ status: string }>(`select status from ${qualify(db.schema, 'import_history')} where import_id = any($1::uuid[])`, [importIds]);
    assert.deepEqual(recs.map((x) => x.status), importIds.map(() => 'success'));
    assert.equal((await db.rows(`select 1 from ${qualify(db.schema, table)}`)).length, rows);
  }

  it('Ctrl-C while undo waits (or runs) cancels its statement: it rolls back at once, exit 1, saying so (it died by the signal, the server finishing on its own)', async () => {
    const r = await importFile(db.settings, { table: 'uc', source: files.write('uc.csv', csv([['k'], ['a'], ['b']])) });
    await assertUndoCancelled(['undo', r.import_id], 'uc', new RegExp(`^atlas: undo of import ${r.import_id} cancelled; rolled back, nothing was changed$`, 'm'), [r.import_id], 2);
  });

  it('Ctrl-C during undo --batch rolls back every import of it, exit 1', async () => {
    const dir = join(files.dir, 'cancelled');
    mkdirSync(dir);
    files.write('cancelled/one.csv', csv([['k'], ['1']]));
    files.write('cancelled/two.csv', csv([['k'], ['2']]));
    const batch = await importBatch(db.settings, { sources: [dir], table: 'ucb', format: null, delimiter: null, header: true, encoding: null, name: null, recursive: false, pattern: null, atomic: false, stopOnError: false });
    const ids = batch.files.map((f) => f.import_id!);
    await assertUndoCancelled(['undo', '--batch', batch.batch_id], 'ucb', new RegExp(`^atlas: undo of batch ${batch.batch_id} cancelled; rolled back, nothing was changed$`, 'm'), ids, 2);
  });

  it('undo of a batch is told who holds the table of one of its imports', async () => {
    const dir = join(files.dir, 'batch');
    mkdirSync(dir);
    files.write('batch/one.csv', csv([['k'], ['1']]));
    files.write('batch/two.csv', csv([['k'], ['2']]));
    const batch = await importBatch(db.settings, { sources: [dir], table: 'bw', format: null, delimiter: null, header: true, encoding: null, name: null, recursive: false, pattern: null, atomic: false, stopOnError: false });
    const { result, waits, holderPid } = await whileHeld(db, `lock table ${qualify(db.schema, 'bw')} in access exclusive mode`, (onLockWait) => undoBatch(db.settings, batch.batch_id, { ...undoOptions, onLockWait }));
    assert.equal(result.rows_removed, 2);
    assert.deepEqual(waits.map((w) => w.holders.map((h) => h.pid)), [[holderPid]]);
  });

  it('history prune is told who holds a record it deletes', async () => {
    const failed = await importFile(db.settings, { table: 'pw', source: files.write('empty.csv', 'k\n') }).then(
      () => assert.fail('a file without data rows fails'),
      (err: { importId?: string }) => err.importId!,
    );
    const { result, waits, holderPid } = await whileHeld(db, `select 1 from ${qualify(db.schema, 'import_history')} where import_id = '${failed}' for update`, (onLockWait) =>
      pruneHistory(db.settings, { olderThanSeconds: 0, dryRun: false, onlyIds: [failed], ...poll, onLockWait }),
    );
    assert.equal(result.pruned_count, 1);
    assert.deepEqual(waits.map((w) => w.holders.map((h) => h.pid)), [[holderPid]]);
  });

  it('history compact is told who holds an import whose previous versions it drops', async () => {
    await importFile(db.settings, { table: 'cw', mode: 'upsert', key: ['k'], source: files.write('c1.csv', csv([['k', 'v'], ['1', 'a']])) });
    const upsert = await importFile(db.settings, { table: 'cw', mode: 'upsert', key: ['k'], source: files.write('c2.csv', csv([['k', 'v'], ['1', 'b']])) });
    assert.equal(upsert.rows_updated, 1);
    const { result, waits, holderPid } = await whileHeld(db, `select 1 from ${qualify(db.schema, 'import_history')} where import_id = '${upsert.import_id}' for update`, (onLockWait) =>
      compactHistory(db.settings, { olderThanSeconds: 0, dryRun: false, ...poll, onLockWait }),
    );
    assert.equal(result.preimages_dropped, 1);
    assert.deepEqual(waits.map((w) => w.holders.map((h) => h.pid)), [[holderPid]]);
  });

  it('the undo command says so on stderr under cron, naming itself', async () => {
    const r = await importFile(db.settings, { table: 'uw2', source: files.write('u2.csv', csv([['k'], ['a']])) });
    await assertCommandSaysItWaits(db, 'uw2', ['undo', r.import_id, '--yes'], 'the undo');
  });
});
