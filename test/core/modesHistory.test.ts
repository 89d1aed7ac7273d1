import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactHistory } from '../../src/core/compact.ts';
import { getImport, listHistory, pruneHistory } from '../../src/core/history.ts';
import { traceRow } from '../../src/core/lineage.ts';
import { undoImport } from '../../src/core/undo.ts';
import { AtlasError } from '../../src/errors.ts';
import { csv, runAtlas, useTempDir, useTestDb } from '../helpers.ts';
import { importInto, importWith, snapshotTable } from '../importHelpers.ts';

/** history's counts per mode, lineage --row's versions, and history compact (issue 22). */
describe('history, lineage and compact of upserts and replaces', () => {
  const db = useTestDb();
  const files = useTempDir();
  const conn = () => ['--database-url', db.url, '--schema', db.schema];

  it('history shows rows inserted, updated, unchanged and deleted per import, in JSON and text', async () => {
    const a = await importInto(db.settings, files.write('h1.csv', csv([['sku', 'price'], ['a', 1], ['b', 2], ['c', 3]])), 'h_prices');
    const u = await importWith(db.settings, files.write('h2.csv', csv([['sku', 'price'], ['a', 1], ['b', 20], ['d', 4]])), 'h_prices', { mode: 'upsert', key: ['sku'] });
    // c,3 is in the table as it is: the replace keeps that row in place.
    const r = await importWith(db.settings, files.write('h3.csv', csv([['sku', 'price'], ['z', 9], ['c', 3]])), 'h_prices', { mode: 'replace' });
    const page = await listHistory(db.settings, { table: 'h_prices', user: null, status: null, since: null, limit: 10, offset: 0 });
    const shown = page.imports.map((i) => [i.import_id, i.import_mode, i.rows_inserted, i.rows_updated, i.rows_unchanged, i.rows_deleted]);
    assert.deepEqual(shown, [
      [r.import_id, 'replace', 1, 0, 1, 3],
      [u.import_id, 'upsert', 1, 1, 1, 0],
      [a.import_id, 'append', 3, 0, 0, 0],
    ]);
    const json = await runAtlas(['history', '--table', 'h_prices', '--json', ...conn()]);
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout).imports as Array<Record<string, unknown>>;
    assert.deepEqual(listed.map((i) => [i.import_mode, i.rows_updated, i.rows_unchanged, i.rows_deleted]), [['replace', 0, 1, 3], ['upsert', 1, 1, 0], ['append', 0, 0, 0]]);
    const text = await runAtlas(['history', '--table', 'h_prices', ...conn()]);
    assert.match(text.stdout, /replace 1 same 3 del/);
    assert.match(text.stdout, /upsert 1 upd 1 same/);
    const one = await runAtlas(['history', u.import_id, ...conn()]);
    assert.match(one.stdout, /updated\s+1/);
    assert.match(one.stdout, /unchanged\s+1/);
  });

  it('lineage --row shows the row versions: which imports wrote it, in order', async () => {
    const a = await importInto(db.settings, files.write('l1.csv', csv([['sku', 'price'], ['a', 1], ['b', 2]])), 'l_prices');
    const u1 = await importWith(db.settings, files.write('l2.csv', csv([['sku', 'price'], ['a', 10]])), 'l_prices', { mode: 'upsert', key: ['sku'] });
    const u2 = await importWith(db.settings, files.write('l3.csv', csv([['sku', 'price'], ['b', 2], ['a', 100]])), 'l_prices', { mode: 'upsert', key: ['sku'] });
    const [row] = await db.rows<{ id: string }>(`select id::text from ${db.schema}.l_prices where sku = 'a'`);
    const traced = await traceRow(db.settings, 'l_prices', row!.id);
    assert.deepEqual(
      traced.versions.map((v) => [v.import_id, v.values.price, v.source_row_number, v.changed_by]),
      [[a.import_id, 1, 1, u1.import_id], [u1.import_id, 10, 1, u2.import_id], [u2.import_id, 100, 2, null]],
    );
    const text = await runAtlas(['lineage', 'l_prices', '--row', row!.id, ...conn()]);
    assert.match(text.stdout, /versions/);
    assert.match(text.stdout, new RegExp(`then updated by ${u1.import_id}`));
    // Undone, an upsert's version is no longer one of the row's.
    await undoImport(db.settings, u2.import_id, { dryRun: false, force: false, purge: false });
    const after = await traceRow(db.settings, 'l_prices', row!.id);
    assert.deepEqual(after.versions.map((v) => v.import_id), [a.import_id, u1.import_id]);
  });

  it("history prune and undo --purge of an undone upsert keep undo's order check: the rows its undo put back stay atlas's own change", async () => {
    for (const purge of [false, true]) {
      const table = purge ? 'p_purged' : 'p_pruned';
      const a = await importInto(db.settings, files.write(`${table}1.csv`, csv([['sku', 'price'], ['a', 1], ['b', 2]])), table);
      const u = await importWith(db.settings, files.write(`${table}2.csv`, csv([['sku', 'price'], ['a', 10]])), table, { mode: 'upsert', key: ['sku'] });
      const before = await snapshotTable(db, table);
      if (purge) {
        await undoImport(db.settings, u.import_id, { dryRun: false, force: false, purge: true });
      } else {
        await undoImport(db.settings, u.import_id, { dryRun: false, force: false, purge: false });
        await db.client.query(`update ${db.schema}.import_history set import_timestamp = import_timestamp - interval '30 days' where import_id = $1`, [u.import_id]);
        const pruned = await pruneHistory(db.settings, { olderThanSeconds: 20 * 86_400, dryRun: false });
        assert.ok(pruned.imports.some((i) => i.import_id === u.import_id), 'the undone upsert is pruned');
      }
      assert.equal((await db.rows(`select 1 from ${db.schema}.import_history where import_id = $1`, [u.import_id])).length, 0);
      // a's row put back by the undo is not a change by someone else: a's undo needs no --force.
      const plan = await undoImport(db.settings, a.import_id, { dryRun: true, force: false, purge: false });
      assert.equal(plan.force_reason, null, `${table}: ${plan.force_reason}`);
      assert.equal(plan.rows_changed, 0);
      const done = await undoImport(db.settings, a.import_id, { dryRun: false, force: false, purge: false });
      assert.equal(done.rows_removed, 2);
      assert.equal(before.length, 2);
      assert.equal((await snapshotTable(db, table)).length, 0);
    }
  });

  it('the history list says which import replaced one (its rows are no longer in the table)', async () => {
    const a = await importInto(db.settings, files.write('rl1.csv', csv([['sku', 'price'], ['a', 1], ['b', 2]])), 'rl_prices');
    const fix = await importWith(db.settings, files.write('rl2.csv', csv([['sku', 'price'], ['a', 1], ['b', 20]])), null, { replaceImport: a.import_id });
    const list = await runAtlas(['history', '--table', 'rl_prices', ...conn()]);
    assert.equal(list.code, 0, list.stderr);
    const line = list.stdout.split('\n').find((l) => l.includes(a.import_id.slice(0, 8)))!;
    assert.match(line, new RegExp(`replaced by ${fix.import_id.slice(0, 8)}`));
  });

  it('history compact drops the pre-images of old imports; those can no longer be undone, and history and undo say so', async () => {
    const first = await importInto(db.settings, files.write('c1.csv', csv([['sku', 'price'], ['a', 1]])), 'c_prices');
    const u = await importWith(db.settings, files.write('c2.csv', csv([['sku', 'price'], ['a', 2]])), 'c_prices', { mode: 'upsert', key: ['sku'] });
    const recent = await compactHistory(db.settings, { olderThanSeconds: 3600, dryRun: false });
    assert.equal(recent.imports.filter((i) => i.import_id === u.import_id).length, 0, 'a recent import keeps its pre-images');
    await db.client.query(`update ${db.schema}.import_history set import_timestamp = import_timestamp - interval '2 days' where import_id = $1`, [u.import_id]);
    const dry = await compactHistory(db.settings, { olderThanSeconds: 86_400, dryRun: true });
    assert.deepEqual(dry.imports.filter((i) => i.import_id === u.import_id).map((i) => i.preimages), [1]);
    assert.equal((await getImport(db.settings, u.import_id)).preimages_pruned_at, null, 'a dry run changes nothing');
    const cli = await runAtlas(['history', 'compact', '--older-than', '1d', '--yes', '--json', ...conn()]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok((JSON.parse(cli.stdout).imports as Array<{ import_id: string }>).some((i) => i.import_id === u.import_id));
    const rec = await getImport(db.settings, u.import_id);
    assert.notEqual(rec.preimages_pruned_at, null);
    const before = await snapshotTable(db, 'c_prices');
    await assert.rejects(
      undoImport(db.settings, u.import_id, { dryRun: false, force: true, purge: false }),
      (err: unknown) => err instanceof AtlasError && /the previous versions of the 1 row\(s\) it updated were dropped by history compact/.test(err.message),
    );
    assert.deepEqual(await snapshotTable(db, 'c_prices'), before);
    const shown = await runAtlas(['history', u.import_id, ...conn()]);
    assert.match(shown.stdout, /not possible: the previous versions of the rows it changed were dropped by history compact/);
    // The earlier import's undo can no longer tell which later import took its row, so it names those that may have.
    await assert.rejects(
      undoImport(db.settings, first.import_id, { dryRun: false, force: false, purge: false }),
      (err: unknown) => err instanceof AtlasError && err.message.includes(`whose previous versions history compact dropped may have changed them: ${u.import_id} (upsert, c2.csv, 1 updated)`),
    );
    const row = await traceRow(db.settings, 'c_prices', (await db.rows<{ id: string }>(`select id from ${db.schema}.c_prices`))[0]!.id);
    assert.equal(row.versions.length, 1, 'its first version went with the pre-images');
    assert.deepEqual(row.earlier_versions_dropped, { import_id: u.import_id, preimages_pruned_at: rec.preimages_pruned_at });
    const traced = await runAtlas(['lineage', 'c_prices', '--row', String(row.row_id), ...conn()]);
    assert.match(traced.stdout, new RegExp(`earlier versions +may have been dropped: import ${u.import_id} updated rows`));
  });
});

describe('the CLI of upsert, replace and their undo', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('import --mode upsert says what it did; undo refuses the earlier import naming the later one (exit 1), then undoes them in order', async () => {
    const conn = ['--database-url', db.url, '--schema', db.schema];
    const a = await runAtlas(['import', files.write('cli1.csv', csv([['sku', 'price'], ['a', 1], ['b', 2]])), '--table', 'cli_prices', '--json', ...conn]);
    assert.equal(a.code, 0, a.stderr);
    const aId = (JSON.parse(a.stdout) as { import_id: string }).import_id;
    const before = await snapshotTable(db, 'cli_prices');
    const u = await runAtlas(['import', files.write('cli2.csv', csv([['sku', 'price'], ['a', 1], ['b', 3], ['c', 4]])), '--table', 'cli_prices', '--mode', 'upsert', '--key', 'sku', ...conn]);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /upsert: 1 inserted, 1 updated, 1 unchanged, 0 deleted/);
    const uId = /import id (\S+)/.exec(u.stdout)![1]!;
    const refused = await runAtlas(['undo', aId, '--yes', ...conn]);
    assert.equal(refused.code, 1);
    // The upsert updated one of its rows and found another unchanged (kept in place as the upsert's file's).
    assert.match(refused.stderr, new RegExp(`later import\\(s\\) kept some of its rows .*, or updated or deleted them: ${uId} \\(upsert, cli2\\.csv, 1 row\\(s\\), 1 kept in place\\)`));
    const dry = await runAtlas(['undo', uId, '--dry-run', ...conn]);
    assert.match(dry.stdout, /put back 1 row\(s\) it updated or deleted \(upsert\), exactly as they were/);
    // The row it inserted goes; the one it updated is not counted as removed (world-countries' upsert said "remove 250 row(s) (it inserted 0)").
    assert.match(dry.stdout, /^ {2}remove 1 row\(s\) from [\w.]+\.cli_prices$/m);
    const undo = await runAtlas(['undo', uId, '--yes', ...conn]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, /^undone: removed 1 row\(s\) of import /m);
    assert.deepEqual(await snapshotTable(db, 'cli_prices'), before);
    const noKey = await runAtlas(['import', files.write('cli3.csv', csv([['sku'], ['z']])), '--table', 'cli_prices', '--mode', 'upsert', ...conn]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /--mode upsert needs --key/);
  });
});
