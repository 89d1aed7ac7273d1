/**
 * Files other people published (test/fixtures/real/README.md names each one's source and
 * licence), imported as a new user would: nothing lost, nothing misleading.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importFile, type ImportOptions } from '../../src/core/import.ts';
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
});
