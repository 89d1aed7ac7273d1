/** What `atlas lineage`, `errors` and `undo` print, through the real binary. */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { csv, runAtlas, type RunResult, useTempDir, useTestDb } from '../helpers.ts';
import { migrateTestDb } from '../importHelpers.ts';

describe('what lineage, errors and undo print', () => {
  const db = useTestDb({ setup: migrateTestDb });
  const files = useTempDir();
  let run: (args: string[]) => Promise<RunResult>;
  /** Runs atlas, which must succeed. */
  const r = async (args: string[]): Promise<RunResult> => {
    const x = await run(args);
    assert.equal(x.code, 0, x.stderr);
    return x;
  };
  before(() => {
    run = (args) => runAtlas([...args, '--database-url', db.url, '--schema', db.schema]);
  });

  it('--row of a row whose _import_id is NULL says atlas did not load it, exit 1, in text and JSON', async () => {
    await db.client.query(`create table ${db.schema}.legacy (id serial primary key, sku text)`);
    await db.client.query(`insert into ${db.schema}.legacy (sku) values ('OLD')`);
    await db.client.query(
      `alter table ${db.schema}.legacy add column _import_id uuid references ${db.schema}.import_history(import_id) on delete cascade,
         add column _imported_at timestamp default now(), add column _source_row_number integer, add column _corrections_applied jsonb`,
    );
    assert.equal((await run(['import', files.write('legacy.csv', csv([['sku'], ['A']])), '--table', 'legacy', '-q'])).code, 0);
    const text = await run(['lineage', 'legacy', '--row', '1']);
    assert.equal(text.code, 1);
    assert.equal(text.stdout, '');
    assert.match(text.stderr, new RegExp(`^atlas: row 1 of ${db.schema}\\.legacy was not loaded by atlas: its _import_id is NULL`));
    const json = await run(['lineage', 'legacy', '--row', '1', '--json']);
    assert.equal(json.code, 1);
    const body = JSON.parse(json.stdout) as { success: boolean; error: string };
    assert.equal(body.success, false);
    assert.match(body.error, /was not loaded by atlas: its _import_id is NULL/);
  });

  it('errors --duplicates of a failed import says its duplicates are counted but not kept, in text and JSON', async () => {
    const first = files.write('dupfail_a.csv', csv([['sku', 'price'], ['A', '1']]));
    assert.equal((await run(['import', first, '--table', 'dupfail', '-q'])).code, 0);
    const failed = await run(['import', files.write('dupfail_b.csv', csv([['sku', 'price'], ['A', '1'], ['Z', 'oops']])), '--table', 'dupfail', '--json']);
    assert.equal(failed.code, 1);
    const [rec] = await db.rows<{ import_id: string; duplicates_found: number }>(`select import_id, duplicates_found from ${db.schema}.import_history where file_name = 'dupfail_b.csv'`);
    assert.equal(rec!.duplicates_found, 1);
    const text = await run(['errors', rec!.import_id, '--duplicates']);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, `import ${rec!.import_id} failed: its record counts 1 duplicate row(s) (duplicates_found), but a failed import keeps none to list\n`);
    const json = JSON.parse((await run(['errors', rec!.import_id, '--duplicates', '--json'])).stdout) as Record<string, unknown>;
    assert.deepEqual([json.status, json.duplicates_found, json.total_count, json.duplicates], ['failed', 1, 0, []]);
  });

  it("lineage says in words, not only in colour, which import's rows were changed outside atlas", async () => {
    assert.equal((await run(['import', files.write('marked.csv', csv([['k'], ['a'], ['b'], ['c']])), '--table', 'marked', '-q'])).code, 0);
    const clean = await run(['lineage', 'marked', '--no-color']);
    assert.doesNotMatch(clean.stdout, /expected/);
    await db.client.query(`delete from ${db.schema}.marked where k = 'c'`);
    const text = await run(['lineage', 'marked', '--no-color']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, / 3 +2 \(3 expected\)\n/);
    assert.match(text.stdout, /\(N expected\): the rows atlas's own imports would leave it; the rows now differ, changed outside atlas/);
  });

  it('undo --force --dry-run of an upsert whose rows a later upsert changed counts what the undo does: 1 removed, 1 put back, 1 left to the later import', async () => {
    await r(['import', files.write('f1.csv', csv([['k', 'v'], ['a', 1], ['b', 1], ['c', 1]])), '--table', 'forced', '-q']);
    await r(['import', files.write('f2.csv', csv([['k', 'v'], ['a', 2], ['b', 2], ['d', 2]])), '--table', 'forced', '--mode', 'upsert', '--key', 'k', '-q']);
    await r(['import', files.write('f3.csv', csv([['k', 'v'], ['a', 3]])), '--table', 'forced', '--mode', 'upsert', '--key', 'k', '-q']);
    const [m] = await db.rows<{ import_id: string }>(`select import_id from ${db.schema}.import_history where file_name = 'f2.csv'`);
    const plan = (await r(['undo', m!.import_id, '--dry-run', '--force'])).stdout;
    assert.match(plan, /\n  remove 1 row\(s\) from \S+\.forced\n/);
    assert.match(plan, /\n  put back 1 row\(s\) it updated or deleted \(upsert\)/);
    assert.match(plan, /\n  leave 1 row\(s\) it updated or deleted as the later imports that changed them since left them, not put back\n/);
    assert.match(plan, /1 of the 3 it wrote \(1 inserted, 2 updated\) no longer carry it/);
    const done = (await r(['undo', m!.import_id, '--yes', '--force'])).stdout;
    assert.match(done, /removed 1 row\(s\) of import/);
    assert.match(done, /\n  put back 1 row\(s\) it had updated/);
    assert.deepEqual(await db.rows(`select k, v from ${db.schema}.forced order by k`), [{ k: 'a', v: 3 }, { k: 'b', v: 1 }, { k: 'c', v: 1 }]);
  });

  it('undo --dry-run of an upsert whose updated row was deleted by hand since: the inserted row is removed, both updated rows put back (it said remove 0)', async () => {
    await r(['import', files.write('h1.csv', csv([['k', 'v'], ['a', 1], ['b', 1], ['c', 1]])), '--table', 'handgone', '-q']);
    await r(['import', files.write('h2.csv', csv([['k', 'v'], ['a', 2], ['b', 2], ['n', 2]])), '--table', 'handgone', '--mode', 'upsert', '--key', 'k', '-q']);
    await db.client.query(`delete from ${db.schema}.handgone where k = 'b'`);
    const [m] = await db.rows<{ import_id: string }>(`select import_id from ${db.schema}.import_history where file_name = 'h2.csv'`);
    const plan = (await r(['undo', m!.import_id, '--dry-run', '--force'])).stdout;
    assert.match(plan, /\n  remove 1 row\(s\) from \S+\.handgone/);
    assert.match(plan, /\n  put back 2 row\(s\) it updated or deleted \(upsert\)/);
    const done = (await r(['undo', m!.import_id, '--yes', '--force'])).stdout;
    assert.match(done, /removed 1 row\(s\) of import/);
  });

  it('undo --batch --dry-run of upserts counts the rows they updated as put back, not removed, as the undo then does', async () => {
    mkdirSync(join(files.dir, 'ub'));
    files.write('ub/1.csv', csv([['k', 'v'], ['a', 1], ['b', 1], ['c', 1]]));
    files.write('ub/2.csv', csv([['k', 'v'], ['a', 2], ['b', 2], ['d', 2]]));
    const imported = await run(['import', join(files.dir, 'ub'), '--table', 'ubatch', '--mode', 'upsert', '--key', 'k', '--json']);
    assert.equal(imported.code, 0, imported.stderr);
    const batch = (JSON.parse(imported.stdout) as { batch_id: string }).batch_id;
    const plan = await run(['undo', '--batch', batch, '--dry-run']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /remove 1 row\(s\) of import \S+ \(2\.csv\) from \S+\.ubatch, put back 2 it updated or deleted\n/);
    assert.match(plan.stdout, /\n2 import\(s\), 4 row\(s\) to remove, 2 to put back\n/);
    const done = await run(['undo', '--batch', batch, '--yes']);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /\n2 import\(s\), 4 row\(s\) removed, 2 put back;/);
    assert.deepEqual(await db.rows(`select count(*)::int as n from ${db.schema}.ubatch`), [{ n: 0 }], 'the table held 4 rows');
  });

  it('history compact does not say that imports undone already could then no longer be undone', async () => {
    await run(['import', files.write('cu1.csv', csv([['k', 'v'], ['x', 1]])), '--table', 'compact_u', '-q']);
    const u = JSON.parse((await run(['import', files.write('cu2.csv', csv([['k', 'v'], ['x', 2]])), '--table', 'compact_u', '--mode', 'upsert', '--key', 'k', '--json'])).stdout) as { import_id: string };
    assert.equal((await run(['undo', u.import_id, '--yes', '-q'])).code, 0);
    const plan = JSON.parse((await run(['history', 'compact', '--older-than', '0m', '--dry-run', '--json'])).stdout) as { imports: Array<{ import_id: string; status: string }> };
    assert.deepEqual(plan.imports.filter((i) => i.import_id === u.import_id), [{ import_id: u.import_id, table_name: 'compact_u', status: 'undone', preimages: 1 }]);
    const text = (await run(['history', 'compact', '--older-than', '0m', '--dry-run'])).stdout;
    const undone = plan.imports.filter((i) => i.status === 'undone').length;
    const others = plan.imports.length - undone;
    assert.match(text, others === 0 ? /^those imports are undone already: dropping their previous versions takes no undo away$/m : new RegExp(`^${others} of those imports could then no longer be undone; ${undone} are undone already$`, 'm'));
  });

  it("undo's list of later imports names the rows a replace kept in place, after history compact as before", async () => {
    const a = JSON.parse((await run(['import', files.write('kc1.csv', csv([['k'], ['x'], ['y']])), '--table', 'kept_c', '--json'])).stdout) as { import_id: string };
    const r = JSON.parse((await run(['import', files.write('kc2.csv', csv([['k'], ['x'], ['z']])), '--table', 'kept_c', '--mode', 'replace', '--json'])).stdout) as { import_id: string };
    const expect = new RegExp(`later import\\(s\\) changed its rows or kept them in place: ${r.import_id} \\(replace, kc2\\.csv, 1 row\\(s\\), 1 kept in place\\); the rows they changed stay as they left them, the rows kept in place go with it`);
    assert.match((await run(['undo', a.import_id, '--dry-run', '--force'])).stdout, expect);
    assert.equal((await run(['history', 'compact', '--older-than', '0m', '--yes'])).code, 0);
    const compacted = await run(['undo', a.import_id, '--dry-run', '--force']);
    assert.equal(compacted.code, 0, compacted.stderr);
    assert.match(compacted.stdout, new RegExp(`changed its rows or kept them in place: ${r.import_id} \\(replace, kc2\\.csv, 1 kept in place\\);`));
    // The compacted replace cannot be undone: its history says so and does not offer the undo; the append still does.
    const shown = await run(['history', r.import_id]);
    assert.match(shown.stdout, /undo\s+not possible: the previous versions of the rows it changed were dropped by history compact/);
    assert.doesNotMatch(shown.stdout, /next: .*atlas undo/);
    assert.match((await run(['history', a.import_id])).stdout, /next: .*atlas undo/);
  });
});
