import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dryRunImport, importFile, type ImportOptions } from '../../src/core/import.ts';
import { AtlasError, ImportFailedError, UsageError } from '../../src/errors.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';

const defaults: Omit<ImportOptions, 'source'> = { table: null };

describe('types, corrections, strategies, mappings and error budgets', () => {
  const db = useTestDb();
  const files = useTempDir();
  const typesOf = async (table: string): Promise<Record<string, string>> =>
    Object.fromEntries(
      (
        await db.rows<{ column_name: string; data_type: string }>(
          `select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2 and column_name not like '\\_%' and column_name <> 'id'`,
          [db.schema, table],
        )
      ).map((r) => [r.column_name, r.data_type]),
    );

  it('every type and format lands typed, with corrections in the spec shape', async () => {
    const path = files.write(
      'typed.csv',
      csv([
        ['age', 'big', 'price', 'money', 'sci', 'flag', 'code', 'eu_date', 'us_ts', 'iso_tz', 'iso_date'],
        ['30.0', '3000000000', '1,234.50', '$1,200.00', '1e3', 'yes', '00123', '25.12.2024', '10/09/2025 8:11 PM', '2024-12-25T08:00:00Z', '2024-12-25'],
        ['41', '1', '999', '$3.50', '-0.5', 'no', '00456', '01.02.2023', '10/10/2025 9:05:30 AM', '2024-12-26T09:30:00+02:00', '2024-1-26'],
        ['', '', '', '', '', '', '', '', '', '', ''],
      ]),
    );
    const r = await importFile(db.settings, { ...defaults, source: path });
    assert.equal(r.status, 'success');
    assert.deepEqual(await typesOf('typed'), {
      age: 'integer',
      big: 'bigint',
      price: 'numeric',
      money: 'numeric',
      sci: 'numeric',
      flag: 'boolean',
      code: 'text',
      eu_date: 'date',
      us_ts: 'timestamp without time zone',
      iso_tz: 'timestamp with time zone',
      iso_date: 'date',
    });
    const rows = await db.rows<Record<string, unknown>>(
      `select age, big::text, price::text, money::text, sci::text, flag, code, eu_date::text, us_ts::text, _corrections_applied c from ${db.schema}.typed order by id`,
    );
    assert.deepEqual(rows[0], {
      age: 30,
      big: '3000000000',
      price: '1234.50',
      money: '1200.00',
      sci: '1000',
      flag: true,
      code: '00123',
      eu_date: '2024-12-25',
      us_ts: '2025-10-09 20:11:00',
      c: {
        age: { before: '30.0', after: 30, correction_type: 'type_coercion', target_type: 'INTEGER' },
        price: { before: '1,234.50', after: 1234.5, correction_type: 'type_coercion', target_type: 'NUMERIC' },
        money: { before: '$1,200.00', after: 1200, correction_type: 'type_coercion', target_type: 'NUMERIC' },
        sci: { before: '1e3', after: 1000, correction_type: 'type_coercion', target_type: 'NUMERIC' },
        flag: { before: 'yes', after: true, correction_type: 'type_coercion', target_type: 'BOOLEAN' },
        eu_date: { before: '25.12.2024', after: '2024-12-25', correction_type: 'datetime_standardization', source_format: '%d.%m.%Y' },
        us_ts: { before: '10/09/2025 8:11 PM', after: '2025-10-09T20:11:00', correction_type: 'datetime_standardization', source_format: '%m/%d/%Y %I:%M %p' },
      },
    });
    assert.equal((rows[1]!.c as Record<string, { source_format?: string }>).us_ts?.source_format, '%m/%d/%Y %I:%M:%S %p');
    assert.equal((rows[1]!.c as Record<string, unknown>).big, undefined, 'canonical values are not corrections');
    // An ISO date is stored as written (no correction in row 1); one without zero padding is not.
    assert.deepEqual((rows[1]!.c as Record<string, unknown>).iso_date, { before: '2024-1-26', after: '2024-01-26', correction_type: 'datetime_standardization', source_format: '%Y-%m-%d' });
    assert.deepEqual({ ...rows[2], c: rows[2]!.c }, { age: null, big: null, price: null, money: null, sci: null, flag: null, code: null, eu_date: null, us_ts: null, c: null });
  });

  it('columns of few distinct values (looked up once per value) and of many (converted per row) give the same values and corrections, in file order', async () => {
    // d and flag repeat a handful of values (valueLookups.ts builds a lookup for each), ts and amt
    // differ per row (converted per row); two d values are invalid dates (mapping errors).
    const dates = ['01/05/2024', '02/29/2024', '03/15/2023', '12/31/2022', '07/04/2021', '11/11/2020'];
    const lines = ['d,flag,ts,amt'];
    const expected: Array<{ rn: number; d: string; flag: boolean; ts: string; amt: string; c: Record<string, unknown> }> = [];
    for (let i = 0; i < 2400; i++) {
      const rn = i + 1;
      const d = i === 6 || i === 1499 ? '02/30/2024' : dates[i % dates.length]!;
      const flag = i % 3 === 0 ? 'yes' : 'no';
      const [day, hour, minute] = [1 + (Math.floor(i / 1440) % 28), Math.floor(i / 60) % 24, i % 60].map((n) => String(n).padStart(2, '0'));
      const ts = `01/${day}/2024 ${hour}:${minute}`;
      const amt = `$${i + 1}.${String(i % 100).padStart(2, '0')}`;
      lines.push(`${d},${flag},${ts},"${amt}"`);
      if (d === '02/30/2024') continue;
      const [mm, dd, yyyy] = d.split('/');
      const iso = `${yyyy}-${mm}-${dd}`;
      const tsIso = `2024-01-${day}T${hour}:${minute}:00`;
      const amtText = `${i + 1}.${String(i % 100).padStart(2, '0')}`;
      expected.push({
        rn,
        d: iso,
        flag: flag === 'yes',
        ts: tsIso.replace('T', ' '),
        amt: amtText,
        c: {
          d: { before: d, after: iso, correction_type: 'datetime_standardization', source_format: '%m/%d/%Y' },
          flag: { before: flag, after: flag === 'yes', correction_type: 'type_coercion', target_type: 'BOOLEAN' },
          ts: { before: ts, after: tsIso, correction_type: 'datetime_standardization', source_format: '%m/%d/%Y %H:%M' },
          amt: { before: amt, after: Number(amtText), correction_type: 'type_coercion', target_type: 'NUMERIC' },
        },
      });
    }
    const r = await importFile(db.settings, { ...defaults, source: files.write('lookups.csv', `${lines.join('\n')}\n`), maxErrors: '2' });
    assert.equal(r.mapping_errors_count, 2);
    assert.equal(r.rows_inserted, 2398);
    assert.deepEqual(await typesOf(r.table_name), { d: 'date', flag: 'boolean', ts: 'timestamp without time zone', amt: 'numeric' });
    const rows = await db.rows<{ rn: number; d: string; flag: boolean; ts: string; amt: string; c: Record<string, unknown> }>(
      `select _source_row_number rn, d::text, flag, ts::text, amt::text, _corrections_applied c from ${db.schema}.${r.table_name} order by id`,
    );
    assert.deepEqual(rows, expected);
    const errors = await db.rows<{ record_number: number }>(`select record_number from ${db.schema}.mapping_errors where import_id = $1 order by 1`, [r.import_id]);
    assert.deepEqual(errors.map((e) => e.record_number), [7, 1500]);
  });

  it('into an existing table, the rows not already in it get the same values, corrections, row hashes and file order as in a new table, whether few or most were there', async () => {
    // The INSERT then reads the duplicate check's converted rows: few duplicates are deleted from
    // them, mostly duplicates are left out by an anti-join and sorted back into file order.
    const lines = ['d,flag,ts,amt'];
    for (let i = 0; i < 1200; i++) {
      const d = i === 5 ? '02/30/2024' : ['01/05/2024', '02/29/2024', '12/31/2022'][i % 3]!;
      lines.push(`${d},${i % 4 === 0 ? 'yes' : 'no'},01/${String(1 + (i % 28)).padStart(2, '0')}/2024 ${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')},"$${i + 1}.${String(i % 100).padStart(2, '0')}"`);
    }
    const text = (data: string[]): string => `${[lines[0], ...data].join('\n')}\n`;
    type Row = { rn: number; d: string; flag: boolean; ts: string; amt: string; c: unknown; h: string };
    const rowsOf = (table: string, importId: string): Promise<Row[]> =>
      db.rows<Row>(`select _source_row_number rn, d::text, flag, ts::text, amt::text, _corrections_applied c, _row_hash::text h from ${db.schema}.${table} where _import_id = $1 order by id`, [importId]);
    const fresh = await importFile(db.settings, { ...defaults, source: files.write('fresh.csv', text(lines.slice(1))), maxErrors: '1' });
    const reference = await rowsOf(fresh.table_name, fresh.import_id);
    assert.equal(reference.length, 1199);
    for (const [table, already] of [['few', [13, 14, 500]], ['most', Array.from({ length: 1000 }, (_, k) => k + 1)]] as const) {
      const first = await importFile(db.settings, { ...defaults, table, source: files.write(`${table}-first.csv`, text(already.map((rn) => lines[rn]!))), maxErrors: '1' });
      const second = await importFile(db.settings, { ...defaults, table, source: files.write(`${table}-all.csv`, text(lines.slice(1))), maxErrors: '1' });
      const skipped = new Set<number>(already.filter((rn) => rn !== 6));
      assert.equal(second.duplicates_found, skipped.size, table);
      assert.deepEqual(await rowsOf(table, second.import_id), reference.filter((r) => !skipped.has(r.rn)), table);
      assert.ok((await rowsOf(table, first.import_id)).length > 0);
    }
  });

  it('a looked-up column takes values of any length (one number of 3,000 digits among repeated ones)', async () => {
    let seed = 7;
    const digits = Array.from({ length: 3000 }, (_, i) => (i === 0 ? 1 : (seed = (seed * 48271) % 2147483647) % 10)).join('');
    const lines = ['i,n'];
    for (let i = 0; i < 1500; i++) lines.push(`${i},${i === 700 ? digits : '1e3'}`);
    const r = await importFile(db.settings, { ...defaults, source: files.write('long.csv', `${lines.join('\n')}\n`) });
    assert.equal(r.rows_inserted, 1500);
    assert.deepEqual(await typesOf(r.table_name), { i: 'integer', n: 'numeric' });
    const rows = await db.rows<{ n: string; c: Record<string, unknown> | null }>(`select n::text, _corrections_applied c from ${db.schema}.${r.table_name} order by id`);
    assert.equal(rows[700]!.n, digits);
    assert.equal(rows[700]!.c, null);
    assert.deepEqual(rows[0], { n: '1000', c: { n: { before: '1e3', after: 1000, correction_type: 'type_coercion', target_type: 'NUMERIC' } } });
  });

  it('a late type change after many rows decides the type; corrections are kept for every row of a large file', async () => {
    const lines = ['n,d'];
    for (let i = 1; i <= 30_000; i++) lines.push(`${i},${String((i % 12) + 1).padStart(2, '0')}/15/2024`);
    lines.push('3.5,12/31/2024');
    const r = await importFile(db.settings, { ...defaults, source: files.write('late.csv', `${lines.join('\n')}\n`) });
    assert.deepEqual(await typesOf('late'), { n: 'numeric', d: 'date' });
    const [count] = await db.rows<{ n: string }>(`select count(*) n from ${db.schema}.late where _corrections_applied ? 'd'`);
    assert.equal(Number(count!.n), r.rows_inserted);
    assert.equal(r.rows_inserted, 30_001);
  });

  it('day/month order: one value past 12 settles the whole column', async () => {
    const r = await importFile(db.settings, { ...defaults, source: files.write('dmy.csv', 'd\n10/09/2025\n03/04/2025\n25/12/2024\n') });
    const rows = await db.rows<{ d: string }>(`select d::text from ${db.schema}.${r.table_name} order by id`);
    assert.deepEqual(rows.map((x) => x.d), ['2025-09-10', '2025-04-03', '2024-12-25']);
  });

  it('extend_table adds new columns inside the transaction; existing rows get NULL', async () => {
    await importFile(db.settings, { ...defaults, source: files.write('e1.csv', csv([['a', 'b'], [1, 'x']])), table: 'ext' });
    const r = await importFile(db.settings, { ...defaults, source: files.write('e2.csv', csv([['a', 'b', 'c'], [2, 'y', '2024-01-01']])), table: 'ext' });
    assert.equal(r.import_strategy, 'extend_table');
    const rows = await db.rows<{ a: number; c: string | null }>(`select a, c::text from ${db.schema}.ext order by id`);
    assert.deepEqual(rows, [{ a: 1, c: null }, { a: 2, c: '2024-01-01' }]);
    assert.equal((await typesOf('ext')).c, 'date');
  });

  it('a failed extend_table adds no column', async () => {
    await importFile(db.settings, { ...defaults, source: files.write('f1.csv', csv([['a'], [1]])), table: 'ext_fail' });
    await assert.rejects(
      importFile(db.settings, { ...defaults, source: files.write('f2.csv', csv([['a', 'z'], ['abc', 1]])), table: 'ext_fail', strict: true }),
      ImportFailedError,
    );
    assert.deepEqual(Object.keys(await typesOf('ext_fail')), ['a']);
  });

  it('adapt_data (asked for): missing columns NULL, values converted to existing types, bad ones are mapping errors, extra columns left out and said so', async () => {
    await importFile(db.settings, { ...defaults, source: files.write('a1.csv', csv([['n', 'd', 'keep'], [1, '2024-01-01', 'k']])), table: 'adapt' });
    const r = await importFile(db.settings, { ...defaults, source: files.write('a2.csv', csv([['n', 'd', 'extra'], ['7', '02/03/2024', 'e'], ['x7', '2024-13-01', 'f']])), table: 'adapt', strategy: 'adapt_data' });
    assert.equal(r.import_strategy, 'adapt_data');
    assert.equal(r.status, 'partial');
    assert.equal(r.rows_inserted, 1);
    assert.deepEqual(r.columns_left_out, [{ source: 'extra', reason: 'not in the table (adapt_data adds no columns)' }]);
    assert.ok(r.warnings.some((w) => w.includes('left out') && w.includes('extra')));
    assert.ok(r.warnings.some((w) => w.includes('keep')));
    const rows = await db.rows<Record<string, unknown>>(`select n, d::text, keep from ${db.schema}.adapt order by id`);
    assert.deepEqual(rows[1], { n: 7, d: '2024-02-03', keep: null });
    const errs = await db.rows<{ source_field: string; error_type: string; record_number: number }>(
      `select source_field, error_type, record_number from ${db.schema}.mapping_errors where import_id = $1 order by source_field`,
      [r.import_id],
    );
    assert.deepEqual(errs, [
      { source_field: 'd', error_type: 'datetime_conversion', record_number: 2 },
      { source_field: 'n', error_type: 'type_mismatch', record_number: 2 },
    ]);
    assert.deepEqual(Object.keys(await typesOf('adapt')).sort(), ['d', 'keep', 'n']);
  });

  it('forced strategies fail with a reason when they cannot apply', async () => {
    const path = files.write('s.csv', csv([['a'], [1]]));
    await assert.rejects(importFile(db.settings, { ...defaults, source: path, table: 'nope_table', strategy: 'merge_exact' }), (err: unknown) => err instanceof AtlasError && /needs an existing table/.test(err.message) && err.hint === 'leave out --strategy to create it');
    // A mapping's "strategy": the hint names the mapping, not a --strategy nobody gave.
    const mappingFile = files.write('s-map.json', JSON.stringify({ strategy: 'merge_exact' }));
    await assert.rejects(importFile(db.settings, { ...defaults, source: path, table: 'nope_table', mappingFile }), (err: unknown) => err instanceof AtlasError && err.hint === 'leave "strategy" out of the mapping file to create it');
    await importFile(db.settings, { ...defaults, source: path, table: 'forced' });
    await assert.rejects(importFile(db.settings, { ...defaults, source: path, table: 'forced', strategy: 'new_table', allowSameFile: true }), /already exists/);
  });

  it('a bad value in each type is a mapping error with the right type', async () => {
    await importFile(db.settings, { ...defaults, source: files.write('t1.csv', csv([['i', 'n', 'b', 'd', 't'], [1, 1.5, 'true', '2024-01-01', '2024-01-01T10:00:00']])), table: 'bad_each' });
    const r = await importFile(db.settings, {
      ...defaults,
      source: files.write('t2.csv', csv([['i', 'n', 'b', 'd', 't'], ['99999999999', 'abc', 'maybe', '2024-02-30', 'noon'], [2, 2.5, 'false', '2024-02-01', '2024-02-01 11:00']])),
      table: 'bad_each',
    });
    assert.equal(r.rows_inserted, 1);
    const errs = await db.rows<{ source_field: string; error_type: string; source_value: string }>(
      `select source_field, error_type, source_value from ${db.schema}.mapping_errors where import_id = $1 order by source_field`,
      [r.import_id],
    );
    assert.deepEqual(errs, [
      { source_field: 'b', error_type: 'type_mismatch', source_value: 'maybe' },
      { source_field: 'd', error_type: 'datetime_conversion', source_value: '2024-02-30' },
      { source_field: 'i', error_type: 'numeric_overflow', source_value: '99999999999' },
      { source_field: 'n', error_type: 'type_mismatch', source_value: 'abc' },
      { source_field: 't', error_type: 'datetime_conversion', source_value: 'noon' },
    ]);
  });

  it('error budget: N errors pass, N+1 fail with nothing written but the errors kept', async () => {
    const text = csv([['d'], ['2024-01-01'], ['2024-13-01'], ['2024-14-01'], ['2024-01-02']]);
    const ok = await importFile(db.settings, { ...defaults, source: files.write('b1.csv', text), table: 'budget_ok', maxErrors: '2' });
    assert.equal(ok.status, 'partial');
    await assert.rejects(importFile(db.settings, { ...defaults, source: files.write('b2.csv', text), table: 'budget_fail', maxErrors: '1' }), (err: unknown) => {
      assert.ok(err instanceof ImportFailedError);
      assert.match(err.message, /2 mapping error\(s\), more than the --max-errors limit of 1/);
      return true;
    });
    const [h] = await db.rows<Record<string, unknown>>(`select import_id, status, mapping_status, mapping_errors_count, rows_inserted from ${db.schema}.import_history where table_name = 'budget_fail'`);
    assert.equal(h?.status, 'failed');
    assert.equal(h?.mapping_status, 'failed');
    assert.equal(h?.mapping_errors_count, 2);
    assert.equal(h?.rows_inserted, 0);
    const errs = await db.rows(`select 1 from ${db.schema}.mapping_errors where import_id = $1`, [h?.import_id]);
    assert.equal(errs.length, 2);
    assert.equal((await db.rows(`select 1 from pg_tables where schemaname = $1 and tablename = 'budget_fail'`, [db.schema])).length, 0, 'no table created');
    const pct = await importFile(db.settings, { ...defaults, source: files.write('b3.csv', text), table: 'budget_pct', maxErrors: '50%' });
    assert.equal(pct.rows_inserted, 2);
    await assert.rejects(importFile(db.settings, { ...defaults, source: files.write('b4.csv', text), table: 'budget_strict', strict: true }), /--strict/);
  });

  it('a mapping file overrides inference, is validated with the file name, and is stored so the import can be repeated', async () => {
    const data = files.write('mapped.csv', csv([['When', 'Amount', 'Secret', 'Code'], ['05/04/2024', '1.234,50', 'x', '12'], ['31/12/2024', '7,25', 'y', '13']]));
    const mappingPath = join(files.dir, 'mapping.json');
    writeFileSync(
      mappingPath,
      JSON.stringify({ table: 'mapped', columns: { When: { target: 'happened_on', type: 'date', format: '%d/%m/%Y' }, Amount: { type: 'numeric', format: '1.234,56' }, Secret: { ignore: true }, Code: { type: 'text' } } }),
    );
    const r = await importFile(db.settings, { ...defaults, source: data, mappingFile: mappingPath });
    assert.equal(r.table_name, 'mapped');
    assert.deepEqual(await typesOf('mapped'), { happened_on: 'date', amount: 'numeric', code: 'text' });
    const rows = await db.rows<Record<string, string>>(`select happened_on::text, amount::text, code from ${db.schema}.mapped order by id`);
    assert.deepEqual(rows, [
      { happened_on: '2024-04-05', amount: '1234.50', code: '12' },
      { happened_on: '2024-12-31', amount: '7.25', code: '13' },
    ]);
    const [h] = await db.rows<{ mapping_config: Record<string, unknown> }>(`select mapping_config from ${db.schema}.import_history where import_id = $1`, [r.import_id]);
    // The stored mapping is itself a valid mapping file: re-importing with it gives the same table shape.
    const stored = join(files.dir, 'stored.json');
    writeFileSync(stored, JSON.stringify({ ...h!.mapping_config, table: 'mapped_again', strategy: undefined }));
    await importFile(db.settings, { ...defaults, source: data, mappingFile: stored });
    assert.deepEqual(await typesOf('mapped_again'), await typesOf('mapped'));

    const badMapping = join(files.dir, 'bad-mapping.json');
    writeFileSync(badMapping, JSON.stringify({ columns: { Nope: { type: 'integer' }, When: { type: 'datetime' } } }));
    await assert.rejects(importFile(db.settings, { ...defaults, source: data, mappingFile: badMapping }), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /bad-mapping\.json/);
      assert.match(err.message, /"datetime"/);
      return true;
    });
    writeFileSync(badMapping, JSON.stringify({ columns: { Nope: { type: 'integer' } } }));
    await assert.rejects(importFile(db.settings, { ...defaults, source: data, mappingFile: badMapping }), /column\(s\) not in the file: Nope/);
  });

  it('a header that repeats a name or leaves cells empty: the stored mapping names every column once (a#2) and replays each value into its own column', async () => {
    // data.table's melt_1754_synth.csv repeats smoking75; issue_1462's header has 147 empty cells.
    const data = files.write('repeated.csv', csv([['a', 'b', 'a', '', ''], ['x1', 'x2', 'x3', 'x4', 'x5']]));
    const r = await importFile(db.settings, { ...defaults, source: data, table: 'repeated' });
    const [h] = await db.rows<{ mapping_config: { columns: Record<string, { target: string }> } }>(`select mapping_config from ${db.schema}.import_history where import_id = $1`, [r.import_id]);
    const targets = Object.fromEntries(Object.entries(h!.mapping_config.columns).map(([k, v]) => [k, v.target]));
    assert.deepEqual(targets, { a: 'a', b: 'b', 'a#2': 'a_2', '': 'column_4', '#2': 'column_5' });
    const stored = join(files.dir, 'repeated-mapping.json');
    writeFileSync(stored, JSON.stringify({ ...h!.mapping_config, strategy: undefined }));
    const again = await importFile(db.settings, { ...defaults, source: data, mappingFile: stored, allowSameFile: true, dedupe: false });
    assert.equal(again.import_strategy, 'merge_exact', 'no column added');
    const rows = await db.rows(`select a, b, a_2, column_4, column_5 from ${db.schema}.repeated order by id`);
    const row = { a: 'x1', b: 'x2', a_2: 'x3', column_4: 'x4', column_5: 'x5' };
    assert.deepEqual(rows, [row, row]);
  });

  it('--dry-run prints the plan and the first errors and writes nothing', async () => {
    const before = await db.rows(`select 1 from ${db.schema}.import_history`);
    const r = await dryRunImport(db.settings, { ...defaults, source: files.write('dry.csv', csv([['d', 'n'], ['2024-01-01', 1], ['2024-13-01', 2]])), maxErrors: '0' });
    assert.equal(r.dry_run, true);
    assert.equal(r.import_strategy, 'new_table');
    assert.equal(r.mapping_errors_count, 1);
    assert.equal(r.would_fail, true);
    assert.equal(r.first_errors[0]?.record_number, 2);
    assert.deepEqual(r.columns.map((c) => c.type), ['date', 'integer']);
    assert.equal((await db.rows(`select 1 from pg_tables where schemaname = $1 and tablename = 'dry'`, [db.schema])).length, 0);
    assert.equal((await db.rows(`select 1 from ${db.schema}.import_history`)).length, before.length);
  });
});
