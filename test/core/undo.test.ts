import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { getImport } from '../../src/core/history.ts';
import { traceLineage } from '../../src/core/lineage.ts';
import { getStats } from '../../src/core/stats.ts';
import { importFile } from '../../src/core/import.ts';
import { undoImport, type UndoOptions } from '../../src/core/undo.ts';
import { AtlasError, ImportFailedError, NotFoundError } from '../../src/errors.ts';
import { assertPromiseHolds, waitFor } from '../guarantees/helpers.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';
import { importInto, insertRecord } from '../importHelpers.ts';

const run: UndoOptions = { dryRun: false, force: false, purge: false };

describe('undoImport', () => {
  const db = useTestDb();
  const files = useTempDir();
  before(async () => {
    db.settings.user = 'undoer';
  });

  const rowsOf = async (table: string) => db.rows<{ name: string; _import_id: string }>(`select name, _import_id from ${db.schema}.${table} order by id`);
  const record = async (id: string) => (await db.rows<Record<string, unknown>>(`select * from ${db.schema}.import_history where import_id = $1`, [id]))[0];

  it('removes exactly one import of two in the same table; the record stays as the audit trail', async () => {
    const a = await importInto(db.settings, files.write('batch1.csv', csv([['name', 'qty'], ['ada', 1], ['grace', 2], ['alan', 3]])), 'people');
    const b = await importInto(db.settings, files.write('batch2.csv', csv([['name', 'qty'], ['edsger', 4], ['barbara', 5]])), 'people');
    assert.equal((await rowsOf('people')).length, 5);

    const r = await undoImport(db.settings, a.import_id.slice(0, 8), run);
    assert.equal(r.import_id, a.import_id);
    assert.equal(r.rows_removed, 3);
    assert.equal(r.rows_to_remove, 3);
    assert.equal(r.force_reason, null);
    assert.equal(r.purged, false);
    assert.equal(r.undone_by, 'undoer');

    const left = await rowsOf('people');
    assert.deepEqual(left.map((x) => x.name), ['edsger', 'barbara'], "the other import's rows are untouched");
    assert.ok(left.every((x) => x._import_id === b.import_id));
    const h = await record(a.import_id);
    assert.equal(h?.status, 'undone');
    assert.equal(h?.undone_by, 'undoer');
    assert.equal(h?.rows_removed, 3);
    assert.ok(h?.undone_at instanceof Date);
    const [same] = await db.rows<{ same: boolean }>(`select updated_at = undone_at as same from ${db.schema}.import_history where import_id = $1`, [a.import_id]);
    assert.equal(same!.same, true, 'updated when undone, not a microsecond before');
    assert.equal(h?.rows_inserted, 3, 'what the import did stays recorded');
    assert.equal((await record(b.import_id))?.status, 'success');

    // Lineage after undo: only the remaining import.
    const lineage = await traceLineage(db.settings, 'people');
    assert.deepEqual(lineage.imports.map((i) => i.import_id), [b.import_id]);
    assert.equal(lineage.total_rows_contributed, 2);
    const stats = await getStats(db.settings, { table: 'people', user: null, days: 1 });
    assert.equal(stats.undone_imports, 1);
    assert.equal(stats.total_rows_removed, 3);
  });

  it('undoes an import into a table whose columns are named like the names its own checks use inside (x, e, h, k, value: vega-datasets\' points.json has x)', async () => {
    const a = await importInto(db.settings, files.write('points.csv', csv([['x', 'e', 'h', 'k', 'value'], [1.5, 'a', 2, 'k1', 10], [2.5, 'b', 3, 'k2', 20]])), 'points');
    const dry = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
    assert.equal(dry.rows_to_remove, 2);
    const r = await undoImport(db.settings, a.import_id, run);
    assert.equal(r.rows_removed, 2);
    assert.deepEqual(await db.rows(`select count(*)::int as n from ${db.schema}.points`), [{ n: 0 }]);
  });

  it('a dry run reports the row count and changes nothing', async () => {
    const a = await importInto(db.settings, files.write('dry.csv', csv([['name'], ['x'], ['y']])), 'dry_people');
    const before = await record(a.import_id);
    const r = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
    assert.equal(r.dry_run, true);
    assert.equal(r.rows_to_remove, 2);
    assert.equal(r.rows_removed, null);
    assert.equal(r.undone_at, null);
    assert.equal((await rowsOf('dry_people')).length, 2);
    assert.deepEqual(await record(a.import_id), before);
    // Dry run with --purge changes nothing either.
    await undoImport(db.settings, a.import_id, { ...run, dryRun: true, purge: true });
    assert.deepEqual(await record(a.import_id), before);
  });

  it('undo, then the same file imports again', async () => {
    const path = files.write('again.csv', csv([['name', 'n'], ['p', 1], ['q', 2]]));
    const first = await importInto(db.settings, path, 'again');
    await undoImport(db.settings, first.import_id, run);
    assert.equal((await rowsOf('again')).length, 0);
    const second = await importInto(db.settings, path, 'again');
    assert.equal(second.rows_inserted, 2);
    assert.notEqual(second.import_id, first.import_id);
    const rows = await rowsOf('again');
    assert.deepEqual(rows.map((r) => r.name), ['p', 'q']);
    assert.ok(rows.every((r) => r._import_id === second.import_id));
    assert.equal((await record(first.import_id))?.status, 'undone');
    const lineage = await traceLineage(db.settings, 'again');
    assert.deepEqual(lineage.imports.map((i) => [i.import_id, i.rows_now]), [[second.import_id, 2]]);
  });

  it('undoes a partial import; --purge deletes the record and its mapping errors too', async () => {
    const p = await importInto(db.settings, files.write('partial.csv', 'name,d\nok,2024-01-01\nbad,2024-02-30\nfine,2024-03-01\n'), 'partial_t');
    assert.equal(p.status, 'partial');
    assert.ok(p.mapping_errors_count > 0);
    const dry = await undoImport(db.settings, p.import_id, { ...run, dryRun: true, purge: true });
    assert.equal(dry.mapping_errors_removed, p.mapping_errors_count);
    const r = await undoImport(db.settings, p.import_id, { ...run, purge: true });
    assert.equal(r.rows_removed, p.rows_inserted);
    assert.equal(r.purged, true);
    assert.equal(await record(p.import_id), undefined);
    assert.equal((await db.rows(`select 1 from ${db.schema}.mapping_errors where import_id = $1`, [p.import_id])).length, 0);
    assert.equal((await rowsOf('partial_t')).length, 0);
    await assert.rejects(getImport(db.settings, p.import_id), NotFoundError);
  });

  it('refuses unknown, failed, interrupted, running and already undone imports (exit 1)', async () => {
    const isExit1 = (pattern: RegExp) => (err: unknown) => err instanceof AtlasError && err.exitCode === 1 && pattern.test(err.message);
    await assert.rejects(undoImport(db.settings, '00000000-0000-4000-8000-000000000000', run), isExit1(/no import/));

    const bad = files.write('bad.csv', Buffer.concat([Buffer.from('a,b\n1,2\n'), Buffer.from([0xc3, 0x28, 0x0a])]));
    const failedId = await importInto(db.settings, bad, 'bad_t').then(
      () => assert.fail('the import should fail'),
      (err: unknown) => (err as ImportFailedError).importId!,
    );
    await assert.rejects(undoImport(db.settings, failedId, run), isExit1(/failed: it committed no rows/));

    const interrupted = await insertRecord(db, { status: 'in_progress', table_name: 'people' });
    await assert.rejects(undoImport(db.settings, interrupted, run), isExit1(/interrupted/));

    const running = await insertRecord(db, { status: 'in_progress', table_name: 'people' });
    const importer = new pg.Client(db.url);
    await importer.connect();
    try {
      // The importer's lock, held by its transaction.
      await importer.query('begin');
      await importer.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`atlas:import:${running}`]);
      await assert.rejects(undoImport(db.settings, running, run), isExit1(/still running/));
    } finally {
      await importer.end();
    }

    const a = await importInto(db.settings, files.write('twice.csv', csv([['name'], ['t']])), 'twice');
    await undoImport(db.settings, a.import_id, run);
    await assert.rejects(undoImport(db.settings, a.import_id, run), isExit1(/already undone .* by undoer \(1 rows removed\)/));
    await assert.rejects(undoImport(db.settings, a.import_id, { ...run, force: true }), isExit1(/already undone/));

    // --purge on records that own no rows deletes just the record.
    const purged = await undoImport(db.settings, a.import_id, { ...run, purge: true });
    assert.equal(purged.rows_removed, 0);
    assert.equal(await record(a.import_id), undefined);
    await undoImport(db.settings, failedId, { ...run, purge: true });
    assert.equal(await record(failedId), undefined);
  });

  it('under a repeatable read default, an undo that waited for its table sees the import that held it: refused for the rows that import came to rely on (it deleted them)', async () => {
    const a = await importInto(db.settings, files.write('rr_a.csv', csv([['name'], ['r1'], ['r2']])), 'rr_undo');
    const holder = new pg.Client(db.url);
    await holder.connect();
    const key = `atlas:table:${db.schema}.rr_undo`;
    // Waiters on this table's lock only (a bigint advisory key is classid, high half, and objid).
    const waiting = async (n: number) =>
      (await db.rows(`select 1 from pg_locks where locktype = 'advisory' and not granted and objsubid = 1 and ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`, [key])).length === n;
    try {
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
      const later = importInto(db.settings, files.write('rr_b.csv', csv([['name'], ['r2'], ['r3']])), 'rr_undo');
      await waitFor('the later import to wait for the table', () => waiting(1));
      const url = new URL(db.url);
      url.searchParams.set('options', '-c default_transaction_isolation=repeatable\\ read');
      const undo = undoImport({ ...db.settings, databaseUrl: url.toString() }, a.import_id, run).then(() => null, (err: unknown) => err);
      await waitFor('the undo to wait behind it', () => waiting(2));
      await holder.query('commit');
      assert.equal((await later).duplicates_found, 1);
      const err = await undo;
      assert.ok(err instanceof AtlasError && /also the data of later imports/.test(err.message), String(err));
    } finally {
      await holder.end();
    }
    assert.deepEqual((await rowsOf('rr_undo')).map((r) => r.name), ['r1', 'r2', 'r3']);
  });

  it('refuses when rows were updated, deleted or added since, unless --force', async () => {
    const a = await importInto(db.settings, files.write('chg_a.csv', csv([['name', 'qty'], ['a1', 1], ['a2', 2], ['a3', 3]])), 'chg');
    const b = await importInto(db.settings, files.write('chg_b.csv', csv([['name', 'qty'], ['b1', 1]])), 'chg');
    const changed = (err: unknown) => err instanceof AtlasError && err.exitCode === 1 && /changed/.test(err.message) && /--force/.test(err.hint ?? '');

    // One row updated.
    await db.client.query(`update ${db.schema}.chg set qty = 99 where name = 'a2'`);
    await assert.rejects(undoImport(db.settings, a.import_id, run), changed);
    const dry = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
    assert.equal(dry.rows_changed, 1);
    assert.match(dry.force_reason ?? '', /1 of them updated/);
    assert.equal((await rowsOf('chg')).length, 4, 'refusal changed nothing');

    // A table-wide update touches every row of b: all of them changed, though they agree with each other.
    await db.client.query(`update ${db.schema}.chg set qty = qty + 1`);
    await assert.rejects(undoImport(db.settings, b.import_id, run), changed);

    const forced = await undoImport(db.settings, a.import_id, { ...run, force: true });
    assert.equal(forced.rows_removed, 3);
    assert.deepEqual((await rowsOf('chg')).map((r) => r.name), ['b1']);
    assert.equal((await record(a.import_id))?.rows_removed, 3);

    // A row deleted since: fewer rows than recorded.
    const c = await importInto(db.settings, files.write('chg_c.csv', csv([['name', 'qty'], ['c1', 1], ['c2', 2]])), 'chg');
    await db.client.query(`delete from ${db.schema}.chg where name = 'c1'`);
    await assert.rejects(undoImport(db.settings, c.import_id, run), (err: unknown) => changed(err) && /1 of the 2 it inserted no longer carry it/.test((err as Error).message));
    assert.equal((await undoImport(db.settings, c.import_id, { ...run, force: true })).rows_removed, 1);

    // A row added by hand with the import's id.
    const d = await importInto(db.settings, files.write('chg_d.csv', csv([['name', 'qty'], ['d1', 1]])), 'chg');
    await db.client.query(`insert into ${db.schema}.chg (name, qty, _import_id) values ('extra', 0, $1)`, [d.import_id]);
    await assert.rejects(undoImport(db.settings, d.import_id, run), changed);
    assert.equal((await undoImport(db.settings, d.import_id, { ...run, force: true })).rows_removed, 2);
  });

  it('a record edited in SQL (an auditor setting user_email) changes none of its rows: undo needs no --force, and an update of a row still does', async () => {
    const a = await importInto(db.settings, files.write('edited1.csv', csv([['name', 'qty'], ['ada', 1], ['grace', 2]])), 'edited_rec');
    assert.match(String(((await record(a.import_id))!.metadata as Record<string, unknown>).import_xmin), /^\d+$/, 'the record keeps its transaction id');
    await db.rows(`update ${db.schema}.import_history set user_email = 'ops@example.com' where import_id = $1`, [a.import_id]);
    const dry = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
    assert.deepEqual([dry.rows_to_remove, dry.rows_changed, dry.force_reason], [2, 0, null]);
    await db.rows(`update ${db.schema}.edited_rec set qty = 5 where name = 'ada'`);
    const changed = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
    assert.deepEqual([changed.rows_changed, changed.force_reason !== null], [1, true]);
  });

  it("atlas's own rewrite of row hashes (a later file adding a column) is no change; an update after it still is", async () => {
    const a = await importInto(db.settings, files.write('rh_a.csv', csv([['name', 'qty'], ['a1', 1], ['a2', 2]])), 'rehashed');
    const b = await importInto(db.settings, files.write('rh_b.csv', csv([['name', 'qty', 'colour'], ['b1', 3, 'red']])), 'rehashed');
    assert.equal(b.import_strategy, 'extend_table');
    const [meta] = await db.rows<{ rows: string }>(`select metadata->>'rehashed_rows' as rows from ${db.schema}.import_history where import_id = $1`, [b.import_id]);
    assert.equal(meta?.rows, '2', "b rewrote the hashes of a's two rows");
    const dry = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
    assert.deepEqual([dry.rows_to_remove, dry.rows_changed, dry.force_reason], [2, 0, null]);

    const c = await importInto(db.settings, files.write('rh_c.csv', csv([['name', 'qty', 'colour', 'size'], ['c1', 4, 'blue', 'L']])), 'rehashed');
    await db.client.query(`update ${db.schema}.rehashed set qty = 20 where name = 'a2'`);
    await assert.rejects(undoImport(db.settings, a.import_id, run), (err: unknown) => err instanceof AtlasError && /1 of them updated/.test(err.message));
    const undoB = await undoImport(db.settings, b.import_id, run);
    assert.equal(undoB.rows_removed, 1, "c's rewrite did not block b's undo");
    assert.deepEqual((await rowsOf('rehashed')).map((r) => r.name), ['a1', 'a2', 'c1']);
    assert.equal(c.rows_inserted, 1);
  });

  it('a partial import into an existing table (its rows written under a savepoint, which has an xid of its own) is undone without --force, and so is the import whose row hashes it rewrote', async () => {
    const a = await importInto(db.settings, files.write('sp_a.csv', csv([['name', 'qty'], ['a1', 1], ['a2', 2]])), 'partial_sp');
    const b = await importInto(db.settings, files.write('sp_b.csv', csv([['name', 'qty', 'colour'], ['b1', 3, 'red'], ['b2', 'many', 'blue']])), 'partial_sp');
    assert.deepEqual([b.status, b.rows_inserted], ['partial', 1]);
    const dryB = await undoImport(db.settings, b.import_id, { ...run, dryRun: true });
    assert.deepEqual([dryB.rows_to_remove, dryB.rows_changed, dryB.force_reason], [1, 0, null]);
    const dryA = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
    assert.deepEqual([dryA.rows_to_remove, dryA.rows_changed, dryA.force_reason], [2, 0, null]);
    assert.equal((await undoImport(db.settings, b.import_id, run)).rows_removed, 1);
    assert.equal((await undoImport(db.settings, a.import_id, run)).rows_removed, 2);
    assert.deepEqual(await rowsOf('partial_sp'), []);
  });

  it('an update by hand before atlas rewrote the row hashes (repairing the stale hash it left, or adding a column) still needs --force: the rewrite counts it on the record first', async () => {
    for (const [table, later] of [['rh_stale', [['k', 'v'], [7, 'x']]], ['rh_wider', [['k', 'v', 'extra'], [7, 'x', 'e']]]] as const) {
      const a = await importInto(db.settings, files.write(`${table}_a.csv`, csv([['k', 'v'], [1, 'a'], [2, 'b']])), table);
      await db.client.query(`update ${db.schema}.${table} set v = 'edited by hand' where k = 2`);
      const b = await importInto(db.settings, files.write(`${table}_b.csv`, csv(later.map((r) => [...r]))), table);
      const [meta] = await db.rows<{ rehashed: string | null; before: string | null }>(
        `select b.metadata->>'rehashed_rows' as rehashed, a.metadata->>'changed_before_rewrite' as before from ${db.schema}.import_history a, ${db.schema}.import_history b where a.import_id = $1 and b.import_id = $2`,
        [a.import_id, b.import_id],
      );
      assert.deepEqual(meta, { rehashed: '2', before: '1' }, table);
      const dry = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
      assert.deepEqual([dry.rows_changed, /1 of them updated/.test(dry.force_reason ?? '')], [1, true], `${table}: ${dry.force_reason}`);
      await assert.rejects(undoImport(db.settings, a.import_id, run), (err: unknown) => err instanceof AtlasError && /1 of them updated/.test(err.message));
      // The later import's own rows are its own: its undo needs nothing.
      assert.equal((await undoImport(db.settings, b.import_id, run)).rows_removed, 1);
    }
  });

  it('an import whose table was renamed: refused, --force too, naming where its rows are (it said the table no longer exists, and --force left them marked undone)', async () => {
    const a = await importInto(db.settings, files.write('renamed.csv', csv([['name'], ['r1'], ['r2']])), 'before_rename');
    await db.client.query(`alter table ${db.schema}.before_rename rename to after_rename`);
    for (const force of [false, true]) {
      await assert.rejects(undoImport(db.settings, a.import_id, { ...run, force }), (err: unknown) =>
        err instanceof AtlasError && err.message === `cannot undo import ${a.import_id}: its table ${db.schema}.before_rename is not there under that name, but its rows are: 2 row(s) in ${db.schema}.after_rename (renamed or moved since?)`);
    }
    const [rec] = await db.rows<{ status: string }>(`select status from ${db.schema}.import_history where import_id = $1`, [a.import_id]);
    assert.equal(rec!.status, 'success');
    await db.client.query(`alter table ${db.schema}.after_rename rename to before_rename`);
    assert.equal((await undoImport(db.settings, a.import_id, run)).rows_removed, 2);
  });

  it('an import whose table was dropped: refused, and --force marks it undone with 0 rows removed', async () => {
    const a = await importInto(db.settings, files.write('gone.csv', csv([['name'], ['g']])), 'gone');
    await db.client.query(`drop table ${db.schema}.gone`);
    await assert.rejects(undoImport(db.settings, a.import_id, run), (err: unknown) => err instanceof AtlasError && /no longer exists/.test(err.message));
    const r = await undoImport(db.settings, a.import_id, { ...run, force: true });
    assert.equal(r.table_exists, false);
    assert.equal(r.rows_removed, 0);
    const h = await record(a.import_id);
    assert.equal(h?.status, 'undone');
    assert.equal(h?.rows_removed, 0);
  });

  it('refuses when the row count differs from the one confirmed', async () => {
    const a = await importInto(db.settings, files.write('conf.csv', csv([['name'], ['c1'], ['c2']])), 'conf');
    await assert.rejects(undoImport(db.settings, a.import_id, { ...run, expectedRows: 5 }), /not the 5 you confirmed/);
    assert.equal((await record(a.import_id))?.status, 'success');
    assert.equal((await undoImport(db.settings, a.import_id, { ...run, expectedRows: 2 })).rows_removed, 2);
  });

  it('refuses when later imports rely on its rows (they skipped their copies as duplicates), naming them; --force deletes them as well', async () => {
    const a = await importInto(db.settings, files.write('dup_a.csv', csv([['name', 'qty'], ['x', 1], ['y', 2]])), 'dups');
    const b = await importInto(db.settings, files.write('dup_b.csv', csv([['name', 'qty'], ['y', 2], ['z', 3]])), 'dups');
    assert.equal(b.duplicates_found, 1);
    const plan = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
    assert.equal(plan.dependents, 'refused');
    assert.equal(plan.later_duplicates, 1);
    assert.equal(plan.dependent_rows, 1);
    assert.deepEqual(plan.dependent_imports.map((d) => [d.import_id, d.file_name, d.records, d.rows]), [[b.import_id, 'dup_b.csv', 1, 1]]);
    assert.equal((await undoImport(db.settings, b.import_id, { ...run, dryRun: true })).dependents, 'none');
    await assert.rejects(
      undoImport(db.settings, a.import_id, run),
      (err: unknown) => err instanceof AtlasError && err.message === `cannot undo import ${a.import_id}: 1 of its rows are also the data of later imports, which skipped their own copies of them as duplicates: ${b.import_id} (dup_b.csv, 1 record(s))` && /--reassign/.test(err.hint ?? ''),
    );
    assert.equal((await record(a.import_id))?.status, 'success', 'nothing changed');
    assert.equal((await rowsOf('dups')).length, 3);
    assert.equal((await undoImport(db.settings, a.import_id, { ...run, force: true, dryRun: true })).dependents, 'deleted');
    const r = await undoImport(db.settings, a.import_id, { ...run, force: true });
    assert.equal(r.dependents, 'deleted');
    assert.equal(r.rows_removed, 2);
    assert.deepEqual((await rowsOf('dups')).map((x) => x.name), ['z'], "b's own row stays; the row it relied on went with a");
  });

  it('--reassign keeps the rows later imports rely on, each for the earliest of them, so that every record stays true and every later undo exact', async () => {
    const a = await importInto(db.settings, files.write('re_a.csv', csv([['name', 'qty'], ['x', 1], ['y', 2], ['w', 9]])), 'reassigned');
    // b skips two records equal to a's y (its first and third); c one equal to a's y and one to a's w.
    const b = await importInto(db.settings, files.write('re_b.csv', csv([['name', 'qty'], ['y', 2], ['z', 3], ['y', 2]])), 'reassigned');
    const c = await importInto(db.settings, files.write('re_c.csv', csv([['name', 'qty'], ['y', 2], ['w', 9]])), 'reassigned');
    assert.deepEqual([b.rows_inserted, b.duplicates_found, c.rows_inserted, c.duplicates_found], [1, 2, 0, 2]);
    const idOf = async (name: string): Promise<string> => (await db.rows<{ id: string }>(`select id::text from ${db.schema}.reassigned where name = $1`, [name]))[0]!.id;
    const [yId, wId] = [await idOf('y'), await idOf('w')];

    const plan = await undoImport(db.settings, a.import_id, { ...run, reassign: true, dryRun: true });
    assert.equal(plan.dependents, 'reassigned');
    assert.equal(plan.dependent_rows, 2);
    assert.deepEqual(plan.dependent_imports.map((d) => [d.import_id, d.records, d.rows]), [[b.import_id, 2, 1], [c.import_id, 2, 1]]);
    assert.equal(plan.rows_reassigned, null);
    assert.equal((await record(a.import_id))?.status, 'success', 'a dry run changes nothing');

    const r = await undoImport(db.settings, a.import_id, { ...run, reassign: true });
    assert.equal(r.rows_removed, 3, 'every row left a: one deleted, two kept for later imports');
    assert.equal(r.rows_reassigned, 2);
    const rows = await db.rows<Record<string, unknown>>(
      `select id::text, name, qty, _import_id::text as import, _source_row_number as rn, _corrections_applied as fixes from ${db.schema}.reassigned order by id`,
    );
    assert.deepEqual(rows, [
      { id: yId, name: 'y', qty: 2, import: b.import_id, rn: 1, fixes: null },
      { id: wId, name: 'w', qty: 9, import: c.import_id, rn: 2, fixes: null },
      { id: rows[2]!.id, name: 'z', qty: 3, import: b.import_id, rn: 2, fixes: null },
    ]);
    // The records: a undone with where its rows went; b and c count them as inserted, no longer as skipped.
    await assertPromiseHolds(db.client, db.schema);
    const ra = await record(a.import_id);
    assert.equal(ra?.status, 'undone');
    assert.equal(ra?.rows_removed, 3);
    assert.deepEqual((ra?.metadata as Record<string, unknown>).reassigned_to, [{ import_id: b.import_id, rows: 1 }, { import_id: c.import_id, rows: 1 }]);
    for (const [imp, inserted, dups] of [[b, 2, 1], [c, 1, 1]] as const) {
      const h = await record(imp.import_id);
      assert.deepEqual([h?.rows_inserted, h?.duplicates_found, h?.rows_skipped], [inserted, dups, 3 - inserted - (imp === c ? 1 : 0)]);
      const reassigned = (h?.metadata as { reassigned: Array<Record<string, unknown>> }).reassigned;
      assert.deepEqual(reassigned.map((e) => [e.from_import_id, e.rows, e.by]), [[a.import_id, 1, 'undoer']]);
      const kept = await db.rows<{ n: number }>(`select count(*)::int as n from ${db.schema}.import_duplicates where import_id = $1`, [imp.import_id]);
      assert.equal(kept[0]!.n, dups, 'its skipped records are exactly those it still counts');
    }
    const lineage = await traceLineage(db.settings, 'reassigned');
    assert.deepEqual(
      lineage.imports.map((i) => [i.import_id, i.rows_now, i.rows_inserted]).sort(),
      [[b.import_id, 2, 2], [c.import_id, 1, 1]].sort(),
    );
    const stats = await getStats(db.settings, { table: 'reassigned', user: null, days: 1 });
    assert.equal(stats.total_rows_inserted - stats.total_rows_removed, 3, 'rows inserted less rows removed is what the table holds');
    // The row hashes were kept true: b's file again finds its rows.
    const again = await importFile(db.settings, { table: 'reassigned', source: files.dir + '/re_b.csv', allowSameFile: true });
    assert.equal(again.duplicates_found, 3);

    // Now c relies on y (b's now) and the second b on y and z: b's undo is refused, then gives y to
    // c (the earliest) and z to the second b; those undos need no --force: atlas's own changes.
    await assert.rejects(undoImport(db.settings, b.import_id, run), /also the data of later imports/);
    const rb = await undoImport(db.settings, b.import_id, { ...run, reassign: true });
    assert.equal(rb.force_reason, null, 'rows atlas re-attributed to b are no change of b');
    assert.deepEqual([rb.rows_removed, rb.rows_reassigned], [2, 2]);
    await assert.rejects(undoImport(db.settings, c.import_id, run), /also the data of later imports/, 'the second b relies on y, c\'s now');
    const rAgain = await undoImport(db.settings, again.import_id, run);
    assert.deepEqual([rAgain.force_reason, rAgain.rows_removed], [null, 1]);
    const rc = await undoImport(db.settings, c.import_id, run);
    assert.equal(rc.force_reason, null);
    assert.equal(rc.rows_removed, 2);
    assert.deepEqual(await rowsOf('reassigned'), []);
  });

  it('--reassign gives a row the values of the record that relied on it: a key that is not every column, columns that import did not bring', async () => {
    const a = await importInto(db.settings, files.write('k_a.csv', csv([['name', 'qty', 'note'], ['y', 2, 'from a'], ['x', 1, 'a only']])), 'keyed');
    const b = await importFile(db.settings, { table: 'keyed', source: files.write('k_b.csv', csv([['name', 'qty'], ['y', 5], ['v', 7]])), key: ['name'] });
    assert.equal(b.duplicates_found, 1);
    const r = await undoImport(db.settings, a.import_id, { ...run, reassign: true });
    assert.equal(r.rows_reassigned, 1);
    assert.deepEqual(await db.rows(`select name, qty, note, _import_id::text as import from ${db.schema}.keyed order by name`), [
      { name: 'v', qty: 7, note: null, import: b.import_id },
      { name: 'y', qty: 5, note: null, import: b.import_id },
    ]);
  });

  it('waits for an import holding the table lock, then undoes', async () => {
    const a = await importInto(db.settings, files.write('locked.csv', csv([['name'], ['l1']])), 'locked');
    const other = new pg.Client(db.url);
    await other.connect();
    try {
      await other.query('begin');
      await other.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`atlas:table:${db.schema}.locked`]);
      let finished = false;
      const undo = undoImport(db.settings, a.import_id, run).then((r) => {
        finished = true;
        return r;
      });
      await sleep(300);
      assert.equal(finished, false, 'undo waits for the lock');
      assert.equal((await record(a.import_id))?.status, 'success');
      await other.query('commit');
      assert.equal((await undo).rows_removed, 1);
    } finally {
      await other.end();
    }
  });
});
