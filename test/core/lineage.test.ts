import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compactHistory } from '../../src/core/compact.ts';
import { traceLineage, traceRow } from '../../src/core/lineage.ts';
import { undoImport } from '../../src/core/undo.ts';
import { AtlasError, NotFoundError, UsageError } from '../../src/errors.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';
import { importInto, importWith, migrateTestDb } from '../importHelpers.ts';

describe('traceLineage and traceRow', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('a table atlas imported into that was dropped or renamed since is said to be so, naming history, not only "no table" (read as a typo)', async () => {
    await importInto(db.settings, files.write('gone.csv', csv([['k'], ['a']])), 'gone_t');
    await db.rows(`alter table ${db.schema}.gone_t rename to gone_t_old`);
    await assert.rejects(traceLineage(db.settings, 'gone_t'), (err: unknown) => {
      assert.ok(err instanceof NotFoundError, String(err));
      assert.equal(err.message, `no table ${db.schema}.gone_t: 1 import(s) that still own rows went into it, so it was dropped or renamed since`);
      assert.match(err.hint ?? '', /atlas history --table gone_t lists them/);
      return true;
    });
  });

  it("lists the success and partial imports with what they inserted then and their rows now; an import whose rows are gone stays (the spec's definition)", async () => {
    const a = await importInto(db.settings, files.write('members_1.csv', csv([['name', 'joined'], ['ada', '03/14/2024'], ['grace', '07/02/2023'], ['alan', '11/23/2022']])), 'members');
    const b = await importInto(db.settings, files.write('members_2.csv', csv([['name', 'joined'], ['edsger', '01/05/2021'], ['barbara', '02/06/2020']])), 'members');
    await db.client.query(`delete from ${db.schema}.members where name = 'grace'`);

    const l = await traceLineage(db.settings, 'members');
    assert.equal(l.table_name, 'members');
    assert.equal(l.total_imports, 2);
    assert.equal(l.total_rows_contributed, 5, 'what they inserted');
    assert.equal(l.rows_now_in_table, 4, 'what is there now');
    assert.deepEqual(
      l.imports.map((i) => [i.import_id, i.file_name, i.rows_now, i.rows_inserted, i.status]),
      [
        [b.import_id, 'members_2.csv', 2, 2, 'success'],
        [a.import_id, 'members_1.csv', 2, 3, 'success'],
      ],
    );
    assert.equal(typeof l.imports[0]!.import_timestamp, 'string');

    // An import whose rows were all deleted by hand still contributed them.
    await db.client.query(`delete from ${db.schema}.members where _import_id = $1`, [b.import_id]);
    const after = await traceLineage(db.settings, 'members');
    assert.deepEqual(after.imports.map((i) => [i.import_id, i.rows_now]), [[b.import_id, 0], [a.import_id, 2]]);
    assert.equal(after.total_rows_contributed, 5);
    assert.equal(after.rows_now_in_table, 2);
  });

  it("accounts for atlas's own changes: rows an upsert updated and a replace deleted are expected, a row deleted by hand is not", async () => {
    const a = await importInto(db.settings, files.write('lp1.csv', csv([['sku', 'price'], ['a', '1'], ['b', '2'], ['c', '3']])), 'lprices');
    const u = await importWith(db.settings, files.write('lp2.csv', csv([['sku', 'price'], ['a', '10'], ['b', '2'], ['d', '4']])), 'lprices', { mode: 'upsert', key: ['sku'] });
    const x = await importInto(db.settings, files.write('lp3.csv', csv([['sku', 'price'], ['e', '5'], ['f', '6']])), 'lprices');
    const r = await importWith(db.settings, files.write('lp4.csv', csv([['sku', 'price'], ['e', '50']])), null, { replaceImport: x.import_id });
    const by = async () => new Map((await traceLineage(db.settings, 'lprices')).imports.map((i) => [i.import_id, [i.rows_inserted, i.rows_now, i.rows_changed_by_later_imports, i.rows_expected_now]]));
    let l = await by();
    assert.deepEqual(l.get(a.import_id), [3, 2, 1, 2], 'a: 3 inserted, 1 updated by the upsert: 2 expected, 2 there');
    assert.deepEqual(l.get(u.import_id), [1, 2, 0, 2], 'the upsert: 1 inserted + 1 updated');
    assert.deepEqual(l.get(x.import_id), [2, 0, 2, 0], 'x: both rows deleted by the --replace-import');
    assert.deepEqual(l.get(r.import_id), [1, 1, 0, 1]);
    // A change outside atlas shows: rows_now no longer what atlas's writes leave.
    await db.client.query(`delete from ${db.schema}.lprices where sku = 'c'`);
    l = await by();
    assert.deepEqual(l.get(a.import_id), [3, 1, 1, 2]);
    // Once history compact dropped the --replace-import's pre-images, its record still says whose rows it deleted.
    await compactHistory(db.settings, { olderThanSeconds: 0, dryRun: false });
    l = await by();
    assert.deepEqual(l.get(x.import_id), [2, 0, 2, 0], "x: still both rows deleted by the --replace-import, not changed outside atlas");
  });

  it('rows undo --reassign gave a later import are expected once: its record counts them as inserted (lineage said "2 (3 expected)")', async () => {
    const a = await importInto(db.settings, files.write('lr1.csv', csv([['k', 'v'], [1, 'a'], [2, 'b']])), 'lreassigned');
    const b = await importInto(db.settings, files.write('lr2.csv', csv([['k', 'v'], [2, 'b'], [3, 'c']])), 'lreassigned');
    await undoImport(db.settings, a.import_id, { dryRun: false, force: false, purge: false, reassign: true });
    const [i] = (await traceLineage(db.settings, 'lreassigned')).imports;
    assert.deepEqual([i!.import_id, i!.rows_inserted, i!.rows_now, i!.rows_expected_now], [b.import_id, 2, 2, 2]);
  });

  it('a row a replace deleted shows its kept versions, with the import that deleted it; once that import is undone, the row again', async () => {
    const a = await importInto(db.settings, files.write('ld1.csv', csv([['sku', 'price'], ['a', '1'], ['b', '2']])), 'lgone');
    const u = await importWith(db.settings, files.write('ld2.csv', csv([['sku', 'price'], ['b', '20']])), 'lgone', { mode: 'upsert', key: ['sku'] });
    const [row] = await db.rows<{ id: string }>(`select id::text as id from ${db.schema}.lgone where sku = 'b'`);
    const r = await importWith(db.settings, files.write('ld3.csv', csv([['sku', 'price'], ['z', '9']])), 'lgone', { mode: 'replace' });
    const t = await traceRow(db.settings, 'lgone', row!.id);
    assert.equal(t.deleted_by, r.import_id);
    assert.equal(t.import_id, u.import_id, 'its last version was written by the upsert');
    assert.deepEqual(t.values, { sku: 'b', price: 20 });
    assert.equal(t.source_row_number, 1);
    assert.equal(typeof t.imported_at, 'string');
    assert.deepEqual(
      t.versions.map((v) => [v.import_id, v.values, v.changed_by, v.change]),
      [
        [a.import_id, { sku: 'b', price: 2 }, u.import_id, 'updated'],
        [u.import_id, { sku: 'b', price: 20 }, r.import_id, 'deleted'],
      ],
    );
    await undoImport(db.settings, r.import_id, { dryRun: false, force: false, purge: false });
    const back = await traceRow(db.settings, 'lgone', row!.id);
    assert.equal(back.deleted_by, null);
    assert.deepEqual(back.versions.map((v) => [v.import_id, v.change]), [[a.import_id, 'updated'], [u.import_id, null]]);
    // A row no import kept stays not found.
    await assert.rejects(traceRow(db.settings, 'lgone', '987654'), NotFoundError);
  });

  it('shows the row\'s values in the table\'s column order (as its earlier versions), not jsonb\'s (shorter names first)', async () => {
    await importInto(db.settings, files.write('ordered.csv', csv([['utc_offset', 'abbr', 'v'], ['+01:00', 'CET', 1]])), 'ordered');
    const [row] = await db.rows<{ id: string }>(`select id from ${db.schema}.ordered`);
    const t = await traceRow(db.settings, 'ordered', row!.id);
    assert.deepEqual(Object.keys(t.values), ['utc_offset', 'abbr', 'v']);
  });

  it('traces one row to its import, file, source row number and corrections', async () => {
    const r = await importInto(db.settings, files.write('traced.csv', csv([['name', 'joined'], ['ada', '03/14/2024'], ['grace', '07/02/2023']])), 'traced');
    const [row] = await db.rows<{ id: string }>(`select id from ${db.schema}.traced where name = 'grace'`);
    const t = await traceRow(db.settings, 'traced', row!.id);
    assert.equal(t.import_id, r.import_id);
    assert.equal(t.file_name, 'traced.csv');
    assert.equal(t.source_row_number, 2);
    assert.equal(t.row_id, Number(row!.id));
    assert.deepEqual(t.values, { name: 'grace', joined: '2023-07-02' });
    assert.deepEqual(t.corrections_applied, {
      joined: { before: '07/02/2023', after: '2023-07-02', correction_type: 'datetime_standardization', source_format: '%m/%d/%Y' },
    });
    assert.equal(t.import_record.import_id, r.import_id);
    assert.equal(t.import_record.file_hash, r.file_hash);
  });

  it('shows numbers exactly as stored, in the row, its earlier versions, its corrections and its id: digits past a double\'s and trailing zeros kept', async () => {
    const big = [['big_id', 'amount', 'price'], ['9007199254740993', '"12,345,678,901,234,567.89"', '0.1000000000000000055511151231257827'], ['7', '1.50', '2']];
    const a = await importInto(db.settings, files.write('exact1.csv', big.map((r) => r.join(',')).join('\n') + '\n'), 'exact');
    const [stored] = await db.rows<{ id: string; big_id: string; amount: string; price: string }>(`select id::text, big_id::text, amount::text, price::text from ${db.schema}.exact where big_id = 9007199254740993`);
    assert.deepEqual([stored!.big_id, stored!.amount, stored!.price], ['9007199254740993', '12345678901234567.89', '0.1000000000000000055511151231257827'], 'the table holds every digit');
    const t = await traceRow(db.settings, 'exact', stored!.id);
    assert.deepEqual(t.values, { big_id: '9007199254740993', amount: '12345678901234567.89', price: '0.1000000000000000055511151231257827' });
    assert.equal((t.corrections_applied?.amount as { after: unknown }).after, '12345678901234567.89');
    // An earlier version (an upsert's pre-image) keeps its digits too; a number a double holds stays a number.
    const u = await importWith(db.settings, files.write('exact2.csv', csv([['big_id', 'amount', 'price'], ['7', '1.5', '3']])), 'exact', { mode: 'upsert', key: ['big_id'] });
    const [small] = await db.rows<{ id: string }>(`select id::text from ${db.schema}.exact where big_id = 7`);
    const v = await traceRow(db.settings, 'exact', small!.id);
    assert.deepEqual(v.versions.map((x) => [x.import_id, x.values]), [
      [a.import_id, { big_id: 7, amount: '1.50', price: 2 }],
      [u.import_id, { big_id: 7, amount: 1.5, price: 3 }],
    ]);
    // A row id past 2^53 is its exact text.
    await db.client.query(`alter table ${db.schema}.exact alter column id restart with 9007199254740993`);
    await importInto(db.settings, files.write('exact3.csv', csv([['big_id', 'amount', 'price'], ['5', '5', '5']])), 'exact');
    const far = await traceRow(db.settings, 'exact', '9007199254740993');
    assert.equal(far.row_id, '9007199254740993');
    assert.equal(far.values.big_id, 5);
  });

  it("a row atlas did not load (_import_id NULL, as in the spec's 'Adding Metadata to Existing Table') is said to be so, whether in the table or deleted by a replace", async () => {
    await migrateTestDb(db);
    await db.client.query(`create table ${db.schema}.legacy (id serial primary key, sku text, price numeric(10,2))`);
    await db.client.query(`insert into ${db.schema}.legacy (sku, price) values ('OLD', 9.99)`);
    await db.client.query(
      `alter table ${db.schema}.legacy add column _import_id uuid references ${db.schema}.import_history(import_id) on delete cascade,
         add column _imported_at timestamp default now(), add column _source_row_number integer, add column _corrections_applied jsonb`,
    );
    const a = await importInto(db.settings, files.write('legacy.csv', csv([['sku', 'price'], ['A', '1.00']])), 'legacy');
    const notLoaded = (deletedBy: string | null) => (err: unknown) =>
      err instanceof NotFoundError && err.message.startsWith(`row 1 of ${db.schema}.legacy${deletedBy === null ? '' : `, deleted by import ${deletedBy},`} was not loaded by atlas: its _import_id is NULL`);
    await assert.rejects(traceRow(db.settings, 'legacy', '1'), notLoaded(null));
    assert.equal((await traceRow(db.settings, 'legacy', '2')).import_id, a.import_id, 'the row atlas loaded is traced');
    const r = await importWith(db.settings, files.write('legacy2.csv', csv([['sku', 'price'], ['B', '2.00']])), 'legacy', { mode: 'replace' });
    await assert.rejects(traceRow(db.settings, 'legacy', '1'), notLoaded(r.import_id));
  });

  it('explains a missing table, an untracked table, a missing row and a bad row id', async () => {
    await assert.rejects(traceLineage(db.settings, 'no_such_table'), NotFoundError);
    await assert.rejects(traceLineage(db.settings, 'Traced'), (err: unknown) => err instanceof NotFoundError && err.hint === 'did you mean traced?');
    await db.client.query(`create table ${db.schema}.plain (id int, v text)`);
    await assert.rejects(traceLineage(db.settings, 'plain'), (err: unknown) => err instanceof AtlasError && /no _import_id/.test(err.message));
    await assert.rejects(traceRow(db.settings, 'traced', '999999'), NotFoundError);
    await assert.rejects(traceRow(db.settings, 'traced', 'abc'), UsageError);
    await assert.rejects(traceRow(db.settings, 'traced', '-1'), UsageError);
  });
});
