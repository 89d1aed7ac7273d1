/**
 * Files other people published (test/fixtures/real/README.md names each one's source and
 * licence), imported as a new user would: nothing lost, nothing misleading.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importFile, type ImportOptions } from '../../src/core/import.ts';
import { ImportFailedError } from '../../src/errors.ts';
import { FIXTURES, openTestDb, type TestDb } from '../helpers.ts';

const REAL = join(FIXTURES, 'real');

describe('real files', () => {
  let db: TestDb;
  before(async () => {
    db = await openTestDb();
  });
  after(async () => {
    await db.close();
  });
  const run = (file: string, options: Partial<ImportOptions> = {}) => importFile(db.settings, { table: null, ...options, source: join(REAL, file) });

  it('readxl datasets.xlsx: each sheet asked for by name or number goes to a table named after the file and the sheet', async () => {
    const quakes = await run('datasets.xlsx', { sheet: 'quakes' });
    assert.equal(quakes.table_name, 'datasets_quakes');
    assert.equal(quakes.rows_inserted, 1000);
    const mtcars = await run('datasets.xlsx', { sheet: '2' });
    assert.equal(mtcars.table_name, 'datasets_mtcars');
    assert.equal(mtcars.rows_inserted, 32);
    // Without --sheet: the first sheet, into the file's own name.
    const first = await run('datasets.xlsx');
    assert.equal(first.table_name, 'datasets');
    assert.equal(first.total_rows_in_file, 150);
    assert.equal(first.duplicates_found, 1); // iris has one row twice
    const [counts] = await db.rows<{ q: string; m: string; i: string }>(
      `select (select count(*) from ${db.schema}.datasets_quakes) as q, (select count(*) from ${db.schema}.datasets_mtcars) as m, (select count(*) from ${db.schema}.datasets) as i`,
    );
    assert.deepEqual(counts, { q: '1000', m: '32', i: '149' });
  });

  it('openxlsx readTest.xlsx: error cells are NULL, never lost: each recorded in its row, one warning per column, counted in the history', async () => {
    const result = await run('readTest-sheet1.xlsx', { table: 'errors_kept' });
    assert.equal(result.status, 'success');
    assert.equal(result.rows_inserted, result.total_rows_in_file);
    assert.equal(result.total_rows_in_file, 10); // sheet rows 2-11
    // One #NUM! among numbers: the column stays numeric.
    assert.equal(result.columns.find((c) => c.target === 'var3')?.type, 'numeric');
    assert.deepEqual(
      result.warnings.filter((w) => w.includes('spreadsheet error')),
      [
        "var3: 1 spreadsheet error cell(s) (#NUM! 1) stored as NULL; each cell's error is in its row's _corrections_applied",
        "var4: 1 spreadsheet error cell(s) (#NUM! 1) stored as NULL; each cell's error is in its row's _corrections_applied",
        "var7: 3 spreadsheet error cell(s) (#DIV/0! 1, #N/A 1, #NUM! 1) stored as NULL; each cell's error is in its row's _corrections_applied",
      ],
    );
    const rows = await db.rows<{ n: number; var3: string | null; var7: string | null; fix: unknown }>(
      `select _source_row_number as n, var3::text, var7, _corrections_applied -> 'var7' as fix from ${db.schema}.errors_kept where _source_row_number in (2, 3) order by 1`,
    );
    assert.deepEqual(rows, [
      { n: 2, var3: '1', var7: null, fix: { before: '#DIV/0!', after: null, correction_type: 'spreadsheet_error' } },
      { n: 3, var3: null, var7: null, fix: { before: '#N/A', after: null, correction_type: 'spreadsheet_error' } },
    ]);
    // The spec's query for corrected rows finds them; the counts are in the history record.
    const [corrected] = await db.rows<{ n: number }>(
      `select count(*)::int as n from ${db.schema}.errors_kept where _corrections_applied is not null and jsonb_path_exists(_corrections_applied, '$.*.correction_type ? (@ == "spreadsheet_error")')`,
    );
    assert.equal(corrected?.n, 4); // rows 2, 3, 4, 5
    const [history] = await db.rows<{ m: unknown }>(`select metadata -> 'spreadsheet_errors' as m from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
    assert.deepEqual(history?.m, { var3: 1, var4: 1, var7: 3 });
  });

  it('openxlsx readTest.xlsx with --strict: each error cell is a mapping error and nothing is imported', async () => {
    const err = await run('readTest-sheet1.xlsx', { table: 'errors_strict', strict: true }).catch((e: unknown) => e);
    assert.ok(err instanceof ImportFailedError, String(err));
    assert.match(err.message, /5 mapping error\(s\), more than the --strict limit of 0/);
    const errors = await db.rows(
      `select record_number, source_field, target_field, error_type, source_value from ${db.schema}.mapping_errors where import_id = $1 order by record_number, target_field`,
      [err.importId],
    );
    assert.deepEqual(errors, [
      { record_number: 2, source_field: 'Var7', target_field: 'var7', error_type: 'spreadsheet_error', source_value: '#DIV/0!' },
      { record_number: 3, source_field: 'Var3', target_field: 'var3', error_type: 'spreadsheet_error', source_value: '#NUM!' },
      { record_number: 3, source_field: 'Var7', target_field: 'var7', error_type: 'spreadsheet_error', source_value: '#N/A' },
      { record_number: 4, source_field: 'Var7', target_field: 'var7', error_type: 'spreadsheet_error', source_value: '#NUM!' },
      { record_number: 5, source_field: 'Var4', target_field: 'var4', error_type: 'spreadsheet_error', source_value: '#NUM!' },
    ]);
    const [table] = await db.rows(`select to_regclass($1) as t`, [`${db.schema}.errors_strict`]);
    assert.deepEqual(table, { t: null });
  });
});
