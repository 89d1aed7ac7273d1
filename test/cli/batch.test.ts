/**
 * `atlas import` of several files (issue 21), through the real binary: a line per file and a
 * summary, --json, --dry-run, exit codes (1 failed, else 3 partial, else 0; a single file keeps 4),
 * --stop-on-error, --atomic, two overlapping runs of the same batch, and kill -9 mid-batch.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { csv, openTestDb, runAtlas, tempDir, type TestDb } from '../helpers.ts';
import { assertPromiseHolds, countImportRows, countRows, historyOf, startAtlas, waitFor } from '../guarantees/helpers.ts';

const CORRUPT_JSON = '[{"id": 1, "name": "a"}, {"id": 2, "name": ';

describe('atlas import of several files', { timeout: 900_000 }, () => {
  let db: TestDb;
  let conn: string[];
  let files: ReturnType<typeof tempDir>;
  const put = (path: string, content: string): string => {
    mkdirSync(dirname(join(files.dir, path)), { recursive: true });
    return files.write(path, content);
  };
  beforeEach(async () => {
    db = await openTestDb();
    conn = ['--database-url', db.url, '--schema', db.schema];
    files = tempDir('atlas-batch-cli-');
  });
  afterEach(async () => {
    await db.close();
    files.cleanup();
  });

  it('prints a line per file and a summary; a re-run skips every file and exits 0; --dry-run says what it would do', async () => {
    put('in/customers.csv', csv([['id', 'name'], [1, 'ann'], [2, 'bob'], [2, 'bob']]));
    put('in/orders.ndjson', '{"id": 1, "total": 9.5}\n');
    put('in/README.md', '# what lands here\n');
    put('in/late.csv.bz2', 'BZh9');
    const r = await runAtlas(['import', join(files.dir, 'in'), ...conn]);
    // A compression atlas does not read is left out with the command that reads it, as a single import says it.
    assert.match(r.stdout, /^ {2}left out .*late\.csv\.bz2 is bzip2-compressed, which atlas does not read; decompress it on the way in: bzip2 -dc .*late\.csv\.bz2 \| atlas import - --table late --name .*late\.csv$/m);
    assert.equal(r.code, 0, r.stderr);
    // A file's warnings are under its line, as a single import prints them.
    assert.match(r.stdout, /customers\.csv -> customers: .*\n {2}warning: column\(s\) renamed because their names are reserved: id -> id_2/);
    const lines = r.stdout.trim().split('\n').filter((l) => !l.startsWith('  warning: '));
    // What else befell a file's rows is on its line, as a single import says it.
    assert.match(lines[0]!, /^success .*customers\.csv -> customers: 2 rows \(1 duplicate\(s\) skipped\) in .*, import [0-9a-f-]{36}$/);
    assert.match(lines[1]!, /^success .*orders\.ndjson -> orders: 1 rows in .*, import [0-9a-f-]{36}$/);
    assert.match(lines[2]!, /^batch [0-9a-f-]{36}: 2 file\(s\): imported 2, skipped 0 \(already imported\), partial 0, failed 0; 3 rows in /);
    assert.match(lines[3]!, /^ {2}left out .*README\.md: not a data file by its extension \(--pattern takes it\)$/);
    assert.match(lines[4]!, /^ {2}left out .*late\.csv\.bz2 is bzip2-compressed/);
    put('in/more.csv', csv([['id'], [7], [7]]));
    const plan = await runAtlas(['import', join(files.dir, 'in'), '--dry-run', ...conn]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /skip +.*customers\.csv -> customers \(already imported by [0-9a-f-]{36}\)/);
    assert.match(plan.stdout, /import .*more\.csv -> more: 2 rows \(new_table; 1 to insert, 1 duplicate\(s\) to skip\)\n/);
    assert.match(plan.stdout, /3 file\(s\): 1 to import, 2 to skip, 0 would fail/);
    assert.equal(await countRows(db.client, db.schema, 'more'), 0);
    assert.doesNotMatch(plan.stderr, /file \d of/, 'no progress without a terminal or --progress');
    // With --progress: which file is being read and checked (in path order; a skipped one is not read).
    const watched = await runAtlas(['import', join(files.dir, 'in'), '--dry-run', '--progress', ...conn]);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stderr, /^atlas: file 2 of 3, .*more\.csv, staging, .*2 rows/m);
    assert.equal(await countRows(db.client, db.schema, 'more'), 0);
    put('in/more.csv', '');
    const again = await runAtlas(['import', join(files.dir, 'in'), ...conn]);
    assert.equal(again.code, 1, again.stdout); // more.csv is empty now: a failed import
    const rerun = await runAtlas(['import', join(files.dir, 'in', 'customers.csv'), join(files.dir, 'in', 'orders.ndjson'), ...conn]);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /skipped .*customers\.csv -> customers: already imported by/);
    assert.match(rerun.stdout, /imported 0, skipped 2 \(already imported\), partial 0, failed 0; 0 rows/);
    // A lone glob that matches nothing is an empty night of a drop folder, as the directory is;
    // a name holding only [ is most likely a file that is not there; a glob's missing folder a typo.
    const none = await runAtlas(['import', join(files.dir, 'in', '*.xml'), ...conn]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /nothing to import/);
    const bracket = await runAtlas(['import', join(files.dir, 'in', 'data[1].csv'), ...conn]);
    assert.equal(bracket.code, 2, bracket.stdout);
    assert.match(bracket.stderr, /^atlas: file not found: .*data\[1\]\.csv$/m);
    const typo = await runAtlas(['import', join(files.dir, 'nowhere', '*.csv'), ...conn]);
    assert.equal(typo.code, 2, typo.stdout);
  });

  it('--dry-run of files sharing one table says each is planned against the table as it is now (vega-datasets: a year column integer in one file, text in the next)', async () => {
    put('in/a.csv', csv([['year', 'v'], [2001, 1]]));
    put('in/b.csv', csv([['year', 'v'], ['2002-03', 2]]));
    const plan = await runAtlas(['import', join(files.dir, 'in'), '--table', 'years', '--dry-run', ...conn]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^note: several files go to years: each is planned against the table as it is now, not as the files before it would leave it/m);
    const apart = await runAtlas(['import', join(files.dir, 'in'), '--dry-run', ...conn]);
    assert.doesNotMatch(apart.stdout, /^note: several files go to/m);
    // --json: the same counts and tables in `summary`.
    const json = await runAtlas(['import', join(files.dir, 'in'), '--table', 'years', '--dry-run', '--json', ...conn]);
    const body = JSON.parse(json.stdout) as { summary: unknown; files: Array<{ action: string }> };
    assert.deepEqual(body.summary, { files: 2, to_import: 2, to_skip: 0, would_fail: 0, shared_tables: ['years'] });
    assert.deepEqual(body.files.map((f) => f.action), ['import', 'import']);
  });

  it("a failed file's line gives the reason once and the hint under it, as a single import does; so does --dry-run", async () => {
    // The shape of Debian iso-codes' files: the records under the object's one key.
    put('in/codes.json', '{"3166-1": [{"alpha_2": "AW", "name": "Aruba"}]}');
    const r = await runAtlas(['import', join(files.dir, 'in'), ...conn]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^failed .*codes\.json -> codes: the JSON is an object, not an array of records \(import [0-9a-f-]{36}\)$/);
    assert.equal(lines[1], '  hint: name the array that holds the records with --record-path, e.g. --record-path 3166-1 (its 1 object)');
    const plan = await runAtlas(['import', join(files.dir, 'in'), '--dry-run', ...conn]);
    assert.equal(plan.code, 1, plan.stderr);
    assert.match(plan.stdout, /^fail +.*codes\.json -> codes: the JSON is an object, not an array of records\n {2}hint: name the array .* --record-path 3166-1 \(its 1 object\)$/m);
    const fixed = await runAtlas(['import', join(files.dir, 'in'), '--record-path', '3166-1', ...conn]);
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.equal(await countRows(db.client, db.schema, 'codes'), 1);
  });

  it('refuses --name, which names one file, before writing anything', async () => {
    put('in/day1.csv', csv([['sku', 'qty'], ['a', 1]]));
    put('in/day2.csv', csv([['sku', 'qty'], ['b', 2]]));
    const named = await runAtlas(['import', join(files.dir, 'in'), '--name', 'foo.csv', ...conn]);
    assert.equal(named.code, 2, named.stdout);
    assert.match(named.stderr, /^atlas: --name names the one file being imported/m);
    assert.equal((await db.client.query(`select count(*)::int as n from pg_tables where schemaname = $1`, [db.schema])).rows[0].n, 0, 'nothing was made');
  });

  it('--json: one document with the single-file result of each file and the summary; exit 3 when a file is partial', async () => {
    put('in/a.csv', csv([['id', 'v'], [1, 'x'], [2, 'y']]));
    put('in/b.csv', csv([['id', 'v'], [3, 'z'], ['not a number', 'w']]));
    const r = await runAtlas(['import', join(files.dir, 'in'), '--table', 'both', '--json', ...conn]);
    assert.equal(r.code, 3, r.stderr);
    const doc = JSON.parse(r.stdout) as { success: boolean; batch_id: string; files: Array<{ status: string; import_id: string; result: { import_id: string; rows_inserted: number; status: string } | null }>; summary: Record<string, number> };
    assert.equal(doc.success, true);
    assert.deepEqual(doc.files.map((f) => f.status), ['success', 'partial']);
    assert.equal(doc.files[1]!.result!.import_id, doc.files[1]!.import_id);
    assert.equal(doc.files[1]!.result!.rows_inserted, 1);
    assert.deepEqual(doc.summary, { ...doc.summary, files: 2, imported: 1, partial: 1, skipped: 0, failed: 0, not_run: 0, rows_inserted: 3 });
    const single = await runAtlas(['import', join(files.dir, 'in', 'a.csv'), '--table', 'both', ...conn]);
    assert.equal(single.code, 4, 'a single file keeps exit code 4 for already imported');
  });

  it('a corrupt file among good ones: exit 1, the others committed; --stop-on-error stops there; --atomic commits nothing', async () => {
    put('in/a.csv', csv([['id'], [1]]));
    put('in/b.json', CORRUPT_JSON);
    put('in/c.csv', csv([['id'], [3]]));
    const stop = await runAtlas(['import', join(files.dir, 'in'), '--table', 's', '--stop-on-error', ...conn]);
    assert.equal(stop.code, 1, stop.stderr);
    assert.match(stop.stdout, /^failed .*b\.json -> s: /m);
    assert.match(stop.stdout, /^not run .*c\.csv$/m);
    assert.equal(await countRows(db.client, db.schema, 's'), 1);
    const atomic = await runAtlas(['import', join(files.dir, 'in'), '--table', 't', '--atomic', ...conn]);
    assert.equal(atomic.code, 1, atomic.stderr);
    assert.match(atomic.stdout, /--atomic: nothing was committed/);
    assert.equal(await countRows(db.client, db.schema, 't'), 0);
    const rest = await runAtlas(['import', join(files.dir, 'in'), '--table', 's', ...conn]);
    assert.equal(rest.code, 1, rest.stderr);
    assert.match(rest.stdout, /imported 1, skipped 1 \(already imported\), partial 0, failed 1/);
    assert.equal(await countRows(db.client, db.schema, 's'), 2);
    await assertPromiseHolds(db.client, db.schema);
  });

  it('two overlapping runs of the same batch import no file twice', async () => {
    for (let i = 0; i < 6; i++) put(`in/f${i}.csv`, csv([['id', 'part'], ...Array.from({ length: 200 }, (_, k) => [i * 1000 + k, `p${i}`])]));
    const runs = await Promise.all([0, 1].map(() => runAtlas(['import', join(files.dir, 'in'), '--table', 'drop', '--json', ...conn])));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const docs = runs.map((r) => JSON.parse(r.stdout) as { files: Array<{ file: string; status: string }> });
    for (let i = 0; i < 6; i++) {
      const statuses = docs.map((d) => d.files[i]!.status).sort();
      assert.deepEqual(statuses, ['skipped', 'success'], `f${i}.csv: ${statuses.join(', ')}`);
    }
    assert.equal(await countRows(db.client, db.schema, 'drop'), 1200);
    const records = await assertPromiseHolds(db.client, db.schema);
    assert.equal(records.filter((x) => x.status === 'success').length, 6);
  });

  it('two overlapping --atomic runs of the same batch into a new table wait for each other, not deadlock (ieee-data drop folder: 3 of 3 runs failed with 40P01)', async () => {
    for (let i = 0; i < 8; i++) put(`atomic/f${i}.csv`, csv([['id', 'part'], ...Array.from({ length: 50 }, (_, k) => [i * 1000 + k, `p${i}`])]));
    // Each round a new table, with --table and without (a table per file): the first file's CREATE TABLE, whose
    // foreign key locks import_history, is where one batch met the other's record holding it.
    for (const [round, table] of [[1, ['--table', 'atomic_one']], [2, []], [3, ['--table', 'atomic_three']]] as const) {
      if (round === 2) await db.client.query(`drop table if exists ${db.schema}.f0, ${db.schema}.f1, ${db.schema}.f2, ${db.schema}.f3, ${db.schema}.f4, ${db.schema}.f5, ${db.schema}.f6, ${db.schema}.f7`);
      const runs = await Promise.all([0, 1].map(() => runAtlas(['import', join(files.dir, 'atomic'), ...table, '--atomic', '--json', ...conn])));
      for (const r of runs) assert.equal(r.code, 0, `round ${round}: ${r.stdout}${r.stderr}`);
      const docs = runs.map((r) => JSON.parse(r.stdout) as { files: Array<{ status: string }> });
      const statuses = docs.map((d) => [...new Set(d.files.map((f) => f.status))].join()).sort();
      assert.deepEqual(statuses, ['skipped', 'success'], `round ${round}: one batch imports every file, the other skips them all`);
    }
    await assertPromiseHolds(db.client, db.schema);
  });

  it('kill -9 mid-batch: the files completed stay committed, the one interrupted is rolled back and stored as interrupted', async () => {
    put('in/a.csv', csv([['id'], [1], [2]]));
    put('in/b.csv', csv([['id'], [3], [4]]));
    put('in/c.csv', csv([['id'], [5]]));
    const atlas = startAtlas(['import', join(files.dir, 'in'), '--table', 'k', ...conn], { pause: 'insert@2' });
    await atlas.paused('insert@2');
    const inProgress = await waitFor('the second file in progress', async () => (await historyOf(db.client, db.schema)).find((x) => x.status === 'in_progress')?.import_id);
    atlas.child.kill('SIGKILL');
    assert.equal((await atlas.done).signal, 'SIGKILL');
    // Two files may be in progress (one staging while the other writes): each is marked interrupted
    // once its connection is gone (historyOf marks them).
    await waitFor("the killed imports' connections to be gone", async () => (await historyOf(db.client, db.schema)).every((x) => x.status !== 'in_progress'));
    const records = await assertPromiseHolds(db.client, db.schema);
    const killed = records.find((x) => x.import_id === inProgress)!;
    assert.equal(killed.status, 'failed');
    assert.equal(killed.interrupted, true);
    assert.equal(await countImportRows(db.client, db.schema, 'k', inProgress), 0);
    assert.equal(records.filter((x) => x.status === 'success').length, 1);
    assert.equal(await countRows(db.client, db.schema, 'k'), 2);
    // The same command again imports what is missing.
    const again = await runAtlas(['import', join(files.dir, 'in'), '--table', 'k', ...conn]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /imported 2, skipped 1/);
    assert.equal(await countRows(db.client, db.schema, 'k'), 5);
  });

  it('history --batch lists the imports of a batch; undo --batch undoes them all in one transaction, after a --dry-run that changes nothing', async () => {
    put('in/a.csv', csv([['id'], [1], [2]]));
    put('in/b.csv', csv([['id'], [2], [3]]));
    put('in/c.json', CORRUPT_JSON);
    const other = put('other.csv', csv([['id'], [9]]));
    assert.equal((await runAtlas(['import', other, '--table', 'u', ...conn])).code, 0);
    const r = await runAtlas(['import', join(files.dir, 'in'), '--table', 'u', '--json', ...conn]);
    assert.equal(r.code, 1, r.stderr);
    const batch = (JSON.parse(r.stdout) as { batch_id: string }).batch_id;
    assert.equal(await countRows(db.client, db.schema, 'u'), 4); // b.csv's 2 is a duplicate of a.csv's
    const listed = await runAtlas(['history', '--batch', batch, '--json', ...conn]);
    assert.equal(listed.code, 0, listed.stderr);
    const page = JSON.parse(listed.stdout) as { total_count: number; imports: Array<{ status: string }> };
    assert.equal(page.total_count, 3);
    assert.deepEqual(page.imports.map((i) => i.status).sort(), ['failed', 'success', 'success']);
    // A batch is named by its whole id in history as in undo: a prefix is refused, not an empty list.
    for (const command of ['history', 'undo']) {
      const prefix = await runAtlas([command, '--batch', batch.slice(0, 8), ...(command === 'undo' ? ['--dry-run'] : []), ...conn]);
      assert.equal(prefix.code, 2, `${command}: ${prefix.stdout}`);
      assert.match(prefix.stderr, /is not a batch id \(the full id the batch printed/);
    }
    const plan = await runAtlas(['undo', '--batch', batch, '--dry-run', ...conn]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /2 import\(s\), 3 row\(s\)/);
    assert.equal(await countRows(db.client, db.schema, 'u'), 4);
    const undone = await runAtlas(['undo', '--batch', batch, '--yes', '--json', ...conn]);
    assert.equal(undone.code, 0, undone.stderr);
    const doc = JSON.parse(undone.stdout) as { rows_removed: number; imports: Array<{ import_id: string }>; left_alone: unknown[] };
    assert.equal(doc.rows_removed, 3);
    assert.equal(doc.left_alone.length, 1);
    assert.equal(await countRows(db.client, db.schema, 'u'), 1, 'the import outside the batch keeps its row');
    const records = await assertPromiseHolds(db.client, db.schema);
    assert.equal(records.filter((x) => x.status === 'undone').length, 2);
    const again = await runAtlas(['undo', '--batch', batch, '--yes', ...conn]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 import\(s\), 0 row\(s\)/);
    const unknown = await runAtlas(['undo', '--batch', '00000000-0000-0000-0000-000000000000', '--yes', ...conn]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no import belongs to batch/);
  });
});
