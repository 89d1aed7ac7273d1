import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dryRunImport, type ImportOptions } from '../../src/core/import.ts';
import { csv, type TestDb, useTempDir, useTestDb } from '../helpers.ts';
import { importInto, importWith, snapshotTable } from '../importHelpers.ts';

const base: Omit<ImportOptions, 'source'> = { table: null, format: null, delimiter: null, header: true, encoding: null, name: null };

/** The table and atlas's own tables as they are: a dry run must leave them exactly so. */
async function state(db: TestDb, table: string): Promise<unknown> {
  const count = async (t: string) => (await db.rows<{ n: number }>(`select count(*)::int as n from ${db.schema}.${t}`))[0]!.n;
  return { rows: await snapshotTable(db, table), history: await count('import_history'), preimages: await count('import_preimages'), errors: await count('mapping_errors'), duplicates: await count('import_duplicates') };
}

describe('--dry-run of append, upsert and replace', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('an upsert dry run counts the rows it would insert, update and leave unchanged, and the key conflicts, writing nothing', async () => {
    await importInto(db.settings, files.write('d1.csv', csv([['sku', 'price'], ['a', '1.50'], ['b', '2.00'], ['c', '3.00']])), 'dprices');
    const before = await state(db, 'dprices');
    const file = files.write('d2.csv', csv([['sku', 'price', 'extra'], ['b', '2.50', ''], ['a', '1.5', ''], ['d', '4.00', ''], ['e', '5', ''], ['e', '6', ''], ['c', '3', 'x']]));
    const p = await dryRunImport(db.settings, { ...base, source: file, table: 'dprices', mode: 'upsert', key: ['sku'] });
    assert.equal(p.import_mode, 'upsert');
    // b changes; a is unchanged (1.5 = 1.50); c changes through the new column; d is new; both e records share a key.
    assert.deepEqual(p.predicted, { rows_inserted: 1, rows_updated: 2, rows_unchanged: 1, rows_deleted: 0, duplicates_found: 0, key_conflicts: 2 });
    assert.equal(p.mapping_errors_count, 2);
    assert.deepEqual(await state(db, 'dprices'), before, 'nothing written');
    // The real import does what the dry run said.
    const u = await importWith(db.settings, file, 'dprices', { mode: 'upsert', key: ['sku'] });
    assert.deepEqual([u.rows_inserted, u.rows_updated, u.rows_unchanged, u.rows_deleted, u.mapping_errors_count], [1, 2, 1, 0, 2]);
  });

  it('an upsert dry run into a new table inserts every valid record', async () => {
    const p = await dryRunImport(db.settings, { ...base, source: files.write('n.csv', csv([['sku'], ['a'], ['b'], ['a']])), table: 'dnew', mode: 'upsert', key: ['sku'] });
    assert.deepEqual(p.predicted, { rows_inserted: 1, rows_updated: 0, rows_unchanged: 0, rows_deleted: 0, duplicates_found: 0, key_conflicts: 2 });
    assert.equal((await db.rows(`select 1 from pg_tables where schemaname = $1 and tablename = 'dnew'`, [db.schema])).length, 0);
  });

  it('a replace dry run counts the rows it would delete, keep and insert, and the duplicates it would skip', async () => {
    await importInto(db.settings, files.write('r1.csv', csv([['sku', 'qty'], ['a', '1'], ['b', '2'], ['c', '3'], ['d', '4']])), 'dstock');
    const before = await state(db, 'dstock');
    // a,1 is in the table (it stays); x,9 twice (one a duplicate); a,1 again (a duplicate of the row that stays).
    const file = files.write('r2.csv', csv([['sku', 'qty'], ['a', '1'], ['x', '9'], ['x', '9'], ['a', '1']]));
    const p = await dryRunImport(db.settings, { ...base, source: file, table: 'dstock', mode: 'replace' });
    assert.deepEqual(p.predicted, { rows_inserted: 1, rows_updated: 0, rows_unchanged: 1, rows_deleted: 3, duplicates_found: 2, key_conflicts: 0 });
    assert.deepEqual(await state(db, 'dstock'), before, 'nothing written');
    const r = await importWith(db.settings, file, 'dstock', { mode: 'replace' });
    assert.deepEqual([r.rows_inserted, r.rows_unchanged, r.rows_deleted, r.duplicates_found], [1, 1, 3, 2]);
  });

  it('a --replace-import dry run counts that import\'s rows, and skips records equal to rows that stay', async () => {
    await importInto(db.settings, files.write('o1.csv', csv([['sku', 'qty'], ['a', '1'], ['b', '2']])), 'dorders');
    const bad = await importInto(db.settings, files.write('o2.csv', csv([['sku', 'qty'], ['c', '30'], ['d', '4'], ['e', '5']])), 'dorders');
    const before = await state(db, 'dorders');
    const file = files.write('o3.csv', csv([['sku', 'qty'], ['c', '3'], ['d', '4'], ['a', '1']]));
    const p = await dryRunImport(db.settings, { ...base, source: file, table: null, replaceImport: bad.import_id });
    assert.equal(p.import_mode, 'replace_import');
    assert.equal(p.replaces_import_id, bad.import_id);
    assert.deepEqual(p.predicted, { rows_inserted: 2, rows_updated: 0, rows_unchanged: 0, rows_deleted: 3, duplicates_found: 1, key_conflicts: 0 });
    assert.deepEqual(await state(db, 'dorders'), before, 'nothing written');
    const r = await importWith(db.settings, file, null, { replaceImport: bad.import_id });
    assert.deepEqual([r.rows_inserted, r.rows_deleted, r.duplicates_found], [2, 3, 1]);
  });

  it('an append dry run counts the rows it would insert and the duplicates it would skip; of a file already imported it names the import that would refuse it', async () => {
    const file = files.write('a.csv', csv([['v'], ['1']]));
    const p = await dryRunImport(db.settings, { ...base, source: file, table: 'dappend' });
    assert.equal(p.import_mode, 'append');
    assert.deepEqual(p.predicted, { rows_inserted: 1, rows_updated: 0, rows_unchanged: 0, rows_deleted: 0, duplicates_found: 0, key_conflicts: 0 });
    assert.equal(p.already_imported_by, null);
    const first = await importInto(db.settings, file, 'dappend');
    const again = await dryRunImport(db.settings, { ...base, source: file, table: 'dappend' });
    assert.equal(again.already_imported_by?.import_id, first.import_id);
    assert.equal((await dryRunImport(db.settings, { ...base, source: file, table: 'dappend', allowSameFile: true })).already_imported_by, null);
  });

  it('an append dry run counts as duplicates the records repeated in the file and those equal to a row of the table (as the import does), none with --no-dedupe', async () => {
    await importInto(db.settings, files.write('p1.csv', csv([['sku', 'qty'], ['a', '1'], ['b', '2']])), 'dpend');
    const before = await state(db, 'dpend');
    // a,1 is in the table; c,3 twice in the file; b,20 differs from b,2; x is not a number (a mapping error).
    const file = files.write('p2.csv', csv([['sku', 'qty'], ['a', '1'], ['c', '3'], ['b', '20'], ['c', '3'], ['d', 'x']]));
    const p = await dryRunImport(db.settings, { ...base, source: file, table: 'dpend' });
    assert.deepEqual(p.predicted, { rows_inserted: 2, rows_updated: 0, rows_unchanged: 0, rows_deleted: 0, duplicates_found: 2, key_conflicts: 0 });
    assert.equal((await dryRunImport(db.settings, { ...base, source: file, table: 'dpend', dedupe: false })).predicted?.rows_inserted, 4);
    assert.deepEqual(await state(db, 'dpend'), before, 'nothing written');
    const r = await importWith(db.settings, file, 'dpend', {});
    assert.deepEqual([r.rows_inserted, r.duplicates_found, r.mapping_errors_count], [2, 2, 1]);
    // Into a new table (qty text there, so x is a value): the repeat within the file only.
    const n = await dryRunImport(db.settings, { ...base, source: file, table: 'dpend_new' });
    assert.deepEqual([n.predicted?.rows_inserted, n.predicted?.duplicates_found], [4, 1]);
    const created = await importWith(db.settings, file, 'dpend_new', {});
    assert.deepEqual([created.rows_inserted, created.duplicates_found], [4, 1]);
  });

  it('a dry run says the run would fail on a unique index of the table, as the run then does, and not where it would not', async () => {
    // The upsert makes the table with a unique index on its key.
    const first = await importWith(db.settings, files.write('u1.csv', csv([['code', 'name'], ['A', 'x'], ['B', 'y']])), 'dunique', { mode: 'upsert', key: ['code'] });
    const outcome = async (rows: string[][], options: Partial<ImportOptions>) => {
      const file = files.write(`u-${Math.random().toString(36).slice(2)}.csv`, csv([['code', 'name'], ...rows]));
      const p = await dryRunImport(db.settings, { ...base, source: file, table: 'dunique', ...options });
      const run = await importWith(db.settings, file, 'dunique', options).then(
        () => 'imported',
        (err: unknown) => ((err as { code?: string }).code === '23505' || /unique/.test(String(err)) ? 'unique violation' : String(err)),
      );
      return { predicted: p.would_fail ? p.failure : 'imports', run };
    };
    // A replace whose file holds two rows with one code; an append of a code the table holds.
    const replace = await outcome([['A', 'x'], ['A', 'z'], ['C', 'w']], { mode: 'replace' });
    assert.match(replace.predicted!, /the file holds more than one row with \(code\)=\(A\)/);
    assert.equal(replace.run, 'unique violation');
    const append = await outcome([['B', 'q'], ['D', 'w']], {});
    assert.match(append.predicted!, /a row of the file has \(code\)=\(B\), which a row of the table already has/);
    assert.equal(append.run, 'unique violation');
    // The key's index takes NULLs as equal (as upsert compares keys): two NULL codes conflict.
    const nulls = await outcome([['', 'n1'], ['', 'n2']], {});
    assert.match(nulls.predicted!, /\(code\)=\(NULL\)/);
    assert.equal(nulls.run, 'unique violation');
    // The rows of a replaced import go first; rows equal to the table's are duplicates, not conflicts.
    assert.deepEqual(await outcome([['B', 'new'], ['F', 'f']], { replaceImport: first.import_id }), { predicted: 'imports', run: 'imported' });
    assert.deepEqual(await outcome([['F', 'f'], ['E', 'e']], {}), { predicted: 'imports', run: 'imported' });
    // An index of the user's own, NULLs distinct: rows without a value never conflict.
    await db.rows(`create unique index dunique_name on ${db.schema}.dunique (name)`);
    const own = await outcome([['G', 'new'], ['H', '']], {});
    assert.match(own.predicted!, /unique index dunique_name on dunique: a row of the file has \(name\)=\(new\)/);
    assert.equal(own.run, 'unique violation');
    assert.deepEqual(await outcome([['G', ''], ['H', '']], {}), { predicted: 'imports', run: 'imported' });
    const rows = await db.rows<{ code: string | null; name: string | null }>(`select code, name from ${db.schema}.dunique order by code`);
    assert.deepEqual(rows.map((r) => `${r.code}:${r.name}`), ['B:new', 'E:e', 'F:f', 'G:null', 'H:null']);
  });

  it('an upsert dry run says the run would fail on a unique index other than its key (country-data: --key alpha3 made one, then --key alpha2,alpha3), as the run then does, and not where it would not', async () => {
    await importWith(db.settings, files.write('k1.csv', csv([['a2', 'a3', 'name'], ['FR', 'FRA', 'France'], ['DE', 'DEU', 'Germany']])), 'dukey', { mode: 'upsert', key: ['a3'] });
    const options: Partial<ImportOptions> = { mode: 'upsert', key: ['a2', 'a3'] };
    const outcome = async (rows: string[][]) => {
      const file = files.write(`k-${Math.random().toString(36).slice(2)}.csv`, csv([['a2', 'a3', 'name'], ...rows]));
      const p = await dryRunImport(db.settings, { ...base, source: file, table: 'dukey', ...options });
      const run = await importWith(db.settings, file, 'dukey', options).then(
        () => 'imported',
        (err: unknown) => ((err as { code?: string }).code === '23505' || /unique/.test(String(err)) ? 'unique violation' : String(err)),
      );
      return { predicted: p.would_fail ? p.failure : 'imports', run };
    };
    // A new (a2, a3) whose a3 France's row has: inserted beside it, it breaks the index on a3.
    const clash = await outcome([['FX', 'FRA', 'Metropolitan France']]);
    assert.match(clash.predicted!, /a row of the file has \(a3\)=\(FRA\), which a row of the table with another key already has/);
    assert.equal(clash.run, 'unique violation');
    // Rows matched on the whole key are updated in place: no conflict with themselves.
    assert.deepEqual(await outcome([['FR', 'FRA', 'France!'], ['IT', 'ITA', 'Italy']]), { predicted: 'imports', run: 'imported' });
  });
});
