import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImportFailedError, UsageError } from '../../src/errors.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';
import { importInto, importWith, snapshotTable } from '../importHelpers.ts';

describe('import --mode upsert', () => {
  const db = useTestDb();
  const files = useTempDir();

  type Row = { id: string; sku: string; price: string | null; note: string | null; _import_id: string; _source_row_number: number };
  const rowsOf = (table: string) => db.rows<Row>(`select id::text, sku, price::text, to_jsonb(t)->>'note' as note, _import_id::text, _source_row_number from ${db.schema}.${table} t order by id`);

  it('updates the rows whose key matches where a value differs, counts the unchanged ones, inserts new keys', async () => {
    const a = await importInto(db.settings, files.write('p1.csv', csv([['sku', 'price', 'note'], ['a', '1.50', 'x'], ['b', '2.00', 'y'], ['c', '3.00', 'z']])), 'prices');
    const before = await rowsOf('prices');
    const whole = await snapshotTable(db, 'prices');
    const u = await importWith(db.settings, files.write('p2.csv', csv([['sku', 'price', 'note'], ['b', '2.50', 'y'], ['a', '1.50', 'x'], ['d', '4.00', 'w']])), 'prices', { mode: 'upsert', key: ['sku'] });
    assert.equal(u.import_mode, 'upsert');
    assert.equal(u.rows_inserted, 1);
    assert.equal(u.rows_updated, 1);
    assert.equal(u.rows_unchanged, 1);
    assert.equal(u.rows_deleted, 0);
    assert.equal(u.rows_skipped, 0);
    assert.equal(u.status, 'success');
    const after = await rowsOf('prices');
    assert.deepEqual(after.map((r) => [r.id, r.sku, r.price, r.note]), [
      [before[0]!.id, 'a', '1.50', 'x'],
      [before[1]!.id, 'b', '2.50', 'y'],
      [before[2]!.id, 'c', '3.00', 'z'],
      [after[3]!.id, 'd', '4.00', 'w'],
    ]);
    // The updated row is this import's now (its metadata); the unchanged and untouched ones keep theirs.
    assert.deepEqual(after.map((r) => [r._import_id, r._source_row_number]), [[a.import_id, 1], [u.import_id, 1], [a.import_id, 3], [u.import_id, 3]]);
    const [rec] = await db.rows<Record<string, unknown>>(`select import_mode, rows_inserted, rows_updated, rows_unchanged, rows_deleted, rows_skipped from ${db.schema}.import_history where import_id = $1`, [u.import_id]);
    assert.deepEqual(rec, { import_mode: 'upsert', rows_inserted: 1, rows_updated: 1, rows_unchanged: 1, rows_deleted: 0, rows_skipped: 0 });
    // The pre-image of the updated row is the whole row as it was.
    const pre = await db.rows<{ action: string; row_data: unknown }>(`select action, row_data::jsonb as row_data from ${db.schema}.import_preimages where import_id = $1`, [u.import_id]);
    assert.equal(pre.length, 1);
    assert.equal(pre[0]!.action, 'updated');
    assert.deepEqual(pre[0]!.row_data, whole[1]);
  });

  it('new keys a trigger of the table leaves out are counted as skipped and said, not passed off as unchanged', async () => {
    await importInto(db.settings, files.write('k1.csv', csv([['sku', 'price', 'note'], ['a', '1', 'x'], ['c', '3', 'z']])), 'kept_out');
    const t = `${db.schema}.kept_out`;
    await db.client.query(`create function ${db.schema}.skip_some() returns trigger language plpgsql as $$ begin if new.sku like 'skip%' then return null; end if; return new; end $$`);
    await db.client.query(`create trigger skip_some before insert on ${t} for each row execute function ${db.schema}.skip_some()`);
    const u = await importWith(db.settings, files.write('k2.csv', csv([['sku', 'price', 'note'], ['a', '1', 'X'], ['skip1', '9', 's'], ['b', '2', 'y'], ['c', '3', 'z'], ['skip2', '9', 's']])), 'kept_out', { mode: 'upsert', key: ['sku'] });
    assert.deepEqual([u.rows_inserted, u.rows_updated, u.rows_unchanged, u.rows_skipped], [1, 1, 1, 2]);
    assert.ok(u.warnings.includes(`2 row(s) sent to kept_out were not stored: a trigger on it left them out (see the triggers in \\d ${db.schema}.kept_out); counted as skipped (metadata.rows_not_stored)`), u.warnings.join('\n'));
    const [rec] = await db.rows<{ n: number; unchanged: number; skipped: number }>(
      `select (metadata->>'rows_not_stored')::int as n, rows_unchanged as unchanged, rows_skipped as skipped from ${db.schema}.import_history where import_id = $1`,
      [u.import_id],
    );
    assert.deepEqual(rec, { n: 2, unchanged: 1, skipped: 2 });
    assert.deepEqual((await db.rows<{ sku: string }>(`select sku from ${t} order by id`)).map((r) => r.sku), ['a', 'c', 'b']);
  });

  it('the key given with --key is in the stored mapping_config, which replays as a --mapping file with the same key', async () => {
    await importInto(db.settings, files.write('k1.csv', csv([['sku', 'price'], ['a', '1']])), 'keyed_replay');
    const u = await importWith(db.settings, files.write('k2.csv', csv([['sku', 'price'], ['a', '2']])), 'keyed_replay', { mode: 'upsert', key: ['sku'] });
    const [rec] = await db.rows<{ mapping: { key: string[] | null } }>(`select mapping_config as mapping from ${db.schema}.import_history where import_id = $1`, [u.import_id]);
    assert.deepEqual(rec!.mapping.key, ['sku']);
    const replay = files.write('replay.json', JSON.stringify(rec!.mapping));
    const again = await importWith(db.settings, files.write('k3.csv', csv([['sku', 'price'], ['a', '3']])), 'keyed_replay', { mode: 'upsert', mappingFile: replay });
    assert.deepEqual([again.rows_updated, again.rows_inserted], [1, 0]);
  });

  it('a key column named in another case than the file\'s (JSON, whose keys are known once read) is refused with the name it has', async () => {
    const err = await importWith(db.settings, files.write('cased.json', '[{"country": "A", "v": 1}]'), 'cased', { mode: 'upsert', key: ['Country'] }).catch((e: unknown) => e);
    assert.ok(err instanceof ImportFailedError, String(err));
    assert.match(err.message, /key column Country is not among the columns this import writes$/);
    assert.equal(err.hint, 'names are case-sensitive: --key country');
  });

  it('leaves columns the file does not bring as they are, and keeps the row hash right for the duplicate check', async () => {
    await importInto(db.settings, files.write('w1.csv', csv([['sku', 'price', 'note'], ['a', '1', 'keep me'], ['b', '2', 'me too']])), 'wide');
    const u = await importWith(db.settings, files.write('w2.csv', csv([['sku', 'price'], ['a', '10']])), 'wide', { mode: 'upsert', key: ['sku'] });
    assert.deepEqual((await rowsOf('wide')).map((r) => [r.sku, r.price, r.note]), [['a', '10', 'keep me'], ['b', '2', 'me too']]);
    // Said as it is: not "left NULL" (currency-codes upserted without a column kept its 190 values).
    assert.ok(u.warnings.includes('column(s) of wide missing from the file: note; the rows it updates keep their values there, the rows it inserts get NULL (or the default)'), u.warnings.join('\n'));
    // An append of the row as it is now is a duplicate of it (the stored hash follows the update).
    const again = await importInto(db.settings, files.write('w3.csv', csv([['sku', 'price', 'note'], ['a', '10', 'keep me']])), 'wide');
    assert.equal(again.duplicates_found, 1);
    assert.equal(again.rows_inserted, 0);
  });

  it('an updated row keeps the corrections of the columns the file does not bring, and takes the file\'s for those it does', async () => {
    // sold_on 03/14/2024 is stored as a date and price 1,500.00 as a number: both corrections recorded.
    await importInto(db.settings, files.write('k1.csv', csv([['sku', 'sold_on', 'price'], ['a', '03/14/2024', '1,500.00'], ['b', '03/15/2024', '2.00']])), 'kept_fixes');
    await importWith(db.settings, files.write('k2.csv', csv([['sku', 'price'], ['a', '1,600.00'], ['b', '3']])), 'kept_fixes', { mode: 'upsert', key: ['sku'] });
    const rows = await db.rows<{ sku: string; fixes: Record<string, { before: string }> | null }>(`select sku, _corrections_applied as fixes from ${db.schema}.kept_fixes order by sku`);
    const shown = rows.map((r) => [r.sku, Object.fromEntries(Object.entries(r.fixes ?? {}).map(([k, v]) => [k, v.before]))]);
    assert.deepEqual(shown, [['a', { sold_on: '03/14/2024', price: '1,600.00' }], ['b', { sold_on: '03/15/2024' }]]);
  });

  it('records sharing a key within the file are mapping errors, all of them, naming the conflict; the others are written', async () => {
    await importInto(db.settings, files.write('k1.csv', csv([['sku', 'price'], ['a', '1'], ['b', '2']])), 'keyed');
    const before = await rowsOf('keyed');
    const u = await importWith(db.settings, files.write('k2.csv', csv([['sku', 'price'], ['a', '5'], ['c', '3'], ['a', '6'], ['b', '2'], ['a', '5']])), 'keyed', { mode: 'upsert', key: ['sku'] });
    assert.equal(u.status, 'partial');
    assert.equal(u.mapping_errors_count, 3);
    assert.equal(u.rows_inserted, 1);
    assert.equal(u.rows_unchanged, 1);
    assert.equal(u.rows_updated, 0);
    assert.equal(u.rows_skipped, 3);
    const errs = await db.rows<{ record_number: number; error_type: string; error_message: string; source_value: string; source_field: string; target_field: string }>(
      `select record_number, error_type, error_message, source_value, source_field, target_field from ${db.schema}.mapping_errors where import_id = $1 order by record_number`,
      [u.import_id],
    );
    assert.deepEqual(errs.map((e) => e.record_number), [1, 3, 5]);
    // The key's field and its value as the file has it, as other mapping errors are found (atlas errors --field sku, where source_value = 'a').
    assert.ok(errs.every((e) => e.error_type === 'duplicate_key' && e.source_value === 'a' && e.source_field === 'sku' && e.target_field === 'sku'), JSON.stringify(errs));
    assert.match(errs[0]!.error_message, /key sku = 'a' is shared by 3 records of the file \(1, 3, 5\)/);
    const after = await rowsOf('keyed');
    assert.deepEqual(after.map((r) => [r.sku, r.price]), [['a', '1'], ['b', '2'], ['c', '3']], 'row a is not touched');
    assert.equal(after[0]!._import_id, before[0]!._import_id);
  });

  it('refuses a key that is not unique in the table before anything is written, showing the key values', async () => {
    await importWith(db.settings, files.write('n1.csv', csv([['sku', 'price'], ['a', '1'], ['a', '2'], ['b', '3']])), 'nonunique', { key: ['sku', 'price'] });
    const before = await snapshotTable(db, 'nonunique');
    await assert.rejects(
      importWith(db.settings, files.write('n2.csv', csv([['sku', 'price'], ['a', '9'], ['z', '1']])), 'nonunique', { mode: 'upsert', key: ['sku'] }),
      (err: unknown) => err instanceof ImportFailedError && /key sku is not unique in the table: 'a' \(2 rows\); nothing was written/.test(err.message),
    );
    assert.deepEqual(await snapshotTable(db, 'nonunique'), before);
    const failed = await db.rows(`select 1 from ${db.schema}.import_preimages p join ${db.schema}.import_history h using (import_id) where h.table_name = 'nonunique'`);
    assert.equal(failed.length, 0);
  });

  it('a composite key, NULL matching NULL; into a table created without --key (no unique index)', async () => {
    await importInto(db.settings, files.write('c1.csv', csv([['region', 'day', 'n'], ['eu', '2025-01-01', '1'], ['', '2025-01-01', '2'], ['us', '2025-01-02', '3']])), 'composite');
    const u = await importWith(db.settings, files.write('c2.csv', csv([['region', 'day', 'n'], ['', '2025-01-01', '20'], ['eu', '2025-01-02', '4']])), 'composite', { mode: 'upsert', key: ['region', 'day'] });
    assert.deepEqual([u.rows_inserted, u.rows_updated, u.rows_unchanged], [1, 1, 0]);
    const rows = await db.rows<{ region: string | null; n: number }>(`select region, n from ${db.schema}.composite order by id`);
    assert.deepEqual(rows, [{ region: 'eu', n: 1 }, { region: null, n: 20 }, { region: 'us', n: 3 }, { region: 'eu', n: 4 }]);
    const idx = await db.rows(`select indexname from pg_indexes where schemaname = $1 and tablename = 'composite' and indexdef like 'CREATE UNIQUE%' and indexdef not like '%(id)'`, [db.schema]);
    assert.equal(idx.length, 0);
  });

  it('creating the table, upsert makes a unique index on the key', async () => {
    const u = await importWith(db.settings, files.write('new.csv', csv([['sku', 'price'], ['a', '1'], ['b', '2']])), 'fresh_keyed', { mode: 'upsert', key: ['sku'] });
    assert.deepEqual([u.rows_inserted, u.rows_updated, u.import_strategy], [2, 0, 'new_table']);
    const idx = await db.rows<{ indexdef: string }>(`select indexdef from pg_indexes where schemaname = $1 and tablename = 'fresh_keyed' and indexdef like 'CREATE UNIQUE%' and indexdef not like '%(id)'`, [db.schema]);
    assert.equal(idx.length, 1);
    assert.match(idx[0]!.indexdef, /\(sku\)/);
    const again = await importWith(db.settings, files.write('new2.csv', csv([['sku', 'price'], ['a', '7'], ['c', '3']])), 'fresh_keyed', { mode: 'upsert', key: ['sku'] });
    assert.deepEqual([again.rows_inserted, again.rows_updated, again.rows_unchanged], [1, 1, 0]);
  });

  it('a key whose column a mapping renames: named by the header or by the target, into a table the mapping made (tzdata zone1970.tab: "key column(s) not in table")', async () => {
    const mapping = files.write('tz-map.json', JSON.stringify({ columns: { TZ: { target: 'zone' } } }));
    const v1 = csv([['codes', 'TZ'], ['AD', 'Europe/Andorra'], ['AE,OM', 'Asia/Dubai']]);
    const v2 = csv([['codes', 'TZ'], ['AD', 'Europe/Andorra'], ['AE,OM,RE', 'Asia/Dubai'], ['AF', 'Asia/Kabul']]);
    for (const [table, key] of [['tz_by_header', 'TZ'], ['tz_by_target', 'zone']] as const) {
      await importWith(db.settings, files.write(`${table}1.csv`, v1), table, { mappingFile: mapping });
      const u = await importWith(db.settings, files.write(`${table}2.csv`, v2), table, { mappingFile: mapping, mode: 'upsert', key: [key] });
      assert.deepEqual([u.rows_inserted, u.rows_updated, u.rows_unchanged], [1, 1, 1], table);
      assert.deepEqual(await db.rows(`select zone, codes from ${db.schema}.${table} order by id`), [
        { zone: 'Europe/Andorra', codes: 'AD' },
        { zone: 'Asia/Dubai', codes: 'AE,OM,RE' },
        { zone: 'Asia/Kabul', codes: 'AF' },
      ]);
    }
  });

  it('upsert without a key is a usage error', async () => {
    await assert.rejects(importWith(db.settings, files.write('nokey.csv', csv([['sku'], ['a']])), 'prices', { mode: 'upsert' }), (err: unknown) => err instanceof UsageError && /needs --key/.test(err.message));
  });

  it('upsert and replace into a table whose id is not unique (serial, no primary key) are refused in one line; nothing is written', async () => {
    await importInto(db.settings, files.write('boot.csv', csv([['k'], ['z']])), 'boot');
    const t = `${db.schema}.dupid`;
    await db.rows(`create table ${t} (id serial, code text, v int, _import_id uuid references ${db.schema}.import_history (import_id) on delete cascade, _imported_at timestamp default now(), _source_row_number int, _corrections_applied jsonb)`);
    await importInto(db.settings, files.write('d1.csv', csv([['code', 'v'], ['A', '1'], ['B', '2']])), 'dupid');
    // The sequence set back: two rows share each id.
    await db.rows(`select setval(pg_get_serial_sequence('${t}', 'id'), 1, false)`);
    await importInto(db.settings, files.write('d2.csv', csv([['code', 'v'], ['C', '3'], ['D', '4']])), 'dupid');
    const before = await snapshotTable(db, 'dupid');
    const refused = (e: unknown) => e instanceof ImportFailedError && /--mode (upsert|replace) needs table dupid's id column to be unique/.test(e.message);
    await assert.rejects(importWith(db.settings, files.write('d3.csv', csv([['code', 'v'], ['A', '10']])), 'dupid', { mode: 'upsert', key: ['code'] }), refused);
    await assert.rejects(importWith(db.settings, files.write('d4.csv', csv([['code', 'v'], ['A', '10']])), 'dupid', { mode: 'replace' }), refused);
    assert.deepEqual(await snapshotTable(db, 'dupid'), before);
  });

  it('upsert and replace into a table with inheritance children are refused in one line naming them; the children\'s rows are untouched; appends still go in', async () => {
    await importInto(db.settings, files.write('par.csv', csv([['code', 'v'], ['A', '1'], ['B', '2']])), 'par');
    const kid = `${db.schema}.par_kid`;
    await db.rows(`create table ${kid} (extra text) inherits (${db.schema}.par)`);
    await db.rows(`insert into ${kid} (id, code, v, _import_id, extra) select 1000, 'K', 9, _import_id, 'kid' from ${db.schema}.par limit 1`);
    const kids = async () => db.rows(`select code, v, extra from only ${kid}`);
    const [before, kidsBefore] = [await snapshotTable(db, 'par'), await kids()];
    const refused = (e: unknown) => e instanceof ImportFailedError && e.message.includes(`cannot change table par: it has inheritance children (${db.schema}.par_kid)`);
    await assert.rejects(importWith(db.settings, files.write('p2.csv', csv([['code', 'v'], ['A', '10']])), 'par', { mode: 'upsert', key: ['code'] }), refused);
    await assert.rejects(importWith(db.settings, files.write('p3.csv', csv([['code', 'v'], ['C', '3']])), 'par', { mode: 'replace' }), refused);
    assert.deepEqual([await snapshotTable(db, 'par'), await kids()], [before, kidsBefore]);
    const appended = await importInto(db.settings, files.write('p4.csv', csv([['code', 'v'], ['D', '4']])), 'par');
    assert.equal(appended.rows_inserted, 1);
    // A partitioned table's partitions are not such children: an upsert into it goes on.
    await db.rows(`create table ${db.schema}.parted (id bigint generated always as identity, code text, v int, _import_id uuid references ${db.schema}.import_history (import_id) on delete cascade, _imported_at timestamp default now(), _source_row_number int, _corrections_applied jsonb, primary key (id, code)) partition by list (code)`);
    await db.rows(`create table ${db.schema}.parted_a partition of ${db.schema}.parted for values in ('A')`);
    await db.rows(`create table ${db.schema}.parted_other partition of ${db.schema}.parted default`);
    const parted = await importWith(db.settings, files.write('q1.csv', csv([['code', 'v'], ['A', '1'], ['B', '2']])), 'parted', { mode: 'replace' });
    assert.equal(parted.rows_inserted, 2);
  });
});
