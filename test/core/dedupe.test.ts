import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { importFile, type ImportOptions } from '../../src/core/import.ts';
import { listSkippedDuplicates } from '../../src/core/importErrors.ts';
import { undoImport } from '../../src/core/undo.ts';
import { AlreadyImportedError, UsageError } from '../../src/errors.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';

const defaults: Omit<ImportOptions, 'source'> = { table: null };

describe('duplicate detection', () => {
  const db = useTestDb();
  const files = useTempDir();
  const count = async (table: string): Promise<number> => Number((await db.rows<{ n: string }>(`select count(*) n from ${db.schema}.${table}`))[0]!.n);
  const historyFor = (table: string): Promise<Array<Record<string, unknown>>> =>
    db.rows(`select * from ${db.schema}.import_history where table_name = $1 order by import_timestamp`, [table]);

  it('the same file twice is refused (exit code 4), leaving the table and history unchanged; another table is fine', async () => {
    const path = files.write('same.csv', csv([['a', 'b'], [1, 'x'], [2, 'y']]));
    const first = await importFile(db.settings, { ...defaults, source: path });
    await assert.rejects(importFile(db.settings, { ...defaults, source: path }), (err: unknown) => {
      assert.ok(err instanceof AlreadyImportedError);
      assert.equal(err.exitCode, 4);
      assert.equal(err.previousImportId, first.import_id);
      assert.match(err.message, new RegExp(first.import_id));
      return true;
    });
    assert.equal(await count('same'), 2);
    assert.equal((await historyFor('same')).length, 1);
    const other = await importFile(db.settings, { ...defaults, source: path, table: 'same_elsewhere' });
    assert.equal(other.rows_inserted, 2);
  });

  it('the check also runs inside the transaction (stdin has no file to pre-hash)', async () => {
    const text = csv([['a'], [1], [2]]);
    const { Readable } = await import('node:stream');
    await importFile(db.settings, { ...defaults, source: '-', table: 'piped', stdin: Readable.from([Buffer.from(text)]) });
    await assert.rejects(importFile(db.settings, { ...defaults, source: '-', table: 'piped', stdin: Readable.from([Buffer.from(text)]) }), AlreadyImportedError);
    assert.equal((await historyFor('piped')).length, 1, 'a refused import leaves no history row');
  });

  it('--allow-same-file imports again with row checks; --force bypasses them; both are recorded', async () => {
    const path = files.write('again.csv', csv([['a', 'b'], [1, 'x'], [2, 'y']]));
    const first = await importFile(db.settings, { ...defaults, source: path });
    const again = await importFile(db.settings, { ...defaults, source: path, allowSameFile: true });
    assert.equal(again.rows_inserted, 0);
    assert.equal(again.duplicates_found, 2);
    assert.equal(again.rows_skipped, 2);
    assert.equal(again.status, 'success');
    const kept = await db.rows<Record<string, unknown>>(
      `select record_number, record, matched_row_id, matched_record_number from ${db.schema}.import_duplicates where import_id = $1 order by record_number`,
      [again.import_id],
    );
    const ids = await db.rows<{ id: string }>(`select id from ${db.schema}.again where _import_id = $1 order by id`, [first.import_id]);
    assert.deepEqual(kept, [
      { record_number: 1, record: { a: 1, b: 'x' }, matched_row_id: ids[0]!.id, matched_record_number: null },
      { record_number: 2, record: { a: 2, b: 'y' }, matched_row_id: ids[1]!.id, matched_record_number: null },
    ]);
    const forced = await importFile(db.settings, { ...defaults, source: path, force: true });
    assert.equal(forced.rows_inserted, 2);
    assert.equal(await count('again'), 4);
    const h = await historyFor('again');
    assert.deepEqual(h.map((r) => [(r.metadata as Record<string, unknown>).allow_same_file ?? false, (r.metadata as Record<string, unknown>).force ?? false]), [
      [false, false],
      [true, false],
      [false, true],
    ]);
    assert.deepEqual(h.map((r) => r.duplicate_check_enabled), [true, true, false]);
    assert.equal(h[1]!.duplicates_found, 2);
    assert.ok(Number(h[1]!.duplicate_check_time_seconds) >= 0);
  });

  it('overlapping files, duplicates inside one file, NULLs, and coercion: exact counts, true row numbers', async () => {
    await importFile(db.settings, { ...defaults, source: files.write('o1.csv', csv([['n', 'label'], ['1', 'a'], ['2', ''], ['3', 'c']])), table: 'overlap' });
    const r = await importFile(db.settings, {
      ...defaults,
      source: files.write('o2.csv', 'n,label\n3,c\n2,\n4,d\n4,d\n1.0,a\n5,\n5,\n'),
      table: 'overlap',
    });
    // 3,c and 2,NULL and 1.0=1,a exist; the second 4,d and the second 5,NULL repeat earlier records.
    assert.equal(r.duplicates_found, 5);
    assert.equal(r.rows_inserted, 2);
    const rows = await db.rows<{ n: number; label: string | null; _source_row_number: number }>(
      `select n, label, _source_row_number from ${db.schema}.overlap where _import_id = $1 order by id`,
      [r.import_id],
    );
    assert.deepEqual(rows, [
      { n: 4, label: 'd', _source_row_number: 3 },
      { n: 5, label: null, _source_row_number: 6 },
    ]);
    const kept = await db.rows<{ record_number: number; matched_record_number: number | null; matched: boolean }>(
      `select record_number, matched_record_number, matched_row_id is not null as matched from ${db.schema}.import_duplicates where import_id = $1 order by record_number`,
      [r.import_id],
    );
    assert.deepEqual(kept, [
      { record_number: 1, matched_record_number: null, matched: true },
      { record_number: 2, matched_record_number: null, matched: true },
      { record_number: 4, matched_record_number: 3, matched: false },
      { record_number: 5, matched_record_number: null, matched: true },
      { record_number: 7, matched_record_number: 6, matched: false },
    ]);
  });

  it('a new table keeps the first of repeated records, in file order, and each later one as a duplicate of it', async () => {
    // Column names that are also aliases in atlas's SQL (x, t) must not confuse it.
    const r = await importFile(db.settings, { ...defaults, source: files.write('fresh.csv', 'x,t,c\n1,x,2024-01-02\n2,y,\n1,x,2024-01-02\n2,y,\n1,x,2024-01-03\n1,x,2024-01-02\n'), table: 'fresh' });
    assert.equal(r.import_strategy, 'new_table');
    assert.equal(r.duplicates_found, 3);
    assert.deepEqual(await db.rows(`select x, t, c::text, _source_row_number from ${db.schema}.fresh order by id`), [
      { x: 1, t: 'x', c: '2024-01-02', _source_row_number: 1 },
      { x: 2, t: 'y', c: null, _source_row_number: 2 },
      { x: 1, t: 'x', c: '2024-01-03', _source_row_number: 5 },
    ]);
    assert.deepEqual(await db.rows(`select record_number, record, matched_row_id, matched_record_number from ${db.schema}.import_duplicates where import_id = $1 order by record_number`, [r.import_id]), [
      { record_number: 3, record: { x: 1, t: 'x', c: '2024-01-02' }, matched_row_id: null, matched_record_number: 1 },
      { record_number: 4, record: { x: 2, t: 'y', c: null }, matched_row_id: null, matched_record_number: 2 },
      { record_number: 6, record: { x: 1, t: 'x', c: '2024-01-02' }, matched_row_id: null, matched_record_number: 1 },
    ]);
  });

  it('a kept record lists its columns in the table\'s order, in a new table and an existing one', async () => {
    // jsonb would order the keys by length (a, bb); the record keeps the row's own order.
    const path = files.write('order.csv', 'bb,a\n2,x\n2,x\n');
    const first = await importFile(db.settings, { ...defaults, source: path, table: 'keyorder' });
    const again = await importFile(db.settings, { ...defaults, source: path, table: 'keyorder', allowSameFile: true });
    assert.deepEqual([first.duplicates_found, again.duplicates_found], [1, 2]);
    const text = await db.rows(`select record::text as t from ${db.schema}.import_duplicates where import_id = any ($1) order by import_id = $2 desc, record_number`, [
      [first.import_id, again.import_id],
      first.import_id,
    ]);
    assert.deepEqual(text, [{ t: '{"bb":2,"a":"x"}' }, { t: '{"bb":2,"a":"x"}' }, { t: '{"bb":2,"a":"x"}' }]);
    const page = await listSkippedDuplicates(db.settings, again.import_id, { limit: 10, offset: 0 });
    assert.deepEqual(page.duplicates.map((d) => Object.keys(d.record ?? {})), [['bb', 'a'], ['bb', 'a']], 'atlas errors --duplicates shows them in that order too');
  });

  it('a column dropped outside atlas: the stale row hashes are recomputed, so the rows are still found as duplicates', async () => {
    const first = await importFile(db.settings, { ...defaults, source: files.write('dropped1.csv', 'a,b,c\n1,x,p\n2,y,q\n'), table: 'dropped' });
    await db.rows(`alter table ${db.schema}.dropped drop column b`);
    const again = await importFile(db.settings, { ...defaults, source: files.write('dropped2.csv', 'a,c\n1,p\n2,q\n3,r\n'), table: 'dropped' });
    assert.deepEqual([again.import_strategy, again.duplicates_found, again.rows_inserted], ['merge_exact', 2, 1]);
    assert.ok(again.warnings.some((w) => /dropped's stored row hashes did not match its columns .*recomputed for its 2 row\(s\)/.test(w)), again.warnings.join('\n'));
    assert.equal(await count('dropped'), 3);
    const third = await importFile(db.settings, { ...defaults, source: files.write('dropped3.csv', 'a,c\n3,r\n4,s\n'), table: 'dropped' });
    assert.deepEqual([third.duplicates_found, third.rows_inserted, third.warnings], [1, 1, []], 'hashes now current: no second rewrite');
    // The second import relies on the first one's rows (it skipped its copies of them): they stay, as its rows.
    const undone = await undoImport(db.settings, first.import_id, { dryRun: false, force: false, purge: false, reassign: true });
    assert.equal(undone.force_reason, null, "the rewrite is atlas's own: no --force needed");
    assert.deepEqual([undone.rows_removed, undone.rows_reassigned], [2, 2]);
    assert.equal(await count('dropped'), 4);
  });

  it('a new table with --key: a later record with an earlier key is a duplicate whatever its other values', async () => {
    const r = await importFile(db.settings, { ...defaults, source: files.write('freshkey.csv', 'a,b\n1,x\n1,y\n2,z\n,w\n,v\n'), table: 'freshkey', key: ['a'] });
    assert.equal(r.duplicates_found, 2);
    assert.equal(r.rows_inserted, 3);
    assert.deepEqual(await db.rows(`select a, b from ${db.schema}.freshkey order by id`), [{ a: 1, b: 'x' }, { a: 2, b: 'z' }, { a: null, b: 'w' }]);
    assert.deepEqual(await db.rows(`select record_number, record, matched_record_number from ${db.schema}.import_duplicates where import_id = $1 order by record_number`, [r.import_id]), [
      { record_number: 2, record: { a: 1, b: 'y' }, matched_record_number: 1 },
      { record_number: 5, record: { a: null, b: 'v' }, matched_record_number: 4 },
    ]);
  });

  it('rows whose values a column default or a BEFORE INSERT trigger filled are found again by a file that brings those values', async () => {
    // 60 rows on each side, so that the stale-hash sample of the table's ends (50 rows each) sees
    // none of the filled rows; the imports in between name a key, so that they take no sample.
    const lines = (prefix: string, status: string | null) => Array.from({ length: 60 }, (_, i) => `${prefix}${i},${i}${status === null ? '' : `,${status}`}`).join('\n');
    await importFile(db.settings, { ...defaults, source: files.write('filled_a.csv', `k,n,status\n${lines('a', 'old')}\n`), table: 'filled' });
    await db.rows(`alter table ${db.schema}.filled alter column status set default 'new'`);
    const x = await importFile(db.settings, { ...defaults, source: files.write('filled_x.csv', 'k,n\nx1,1\nx2,2\n'), table: 'filled' });
    assert.equal(x.rows_inserted, 2);
    await db.rows(`create function ${db.schema}.shout() returns trigger language plpgsql as $$ begin new.k := upper(new.k); return new; end $$`);
    await db.rows(`create trigger shout before insert on ${db.schema}.filled for each row execute function ${db.schema}.shout()`);
    await importFile(db.settings, { ...defaults, source: files.write('filled_t.csv', 'k,n,status\nt4,4,new\n'), table: 'filled', key: ['k'] });
    await db.rows(`drop trigger shout on ${db.schema}.filled`);
    await importFile(db.settings, { ...defaults, source: files.write('filled_y.csv', `k,n,status\n${lines('y', 'old')}\n`), table: 'filled', key: ['k'] });
    const z = await importFile(db.settings, { ...defaults, source: files.write('filled_z.csv', 'k,n,status\nx1,1,new\nx2,2,new\nT4,4,new\nz3,3,new\n'), table: 'filled' });
    assert.deepEqual([z.rows_inserted, z.duplicates_found], [1, 3]);
    assert.deepEqual(await db.rows(`select k, status, count(*)::int as n from ${db.schema}.filled where k in ('x1', 'x2', 'T4', 'z3') group by 1, 2 order by 1`), [
      { k: 'T4', status: 'new', n: 1 }, { k: 'x1', status: 'new', n: 1 }, { k: 'x2', status: 'new', n: 1 }, { k: 'z3', status: 'new', n: 1 },
    ]);
  });

  it('--no-dedupe keeps every row', async () => {
    const r = await importFile(db.settings, { ...defaults, source: files.write('nodedupe.csv', 'a\n1\n1\n'), dedupe: false });
    assert.equal(r.rows_inserted, 2);
    assert.equal(r.duplicates_found, 0);
  });

  it('an empty key from a library caller is a usage error before the file is read', async () => {
    for (const key of [[], [''], ['a', ' ']]) {
      await assert.rejects(importFile(db.settings, { ...defaults, source: files.write('nokey.csv', 'a,b\n1,x\n1,x\n'), table: 'nokey', key }), (err: unknown) => {
        assert.ok(err instanceof UsageError, String(err));
        return true;
      });
    }
    assert.deepEqual(await db.rows(`select to_regclass($1) as t`, [`${db.schema}.nokey`]), [{ t: null }]);
    const history = await db.rows<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${db.schema}.import_history`]);
    if (history[0]!.t !== null) assert.deepEqual(await db.rows(`select count(*)::int as n from ${db.schema}.import_history where table_name = 'nokey'`), [{ n: 0 }]);
  });

  it('--key compares only the key columns; a missing key column is an error before anything is written', async () => {
    await importFile(db.settings, { ...defaults, source: files.write('k1.csv', csv([['email', 'name'], ['a@x', 'Ann'], ['b@x', 'Bob']])), table: 'keyed' });
    const r = await importFile(db.settings, { ...defaults, source: files.write('k2.csv', csv([['email', 'name'], ['a@x', 'Ann B.'], ['c@x', 'Cy']])), table: 'keyed', key: ['email'] });
    assert.equal(r.duplicates_found, 1);
    assert.equal(r.rows_inserted, 1);
    // The kept record holds every column the import writes, not only the key.
    const ann = await db.rows<{ id: string }>(`select id from ${db.schema}.keyed where email = 'a@x'`);
    assert.deepEqual(await db.rows(`select record_number, record, matched_row_id, matched_record_number from ${db.schema}.import_duplicates where import_id = $1`, [r.import_id]), [
      { record_number: 1, record: { email: 'a@x', name: 'Ann B.' }, matched_row_id: ann[0]!.id, matched_record_number: null },
    ]);
    const before = (await db.rows(`select 1 from ${db.schema}.import_history`)).length;
    await assert.rejects(importFile(db.settings, { ...defaults, source: files.write('k3.csv', csv([['email'], ['z@x']])), table: 'keyed', key: ['phone'] }), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /key column\(s\) not in the file: phone/);
      return true;
    });
    await assert.rejects(importFile(db.settings, { ...defaults, source: files.write('k4.csv', csv([['email', 'phone'], ['z@x', '1']])), table: 'keyed', key: ['phone'], strategy: 'adapt_data' }), /key column\(s\) not in table keyed: phone|not among the columns/);
    assert.equal((await db.rows(`select 1 from ${db.schema}.import_history`)).length, before, 'nothing written');
  });

  it('8 concurrent imports of overlapping files into one new table end with exactly the distinct rows', async () => {
    const paths = Array.from({ length: 8 }, (_, f) => {
      const lines = ['id,value'];
      // File f holds ids [f*50, f*50+100): each overlaps the next by half.
      for (let i = f * 50; i < f * 50 + 100; i++) lines.push(`${i},v${i}`);
      return files.write(`conc${f}.csv`, `${lines.join('\n')}\n`);
    });
    const results = await Promise.all(paths.map((p) => importFile(db.settings, { ...defaults, source: p, table: 'concurrent' })));
    const distinct = 7 * 50 + 100;
    assert.equal(await count('concurrent'), distinct);
    assert.equal(results.reduce((sum, r) => sum + r.rows_inserted, 0), distinct);
    assert.equal(results.reduce((sum, r) => sum + r.duplicates_found, 0), 8 * 100 - distinct);
    const [d] = await db.rows<{ n: string }>(`select count(*) - count(distinct id_2) as n from ${db.schema}.concurrent`);
    assert.equal(Number(d!.n), 0);
  });
});
