import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { getImport, listHistory, pruneHistory, type HistoryFilter } from '../../src/core/history.ts';
import { NotFoundError, UsageError } from '../../src/errors.ts';
import { useTestDb } from '../helpers.ts';
import { insertRecord, migrateTestDb } from '../importHelpers.ts';

const all: HistoryFilter = { table: null, user: null, status: null, since: null, limit: 100, offset: 0 };

describe('listHistory and getImport', () => {
  const db = useTestDb({ setup: migrateTestDb });
  const ids: Record<string, string> = {};
  before(async () => {
    ids.a = await insertRecord(db, { user_id: 'alice', table_name: 'customers', status: 'success', age: '1 day', rows_inserted: 10 });
    ids.b = await insertRecord(db, { user_id: 'bob', table_name: 'customers', status: 'failed', age: '2 days' });
    ids.c = await insertRecord(db, { user_id: 'alice', table_name: 'orders', status: 'partial', age: '10 days', rows_inserted: 5, validation_errors: 2 });
    ids.d = await insertRecord(db, { user_id: 'carol', table_name: 'orders', status: 'undone', age: '40 days' });
    // in_progress, and no transaction holds its lock: stored as failed (interrupted) by the first call.
    ids.e = await insertRecord(db, { user_id: 'bob', table_name: 'customers', status: 'in_progress', age: '3 hours', rows_inserted: null });
  });

  const list = (f: Partial<HistoryFilter>) => listHistory(db.settings, { ...all, ...f });
  const idsOf = (r: { imports: Array<{ import_id: string }> }) => r.imports.map((i) => i.import_id);

  it('lists every record newest first with the total count', async () => {
    const r = await list({});
    assert.equal(r.total_count, 5);
    assert.deepEqual(idsOf(r), [ids.e, ids.a, ids.b, ids.c, ids.d]);
    assert.equal(r.limit, 100);
    assert.equal(r.offset, 0);
  });

  it('filters by table, user, status and since, alone and together', async () => {
    assert.deepEqual(idsOf(await list({ table: 'customers' })), [ids.e, ids.a, ids.b]);
    assert.deepEqual(idsOf(await list({ user: 'alice' })), [ids.a, ids.c]);
    assert.deepEqual(idsOf(await list({ status: 'failed' })), [ids.e, ids.b]);
    assert.deepEqual(idsOf(await list({ status: 'interrupted' })), [ids.e]);
    assert.deepEqual(idsOf(await list({ status: 'in_progress' })), []);
    assert.deepEqual(idsOf(await list({ status: 'undone' })), [ids.d]);
    assert.deepEqual(idsOf(await list({ since: new Date(Date.now() - 5 * 86_400_000) })), [ids.e, ids.a, ids.b]);
    const both = await list({ table: 'customers', user: 'bob' });
    assert.deepEqual(idsOf(both), [ids.e, ids.b]);
    assert.equal(both.total_count, 2);
    const none = await list({ table: 'nope' });
    assert.equal(none.total_count, 0);
    assert.deepEqual(none.imports, []);
  });

  it('pages: the total stays the full count; an offset past the end gives an empty page', async () => {
    const p1 = await list({ limit: 2, offset: 0 });
    assert.deepEqual(idsOf(p1), [ids.e, ids.a]);
    assert.equal(p1.total_count, 5);
    const p3 = await list({ limit: 2, offset: 4 });
    assert.deepEqual(idsOf(p3), [ids.d]);
    const atEnd = await list({ limit: 2, offset: 5 });
    assert.deepEqual(atEnd.imports, []);
    assert.equal(atEnd.total_count, 5);
    const past = await list({ offset: 1000 });
    assert.deepEqual(past.imports, []);
    assert.equal(past.total_count, 5);
    assert.equal(past.offset, 1000);
  });

  it('rejects limit 0, a negative limit or offset, and a fractional limit', async () => {
    for (const f of [{ limit: 0 }, { limit: -1 }, { offset: -1 }, { limit: 1.5 }]) {
      await assert.rejects(list(f), (err: unknown) => err instanceof UsageError && err.exitCode === 2, JSON.stringify(f));
    }
  });

  it('finds one record by full id (any case) or an 8+ character prefix', async () => {
    const full = await getImport(db.settings, ids.c!);
    assert.equal(full.import_id, ids.c);
    assert.equal((await getImport(db.settings, ids.c!.toUpperCase())).import_id, ids.c);
    assert.equal((await getImport(db.settings, ids.c!.slice(0, 8))).import_id, ids.c);
    assert.equal((await getImport(db.settings, ids.c!.slice(0, 13))).import_id, ids.c);
  });

  it('the record carries data_validation_errors, the spec name of validation_errors', async () => {
    const r = await getImport(db.settings, ids.c!);
    assert.equal(r.validation_errors, 2);
    assert.equal(r.data_validation_errors, 2);
    const listed = (await list({ table: 'orders', status: 'partial' })).imports[0]!;
    assert.equal(listed.data_validation_errors, 2);
  });

  it('rejects short, malformed, unknown and ambiguous ids', async () => {
    await assert.rejects(getImport(db.settings, ids.a!.slice(0, 7)), UsageError);
    await assert.rejects(getImport(db.settings, 'zzzzzzzz'), UsageError);
    await assert.rejects(getImport(db.settings, '%%%%%%%%'), UsageError);
    await assert.rejects(getImport(db.settings, '00000000-0000-4000-8000-000000000000'), NotFoundError);
    const x = await insertRecord(db, { import_id: 'abcdef01-1111-4111-8111-111111111111' });
    const y = await insertRecord(db, { import_id: 'abcdef01-2222-4222-8222-222222222222' });
    await assert.rejects(
      getImport(db.settings, 'abcdef01'),
      (err: unknown) => err instanceof UsageError && err.message === 'import id prefix abcdef01 is ambiguous: 2 imports start with it' && [`give more characters of the id: ${y}, ${x}`, `give more characters of the id: ${x}, ${y}`].includes(err.hint ?? ''),
    );
    assert.equal((await getImport(db.settings, 'abcdef01-1')).import_id, x);
    assert.equal((await getImport(db.settings, 'abcdef01-2222')).import_id, y);
    await db.client.query(`delete from ${db.schema}.import_history where import_id in ($1, $2)`, [x, y]);
  });
});

describe('imports whose process is gone', () => {
  const db = useTestDb({ setup: migrateTestDb });

  const stored = async (id: string) =>
    (await db.rows<{ status: string; error_message: string | null; metadata: Record<string, unknown> | null; rows_inserted: number | null }>(
      `select status, error_message, metadata, rows_inserted from ${db.schema}.import_history where import_id = $1`,
      [id],
    ))[0]!;

  it('an in_progress record stays so while a transaction holds its lock, and is stored as failed (interrupted) at the first connect after', async () => {
    const id = await insertRecord(db, { table_name: 'gone', status: 'in_progress', rows_inserted: null });
    // The importer's lock: its transaction's, keyed by the import id.
    const importer = new pg.Client(db.url);
    await importer.connect();
    try {
      await importer.query('begin');
      await importer.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`atlas:import:${id}`]);
      assert.equal((await getImport(db.settings, id)).status, 'in_progress');
      assert.equal((await stored(id)).status, 'in_progress', 'SQL says it runs: it does');
      await importer.query('rollback');
      // Before any atlas call, SQL still says in_progress; the next call stores what happened.
      assert.equal((await stored(id)).status, 'in_progress');
      const shown = await getImport(db.settings, id);
      assert.equal(shown.status, 'failed');
      assert.equal(shown.metadata.interrupted, true);
      const row = await stored(id);
      assert.equal(row.status, 'failed');
      assert.match(row.error_message ?? '', /^interrupted: the atlas process ended before the import committed \(it was killed, crashed or lost its connection to the server\); nothing was written$/);
      assert.equal(row.metadata?.interrupted, true);
      assert.equal(row.rows_inserted, 0);
      const listed = await listHistory(db.settings, { ...all, table: 'gone' });
      assert.deepEqual(listed.imports.map((r) => [r.status, r.error_message, r.interrupted]), [[row.status, row.error_message, true]], 'history and SQL agree');
      assert.deepEqual((await listHistory(db.settings, { ...all, status: 'interrupted' })).imports.map((r) => r.import_id), [id]);
    } finally {
      await importer.end();
    }
  });
});

describe('pruneHistory', () => {
  const db = useTestDb({ setup: migrateTestDb });

  it('deletes only old records that own no rows, with their mapping errors; a dry run deletes nothing', async () => {
    const oldFailed = await insertRecord(db, { status: 'failed', age: '400 days' });
    const oldUndone = await insertRecord(db, { status: 'undone', age: '400 days' });
    const oldInterrupted = await insertRecord(db, { status: 'in_progress', age: '400 days' });
    const oldSuccess = await insertRecord(db, { status: 'success', age: '400 days', rows_inserted: 1 });
    const oldPartial = await insertRecord(db, { status: 'partial', age: '400 days', rows_inserted: 1 });
    const recentFailed = await insertRecord(db, { status: 'failed', age: '10 days' });
    // An undone record that rows still reference (added by hand): deleting it would cascade to them.
    const referenced = await insertRecord(db, { status: 'undone', age: '400 days', table_name: 'kept' });
    await db.client.query(`create table ${db.schema}.kept (id bigint generated always as identity primary key, v text,
      _import_id uuid not null references ${db.schema}.import_history (import_id) on delete cascade)`);
    await db.client.query(`insert into ${db.schema}.kept (v, _import_id) values ('x', $1)`, [referenced]);
    await db.client.query(`insert into ${db.schema}.mapping_errors (import_id, record_number, error_message) values ($1, 1, 'bad')`, [oldFailed]);
    const count = async () => Number((await db.rows<{ n: string }>(`select count(*) as n from ${db.schema}.import_history`))[0]!.n);
    const before = await count();

    const dry = await pruneHistory(db.settings, { olderThanSeconds: 365 * 86_400, dryRun: true });
    assert.equal(dry.dry_run, true);
    assert.deepEqual(new Set(dry.imports.map((r) => r.import_id)), new Set([oldFailed, oldUndone, oldInterrupted]));
    assert.equal(dry.pruned_count, 3);
    assert.deepEqual(dry.kept, [{ import_id: referenced, table: `${db.schema}.kept`, rows: 1 }]);
    assert.equal(await count(), before, 'a dry run deletes nothing');

    const done = await pruneHistory(db.settings, { olderThanSeconds: 365 * 86_400, dryRun: false });
    assert.equal(done.pruned_count, 3);
    const left = new Set((await db.rows<{ import_id: string }>(`select import_id from ${db.schema}.import_history`)).map((r) => r.import_id));
    assert.deepEqual(left, new Set([oldSuccess, oldPartial, recentFailed, referenced]));
    assert.equal((await db.rows(`select 1 from ${db.schema}.mapping_errors where import_id = $1`, [oldFailed])).length, 0, 'mapping errors cascade');
    assert.equal((await db.rows(`select 1 from ${db.schema}.kept`)).length, 1, 'never data');

    // Hours and weeks: the 10-day-old failed record goes with 1w, not with 2w.
    assert.equal((await pruneHistory(db.settings, { olderThanSeconds: 2 * 604_800, dryRun: false })).pruned_count, 0);
    const week = await pruneHistory(db.settings, { olderThanSeconds: 604_800, dryRun: false, onlyIds: [recentFailed] });
    assert.deepEqual(week.imports.map((r) => r.import_id), [recentFailed]);
  });

  it('onlyIds limits deletion to the confirmed records', async () => {
    const a = await insertRecord(db, { status: 'failed', age: '30 days' });
    const b = await insertRecord(db, { status: 'failed', age: '30 days' });
    const r = await pruneHistory(db.settings, { olderThanSeconds: 86_400, dryRun: false, onlyIds: [a] });
    assert.equal(r.pruned_count, 1);
    assert.equal((await db.rows(`select 1 from ${db.schema}.import_history where import_id = $1`, [b])).length, 1);
  });

  it('rejects a negative age', async () => {
    await assert.rejects(pruneHistory(db.settings, { olderThanSeconds: -1, dryRun: true }), UsageError);
  });
});
