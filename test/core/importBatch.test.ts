/**
 * Batch import (issue 21) through the core: each file its own import on one connection, tables
 * named after the files or --table, files already imported skipped, a failed file among good ones,
 * --atomic, --stop-on-error, and an S3 prefix of several listing pages.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import pg from 'pg';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { undoBatch } from '../../src/core/undoBatch.ts';
import { importBatch, planBatch, type BatchOptions, type BatchResult } from '../../src/core/importBatch.ts';
import { csv, FIXTURES, openTestDb, tempDir, type TestDb } from '../helpers.ts';
import { assertPromiseHolds, countRows, historyOf, waitFor } from '../guarantees/helpers.ts';
import { listHistory } from '../../src/core/history.ts';
import type { ImportRecord } from '../../src/db/history.ts';
import { UsageError } from '../../src/errors.ts';
import { startWireRecorder } from '../guarantees/wireRecorder.ts';
import { useS3rver } from '../sources/s3rverHelper.ts';

const defaults: Omit<BatchOptions, 'sources'> = { table: null, format: null, delimiter: null, header: true, encoding: null, name: null, recursive: false, pattern: null, atomic: false, stopOnError: false };

/** A truncated JSON array: the reader fails on it. */
const CORRUPT_JSON = '[{"id": 1, "name": "a"}, {"id": 2, "name": ';

function statuses(r: BatchResult): string[] {
  return r.files.map((f) => `${f.file.replace(/^.*\//, '')}:${f.status}`);
}

/** The files' statuses, as expected; when not, the failure names each failed file's error. */
function assertStatuses(r: BatchResult, expected: string[]): void {
  const errors = r.files.filter((f) => f.error !== null && f.status === 'failed').map((f) => `${f.file}: ${f.error!.message}`);
  const actual = statuses(r);
  assert.deepEqual(actual, expected, errors.length > 0 ? `${actual.join(', ')}, expected ${expected.join(', ')}; failed files: ${errors.join('; ')}` : undefined);
}

describe('importBatch', { timeout: 600_000 }, () => {
  let db: TestDb;
  let files: ReturnType<typeof tempDir>;
  /** Writes a file below the temporary directory, making its directories. */
  const put = (path: string, content: string): void => {
    mkdirSync(dirname(join(files.dir, path)), { recursive: true });
    files.write(path, content);
  };
  /**
   * Hooks file `index` of a batch: when it commits, another connection queues for its table's lock
   * (granted as that file commits, before the next file, which asks only after that, can take it),
   * changes the table outside atlas (`sql`) and lets go. `before` runs first (to wait for a state to hold).
   */
  const changeTableAtCommit = (other: pg.Client, table: string, index: number, sql: string, before?: () => Promise<unknown>) => {
    let done: Promise<void> = Promise.resolve();
    const lockKey = `atlas:table:${db.schema}.${table}`;
    const onFileStart: BatchOptions['onFileStart'] = (_file, i) => ({
      onPhase: async (phase) => {
        if (i !== index || phase !== 'committing') return;
        await before?.();
        const pid = (await other.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
        const lock = other.query('select pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
        // Queued on the server before this file commits, so it is granted before the next file asks.
        await waitFor('the other connection to wait for the table lock', async () =>
          (await db.rows(`select 1 from pg_locks where pid = $1 and locktype = 'advisory' and not granted`, [pid])).length === 1,
        );
        done = lock.then(async () => {
          await other.query(sql);
          await other.query('select pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
        });
      },
    });
    return { onFileStart, done: () => done };
  };
  beforeEach(async () => {
    db = await openTestDb();
    files = tempDir('atlas-batch-');
  });
  afterEach(async () => {
    await db.close();
    files.cleanup();
  });

  it('imports a directory of mixed formats into tables named after the files, on one connection, each its own import naming the batch', async () => {
    put('in/customers.csv', csv([['id', 'name'], [1, 'ann'], [2, 'bob']]));
    put('in/orders.ndjson', '{"id": 1, "total": 9.5}\n{"id": 2, "total": 3}\n{"id": 3, "total": 1}\n');
    put('in/items.tsv', 'sku\tqty\nA\t1\n');
    put('in/notes.txt.bak', 'not data');
    const wire = await startWireRecorder(db.url, []);
    try {
      const r = await importBatch({ ...db.settings, databaseUrl: wire.url }, { ...defaults, sources: [`${files.dir}/in`] });
      assertStatuses(r, ['customers.csv:success', 'items.tsv:success', 'orders.ndjson:success']);
      assert.deepEqual(r.summary, { ...r.summary, files: 3, imported: 3, skipped: 0, partial: 0, failed: 0, not_run: 0, rows_inserted: 6 });
      // Two connections for the work (a file stages while the one before it commits) and one that
      // commits each file's in_progress record: a fixed number, not one per file.
      assert.equal(wire.connections, 3);
    } finally {
      await wire.close();
    }
    assert.equal(await countRows(db.client, db.schema, 'customers'), 2);
    assert.equal(await countRows(db.client, db.schema, 'orders'), 3);
    assert.equal(await countRows(db.client, db.schema, 'items'), 1);
    const records = await assertPromiseHolds(db.client, db.schema);
    assert.equal(records.length, 3);
    const batchIds = await db.rows<{ b: string }>(`select distinct metadata->>'batch_id' as b from ${db.schema}.import_history`);
    assert.equal(batchIds.length, 1);
    assert.match(batchIds[0]!.b, /^[0-9a-f-]{36}$/);
  });

  it('a batch uses a fixed number of connections whatever its number of files; --stop-on-error one fewer', async () => {
    for (let i = 0; i < 8; i++) put(`more/m${i}.csv`, csv([['id'], [i]]));
    const wire = await startWireRecorder(db.url, []);
    try {
      const more = await importBatch({ ...db.settings, databaseUrl: wire.url }, { ...defaults, sources: [`${files.dir}/more`], table: 'more' });
      assert.equal(more.summary.imported, 8);
      assert.equal(wire.connections, 3);
      // One file at a time, on one connection: a failure stops the batch before the next file begins.
      put('few/a.csv', csv([['id'], [1]]));
      put('few/b.csv', csv([['id'], [2]]));
      const one = await importBatch({ ...db.settings, databaseUrl: wire.url }, { ...defaults, sources: [`${files.dir}/few`], table: 'one_lane', stopOnError: true });
      assert.equal(one.summary.imported, 2);
      assert.equal(wire.connections, 5);
    } finally {
      await wire.close();
    }
  });

  it('files staged side by side still write in the batch order: a big first file keeps its rows, the small one after it finds them as duplicates', async () => {
    const big = Array.from({ length: 30_000 }, (_, k) => [k, `row ${k}`]);
    put('in/a.csv', csv([['id', 'v'], ...big]));
    put('in/b.csv', csv([['id', 'v'], [0, 'row 0'], [1, 'row 1'], [-1, 'new']]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'ordered' });
    assertStatuses(r, ['a.csv:success', 'b.csv:success']);
    assert.deepEqual(r.files.map((f) => f.rows_inserted), [30_000, 1]);
    const a = r.files[0]!.import_id!;
    const b = r.files[1]!.import_id!;
    const dups = await db.rows<{ import_id: string; n: number }>(`select import_id::text, count(*)::int as n from ${db.schema}.import_duplicates group by 1`);
    assert.deepEqual(dups, [{ import_id: b, n: 2 }]);
    const ids = await db.rows<{ import: string; lo: string; hi: string }>(`select _import_id::text as import, min(id)::text as lo, max(id)::text as hi from ${db.schema}.ordered group by 1`);
    const range = new Map(ids.map((x) => [x.import, x]));
    assert.ok(BigInt(range.get(a)!.hi) < BigInt(range.get(b)!.lo), 'the first file\'s rows have the lower ids');
    const records = await assertPromiseHolds(db.client, db.schema);
    assert.equal(records.length, 2);
  });

  it('records are stamped in the batch order even when a later file gets ahead of the one before it, so undo --batch takes them back newest first', async () => {
    put('in/a.csv', csv([['id'], [1], [2]]));
    put('in/b.csv', csv([['id'], [2], [3]]));
    // a.csv dawdles before its record until b.csv is staging, or a second has passed: without the
    // turn for records, b.csv's record would be stamped first.
    let bStaging!: () => void;
    const bIsStaging = new Promise<void>((resolve) => (bStaging = resolve));
    const r = await importBatch(db.settings, {
      ...defaults,
      sources: [`${files.dir}/in`],
      table: 'stamped',
      onFileStart: (_file, index) => ({
        onPhase: async (phase) => {
          if (index === 0 && phase === 'reading') await Promise.race([bIsStaging, new Promise((resolve) => setTimeout(resolve, 1000))]);
          if (index === 1 && phase === 'staging') bStaging();
        },
      }),
    });
    assertStatuses(r, ['a.csv:success', 'b.csv:success']);
    const stamped = await db.rows<{ import_id: string }>(`select import_id::text from ${db.schema}.import_history order by import_timestamp`);
    assert.deepEqual(stamped.map((x) => x.import_id), r.files.map((f) => f.import_id));
    // b.csv's rows and its duplicate were stamped (its transaction's start) after a.csv's import began, not before it.
    const [times] = await db.rows<{ rows_after: boolean; dup_after: boolean }>(
      `select (select min(t._imported_at) from ${db.schema}.stamped t where t._import_id = $2) >= (select h.import_timestamp at time zone current_setting('TimeZone') from ${db.schema}.import_history h where h.import_id = $1) as rows_after,
              (select min(d.detected_at) from ${db.schema}.import_duplicates d where d.import_id = $2) >= (select h.import_timestamp from ${db.schema}.import_history h where h.import_id = $1) as dup_after`,
      [r.files[0]!.import_id, r.files[1]!.import_id],
    );
    assert.deepEqual(times, { rows_after: true, dup_after: true });
    const undone = await undoBatch(db.settings, r.batch_id, { dryRun: false, force: false, reassign: false, purge: false });
    assert.equal(undone.rows_removed, 3);
    assert.equal(await countRows(db.client, db.schema, 'stamped'), 0);
  });

  it('a server that ends sessions idle in a transaction (idle_in_transaction_session_timeout) ends no file of a batch: not the one waiting for its turn, nor one paused between statements', async () => {
    for (const n of [1, 2, 3]) put(`idle/${n}.csv`, csv([['id'], [n]]));
    const url = new URL(db.url);
    url.searchParams.set('options', '-c idle_in_transaction_session_timeout=300');
    const settings = { ...db.settings, databaseUrl: url.toString() };
    // The first file pauses before its commit (idle in its transaction) while the second waits for its turn.
    const onFileStart: BatchOptions['onFileStart'] = (_file, i) => ({
      onPhase: async (phase) => {
        if (i === 0 && phase === 'committing') await new Promise((resolve) => setTimeout(resolve, 1000));
      },
    });
    const r = await importBatch(settings, { ...defaults, sources: [`${files.dir}/idle`], table: 'idle_t', onFileStart });
    assertStatuses(r, ['1.csv:success', '2.csv:success', '3.csv:success']);
  });

  it('files whose names make the same table name (Report.CSV, report.csv) are said to have gone into one table; with --table they are not', async () => {
    put('in/Report.CSV', csv([['id'], [1]]));
    put('in/report.csv', csv([['id'], [2]]));
    put('in/other.csv', csv([['id'], [3]]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`] });
    assertStatuses(r, ['Report.CSV:success', 'other.csv:success', 'report.csv:success']);
    assert.deepEqual(r.tables_named_alike, [{ table: 'report', files: [`${files.dir}/in/Report.CSV`, `${files.dir}/in/report.csv`] }]);
    put('in2/a.csv', csv([['id'], [4]]));
    put('in2/b.csv', csv([['id'], [5]]));
    const given = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in2`], table: 'given' });
    assert.deepEqual(given.tables_named_alike, []);
    // One name in folders by year is one table by design: not said to be named alike.
    put('years/2024/sales.csv', csv([['id'], [6]]));
    put('years/2025/sales.csv', csv([['id'], [7]]));
    const years = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/years`], recursive: true });
    assertStatuses(years, ['sales.csv:success', 'sales.csv:success']);
    assert.deepEqual(years.tables_named_alike, []);
  });

  it('a file removed after the listing fails on its own, with its record in the batch, and the others are imported', async () => {
    put('in/a.csv', csv([['id'], [1]]));
    put('in/b.csv', csv([['id'], [2]]));
    put('in/c.csv', csv([['id'], [3]]));
    const r = await importBatch(db.settings, {
      ...defaults,
      sources: [`${files.dir}/in`],
      table: 'gone',
      // c.csv is opened only once a lane is free of a.csv or b.csv: gone by then, as after a cleanup's move.
      onFileStart: (_file, index) => ({ onPhase: async (phase) => void (index === 0 && phase === 'reading' && rmSync(join(files.dir, 'in', 'c.csv'))) }),
    });
    assertStatuses(r, ['a.csv:success', 'b.csv:success', 'c.csv:failed']);
    const failed = r.files[2]!;
    assert.match(failed.error?.message ?? '', /file not found: .*c\.csv$/);
    assert.ok(failed.import_id !== null, 'the failed file has a record');
    const listed = await listHistory(db.settings, { batch: r.batch_id, table: null, user: null, status: null, since: null, limit: 10, offset: 0 });
    assert.deepEqual(listed.imports.map((i) => [i.file_name, i.status]).sort(), [['a.csv', 'success'], ['b.csv', 'success'], ['c.csv', 'failed']]);
  });

  it('the record of a file that cannot be read waits for the record of the file before it, as every file\'s does', async () => {
    put('in/a.csv', csv([['id'], [1]]));
    put('in/b.xls', 'not an xls');
    // a.csv dawdles before its record until b.xls has one, or two seconds have passed: without
    // the turn for records, b.xls's record would be stamped first.
    const bRecorded = (): Promise<unknown> =>
      waitFor('the record of b.xls', async () => (await db.rows(`select 1 from ${db.schema}.import_history where file_name = 'b.xls'`)).length > 0, 2000).catch(() => undefined);
    const r = await importBatch(db.settings, {
      ...defaults,
      sources: [`${files.dir}/in`],
      onFileStart: (_file, index) => ({
        onPhase: async (phase) => {
          if (index === 0 && phase === 'reading') await bRecorded();
        },
      }),
    });
    assertStatuses(r, ['a.csv:success', 'b.xls:failed']);
    const stamped = await db.rows<{ file_name: string }>(`select file_name from ${db.schema}.import_history order by import_timestamp`);
    assert.deepEqual(stamped.map((x) => x.file_name), ['a.csv', 'b.xls']);
  });

  it('a file whose table changed while it waited for its turn checks duplicates against the table as it is then (its early conversion is made again)', async () => {
    put('base.csv', csv([['a', 'b'], [1, 1], [2, 2]]));
    const base = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/base.csv`], table: 'changed' });
    assertStatuses(base, ['base.csv:success']);
    put('in/f1.csv', csv([['a', 'b'], [3, 3]]));
    put('in/f2.csv', csv([['a', 'b'], [1, 1], [4, 4]]));
    // While f1.csv commits, f2.csv has converted its rows for the table as it was (b integer). Then,
    // before f2.csv takes the table's lock, b becomes text outside atlas (the stored row hashes
    // go stale and are recomputed): f2.csv's early conversion no longer fits and is made again.
    const other = new pg.Client(db.url);
    await other.connect();
    try {
      const change = changeTableAtCommit(other, 'changed', 0, `alter table ${db.schema}.changed alter column b type text`, () =>
        waitFor('f2.csv to have converted its rows and wait for its turn', async () => {
          const n = await db.rows<{ n: number }>(
            `select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and query = 'release savepoint atlas_convert_early'`,
          );
          return n[0]!.n === 1;
        }),
      );
      const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'changed', onFileStart: change.onFileStart });
      await change.done();
      assertStatuses(r, ['f1.csv:success', 'f2.csv:success']);
      assert.deepEqual(r.files.map((f) => f.rows_inserted), [1, 1]);
      assert.equal(r.files[1]!.result!.duplicates_found, 1);
      const rows = await db.rows<{ a: number; b: string }>(`select a, b from ${db.schema}.changed order by id`);
      assert.deepEqual(rows, [{ a: 1, b: '1' }, { a: 2, b: '2' }, { a: 3, b: '3' }, { a: 4, b: '4' }]);
    } finally {
      await other.end();
    }
  });

  it('a file whose table was retyped after an earlier file of its connection sampled the row hashes samples them again (and finds them stale)', async () => {
    put('base.csv', csv([['a', 'b'], [1, 1], [2, 2]]));
    await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/base.csv`], table: 'resampled' });
    put('in/f1.csv', csv([['a', 'b'], [3, 3]]));
    put('in/f2.csv', csv([['a', 'b'], [4, 4]]));
    put('in/f3.csv', csv([['a', 'b'], [1, 1], [5, 5]]));
    // f1.csv and f3.csv share a connection (two lanes): f1.csv found the hashes right for the
    // table as it was. After f2.csv, b becomes text: f3.csv must not trust that finding, or its
    // copy of row (1, 1) would be compared on stale hashes and loaded twice.
    const other = new pg.Client(db.url);
    await other.connect();
    try {
      const change = changeTableAtCommit(other, 'resampled', 1, `alter table ${db.schema}.resampled alter column b type text`);
      const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'resampled', onFileStart: change.onFileStart });
      await change.done();
      assertStatuses(r, ['f1.csv:success', 'f2.csv:success', 'f3.csv:success']);
      assert.deepEqual(r.files.map((f) => f.rows_inserted), [1, 1, 1]);
      assert.equal(r.files[2]!.result!.duplicates_found, 1);
      assert.ok(r.files[2]!.result!.warnings.some((w) => /stored row hashes did not match/.test(w)), 'f3.csv sampled the hashes and recomputed them');
      const rows = await db.rows<{ a: number; b: string }>(`select a, b from ${db.schema}.resampled order by id`);
      assert.deepEqual(rows, [{ a: 1, b: '1' }, { a: 2, b: '2' }, { a: 3, b: '3' }, { a: 4, b: '4' }, { a: 5, b: '5' }]);
    } finally {
      await other.end();
    }
  });

  it('a trigger made between two files of one connection fires for the later one (the foreign key check it skipped is not skipped then)', async (t) => {
    const su = await db.rows<{ s: string }>(`select current_setting('is_superuser') as s`);
    if (su[0]!.s !== 'on') return t.skip('the test role is not a superuser: the check is never skipped');
    put('base.csv', csv([['a'], [1]]));
    await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/base.csv`], table: 'trig' });
    put('in/f1.csv', csv([['a'], [2]]));
    put('in/f2.csv', csv([['a'], [3]]));
    put('in/f3.csv', csv([['a'], [4], [5]]));
    await db.client.query(`create table ${db.schema}.trig_count (n int not null)`);
    await db.client.query(`insert into ${db.schema}.trig_count values (0)`);
    await db.client.query(`create function ${db.schema}.trig_bump() returns trigger language plpgsql as $$ begin update ${db.schema}.trig_count set n = n + 1; return new; end $$`);
    const other = new pg.Client(db.url);
    await other.connect();
    try {
      // f1.csv and f3.csv share a connection: f1.csv found that trig's inserts could skip their per-row checks.
      const change = changeTableAtCommit(other, 'trig', 1, `create trigger bump after insert on ${db.schema}.trig for each row execute function ${db.schema}.trig_bump()`);
      const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'trig', onFileStart: change.onFileStart });
      await change.done();
      assertStatuses(r, ['f1.csv:success', 'f2.csv:success', 'f3.csv:success']);
      assert.deepEqual(await db.rows(`select n from ${db.schema}.trig_count`), [{ n: 2 }], "the trigger fired for f3.csv's two rows");
    } finally {
      await other.end();
    }
  });

  it('imports a glob into one table with --table; a re-run skips every file; a new file alone is imported next time', async () => {
    put('drop/2026-01/a.csv', csv([['id', 'v'], [1, 'x']]));
    put('drop/2026-02/b.csv', csv([['id', 'v'], [2, 'y']]));
    put('drop/2026-02/c.json', '[{"id": 3, "v": "z"}]');
    const glob = `${files.dir}/drop/**/*.csv`;
    const first = await importBatch(db.settings, { ...defaults, sources: [glob], table: 'events' });
    assertStatuses(first, ['a.csv:success', 'b.csv:success']);
    assert.equal(await countRows(db.client, db.schema, 'events'), 2);
    const again = await importBatch(db.settings, { ...defaults, sources: [glob], table: 'events' });
    assertStatuses(again, ['a.csv:skipped', 'b.csv:skipped']);
    assert.equal(again.files[0]!.already_imported_by, first.files[0]!.import_id);
    assert.equal(again.summary.skipped, 2);
    assert.equal(again.summary.failed, 0);
    put('drop/2026-03/d.csv', csv([['id', 'v'], [4, 'w']]));
    const third = await importBatch(db.settings, { ...defaults, sources: [glob], table: 'events' });
    assertStatuses(third, ['a.csv:skipped', 'b.csv:skipped', 'd.csv:success']);
    assert.equal(await countRows(db.client, db.schema, 'events'), 3);
    assert.equal((await historyOf(db.client, db.schema)).length, 3);
  });

  it('history --batch of an --atomic batch, whose records share one transaction, lists them newest first, the last file first', async () => {
    for (const name of ['a', 'b', 'c', 'd']) put(`in/${name}.csv`, csv([['id'], [name]]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], atomic: true });
    assert.equal(r.summary.imported, 4);
    const page = await listHistory(db.settings, { table: null, user: null, status: null, since: null, batch: r.batch_id, limit: 10, offset: 0 });
    assert.deepEqual(page.imports.map((x) => x.file_name), ['d.csv', 'c.csv', 'b.csv', 'a.csv']);
  });

  it('--atomic: records are stamped in the batch order, so undo --batch takes back each file that repeats rows of the one before it first', async () => {
    // f1 holds row 1, f2 rows 1-2, ...: each file relies on every earlier one for its skipped duplicates.
    const names = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
    names.forEach((name, i) => put(`in/${name}.csv`, csv([['id'], ...Array.from({ length: i + 1 }, (_, k) => [k + 1])])));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'chain', atomic: true });
    assertStatuses(r, names.map((n) => `${n}.csv:success`));
    const stamped = await db.rows<{ file_name: string; n: number }>(
      `select file_name, count(*) over (partition by import_timestamp)::int as n from ${db.schema}.import_history order by import_timestamp`,
    );
    assert.deepEqual(stamped.map((x) => `${x.file_name}:${x.n}`), names.map((n) => `${n}.csv:1`), 'one timestamp per record, in file order');
    // Each file wrote its rows in a savepoint of its own: the id its record keeps for undo is that savepoint's, its rows' xmin.
    const xmins = await db.rows<{ same: boolean }>(
      `select h.metadata->>'import_xmin' = all(array(select t.xmin::text from ${db.schema}.chain t where t._import_id = h.import_id)) as same from ${db.schema}.import_history h where h.table_name = 'chain'`,
    );
    assert.deepEqual(xmins.map((x) => x.same), names.map(() => true));
    const undone = await undoBatch(db.settings, r.batch_id, { dryRun: false, force: false, reassign: false, purge: false });
    assert.deepEqual(undone.imports.map((x) => x.import_id), r.files.map((f) => f.import_id).reverse());
    assert.equal(undone.rows_removed, 6);
    assert.equal(await countRows(db.client, db.schema, 'chain'), 0);
  });

  it('a corrupt file among good ones fails alone: the others are committed, its record says why; a re-run imports only what is missing', async () => {
    put('in/a.csv', csv([['id'], [1]]));
    put('in/b.json', CORRUPT_JSON);
    put('in/c.csv', csv([['id'], [3]]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`] });
    assertStatuses(r, ['a.csv:success', 'b.json:failed', 'c.csv:success']);
    assert.equal(r.summary.failed, 1);
    assert.equal(await countRows(db.client, db.schema, 'a'), 1);
    assert.equal(await countRows(db.client, db.schema, 'c'), 1);
    const records = await assertPromiseHolds(db.client, db.schema);
    const failed = records.filter((x) => x.status === 'failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.import_id, r.files[1]!.import_id);
    assert.equal(failed[0]!.table_name, 'b');
    put('in/b.json', '[{"id": 2}]');
    const again = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`] });
    assertStatuses(again, ['a.csv:skipped', 'b.json:success', 'c.csv:skipped']);
  });

  it('--atomic: a corrupt file leaves no row of any file; every record is failed, the failed file with its error and the others naming it', async () => {
    put('in/a.csv', csv([['id'], [1]]));
    put('in/b.csv', csv([['id'], [2]]));
    put('in/c.json', CORRUPT_JSON);
    put('in/d.csv', csv([['id'], [4]]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'all_in', atomic: true });
    assertStatuses(r, ['a.csv:failed', 'b.csv:failed', 'c.json:failed']);
    assert.deepEqual(r.not_run.map((f) => f.replace(/^.*\//, '')), ['d.csv']);
    assert.equal(await countRows(db.client, db.schema, 'all_in'), 0);
    const records = await assertPromiseHolds(db.client, db.schema);
    assert.equal(records.length, 3);
    assert.ok(records.every((x) => x.status === 'failed'));
    const own = records.find((x) => x.import_id === r.files[2]!.import_id)!;
    assert.ok(own.error_message !== null && !own.error_message.startsWith('rolled back'), own.error_message ?? '');
    for (const f of r.files.slice(0, 2)) {
      const rec = records.find((x) => x.import_id === f.import_id)!;
      assert.match(rec.error_message ?? '', /rolled back with its --atomic batch: .*c\.json failed/);
    }
  });

  it('--atomic rolled back: the records of the files before the failed one keep what they knew (counts read, strategy, mapping, times), and count no row written', async () => {
    put('in/1.csv', csv([['id', 'v'], [1, 'a'], [2, 'b']]));
    put('in/2.csv', csv([['id', 'v'], [2, 'B'], [3, 'c']]));
    put('in/3.json', CORRUPT_JSON);
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'kept_figures', atomic: true, mode: 'upsert', key: ['id'] });
    assertStatuses(r, ['1.csv:failed', '2.csv:failed', '3.json:failed']);
    await assertPromiseHolds(db.client, db.schema);
    for (const f of r.files.slice(0, 2)) {
      const [rec] = await db.rows<ImportRecord>(`select * from ${db.schema}.import_history where import_id = $1`, [f.import_id]);
      assert.ok(rec !== undefined);
      assert.match(rec.error_message ?? '', /rolled back with its --atomic batch: .*3\.json failed/);
      const figures = { total: rec.total_rows_in_file, processed: rec.rows_processed, skipped: rec.rows_skipped, inserted: rec.rows_inserted, updated: rec.rows_updated, unchanged: rec.rows_unchanged, mode: rec.import_mode };
      assert.deepEqual(figures, { total: 2, processed: 2, skipped: 2, inserted: 0, updated: 0, unchanged: 0, mode: 'upsert' }, f.file);
      assert.ok(rec.import_strategy !== null && rec.mapping_config !== null && rec.parsing_time_seconds !== null && rec.file_hash !== null, JSON.stringify(rec));
    }
  });

  it('--atomic: every file commits together; a file already imported is skipped, not a failure', async () => {
    put('in/a.csv', csv([['id'], [1]]));
    const first = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 't', atomic: true });
    assertStatuses(first, ['a.csv:success']);
    put('in/b.csv', csv([['id'], [2]]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 't', atomic: true, allowSameFile: false });
    assertStatuses(r, ['a.csv:skipped', 'b.csv:success']);
    assert.equal(await countRows(db.client, db.schema, 't'), 2);
    const records = await assertPromiseHolds(db.client, db.schema);
    assert.deepEqual(records.map((x) => x.status).sort(), ['success', 'success']);
  });

  it('--atomic rolled back: a file skipped as a repeat of a file of the batch is reported not imported with it; one imported before the batch stays skipped', async () => {
    put('in/a.csv', csv([['id'], [1]]));
    const first = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 't', atomic: true });
    assertStatuses(first, ['a.csv:success']);
    put('in/b.csv', csv([['id'], [2]]));
    put('in/b_copy.csv', csv([['id'], [2]]));
    put('in/c.json', CORRUPT_JSON);
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 't', atomic: true });
    assertStatuses(r, ['a.csv:skipped', 'b.csv:failed', 'b_copy.csv:failed', 'c.json:failed']);
    assert.equal(r.files[0]!.already_imported_by, first.files[0]!.import_id);
    const copy = r.files[2]!;
    assert.deepEqual({ id: copy.import_id, by: copy.already_imported_by }, { id: null, by: null });
    assert.match(copy.error?.message ?? '', /rolled back with its --atomic batch: .*c\.json failed/);
    assert.deepEqual({ ...r.summary, duration_seconds: 0 }, { files: 4, imported: 0, skipped: 1, partial: 0, failed: 3, not_run: 0, rows_inserted: 0, duration_seconds: 0 });
    assert.equal(await countRows(db.client, db.schema, 't'), 1);
  });

  it('--atomic with --strict: a file stopped on its mapping errors leaves no row of any file, and its record says why', async () => {
    put('in/a.csv', csv([['id'], [1], [2]]));
    put('in/b.csv', csv([['id'], [3], ['three']]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'strict_t', atomic: true, strict: true });
    assertStatuses(r, ['a.csv:failed', 'b.csv:failed']);
    assert.equal(await countRows(db.client, db.schema, 'strict_t'), 0);
    const records = await assertPromiseHolds(db.client, db.schema);
    const own = records.find((x) => x.import_id === r.files[1]!.import_id)!;
    assert.equal(own.status, 'failed');
    assert.match(own.error_message ?? '', /mapping error/);
    assert.match(records.find((x) => x.import_id === r.files[0]!.import_id)!.error_message ?? '', /rolled back with its --atomic batch: .*b\.csv failed/);
  });

  it('--atomic whose COMMIT fails (a deferred constraint trigger, raising 53200 as a batch out of lock slots does): every record is kept, failed with the commit\'s error, with its mapping errors; no row is left; the hint says how to need fewer locks', async () => {
    put('seed.csv', csv([['id'], [0]]));
    const seed = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/seed.csv`], table: 'deferred' });
    assertStatuses(seed, ['seed.csv:success']);
    await db.client.query(`delete from ${db.schema}.deferred`);
    await db.client.query(`delete from ${db.schema}.import_history`);
    await db.client.query(`create function ${db.schema}.refuse_four() returns trigger language plpgsql as $$ begin if new.id = 4 then raise exception 'id 4 refused at commit' using errcode = '53200'; end if; return new; end $$`);
    await db.client.query(`create constraint trigger refuse_four after insert on ${db.schema}.deferred deferrable initially deferred for each row execute function ${db.schema}.refuse_four()`);
    for (let k = 1; k <= 6; k++) put(`in/${k}.csv`, csv(k === 2 ? [['id'], [2], ['two']] : [['id'], [k]]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'deferred', atomic: true });
    assertStatuses(r, ['1.csv', '2.csv', '3.csv', '4.csv', '5.csv', '6.csv'].map((f) => `${f}:failed`));
    assert.equal(await countRows(db.client, db.schema, 'deferred'), 0);
    const records = await assertPromiseHolds(db.client, db.schema);
    assert.deepEqual(records.map((x) => x.import_id).sort(), r.files.map((f) => f.import_id).sort());
    for (const rec of records) {
      assert.equal(rec.status, 'failed');
      assert.match(rec.error_message ?? '', /rolled back with its --atomic batch: its commit failed: id 4 refused at commit \(SQLSTATE 53200\)/);
    }
    for (const f of r.files) assert.match(f.error?.hint ?? '', /fewer files per --atomic batch.*max_locks_per_transaction/, f.file);
    const [two] = await db.rows<{ mapping_errors_count: number; n: string }>(
      `select h.mapping_errors_count, (select count(*) from ${db.schema}.mapping_errors e where e.import_id = h.import_id) as n from ${db.schema}.import_history h where import_id = $1`,
      [r.files[1]!.import_id],
    );
    assert.deepEqual({ counted: two!.mapping_errors_count, kept: Number(two!.n) }, { counted: 1, kept: 1 });
  });

  it('--atomic: the mapping errors of a file stopped on them outlive the rollback, every one as found, in file order', async () => {
    put('in/a.csv', csv([['id'], [1]]));
    // More errors than one page of those kept across the rollback, one of them with a line end, quotes and a non-ASCII character.
    const odd = 'two\nlines "q" \u00e9\u{1F600}';
    put('in/b.csv', csv([['id'], ...Array.from({ length: 2500 }, (_, k) => [`n${k + 1}`]), [odd]]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], table: 'kept_errors', atomic: true, strict: true });
    assertStatuses(r, ['a.csv:failed', 'b.csv:failed']);
    const b = r.files[1]!.import_id!;
    const [record] = await db.rows<{ mapping_errors_count: number }>(`select mapping_errors_count from ${db.schema}.import_history where import_id = $1`, [b]);
    assert.equal(record!.mapping_errors_count, 2501);
    const errors = await db.rows<{ record_number: number; source_value: string; error_type: string }>(
      `select record_number, source_value, error_type from ${db.schema}.mapping_errors where import_id = $1 order by id`,
      [b],
    );
    assert.deepEqual(errors.map((e) => e.record_number), Array.from({ length: 2501 }, (_, k) => k + 1));
    assert.equal(errors[0]!.source_value, 'n1');
    assert.equal(errors[2500]!.source_value, odd);
    assert.ok(errors.every((e) => e.error_type === errors[0]!.error_type));
  });

  it('--dry-run is the dry run of each file: tables as the import names them (mapping, --sheet by number), files that would fail, and nothing written', async () => {
    put('in/a.csv', csv([['id', 'name'], [1, 'ann'], [2, 'bob']]));
    put('in/b.json', CORRUPT_JSON);
    put('map.json', JSON.stringify({ table: 'people' }));
    const plan = await planBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], mappingFile: join(files.dir, 'map.json') });
    assert.deepEqual(plan.files.map((f) => `${f.file.replace(/^.*\//, '')}:${f.action}:${f.table_name}`), ['a.csv:import:people', 'b.json:fail:people']);
    assert.equal(plan.files[0]!.dry_run?.total_rows_in_file, 2);
    assert.match(plan.files[1]!.error?.message ?? '', /JSON/);
    // A sheet asked for by number is named by what the workbook calls it, as the import names it.
    const sheets = await planBatch(db.settings, { ...defaults, sources: [join(FIXTURES, 'real', 'datasets.xlsx'), join(FIXTURES, 'real', 'deaths.xlsx')], sheet: '2', range: null });
    assert.deepEqual(sheets.files.map((f) => `${f.action}:${f.table_name}`), ['import:datasets_mtcars', 'import:deaths_other']);
    const [made] = await db.client.query<{ n: number }>(`select count(*)::int as n from pg_tables where schemaname = $1 and tablename in ('people', 'datasets_mtcars', 'deaths_other')`, [db.schema]).then((r) => r.rows);
    assert.equal(made!.n, 0);
    assert.deepEqual(await historyOf(db.client, db.schema), []);
  });

  it('--stop-on-error stops at the first failed file; the files before it stay committed', async () => {
    put('in/a.csv', csv([['id'], [1]]));
    put('in/b.json', CORRUPT_JSON);
    put('in/c.csv', csv([['id'], [3]]));
    const r = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/in`], stopOnError: true });
    assertStatuses(r, ['a.csv:success', 'b.json:failed']);
    assert.equal(r.summary.not_run, 1);
    assert.equal(await countRows(db.client, db.schema, 'a'), 1);
    assert.equal(await countRows(db.client, db.schema, 'c'), 0);
  });

  it('--mode upsert --key and --mode replace apply to each file of a batch in turn, with exact counts', async () => {
    put('up/1.csv', csv([['sku', 'price'], ['a', 1], ['b', 2], ['c', 3]]));
    put('up/2.csv', csv([['sku', 'price'], ['b', 20], ['c', 3], ['d', 4]]));
    put('up/3.csv', csv([['sku', 'price'], ['d', 40], ['e', 5]]));
    const up = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/up`], table: 'prices', mode: 'upsert', key: ['sku'] });
    assertStatuses(up, ['1.csv:success', '2.csv:success', '3.csv:success']);
    const counts = (r: BatchResult) => r.files.map((f) => ({ inserted: f.result?.rows_inserted, updated: f.result?.rows_updated, unchanged: f.result?.rows_unchanged, deleted: f.result?.rows_deleted, mode: f.result?.import_mode }));
    assert.deepEqual(counts(up), [
      { inserted: 3, updated: 0, unchanged: 0, deleted: 0, mode: 'upsert' },
      { inserted: 1, updated: 1, unchanged: 1, deleted: 0, mode: 'upsert' },
      { inserted: 1, updated: 1, unchanged: 0, deleted: 0, mode: 'upsert' },
    ]);
    const prices = await db.rows<{ sku: string; price: number }>(`select sku, price from ${db.schema}.prices order by sku`);
    assert.deepEqual(prices.map((r) => `${r.sku}=${r.price}`), ['a=1', 'b=20', 'c=3', 'd=40', 'e=5']);

    put('rep/1.csv', csv([['sku', 'qty'], ['a', 1], ['b', 2], ['c', 3]]));
    put('rep/2.csv', csv([['sku', 'qty'], ['x', 7], ['y', 8]]));
    const rep = await importBatch(db.settings, { ...defaults, sources: [`${files.dir}/rep`], table: 'stock', mode: 'replace' });
    assertStatuses(rep, ['1.csv:success', '2.csv:success']);
    assert.deepEqual(counts(rep), [
      { inserted: 3, updated: 0, unchanged: 0, deleted: 0, mode: 'replace' },
      { inserted: 2, updated: 0, unchanged: 0, deleted: 3, mode: 'replace' },
    ]);
    const stock = await db.rows<{ sku: string }>(`select sku from ${db.schema}.stock order by sku`);
    assert.deepEqual(stock.map((r) => r.sku), ['x', 'y']);
    // Each file its own record, in the history as its mode.
    const modes = await db.rows<{ m: string; n: number }>(`select import_mode as m, count(*)::int as n from ${db.schema}.import_history where status = 'success' group by 1 order by 1`);
    assert.deepEqual(modes, [{ m: 'replace', n: 2 }, { m: 'upsert', n: 3 }]);
    await assertPromiseHolds(db.client, db.schema);
  });
});

describe('importBatch from an S3 prefix', { timeout: 300_000 }, () => {
  const s3 = useS3rver(['drop']);
  let db: TestDb;
  beforeEach(async () => {
    db = await openTestDb();
  });
  afterEach(async () => {
    await db.close();
  });

  it('imports every object of a prefix listed over several pages, in order of key, into one table', async () => {
    const objects: Record<string, string> = {};
    for (let i = 1; i <= 5; i++) objects[`exports/part-${i}.csv`] = csv([['id', 'part'], [i, `p${i}`]]);
    objects['exports/readme.md'] = 'not data';
    await s3.put('drop', objects);
    s3.requests.length = 0;
    const settings = { ...db.settings, s3: s3.settings };
    const r = await importBatch(settings, { ...defaults, sources: ['s3://drop/exports/'], table: 'parts', s3PageSize: 2 });
    assert.ok(s3.requests.filter((q) => q.includes('list-type=2')).length >= 3, s3.requests.join('\n'));
    assertStatuses(r, [1, 2, 3, 4, 5].map((i) => `part-${i}.csv:success`));
    assert.equal(await countRows(db.client, db.schema, 'parts'), 5);
    // The dry run reads each object to know it: all five already imported, one new one to import.
    await s3.put('drop', { 'exports/part-6.csv': csv([['id', 'part'], [6, 'p6']]) });
    const plan = await planBatch(settings, { ...defaults, sources: ['s3://drop/exports/'], table: 'parts', s3PageSize: 2 });
    assert.deepEqual(plan.files.map((f) => `${f.file.replace(/^.*\//, '')}:${f.action}`), [...[1, 2, 3, 4, 5].map((i) => `part-${i}.csv:skip`), 'part-6.csv:import']);
    assert.equal(plan.files[0]!.already_imported_by, r.files[0]!.import_id);
    assert.equal(plan.files[5]!.dry_run?.total_rows_in_file, 1);
    assert.equal(await countRows(db.client, db.schema, 'parts'), 5);
    const again = await importBatch(settings, { ...defaults, sources: ['s3://drop/exports/'], table: 'parts', s3PageSize: 2 });
    assert.equal(again.summary.skipped, 5);
    assert.equal(again.summary.imported, 1);
    await assertPromiseHolds(db.client, db.schema);
  });

  it('a lone key with [ ] that matches nothing is a missing object (exit 2), as the same local name is; a * glob or a prefix matching nothing is an empty night', async () => {
    await s3.put('drop', { 'glob/report[1].csv': csv([['id'], [1]]) });
    const settings = { ...db.settings, s3: s3.settings };
    await assert.rejects(importBatch(settings, { ...defaults, sources: ['s3://drop/glob/report[2].csv'], table: 'reports' }), (err: unknown) => err instanceof UsageError && /^s3:\/\/drop\/glob\/report\[2\]\.csv: no such file in the bucket$/.test(err.message));
    for (const empty of ['s3://drop/glob/*.tsv', 's3://drop/nothing/']) assert.equal((await importBatch(settings, { ...defaults, sources: [empty], table: 'reports' })).summary.files, 0, empty);
  });

  it('a re-run skips the objects already imported by their ETag, without downloading them; an object written again is imported again', async () => {
    const rows = (from: number) => csv([['id', 'name'], ...Array.from({ length: 40_000 }, (_, i) => [from + i, `name number ${from + i}`])]);
    await s3.put('drop', { 'big/a.csv': rows(0), 'big/b.csv': rows(1_000_000) });
    const settings = { ...db.settings, s3: s3.settings };
    const first = await importBatch(settings, { ...defaults, sources: ['s3://drop/big/'], table: 'big' });
    assertStatuses(first, ['a.csv:success', 'b.csv:success']);
    // The objects' bodies now stop after their first 64 KiB: a re-run that read them to the end would wait, and time out.
    s3.holdBodiesAfter = 65_536;
    process.env.ATLAS_S3_TIMEOUT_MS = '3000';
    let again: BatchResult;
    try {
      again = await importBatch(settings, { ...defaults, sources: ['s3://drop/big/'], table: 'big' });
    } finally {
      s3.holdBodiesAfter = null;
      delete process.env.ATLAS_S3_TIMEOUT_MS;
    }
    assert.deepEqual(again.files.map((f) => [f.status, f.already_imported_by]), first.files.map((f) => ['skipped', f.import_id]), JSON.stringify(again.files.map((f) => f.error)));
    // b.csv written again with other bytes of the same size: a new ETag, so it is read, hashed and imported.
    await s3.put('drop', { 'big/b.csv': rows(1_000_000).replace('name number 1000000', 'name NUMBER 1000000') });
    const third = await importBatch(settings, { ...defaults, sources: ['s3://drop/big/'], table: 'big' });
    assertStatuses(third, ['a.csv:skipped', 'b.csv:success']);
    assert.equal(third.files[1]!.result?.rows_inserted, 1);
    assert.equal(await countRows(db.client, db.schema, 'big'), 80_001);
  });
});
