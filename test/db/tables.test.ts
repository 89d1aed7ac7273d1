/**
 * When an import may skip the per-row check of its own `_import_id` foreign key, and that the
 * tables it writes to keep their guarantees either way: user triggers fire, other foreign keys
 * hold, undo still cascades.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { canSkipImportIdCheck, getExistingTable, withImportIdCheckSkipped } from '../../src/db/tables.ts';
import { importInto, importWith, insertRecord, migrateTestDb } from '../importHelpers.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';
import { undoImport } from '../../src/core/undo.ts';

describe('skipping the per-row _import_id check', () => {
  const db = useTestDb({ setup: migrateTestDb });
  const files = useTempDir();

  const superuser = async (): Promise<boolean> => (await db.rows<{ s: string }>(`select current_setting('is_superuser') as s`))[0]!.s === 'on';

  it('is allowed only for a plain table whose one foreign key is the import id, as superuser', async (t) => {
    if (!(await superuser())) return t.skip('the test role is not a superuser: the check is never skipped');
    const first = files.write('a.csv', csv([['k', 'v'], [1, 'a'], [2, 'b']]));
    await importInto(db.settings, first, 'plain');
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'plain', '_import_id'), true);
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'import_duplicates', 'import_id'), true);
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'no_such_table', '_import_id'), false);
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'plain', 'k'), false, 'the foreign key is on another column');

    await importInto(db.settings, first, 'with_trigger');
    await db.client.query(`create function ${db.schema}.count_rows() returns trigger language plpgsql as $$ begin update ${db.schema}.counter set n = n + 1; return new; end $$`);
    await db.client.query(`create table ${db.schema}.counter (n int not null)`);
    await db.client.query(`insert into ${db.schema}.counter values (0)`);
    await db.client.query(`create trigger count_rows after insert on ${db.schema}.with_trigger for each row execute function ${db.schema}.count_rows()`);
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'with_trigger', '_import_id'), false);

    await importInto(db.settings, first, 'with_fk');
    await db.client.query(`create table ${db.schema}.allowed (k int primary key)`);
    await db.client.query(`insert into ${db.schema}.allowed values (1), (2), (3)`);
    await db.client.query(`alter table ${db.schema}.with_fk add foreign key (k) references ${db.schema}.allowed (k)`);
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'with_fk', '_import_id'), false);

    await importInto(db.settings, first, 'with_rule');
    await db.client.query(`create table ${db.schema}.log (k int)`);
    await db.client.query(`create rule keep as on insert to ${db.schema}.with_rule do also insert into ${db.schema}.log values (new.k)`);
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'with_rule', '_import_id'), false);
  });

  it('is refused when replica mode would silence a constraint: a deferrable unique, a foreign key to the table', async (t) => {
    if (!(await superuser())) return t.skip('the test role is not a superuser: the check is never skipped');
    const first = files.write('a2.csv', csv([['k', 'v'], [1, 'a'], [2, 'b']]));
    await importInto(db.settings, first, 'deferred_unique');
    await db.client.query(`alter table ${db.schema}.deferred_unique add constraint v_unique unique (v) deferrable`);
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'deferred_unique', '_import_id'), false);
    await importInto(db.settings, first, 'referenced');
    await db.client.query(`alter table ${db.schema}.referenced add constraint k_unique unique (k)`);
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'referenced', '_import_id'), true, 'a plain unique index needs no trigger');
    await db.client.query(`create table ${db.schema}.child (k int references ${db.schema}.referenced (k))`);
    assert.equal(await canSkipImportIdCheck(db.client, db.schema, 'referenced', '_import_id'), false);
  });

  it('keeps a deferrable unique constraint and the foreign keys that reference the table', async () => {
    await importInto(db.settings, files.write('u1.csv', csv([['code', 'name'], ['k1', 'A'], ['k2', 'B']])), 'unique_later');
    await db.client.query(`alter table ${db.schema}.unique_later add constraint name_unique unique (name) deferrable`);
    await assert.rejects(importInto(db.settings, files.write('u2.csv', csv([['code', 'name'], ['k3', 'A']])), 'unique_later'), /name_unique/);
    await assert.rejects(importWith(db.settings, files.write('u3.csv', csv([['code', 'name'], ['k2', 'A']])), 'unique_later', { mode: 'upsert', key: ['code'] }), /name_unique/);
    assert.deepEqual(await db.rows(`select code, name from ${db.schema}.unique_later order by code`), [{ code: 'k1', name: 'A' }, { code: 'k2', name: 'B' }]);

    await importInto(db.settings, files.write('p1.csv', csv([['code', 'name'], ['P1', 'Widget'], ['P2', 'Gadget']])), 'prod');
    await db.client.query(`alter table ${db.schema}.prod add constraint code_unique unique (code)`);
    await db.client.query(`create table ${db.schema}.line (code text references ${db.schema}.prod (code) on update cascade)`);
    await db.client.query(`create table ${db.schema}.line2 (code text references ${db.schema}.prod (code) on update restrict)`);
    await db.client.query(`insert into ${db.schema}.line values ('P1'); insert into ${db.schema}.line2 values ('P2')`);
    const renamed = await importWith(db.settings, files.write('p2.csv', csv([['code', 'name'], ['P9', 'Widget']])), 'prod', { mode: 'upsert', key: ['name'] });
    assert.equal(renamed.rows_updated, 1);
    assert.deepEqual(await db.rows(`select code from ${db.schema}.line`), [{ code: 'P9' }], 'ON UPDATE CASCADE followed the new code');
    await assert.rejects(importWith(db.settings, files.write('p3.csv', csv([['code', 'name'], ['P8', 'Gadget']])), 'prod', { mode: 'upsert', key: ['name'] }), /line2/);
    assert.deepEqual(await db.rows(`select code from ${db.schema}.prod order by code`), [{ code: 'P2' }, { code: 'P9' }]);
  });

  it('leaves user triggers and other foreign keys working on imports into existing tables', async () => {
    const more = files.write('b.csv', csv([['k', 'v'], [3, 'c'], [1, 'a']]));
    const r = await importInto(db.settings, more, 'with_trigger');
    assert.equal(r.rows_inserted, 1);
    assert.deepEqual(await db.rows(`select n from ${db.schema}.counter`), [{ n: 1 }], 'the user trigger fired for the inserted row');

    await assert.rejects(importInto(db.settings, files.write('c.csv', csv([['k', 'v'], [9, 'z']])), 'with_fk'), /foreign key/);
    assert.deepEqual(await db.rows(`select k from ${db.schema}.with_fk order by k`), [{ k: 1 }, { k: 2 }]);
  });

  it('keeps duplicates and rows tied to their import: undo removes both', async () => {
    const more = files.write('d.csv', csv([['k', 'v'], [1, 'a'], [5, 'e']]));
    const r = await importInto(db.settings, more, 'plain');
    assert.equal(r.rows_inserted, 1);
    assert.equal(r.duplicates_found, 1);
    const kept = await db.rows<{ n: string }>(`select count(*) as n from ${db.schema}.import_duplicates where import_id = $1`, [r.import_id]);
    assert.equal(kept[0]!.n, '1');
    await undoImport(db.settings, r.import_id, { dryRun: false, force: false, purge: true });
    assert.deepEqual(await db.rows(`select count(*)::int as n from ${db.schema}.import_duplicates where import_id = $1`, [r.import_id]), [{ n: 0 }]);
    assert.deepEqual(await db.rows(`select k from ${db.schema}.plain order by k`), [{ k: 1 }, { k: 2 }]);
  });

  it('holds the history record as the skipped checks would: it cannot be deleted until COMMIT, and a deleted one fails', async (t) => {
    if (!(await superuser())) return t.skip('the test role is not a superuser: the check is never skipped, so no lock is taken for it');
    const importId = await insertRecord(db, { status: 'in_progress' });
    await db.client.query('begin');
    try {
      const out = await withImportIdCheckSkipped(db.client, { schema: db.schema, table: 'import_duplicates', fkColumn: 'import_id', importId }, async () => 'ran');
      assert.equal(out, 'ran');
      const other = new pg.Client(db.url);
      await other.connect();
      try {
        await other.query(`set lock_timeout = '300ms'`);
        await assert.rejects(other.query(`delete from ${db.schema}.import_history where import_id = $1`, [importId]), /lock timeout/);
      } finally {
        await other.end();
      }
    } finally {
      await db.client.query('rollback');
    }
    await db.client.query('begin');
    try {
      await assert.rejects(
        withImportIdCheckSkipped(db.client, { schema: db.schema, table: 'import_duplicates', fkColumn: 'import_id', importId: '00000000-0000-4000-8000-000000000000' }, async () => 'ran'),
        /history record of import .* was deleted/,
      );
    } finally {
      await db.client.query('rollback');
    }
  });
});


describe('statistics of _row_hash before a duplicate check', () => {
  const db = useTestDb();
  const files = useTempDir();
  const hasStats = async (table: string): Promise<boolean> =>
    (await db.rows<{ n: number }>(`select count(*)::int as n from pg_stats where schemaname = $1 and tablename = $2 and attname = '_row_hash'`, [db.schema, table]))[0]!.n > 0;

  it('an import that makes a table gives its _row_hash statistics, so that the next import probes the index instead of scanning the table', async () => {
    await importInto(db.settings, files.write('a.csv', csv([['k', 'v'], [1, 'a'], [2, 'b']])), 'fresh');
    // Autovacuum analyses a new table a minute or more later at the earliest: these are the import's.
    assert.equal(await hasStats('fresh'), true);
    const [n] = await db.rows<{ n: number }>(`select n_distinct::float8 as n from pg_stats where schemaname = $1 and tablename = 'fresh' and attname = '_row_hash'`, [db.schema]);
    assert.equal(n!.n, -1, 'every hash distinct');
    const second = await importInto(db.settings, files.write('b.csv', csv([['k', 'v'], [2, 'b'], [3, 'c']])), 'fresh');
    assert.equal(second.duplicates_found, 1);
  });
});

describe('reading a table another transaction creates meanwhile', () => {
  const db = useTestDb();

  it('a table committed between getExistingTable\'s two statements is read with its columns, not as a table without any (a batch\'s upsert saw "key column(s) not in table")', async () => {
    const creator = new pg.Client(db.url);
    await creator.connect();
    const reader = new pg.Client(db.url);
    await reader.connect();
    try {
      await creator.query('begin');
      await creator.query(`create table ${db.schema}.appearing (sku text, price int)`);
      // The creator commits right after the reader's first statement: the second one, in a snapshot of its own, sees the table.
      let statements = 0;
      const query = reader.query.bind(reader) as (...args: unknown[]) => Promise<unknown>;
      const interleaved = new Proxy(reader, {
        get(target, prop, receiver) {
          if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
          return async (...args: unknown[]) => {
            const result = await query(...args);
            if (++statements === 1) await creator.query('commit');
            return result;
          };
        },
      });
      const table = await getExistingTable(interleaved, db.schema, 'appearing');
      assert.ok(statements >= 2, 'the first statement did not see the table, so the read went on');
      assert.deepEqual(table?.columns.map((c) => `${c.name} ${c.sqlType}`), ['sku text', 'price integer']);
    } finally {
      await creator.end();
      await reader.end();
    }
  });
});
