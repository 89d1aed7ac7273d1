/**
 * Issue 19 (points 2, 3, 4, 5, 10) on real files (test/fixtures/real/README.md names each one's
 * source and licence) and on generated edge cases: no column of the file dropped unless asked,
 * every row rejected is a failure, values that say "missing", leading zeros, messages that say
 * what happened.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { dryRunImport, importFile, type ImportOptions, type ImportResult } from '../../src/core/import.ts';
import { listImportErrors } from '../../src/core/importErrors.ts';
import { traceRow } from '../../src/core/lineage.ts';
import { undoImport } from '../../src/core/undo.ts';
import { AlreadyImportedError, ImportFailedError, UsageError } from '../../src/errors.ts';
import { getImport, listHistory } from '../../src/core/history.ts';
import { csv, FIXTURES, useTempDir, useTestDb } from '../helpers.ts';

const REAL = join(FIXTURES, 'real');
const real = (name: string): string => join(REAL, name);
const defaults: Omit<ImportOptions, 'source'> = { table: null };

/** A CSV file's data lines in reverse order (the header first): the same set of values, another order. */
function reversedCsv(path: string): string {
  const [header, ...rows] = readFileSync(path, 'utf8').trimEnd().split('\n');
  return [header, ...rows.reverse()].join('\n') + '\n';
}

describe('nothing lost, nothing misleading (issue 19)', () => {
  const db = useTestDb();
  const files = useTempDir();
  const q = (table: string): string => `${db.schema}.${table}`;
  const columnsOf = async (table: string): Promise<Record<string, string>> =>
    Object.fromEntries(
      (
        await db.rows<{ column_name: string; data_type: string }>(
          `select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2 and column_name not like '\\_%' and column_name <> 'id' order by ordinal_position`,
          [db.schema, table],
        )
      ).map((r) => [r.column_name, r.data_type]),
    );
  const tableExists = async (table: string): Promise<boolean> => (await db.rows(`select 1 from information_schema.tables where table_schema = $1 and table_name = $2`, [db.schema, table])).length > 0;
  const historyOf = async (importId: string): Promise<Record<string, unknown>> => (await db.rows(`select * from ${q('import_history')} where import_id = $1`, [importId]))[0]!;
  /** Runs an import that must fail; returns the id of its failed record. */
  const failing = async (options: ImportOptions, message: RegExp): Promise<string> => {
    let id = '';
    await assert.rejects(importFile(db.settings, options), (err: unknown) => {
      assert.ok(err instanceof ImportFailedError, String(err));
      assert.match(err.message, message);
      id = err.importId!;
      return true;
    });
    return id;
  };

  describe('2. the automatic strategy never drops a column of the file', () => {
    it('penguins_raw: a file lacking two of the table\'s columns and bringing two new ones is added to (extend_table), every row kept', async () => {
      const first = await importFile(db.settings, { ...defaults, source: real('penguins_raw_a.csv'), table: 'penguins' });
      assert.equal(first.rows_inserted, 12);
      // The same 12 penguins, with their body mass and sex and without the study columns: before,
      // adapt_data dropped the two new columns and skipped all 12 rows as duplicates (exit 0).
      const r = await importFile(db.settings, { ...defaults, source: real('penguins_raw_b.csv'), table: 'penguins' });
      assert.equal(r.import_strategy, 'extend_table');
      assert.equal(r.rows_inserted, 12);
      assert.equal(r.duplicates_found, 0);
      assert.deepEqual(r.columns_left_out, []);
      assert.deepEqual(Object.keys(await columnsOf('penguins')), ['studyname', 'sample_number', 'species', 'island', 'individual_id', 'culmen_length_mm', 'body_mass_g', 'sex']);
      const rows = await db.rows<Record<string, unknown>>(`select studyname, individual_id, body_mass_g, sex from ${q('penguins')} where _import_id = $1 order by id limit 2`, [r.import_id]);
      assert.deepEqual(rows, [
        { studyname: null, individual_id: 'N1A1', body_mass_g: '3750', sex: 'MALE' },
        { studyname: null, individual_id: 'N1A2', body_mass_g: '3800', sex: 'FEMALE' },
      ]);
      assert.match(r.warnings.join('\n'), /missing from the file are left NULL \(or their default\): studyname, sample_number/);
      // The row check compares whole rows again: the same file a second time is all duplicates.
      const again = await importFile(db.settings, { ...defaults, source: real('penguins_raw_b.csv'), table: 'penguins', allowSameFile: true });
      assert.equal(again.import_strategy, 'adapt_data');
      assert.equal(again.rows_inserted, 0);
      assert.equal(again.duplicates_found, 12);
    });

    it('rows that differ only in a column the file brings are not duplicates', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('d1.csv', csv([['a', 'b'], ['x', 1], ['y', 2]])), table: 'dropped' });
      const r = await importFile(db.settings, { ...defaults, source: files.write('d2.csv', csv([['a', 'c'], ['x', 'new'], ['y', 'other'], ['z', 'third']])), table: 'dropped' });
      assert.equal(r.import_strategy, 'extend_table');
      assert.equal(r.rows_inserted, 3);
      assert.equal(r.duplicates_found, 0);
      assert.deepEqual(await db.rows(`select a, b, c from ${q('dropped')} order by id`), [
        { a: 'x', b: 1, c: null },
        { a: 'y', b: 2, c: null },
        { a: 'x', b: null, c: 'new' },
        { a: 'y', b: null, c: 'other' },
        { a: 'z', b: null, c: 'third' },
      ]);
    });

    it('only an explicit adapt_data, or "ignore": true, leaves a file column out, and the result, the warnings, the mapping and the record say which', async () => {
      await importFile(db.settings, { ...defaults, source: real('penguins_raw_a.csv'), table: 'penguins_adapt' });
      const r = await importFile(db.settings, { ...defaults, source: real('penguins_raw_b.csv'), table: 'penguins_adapt', strategy: 'adapt_data' });
      assert.equal(r.import_strategy, 'adapt_data');
      const reason = 'not in the table (adapt_data adds no columns)';
      assert.deepEqual(r.columns_left_out, [
        { source: 'Body Mass (g)', reason },
        { source: 'Sex', reason },
      ]);
      assert.match(r.warnings.join('\n'), /left out, their values not imported: Body Mass \(g\), Sex \(not in table penguins_adapt; adapt_data adds no columns, extend_table would\)/);
      // Equal on every column written: skipped as duplicates, as asked (the left-out values are named above).
      assert.equal(r.duplicates_found, 12);
      const h = await historyOf(r.import_id);
      assert.deepEqual((h.metadata as Record<string, unknown>).columns_left_out, r.columns_left_out);
      const mapped = (h.mapping_config as { columns: Record<string, unknown> }).columns;
      assert.deepEqual(mapped['Sex'], { ignore: true });
      assert.deepEqual(mapped['Body Mass (g)'], { ignore: true });
      assert.deepEqual(Object.keys(await columnsOf('penguins_adapt')), ['studyname', 'sample_number', 'species', 'island', 'individual_id', 'culmen_length_mm']);

      const mapping = files.write('ignore.json', JSON.stringify({ columns: { Sex: { ignore: true } } }));
      const m = await importFile(db.settings, { ...defaults, source: real('penguins_raw_b.csv'), table: 'penguins_ignore', mappingFile: mapping });
      assert.deepEqual(m.columns_left_out, [{ source: 'Sex', reason: 'ignored by the mapping' }]);
      assert.match(m.warnings.join('\n'), /left out, their values not imported: Sex \("ignore": true in the mapping\)/);
      const dry = await dryRunImport(db.settings, { ...defaults, source: real('penguins_raw_b.csv'), table: 'penguins_adapt', strategy: 'adapt_data' });
      assert.deepEqual(dry.columns_left_out, r.columns_left_out);
    });
  });

  describe('3. every row rejected is a failure', () => {
    // seattle-weather's dates are 2012/01/01; a mapping that reads them as 01.01.2012 rejects every row.
    const wrong = (): string => files.write('weather-wrong.json', JSON.stringify({ columns: { date: { type: 'date', format: '%d.%m.%Y' } } }));
    const right = (): string => files.write('weather-right.json', JSON.stringify({ columns: { date: { type: 'date', format: '%Y/%m/%d' } } }));

    it('seattle-weather with a wrong date mapping: failed, its errors kept, no table; the same file imports once the mapping is fixed', async () => {
      const source = real('vega_seattle_weather_head20.csv');
      const id = await failing({ ...defaults, source, table: 'weather', mappingFile: wrong() }, /every one of the 20 record\(s\) has a mapping error \(20 mapping errors\); nothing was imported/);
      const h = await historyOf(id);
      assert.equal(h.status, 'failed');
      assert.equal(h.mapping_status, 'failed');
      assert.equal(h.rows_inserted, 0);
      assert.equal(h.mapping_errors_count, 20);
      assert.equal(await tableExists('weather'), false);
      const errors = await listImportErrors(db.settings, id, { type: null, field: null, limit: 100, offset: 0 });
      assert.equal(errors.total_count, 20);
      assert.equal(errors.errors[0]!.error_type, 'datetime_conversion');
      assert.equal(errors.errors[0]!.error_message, "Value '2012/01/01' is not a valid date (read as %d.%m.%Y)");
      // Not "already imported": a failed import is no import of the file.
      const fixed = await importFile(db.settings, { ...defaults, source, table: 'weather', mappingFile: right() });
      assert.equal(fixed.status, 'success');
      assert.equal(fixed.rows_inserted, 20);
      const [first] = await db.rows<{ date: string }>(`select date::text from ${q('weather')} order by id limit 1`);
      assert.equal(first!.date, '2012-01-01');
    });

    it('an existing table is not extended by a file whose every row is rejected', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('n1.csv', csv([['n'], [1], [2]])), table: 'rejected_all' });
      await failing({ ...defaults, source: files.write('n2.csv', csv([['n', 'extra'], ['one', 'a'], ['two', 'b']])), table: 'rejected_all' }, /every one of the 2 record/);
      assert.deepEqual(Object.keys(await columnsOf('rejected_all')), ['n']);
    });

    it('a file whose every record has the wrong number of fields fails', async () => {
      await failing({ ...defaults, source: files.write('ragged.csv', 'a,b\n1\n2,3,4\n'), table: 'ragged_all' }, /every one of the 2 record\(s\) has a mapping error/);
      assert.equal(await tableExists('ragged_all'), false);
    });

    it('rows rejected and the rest all duplicates: failed (nothing inserted), no column added, the duplicates counted; the same file then imports once fixed', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('k1.csv', csv([['k', 'n'], ['a', 1], ['b', 2]])), table: 'dup_rejected' });
      const text = csv([['k', 'n', 'note'], ['a', 1, ''], ['b', 2, ''], ['c', 'three', 'x']]);
      const id = await failing(
        { ...defaults, source: files.write('k2.csv', text), table: 'dup_rejected', key: ['k', 'n'] },
        /the 2 record\(s\) without a mapping error are all already in dup_rejected \(duplicates\) and the other 1 have mapping errors \(1 mapping error\); nothing was imported/,
      );
      const h = await historyOf(id);
      assert.equal(h.status, 'failed');
      assert.equal(h.duplicates_found, 2);
      assert.equal(h.mapping_errors_count, 1);
      assert.ok(!('rehash_xmin' in (h.metadata as object)));
      assert.deepEqual(Object.keys(await columnsOf('dup_rejected')), ['k', 'n']);
      assert.equal((await db.rows(`select 1 from ${q('import_duplicates')} where import_id = $1`, [id])).length, 0);
      assert.equal((await db.rows(`select 1 from ${q('mapping_errors')} where import_id = $1`, [id])).length, 1);
      const ok = await importFile(db.settings, { ...defaults, source: files.write('k2.csv', text.replace('three', '3')), table: 'dup_rejected', key: ['k', 'n'] });
      assert.equal(ok.rows_inserted, 1);
    });

    it('partial means rows inserted and rows rejected', async () => {
      const r = await importFile(db.settings, { ...defaults, source: files.write('p.csv', csv([['d'], ['2024-01-01'], ['2024-02-30']])), table: 'partial_one' });
      assert.equal(r.status, 'partial');
      assert.equal(r.rows_inserted, 1);
    });
  });

  describe('4. values that say "missing"', () => {
    it('spData worldbank_df without --null-value: NA keeps numeric columns text, and a warning names NA and the flag', async () => {
      const r = await importFile(db.settings, { ...defaults, source: real('spdata_worldbank_df.csv'), table: 'worldbank_text' });
      const cols = await columnsOf('worldbank_text');
      assert.equal(cols.hdi, 'text');
      assert.equal(cols.literacy, 'text');
      const hdi = r.warnings.find((w) => w.startsWith('hdi:'));
      assert.match(hdi ?? '', /kept as text because of the placeholder "NA" \(\d+ values\); the other values are numeric\. To store missing values as NULL: --null-value NA$/);
      assert.equal(r.warnings.filter((w) => w.startsWith('iso_a2:')).length, 0, 'iso_a2 is text whatever NA means');
    });

    it('spData worldbank_df with --null-value NA: numeric columns, each NA a recorded NULL; Namibia\'s quoted "NA" stays text', async () => {
      const r = await importFile(db.settings, { ...defaults, source: real('spdata_worldbank_df.csv'), table: 'worldbank', nullValues: ['NA'] });
      const cols = await columnsOf('worldbank');
      assert.deepEqual([cols.hdi, cols.urban_pop, cols.unemployment, cols.literacy], ['numeric', 'integer', 'numeric', 'numeric']);
      const [namibia] = await db.rows<Record<string, unknown>>(`select iso_a2, hdi::text, literacy, _corrections_applied from ${q('worldbank')} where name = 'Namibia'`);
      assert.equal(namibia!.iso_a2, 'NA');
      assert.equal(namibia!.hdi, '0.606');
      assert.equal(namibia!.literacy, null);
      assert.deepEqual(namibia!._corrections_applied, { literacy: { before: 'NA', after: null, correction_type: 'null_value' } });
      const literacyNulls = await db.rows<{ n: number }>(`select count(*)::int as n from ${q('worldbank')} where _corrections_applied->'literacy'->>'correction_type' = 'null_value'`);
      assert.equal(r.null_values_applied.literacy, literacyNulls[0]!.n);
      // Three places without a code (Kosovo, Northern Cyprus, Somaliland) have an unquoted NA there.
      assert.equal(r.null_values_applied.iso_a2, 3);
      assert.deepEqual(await db.rows(`select name from ${q('worldbank')} where iso_a2 is null order by name`), [{ name: 'Kosovo' }, { name: 'Northern Cyprus' }, { name: 'Somaliland' }]);
      const h = await historyOf(r.import_id);
      assert.deepEqual((h.metadata as Record<string, unknown>).null_values_applied, r.null_values_applied);
      const mapped = (h.mapping_config as { columns: Record<string, { null_values?: string[] }> }).columns;
      assert.deepEqual(mapped['HDI']!.null_values, ['NA']);
    });

    it('readr challenge.csv: 1000 NA before the dates; the warning says date, and --null-value NA makes the column a date', async () => {
      const dry = await dryRunImport(db.settings, { ...defaults, source: real('readr_challenge.csv'), table: 'challenge' });
      assert.match(dry.warnings.join('\n'), /y: kept as text because of the placeholder "NA" \(1000 values\); the other values are date/);
      const r = await importFile(db.settings, { ...defaults, source: real('readr_challenge.csv'), table: 'challenge', nullValues: ['NA'] });
      assert.deepEqual(await columnsOf('challenge'), { x: 'numeric', y: 'date' });
      assert.equal(r.null_values_applied.y, 1000);
      assert.equal(r.rows_inserted + r.duplicates_found, 2000);
    });

    it('a per-column list in the mapping replaces the global one; [] reads nothing as NULL in that column', async () => {
      const mapping = files.write('nulls.json', JSON.stringify({ columns: { HDI: { null_values: ['NA'] }, literacy: { null_values: [] } } }));
      const r = await importFile(db.settings, { ...defaults, source: real('spdata_worldbank_df.csv'), table: 'worldbank_mapped', mappingFile: mapping });
      const cols = await columnsOf('worldbank_mapped');
      assert.equal(cols.hdi, 'numeric');
      assert.equal(cols.urban_pop, 'text');
      const withFlag = await importFile(db.settings, { ...defaults, source: real('spdata_worldbank_df.csv'), table: 'worldbank_mapped2', mappingFile: mapping, nullValues: ['NA'] });
      const cols2 = await columnsOf('worldbank_mapped2');
      assert.equal(cols2.urban_pop, 'integer');
      assert.equal(cols2.literacy, 'text');
      assert.equal(withFlag.null_values_applied.literacy, undefined);
      assert.ok(r.null_values_applied.hdi! > 0);
    });

    it('the config file\'s null_values apply when no --null-value is given; the flag replaces them', async () => {
      const settings = { ...db.settings, nullValues: ['NA'] };
      const r = await importFile(settings, { ...defaults, source: real('spdata_worldbank_df.csv'), table: 'worldbank_config' });
      assert.equal((await columnsOf('worldbank_config')).hdi, 'numeric');
      assert.ok(r.null_values_applied.hdi! > 0);
      const flagged = await importFile(settings, { ...defaults, source: real('spdata_worldbank_df.csv'), table: 'worldbank_flag', nullValues: ['-'] });
      assert.equal((await columnsOf('worldbank_flag')).hdi, 'text');
      assert.deepEqual(flagged.null_values_applied, {});
    });

    it('every format: CSV (as COPY text and as CSV bytes), NDJSON, JSON, XML and XLSX values become NULL before inference', async () => {
      // A CSV large enough that most of it goes to the server as its own bytes: batches holding a null value must not.
      const lines = ['i,n,d'];
      for (let i = 1; i <= 30_000; i++) lines.push(i % 997 === 0 ? `${i},NA,\\N` : `${i},${i},2024-01-${String((i % 28) + 1).padStart(2, '0')}`);
      const big = await importFile(db.settings, { ...defaults, source: files.write('big.csv', lines.join('\n') + '\n'), table: 'nulls_csv', nullValues: ['NA', '\\N'] });
      assert.deepEqual(await columnsOf('nulls_csv'), { i: 'integer', n: 'integer', d: 'date' });
      assert.deepEqual(big.null_values_applied, { n: 30, d: 30 });
      const [nulls] = await db.rows<{ n: number }>(`select count(*)::int as n from ${q('nulls_csv')} where n is null and d is null and _corrections_applied->'d'->>'before' = '\\N'`);
      assert.equal(nulls!.n, 30);

      const expect = async (table: string, r: ImportResult): Promise<void> => {
        assert.deepEqual(await columnsOf(table), { n: 'integer', d: 'date' }, table);
        assert.deepEqual(r.null_values_applied, { n: 1, d: 1 }, table);
        const rows = await db.rows<{ n: number | null; d: string | null; fix: unknown }>(`select n, d::text, _corrections_applied->'n' as fix from ${q(table)} order by _source_row_number`);
        assert.deepEqual(rows.map((x) => [x.n, x.d]), [[1, '2024-01-02'], [null, null], [3, '2024-01-04']], table);
        assert.deepEqual(rows[1]!.fix, { before: 'NA', after: null, correction_type: 'null_value' });
      };
      const records = [{ n: '1', d: '2024-01-02' }, { n: 'NA', d: '-' }, { n: '3', d: '2024-01-04' }];
      const options = { ...defaults, nullValues: ['NA', '-'] };
      await expect('nulls_ndjson', await importFile(db.settings, { ...options, source: files.write('n.ndjson', records.map((r) => JSON.stringify(r)).join('\n')), table: 'nulls_ndjson' }));
      await expect('nulls_json', await importFile(db.settings, { ...options, source: files.write('n.json', JSON.stringify(records)), table: 'nulls_json' }));
      const xml = `<rows>${records.map((r) => `<row><n>${r.n}</n><d>${r.d}</d></row>`).join('')}</rows>`;
      await expect('nulls_xml', await importFile(db.settings, { ...options, source: files.write('n.xml', xml), table: 'nulls_xml' }));
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet('data');
      ws.addRow(['n', 'd']);
      for (const r of records) ws.addRow([r.n === 'NA' ? 'NA' : Number(r.n), r.d]);
      const xlsx = files.write('n.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
      await expect('nulls_xlsx', await importFile(db.settings, { ...options, source: xlsx, table: 'nulls_xlsx' }));
    });

    it('a value of whitespace only, NULL in a typed column, is recorded as a value read as NULL, alone or beside other corrections, in a new and an existing table; in a text column it stays', async () => {
      const nulled = (before: string) => ({ before, after: null, correction_type: 'null_value' });
      const one = await importFile(db.settings, { ...defaults, source: files.write('blank1.csv', 'n,t\n1,a\n   ,  \n3,c\n'), table: 'blanks_one' });
      assert.deepEqual(await columnsOf('blanks_one'), { n: 'integer', t: 'text' });
      assert.equal(one.rows_inserted, 3);
      const many = await importFile(db.settings, { ...defaults, source: files.write('blank2.csv', 'n,d,t\n1,2024-01-02,a\n\t,  ,  \n 3 ,2024-01-04,c\n'), table: 'blanks_many' });
      assert.deepEqual(await columnsOf('blanks_many'), { n: 'integer', d: 'date', t: 'text' });
      assert.equal(many.rows_inserted, 3);
      const again = await importFile(db.settings, { ...defaults, source: files.write('blank3.csv', 'n,d,t\n4,2024-01-05,d\n  ,\t,e\n'), table: 'blanks_many' });
      assert.equal(again.rows_inserted, 2);
      const rows = await db.rows(`select n, t, _corrections_applied as fix from ${q('blanks_one')} order by _source_row_number`);
      assert.deepEqual(rows, [{ n: 1, t: 'a', fix: null }, { n: null, t: '  ', fix: { n: nulled('   ') } }, { n: 3, t: 'c', fix: null }]);
      const both = await db.rows(`select n, d::text, t, _corrections_applied as fix from ${q('blanks_many')} order by _import_id = $1, _source_row_number`, [again.import_id]);
      assert.deepEqual(both, [
        { n: 1, d: '2024-01-02', t: 'a', fix: null },
        { n: null, d: null, t: '  ', fix: { n: nulled('\t'), d: nulled('  ') } },
        { n: 3, d: '2024-01-04', t: 'c', fix: { n: { before: ' 3 ', after: 3, correction_type: 'type_coercion', target_type: 'INTEGER' } } },
        { n: 4, d: '2024-01-05', t: 'd', fix: null },
        { n: null, d: null, t: 'e', fix: { n: nulled('  '), d: nulled('\t') } },
      ]);
    });

    it('an empty null value is refused (empty fields are already NULL), from the flag, the mapping and the config', async () => {
      await assert.rejects(importFile(db.settings, { ...defaults, source: real('spdata_worldbank_df.csv'), table: 'x', nullValues: [' '] }), (err: unknown) => err instanceof UsageError && /--null-value has an empty value/.test(err.message));
      const mapping = files.write('empty-null.json', JSON.stringify({ columns: { HDI: { null_values: [''] } } }));
      await assert.rejects(importFile(db.settings, { ...defaults, source: real('spdata_worldbank_df.csv'), table: 'x', mappingFile: mapping }), /columns\["HDI"\]\.null_values has an empty value/);
    });
  });

  describe('5. leading zeros', () => {
    it('OurAirports: codes such as 00A are never called numbers with leading zeros, in any row order', async () => {
      for (const [table, source] of [
        ['airports', real('ourairports_head40.csv')],
        ['airports_reversed', files.write('airports_reversed.csv', reversedCsv(real('ourairports_head40.csv')))],
      ] as const) {
        const r = await dryRunImport(db.settings, { ...defaults, source, table });
        assert.deepEqual(r.warnings.filter((w) => /leading zero/.test(w)), [], table);
        const ident = r.columns.find((c) => c.target === 'ident')!;
        assert.equal(ident.type, 'text');
      }
    });

    it('codes with leading zeros into an existing integer column (country-json iso numeric, older then newer): the warning says they are read as integer, not "kept as text"', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('iso1.csv', 'country,iso\nA,4\nB,8\n'), table: 'iso_numeric' });
      const r = await importFile(db.settings, { ...defaults, source: files.write('iso2.csv', 'country,iso\nA,004\nB,008\nC,020\n'), table: 'iso_numeric', mode: 'upsert', key: ['country'] });
      assert.deepEqual(r.warnings.filter((w) => w.startsWith('iso:')), [
        "iso: not kept as text: the table's column iso is integer, so its values are read as integer (every value is digits and 3 have leading zeros (codes such as 004, whose zeros a number would lose)); those that change are recorded in _corrections_applied, those it cannot hold are mapping errors",
      ]);
      const [c] = await db.rows(`select iso, _corrections_applied -> 'iso' ->> 'before' as before from ${q('iso_numeric')} where country = 'C'`);
      assert.deepEqual(c, { iso: 20, before: '020' });
    });

    it('vega zipcodes: a column of digits some with leading zeros is text with the same warning in any row order', async () => {
      const notes: string[][] = [];
      for (const source of [real('vega_zipcodes_extract.csv'), files.write('zips_reversed.csv', reversedCsv(real('vega_zipcodes_extract.csv')))]) {
        const r = await dryRunImport(db.settings, { ...defaults, source, table: 'zipcodes' });
        assert.equal(r.columns.find((c) => c.target === 'zip_code')!.type, 'text');
        notes.push(r.warnings.filter((w) => w.startsWith('zip_code:')));
      }
      assert.deepEqual(notes[0], ['zip_code: kept as text: every value is digits and 20 have leading zeros (codes such as 00501, whose zeros a number would lose)']);
      assert.deepEqual(notes[1], notes[0]);
    });
  });

  describe('10. messages that say what happened', () => {
    it('3141999923 into an integer column: out of range for integer, and bigint holds it', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('i1.csv', csv([['n'], [1], [2]])), table: 'ints' });
      const r = await importFile(db.settings, { ...defaults, source: files.write('i2.csv', csv([['n'], [3], ['3141999923'], ['7.5']])), table: 'ints' });
      const errors = await db.rows<{ error_type: string; error_message: string }>(`select error_type, error_message from ${q('mapping_errors')} where import_id = $1 order by record_number`, [r.import_id]);
      assert.deepEqual(errors, [
        {
          error_type: 'numeric_overflow',
          error_message: `Value '3141999923' is out of range for integer (-2147483648 to 2147483647); bigint holds it ("type": "bigint" in a --mapping file, or for an existing table alter the column to bigint)`,
        },
        { error_type: 'type_mismatch', error_message: "Value '7.5' has a decimal point or an exponent, which integer does not take; numeric holds it" },
      ]);
    });

    it('spData worldbank_df HDI mapped to integer: every decimal is a type_mismatch that says why, not a numeric_overflow', async () => {
      const mapping = files.write('hdi-int.json', JSON.stringify({ columns: { HDI: { type: 'integer' } } }));
      const r = await importFile(db.settings, { ...defaults, source: real('spdata_worldbank_df.csv'), table: 'worldbank_int', mappingFile: mapping, nullValues: ['NA'] });
      assert.equal(r.status, 'partial');
      const types = await db.rows<{ error_type: string; n: number; message: string }>(
        `select error_type, count(*)::int as n, min(error_message) as message from ${q('mapping_errors')} where import_id = $1 group by 1`,
        [r.import_id],
      );
      assert.equal(types.length, 1);
      assert.equal(types[0]!.error_type, 'type_mismatch');
      assert.match(types[0]!.message, /^Value '0\.\d+' has a decimal point or an exponent, which integer does not take; numeric holds it$/);
    });

    it('each error type names its cause: numeric(5,2) overflow, text too long for varchar(n), a value missing from a NOT NULL column', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('c1.csv', csv([['amount', 'code', 'label'], ['1.5', 'ab', 'x']])), table: 'causes' });
      await db.client.query(`alter table ${q('causes')} alter column amount type numeric(5,2), alter column code type varchar(3), alter column label set not null`);
      const r = await importFile(db.settings, { ...defaults, source: files.write('c2.csv', csv([['amount', 'code', 'label'], ['12345.67', 'abcd', ''], ['2.5', 'ok', 'y']])), table: 'causes' });
      const errors = await db.rows<{ error_type: string; error_message: string }>(`select error_type, error_message from ${q('mapping_errors')} where import_id = $1 order by target_field`, [r.import_id]);
      assert.deepEqual(errors, [
        { error_type: 'numeric_overflow', error_message: "Value '12345.67' is out of range for numeric(5,2)" },
        { error_type: 'value_too_long', error_message: "Value 'abcd' does not fit character varying(3): PostgreSQL would store 'abc'" },
        { error_type: 'missing_required', error_message: 'Value is missing and column label is required' },
      ]);
    });

    it("a message shows the value as the file has it, not as an SQL literal, and says when it is cut", async () => {
      await importFile(db.settings, { ...defaults, source: files.write('m1.csv', csv([['k', 'amount'], ['a', '1.5']])), table: 'shown' });
      const long = '9'.repeat(150);
      const r = await importFile(db.settings, { ...defaults, source: files.write('m2.csv', csv([['k', 'amount'], ['b', 'C:\\temp\\x'], ['c', "it's"], ['d', `${long}x`], ['e', '2.5']])), table: 'shown' });
      const errors = await db.rows<{ m: string }>(`select error_message as m from ${q('mapping_errors')} where import_id = $1 order by record_number`, [r.import_id]);
      assert.deepEqual(errors.map((e) => e.m), [
        "Value 'C:\\temp\\x' is not a valid numeric",
        "Value 'it's' is not a valid numeric",
        `Value '${long.slice(0, 100)}…' is not a valid numeric`,
      ]);
    });

    it('times of day into an existing date column are mapping errors that say so, not cut to the date (vega-datasets\' hourly files after a daily one); midnight goes in', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('daily.csv', 'date,v\n2024-01-01,1\n2024-01-02,2\n'), table: 'days' });
      const hourly = files.write('hourly.csv', 'date,v\n2024-01-03T01:00:00,3\n2024-01-04T00:00:00,4\n2024/01/05 02:30,5\n2024-13-45 01:00,6\n');
      const r = await importFile(db.settings, { ...defaults, source: hourly, table: 'days' });
      assert.equal(r.status, 'partial');
      assert.equal(r.rows_inserted, 1);
      const errors = await db.rows(`select record_number, error_type, error_message from ${q('mapping_errors')} where import_id = $1 order by record_number`, [r.import_id]);
      assert.deepEqual(errors, [
        { record_number: 1, error_type: 'datetime_conversion', error_message: "Value '2024-01-03T01:00:00' has a time of day, which date would drop; timestamp holds it" },
        { record_number: 3, error_type: 'datetime_conversion', error_message: "Value '2024/01/05 02:30' has a time of day, which date would drop; timestamp holds it" },
        { record_number: 4, error_type: 'datetime_conversion', error_message: "Value '2024-13-45 01:00' is not a valid date" },
      ]);
      assert.deepEqual(await db.rows(`select date::text as d, v from ${q('days')} order by v`), [{ d: '2024-01-01', v: 1 }, { d: '2024-01-02', v: 2 }, { d: '2024-01-04', v: 4 }]);
    });

    it('a whole number written with decimals (1600.00, 1,600.00) goes into an existing integer column as itself, recorded, whatever the other values of its file; 1700.50 alone is refused', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('int1.csv', 'sku,price\na,1500.00\nb,2\n'), table: 'int_prices' });
      for (const [name, text] of [['int2.csv', 'sku,price\nc,1600.00\nd,1700.50\nf,1900\n'], ['int3.csv', 'sku,price\ne,"1,800.00"\nd,"1,700.50"\n']] as const) {
        const r = await importFile(db.settings, { ...defaults, source: files.write(name, text), table: 'int_prices' });
        assert.equal(r.status, 'partial');
        const errors = await db.rows(`select record_number, error_type, error_message from ${q('mapping_errors')} where import_id = $1 order by record_number`, [r.import_id]);
        const shown = name === 'int2.csv' ? '1700.50' : '1,700.50';
        assert.deepEqual(errors, [{ record_number: 2, error_type: 'type_mismatch', error_message: `Value '${shown}' has a decimal point or an exponent, which integer does not take; numeric holds it` }]);
      }
      const rows = await db.rows<{ sku: string; price: number; before: string | null }>(`select sku, price, _corrections_applied->'price'->>'before' as before from ${q('int_prices')} where sku > 'b' order by sku`);
      assert.deepEqual(rows, [{ sku: 'c', price: 1600, before: '1600.00' }, { sku: 'e', price: 1800, before: '1,800.00' }, { sku: 'f', price: 1900, before: null }]);
    });

    it('a date form atlas does not rewrite (3/1/13) reads month first into an existing date column, whatever DateStyle the server or role has', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('ds0.csv', 'day,v\n2024-01-31,1\n'), table: 'styled_days' });
      // A role or server set to day first, as in much of Europe (the test sets it on the connection).
      const url = new URL(db.settings.databaseUrl!);
      url.searchParams.set('options', '-c DateStyle=ISO,DMY');
      const dmy = { ...db.settings, databaseUrl: url.toString() };
      const r = await importFile(dmy, { ...defaults, source: files.write('ds2.csv', 'day,v\n3/1/13,5\n12/31/13,6\n'), table: 'styled_days' });
      assert.equal(r.status, 'success', JSON.stringify(r.warnings));
      assert.deepEqual(await db.rows(`select day::text as d, v from ${q('styled_days')} order by v`), [{ d: '2024-01-31', v: 1 }, { d: '2013-03-01', v: 5 }, { d: '2013-12-31', v: 6 }]);
    });

    it('a role set to DateStyle German and extra_float_digits -15 reads the same record: times in history, lineage, the exit-4 refusal and undo (they read as null), floats in lineage (0.1234567890123457 read as 0.1)', async () => {
      const path = files.write('gs.csv', 'k,f\n1,0.1234567890123457\n');
      const a = await importFile(db.settings, { ...defaults, source: path, table: 'german_style' });
      const url = new URL(db.settings.databaseUrl!);
      url.searchParams.set('options', '-c DateStyle=German -c extra_float_digits=-15');
      const german = { ...db.settings, databaseUrl: url.toString() };
      const when = (await getImport(db.settings, a.import_id)).import_timestamp;
      assert.equal((await getImport(german, a.import_id)).import_timestamp, when);
      assert.equal((await listHistory(german, { table: 'german_style', user: null, status: null, since: null, limit: 5, offset: 0 })).imports[0]!.import_timestamp, when);
      const row = await traceRow(german, 'german_style', 1);
      assert.deepEqual([row.import_timestamp, row.imported_at !== null, row.values.f], [when, true, 0.1234567890123457]);
      const again = await importFile(german, { ...defaults, source: path, table: 'german_style' }).catch((e: unknown) => e);
      assert.ok(again instanceof AlreadyImportedError, String(again));
      assert.equal(again.previousImportTimestamp, when);
      const undone = await undoImport(german, a.import_id, { dryRun: true, force: false, purge: false });
      assert.equal(undone.import_timestamp, when);
    });

    it('a timestamp written as PostgreSQL writes it in JSON (2026-03-05T11:00:00), among other forms into an existing timestamp column, is no correction (one said it went from itself to itself)', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('tt0.csv', 'at,v\n2026-01-01 10:00:00,0\n'), table: 'mixed_times' });
      await importFile(db.settings, { ...defaults, source: files.write('tt1.csv', 'at,v\n2026-03-05T11:00:00,1\n03/04/2026 10:00,2\n2026-03-06 12:00:00,3\n'), table: 'mixed_times' });
      const rows = await db.rows(`select v, _corrections_applied->'at'->>'before' as before, _corrections_applied->'at'->>'after' as after from ${q('mixed_times')} order by v`);
      assert.deepEqual(rows, [
        { v: 0, before: null, after: null },
        { v: 1, before: null, after: null },
        { v: 2, before: '03/04/2026 10:00', after: '2026-03-04T10:00:00' },
        { v: 3, before: null, after: null },
      ]);
    });

    it('a role set to standard_conforming_strings off, IntervalStyle sql_standard and bytea_output escape gets the values, corrections and undo any other gets (150 went into an integer column as 1, -1 2:00:00 read negative throughout, and undo put back another interval)', async () => {
      const odd = new URL(db.settings.databaseUrl!);
      odd.searchParams.set('options', '-c standard_conforming_strings=off -c IntervalStyle=sql_standard -c bytea_output=escape');
      const oddSettings = { ...db.settings, databaseUrl: odd.toString() };
      await importFile(db.settings, { ...defaults, source: files.write('sc0.csv', 'k,q\n0,7\n'), table: 'settings_t' });
      await db.client.query(`alter table ${q('settings_t')} add column iv interval, add column b bytea`);
      const r = await importFile(oddSettings, { ...defaults, source: files.write('sc1.csv', 'k,q,iv,b\n1,150,-1 2:00:00,\\x41ff\n2,2.0,1 mon,\n3,1050,,\n4,1600.00,,\n'), table: 'settings_t' });
      assert.equal(r.status, 'success', JSON.stringify(r.warnings));
      const stored = async (): Promise<unknown[]> => db.rows(`select k, q, iv::text as iv, b::text as b, _corrections_applied->'q'->>'after' as q_after from ${q('settings_t')} order by k`);
      assert.deepEqual(await stored(), [
        { k: 0, q: 7, iv: null, b: null, q_after: null },
        { k: 1, q: 150, iv: '-1 days +02:00:00', b: '\\x41ff', q_after: null },
        { k: 2, q: 2, iv: '1 mon', b: null, q_after: '2' },
        { k: 3, q: 1050, iv: null, b: null, q_after: null },
        { k: 4, q: 1600, iv: null, b: null, q_after: '1600' },
      ]);
      const before = await stored();
      // An upsert under those settings keeps pre-images that an undo under the server's own puts back exactly.
      const up = await importFile(oddSettings, { ...defaults, source: files.write('sc2.csv', 'k,q,iv\n1,151,-2 3:00:00\n'), table: 'settings_t', mode: 'upsert', key: ['k'] });
      assert.equal(up.rows_updated, 1);
      assert.deepEqual((await db.rows<{ iv: string }>(`select iv::text as iv from ${q('settings_t')} where k = 1`))[0]!.iv, '-2 days +03:00:00');
      await undoImport(db.settings, up.import_id, { dryRun: false, force: false, purge: false });
      assert.deepEqual(await stored(), before);
    });

    it('_imported_at is read back as the instant it was written when the importing role has another TimeZone than the reader (lineage put it 5.5 hours off)', async () => {
      const far = new URL(db.settings.databaseUrl!);
      far.searchParams.set('options', '-c TimeZone=Asia/Kolkata');
      const r = await importFile({ ...db.settings, databaseUrl: far.toString() }, { ...defaults, source: files.write('tzr.csv', 'k\n1\n'), table: 'zoned_rows' });
      const [h] = await db.rows<{ at: Date; zone: string }>(`select import_timestamp as at, metadata->>'time_zone' as zone from ${q('import_history')} where import_id = $1`, [r.import_id]);
      assert.equal(h!.zone, 'Asia/Kolkata');
      const [row] = await db.rows<{ id: string }>(`select id::text as id from ${q('zoned_rows')}`);
      const traced = await traceRow(db.settings, 'zoned_rows', row!.id);
      const apart = Math.abs(new Date(traced.imported_at!).getTime() - h!.at.getTime());
      assert.ok(apart < 60_000, `imported_at ${traced.imported_at} and import_timestamp ${h!.at.toISOString()} are ${apart} ms apart`);
    });

    it('undo --reassign gives a row to an import that has none of its own with _imported_at in that import\'s TimeZone, not the undoing session\'s', async () => {
      const zoned = (zone: string): typeof db.settings => {
        const url = new URL(db.settings.databaseUrl!);
        url.searchParams.set('options', `-c TimeZone=${zone}`);
        return { ...db.settings, databaseUrl: url.toString() };
      };
      const a = await importFile(db.settings, { ...defaults, source: files.write('rz_a.csv', 'k\n1\n'), table: 'zoned_reassign' });
      // Its one record a duplicate of a's row: it inserts nothing, and keeps the record it skipped.
      const b = await importFile(zoned('Asia/Kolkata'), { ...defaults, source: files.write('rz_b.csv', 'k\r\n1\r\n'), table: 'zoned_reassign' });
      assert.equal(b.duplicates_found, 1);
      await undoImport(zoned('America/New_York'), a.import_id, { dryRun: false, force: false, purge: false, reassign: true });
      const [row] = await db.rows<{ owner: string; same: boolean }>(
        `select t._import_id::text as owner, t._imported_at = (h.import_timestamp at time zone 'Asia/Kolkata') as same
           from ${q('zoned_reassign')} t join ${q('import_history')} h on h.import_id = t._import_id`,
      );
      assert.deepEqual(row, { owner: b.import_id, same: true });
    });

    it('a semicolon-separated file whose number column writes 1.500 (thousands grouped with a dot, where the comma is the decimal mark): read as 1.5, as the dot says everywhere, but said, with the mapping that reads it as 1500', async () => {
      const text = 'Datum;Betrag;Menge\n01.02.2023;1.234,56;1.500\n02.02.2023;99,00;2.000\n03.02.2023;5,00;750\n';
      const plain = await importFile(db.settings, { ...defaults, source: files.write('td.csv', text), table: 'thousands_dot' });
      const note = plain.warnings.find((w) => w.startsWith('menge: '));
      assert.equal(note, 'menge: 1.500 and the column\'s other numbers with a dot are read with the dot as the decimal point (1.500 is 1.5); the file is separated by semicolons, as files that write 1.500 for 1500 are: if the dot groups thousands here, import it with --mapping FILE holding {"columns": {"Menge": {"type": "numeric", "format": "1.234,56"}}}');
      const mapping = files.write('td-map.json', JSON.stringify({ columns: { Menge: { type: 'numeric', format: '1.234,56' } } }));
      const mapped = await importFile(db.settings, { ...defaults, source: files.write('td2.csv', text), table: 'thousands_mapped', mappingFile: mapping });
      assert.equal(mapped.warnings.find((w) => w.startsWith('menge: ')), undefined);
      assert.deepEqual(await db.rows(`select menge::text as m from ${q('thousands_mapped')} order by id`), [{ m: '1500' }, { m: '2000' }, { m: '750' }]);
      // Separated by commas, a dot is a decimal point without a doubt worth a word.
      const commas = await importFile(db.settings, { ...defaults, source: files.write('td3.csv', 'a,menge\nx,1.500\ny,750\n'), table: 'thousands_commas' });
      assert.equal(commas.warnings.find((w) => w.startsWith('menge: ')), undefined);
    });

    it('dates written in more than one form go into an existing date column with their day/month-first ones read in the order the column shows, as a column of one form is, and the warning says which (PostgreSQL read 03/04/2026 as March 4 beside 13/04/2026)', async () => {
      await importFile(db.settings, { ...defaults, source: files.write('mx0.csv', 'day,v\n2026-01-31,0\n'), table: 'mixed_days' });
      const dayFirst = await importFile(db.settings, { ...defaults, source: files.write('mx1.csv', 'day,v\n03/04/2026,1\n2026-03-05,2\n13/04/2026,3\n'), table: 'mixed_days' });
      assert.equal(dayFirst.status, 'success', JSON.stringify(dayFirst.warnings));
      assert.ok(dayFirst.warnings.some((w) => w.includes('its slashed dates are read DD/MM/YYYY: 13/04/2026 puts the day first')), JSON.stringify(dayFirst.warnings));
      // Dots read day first when nothing settles it, as a column of dotted dates alone is (PostgreSQL reads them month first).
      const dotted = await importFile(db.settings, { ...defaults, source: files.write('mx2.csv', 'day,v\n03.04.2026,4\n2026-03-06,5\n'), table: 'mixed_days' });
      assert.ok(dotted.warnings.some((w) => w.includes('its dotted dates are read DD.MM.YYYY: no value settles the day/month order, such as 03.04.2026')), JSON.stringify(dotted.warnings));
      // Day first in some, month first in others: nothing to go by, PostgreSQL's month first, and said.
      const both = await importFile(db.settings, { ...defaults, source: files.write('mx3.csv', 'day,v\n13/04/2026,6\n04/14/2026,7\n2026-03-07,8\n'), table: 'mixed_days' });
      assert.equal(both.status, 'partial');
      assert.ok(both.warnings.some((w) => w.includes('slashed dates put the day first in some and the month first in others')), JSON.stringify(both.warnings));
      const rows = await db.rows(
        `select v, day::text as d, _corrections_applied->'day'->>'before' as before, _corrections_applied->'day'->>'correction_type' as type, _corrections_applied->'day'->>'source_format' as form from ${q('mixed_days')} order by v`,
      );
      // Each value's correction in the spec's shape for a date, with the form it was read in (not type_coercion).
      const fix = (before: string, form: string) => ({ before, type: 'datetime_standardization', form });
      const none = { before: null, type: null, form: null };
      assert.deepEqual(rows, [
        { v: 0, d: '2026-01-31', ...none },
        { v: 1, d: '2026-04-03', ...fix('03/04/2026', '%d/%m/%Y') },
        { v: 2, d: '2026-03-05', ...none },
        { v: 3, d: '2026-04-13', ...fix('13/04/2026', '%d/%m/%Y') },
        { v: 4, d: '2026-04-03', ...fix('03.04.2026', '%d.%m.%Y') },
        { v: 5, d: '2026-03-06', ...none },
        { v: 7, d: '2026-04-14', ...fix('04/14/2026', '%m/%d/%Y') },
        { v: 8, d: '2026-03-07', ...none },
      ]);
      // Into a new table the column stays text, and the note says why and how a date column would read it.
      const fresh = await importFile(db.settings, { ...defaults, source: files.write('mx4.csv', 'day,v\n03/04/2026,1\n2026-03-05,2\n'), table: 'mixed_text' });
      assert.ok(fresh.warnings.some((w) => w === 'day: kept as text: its dates are written in more than one form: 2026-03-05, 03/04/2026; into a date or timestamp column its slashed dates are read MM/DD/YYYY: no value settles the day/month order, such as 03/04/2026'), JSON.stringify(fresh.warnings));
    });

    it('a time without a zone read into timestamptz (beside zoned ones, or into an existing column) is recorded with the zone it was given', async () => {
      const r = await importFile(db.settings, { ...defaults, source: files.write('tz1.csv', 'at,v\n2024-01-01T10:00:00Z,1\n2024-01-02 11:00:00,2\n'), table: 'zoned' });
      await importFile(db.settings, { ...defaults, source: files.write('tz2.csv', 'at,v\n2024-01-03 12:00:00,3\n'), table: 'zoned' });
      const rows = await db.rows<{ v: number; before: string | null; after: string | null }>(`select v, _corrections_applied->'at'->>'before' as before, _corrections_applied->'at'->>'after' as after from ${q('zoned')} order by v`);
      assert.deepEqual(rows.map((x) => [x.v, x.before]), [[1, null], [2, '2024-01-02 11:00:00'], [3, '2024-01-03 12:00:00']], r.import_id);
      assert.ok(rows.slice(1).every((x) => /[+-]\d{2}:\d{2}$/.test(x.after ?? '')), 'after names the zone');
    });

    it('lineage --row says what _source_row_number counts in each format', async () => {
      const meaning = async (table: string, source: string, extra: Partial<ImportOptions> = {}): Promise<[number | null, string]> => {
        await importFile(db.settings, { ...defaults, source, table, ...extra });
        const [row] = await db.rows<{ id: number }>(`select id from ${q(table)} order by id desc limit 1`);
        const t = await traceRow(db.settings, table, row!.id);
        return [t.source_row_number, t.source_row_meaning];
      };
      assert.deepEqual(await meaning('rn_csv', files.write('rn.csv', 'a\n1\n\n2\n')), [2, 'CSV data record number, 1 = the first record after the header (blank lines not counted)']);
      assert.deepEqual(await meaning('rn_csv_bare', files.write('rn2.csv', '1\n2\n'), { header: false }), [2, 'CSV record number, 1 = the first record (blank lines not counted)']);
      assert.deepEqual(await meaning('rn_ndjson', files.write('rn.ndjson', '{"a":1}\n\n{"a":2}\n')), [2, 'NDJSON record number, 1 = the first line holding a record (blank lines not counted)']);
      assert.deepEqual(await meaning('rn_json', files.write('rn.json', '{"data":{"items":[{"a":1},{"a":2}]}}'), { recordPath: 'data.items' }), [2, 'element number in the array at data.items, 1 = the first']);
      assert.deepEqual(await meaning('rn_xml', files.write('rn.xml', '<r><item a="1"/><item a="2"/></r>')), [2, 'number of the <item> element among the records, 1 = the first']);
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet('Quakes');
      ws.addRow(['Earthquakes, 2024']);
      ws.addRow([]);
      ws.addRow(['a', 'b']);
      ws.addRow([1, 'x']);
      ws.addRow([2, 'y']);
      const xlsx = files.write('rn.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
      assert.deepEqual(await meaning('rn_xlsx', xlsx), [5, 'row number in sheet Quakes, as the spreadsheet shows it']);
    });

    it('an empty JSON array and a header-only CSV create nothing and fail, saying there was nothing to import', async () => {
      const header = readFileSync(real('spdata_worldbank_df.csv'), 'utf8').split('\n')[0]!;
      for (const [table, source, what] of [
        ['empty_csv', files.write('header_only.csv', `${header}\n`), 'a header but no data rows'],
        ['empty_json', files.write('empty.json', '[]'), 'no records'],
      ] as const) {
        const id = await failing({ ...defaults, source, table }, new RegExp(`nothing to import: the file has ${what}; no table was created or changed`));
        const h = await historyOf(id);
        assert.equal(h.status, 'failed');
        assert.equal(h.mapping_status, 'failed');
        assert.equal(await tableExists(table), false);
      }
    });
  });
});
