import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { undoImport, type UndoOptions } from '../../src/core/undo.ts';
import { AtlasError } from '../../src/errors.ts';
import { qualify } from '../../src/transform/naming.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';
import { createTrackedTable, importInto, importWith, snapshotRowText, snapshotTable } from '../importHelpers.ts';

const run: UndoOptions = { dryRun: false, force: false, purge: false };

/** Undo of upserts and replaces: the table is exactly what it was before (every column of every row). */
describe('undo of upsert, replace and --replace-import', () => {
  const db = useTestDb();
  const files = useTempDir();
  const upsert = (name: string, rows: Array<Array<string | number>>, table: string) =>
    importWith(db.settings, files.write(name, csv([['sku', 'price', 'note'], ...rows])), table, { mode: 'upsert', key: ['sku'] });
  const append = (name: string, rows: Array<Array<string | number>>, table: string) => importInto(db.settings, files.write(name, csv([['sku', 'price', 'note'], ...rows])), table);
  const status = async (id: string) => (await db.rows<{ status: string }>(`select status from ${db.schema}.import_history where import_id = $1`, [id]))[0]!.status;

  it('undo of an upsert puts every updated row back (values, metadata, id) and deletes the rows it inserted', async () => {
    const a = await append('u1.csv', [['a', '1.5', 'x'], ['b', '2', ''], ['c', '3', 'z']], 'u_prices');
    const beforeUpsert = await snapshotTable(db, 'u_prices');
    const u = await upsert('u2.csv', [['a', '1.5', 'x'], ['b', '2.25', 'new note'], ['d', '4', 'w'], ['c', '3', '']], 'u_prices');
    assert.deepEqual([u.rows_inserted, u.rows_updated, u.rows_unchanged], [1, 2, 1]);
    assert.notDeepEqual(await snapshotTable(db, 'u_prices'), beforeUpsert);
    const dry = await undoImport(db.settings, u.import_id, { ...run, dryRun: true });
    assert.deepEqual([dry.rows_to_remove, dry.rows_to_restore, dry.force_reason, dry.later_imports.length], [3, 2, null, 0]);
    const r = await undoImport(db.settings, u.import_id, run);
    // Removed: the row it inserted; the two it updated are put back, not counted as removed.
    assert.deepEqual([r.rows_removed, r.rows_restored], [1, 2]);
    assert.deepEqual(await snapshotTable(db, 'u_prices'), beforeUpsert, 'byte for byte as before the upsert');
    // So the records add up to the table, as the stats' sums are read: inserted less removed.
    const [sums] = await db.rows<{ n: number }>(`select (sum(rows_inserted) - sum(coalesce(rows_removed, 0)))::int as n from ${db.schema}.import_history where table_name = 'u_prices'`);
    assert.equal(sums!.n, (await snapshotTable(db, 'u_prices')).length);
    // The first import's rows count as its own, unchanged: its undo needs no --force.
    const ra = await undoImport(db.settings, a.import_id, run);
    assert.equal(ra.rows_removed, 3);
    assert.deepEqual(await snapshotTable(db, 'u_prices'), []);
  });

  it('undo of an upsert whose updated row was deleted by hand since: --force puts it back, and the record counts the inserted row as removed (it said 0)', async () => {
    await append('ud1.csv', [['a', '1', 'x'], ['b', '2', 'y'], ['c', '3', 'z']], 'ud_prices');
    const beforeUpsert = await snapshotTable(db, 'ud_prices');
    const u = await upsert('ud2.csv', [['a', '10', 'x'], ['b', '20', 'y'], ['n', '9', 'new']], 'ud_prices');
    assert.deepEqual([u.rows_inserted, u.rows_updated], [1, 2]);
    await db.client.query(`delete from ${db.schema}.ud_prices where sku = 'b'`);
    const r = await undoImport(db.settings, u.import_id, { ...run, force: true });
    assert.deepEqual([r.rows_removed, r.rows_restored], [1, 2]);
    assert.deepEqual(await snapshotTable(db, 'ud_prices'), beforeUpsert);
    const [rec] = await db.rows<{ rows_removed: number }>(`select rows_removed from ${db.schema}.import_history where import_id = $1`, [u.import_id]);
    assert.equal(rec!.rows_removed, 1);
    const [sums] = await db.rows<{ n: number }>(`select (sum(rows_inserted) - sum(coalesce(rows_removed, 0)))::int as n from ${db.schema}.import_history where table_name = 'ud_prices'`);
    assert.equal(sums!.n, beforeUpsert.length, 'the records add up to the table');
  });

  it('undo of a replace and of a --replace-import brings back exactly the rows that were there', async () => {
    const a = await append('r1.csv', [['a', '1', 'x'], ['b', '2', 'y']], 'r_prices');
    const b = await append('r2.csv', [['c', '3', 'z']], 'r_prices');
    const s0 = await snapshotTable(db, 'r_prices');
    const fix = await importWith(db.settings, files.write('r1_fixed.csv', csv([['sku', 'price', 'note'], ['a', '1', 'x'], ['b', '20', 'y']])), null, { replaceImport: a.import_id });
    const s1 = await snapshotTable(db, 'r_prices');
    const rep = await importWith(db.settings, files.write('r3.csv', csv([['sku', 'price', 'note'], ['q', '9', 'q']])), 'r_prices', { mode: 'replace' });
    assert.equal((await snapshotTable(db, 'r_prices')).length, 1);
    const r = await undoImport(db.settings, rep.import_id, run);
    assert.deepEqual([r.rows_removed, r.rows_restored], [1, 3]);
    assert.deepEqual(await snapshotTable(db, 'r_prices'), s1);
    const f = await undoImport(db.settings, fix.import_id, run);
    assert.deepEqual([f.rows_removed, f.rows_restored], [2, 2]);
    assert.deepEqual(await snapshotTable(db, 'r_prices'), s0);
    const [rec] = await db.rows<{ replaced_by: string | null }>(`select replaced_by from ${db.schema}.import_history where import_id = $1`, [a.import_id]);
    assert.equal(rec!.replaced_by, null, 'the replaced import is no longer replaced');
    // Both earlier imports undo cleanly afterwards, without --force.
    await undoImport(db.settings, b.import_id, run);
    await undoImport(db.settings, a.import_id, run);
    assert.deepEqual(await snapshotTable(db, 'r_prices'), []);
  });

  it('undoing an import whose rows a later import changed is refused, naming it; latest first, every step exact', async () => {
    const a = await append('o1.csv', [['a', '1', 'x'], ['b', '2', 'y'], ['c', '3', 'z']], 'o_prices');
    const s1 = await snapshotTable(db, 'o_prices');
    const b = await upsert('o2.csv', [['a', '10', 'x'], ['d', '4', 'w']], 'o_prices');
    const s2 = await snapshotTable(db, 'o_prices');
    const c = await upsert('o3.csv', [['a', '100', 'x'], ['d', '40', 'w'], ['b', '20', 'y']], 'o_prices');
    await assert.rejects(undoImport(db.settings, b.import_id, run), (err: unknown) => err instanceof AtlasError && err.message.includes(`later import(s) updated or deleted its rows: ${c.import_id} (upsert`));
    await assert.rejects(undoImport(db.settings, a.import_id, run), (err: unknown) => err instanceof AtlasError && err.message.includes(b.import_id) && err.message.includes(c.import_id));
    const dry = await undoImport(db.settings, a.import_id, { ...run, dryRun: true });
    assert.deepEqual(dry.later_imports.map((l) => [l.import_id, l.rows]), [[b.import_id, 1], [c.import_id, 1]]);
    await undoImport(db.settings, c.import_id, run);
    assert.deepEqual(await snapshotTable(db, 'o_prices'), s2);
    await undoImport(db.settings, b.import_id, run);
    assert.deepEqual(await snapshotTable(db, 'o_prices'), s1);
    await undoImport(db.settings, a.import_id, run);
    assert.deepEqual(await snapshotTable(db, 'o_prices'), []);
  });

  it('--force undoes an earlier import first: the rows later imports changed stay theirs, and undoing those never brings back its rows', async () => {
    const a = await append('f1.csv', [['a', '1', 'x'], ['b', '2', 'y'], ['c', '3', 'z']], 'f_prices');
    const b = await upsert('f2.csv', [['a', '10', 'x'], ['d', '4', 'w']], 'f_prices');
    const afterB = await snapshotTable(db, 'f_prices');
    const r = await undoImport(db.settings, a.import_id, { ...run, force: true });
    assert.equal(r.rows_removed, 2, 'b and c: the rows still its own');
    assert.deepEqual(await snapshotTable(db, 'f_prices'), afterB.filter((x) => (x as { _import_id: string })._import_id === b.import_id), "b's rows stay as b left them");
    await undoImport(db.settings, b.import_id, run);
    assert.deepEqual(await snapshotTable(db, 'f_prices'), [], "undoing b does not bring back a's version of row a");
    assert.equal(await status(a.import_id), 'undone');
  });

  it('--force in the middle of a chain: undoing the last import then restores what was there before the forced one', async () => {
    const a = await append('m1.csv', [['a', '1', 'x'], ['b', '2', 'y']], 'm_prices');
    const s1 = await snapshotTable(db, 'm_prices');
    const b = await upsert('m2.csv', [['a', '10', 'x'], ['b', '20', 'y'], ['n', '5', 'n']], 'm_prices');
    const c = await upsert('m3.csv', [['a', '100', 'x'], ['n', '50', 'n']], 'm_prices');
    await undoImport(db.settings, b.import_id, { ...run, force: true });
    // b's own rows: b (restored to a's version); a and n are c's now and stay.
    const mid = await db.rows<{ sku: string; price: string; _import_id: string }>(`select sku, price::text, _import_id from ${db.schema}.m_prices order by id`);
    assert.deepEqual(mid.map((x) => [x.sku, x.price, x._import_id]), [['a', '100', c.import_id], ['b', '2', a.import_id], ['n', '50', c.import_id]]);
    await undoImport(db.settings, c.import_id, run);
    assert.deepEqual(await snapshotTable(db, 'm_prices'), s1, "row a back as a wrote it; row n (b's) gone");
  });

  it('a replace over an import: undoing that import is refused naming the replace; forced, undoing the replace does not bring its rows back', async () => {
    const a = await append('p1.csv', [['a', '1', 'x'], ['b', '2', 'y']], 'p_prices');
    const rep = await importWith(db.settings, files.write('p2.csv', csv([['sku', 'price', 'note'], ['z', '9', 'z']])), 'p_prices', { mode: 'replace' });
    await assert.rejects(undoImport(db.settings, a.import_id, run), (err: unknown) => err instanceof AtlasError && err.message.includes(`${rep.import_id} (replace`));
    await undoImport(db.settings, a.import_id, { ...run, force: true });
    await undoImport(db.settings, rep.import_id, run);
    assert.deepEqual(await snapshotTable(db, 'p_prices'), []);
  });
  it('an upsert that finds an import\'s rows unchanged keeps them as its own: undoing that import is refused naming it (country-json imported, then upserted again); forced, undoing the upsert does not bring them back', async () => {
    const a = await append('c1.csv', [['a', '1', 'x'], ['b', '2', 'y']], 'c_same');
    const up = await importWith(db.settings, files.write('c2.csv', csv([['sku', 'price', 'note'], ['a', '1', 'x'], ['b', '2', 'y'], ['c', '3', 'z']])), 'c_same', { mode: 'upsert', key: ['sku'], allowSameFile: true });
    assert.deepEqual([up.rows_inserted, up.rows_unchanged], [1, 2]);
    const [meta] = await db.rows(`select metadata -> 'kept_in_place' as kept from ${db.schema}.import_history where import_id = $1`, [up.import_id]);
    assert.deepEqual(meta, { kept: [{ import_id: a.import_id, rows: 2 }] });
    await assert.rejects(undoImport(db.settings, a.import_id, run), (err: unknown) => err instanceof AtlasError && err.message.includes(`${up.import_id} (upsert, c2.csv, 2 kept in place)`));
    await undoImport(db.settings, a.import_id, { ...run, force: true });
    await undoImport(db.settings, up.import_id, run);
    assert.deepEqual(await snapshotTable(db, 'c_same'), []);
  });

  it('every type comes back exactly: floats, timestamps, dates, booleans, JSON, text with quotes and newlines', async () => {
    const header = ['sku', 'f', 'ts', 'd', 'ok', 'j', 't'];
    const first = [
      ['a', '0.1', '2025-01-01T10:00:00.123456+02:00', '2025-01-31', 'true', '{"b": 1, "a": [1, 2.50]}', 'say "hi"\nthere'],
      ['b', '1e-300', '2025-06-30T23:59:59.999999Z', '1999-12-31', 'false', '[]', ''],
    ];
    await createTrackedTable(db, 't_types', [['sku', 'text'], ['f', 'double precision'], ['ts', 'timestamptz'], ['d', 'date'], ['ok', 'boolean'], ['j', 'json'], ['t', 'text'], ['n', 'numeric(12,4)']]);
    await importInto(db.settings, files.write('t1.csv', csv([header, ...first])), 't_types');
    const before = await snapshotTable(db, 't_types');
    const u = await importWith(db.settings, files.write('t2.csv', csv([header, ['a', '0.30000000000000004', '2024-02-29T00:00:00Z', '2024-02-29', 'false', '{"z": null}', 'x'], ['b', '1e-300', '2025-06-30T23:59:59.999999Z', '1999-12-31', 'false', '[]', 'changed']])), 't_types', { mode: 'upsert', key: ['sku'] });
    assert.equal(u.rows_updated, 2);
    await undoImport(db.settings, u.import_id, run);
    assert.deepEqual(await snapshotTable(db, 't_types'), before);
    const text = await db.rows<{ f: string; j: string }>(`select f::text, j::text from ${db.schema}.t_types order by id`);
    assert.deepEqual(text, [{ f: '0.1', j: '{"b": 1, "a": [1, 2.50]}' }, { f: '1e-300', j: '[]' }], 'json keeps its text as written');
  });
  it('a json or jsonb column holding JSON null comes back JSON null, not SQL NULL: upsert, replace, --replace-import and --force', async () => {
    const header = ['sku', 'jb', 'j'];
    await createTrackedTable(db, 'jn_prices', [['sku', 'text'], ['jb', 'jsonb'], ['j', 'json']]);
    const exact = async () => ({ text: await snapshotRowText(db, 'jn_prices'), json: await snapshotTable(db, 'jn_prices') });
    const load = (name: string, rows: string[][], options: Parameters<typeof importWith>[3]) => importWith(db.settings, files.write(name, csv([header, ...rows])), options.replaceImport ? null : 'jn_prices', options);
    const a = await load('jn1.csv', [['a', 'null', 'null'], ['b', '', ''], ['c', '{"x": null}', '[null]']], {});
    const s1 = await exact();
    assert.deepEqual((await db.rows<{ n: number }>(`select count(*)::int as n from ${db.schema}.jn_prices where jb = 'null'::jsonb and j::text = 'null'`))[0]!.n, 1, 'row a holds JSON null');
    const u = await load('jn2.csv', [['a', '[1]', '[1]'], ['b', '[2]', '[2]'], ['c', '3', '3']], { mode: 'upsert', key: ['sku'] });
    assert.equal(u.rows_updated, 3);
    await undoImport(db.settings, u.import_id, run);
    assert.deepEqual(await exact(), s1, 'after undo of the upsert');
    const rep = await load('jn3.csv', [['z', '1', '1']], { mode: 'replace' });
    await undoImport(db.settings, rep.import_id, run);
    assert.deepEqual(await exact(), s1, 'after undo of the replace');
    const fix = await load('jn4.csv', [['a', '0', '0']], { replaceImport: a.import_id });
    await undoImport(db.settings, fix.import_id, run);
    assert.deepEqual(await exact(), s1, 'after undo of the --replace-import');
    // --force of b hands c's pre-image of row a over to a's version: undoing c then puts back JSON null.
    const b = await load('jn5.csv', [['a', '[5]', '[5]']], { mode: 'upsert', key: ['sku'] });
    const c = await load('jn6.csv', [['a', '[6]', '[6]']], { mode: 'upsert', key: ['sku'] });
    await undoImport(db.settings, b.import_id, { ...run, force: true });
    await undoImport(db.settings, c.import_id, run);
    assert.deepEqual(await exact(), s1, 'after --force of b and undo of c');
  });

  it('rows a later append skipped as duplicates, then a replace deleted: the append is named as relying on them; --reassign is refused; --force says what it deleted on every record concerned', async () => {
    const t = 'h_prices';
    const b1 = await append('h1.csv', Array.from({ length: 10 }, (_, i) => [`s${i + 1}`, String(i + 1), 'x']), t);
    const b2 = await append('h2.csv', Array.from({ length: 10 }, (_, i) => [`s${i + 8}`, String(i + 8), 'x']), t);
    assert.equal(b2.duplicates_found, 3);
    const r3 = await importWith(db.settings, files.write('h3.csv', csv([['sku', 'price', 'note'], ['s1', '1', 'x'], ['s2', '2', 'x'], ['s3', '3', 'x'], ['z', '100', 'z']])), t, { mode: 'replace' });
    assert.equal(r3.rows_deleted, 14);
    const dry = await undoImport(db.settings, b1.import_id, { ...run, dryRun: true });
    assert.deepEqual(dry.dependent_imports.map((d) => [d.import_id, d.records]), [[b2.import_id, 3]], "b2's three records rely on rows r3 deleted, kept in its pre-images");
    await assert.rejects(undoImport(db.settings, b1.import_id, { ...run, force: true, reassign: true }), (err: unknown) => err instanceof AtlasError && /with --reassign: 3 of the rows later imports rely on were deleted or updated since by later import\(s\)/.test(err.message));
    const forced = await undoImport(db.settings, b1.import_id, { ...run, force: true });
    assert.equal(forced.dependents, 'deleted');
    const meta = async (id: string) => (await db.rows<{ m: Record<string, unknown> }>(`select metadata as m from ${db.schema}.import_history where import_id = $1`, [id]))[0]!.m;
    assert.match(forced.force_reason ?? '', /^its rows changed: 3 row\(s\) carry its id now, 7 of the 10 it inserted no longer carry it/);
    assert.deepEqual((await meta(b1.import_id)).forced, { reason: forced.force_reason, later_imports: [r3.import_id], rows_left_to_later_imports: 0, dependents_deleted: [{ import_id: b2.import_id, records: 3 }] });
    assert.deepEqual((await meta(b2.import_id)).rows_relied_on_deleted, [{ undone_import_id: b1.import_id, records: 3, by: db.settings.user }]);
    assert.deepEqual((await meta(r3.import_id)).preimages_handed_over, [{ undone_import_id: b1.import_id, rewritten: 0, dropped: 7, by: db.settings.user }]);
    // Undoing the replace then brings back b2's own rows, not b1's.
    await undoImport(db.settings, r3.import_id, run);
    assert.deepEqual((await db.rows<{ sku: string }>(`select sku from ${db.schema}.${t} order by id`)).map((r) => r.sku), ['s11', 's12', 's13', 's14', 's15', 's16', 's17']);
  });

  it('rows a later append skipped as duplicates of rows an upsert updated: --reassign is refused, --force puts the previous version back', async () => {
    await append('d1.csv', [['a', '1', 'x'], ['b', '2', 'y']], 'd_prices');
    const before = await snapshotTable(db, 'd_prices');
    const u = await upsert('d2.csv', [['a', '10', 'x']], 'd_prices');
    const b = await append('d3.csv', [['a', '10', 'x'], ['e', '5', 'e']], 'd_prices');
    assert.equal(b.duplicates_found, 1);
    await assert.rejects(undoImport(db.settings, u.import_id, run), (err: unknown) => err instanceof AtlasError && err.message.includes(b.import_id));
    await assert.rejects(undoImport(db.settings, u.import_id, { ...run, reassign: true }), (err: unknown) => err instanceof AtlasError && /with --reassign: 1 of the rows later imports rely on are rows it updated/.test(err.message));
    const dry = await undoImport(db.settings, u.import_id, { ...run, force: true, dryRun: true });
    assert.deepEqual([dry.dependent_rows, dry.dependent_rows_put_back], [1, 1], 'the row b relies on is put back, not deleted');
    await undoImport(db.settings, u.import_id, { ...run, force: true });
    const rows = await snapshotTable(db, 'd_prices');
    assert.deepEqual(rows.slice(0, 2), before, 'row a as it was before the upsert');
    const meta = async (id: string) => (await db.rows<{ m: Record<string, unknown> }>(`select metadata as m from ${db.schema}.import_history where import_id = $1`, [id]))[0]!.m;
    assert.deepEqual((await meta(b.import_id)).rows_relied_on_deleted, [{ undone_import_id: u.import_id, records: 1, records_on_rows_put_back: 1, by: db.settings.user }]);
    assert.deepEqual(((await meta(u.import_id)).forced as Record<string, unknown>).dependents_deleted, [{ import_id: b.import_id, records: 1, records_on_rows_put_back: 1 }]);
    assert.equal(rows.length, 3, "and b's own row e");
  });

  it('rows an earlier append skipped as duplicates of the version an upsert then updated: the undo is not refused for them, and puts that version back', async () => {
    await append('e1.csv', [['a', '1', 'x'], ['b', '2', 'y']], 'e_prices');
    const b = await append('e2.csv', [['a', '1', 'x'], ['c', '3', 'z']], 'e_prices');
    assert.equal(b.duplicates_found, 1);
    const before = await snapshotTable(db, 'e_prices');
    const u = await upsert('e3.csv', [['a', '10', 'x']], 'e_prices');
    const dry = await undoImport(db.settings, u.import_id, { ...run, dryRun: true });
    assert.deepEqual(dry.dependent_imports, []);
    const r = await undoImport(db.settings, u.import_id, run);
    assert.equal(r.rows_restored, 1);
    assert.deepEqual(await snapshotTable(db, 'e_prices'), before, "row a as the first append wrote it, the one the second one's record equals");
  });

  it("undo of an upsert puts updated rows back in place: other tables' ON DELETE CASCADE, SET NULL and RESTRICT references to them stay", async () => {
    await append('k1.csv', [['a', '1', 'x'], ['b', '2', 'y']], 'k_prices');
    const t = `${db.schema}.k_prices`;
    await db.rows(`create table ${db.schema}.k_orders (oid int primary key, price_id bigint references ${t} (id) on delete cascade)`);
    await db.rows(`create table ${db.schema}.k_notes (nid int primary key, price_id bigint references ${t} (id) on delete set null)`);
    await db.rows(`create table ${db.schema}.k_inv (iid int primary key, price_id bigint references ${t} (id) on delete restrict)`);
    for (const child of ['k_orders', 'k_notes', 'k_inv']) await db.rows(`insert into ${db.schema}.${child} select row_number() over (order by id), id from ${t}`);
    const children = async () => db.rows(`select 'o', * from ${db.schema}.k_orders union all select 'n', * from ${db.schema}.k_notes union all select 'i', * from ${db.schema}.k_inv order by 1, 2`);
    const [before, childrenBefore] = [await snapshotTable(db, 'k_prices'), await children()];
    const u = await upsert('k2.csv', [['a', '5', 'x'], ['b', '2', 'changed'], ['c', '3', 'new']], 'k_prices');
    assert.deepEqual([u.rows_inserted, u.rows_updated], [1, 2]);
    const r = await undoImport(db.settings, u.import_id, run);
    assert.deepEqual([r.rows_removed, r.rows_restored], [1, 2]);
    assert.deepEqual(await snapshotTable(db, 'k_prices'), before);
    assert.deepEqual(await children(), childrenBefore, 'no child row deleted, none lost its reference');
    // A row the upsert inserted that another table references since, ON DELETE RESTRICT: one line naming it, nothing changed.
    const u2 = await upsert('k3.csv', [['a', '7', 'x'], ['d', '4', 'new']], 'k_prices');
    await db.rows(`insert into ${db.schema}.k_inv select 99, id from ${t} where sku = 'd'`);
    const held = await snapshotTable(db, 'k_prices');
    const dry = await undoImport(db.settings, u2.import_id, { ...run, dryRun: true });
    assert.deepEqual(dry.blocking_references, [{ constraint: 'k_inv_price_id_fkey', table: `${db.schema}.k_inv`, rows: 1, on_delete: 'restrict' }], 'the dry run says what the real undo meets');
    await assert.rejects(undoImport(db.settings, u2.import_id, { ...run, force: true }), (e: unknown) => e instanceof AtlasError && /rows it inserted, which undo deletes, are referenced by 1 row\(s\) of .*k_inv \(k_inv_price_id_fkey\)$/.test(e.message));
    assert.deepEqual(await snapshotTable(db, 'k_prices'), held);
    assert.equal(await status(u2.import_id), 'success');
  });

  it('rows of other tables that reference, ON DELETE CASCADE or SET NULL, rows undo would delete: the dry run names them, the undo is refused without --force, and --force says on the record what the foreign keys did', async () => {
    const p = await append('c1.csv', [['a', '1', 'x'], ['b', '2', 'y']], 'c_parent');
    const t = `${db.schema}.c_parent`;
    await db.rows(`create table ${db.schema}.c_orders (oid int primary key, parent_id bigint references ${t} (id) on delete cascade)`);
    await db.rows(`create table ${db.schema}.c_notes (nid int primary key, parent_id bigint references ${t} (id) on delete set null)`);
    for (const child of ['c_orders', 'c_notes']) await db.rows(`insert into ${db.schema}.${child} select row_number() over (order by id), id from ${t}`);
    const [parent, orders, notes] = [await snapshotTable(db, 'c_parent'), await db.rows(`select * from ${db.schema}.c_orders order by 1`), await db.rows(`select * from ${db.schema}.c_notes order by 1`)];
    const dry = await undoImport(db.settings, p.import_id, { ...run, dryRun: true });
    assert.deepEqual(dry.blocking_references, []);
    assert.deepEqual(dry.references_changed, [
      { constraint: 'c_notes_parent_id_fkey', table: `${db.schema}.c_notes`, rows: 2, on_delete: 'set null' },
      { constraint: 'c_orders_parent_id_fkey', table: `${db.schema}.c_orders`, rows: 2, on_delete: 'cascade' },
    ]);
    await assert.rejects(undoImport(db.settings, p.import_id, run), (e: unknown) =>
      e instanceof AtlasError && e.message.includes(`are referenced by 2 row(s) of ${db.schema}.c_notes (c_notes_parent_id_fkey, ON DELETE SET NULL: their reference set to NULL), 2 row(s) of ${db.schema}.c_orders (c_orders_parent_id_fkey, ON DELETE CASCADE: deleted too)`) && /--force/.test(e.hint ?? ''));
    assert.deepEqual([await snapshotTable(db, 'c_parent'), await db.rows(`select * from ${db.schema}.c_orders order by 1`), await db.rows(`select * from ${db.schema}.c_notes order by 1`)], [parent, orders, notes], 'nothing changed');
    const r = await undoImport(db.settings, p.import_id, { ...run, force: true });
    assert.equal(r.rows_removed, 2);
    assert.deepEqual(await db.rows(`select count(*)::int as n, count(parent_id)::int as refs from ${db.schema}.c_notes`), [{ n: 2, refs: 0 }]);
    assert.deepEqual(await db.rows(`select count(*)::int as n from ${db.schema}.c_orders`), [{ n: 0 }]);
    const [rec] = await db.rows<{ changed: unknown }>(`select metadata->'forced'->'references_changed' as changed from ${db.schema}.import_history where import_id = $1`, [p.import_id]);
    assert.deepEqual(rec!.changed, dry.references_changed);
  });

  it('undo after a column was added by hand (NOT NULL DEFAULT) puts rows back with its value; after a rename it is refused naming the column, --force puts the rest back', async () => {
    await append('n1.csv', [['a', '1', 'x'], ['b', '2', 'y']], 'n_prices');
    const t = `${db.schema}.n_prices`;
    const values = () => db.rows(`select to_jsonb(t) - '_row_hash' - '_import_id' - '_imported_at' - '_source_row_number' - '_corrections_applied' as v from ${t} t order by id`);
    const before = await values();
    const u = await upsert('n2.csv', [['a', '5', 'x'], ['c', '3', 'z']], 'n_prices');
    await db.rows(`alter table ${t} add column extra int not null default 5`);
    await undoImport(db.settings, u.import_id, run);
    assert.deepEqual(await values(), before.map((r) => ({ v: { ...(r as { v: object }).v, extra: 5 } })), 'values as before, the added column as the rows got it');
    const u2 = await upsert('n3.csv', [['b', '9', 'y']], 'n_prices');
    await db.rows(`alter table ${t} rename column price to cost`);
    // Its hint counts as the dry run does (country-data: "would remove the 247 row(s)" where --force removed 2 and put back 245).
    await assert.rejects(
      undoImport(db.settings, u2.import_id, run),
      (e: unknown) =>
        e instanceof AtlasError &&
        /hold column\(s\) price, which .*n_prices no longer has \(renamed or dropped since\); --force puts its rows back without those values/.test(e.message) &&
        e.hint === '--force would put back the 1 row(s) it updated or deleted (without their price)',
    );
    assert.equal(await status(u2.import_id), 'success');
    const forced = await undoImport(db.settings, u2.import_id, { ...run, force: true });
    assert.deepEqual([forced.rows_removed, forced.rows_restored, forced.columns_not_restored], [0, 1, ['price']]);
    const [b] = await db.rows<{ id: string; import_id: string | null }>(`select id::text, _import_id::text as import_id from ${t} where sku = 'b'`);
    assert.notEqual(b!.import_id, u2.import_id, 'row b is back to its previous version');
  });
});

/** A trigger of the table may change the rows undo puts back (an updated_at): undo is exact or refused, never "exact" and not. */
describe('undo of an upsert or a replace into a table whose triggers change rows', () => {
  const db = useTestDb();
  const files = useTempDir();
  const file = (name: string, rows: string[][]): string => files.write(name, csv([['sku', 'note'], ...rows]));

  /** A table whose BEFORE INSERT OR UPDATE trigger sets updated_at, and whose AFTER trigger logs every change elsewhere. */
  async function touchedTable(table: string): Promise<string> {
    const t = qualify(db.schema, table);
    await createTrackedTable(db, table, [['sku', 'text'], ['note', 'text'], ['updated_at', 'timestamptz']], ['unique (sku)']);
    await db.client.query(`create table if not exists ${qualify(db.schema, 'change_log')} (at timestamptz default clock_timestamp(), what text)`);
    await db.client.query(`create or replace function ${qualify(db.schema, 'touch')}() returns trigger language plpgsql as $$ begin new.updated_at := clock_timestamp(); return new; end $$`);
    await db.client.query(`create or replace function ${qualify(db.schema, 'log_change')}() returns trigger language plpgsql as $$ begin insert into ${qualify(db.schema, 'change_log')} (what) values (tg_op); return null; end $$`);
    await db.client.query(`create trigger "touch it" before insert or update on ${t} for each row execute function ${qualify(db.schema, 'touch')}()`);
    await db.client.query(`create trigger logged after insert or update or delete on ${t} for each row execute function ${qualify(db.schema, 'log_change')}()`);
    return t;
  }

  it('is refused, rolled back and saying how, when the trigger changed a row it put back; exact with the trigger disabled; --force keeps them as changed and the record says so', async () => {
    const t = await touchedTable('touched');
    await importInto(db.settings, file('t1.csv', [['a', 'x'], ['b', 'y']]), 'touched');
    const before = await snapshotRowText(db, 'touched');
    const u = await importWith(db.settings, file('t2.csv', [['a', 'X'], ['c', 'z']]), 'touched', { mode: 'upsert', key: ['sku'] });
    assert.deepEqual([u.rows_inserted, u.rows_updated], [1, 1]);
    const afterUpsert = await snapshotRowText(db, 'touched');

    const dry = await undoImport(db.settings, u.import_id, { ...run, dryRun: true });
    assert.deepEqual(dry.restore_changers, ['trigger logged', 'trigger touch it']);
    await assert.rejects(undoImport(db.settings, u.import_id, run), (err: unknown) => {
      assert.ok(err instanceof AtlasError);
      assert.match(err.message, /^cannot undo import \S+ exactly: trigger logged, trigger touch it of \S+ changed 1 of the 1 row\(s\) it put back \(column\(s\) updated_at\); rolled back, nothing was changed$/);
      assert.match(err.hint ?? '', /disable trigger "touch it"/);
      return true;
    });
    assert.deepEqual(await snapshotRowText(db, 'touched'), afterUpsert, 'nothing changed');

    // As the hint says: the trigger off for the undo, which is then exact (the AFTER trigger, still on, changes no row).
    await db.client.query(`alter table ${t} disable trigger "touch it"`);
    const r = await undoImport(db.settings, u.import_id, run);
    await db.client.query(`alter table ${t} enable trigger "touch it"`);
    assert.deepEqual([r.rows_restored, r.rows_altered_on_restore], [1, 0]);
    assert.deepEqual(await snapshotRowText(db, 'touched'), before, 'byte for byte as before the upsert');

    // A replace, undone with --force: its rows come back as the trigger leaves them, counted and recorded.
    const rep = await importWith(db.settings, file('t3.csv', [['q', 'q']]), 'touched', { mode: 'replace' });
    const forced = await undoImport(db.settings, rep.import_id, { ...run, force: true });
    assert.deepEqual([forced.rows_restored, forced.rows_altered_on_restore, forced.columns_altered_on_restore], [2, 2, ['updated_at']]);
    const back = await db.rows<{ sku: string; note: string }>(`select sku, note from ${t} order by id`);
    assert.deepEqual(back, [{ sku: 'a', note: 'x' }, { sku: 'b', note: 'y' }]);
    const [rec] = await db.rows<{ m: Record<string, unknown> }>(`select metadata as m from ${qualify(db.schema, 'import_history')} where import_id = $1`, [rep.import_id]);
    assert.deepEqual([rec!.m.rows_altered_on_restore, rec!.m.columns_altered_on_restore, rec!.m.altered_by], [2, ['updated_at'], ['trigger logged', 'trigger touch it']]);
  });
});
