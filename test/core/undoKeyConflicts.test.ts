import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { undoImport, type UndoOptions } from '../../src/core/undo.ts';
import { AtlasError } from '../../src/errors.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';
import { createTrackedTable, importInto, importWith, snapshotRowText, snapshotTable } from '../importHelpers.ts';

const run: UndoOptions = { dryRun: false, force: false, purge: false };

/** Undo never puts back a row whose key a row that stays holds: refused by name, --force too, and the table untouched. */
describe('undo of rows whose key another row holds now', () => {
  const db = useTestDb();
  const files = useTempDir();
  const load = (name: string, rows: Array<Array<string | number>>, table: string, options: Parameters<typeof importWith>[3] = {}) =>
    importWith(db.settings, files.write(name, csv([['k', 'v'], ...rows])), table, options);
  const exact = async (table: string) => ({ json: await snapshotTable(db, table), text: await snapshotRowText(db, table) });
  const refusal = (undone: string, holder: string, kept: RegExp) => (err: unknown) =>
    err instanceof AtlasError &&
    err.message.startsWith(`cannot undo import ${undone}: rows it would put back hold keys that other rows in the table hold now: k = 'a'`) &&
    err.message.includes(`held by ${holder} (`) &&
    kept.test(err.message) &&
    err.hint !== null &&
    err.hint.startsWith(`undo ${holder} first`);

  it('a key a replace freed and an append took again: the dry run says refused, the undo and --force refuse naming the append; in order, every row back', async () => {
    const up = await load('u1.csv', [['a', 1], ['b', 1]], 'ku', { mode: 'upsert', key: ['k'] });
    const s1 = await exact('ku');
    const rep = await load('u2.csv', [['b', 1]], 'ku', { mode: 'replace' });
    const s2 = await exact('ku');
    const app = await load('u3.csv', [['a', 9]], 'ku');
    const s3 = await exact('ku');
    const dry = await undoImport(db.settings, rep.import_id, { ...run, dryRun: true });
    assert.equal(dry.rows_to_restore, 1);
    assert.deepEqual(
      dry.key_conflicts.map((c) => [c.key, c.rows, c.values, c.owners.map((o) => [o.import_id, o.import_mode, o.rows])]),
      [['k', 1, ["'a'"], [[app.import_id, 'append', 1]]]],
    );
    assert.match(dry.key_conflicts[0]!.kept_by, /^unique index /);
    for (const force of [false, true]) await assert.rejects(undoImport(db.settings, rep.import_id, { ...run, force }), refusal(rep.import_id, app.import_id, /unique index/));
    assert.deepEqual(await exact('ku'), s3, 'nothing changed');
    await undoImport(db.settings, app.import_id, run);
    assert.deepEqual(await exact('ku'), s2);
    await undoImport(db.settings, rep.import_id, run);
    assert.deepEqual(await exact('ku'), s1);
    assert.equal((await undoImport(db.settings, up.import_id, run)).rows_removed, 2);
  });

  for (const indexed of [true, false]) {
    it(`--force of a replace whose new row a later upsert updated, ${indexed ? 'with a unique index on the key' : 'no index, the upsert\'s key'}: refused naming the upsert, never two rows with one key`, async () => {
      const table = indexed ? 'kf_idx' : 'kf_none';
      const first = indexed ? await load(`${table}1.csv`, [['a', 1], ['b', 1]], table, { mode: 'upsert', key: ['k'] }) : await load(`${table}1.csv`, [['a', 1], ['b', 1]], table);
      const s1 = await exact(table);
      const rep = await load(`${table}2.csv`, [['b', 1], ['a', 2]], table, { mode: 'replace' });
      const s2 = await exact(table);
      const up = await load(`${table}3.csv`, [['a', 3]], table, { mode: 'upsert', key: ['k'] });
      assert.equal(up.rows_updated, 1);
      const s3 = await exact(table);
      const dry = await undoImport(db.settings, rep.import_id, { ...run, dryRun: true, force: true });
      assert.deepEqual(dry.key_conflicts.map((c) => [c.key, c.kept_by.startsWith('unique index'), c.owners.map((o) => o.import_id)]), [['k', indexed, [up.import_id]]]);
      await assert.rejects(undoImport(db.settings, rep.import_id, { ...run, force: true }), refusal(rep.import_id, up.import_id, indexed ? /unique index/ : /the key upserts into the table ran on/));
      assert.deepEqual(await exact(table), s3, 'nothing changed');
      await undoImport(db.settings, up.import_id, run);
      assert.deepEqual(await exact(table), s2);
      await undoImport(db.settings, rep.import_id, run);
      assert.deepEqual(await exact(table), s1);
      await undoImport(db.settings, first.import_id, run);
      assert.deepEqual(await exact(table), { json: [], text: [] });
    });
  }

  it('no unique index and no upsert key: nothing says the key is unique, and the row comes back beside the later one', async () => {
    await load('n1.csv', [['a', 1], ['b', 1]], 'kn');
    const rep = await load('n2.csv', [['b', 1]], 'kn', { mode: 'replace' });
    await load('n3.csv', [['a', 9]], 'kn');
    const r = await undoImport(db.settings, rep.import_id, run);
    assert.deepEqual([r.key_conflicts, r.rows_restored], [[], 1]);
    assert.deepEqual((await db.rows<{ k: string }>(`select k from ${db.schema}.kn order by id`)).map((x) => x.k), ['a', 'b', 'a']);
  });

  it('NULLs: a unique index whose NULLs are distinct takes a second NULL key, one NULLS NOT DISTINCT (or an upsert key) does not', async () => {
    await createTrackedTable(db, 'kz', [['k', 'text'], ['v', 'integer']], ['constraint kz_k unique (k)']);
    await importInto(db.settings, files.write('z1.csv', csv([['k', 'v'], ['', 1], ['b', 1]])), 'kz');
    const rep = await load('z2.csv', [['b', 1]], 'kz', { mode: 'replace' });
    await load('z3.csv', [['', 9]], 'kz');
    const r = await undoImport(db.settings, rep.import_id, run);
    assert.deepEqual([r.key_conflicts, r.rows_restored], [[], 1], 'two NULL keys are allowed by the index');
    assert.deepEqual((await db.rows<{ k: string | null }>(`select k from ${db.schema}.kz order by id`)).map((x) => x.k), [null, 'b', null]);
    // An upsert's key matches NULL to NULL: the NULL key it inserted is taken.
    await load('z4.csv', [['', 1], ['b', 1]], 'kzu');
    const rep2 = await load('z5.csv', [['b', 1]], 'kzu', { mode: 'replace' });
    const up = await load('z6.csv', [['', 9]], 'kzu', { mode: 'upsert', key: ['k'] });
    assert.equal(up.rows_inserted, 1);
    const dry = await undoImport(db.settings, rep2.import_id, { ...run, dryRun: true });
    assert.deepEqual(dry.key_conflicts.map((c) => [c.values, c.owners.map((o) => o.import_id)]), [[['NULL'], [up.import_id]]]);
  });

  it('a unique index the check cannot read (on an expression): the undo still refuses in one line, not with PostgreSQL\'s error alone', async () => {
    await createTrackedTable(db, 'ke', [['k', 'text'], ['v', 'integer']]);
    await db.client.query(`create unique index ke_lower on ${db.schema}.ke (lower(k))`);
    await importInto(db.settings, files.write('e1.csv', csv([['k', 'v'], ['a', 1], ['b', 1]])), 'ke');
    const rep = await load('e2.csv', [['b', 1]], 'ke', { mode: 'replace' });
    await load('e3.csv', [['A', 9]], 'ke');
    const before = await exact('ke');
    await assert.rejects(undoImport(db.settings, rep.import_id, run), (err: unknown) => err instanceof AtlasError && new RegExp(`^cannot undo import ${rep.import_id}: a row it would put back holds a key a row in .* holds now \\(ke_lower: Key \\(lower\\(k\\)\\)=\\(a\\) already exists\\.\\); rolled back, nothing was changed$`).test(err.message));
    assert.deepEqual(await exact('ke'), before);
  });
});
