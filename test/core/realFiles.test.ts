/**
 * Files other people published (test/fixtures/real/README.md names each one's source and
 * licence), imported as a new user would: nothing lost, nothing misleading.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { dryRunImport, importFile, type ImportOptions } from '../../src/core/import.ts';
import { AlreadyImportedError, AtlasError, ImportFailedError, UsageError } from '../../src/errors.ts';
import { makeZip } from '../formats/readerHelpers.ts';
import { FIXTURES, tempDir, useTestDb } from '../helpers.ts';

const REAL = join(FIXTURES, 'real');

describe('real files', () => {
  const db = useTestDb();
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

  it('readxl datasets.xlsx: the same sheet asked for another way (by name, by number, or not at all) is the same file, refused with exit 4 (it was imported again, every row a duplicate)', async () => {
    const first = await run('datasets.xlsx', { table: 'same_sheet' });
    for (const sheet of ['iris', '1', '#1']) {
      const again = await run('datasets.xlsx', { sheet, table: 'same_sheet' }).catch((e: unknown) => e);
      assert.ok(again instanceof AlreadyImportedError, `--sheet ${sheet}: ${String(again)}`);
      assert.equal(again.previousImportId, first.import_id);
    }
    // Another sheet into the same table is other data.
    assert.equal((await run('datasets.xlsx', { sheet: 'mtcars', table: 'same_sheet_2' })).status, 'success');
    assert.ok((await run('datasets.xlsx', { sheet: '#2', table: 'same_sheet_2' }).catch((e: unknown) => e)) instanceof AlreadyImportedError);
  });

  it("sheets whose names leave nothing in a table name (readxl's utf8-sheet-names.xlsx: ∂) go to a table named after their position, not into the first sheet's table", async () => {
    const files = tempDir();
    try {
      const wb = new ExcelJS.Workbook();
      wb.addWorksheet('µ').addRows([['a'], [1]]);
      wb.addWorksheet('∂').addRows([['a'], [2]]);
      const path = files.write('utf8-sheet-names.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
      const importOf = (sheet?: string) => importFile(db.settings, { table: null, source: path, ...(sheet === undefined ? {} : { sheet }) });
      assert.deepEqual([(await importOf()).table_name, (await importOf('µ')).table_name, (await importOf('#2')).table_name], ['utf8_sheet_names', 'utf8_sheet_names_µ', 'utf8_sheet_names_sheet_2']);
      assert.deepEqual(await db.rows(`select a from ${db.schema}.utf8_sheet_names_sheet_2`), [{ a: 2 }]);
    } finally {
      files.cleanup();
    }
  });

  it('vega seattle-weather.csv: its 2012/01/01 dates are a date column without any mapping, each value\'s text kept as a correction', async () => {
    const r = await run('vega_seattle_weather_head20.csv', { table: 'seattle' });
    assert.deepEqual([r.status, r.rows_inserted, r.columns.find((c) => c.target === 'date')?.type], ['success', 20, 'date']);
    const rows = await db.rows<{ d: string; c: unknown }>(`select date::text as d, _corrections_applied->'date' as c from ${db.schema}.seattle order by _source_row_number limit 2`);
    assert.deepEqual(rows, [
      { d: '2012-01-01', c: { before: '2012/01/01', after: '2012-01-01', correction_type: 'datetime_standardization', source_format: '%Y/%m/%d' } },
      { d: '2012-01-02', c: { before: '2012/01/02', after: '2012-01-02', correction_type: 'datetime_standardization', source_format: '%Y/%m/%d' } },
    ]);
  });

  it('readxl datasets.xlsx: sheets of one workbook loaded into one table are each imported once, not refused as the same file', async () => {
    const mtcars = await run('datasets.xlsx', { sheet: '2', table: 'all_sheets' });
    const chickwts = await run('datasets.xlsx', { sheet: 'chickwts', table: 'all_sheets' });
    assert.equal(chickwts.status, 'success');
    assert.notEqual(chickwts.import_id, mtcars.import_id);
    const again = await run('datasets.xlsx', { sheet: 'chickwts', table: 'all_sheets' }).catch((e: unknown) => e);
    assert.ok(again instanceof AlreadyImportedError, String(again));
    assert.equal(again.previousImportId, chickwts.import_id);
  });

  it('readxl datasets.xlsx written again by Python\'s ElementTree (ns0:, ns1: prefixes on every part): read as the original', async () => {
    for (const [sheet, rows] of [['quakes', 1000], ['2', 32], [undefined, 150]] as const) {
      const original = await dryRunImport(db.settings, { table: null, source: join(REAL, 'datasets.xlsx'), ...(sheet ? { sheet } : {}) });
      const prefixed = await run('datasets-etree.xlsx', sheet ? { sheet } : {});
      assert.equal(prefixed.total_rows_in_file, rows);
      assert.equal(prefixed.table_name, original.table_name.replace(/^datasets/, 'datasets_etree'));
      const shape = (cs: ReadonlyArray<{ source: string; target: string; type: string }>) => cs.map((c) => `${c.source} ${c.target} ${c.type}`);
      assert.deepEqual(shape(prefixed.columns), shape(original.columns));
      assert.equal(original.total_rows_in_file, rows);
    }
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

  it('xlsx-populate ranges out.xlsx: formulas written without calculated values are NULL with each formula recorded, one warning naming the fix, counted in the history; mapping errors under --strict', async () => {
    const result = await run('xlsx-populate-ranges-out.xlsx', { table: 'uncalculated' });
    assert.equal(result.status, 'success');
    assert.equal(result.rows_inserted, 11);
    assert.deepEqual(result.warnings.filter((w) => w.includes('formula')), [
      "ctr: 11 formula cell(s) without a calculated value (the file holds the formula alone, the first =B3/C3) stored as NULL; each cell's formula is in its row's _corrections_applied; open the workbook in a spreadsheet program (Excel, LibreOffice) and save it, so that their values are calculated, then import it again",
    ]);
    const rows = await db.rows(`select _source_row_number as n, ctr, _corrections_applied -> 'ctr' as fix from ${db.schema}.uncalculated where _source_row_number in (3, 13) order by 1`);
    assert.deepEqual(rows, [
      { n: 3, ctr: null, fix: { before: '=B3/C3', after: null, correction_type: 'formula_not_calculated' } },
      { n: 13, ctr: null, fix: { before: '=B13/C13', after: null, correction_type: 'formula_not_calculated' } },
    ]);
    const [history] = await db.rows<{ m: unknown }>(`select metadata -> 'formulas_not_calculated' as m from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
    assert.deepEqual(history?.m, { ctr: 11 });
    const err = await run('xlsx-populate-ranges-out.xlsx', { table: 'uncalculated_strict', strict: true }).catch((e: unknown) => e);
    assert.ok(err instanceof ImportFailedError, String(err));
    const errors = await db.rows(`select record_number, target_field, error_type, source_value from ${db.schema}.mapping_errors where import_id = $1 order by record_number limit 2`, [err.importId]);
    assert.deepEqual(errors, [
      { record_number: 3, target_field: 'ctr', error_type: 'formula_not_calculated', source_value: '=B3/C3' },
      { record_number: 4, target_field: 'ctr', error_type: 'formula_not_calculated', source_value: '=B4/C4' },
    ]);
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

  it('vroom mtcars.csv.zip: a zip of one CSV is imported as that CSV, the hash of the zip recorded and the entry named', async () => {
    const zipped = await run('mtcars.csv.zip');
    const plain = await run('mtcars.csv', { table: 'mtcars_plain' });
    assert.equal(zipped.table_name, 'mtcars');
    assert.equal(zipped.rows_inserted, 32);
    assert.deepEqual(zipped.columns, plain.columns);
    assert.equal(zipped.file_hash, createHash('sha256').update(readFileSync(join(REAL, 'mtcars.csv.zip'))).digest('hex'));
    const [history] = await db.rows(`select file_type, metadata ->> 'zip_entry' as entry from ${db.schema}.import_history where import_id = $1`, [zipped.import_id]);
    assert.deepEqual(history, { file_type: 'csv', entry: 'mtcars.csv' });
    const [diff] = await db.rows<{ n: number }>(
      `select count(*)::int as n from ((select model, mpg, cyl from ${db.schema}.mtcars except all select model, mpg, cyl from ${db.schema}.mtcars_plain)
        union all (select model, mpg, cyl from ${db.schema}.mtcars_plain except all select model, mpg, cyl from ${db.schema}.mtcars)) d`,
    );
    assert.equal(diff?.n, 0);
  });

  it('vroom mtcars.csv.bz2 and .xz: one line naming the compression and a command that works', async () => {
    for (const [file, command] of [
      ['mtcars.csv.bz2', 'bzip2 -dc mtcars.csv.bz2'],
      ['mtcars.csv.xz', 'xz -dc mtcars.csv.xz'],
    ] as const) {
      const err = await dryRunImport(db.settings, { table: null, source: join(REAL, file) }).catch((e: unknown) => e);
      assert.ok(err instanceof AtlasError);
      const kind = file.endsWith('bz2') ? 'bzip2' : 'xz';
      assert.equal(err.message, `${file} is ${kind}-compressed, which atlas does not read; decompress it on the way in: ${command} | atlas import - --table mtcars --name mtcars.csv`);
      assert.equal(err.hint, null);
    }
    // Known by its first bytes too: from stdin, without a name.
    const err = await dryRunImport(db.settings, { table: 'piped', source: '-', stdin: Readable.from([readFileSync(join(REAL, 'mtcars.csv.bz2'))]) }).catch((e: unknown) => e);
    assert.match(String(err), /the input is bzip2-compressed, which atlas does not read; decompress it on the way in: \.\.\. \| bzip2 -dc \| atlas import - --table piped$/);
  });

  it('a tar archive (gzipped or not), an empty zip, a non-zip named .zip and a gzipped file in a zip: one line saying what it is, with a command that works', async () => {
    const files = tempDir();
    try {
      const csv = readFileSync(join(REAL, 'mtcars.csv'));
      const tar = makeTar('cars/mtcars.csv', csv);
      const refusal = async (source: string, options: Partial<ImportOptions> = {}): Promise<string> => {
        const err = await dryRunImport(db.settings, { table: null, ...options, source }).catch((e: unknown) => e);
        assert.ok(err instanceof AtlasError, String(err));
        return err.hint === null ? err.message : `${err.message} (${err.hint})`;
      };
      for (const [name, bytes] of [['cars.tar', tar], ['cars.tar.gz', gzipSync(tar)]] as const) {
        assert.equal(await refusal(files.write(name, bytes)), `${name} is a tar archive, which atlas does not read; write the file you mean to stdout on the way in: tar -xOf ${name} cars/mtcars.csv | atlas import - --table mtcars --name mtcars.csv`);
      }
      assert.equal(
        await refusal('-', { table: 'piped', stdin: Readable.from([gzipSync(tar)]) }),
        'the input is a tar archive, which atlas does not read; write the file you mean to stdout on the way in: ... | tar -xzO cars/mtcars.csv | atlas import - --table piped --name mtcars.csv',
      );
      const emptyZip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]);
      assert.equal(await refusal(files.write('empty.zip', emptyZip)), 'empty.zip is an empty zip archive: nothing to import');
      assert.equal(await refusal(files.write('page.zip', 'Not Found\n')), "page.zip is not a zip archive (its first bytes are not a zip's) (if it is a data file of another kind, pass --format csv|tsv|xlsx|json|ndjson|xml)");
      const gzEntry = files.write('gz.zip', makeZip([{ name: 'mtcars.csv.gz', data: gzipSync(csv) }]));
      assert.equal(
        await refusal(gzEntry, { entry: 'mtcars.csv.gz' }),
        `mtcars.csv.gz in gz.zip is gzip-compressed, and a compressed file inside a zip is not read; extract it on the way in: unzip -p gz.zip mtcars.csv.gz | atlas import - --table mtcars --name mtcars.csv.gz`,
      );
    } finally {
      files.cleanup();
    }
  });

  it('a zip of several CSVs (vroom mtcars-4/6/8.csv): refused naming them all, unless --entry picks one; it goes to a table of its own', async () => {
    const files = tempDir();
    try {
      const entries = ['mtcars-4.csv', 'mtcars-6.csv', 'mtcars-8.csv'].map((name) => ({ name: `cars/${name}`, data: readFileSync(join(REAL, name)) }));
      // What zip tools add beside the data: a folder, macOS metadata, a readme; none of them is a data file.
      const zip = makeZip([{ name: 'cars/', data: '' }, { name: '__MACOSX/cars/._mtcars-4.csv', data: 'x' }, { name: 'cars/README.txt', data: 'By cylinders.' }, ...entries]);
      const path = files.write('cars.zip', zip);
      const several = await importFile(db.settings, { table: null, source: path }).catch((e: unknown) => e);
      assert.ok(several instanceof ImportFailedError, String(several));
      assert.match(several.message, /the zip archive holds 3 data files \(cars\/mtcars-4\.csv, cars\/mtcars-6\.csv, cars\/mtcars-8\.csv\): atlas does not guess which one to import$/);
      assert.equal(several.hint, 'name it with --entry, e.g. --entry "cars/mtcars-6.csv"');
      const [table] = await db.rows(`select to_regclass($1) as t`, [`${db.schema}.cars`]);
      assert.deepEqual(table, { t: null });

      const six = await importFile(db.settings, { table: null, source: path, entry: 'mtcars-6.csv' });
      assert.equal(six.table_name, 'cars_mtcars_6');
      assert.equal(six.rows_inserted, readFileSync(join(REAL, 'mtcars-6.csv'), 'utf8').trim().split('\n').length - 1);
      const eight = await importFile(db.settings, { table: null, source: path, entry: 'cars/mtcars-8.csv' });
      assert.equal(eight.table_name, 'cars_mtcars_8');

      const missing = await importFile(db.settings, { table: null, source: path, entry: 'mtcars-5.csv' }).catch((e: unknown) => e);
      assert.ok(missing instanceof UsageError);
      assert.equal(missing.message, 'the zip archive has no entry named "mtcars-5.csv": it holds __MACOSX/cars/._mtcars-4.csv, cars/README.txt, cars/mtcars-4.csv, cars/mtcars-6.csv, cars/mtcars-8.csv');
    } finally {
      files.cleanup();
    }
  });

  it('by content, a zip is a workbook only when it has a workbook part: a downloaded zip of a CSV without extension is read as the CSV', async () => {
    const files = tempDir();
    try {
      const zip = await importFile(db.settings, { table: 'download', source: files.write('download', readFileSync(join(REAL, 'mtcars.csv.zip'))) });
      assert.equal(zip.rows_inserted, 32);
      const workbook = await importFile(db.settings, { table: 'workbook', source: files.write('workbook', readFileSync(join(REAL, 'datasets.xlsx'))) });
      assert.equal(workbook.total_rows_in_file, 150);
      // Named by --format: the entry is read as that format.
      const forced = await importFile(db.settings, { table: 'forced', format: 'csv', source: join(REAL, 'mtcars.csv.zip') });
      assert.equal(forced.rows_inserted, 32);
      const notZip = await importFile(db.settings, { table: 'x', source: join(REAL, 'mtcars.csv'), entry: 'a.csv' }).catch((e: unknown) => e);
      assert.ok(notZip instanceof UsageError);
      assert.equal(notZip.message, '--entry names a file inside a .zip archive, and this input is not one');
    } finally {
      files.cleanup();
    }
  });

  it('readxl deaths.xlsx: notes below the data are kept as rows with a warning naming --range, which reads the table alone, typed', async () => {
    const all = await run('deaths.xlsx', { table: 'deaths_all' });
    assert.equal(all.rows_inserted, 14); // sheet rows 6-19: ten people and four rows of notes, none dropped
    assert.ok(
      all.warnings.includes(
        'sheet "arts" ends in 4 row(s) (sheet rows 16-19) filling only one or two cells of a table whose other rows are well filled: notes below the data? They were imported as rows; to read the table alone, pass --range A5:F15',
      ),
      all.warnings.join('\n'),
    );
    const table = await run('deaths.xlsx', { range: 'A5:F15' });
    assert.equal(table.table_name, 'deaths');
    assert.equal(table.rows_inserted, 10);
    assert.deepEqual(table.warnings, []);
    assert.deepEqual(
      table.columns.map((c) => `${c.target} ${c.type}`),
      ['name text', 'profession text', 'age integer', 'has_kids boolean', 'date_of_birth date', 'date_of_death date'],
    );
    const [bowie] = await db.rows(`select _source_row_number as n, age, has_kids, date_of_birth::text as born from ${db.schema}.deaths where name = 'David Bowie'`);
    assert.deepEqual(bowie, { n: 6, age: 69, has_kids: true, born: '1947-01-08' });
    const [history] = await db.rows(`select metadata ->> 'range' as range, metadata ->> 'header_row' as header_row from ${db.schema}.import_history where import_id = $1`, [table.import_id]);
    assert.deepEqual(history, { range: 'A5:F15', header_row: '5' });
    // The other sheet, the same way, into a table of its own.
    const other = await run('deaths.xlsx', { sheet: 'other', range: 'A5:F15' });
    assert.equal(other.table_name, 'deaths_other');
    assert.equal(other.rows_inserted, 10);
  });

  it('readxl deaths.xlsx: rows above a header found below them are said skipped, with the row taken and how to choose another, and counted in the history', async () => {
    const result = await run('deaths.xlsx', { table: 'deaths_header' });
    const said = result.warnings.filter((w) => w.includes('taken as the header'));
    assert.deepEqual(said, [
      'sheet "arts": row 5 was taken as the header, and the 4 row(s) with values above it (sheet rows 1-4: titles, notes?) were skipped; to take another row as the header, pass --header-row N (its row number in the sheet), or give the block to read with --range (e.g. --range A5:F)',
    ]);
    const [history] = await db.rows(`select metadata -> 'rows_above_header_skipped' as skipped, metadata -> 'header_row' as header_row from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
    assert.deepEqual(history, { skipped: 4, header_row: 5 });
    // Chosen by the user, nothing is said: --header-row and --range name the header themselves.
    for (const options of [{ headerRow: 5, table: 'deaths_chosen' }, { range: 'A5:F15', table: 'deaths_ranged' }]) {
      const chosen = await run('deaths.xlsx', options);
      assert.deepEqual(chosen.warnings.filter((w) => w.includes('taken as the header')), [], options.table);
      const [meta] = await db.rows(`select metadata ? 'rows_above_header_skipped' as has from ${db.schema}.import_history where import_id = $1`, [chosen.import_id]);
      assert.deepEqual(meta, { has: false });
    }
  });

  it('generated XLSX: a title, a blank row, then the header: one row said skipped; a header in row 1: nothing said', async () => {
    const files = tempDir();
    try {
      const workbook = async (rows: unknown[][]): Promise<string> => {
        const wb = new ExcelJS.Workbook();
        const ws = wb.addWorksheet('Export');
        for (const row of rows) ws.addRow(row);
        return files.write(`t${rows.length}.xlsx`, Buffer.from(await wb.xlsx.writeBuffer()));
      };
      const data = [['code', 'name', 'amount'], [1, 'Ann', 2.5], [2, 'Bob', 3]];
      const titled = await importFile(db.settings, { table: 'titled', source: await workbook([['Export of March'], [], ...data]) });
      assert.equal(titled.rows_inserted, 2);
      assert.deepEqual(titled.warnings.filter((w) => w.includes('taken as the header')), [
        'sheet "Export": row 3 was taken as the header, and the 1 row(s) with values above it (sheet row 1: titles, notes?) were skipped; to take another row as the header, pass --header-row N (its row number in the sheet), or give the block to read with --range (e.g. --range A3:C)',
      ]);
      const [meta] = await db.rows(`select metadata -> 'rows_above_header_skipped' as skipped from ${db.schema}.import_history where import_id = $1`, [titled.import_id]);
      assert.deepEqual(meta, { skipped: 1 });
      const plain = await importFile(db.settings, { table: 'untitled', source: await workbook(data) });
      assert.deepEqual(plain.warnings, []);
      const [none] = await db.rows(`select metadata ? 'rows_above_header_skipped' as has from ${db.schema}.import_history where import_id = $1`, [plain.import_id]);
      assert.deepEqual(none, { has: false });
    } finally {
      files.cleanup();
    }
  });

  it('XLSX header found on a guess never skips data: a pivot table beside the data (openxlsx loadExample.xlsx), a sheet of numbers without a header, --no-header, a header one cell narrower than the data (openxlsx read_failure_test.xlsx)', async () => {
    const files = tempDir();
    try {
      const workbook = async (name: string, rows: Array<Array<unknown>>): Promise<string> => {
        const wb = new ExcelJS.Workbook();
        const ws = wb.addWorksheet('S');
        rows.forEach((row, r) => row.forEach((v, c) => v !== undefined && (ws.getCell(r + 1, c + 1).value = v as ExcelJS.CellValue)));
        return files.write(name, Buffer.from(await wb.xlsx.writeBuffer()));
      };
      // Data in A:E under its header; a pivot table from G2, wider than the header, starting on the first data row.
      const iris = [
        ['Sepal Length', 'Sepal Width', 'Petal Length', 'Petal Width', 'Species'],
        [6.4, 2.7, 5.3, 1.9, 'virginica', undefined, 'Row Labels', 'Sum of Sepal Length', 'Sum of Sepal Width', 'Sum of Petal Length'],
        [4.4, 3, 1.3, 0.2, 'setosa', undefined, 'setosa', 95.5, 67.2, 27.3],
        [6, 2.2, 5, 1.5, 'virginica', undefined, 'virginica', 117, 51.5, 97.7],
        [6.9, 3.1, 4.9, 1.5, 'versicolor'],
      ];
      const pivot = await importFile(db.settings, { table: 'pivot', source: await workbook('pivot.xlsx', iris) });
      assert.equal(pivot.rows_inserted, 4);
      assert.deepEqual(pivot.columns.slice(0, 5).map((c) => c.target), ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species']);
      assert.deepEqual(pivot.warnings.filter((w) => w.includes('taken as the header')), []);
      // Numbers only: no row is a header; the first is taken (its values name the columns), none skipped, and said.
      const numbers = [[1, 2.5, 3], [4, 5.5, 6], [7, 8.5, 9]];
      const guessed = await importFile(db.settings, { table: 'numbers', source: await workbook('numbers.xlsx', numbers) });
      assert.equal(guessed.rows_inserted, 2);
      assert.deepEqual(guessed.warnings.filter((w) => w.includes('taken as the header')), [
        'sheet "S": row 1, taken as the header for want of a row of text, holds numbers (1, 2.5, 3) that name columns and are not imported as data; ' +
          'if that row is data, pass --no-header (columns column_1, column_2, ...), or give the header with --header-row N',
      ]);
      // --no-header without --range: every row is data.
      const all = await importFile(db.settings, { table: 'numbers_all', source: await workbook('numbers2.xlsx', numbers), header: false });
      assert.equal(all.rows_inserted, 3);
      assert.deepEqual(all.columns.map((c) => c.target), ['column_1', 'column_2', 'column_3']);
    } finally {
      files.cleanup();
    }
    // Its header leaves A1 empty (dates below it) and holds blank cells: still the header, both data rows imported.
    const narrow = await run('openxlsx-read_failure_test.xlsx', { table: 'narrow' });
    assert.equal(narrow.rows_inserted, 2);
    assert.ok(narrow.columns.some((c) => c.source === 'INDU.EU.TOT.COF.B.M'), narrow.columns.map((c) => c.source).join());
  });

  it('--range is refused where it cannot apply, before anything is read', async () => {
    const both = await run('deaths.xlsx', { range: 'A5:F15', headerRow: 5 }).catch((e: unknown) => e);
    assert.ok(both instanceof UsageError);
    assert.equal(both.message, '--range and --header-row cannot be used together: the first row of the range is the header');
    const csv = await run('mtcars.csv', { range: 'A1:B5' }).catch((e: unknown) => e);
    assert.ok(csv instanceof UsageError);
    assert.equal(csv.message, '--range reads a block of cells of a spreadsheet (XLSX); this input is CSV');
    // So are the other options that choose what of a file is read: recorded as used, they would not be.
    const refused = async (file: string, options: Partial<ImportOptions>) => {
      const err = await run(file, options).catch((e: unknown) => e);
      assert.ok(err instanceof UsageError, `${file}: ${String(err)}`);
      return err.message;
    };
    assert.equal(await refused('mtcars.csv', { headerRow: 3 }), '--header-row chooses the header row of a spreadsheet (XLSX); this input is CSV');
    assert.equal(await refused('mtcars.csv', { sheet: '2' }), '--sheet chooses a sheet of a spreadsheet (XLSX); this input is CSV');
    assert.equal(await refused('mtcars.csv', { recordPath: 'rows' }), '--record-path chooses the records of a JSON or XML document; this input is CSV');
    assert.equal(await refused('deaths.xlsx', { comment: '#' }), '--comment skips comment lines of CSV/TSV; this input is XLSX');
    assert.equal(await refused('deaths.xlsx', { skipLines: 4 }), '--skip-lines skips lines above the header of CSV/TSV; this input is XLSX');
  });

  it('shared-mime-info freedesktop.org.xml: an element once in some records and several times in others is a jsonb array in every record', async () => {
    const file = 'freedesktop.org-first12.xml';
    const text = readFileSync(join(REAL, file), 'utf8');
    const result = await run(file, { table: 'mime' });
    assert.equal(result.rows_inserted, 12);
    const columns = new Map(result.columns.map((c) => [c.target, c.type]));
    // Records 1-5 hold one <glob pattern="..."/>, record 6 two: no glob_pattern column beside a glob column.
    assert.equal(columns.get('glob'), 'jsonb');
    assert.equal(columns.has('glob_pattern'), false);
    const [counts] = await db.rows<{ arrays: number; patterns: number }>(
      `select count(*) filter (where jsonb_typeof(glob) = 'array')::int as arrays, sum(jsonb_array_length(glob))::int as patterns from ${db.schema}.mime`,
    );
    assert.deepEqual(counts, { arrays: text.match(/<mime-type [^>]*>[\s\S]*?<\/mime-type>/g)!.filter((r) => r.includes('<glob ')).length, patterns: text.match(/<glob /g)!.length });
    const [first] = await db.rows<{ glob: unknown }>(`select glob from ${db.schema}.mime where _source_row_number = 1`);
    // Its weight is the DTD's default (<!ATTLIST glob ... weight CDATA "50">), which XML 1.0 has every parser supply.
    assert.deepEqual(first?.glob, [{ pattern: /<glob pattern="([^"]+)"/.exec(text)![1], weight: '50' }]);
    const [dtd] = await db.rows<{ n: number }>(`select (metadata -> 'dtd_attribute_defaults' ->> 'glob/@weight')::int as n from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
    assert.equal(dtd?.n, text.match(/<glob [^>]*>/g)!.filter((g) => !g.includes('weight=')).length);
    const [history] = await db.rows<{ arrays: Record<string, number> }>(`select metadata -> 'elements_made_arrays' as arrays from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
    assert.equal(history?.arrays.glob, 5); // the five records before the first with two globs
  });

  it('csv-spectrum location_coordinates.csv: quotes after text in unquoted fields (37.8"N) are kept as characters, with a warning; among plain rows, no record runs into the next', async () => {
    const file = 'csv-spectrum-location_coordinates.csv';
    const [, line] = readFileSync(join(REAL, file), 'utf8').split('\n');
    const fields = line!.split(',');
    assert.match(fields[1]!, /^[^"]+"[^"]+"[^"]*$/); // the shape the test is about
    const result = await run(file, { table: 'coords' });
    assert.equal(result.rows_inserted, 1);
    assert.ok(result.warnings.includes(`2 quote character(s) in the middle of unquoted fields (the first in data record 1) kept as characters, as spreadsheets read them (5'11"), not as the start of a quoted field`), result.warnings.join('\n'));
    const rows = await db.rows(`select location_coordinates, cities from ${db.schema}.coords`);
    assert.deepEqual(rows, [{ location_coordinates: fields[1], cities: 'Modesto' }]);
    const files = tempDir();
    try {
      // Plain rows before and after (their bytes go to COPY as they are) and heights in feet and inches between.
      const plain = (from: number) => Array.from({ length: 3000 }, (_, i) => `P${from + i},${(from + i) % 7}'${i % 12},City ${i}`);
      const heights = ['Bob,5\'11",Boston', 'Ann,6\'0",Denver', 'Cy,5\'9",Austin'];
      const lines = [...plain(0), ...heights, ...plain(3000)];
      const csv = files.write('heights.csv', `name,height,city\n${lines.join('\n')}\n`);
      const imported = await importFile(db.settings, { table: 'heights', source: csv });
      assert.equal(imported.rows_inserted, lines.length);
      const stored = await db.rows<{ name: string; height: string; city: string }>(`select name, height, city from ${db.schema}.heights order by _source_row_number`);
      assert.deepEqual(stored.map((r) => `${r.name},${r.height},${r.city}`), lines);
      // Text after a closing quote (data.table's unescaped.csv): read as COPY reads it, and said.
      const said = await importFile(db.settings, { table: 'unescaped', source: files.write('unescaped.csv', '"No","Comment"\n"0","he said:"wonderful.""\n"1","fine"\n') });
      assert.equal(said.rows_inserted, 2);
      assert.ok(said.warnings.includes('1 field(s) with text after their closing quote (the first in data record 1) read as COPY reads them: "a"b is ab, a quote after it opening a quoted part again; check them against the file'), said.warnings.join('\n'));
    } finally {
      files.cleanup();
    }
  });

  it('generated one-column CSV (as R data.table\'s onecol tests): blank lines between its records are skipped and said, those at the end are not; in a wider file nothing is said', async () => {
    const files = tempDir();
    try {
      // One right after the header counts too (data.table's SA2-by-DJZ.csv: 8 said as 7).
      const one = await importFile(db.settings, { table: 'emails', source: files.write('emails.csv', 'email\n\na@x\n\nb@x\n\n\nc@x\n\n\n') });
      assert.equal(one.rows_inserted, 3);
      assert.ok(one.warnings.includes('4 blank line(s) between the records of this one-column file skipped: blank lines are not records (COPY would have read each as an empty value, NULL)'), one.warnings.join('\n'));
      const two = await importFile(db.settings, { table: 'pairs', source: files.write('pairs.csv', 'a,b\n1,2\n\n3,4\n') });
      assert.equal(two.rows_inserted, 2);
      assert.deepEqual(two.warnings, []);
    } finally {
      files.cleanup();
    }
  });

  it("tzdata zone1970.tab without a header: as wide as the widest of its first records (an optional 4th field), so --fill-short-rows keeps every record; not the first record's width, which lost the 4-field ones", async () => {
    const tab = readFileSync(join(REAL, 'tzdata-zone1970-head60.tab'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(tab[0]!.split('\t').length, 3, 'the first record has 3 fields');
    const wide = tab.filter((l) => l.split('\t').length === 4);
    assert.ok(wide.length > 0 && wide.length < tab.length);
    const zones = await run('tzdata-zone1970-head60.tab', { table: 'zone1970', format: 'tsv', comment: '#', header: false, fillShortRows: true });
    assert.deepEqual([zones.rows_inserted, zones.mapping_errors_count], [tab.length, 0]);
    const rows = await db.rows<{ a: string; b: string; c: string; d: string | null }>(`select column_1 as a, column_2 as b, column_3 as c, column_4 as d from ${db.schema}.zone1970 order by _source_row_number`);
    assert.deepEqual(rows.map((r) => [r.a, r.b, r.c, ...(r.d === null ? [] : [r.d])].join('\t')), tab);
    // Without --fill-short-rows the 3-field records are the mapping errors, and their message names the option.
    const plain = await run('tzdata-zone1970-head60.tab', { table: 'zone1970_plain', format: 'tsv', comment: '#', header: false });
    assert.deepEqual([plain.rows_inserted, plain.mapping_errors_count], [wide.length, tab.length - wide.length]);
  });

  it('tzdata iso3166.tab with --comment "#": its comment lines are skipped and counted, the data read as TSV without a header; distro-info-data ubuntu.csv with --fill-short-rows: the older releases\' short rows filled with NULL, not rejected', async () => {
    const tab = readFileSync(join(REAL, 'tzdata-iso3166-head40.tab'), 'utf8').split('\n').filter((l) => l !== '');
    const data = tab.filter((l) => !l.startsWith('#'));
    const zones = await run('tzdata-iso3166-head40.tab', { table: 'iso3166', format: 'tsv', comment: '#', header: false });
    assert.equal(zones.rows_inserted, data.length);
    const rows = await db.rows<{ c: string; n: string }>(`select column_1 as c, column_2 as n from ${db.schema}.iso3166 order by _source_row_number`);
    assert.deepEqual(rows.map((r) => `${r.c}\t${r.n}`), data);
    const [meta] = await db.rows(`select metadata -> 'comment_lines' as lines, metadata -> 'options' -> 'comment' as comment from ${db.schema}.import_history where import_id = $1`, [zones.import_id]);
    assert.deepEqual(meta, { lines: tab.length - data.length, comment: '#' });
    // Among plain runs whose bytes go to COPY as they are, comment lines leave those runs as text lines.
    const files = tempDir();
    try {
      const lines = Array.from({ length: 20_000 }, (_, i) => (i % 997 === 5 ? `# note ${i}` : `${i},r${i}`));
      const big = await importFile(db.settings, { table: 'commented', source: files.write('commented.csv', `n,r\n${lines.join('\n')}\n`), comment: '#' });
      const kept = lines.filter((l) => !l.startsWith('#'));
      assert.equal(big.rows_inserted, kept.length);
      const stored = await db.rows<{ n: number; r: string }>(`select n, r from ${db.schema}.commented order by _source_row_number`);
      assert.deepEqual(stored.map((x) => `${x.n},${x.r}`), kept);
    } finally {
      files.cleanup();
    }
    // Without --comment the comment lines are records (one field each): nothing skipped silently.
    const plain = await dryRunImport(db.settings, { table: 'iso3166_plain', source: join(REAL, 'tzdata-iso3166-head40.tab'), format: 'tsv', header: false });
    assert.ok(plain.total_rows_in_file > data.length);

    const csvRows = readFileSync(join(REAL, 'distro-info-ubuntu.csv'), 'utf8').trim().split('\n').slice(1);
    const short = csvRows.filter((l) => l.split(',').length < 9).length;
    assert.ok(short > 0);
    const partial = await dryRunImport(db.settings, { table: 'ubuntu_plain', source: join(REAL, 'distro-info-ubuntu.csv') });
    assert.equal(partial.mapping_errors_count, short);
    const kept = await run('distro-info-ubuntu.csv', { table: 'ubuntu_partial' });
    const [said] = await db.rows<{ m: string }>(`select error_message as m from ${db.schema}.mapping_errors where import_id = $1 order by record_number limit 1`, [kept.import_id]);
    assert.equal(said!.m, 'record has 6 field(s), the header has 9 (--fill-short-rows fills the missing ones with NULL)');
    // Without a header, the width is the widest of the first 20 records, and the message says so; a wider record after them is a mapping error.
    const headless = tempDir();
    try {
      const later = Array.from({ length: 20 }, (_, i) => `${i},y`).join('\n');
      const r = await importFile(db.settings, { table: 'headless', source: headless.write('h.csv', `x,y,z\n1,2\n${later}\n3,4,5,6\n`), header: false });
      const messages = await db.rows<{ n: number; m: string }>(`select record_number as n, error_message as m from ${db.schema}.mapping_errors where import_id = $1 and record_number in (2, 23) order by record_number`, [r.import_id]);
      assert.deepEqual(messages, [
        { n: 2, m: 'record has 2 field(s), the widest of the first 20 records has 3 (--fill-short-rows fills the missing ones with NULL)' },
        { n: 23, m: 'record has 4 field(s), the widest of the first 20 records has 3' },
      ]);
      const filledHeadless = await importFile(db.settings, { table: 'headless_filled', source: headless.write('h2.csv', '1,2\nx,y,z\n'), header: false, fillShortRows: true });
      assert.ok(filledHeadless.warnings.some((w) => w.startsWith('1 record(s) with fewer fields than the widest of the first 20 records (the first: data record 1, 2 of 3)')), filledHeadless.warnings.join('\n'));
      assert.deepEqual(await db.rows(`select column_1 as a, column_3 as c from ${db.schema}.headless_filled order by _source_row_number`), [{ a: '1', c: null }, { a: 'x', c: 'z' }]);
    } finally {
      headless.cleanup();
    }
    const filled = await run('distro-info-ubuntu.csv', { table: 'ubuntu', fillShortRows: true });
    assert.equal(filled.rows_inserted, csvRows.length);
    assert.ok(filled.warnings.some((w) => w.startsWith(`${short} record(s) with fewer fields than the header (the first: data record 1, 6 of 9) filled with NULL`)), filled.warnings.join('\n'));
    const [first] = await db.rows(`select version, eol_server, eol_esm from ${db.schema}.ubuntu order by _source_row_number limit 1`);
    assert.deepEqual(first, { version: '4.10', eol_server: null, eol_esm: null });
  });

  it('docbook-xml 4.5 catalog.xml: two kinds of records under the root (<system> twice, <public> nine times) are refused naming both, not imported half; each imports with --record-path', async () => {
    const file = 'docbook-xml-4.5-catalog.xml';
    const text = readFileSync(join(REAL, file), 'utf8');
    const count = (name: string): number => text.split(`<${name} `).length - 1;
    assert.deepEqual([count('system'), count('public')], [2, 9]);
    const err = await run(file, { table: 'catalog' }).catch((e: unknown) => e);
    assert.ok(err instanceof ImportFailedError, String(err));
    assert.equal(err.message, `import ${err.importId} into catalog failed: the XML has more than one kind of repeated element under <catalog>: <system>, taken as the records, and <public>, which would not be imported`);
    assert.equal(err.hint, 'import each kind on its own, into a table of its own: --record-path system --table ..., then --record-path public --table ...');
    const [failed] = await db.rows(`select status, rows_inserted, (select to_regclass($2)) as t from ${db.schema}.import_history where import_id = $1`, [err.importId, `${db.schema}.catalog`]);
    assert.deepEqual(failed, { status: 'failed', rows_inserted: 0, t: null });
    const system = await run(file, { table: 'catalog_system', recordPath: 'system' });
    const pub = await run(file, { table: 'catalog_public', recordPath: 'public' });
    assert.deepEqual([system.rows_inserted, pub.rows_inserted], [count('system'), count('public')]);
    // Named by the user, the record element leaves the other kind out without a word.
    assert.deepEqual([system.warnings, pub.warnings], [[], []]);
  });

  it('iso-codes iso_3166-2.xml: with --record-path iso_3166_2_entry, the country code and subdivision type on the elements around the records are said left out; a bare & (Enewetak & Ujelang) is named as such, not as a DTD entity', async () => {
    const file = 'iso-codes-iso_3166-2-AD-AE.xml';
    const entries = readFileSync(join(REAL, file), 'utf8').split('<iso_3166_2_entry').length - 1;
    const r = await run(file, { table: 'subdivisions', recordPath: 'iso_3166_2_entry' });
    assert.equal(r.rows_inserted, entries);
    const said = 'attribute(s) of the element(s) around the <iso_3166_2_entry> records, not imported: <iso_3166_country> (code), <iso_3166_subset> (type) (take each <iso_3166_subset> as a record with --record-path iso_3166_subset)';
    assert.ok(r.warnings.includes(said), r.warnings.join('\n'));

    const err = await run('iso-codes-iso_3166-2-MH.xml', { table: 'mh', recordPath: 'iso_3166_2_entry' }).catch((e: unknown) => e);
    assert.ok(err instanceof ImportFailedError, String(err));
    assert.match(err.message, /: invalid XML at line 85, column 33: an "&" that begins no entity reference$/);
    assert.match(err.hint ?? '', /a literal & to be written &amp;/);
    assert.doesNotMatch(err.hint ?? '', /DTD/, 'its DOCTYPE declares elements and attributes, no entity');
  });

  it('generated, shaped as Unicode\'s Blocks.txt: notes in lines starting with # above the data are said to want --comment "#"; a column named "#" above numbers is not', async () => {
    const files = tempDir();
    try {
      const notes = '# Blocks-15.0.0.txt\n# Date: 2022-01-28\n#\n# Format:\n# Start Code..End Code; Block Name\n\n';
      const blocks = files.write('Blocks.txt', `${notes}0000..007F; Basic Latin\n0080..00FF; Latin-1 Supplement\n`);
      const said = "the header read begins with # (\"# Blocks-15.0.0.txt\"): if lines starting with # are comments, import with --comment '#'";
      const plain = await dryRunImport(db.settings, { table: 'blocks', source: blocks, delimiter: ';' });
      assert.ok(plain.warnings.includes(said), plain.warnings.join('\n'));
      const right = await importFile(db.settings, { table: 'blocks', source: blocks, delimiter: ';', comment: '#', header: false });
      assert.equal(right.rows_inserted, 2);
      assert.ok(!right.warnings.some((w) => w.includes('--comment')));
      // The real Blocks.txt has 30 comment lines above its data: without --delimiter, the delimiter is sniffed on the lines --comment leaves (it was sniffed on the comments: one column).
      const long = files.write('Blocks30.txt', `${Array.from({ length: 30 }, (_, i) => `# note ${i}, more; text`).join('\n')}\n0000..007F; Basic Latin\n0080..00FF; Latin-1 Supplement\n`);
      const sniffed = await importFile(db.settings, { table: 'blocks30', source: long, comment: '#', header: false });
      assert.deepEqual(await db.rows(`select column_1 as a, column_2 as b from ${db.schema}.blocks30 order by _source_row_number`), [
        { a: '0000..007F', b: ' Basic Latin' },
        { a: '0080..00FF', b: ' Latin-1 Supplement' },
      ]);
      assert.equal(sniffed.rows_inserted, 2);
      const numbered = await dryRunImport(db.settings, { table: 'numbered', source: files.write('numbered.csv', '#,name\n1,a\n2,b\n') });
      assert.ok(!numbered.warnings.some((w) => w.includes('--comment')), numbered.warnings.join('\n'));
    } finally {
      files.cleanup();
    }
  });

  it('generated: an element once beside the detected records (an RSS channel title) is said in a warning, kept in the history', async () => {
    const files = tempDir();
    try {
      const rss = files.write('feed.xml', '<rss><channel><title>News</title><item><t>a</t></item><item><t>b</t></item><link>x</link></channel></rss>');
      const result = await importFile(db.settings, { table: 'feed', source: rss });
      assert.equal(result.rows_inserted, 2);
      const said = 'element(s) beside the <item> records, under <channel>, not imported: <title>, <link> (import one with --record-path title, or take each <channel> as a record with --record-path channel)';
      assert.ok(result.warnings.includes(said), result.warnings.join('\n'));
      const [history] = await db.rows<{ warnings: string[] }>(`select warnings from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
      assert.ok(history!.warnings.includes(said));
      // The attributes of the elements around the records (not the root's) are said too (osinfo-db's <device id>).
      const device = await importFile(db.settings, { table: 'device', source: files.write('device.xml', '<libosinfo version="0.0.1"><device id="http://x/kbd" xmlns:x="urn:x"><name>a</name><name>b</name></device></libosinfo>') });
      assert.equal(device.rows_inserted, 2);
      assert.ok(device.warnings.includes('attribute(s) of the element(s) around the <name> records, not imported: <device> (id) (take each <device> as a record with --record-path device)'), device.warnings.join('\n'));
      // Deeper than under the root: the parent is offered as the record too.
      const deep = files.write('deep.xml', '<r><group><a>1</a><a>2</a><b>3</b><b>4</b></group></r>');
      const err = await importFile(db.settings, { table: 'deep', source: deep }).catch((e: unknown) => e);
      assert.ok(err instanceof ImportFailedError, String(err));
      assert.match(err.hint ?? '', /; or take each <group> as a record: --record-path group$/);
      // The shape of xkb-data's evdev.xml: models, layouts and option groups, each kind under its
      // own list element at the same depth: refused, naming both paths; each imports by its path.
      const evdev = files.write(
        'evdev.xml',
        `<xkbConfigRegistry version="1.1"><modelList>${'<model><name>pc</name></model>'.repeat(3)}</modelList><layoutList><layout><name>us</name></layout><layout><name>de</name></layout></layoutList><optionList><group/></optionList></xkbConfigRegistry>`,
      );
      const both = await importFile(db.settings, { table: 'evdev', source: evdev }).catch((e: unknown) => e);
      assert.ok(both instanceof ImportFailedError, String(both));
      assert.match(both.message, /the XML has more than one kind of repeated element: <model> under <modelList>, taken as the records, and <layout> under <layoutList>, which would not be imported$/);
      assert.equal(both.hint, 'import each kind on its own, into a table of its own: --record-path modelList/model --table ..., then --record-path layoutList/layout --table ...');
      const layouts = await importFile(db.settings, { table: 'evdev_layouts', source: evdev, recordPath: 'layoutList/layout' });
      assert.equal(layouts.rows_inserted, 2);
    } finally {
      files.cleanup();
    }
  });

  it('generated: leaf and nested elements that repeat only in later records are arrays in every record, nothing of the earlier ones lost', async () => {
    const files = tempDir();
    try {
      const xml = `<books>
        <book id="1"><author>Ann</author><tag lang="en" kind="x">one</tag><tag_lang>own column</tag_lang></book>
        <book id="2"><author>Bob</author><tag lang="fr"><sub>deep</sub><sub>er</sub></tag></book>
        <book id="3"><author>Cy</author><author>Dee</author><tag lang="en">two</tag><tag lang="de">three</tag></book>
        <book id="4"><author>Eve</author><tag lang="it"/></book>
        <book id="5"/>
      </books>`;
      const result = await importFile(db.settings, { table: 'books', source: files.write('books.xml', xml) });
      const rows = await db.rows(`select id_2 as id, author, tag, tag_lang, tag_lang_2 from ${db.schema}.books order by 1`);
      assert.deepEqual(rows, [
        // Record 1 holds tag_lang twice: tag's attribute lang (flattened, met first) and an element
        // <tag_lang> of its own, kept in tag_lang_2. tag_lang is thus a column of its own, and only
        // tag's other members are folded into the array.
        { id: 1, author: ['Ann'], tag: [{ kind: 'x', '#text': 'one' }], tag_lang: 'en', tag_lang_2: 'own column' },
        { id: 2, author: ['Bob'], tag: [{ sub: ['deep', 'er'] }], tag_lang: 'fr', tag_lang_2: null },
        { id: 3, author: ['Cy', 'Dee'], tag: [{ lang: 'en', '#text': 'two' }, { lang: 'de', '#text': 'three' }], tag_lang: null, tag_lang_2: null },
        { id: 4, author: ['Eve'], tag: [{ lang: 'it' }], tag_lang: null, tag_lang_2: null },
        { id: 5, author: null, tag: null, tag_lang: null, tag_lang_2: null },
      ]);
      assert.deepEqual(
        result.columns.map((c) => c.target),
        ['id_2', 'author', 'tag_lang', 'tag', 'tag_lang_2'],
      );
    } finally {
      files.cleanup();
    }
  });
  it('emojibase-data en/compact.json: emoticon, a string in some records and an array in others, is a jsonb array in every record, from JSON and from NDJSON', async () => {
    const file = 'emojibase-data-en-compact-first60.json';
    const records = JSON.parse(readFileSync(join(REAL, file), 'utf8')) as Array<Record<string, unknown>>;
    // The shape the test is about: a string first (record 29), an array later (record 31).
    assert.equal(typeof records[28]?.['emoticon'], 'string');
    assert.ok(Array.isArray(records[30]?.['emoticon']));
    const expected = records.map((r, i) => ({
      n: i + 1,
      emoticon: r['emoticon'] === undefined ? null : Array.isArray(r['emoticon']) ? r['emoticon'] : [r['emoticon']],
      tags: r['tags'] ?? null,
      label: r['label'],
    }));
    const files = tempDir();
    try {
      const ndjson = files.write('emojibase.ndjson', records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      for (const [table, result] of [
        ['emoji_json', await run(file, { table: 'emoji_json' })],
        ['emoji_ndjson', await importFile(db.settings, { table: 'emoji_ndjson', source: ndjson })],
      ] as const) {
        assert.equal(result.rows_inserted, records.length);
        assert.deepEqual(
          result.columns.map((c) => `${c.target} ${c.type}`),
          ['hexcode text', 'label text', 'unicode text', 'group integer', 'order integer', 'tags jsonb', 'emoticon jsonb'],
        );
        const rows = await db.rows(`select _source_row_number as n, emoticon, tags, label from ${db.schema}.${table} order by 1`);
        assert.deepEqual(rows, expected, table);
        const [history] = await db.rows<{ arrays: Record<string, number> }>(`select metadata -> 'keys_made_arrays' as arrays from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
        // The records before the first array that held an emoticon: record 29 only.
        assert.deepEqual(history?.arrays, { emoticon: 1 }, table);
        // Every emoticon that was a string, before the first array or after it, is said and counted (they were made arrays without a word).
        const strings = records.filter((r) => typeof r['emoticon'] === 'string').length;
        assert.ok(strings > 1, 'strings after the first array too');
        const [made] = await db.rows<{ made: Record<string, number> }>(`select metadata -> 'values_made_arrays' as made from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
        assert.deepEqual(made?.made, { emoticon: strings }, table);
        assert.ok(result.warnings.includes(`${strings} value(s) of emoticon are not arrays, each stored as an array of one: the key is an array in other records of the file, and its column emoticon holds JSON arrays (counted in metadata.values_made_arrays)`), JSON.stringify(result.warnings));
        // Rewritten in staging, record 29 still takes its id in file order.
        const [order] = await db.rows<{ n: number }>(
          `select count(*)::int as n from (select row_number() over (order by id) as a, row_number() over (order by _source_row_number) as b from ${db.schema}.${table}) x where a <> b`,
        );
        assert.equal(order!.n, 0, table);
      }
    } finally {
      files.cleanup();
    }
  });

  it('octokit webhooks-examples ping: hook_id and hook.id (flattened to hook_id too) both kept, the second in hook_id_2, with a warning; the same for XML attribute and child', async () => {
    const file = 'octokit-webhooks-ping-examples.json';
    const records = JSON.parse(readFileSync(join(REAL, file), 'utf8')) as Array<{ hook_id: number; hook: { id: number } }>;
    // The shape the test is about: the two differ in record 4.
    assert.notEqual(records[3]!.hook_id, records[3]!.hook.id);
    const result = await run(file, { table: 'pings' });
    assert.equal(result.rows_inserted, records.length);
    assert.ok(result.warnings.some((w) => w.includes('hook_id -> hook_id_2')), result.warnings.join('\n'));
    const rows = await db.rows<{ hook_id: string; hook_id_2: string }>(`select hook_id::text, hook_id_2::text from ${db.schema}.pings order by _source_row_number`);
    assert.deepEqual(rows, records.map((r) => ({ hook_id: String(r.hook_id), hook_id_2: String(r.hook.id) })));
    const [history] = await db.rows<{ warnings: string[] }>(`select warnings from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
    assert.ok(history!.warnings.some((w) => w.includes('hook_id -> hook_id_2')));
    const files = tempDir();
    try {
      // An attribute and a child element of the same name, and a child a_b beside a flattened a/b.
      const xml = files.write('same.xml', '<r><item code="1"><code>2</code><a_b>3</a_b><a><b>4</b></a></item><item code="5"><code>6</code></item></r>');
      const x = await importFile(db.settings, { table: 'same_xml', source: xml });
      assert.equal(x.rows_inserted, 2);
      const xr = await db.rows(`select code::text, code_2::text, a_b::text, a_b_2::text from ${db.schema}.same_xml order by _source_row_number`);
      assert.deepEqual(xr, [{ code: '1', code_2: '2', a_b: '3', a_b_2: '4' }, { code: '5', code_2: '6', a_b: null, a_b_2: null }]);
    } finally {
      files.cleanup();
    }
  });

  it('generated JSON and NDJSON: a key that is an array in any record is an array in every record, whether it was an object or a scalar, first or after many records', async () => {
    const many = 300; // records before the first array: the rows rewritten after staging
    const early = Array.from({ length: many }, (_, i) =>
      i % 3 === 0
        ? { id: i + 1, loc: { lat: i + 0.5, name: `p${i}`, deep: { k: [i] } }, tag: 'solo', code: i }
        : i % 3 === 1
          ? { id: i + 1, loc: null, tag: null, code: `00${i}` }
          : { id: i + 1, tag: '[not json', code: true },
    );
    const late = [
      { id: many + 1, loc: [{ lat: 1 }, 'x'], tag: ['a', 'b'], code: [1] },
      { id: many + 2, loc: { lat: 2.25, name: 'after' }, tag: 'one', code: 7 },
      { id: many + 3, loc: 'plain', tag: '{"a":1}', code: '[1,2]' },
      { id: many + 4, loc: {}, tag: [], code: null },
    ];
    const records: Array<Record<string, unknown>> = [...early, ...late];
    // What every record must hold: the array as it is; any other value (but null) as an array of one.
    const asArray = (v: unknown): unknown => (v === undefined || v === null ? null : Array.isArray(v) ? v : [v]);
    const expected = records.map((r) => ({ id: r['id'], loc: asArray(r['loc']), tag: asArray(r['tag']), code: asArray(r['code']) }));
    const files = tempDir();
    try {
      const sources = {
        late_json: files.write('late.json', JSON.stringify(records, null, 1)),
        late_ndjson: files.write('late.ndjson', records.map((r) => JSON.stringify(r)).join('\n')),
        first_json: files.write('first.json', JSON.stringify([...late, ...early])),
      };
      for (const [table, source] of Object.entries(sources)) {
        const result = await importFile(db.settings, { table, source });
        assert.deepEqual(
          result.columns.map((c) => `${c.target} ${c.type}`),
          // loc's flattened columns (loc_lat, loc_name, loc_deep) left the import: loc comes last.
          table === 'first_json' ? ['id_2 integer', 'loc jsonb', 'tag jsonb', 'code jsonb'] : ['id_2 integer', 'tag jsonb', 'code jsonb', 'loc jsonb'],
          table,
        );
        const rows = await db.rows<{ id: number }>(`select id_2 as id, loc, tag, code from ${db.schema}.${table}`);
        rows.sort((a, b) => a.id - b.id);
        assert.deepEqual(rows, [...expected].sort((a, b) => (a.id as number) - (b.id as number)), table);
      }
    } finally {
      files.cleanup();
    }
  });

  it('generated: in a jsonb column that is not an array, a string stays a JSON string whatever it starts with, before and after the first object', async () => {
    const values = ['[1,2]', { x: 1 }, '{"a":1}', '[not json', 5, 1.5, true, null, '  [', 'plain'];
    const records = values.map((v, i) => ({ id: i + 1, m: { d: v } }));
    const files = tempDir();
    try {
      for (const [table, text] of [
        ['strings_json', JSON.stringify(records)],
        ['strings_ndjson', records.map((r) => JSON.stringify(r)).join('\n')],
      ] as const) {
        const result = await importFile(db.settings, { table, source: files.write(`${table}.${table.endsWith('ndjson') ? 'ndjson' : 'json'}`, text) });
        assert.equal(result.rows_inserted, values.length);
        assert.equal(result.columns.find((c) => c.target === 'm_d')?.type, 'jsonb');
        const rows = await db.rows<{ d: unknown; kind: string | null }>(`select m_d as d, jsonb_typeof(m_d) as kind from ${db.schema}.${table} order by id_2`);
        assert.deepEqual(
          rows.map((r) => r.d),
          values,
          table,
        );
        assert.deepEqual(
          rows.map((r) => r.kind),
          ['string', 'object', 'string', 'string', 'number', 'number', 'boolean', null, 'string', 'string'],
          table,
        );
      }
    } finally {
      files.cleanup();
    }
  });
});

/** A one-file ustar archive, as `tar -cf` writes it: a 512-byte header (checksum over it with its own field as spaces), the data padded to 512, two zero blocks. */
function makeTar(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\x0000', 257, 'latin1');
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
}
