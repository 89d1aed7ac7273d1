/** What `atlas lineage`, `errors` and `undo` print, through the real binary. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { csv, runAtlas, type RunResult, useTempDir, useTestDb } from '../helpers.ts';
import { migrateTestDb } from '../importHelpers.ts';

describe('what lineage, errors and undo print', () => {
  const db = useTestDb({ setup: migrateTestDb });
  const files = useTempDir();
  let run: (args: string[]) => Promise<RunResult>;
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
});
