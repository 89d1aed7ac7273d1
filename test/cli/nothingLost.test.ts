/**
 * Issue 19 (points 2, 3, 4, 10) as a user meets it: the real binary's exit codes, text and JSON,
 * on the real files of test/fixtures/real/ (README there names each one's source).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { resolveSettings } from '../../src/config.ts';
import { FIXTURES, ROOT, runAtlas, useTempDir, useTestDb } from '../helpers.ts';

const real = (name: string): string => join(FIXTURES, 'real', name);

describe('atlas import: nothing lost, nothing misleading (spawned)', () => {
  const db = useTestDb();
  const files = useTempDir();
  let conn: string[];
  before(async () => {
    conn = ['--database-url', db.url, '--schema', db.schema];
  });

  it('every row rejected: exit 1 with the import id and where to see why; the fixed mapping then loads the same file (exit 0)', async () => {
    const source = real('vega_seattle_weather_head20.csv');
    const wrong = files.write('wrong.json', JSON.stringify({ columns: { date: { type: 'date', format: '%d.%m.%Y' } } }));
    const dry = await runAtlas(['import', source, '--table', 'weather', '--mapping', wrong, '--dry-run', ...conn]);
    assert.equal(dry.code, 1, 'exits as the import would: 1');
    assert.match(dry.stdout, /mapping errors: 20 \(the import would fail: every one of the 20 record\(s\) has a mapping error/);
    // Said first, where "would import 20 rows" stood above it.
    assert.match(dry.stdout.split('\n')[1]!, /^would fail: every one of the 20 record\(s\) has a mapping error \(20 mapping errors\); no row of the 20 would go into [\w.]+\.weather$/);
    const failed = await runAtlas(['import', source, '--table', 'weather', '--mapping', wrong, '--json', ...conn]);
    assert.equal(failed.code, 1, failed.stderr);
    const body = JSON.parse(failed.stdout) as { success: boolean; error: string; hint: string; import_id: string };
    assert.equal(body.success, false);
    assert.match(body.error, /every one of the 20 record\(s\) has a mapping error \(20 mapping errors\); nothing was imported/);
    assert.match(body.hint, new RegExp(`atlas errors ${body.import_id}`));
    const errors = await runAtlas(['errors', body.import_id, '--json', ...conn]);
    assert.equal((JSON.parse(errors.stdout) as { total_count: number }).total_count, 20);
    const right = files.write('right.json', JSON.stringify({ columns: { date: { type: 'date', format: '%Y/%m/%d' } } }));
    const fixed = await runAtlas(['import', source, '--table', 'weather', '--mapping', right, ...conn]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stdout, /^success: imported 20 of 20 rows/);
  });

  it('a table whose name needs quotes is written as SQL names it in what import and undo say', async () => {
    const file = files.write('quoted.csv', 'a,b\n1,2\n');
    const r = await runAtlas(['import', file, '--table', 'Mixed Case', '--json', ...conn]);
    assert.equal(r.code, 0, r.stderr);
    const id = (JSON.parse(r.stdout) as { import_id: string }).import_id;
    const dry = await runAtlas(['import', files.write('quoted2.csv', 'a,b\n3,4\n'), '--table', 'Mixed Case', '--dry-run', ...conn]);
    assert.match(dry.stdout, new RegExp(`into ${db.schema}\\."Mixed Case" \\(`));
    const undo = await runAtlas(['undo', id, '--yes', ...conn]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, new RegExp(`${db.schema}\\."Mixed Case"`));
  });

  it('readxl deaths.xlsx: the rows skipped above the header found are said on the terminal, with the flags that choose another', async () => {
    const r = await runAtlas(['import', real('deaths.xlsx'), '--table', 'deaths_said', ...conn]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^ {2}warning: sheet "arts": row 5 was taken as the header, and the 4 row\(s\) with values above it \(sheet rows 1-4: titles, notes\?\) were skipped; to take another row as the header, pass --header-row N \(its row number in the sheet\), or give the block to read with --range \(e\.g\. --range A5:F\)$/m,
    );
  });

  it('a header-only CSV: exit 1, nothing to import, no table', async () => {
    const r = await runAtlas(['import', files.write('only_header.csv', 'a,b,c\n'), ...conn]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^atlas: import [0-9a-f-]{36} into only_header failed: nothing to import: the file has a header but no data rows; no table was created or changed$/m);
    assert.deepEqual(await db.rows(`select to_regclass($1) as t`, [`${db.schema}.only_header`]), [{ t: null }]);
    assert.match(r.stderr, /hint: check that the export is complete/);
    // One line of numbers (statsmodels' mnlogit_resid.csv) is data read as a header: the hint says so.
    const numbers = await runAtlas(['import', files.write('one_line.csv', '0.00,1.00,-2.5e3\n'), ...conn]);
    assert.equal(numbers.code, 1);
    assert.match(numbers.stderr, /hint: its one line, read as the header, is all numbers: if it is data, import with --no-header$/m);
  });

  it('an explicit adapt_data says in text and JSON which columns of the file were left out', async () => {
    const first = await runAtlas(['import', real('penguins_raw_a.csv'), '--table', 'penguins', ...conn]);
    assert.equal(first.code, 0, first.stderr);
    const text = await runAtlas(['import', real('penguins_raw_b.csv'), '--table', 'penguins', '--strategy', 'adapt_data', ...conn]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ {2}warning: column\(s\) of the file left out, their values not imported: Body Mass \(g\), Sex \(not in table penguins; adapt_data adds no columns, extend_table would\)$/m);
    const json = await runAtlas(['import', real('penguins_raw_b.csv'), '--table', 'penguins', '--strategy', 'adapt_data', '--allow-same-file', '--json', ...conn]);
    assert.deepEqual((JSON.parse(json.stdout) as { columns_left_out: unknown }).columns_left_out, [
      { source: 'Body Mass (g)', reason: 'not in the table (adapt_data adds no columns)' },
      { source: 'Sex', reason: 'not in the table (adapt_data adds no columns)' },
    ]);
  });

  it('--null-value is repeatable (a value may be "-"), the config file\'s null_values apply without it, and empty ones are refused', async () => {
    const path = files.write('placeholders.csv', 'id,n,d\n1,5,2024-01-01\n2,NA,-\n3,\\N,2024-01-03\n');
    const r = await runAtlas(['import', path, '--table', 'flags', '--null-value', 'NA', '--null-value', '\\N', '--null-value', '-', ...conn]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}stored as NULL \(null values, recorded in _corrections_applied\): n 2, d 1$/m);
    assert.deepEqual(await db.rows(`select n, d::text from ${db.schema}.flags order by id`), [
      { n: 5, d: '2024-01-01' },
      { n: null, d: null },
      { n: null, d: '2024-01-03' },
    ]);
    const config = files.write('nulls.config.json', JSON.stringify({ '//null_values': 'R and MySQL exports', null_values: ['NA', '\\N', '-'] }));
    const fromConfig = await runAtlas(['import', path, '--table', 'from_config', '--config', config, ...conn]);
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.deepEqual(await db.rows(`select data_type from information_schema.columns where table_schema = $1 and table_name = 'from_config' and column_name = 'n'`, [db.schema]), [{ data_type: 'integer' }]);

    const empty = await runAtlas(['import', path, '--table', 'x', '--null-value', '', ...conn]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--null-value has an empty value/);
    const bad = files.write('bad.config.json', JSON.stringify({ null_values: 'NA', database: { schema: 's' } }));
    const badConfig = await runAtlas(['history', '--config', bad, ...conn]);
    assert.equal(badConfig.code, 2);
    assert.match(badConfig.stderr, /"null_values" must be a list of strings/);
  });

  it('the example config file documents null_values and is valid', () => {
    const settings = resolveSettings({ config: join(ROOT, 'atlas.config.example.json'), databaseUrl: db.url });
    assert.deepEqual(settings.nullValues, ['NA', '\\N']);
  });

  it('without --null-value, the warning names the placeholder and the flag', async () => {
    const r = await runAtlas(['import', real('spdata_worldbank_df.csv'), '--table', 'worldbank', ...conn]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /warning: hdi: kept as text because of the placeholder "NA" \(\d+ values\); the other values are numeric\. To store missing values as NULL: --null-value NA$/m);
  });

  it('a failed import prints what it noticed before failing: a header found below a title, then no data rows (xlsx2csv\'s test shapes)', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('s');
    ws.getCell('A1').value = 'Report title';
    ['a', 'b', 'c'].forEach((v, i) => (ws.getCell(3, i + 1).value = v));
    const path = files.write('titled.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
    const said = 'sheet "s": row 3 was taken as the header, and the 1 row(s) with values above it (sheet row 1: titles, notes?) were skipped';
    const r = await runAtlas(['import', path, '--table', 'titled', ...conn]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /failed: nothing to import: the file has a header but no data rows/);
    assert.ok(r.stderr.includes(`  warning: ${said}`), r.stderr);
    const j = await runAtlas(['import', path, '--table', 'titled', '--json', ...conn]);
    const body = JSON.parse(j.stdout) as { warnings: string[] };
    assert.ok(body.warnings.some((w) => w.startsWith(said)), j.stdout);
  });

  it('lineage --row labels the CSV record number as such', async () => {
    const r = await runAtlas(['import', files.write('rows.csv', 'a\nx\n\ny\n'), '--table', 'rows', ...conn]);
    assert.equal(r.code, 0, r.stderr);
    const [row] = await db.rows<{ id: number }>(`select id from ${db.schema}.rows where a = 'y'`);
    const l = await runAtlas(['lineage', 'rows', '--row', String(row!.id), ...conn]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /source row +2 \(CSV data record number, 1 = the first record after the header \(blank lines not counted\)\)/);
  });
});
