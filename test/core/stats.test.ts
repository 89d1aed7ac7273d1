import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { getStats } from '../../src/core/stats.ts';
import { UsageError } from '../../src/errors.ts';
import { useTestDb } from '../helpers.ts';
import { insertRecord, migrateTestDb } from '../importHelpers.ts';

describe('getStats', () => {
  const db = useTestDb({ setup: migrateTestDb });
  before(async () => {
    await insertRecord(db, { user_id: 'alice', table_name: 'customers', status: 'success', rows_inserted: 1_000, duplicates_found: 3, duration_seconds: 2, age: '1 day' });
    await insertRecord(db, { user_id: 'alice', table_name: 'customers', status: 'success', rows_inserted: 500, duplicates_found: 0, duration_seconds: 4, age: '2 days' });
    await insertRecord(db, { user_id: 'bob', table_name: 'orders', status: 'partial', rows_inserted: 90, duplicates_found: 1, duration_seconds: 3, age: '3 days' });
    await insertRecord(db, { user_id: 'bob', table_name: 'broken', status: 'failed', rows_inserted: 0, duration_seconds: 0.5, age: '4 days' });
    await insertRecord(db, { user_id: 'carol', table_name: 'orders', status: 'undone', rows_inserted: 10, duration_seconds: 1, age: '5 days' });
    await db.client.query(`update ${db.schema}.import_history set rows_removed = 10 where status = 'undone'`);
    await db.client.query(`update ${db.schema}.import_history set import_mode = 'upsert', rows_updated = 40, rows_unchanged = 7 where user_id = 'alice' and rows_inserted = 500`);
    await db.client.query(`update ${db.schema}.import_history set import_mode = 'replace', rows_deleted = 25 where user_id = 'bob' and status = 'partial'`);
    // No lock held: stored as failed (interrupted) when stats connects; no duration.
    await insertRecord(db, { user_id: 'dave', table_name: 'customers', status: 'in_progress', rows_inserted: null, duration_seconds: null, age: '6 days' });
    // Outside the default 30 days.
    await insertRecord(db, { user_id: 'erin', table_name: 'old', status: 'success', rows_inserted: 7, duration_seconds: 9, age: '45 days' });
  });

  it('counts the imports of the period by status, with rows, durations, tables and users', async () => {
    const s = await getStats(db.settings, { table: null, user: null, days: 30 });
    assert.equal(s.total_imports, 6);
    assert.equal(s.successful_imports, 2);
    assert.equal(s.partial_imports, 1);
    assert.equal(s.failed_imports, 2, 'failed and interrupted');
    assert.equal(s.undone_imports, 1);
    assert.equal(s.in_progress_imports, 0);
    assert.equal(s.success_rate, 0.333);
    assert.equal(s.total_rows_inserted, 1_600);
    assert.equal(s.total_rows_removed, 10);
    assert.equal(s.total_rows_updated, 40);
    assert.equal(s.total_rows_unchanged, 7);
    assert.equal(s.total_rows_deleted, 25);
    assert.equal(s.total_duplicates_found, 4);
    assert.equal(s.avg_duration_seconds, 2.1, '(2 + 4 + 3 + 0.5 + 1) / 5 finished imports');
    assert.equal(s.tables_affected, 2, 'customers and orders committed rows; broken did not');
    assert.equal(s.unique_users, 4);
    assert.equal(s.period_days, 30);
    assert.ok(Date.now() - Date.parse(s.period_start) >= 30 * 86_400_000 - 60_000);
  });

  it('filters by table, user and days', async () => {
    const customers = await getStats(db.settings, { table: 'customers', user: null, days: 30 });
    assert.equal(customers.total_imports, 3);
    assert.equal(customers.total_rows_inserted, 1_500);
    assert.equal(customers.total_rows_deleted, 0, 'the replace went into orders');
    assert.equal(customers.total_rows_updated, 40);
    const bob = await getStats(db.settings, { table: null, user: 'bob', days: 30 });
    assert.equal(bob.total_imports, 2);
    assert.equal(bob.partial_imports, 1);
    assert.equal(bob.failed_imports, 1);
    assert.equal(bob.success_rate, 0);
    const recent = await getStats(db.settings, { table: null, user: null, days: 2 });
    assert.equal(recent.total_imports, 1, 'only the 1-day-old record is within 2 days (the 2-day-old one sits on the edge)');
    const year = await getStats(db.settings, { table: null, user: null, days: 365 });
    assert.equal(year.total_imports, 7);
    assert.equal(year.tables_affected, 3);
  });

  it('an empty period has zero counts and null averages', async () => {
    const s = await getStats(db.settings, { table: 'nothing', user: null, days: 30 });
    assert.equal(s.total_imports, 0);
    assert.equal(s.success_rate, null);
    assert.equal(s.avg_duration_seconds, null);
    assert.equal(s.total_rows_inserted, 0);
  });

  it('rejects --days 0', async () => {
    await assert.rejects(getStats(db.settings, { table: null, user: null, days: 0 }), UsageError);
  });
});
