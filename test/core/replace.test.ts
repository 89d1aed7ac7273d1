import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import type { ImportPhase } from '../../src/core/import.ts';
import { undoImport } from '../../src/core/undo.ts';
import { AlreadyImportedError, AtlasError, ImportFailedError, UsageError } from '../../src/errors.ts';
import { csv, type TestDb, useTempDir, useTestDb } from '../helpers.ts';
import { importInto, importWith, snapshotTable } from '../importHelpers.ts';

/**
 * A reader on its own connection that counts the table's rows over and over while `run` goes on,
 * and, when the import reaches `committing` (its rows deleted and inserted, not yet committed),
 * reads the whole table: it must see the old rows then, exactly, and only ever the old or the
 * new count.
 */
async function withReader<T>(db: TestDb, table: string, run: (onPhase: (p: ImportPhase) => Promise<void>) => Promise<T>): Promise<{ result: T; counts: Set<number>; atCommit: unknown[] | null }> {
  const reader = new pg.Client(db.url);
  await reader.connect();
  const counts = new Set<number>();
  let done = false;
  let atCommit: unknown[] | null = null;
  const poll = (async () => {
    while (!done) counts.add((await reader.query(`select count(*)::int as n from ${db.schema}.${table}`)).rows[0].n);
  })();
  const snapshotReader = new pg.Client(db.url);
  await snapshotReader.connect();
  try {
    const result = await run(async (phase) => {
      if (phase !== 'committing') return;
      atCommit = (await snapshotReader.query(`select to_jsonb(t) as r from ${db.schema}.${table} t order by t.id`)).rows.map((r: { r: unknown }) => r.r);
      counts.add((await snapshotReader.query(`select count(*)::int as n from ${db.schema}.${table}`)).rows[0].n);
    });
    return { result, counts, atCommit };
  } finally {
    done = true;
    await poll;
    await reader.end();
    await snapshotReader.end();
  }
}

describe('import --mode replace and --replace-import', () => {
  const db = useTestDb();
  const files = useTempDir();

  const many = (n: number, tag: string): string => csv([['k', 'v'], ...Array.from({ length: n }, (_, i) => [`${tag}${i}`, i])]);

  it('replace: the table holds exactly the file rows afterwards; a concurrent reader sees the old rows or the new, never an empty table', async () => {
    await importInto(db.settings, files.write('r1.csv', many(3000, 'a')), 'stock');
    await importInto(db.settings, files.write('r2.csv', many(2000, 'b')), 'stock');
    const old = await snapshotTable(db, 'stock');
    const { result: r, counts, atCommit } = await withReader(db, 'stock', (onPhase) =>
      importWith(db.settings, files.write('r3.csv', many(1500, 'c')), 'stock', { mode: 'replace', onPhase }),
    );
    assert.equal(r.import_mode, 'replace');
    assert.equal(r.rows_deleted, 5000);
    assert.equal(r.rows_inserted, 1500);
    assert.deepEqual(atCommit, old, 'before the commit a reader sees every old row as it was');
    assert.deepEqual([...counts].sort((x, y) => x - y).filter((n) => n !== 1500 && n !== 5000), [], `only the old or the new count is seen: ${[...counts]}`);
    const rows = await db.rows<{ k: string; _import_id: string }>(`select k, _import_id from ${db.schema}.stock order by id`);
    assert.equal(rows.length, 1500);
    assert.ok(rows.every((x, i) => x.k === `c${i}` && x._import_id === r.import_id));
    const pre = await db.rows<{ n: number }>(`select count(*)::int as n from ${db.schema}.import_preimages where import_id = $1 and action = 'deleted'`, [r.import_id]);
    assert.equal(pre[0]!.n, 5000);
  });

  it('replace of a table that does not exist creates it', async () => {
    const r = await importWith(db.settings, files.write('fresh.csv', many(3, 'f')), 'fresh_replace', { mode: 'replace' });
    assert.deepEqual([r.import_strategy, r.rows_inserted, r.rows_deleted], ['new_table', 3, 0]);
  });

  it('--replace-import of an import whose rows a later import skipped as duplicates is refused, naming it, and writes nothing (country-json\'s capitals: a newer version appended over an older one)', async () => {
    const a = await importInto(db.settings, files.write('cap1.csv', csv([['country', 'city'], ['Brazil', 'Brasilia'], ['Iceland', 'Reykjavik'], ['Chad', 'Ndjamena']])), 'capitals');
    const b = await importInto(db.settings, files.write('cap2.csv', csv([['country', 'city'], ['Brazil', 'Brasilia'], ['Iceland', 'Reykjavik'], ['Peru', 'Lima']])), 'capitals');
    assert.deepEqual([b.rows_inserted, b.duplicates_found], [1, 2]);
    const before = await snapshotTable(db, 'capitals');
    await assert.rejects(
      importWith(db.settings, files.write('cap_fixed.csv', csv([['country', 'city'], ['Chad', "N'Djamena"]])), null, { replaceImport: a.import_id }),
      (err: unknown) =>
        err instanceof ImportFailedError &&
        err.message.includes(`--replace-import: 2 of the rows of import ${a.import_id} are also the data of later imports, which skipped their own copies of them as duplicates: ${b.import_id} (cap2.csv, 2 record(s)); nothing was written`),
    );
    assert.deepEqual(await snapshotTable(db, 'capitals'), before);
  });

  it('a replace whose file repeats a key of the unique index --key made fails naming the key, with a hint (timezones.json: two records of value "GMT Standard Time")', async () => {
    await importWith(db.settings, files.write('tz1.csv', csv([['value', 'offset'], ['UTC', '0'], ['GMT Standard Time', '0']])), 'tzs', { mode: 'upsert', key: ['value'] });
    await assert.rejects(
      importWith(db.settings, files.write('tz2.csv', csv([['value', 'offset'], ['UTC', '0'], ['GMT Standard Time', '0'], ['GMT Standard Time', '1']])), 'tzs', { mode: 'replace' }),
      (err: unknown) =>
        err instanceof ImportFailedError &&
        /duplicate key value violates unique constraint .*Key \(value\)=\(GMT Standard Time\) already exists/.test(err.message) &&
        (err.hint ?? '').startsWith('the table has a unique index on the key named in the detail'),
    );
  });

  it('--replace-import: that import rows go, this file goes in, in one transaction; the records point at each other', async () => {
    const a = await importInto(db.settings, files.write('orders_bad.csv', csv([['order', 'qty'], ['o1', 1], ['o2', 200], ['o3', 3]])), 'orders');
    const b = await importInto(db.settings, files.write('orders_other.csv', csv([['order', 'qty'], ['o9', 9]])), 'orders');
    const bRows = (await snapshotTable(db, 'orders')).slice(3);
    const { result: r, counts } = await withReader(db, 'orders', (onPhase) =>
      importWith(db.settings, files.write('orders_fixed.csv', csv([['order', 'qty'], ['o1', 1], ['o2', 2], ['o3', 3]])), null, { replaceImport: a.import_id.slice(0, 8), onPhase }),
    );
    assert.equal(r.table_name, 'orders', "into the replaced import's table");
    assert.equal(r.import_mode, 'replace_import');
    assert.equal(r.replaces_import_id, a.import_id);
    assert.deepEqual([r.rows_deleted, r.rows_inserted], [3, 3]);
    assert.deepEqual([...counts], [4], 'a reader always sees four rows');
    const rows = await db.rows<{ order: string; qty: number; _import_id: string }>(`select "order", qty, _import_id from ${db.schema}.orders order by id`);
    assert.deepEqual(rows.map((x) => [x.order, x.qty]), [['o9', 9], ['o1', 1], ['o2', 2], ['o3', 3]]);
    assert.deepEqual((await snapshotTable(db, 'orders')).slice(0, 1), bRows, "the other import's row is untouched");
    const recs = await db.rows<{ import_id: string; replaced_by: string | null; replaces_import_id: string | null; status: string }>(
      `select import_id, replaced_by, replaces_import_id, status from ${db.schema}.import_history where import_id = any($1::uuid[]) order by import_timestamp`,
      [[a.import_id, b.import_id, r.import_id]],
    );
    assert.deepEqual(recs, [
      { import_id: a.import_id, replaced_by: r.import_id, replaces_import_id: null, status: 'success' },
      { import_id: b.import_id, replaced_by: null, replaces_import_id: null, status: 'success' },
      { import_id: r.import_id, replaced_by: null, replaces_import_id: a.import_id, status: 'success' },
    ]);
    // Replacing it again is refused, naming the replacement.
    await assert.rejects(
      importWith(db.settings, files.write('orders_fixed2.csv', csv([['order', 'qty'], ['o1', 5]])), null, { replaceImport: a.import_id }),
      (err: unknown) => err instanceof ImportFailedError && err.message.includes(`already replaced by import ${r.import_id}`),
    );
  });

  it('--replace-import of the same file with other options (the partial import loaded again, its NA read as NULL) is no re-run; without it the file is refused as already imported', async () => {
    const file = files.write('na.csv', csv([['k', 'v'], ['a', '1'], ['b', 'NA'], ['c', '3']]));
    await importInto(db.settings, files.write('na_first.csv', csv([['k', 'v'], ['z', '9']])), 'na_table');
    const first = await importWith(db.settings, file, 'na_table', {});
    assert.deepEqual([first.status, first.rows_inserted], ['partial', 2]);
    await assert.rejects(importWith(db.settings, file, 'na_table', { nullValues: ['NA'] }), (err: unknown) => {
      assert.ok(err instanceof AlreadyImportedError);
      // Not "nothing to do": the earlier import kept rows out, and the hint says how to load the file again in its place.
      assert.equal(err.hint, `that import was partial: its mapping errors kept rows out (atlas errors ${first.import_id}); to load the file again in its place with other options, add --replace-import ${first.import_id}`);
      return true;
    });
    const fixed = await importWith(db.settings, file, null, { replaceImport: first.import_id, nullValues: ['NA'] });
    assert.deepEqual([fixed.status, fixed.rows_deleted, fixed.rows_inserted], ['success', 2, 3]);
    assert.deepEqual(await db.rows(`select k, v from ${db.schema}.na_table order by id`), [{ k: 'z', v: 9 }, { k: 'a', v: 1 }, { k: 'b', v: null }, { k: 'c', v: 3 }]);
  });

  it('--replace-import into another table, or with --mode upsert, is refused', async () => {
    const a = await importInto(db.settings, files.write('t1.csv', csv([['x'], ['1']])), 'table_one');
    await assert.rejects(importWith(db.settings, files.write('t2.csv', csv([['x'], ['2']])), 'table_two', { replaceImport: a.import_id }), (err: unknown) => err instanceof ImportFailedError && /went into table table_one, not table_two/.test(err.message));
    await assert.rejects(importWith(db.settings, files.write('t3.csv', csv([['x'], ['3']])), null, { replaceImport: a.import_id, mode: 'upsert', key: ['x'] }), UsageError);
  });

  it('--replace-import of an upsert that updated rows of an earlier import is refused, writing nothing (currency-codes: EUR, the earlier import\'s row the upsert had updated, was deleted); of one that only inserted, allowed', async () => {
    const a = await importInto(db.settings, files.write('cc1.csv', csv([['code', 'name'], ['EUR', 'Euro'], ['USD', 'Dollar']])), 'currencies');
    const u = await importWith(db.settings, files.write('cc2.csv', csv([['code', 'name'], ['EUR', 'Euro (EU)'], ['XTS', 'Test']])), 'currencies', { mode: 'upsert', key: ['code'] });
    assert.deepEqual([u.rows_inserted, u.rows_updated], [1, 1]);
    const before = await snapshotTable(db, 'currencies');
    await assert.rejects(importWith(db.settings, files.write('cc3.csv', csv([['code', 'name'], ['XTS', 'Testing']])), null, { replaceImport: u.import_id }), (err: unknown) =>
      err instanceof ImportFailedError && err.message.includes(`--replace-import: import ${u.import_id} is an upsert that updated 1 row(s) of earlier imports`) && /atlas undo/.test(err.hint ?? ''));
    assert.deepEqual(await snapshotTable(db, 'currencies'), before);
    assert.equal(a.rows_inserted, 2);
    const inserting = await importWith(db.settings, files.write('cc4.csv', csv([['code', 'name'], ['XAU', 'Gold']])), 'currencies', { mode: 'upsert', key: ['code'] });
    const fix = await importWith(db.settings, files.write('cc5.csv', csv([['code', 'name'], ['XAU', 'Gold (troy ounce)']])), null, { replaceImport: inserting.import_id });
    assert.deepEqual([fix.rows_inserted, fix.rows_deleted], [1, 1]);
  });

  it('--replace-import of a full replace is refused, writing nothing, naming --mode replace (tzdata zone1970: the rows it kept in place stayed beside the corrected file, Winnipeg twice)', async () => {
    await importInto(db.settings, files.write('z1.csv', csv([['tz', 'v'], ['Winnipeg', '1'], ['Lima', '1']])), 'zones_rr');
    const r = await importWith(db.settings, files.write('z2.csv', csv([['tz', 'v'], ['Winnipeg', '1'], ['Lima', '2']])), 'zones_rr', { mode: 'replace' });
    const before = await snapshotTable(db, 'zones_rr');
    await assert.rejects(importWith(db.settings, files.write('z3.csv', csv([['tz', 'v'], ['Winnipeg', '3'], ['Lima', '3']])), null, { replaceImport: r.import_id }), (err: unknown) =>
      err instanceof ImportFailedError && err.message.includes(`--replace-import: import ${r.import_id} is a full replace (--mode replace)`) && /--mode replace/.test(err.hint ?? ''));
    assert.deepEqual(await snapshotTable(db, 'zones_rr'), before);
  });

  // Rows as an auditor reads them: values and every metadata column, by id.
  const rowsOf = (table: string) => db.rows<{ id: string; k: string; v: number; _import_id: string; _imported_at: Date; _source_row_number: number }>(`select id, k, v, _import_id, _imported_at, _source_row_number from ${db.schema}.${table} order by id`);
  const undo = { dryRun: false, force: false, purge: false };

  it('replace keeps in place the rows the file repeats (id, metadata and all), deletes the others with their pre-images, and undo restores the table exactly', async () => {
    const a = await importInto(db.settings, files.write('k1.csv', many(10, 'a')), 'keep_rows');
    const before = await snapshotTable(db, 'keep_rows');
    const aRows = await rowsOf('keep_rows');
    // a0..a5 as they are, a7 with another value, two new rows, and a3 a second time.
    const file = csv([['k', 'v'], ...[0, 1, 2, 3, 4, 5].map((i) => [`a${i}`, i]), ['a7', 70], ['n1', 1], ['a3', 3], ['n2', 2]]);
    const r = await importWith(db.settings, files.write('k2.csv', file), 'keep_rows', { mode: 'replace' });
    assert.deepEqual([r.rows_unchanged, r.rows_deleted, r.rows_inserted, r.duplicates_found, r.rows_skipped], [6, 4, 3, 1, 1]);
    const now = await rowsOf('keep_rows');
    assert.deepEqual(now.slice(0, 6), aRows.slice(0, 6), 'the repeated rows are the same rows: id, values, _import_id, _imported_at, _source_row_number');
    assert.deepEqual(now.slice(6).map((x) => [x.k, x.v, x._import_id === r.import_id, x._source_row_number]), [['a7', 70, true, 7], ['n1', 1, true, 8], ['n2', 2, true, 10]]);
    const pre = await db.rows<{ k: string }>(`select row_data->>'k' as k from ${db.schema}.import_preimages where import_id = $1 and action = 'deleted' order by row_id`, [r.import_id]);
    assert.deepEqual(pre.map((x) => x.k), ['a6', 'a7', 'a8', 'a9']);
    const dup = await db.rows<{ record_number: number; matched_row_id: string }>(`select record_number, matched_row_id::text from ${db.schema}.import_duplicates where import_id = $1`, [r.import_id]);
    assert.deepEqual(dup, [{ record_number: 9, matched_row_id: aRows[3]!.id }], 'the repeat is a duplicate of the row that stays');
    const rec = await db.rows<{ kept: unknown; rows_unchanged: number }>(`select metadata->'kept_in_place' as kept, rows_unchanged from ${db.schema}.import_history where import_id = $1`, [r.import_id]);
    assert.deepEqual(rec, [{ kept: [{ import_id: a.import_id, rows: 6 }], rows_unchanged: 6 }]);
    const u = await undoImport(db.settings, r.import_id, undo);
    assert.deepEqual([u.rows_removed, u.rows_restored], [3, 4]);
    assert.deepEqual(await snapshotTable(db, 'keep_rows'), before, 'byte for byte as before the replace');
  });

  it('undoing an import whose rows a later replace kept is refused naming the replace; forced, its rows go, and undoing the replace brings none back', async () => {
    const a = await importInto(db.settings, files.write('q1.csv', many(5, 'a')), 'keep_undo');
    const r = await importWith(db.settings, files.write('q2.csv', csv([['k', 'v'], ...[0, 1, 2, 3, 4].map((i) => [`a${i}`, i]), ['n', 9]])), 'keep_undo', { mode: 'replace' });
    assert.deepEqual([r.rows_unchanged, r.rows_deleted, r.rows_inserted], [5, 0, 1]);
    await assert.rejects(undoImport(db.settings, a.import_id, undo), (err: unknown) => err instanceof AtlasError && err.message.includes(`${r.import_id} (replace, q2.csv, 5 kept in place)`));
    const forced = await undoImport(db.settings, a.import_id, { ...undo, force: true });
    assert.equal(forced.rows_removed, 5);
    assert.deepEqual((await rowsOf('keep_undo')).map((x) => x.k), ['n']);
    await undoImport(db.settings, r.import_id, undo);
    assert.deepEqual(await snapshotTable(db, 'keep_undo'), []);
  });

  it('a row the table holds twice and the file once stays once; a table column the file lacks makes every row go', async () => {
    await importWith(db.settings, files.write('t1.csv', csv([['k', 'v'], ['a', 1], ['a', 1], ['b', 2]])), 'keep_twice', { dedupe: false });
    const ids = (await rowsOf('keep_twice')).map((x) => x.id);
    const r = await importWith(db.settings, files.write('t2.csv', csv([['k', 'v'], ['a', 1]])), 'keep_twice', { mode: 'replace' });
    assert.deepEqual([r.rows_unchanged, r.rows_deleted, r.rows_inserted], [1, 2, 0]);
    assert.deepEqual((await rowsOf('keep_twice')).map((x) => [x.id, x.k]), [[ids[0], 'a']]);
    // The table has w; a file without it cannot say the rows are equal: a full delete and insert.
    await importInto(db.settings, files.write('w1.csv', csv([['k', 'v', 'w'], ['a', 1, 'x'], ['b', 2, '']])), 'keep_wider');
    const w = await importWith(db.settings, files.write('w2.csv', csv([['k', 'v'], ['b', 2]])), 'keep_wider', { mode: 'replace' });
    assert.deepEqual([w.rows_unchanged, w.rows_deleted, w.rows_inserted], [0, 2, 1]);
  });

  it('a replace or upsert whose rows a soft-delete trigger or a rule keeps is refused naming it, the table as it was; appends still go in', async () => {
    await importInto(db.settings, files.write('s1.csv', csv([['k', 'v'], ['a', 1], ['b', 2]])), 'soft');
    const table = `${db.schema}.soft`;
    await db.client.query(`alter table ${table} add column deleted boolean not null default false`);
    await db.client.query(`create function ${db.schema}.soft_delete() returns trigger language plpgsql as $$ begin update ${table} set deleted = true where id = old.id; return null; end $$`);
    await db.client.query(`create trigger "Soft Delete" before delete on ${table} for each row execute function ${db.schema}.soft_delete()`);
    const before = await snapshotTable(db, 'soft');
    await assert.rejects(
      importWith(db.settings, files.write('s2.csv', csv([['k', 'v'], ['c', 3]])), 'soft', { mode: 'replace' }),
      (err: unknown) => err instanceof ImportFailedError && /: 2 of the 2 row\(s\) this import had to delete in table soft were not deleted: trigger "Soft Delete" on the table kept them/.test(err.message) && /--mode append/.test(err.hint ?? ''),
    );
    assert.deepEqual(await snapshotTable(db, 'soft'), before);
    await db.client.query(`create rule keep_v as on update to ${table} do instead nothing`);
    await assert.rejects(
      importWith(db.settings, files.write('s3.csv', csv([['k', 'v'], ['a', 9]])), 'soft', { mode: 'upsert', key: ['k'] }),
      /1 of the 1 row\(s\) this import had to update in table soft were not updated: rule "keep_v" on the table kept them/,
    );
    assert.deepEqual(await snapshotTable(db, 'soft'), before);
    await db.client.query(`drop rule keep_v on ${table}`);
    assert.equal((await importInto(db.settings, files.write('s4.csv', csv([['k', 'v'], ['d', 4]])), 'soft')).rows_inserted, 1);
  });
});
