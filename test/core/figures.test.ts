/** stats and lineage give figures a reader can reproduce with SQL over import_history and the table itself, and say what each one counts. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { importFile, type ImportOptions } from '../../src/core/import.ts';
import { traceLineage } from '../../src/core/lineage.ts';
import { getStats } from '../../src/core/stats.ts';
import { undoImport } from '../../src/core/undo.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { csv, ROOT, runAtlas, useTempDir, useTestDb } from '../helpers.ts';

const defaults: Omit<ImportOptions, 'source'> = { table: null, format: null, delimiter: null, header: true, encoding: null, name: null };

/** The SQL blocks of the README's "Figures of stats and lineage": the SQL a reader runs, word for word. */
function readmeSql(): { stats: string; lineage: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Figures of stats and lineage'));
  const blocks = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 2, 'the README gives the SQL of stats and of lineage');
  return { stats: blocks[0]!, lineage: blocks[1]! };
}

describe('stats and lineage figures', () => {
  const db = useTestDb();
  const files = useTempDir();
  const ids: Record<string, string> = {};
  before(async () => {
    const run = (name: string, content: string, options: Partial<ImportOptions> = {}) => importFile(db.settings, { ...defaults, source: files.write(name, content), table: 'customers', ...options });
    ids.a = (await run('a.csv', csv([['k', 'v'], [1, 'a'], [2, 'b'], [3, 'c']]))).import_id;
    ids.b = (await run('b.csv', 'k,v\n4,d\nfive,e\n6,f\n')).import_id; // partial: "five" is no integer
    ids.c = (await run('c.csv', csv([['k', 'v'], [7, 'g'], [8, 'h'], [1, 'a']]))).import_id; // 1,a a duplicate
    await undoImport(db.settings, ids.c, { dryRun: false, force: false, purge: false });
    await assert.rejects(run('d.csv', csv([['k', 'other'], [9, 'i']]), { strategy: 'merge_exact' }));
    ids.e = (await importFile(db.settings, { ...defaults, source: files.write('e.csv', csv([['x'], [1]])), table: 'elsewhere' })).import_id;
    await db.client.query(`delete from ${db.schema}.customers where k = 2`);
  });

  it('every figure of stats is one aggregate over import_history; undone imports count as undone, their rows apart', async () => {
    const s = await getStats(db.settings, { table: null, user: null, days: 30 });
    await db.client.query(`set search_path to ${db.schema}`);
    const [sql] = await db.rows<Record<string, string | null>>(readmeSql().stats);
    for (const [name, value] of Object.entries(sql!)) assert.equal(s[name as keyof typeof s], value === null ? null : Number(value), name);
    // What they mean here: one undone import, whose 2 rows are in total_rows_inserted but not in the imports not undone.
    assert.equal(s.undone_imports, 1);
    assert.equal(s.total_rows_inserted - s.total_rows_inserted_not_undone, 2);
    assert.equal(s.total_rows_removed, 2);
    assert.equal(s.success_rate, Math.round((s.successful_imports / s.total_imports) * 1000) / 1000);
  });

  it("lineage lists the success and partial imports with what they inserted (the spec's totals), and the rows now apart", async () => {
    const l = await traceLineage(db.settings, 'customers');
    await db.client.query(`set search_path to ${db.schema}`);
    // Two statements: the imports' figures, then the table's rows.
    const [imports, table] = (await db.client.query(readmeSql().lineage)) as unknown as Array<{ rows: Array<Record<string, string>> }>;
    assert.equal(l.total_imports, Number(imports!.rows[0]!.total_imports));
    assert.equal(l.total_rows_contributed, Number(imports!.rows[0]!.total_rows_contributed));
    assert.equal(l.rows_now_in_table, Number(table!.rows[0]!.rows_now_in_table));
    assert.deepEqual(
      l.imports.map((i) => [i.import_id, i.status, i.rows_inserted, i.rows_now]),
      [
        [ids.b, 'partial', 2, 2],
        [ids.a, 'success', 3, 2],
      ],
      'newest first; the undone and the failed import are not among them; a row deleted by hand shows in rows_now',
    );
  });

  it('text output and --help say what each figure counts', async () => {
    const conn = ['--database-url', db.url, '--schema', db.schema];
    const stats = await runAtlas(['stats', ...conn]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /success rate\s+40\.0 % \(2 successful of 5 imports\)/);
    assert.match(stats.stdout, /inserted\s+8 \(2 of them by imports undone since\)/);
    assert.match(stats.stdout, /by imports not undone\s+6\n/);
    assert.match(stats.stdout, /removed by undo\s+2\n/);
    const lineage = await runAtlas(['lineage', 'customers', ...conn]);
    assert.match(lineage.stdout, /2 import\(s\) succeeded or were partial into customers, inserting 5 row\(s\); customers holds 4 row\(s\) now/);

    const statsJson = JSON.parse((await runAtlas(['stats', '--json', ...conn])).stdout) as Record<string, unknown>;
    const statsHelp = (await runAtlas(['stats', '--help'])).stdout;
    const scope = ['success', 'period_days', 'period_start', 'period_end', 'table_name', 'user_id'];
    for (const figure of Object.keys(statsJson).filter((k) => !scope.includes(k))) assert.match(statsHelp, new RegExp(`\\b${figure}\\b`), `stats --help defines ${figure}`);
    const lineageJson = JSON.parse((await runAtlas(['lineage', 'customers', '--json', ...conn])).stdout) as Record<string, unknown>;
    const lineageHelp = (await runAtlas(['lineage', '--help'])).stdout;
    for (const figure of [...Object.keys(lineageJson).filter((k) => !['success', 'table_name'].includes(k)), 'rows_now']) {
      assert.match(lineageHelp, new RegExp(`\\b${figure}\\b`), `lineage --help defines ${figure}`);
    }
  });
});
