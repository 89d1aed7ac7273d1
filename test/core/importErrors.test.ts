import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { listImportErrors, listSkippedDuplicates, type ImportErrorsOptions } from '../../src/core/importErrors.ts';
import { AtlasError, NotFoundError, UsageError } from '../../src/errors.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';
import { importInto, importWith, insertRecord, migrateTestDb } from '../importHelpers.ts';

const page: ImportErrorsOptions = { type: null, field: null, limit: 100, offset: 0 };

describe('listImportErrors', () => {
  const db = useTestDb({ setup: migrateTestDb });
  const files = useTempDir();
  let id: string;
  before(async () => {
    id = await insertRecord(db, { status: 'partial', rows_inserted: 1 });
    const errors: Array<[number, string | null, string | null, string, string | null]> = [
      [7, 'age', 'age_years', 'type_mismatch', 'abc'],
      [2, 'signup', 'signup', 'datetime_conversion', '2024-02-30'],
      [5, 'age', 'age_years', 'type_mismatch', 'x'],
      [3, null, null, 'field_count_mismatch', null],
      [9, 'signup', 'signup', 'datetime_conversion', '13/13/2024'],
    ];
    for (const [rn, source, target, type, value] of errors) {
      await db.client.query(
        `insert into ${db.schema}.mapping_errors (import_id, record_number, source_field, target_field, error_type, error_message, source_value, chunk_number)
         values ($1, $2, $3, $4, $5, $6, $7, 1)`,
        [id, rn, source, target, type, `problem in record ${rn}`, value],
      );
    }
    // Another import's errors never show up.
    const other = await insertRecord(db, { status: 'partial' });
    await db.client.query(`insert into ${db.schema}.mapping_errors (import_id, record_number, error_type, error_message) values ($1, 1, 'type_mismatch', 'other')`, [other]);
  });

  it('lists an import’s errors in file order, with the spec fields, by id prefix', async () => {
    const r = await listImportErrors(db.settings, id.slice(0, 8), page);
    assert.equal(r.import_id, id);
    assert.equal(r.total_count, 5);
    assert.deepEqual(r.errors.map((e) => e.record_number), [2, 3, 5, 7, 9]);
    const e = r.errors[2]!;
    assert.deepEqual(Object.keys(e).sort(), ['chunk_number', 'error_message', 'error_type', 'id', 'import_id', 'occurred_at', 'record_number', 'source_field', 'source_value', 'target_field']);
    assert.equal(e.import_id, id);
    assert.equal(e.source_field, 'age');
    assert.equal(e.target_field, 'age_years');
    assert.equal(e.source_value, 'x');
    assert.equal(typeof e.id, 'number');
    assert.equal(typeof e.occurred_at, 'string');
  });

  it('filters by type and by field (source or target name)', async () => {
    assert.deepEqual((await listImportErrors(db.settings, id, { ...page, type: 'type_mismatch' })).errors.map((e) => e.record_number), [5, 7]);
    assert.deepEqual((await listImportErrors(db.settings, id, { ...page, field: 'signup' })).errors.map((e) => e.record_number), [2, 9]);
    assert.deepEqual((await listImportErrors(db.settings, id, { ...page, field: 'age_years' })).errors.map((e) => e.record_number), [5, 7]);
    const both = await listImportErrors(db.settings, id, { ...page, type: 'datetime_conversion', field: 'age' });
    assert.equal(both.total_count, 0);
  });

  it('pages, keeping the total; past the end is an empty page; limit 0 is rejected', async () => {
    const p = await listImportErrors(db.settings, id, { ...page, limit: 2, offset: 2 });
    assert.deepEqual(p.errors.map((e) => e.record_number), [5, 7]);
    assert.equal(p.total_count, 5);
    const past = await listImportErrors(db.settings, id, { ...page, offset: 50 });
    assert.deepEqual(past.errors, []);
    assert.equal(past.total_count, 5);
    await assert.rejects(listImportErrors(db.settings, id, { ...page, limit: 0 }), UsageError);
  });

  it('unknown ids are not found', async () => {
    await assert.rejects(listImportErrors(db.settings, '00000000-0000-4000-8000-000000000000', page), NotFoundError);
  });

  it('--duplicates: empty for an import that found none; an error when some were found but none are kept', async () => {
    const none = await insertRecord(db, { duplicates_found: 0 });
    const d = await listSkippedDuplicates(db.settings, none, page);
    assert.deepEqual(d.duplicates, []);
    assert.equal(d.total_count, 0);
    const has = await db.rows(`select 1 from pg_tables where schemaname = $1 and tablename = 'import_duplicates'`, [db.schema]);
    const some = await insertRecord(db, { duplicates_found: 2 });
    if (has.length === 0) {
      await assert.rejects(listSkippedDuplicates(db.settings, some, page), (err: unknown) => err instanceof AtlasError && /no import_duplicates table/.test(err.message));
    } else {
      await db.client.query(
        `insert into ${db.schema}.import_duplicates (import_id, record_number, record, matched_record_number) values ($1, 4, '{"a": 1}', 2), ($1, 3, '{"a": 1}', 1)`,
        [some],
      );
      const listed = await listSkippedDuplicates(db.settings, some, page);
      assert.equal(listed.total_count, 2);
      assert.deepEqual(listed.duplicates.map((x) => [x.record_number, x.matched_record_number]), [[3, 1], [4, 2]]);
    }
  });

  it('--duplicates: numbers exactly as stored, digits past a double\'s and trailing zeros kept', async () => {
    const path = files.write('exact_dups.csv', csv([['big_id', 'amount'], ['1234567890123456789', '1.50'], ['9007199254740993', '12345678901234567.89'], ['3', '2.5']]));
    await importInto(db.settings, path, 'exact_dups');
    const again = await importWith(db.settings, path, 'exact_dups', { allowSameFile: true });
    const listed = await listSkippedDuplicates(db.settings, again.import_id, page);
    assert.deepEqual(listed.duplicates.map((d) => d.record), [
      { big_id: '1234567890123456789', amount: '1.50' },
      { big_id: '9007199254740993', amount: '12345678901234567.89' },
      { big_id: 3, amount: 2.5 },
    ]);
  });
});
