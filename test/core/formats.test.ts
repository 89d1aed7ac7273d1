/**
 * The same small data set imported from every format and source ends in the same rows and types.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import ExcelJS from 'exceljs';
import S3rver from 's3rver';
import { dryRunImport, importFile, type ImportOptions } from '../../src/core/import.ts';
import { ImportFailedError } from '../../src/errors.ts';
import { useTempDir, useTestDb } from '../helpers.ts';
import { handMadeXlsx } from '../formats/readerHelpers.ts';

const RECORDS = [
  { id: 1, name: 'Ann', amount: 12.5, day: '2024-01-15', active: true },
  { id: 2, name: "O'Brien, Pat", amount: 1234.56, day: '2024-02-29', active: false },
  { id: 3, name: 'Zoë', amount: 0.99, day: '2023-12-31', active: true },
  { id: 4, name: 'Li "Lee" & y', amount: -3.25, day: '2024-03-01', active: false },
];
const COLUMNS = ['id', 'name', 'amount', 'day', 'active'] as const;
const EXPECTED_ROWS = RECORDS.map((r) => ({ id_2: r.id, name: r.name, amount: String(r.amount), day: r.day, active: r.active }));
const EXPECTED_TYPES = { id_2: 'integer', name: 'text', amount: 'numeric', day: 'date', active: 'boolean' };

function delimited(delimiter: string, eol = '\n'): string {
  const field = (v: unknown): string => {
    const s = String(v);
    return s.includes(delimiter) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [COLUMNS.join(delimiter), ...RECORDS.map((r) => COLUMNS.map((c) => field(r[c])).join(delimiter))].join(eol) + eol;
}

async function xlsx(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Export');
  ws.addRow(['Customer export, March 2024']);
  ws.addRow([]);
  ws.addRow([...COLUMNS]);
  for (const r of RECORDS) {
    const [y, m, d] = r.day.split('-').map(Number) as [number, number, number];
    ws.addRow([r.id, r.name, r.amount, new Date(Date.UTC(y, m - 1, d)), r.active]).getCell(4).numFmt = 'yyyy-mm-dd';
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

describe('every format and source gives the same rows and types', () => {
  const db = useTestDb();
  const files = useTempDir();
  let s3: S3rver;
  let s3Endpoint = '';
  before(async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(files.dir, 's3'), configureBuckets: [{ name: 'exports', configs: [] }] });
    const { port } = await s3.run();
    s3Endpoint = `http://127.0.0.1:${port}`;
  });
  after(() => s3.close());

  async function check(table: string, options: Omit<ImportOptions, 'table'>): Promise<void> {
    const r = await importFile(db.settings, { ...options, table });
    assert.equal(r.status, 'success', table);
    assert.equal(r.rows_inserted, RECORDS.length, table);
    const types = await db.rows<{ column_name: string; data_type: string }>(
      `select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2 and column_name not like '\\_%' and column_name <> 'id'`,
      [db.schema, table],
    );
    assert.deepEqual(Object.fromEntries(types.map((t) => [t.column_name, t.data_type])), EXPECTED_TYPES, table);
    const rows = await db.rows(`select id_2, name, amount::text, day::text, active from ${db.schema}.${table} order by id`);
    assert.deepEqual(rows, EXPECTED_ROWS, table);
  }

  it('CSV, TSV and semicolon CSV', async () => {
    await check('f_csv', { source: files.write('data.csv', delimited(',', '\r\n')) });
    await check('f_tsv', { source: files.write('data.tsv', delimited('\t')) });
    await check('f_semicolon', { source: files.write('semi.csv', delimited(';')) });
  });

  it('UTF-16 (with BOM) and Latin-1 CSV', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(delimited(','), 'utf16le')]);
    await check('f_utf16', { source: files.write('utf16.csv', utf16) });
    await check('f_latin1', { source: files.write('latin1.csv', Buffer.from(delimited(','), 'latin1')), encoding: 'latin1' });
  });

  it('XLSX with title rows above the header and a date column', async () => {
    await check('f_xlsx', { source: files.write('data.xlsx', await xlsx()) });
    const [row] = await db.rows<{ _source_row_number: number; _corrections_applied: Record<string, { correction_type: string }> }>(
      `select _source_row_number, _corrections_applied from ${db.schema}.f_xlsx order by id limit 1`,
    );
    assert.equal(row!._source_row_number, 4, 'the sheet row number');
    assert.equal(row!._corrections_applied.day?.correction_type, 'datetime_standardization', 'date serials are recorded as corrections');
  });

  it('XLSX: the corrections of every date column are recorded under that column, whatever its header', async () => {
    const head = `<row r="1">${['A', 'B', 'C'].map((c, i) => `<c r="${c}1" t="s"><v>${i}</v></c>`).join('')}</row>`;
    const row = (r: number): string => `<row r="${r}"><c r="A${r}" s="1"><v>${44414 + r}</v></c><c r="B${r}" s="1"><v>${45000 + r}</v></c><c r="C${r}" s="1"><v>${45100 + r}</v></c></row>`;
    const bytes = handMadeXlsx([{ name: 'S', rows: head + row(2) + row(3) }], { sharedStrings: ['d', 'd', '__proto__'] });
    const r = await importFile(db.settings, { source: files.write('same-headers.xlsx', bytes), table: 'f_xlsx_heads' });
    assert.deepEqual(r.columns.map((c) => c.target), ['d', 'd_2', '__proto__']);
    const rows = await db.rows<{ d: string; d_2: string; c: Record<string, { before: string; after: string }> }>(
      `select d::text, d_2::text, _corrections_applied c from ${db.schema}.f_xlsx_heads order by id`,
    );
    assert.equal(rows.length, 2);
    for (const [k, x] of rows.entries()) {
      const n = k + 2;
      assert.deepEqual(Object.keys(x.c).sort(), r.columns.map((c) => c.target).sort(), `row ${n}: one correction per date column`);
      assert.deepEqual([x.c.d?.before, x.c.d_2?.before], [String(44414 + n), String(45000 + n)]);
      assert.equal(x.c.d?.after, x.d);
      assert.equal(x.c.d_2?.after, x.d_2);
    }
    // A mapping's target name that JSON and COPY text both escape (a quote, a backslash, a tab).
    const odd = 'when "it"\\was\tdone';
    const mapping = files.write('odd-target.json', `{"columns": {"__proto__": {"target": ${JSON.stringify(odd)}}}}`);
    const r2 = await importFile(db.settings, { source: files.write('odd-target.xlsx', bytes), table: 'f_xlsx_odd', mappingFile: mapping });
    assert.deepEqual(r2.columns.map((c) => c.target), ['d', 'd_2', odd]);
    const [first] = await db.rows<{ c: Record<string, { before: string }> }>(`select _corrections_applied c from ${db.schema}.f_xlsx_odd order by id limit 1`);
    assert.deepEqual(Object.keys(first!.c).sort(), ['d', 'd_2', odd].sort());
    assert.equal(first!.c[odd]?.before, String(45100 + 2));
  });

  it("XLSX: Excel's date serial 60, its 29 February 1900 that never was, is NULL with the serial recorded, a warning and a count; a mapping error under --strict", async () => {
    const head = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>';
    const rows = [59, 60, 61, 60.5].map((serial, i) => `<row r="${i + 2}"><c r="A${i + 2}" s="1"><v>${serial}</v></c><c r="B${i + 2}"><v>${i}</v></c></row>`).join('');
    const bytes = handMadeXlsx([{ name: 'S', rows: head + rows }], { sharedStrings: ['day', 'n'] });
    const r = await importFile(db.settings, { source: files.write('phantom.xlsx', bytes), table: 'f_phantom' });
    assert.equal(r.status, 'success');
    assert.deepEqual(r.warnings.filter((w) => w.includes('1900-02-29')), [
      "day: 2 cell(s) holding Excel's date serial 60, which it shows as 1900-02-29, a day that never was (kept for Lotus 1-2-3) stored as NULL; each cell's serial is in its row's _corrections_applied",
    ]);
    const days = await db.rows(`select day::text, _corrections_applied -> 'day' ->> 'correction_type' as fix from ${db.schema}.f_phantom order by _source_row_number`);
    assert.deepEqual(days, [
      { day: '1900-02-28', fix: 'datetime_standardization' },
      { day: null, fix: 'excel_phantom_date' },
      { day: '1900-03-01', fix: 'datetime_standardization' },
      { day: null, fix: 'excel_phantom_date' },
    ]);
    const [history] = await db.rows(`select metadata -> 'phantom_dates' as m from ${db.schema}.import_history where import_id = $1`, [r.import_id]);
    assert.deepEqual(history, { m: { day: 2 } });
    const err = await importFile(db.settings, { source: files.write('phantom2.xlsx', bytes), table: 'f_phantom_strict', strict: true }).catch((e: unknown) => e);
    assert.ok(err instanceof ImportFailedError, String(err));
    const errors = await db.rows(`select record_number, error_type, source_value from ${db.schema}.mapping_errors where import_id = $1 order by 1`, [err.importId]);
    assert.deepEqual(errors, [
      { record_number: 3, error_type: 'excel_phantom_date', source_value: '60' },
      { record_number: 5, error_type: 'excel_phantom_date', source_value: '60.5' },
    ]);
  });

  it('JSON array, NDJSON, and nested JSON', async () => {
    await check('f_json', { source: files.write('data.json', JSON.stringify(RECORDS)) });
    await check('f_ndjson', { source: files.write('data.ndjson', RECORDS.map((r) => JSON.stringify(r)).join('\n')) });
    const nested = RECORDS.map((r) => ({ id: r.id, name: r.name, money: { amount: r.amount }, day: r.day, active: r.active, tags: ['a', r.id] }));
    const res = await importFile(db.settings, { source: files.write('nested.json', JSON.stringify({ data: { items: nested } })), table: 'f_nested', recordPath: 'data.items' });
    assert.equal(res.rows_inserted, 4);
    const rows = await db.rows<{ money_amount: string; tags: unknown }>(`select money_amount::text, tags from ${db.schema}.f_nested order by id`);
    assert.deepEqual(rows[1], { money_amount: '1234.56', tags: ['a', 2] });
    // GeoJSON: a JSON document by its extension, its records at --record-path features.
    const features = RECORDS.map((r) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [r.amount, r.id] }, properties: { name: r.name } }));
    const geo = await importFile(db.settings, { source: files.write('points.geojson', JSON.stringify({ type: 'FeatureCollection', features }, null, 2)), table: 'f_geojson', recordPath: 'features' });
    assert.equal(geo.rows_inserted, 4);
    assert.deepEqual(await db.rows(`select properties_name from ${db.schema}.f_geojson order by id`), RECORDS.map((r) => ({ properties_name: r.name })));
  });

  it('JSON of the same shape again into the table it made, arrays and objects in jsonb columns: merge_exact, not adapt_data (the record said the data was adapted)', async () => {
    const first = await importFile(db.settings, { source: files.write('shape1.json', JSON.stringify([{ a: 1, b: [1, 2], c: { d: { e: 1 } } }])), table: 'f_shape' });
    assert.equal(first.import_strategy, 'new_table');
    const again = await importFile(db.settings, { source: files.write('shape2.json', JSON.stringify([{ a: 3, b: [4], c: { d: { e: 2 } } }])), table: 'f_shape' });
    assert.deepEqual([again.import_strategy, again.rows_inserted], ['merge_exact', 1]);
  });

  it('JSON and XML keys that first appear deep into the file, and keys that stop appearing', async () => {
    // 20,000 records span many reader batches and COPY pieces: `late` first appears in record
    // 15,001 (the staging table gains a column mid-read), `early` is missing after record 5,000.
    const n = 20_000;
    const recs = Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      ...(i < 5000 ? { early: `e${i + 1}` } : {}),
      ...(i >= 15_000 ? { late: i + 1 } : {}),
      ...(i === n - 1 ? { tags: ['x', 'y'] } : {}),
    }));
    const xmlBody = recs.map((r) => `<r id="${r.id}">${'early' in r ? `<early>${r.early}</early>` : ''}${'late' in r ? `<late>${r.late}</late>` : ''}</r>`).join('\n');
    for (const [table, source] of [
      ['f_late_json', files.write('late.json', JSON.stringify(recs))],
      ['f_late_xml', files.write('late.xml', `<rs>\n${xmlBody}\n</rs>\n`)],
    ] as const) {
      const r = await importFile(db.settings, { source, table });
      assert.equal(r.rows_inserted, n, table);
      const [counts] = await db.rows<{ early: string; late: string; late_sum: string; first_late: number; last_early: number }>(
        `select count(early) as early, count(late) as late, sum(late)::text as late_sum,
                min(_source_row_number) filter (where late is not null) as first_late,
                max(_source_row_number) filter (where early is not null) as last_early
           from ${db.schema}.${table}`,
      );
      assert.deepEqual(counts, { early: '5000', late: '5000', late_sum: String(((15_001 + n) * 5000) / 2), first_late: 15_001, last_early: 5000 }, table);
      const types = await db.rows<{ column_name: string; data_type: string }>(
        `select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2 and column_name in ('early', 'late', 'tags') order by column_name`,
        [db.schema, table],
      );
      assert.deepEqual(
        types.map((t) => `${t.column_name} ${t.data_type}`),
        table === 'f_late_json' ? ['early text', 'late integer', 'tags jsonb'] : ['early text', 'late integer'],
        table,
      );
    }
    const [last] = await db.rows<{ tags: unknown }>(`select tags from ${db.schema}.f_late_json where _source_row_number = $1`, [n]);
    assert.deepEqual(last!.tags, ['x', 'y']);
  });

  it('JSON and XML into an existing text column: scalars keep their text, an array or object is its JSON text, said and counted; into a new table, jsonb arrays', async () => {
    const history = async (id: string) =>
      (await db.rows<{ warnings: string[]; metadata: Record<string, unknown> }>(`select warnings, metadata from ${db.schema}.import_history where import_id = $1`, [id]))[0]!;
    // v is a string, then a number as written, then an array (its key is JSON from there), then a string that looks like JSON, null, an object.
    const json = files.write(
      'la.json',
      '[{"k":3,"v":"c"},{"k":4,"v":1e3},{"k":5,"v":["d"]},{"k":6,"v":"[draft]"},{"k":7,"v":null},{"k":8,"v":{"x":1}},{"k":9,"v":2.50},{"k":10,"v":"say \\"hi\\" \\u00e9"}]',
    );
    const xml = files.write('la.xml', '<rs><r><k>3</k><v>c</v></r><r><k>4</k><v>d</v><v>e</v></r><r><k>5</k><v>[f]</v></r><r><k>6</k><v/></r></rs>');
    for (const [table, source, expected, counted] of [
      ['f_text_json', json, ['c', '1e3', '["d"]', '[draft]', null, '{"x":1}', '2.50', 'say "hi" é'], 2],
      ['f_text_xml', xml, ['c', '["d","e"]', '[f]', null], 1],
    ] as const) {
      const first = await importFile(db.settings, { source: files.write(`${table}.csv`, 'k,v\n1,a\n2,b\n'), table });
      assert.equal(first.status, 'success');
      const r = await importFile(db.settings, { source, table });
      assert.equal(r.status, 'success', table);
      const rows = await db.rows<{ v: string | null; fixes: unknown }>(`select v, _corrections_applied as fixes from ${db.schema}.${table} where _import_id = $1 order by id`, [r.import_id]);
      assert.deepEqual(rows.map((row) => row.v), expected, table);
      assert.ok(rows.every((row) => row.fixes === null), table);
      const h = await history(r.import_id);
      assert.deepEqual(h.metadata['json_as_text'], { v: counted }, table);
      assert.equal(h.metadata['keys_made_arrays'] ?? h.metadata['elements_made_arrays'], undefined, table);
      assert.ok(h.warnings.some((w) => w.startsWith(`${counted} value(s) of v are JSON arrays or objects, stored as their JSON text: column v of ${table} is text`)), table);
    }
    // The same file into a new table: one key, one shape, a jsonb array in every record.
    const fresh = await importFile(db.settings, { source: json, table: 'f_jsonb_json' });
    const values = await db.rows<{ v: unknown }>(`select v from ${db.schema}.f_jsonb_json order by id`);
    assert.deepEqual(values.map((row) => row.v), [['c'], [1000], ['d'], ['[draft]'], null, [{ x: 1 }], [2.5], ['say "hi" é']]);
    assert.deepEqual((await history(fresh.import_id)).metadata['keys_made_arrays'], { v: 2 });
  });

  it('a whitespace-only value is the same from CSV, JSON and XML: kept in a text column, NULL with a null_value correction in a typed one', async () => {
    const sources = [
      ['f_ws_csv', files.write('ws.csv', 'k,v,n\n1,   ,   \n2,x,5\n')],
      ['f_ws_json', files.write('ws.json', '[{"k":1,"v":"   ","n":"   "},{"k":2,"v":"x","n":5}]')],
      ['f_ws_xml', files.write('ws.xml', '<rs>\n  <r>\n    <k>1</k>\n    <v>   </v>\n    <n>   </n>\n  </r>\n  <r>\n    <k>2</k>\n    <v>x</v>\n    <n>5</n>\n  </r>\n</rs>\n')],
    ] as const;
    for (const [table, source] of sources) {
      assert.equal((await importFile(db.settings, { source, table })).status, 'success', table);
      const rows = await db.rows(`select k, v, n, _corrections_applied as fixes from ${db.schema}.${table} order by id`);
      assert.deepEqual(
        rows,
        [
          { k: 1, v: '   ', n: null, fixes: { n: { before: '   ', after: null, correction_type: 'null_value' } } },
          { k: 2, v: 'x', n: 5, fixes: null },
        ],
        table,
      );
    }
  });

  it('JSON and XML into an existing jsonb column: a key the file holds no JSON in goes in as JSON values, arrays of one where the column holds arrays, said and counted; CSV text must still be JSON', async () => {
    const history = async (id: string) =>
      (await db.rows<{ warnings: string[]; metadata: Record<string, unknown> }>(`select warnings, metadata from ${db.schema}.import_history where import_id = $1`, [id]))[0]!;
    const values = async (table: string, column: string, id: string) =>
      (await db.rows<{ v: string | null }>(`select ${column}::text as v from ${db.schema}.${table} where _import_id = $1 order by id`, [id])).map((r) => r.v);
    const errors = async (id: string) => db.rows(`select source_field, source_value, error_type from ${db.schema}.mapping_errors where import_id = $1 order by record_number`, [id]);
    // XML: tag repeats in the first file (a jsonb array column), never in the second (each a leaf's text, a JSON string).
    const xml1 = files.write('ja1.xml', '<rs><r><n>1</n><tag>a</tag><tag>b</tag></r><r><n>2</n><tag>x</tag></r></rs>');
    const xml2 = files.write('ja2.xml', '<rs><r><n>3</n><tag>c</tag></r><r><n>4</n><tag>2</tag></r><r><n>5</n></r></rs>');
    // JSON: tag held arrays, then strings, numbers, booleans, null, a string that looks like JSON; o_a an object (not an array), then a string and a number.
    const json1 = files.write('ja1.json', '[{"k":1,"tag":["a"],"o":{"a":{"b":1}}},{"k":2,"tag":[1,"b"]}]');
    const json2 = files.write('ja2.json', '[{"k":3,"tag":"c","o":{"a":"s"}},{"k":4,"tag":2.50},{"k":5,"tag":true},{"k":6,"tag":null},{"k":7,"tag":"[x]","o":{"a":-1}}]');
    // Only strings: "2" and "true" stay strings.
    const ndjson3 = files.write('ja3.ndjson', '{"k":8,"tag":"2"}\n{"k":9,"tag":"true"}\n');
    assert.equal((await importFile(db.settings, { source: xml1, table: 'f_jsonb_xml' })).status, 'success');
    assert.equal((await importFile(db.settings, { source: json1, table: 'f_jsonb_arrays' })).status, 'success');
    for (const [table, source, column, expected, counted] of [
      ['f_jsonb_xml', xml2, 'tag', ['["c"]', '["2"]', null], { tag: 2 }],
      ['f_jsonb_arrays', json2, 'tag', ['["c"]', '[2.50]', '[true]', null, '["[x]"]'], { tag: 4 }],
      ['f_jsonb_arrays', ndjson3, 'tag', ['["2"]', '["true"]'], { tag: 2 }],
    ] as const) {
      const dry = await dryRunImport(db.settings, { source, table });
      assert.equal(dry.mapping_errors_count, 0, `${table}: the dry run predicts no mapping errors`);
      assert.equal(dry.would_fail, false, table);
      const r = await importFile(db.settings, { source, table });
      assert.equal(r.status, 'success', table);
      assert.deepEqual(await values(table, column, r.import_id), expected, table);
      assert.deepEqual(await errors(r.import_id), [], table);
      const h = await history(r.import_id);
      assert.deepEqual(h.metadata['values_made_arrays'], counted, table);
      const n = Object.values(counted)[0];
      assert.ok(h.warnings.some((w) => w.startsWith(`${n} value(s) of tag are not arrays, each stored as an array of one: column tag of ${table} holds JSON arrays`)), table);
    }
    // o_a holds objects, not arrays: a string and a number go in as themselves, not counted.
    const o = await db.rows<{ v: string | null }>(`select o_a::text as v from ${db.schema}.f_jsonb_arrays where o_a is not null order by id`);
    assert.deepEqual(o.map((r) => r.v), ['{"b": 1}', '"s"', '-1']);
    // A CSV column's text is JSON text in a jsonb column, as before: an array as it is, other text a mapping error.
    const c = await importFile(db.settings, { source: files.write('ja4.csv', 'k,tag\n10,"[""q""]"\n11,nope\n'), table: 'f_jsonb_arrays' });
    assert.equal(c.status, 'partial');
    assert.deepEqual(await values('f_jsonb_arrays', 'tag', c.import_id), ['["q"]']);
    assert.deepEqual(await errors(c.import_id), [{ source_field: 'tag', source_value: 'nope', error_type: 'type_mismatch' }]);
    assert.equal((await history(c.import_id)).metadata['values_made_arrays'], undefined);
  });

  it('XML with attributes', async () => {
    const body = RECORDS.map((r) => `<customer id="${r.id}"><name>${xmlEscape(r.name)}</name><amount>${r.amount}</amount><day>${r.day}</day><active>${r.active}</active></customer>`).join('\n');
    await check('f_xml', { source: files.write('data.xml', `<?xml version="1.0" encoding="UTF-8"?>\n<customers>\n${body}\n</customers>\n`) });
  });

  it('gzip, stdin and S3-compatible storage', async () => {
    await check('f_gzip', { source: files.write('data.csv.gz', gzipSync(delimited(','))) });
    await check('f_stdin', { source: '-', stdin: Readable.from([Buffer.from(delimited(','))]) });
    // A pipe gives what its writer wrote so far: the format and the compression are told from the first bytes, not the first chunk.
    const lines = Buffer.from(`\n${RECORDS.map((r) => JSON.stringify(r)).join('\n')}\n`);
    await check('f_stdin_slow', { source: '-', stdin: Readable.from([lines.subarray(0, 1), lines.subarray(1)]) });
    const gz = gzipSync(delimited(','));
    await check('f_stdin_slow_gz', { source: '-', stdin: Readable.from([gz.subarray(0, 1), gz.subarray(1, 5), gz.subarray(5)]) });
    const client = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    await client.send(new PutObjectCommand({ Bucket: 'exports', Key: 'daily/data.csv', Body: delimited(',') }));
    client.destroy();
    const settings = { ...db.settings, s3: { endpoint: s3Endpoint, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true } };
    const r = await importFile(settings, { source: 's3://exports/daily/data.csv', table: 'f_s3' });
    assert.equal(r.rows_inserted, 4);
    const [h] = await db.rows<{ source_type: string; source_path: string; metadata: Record<string, unknown> }>(
      `select source_type, source_path, metadata from ${db.schema}.import_history where import_id = $1`,
      [r.import_id],
    );
    assert.equal(h!.source_type, 'b2_storage');
    assert.equal(h!.source_path, 's3://exports/daily/data.csv');
    assert.equal(typeof h!.metadata.etag, 'string');
    const rows = await db.rows(`select id_2, name, amount::text, day::text, active from ${db.schema}.f_s3 order by id`);
    assert.deepEqual(rows, EXPECTED_ROWS);
    // --name is the file name recorded and the table's, as for a local file.
    const named = await importFile(settings, { source: 's3://exports/daily/data.csv', table: null, name: 'orders.csv', allowSameFile: true });
    assert.equal(named.table_name, 'orders');
    const [n] = await db.rows<{ file_name: string; source_path: string }>(`select file_name, source_path from ${db.schema}.import_history where import_id = $1`, [named.import_id]);
    assert.deepEqual(n, { file_name: 'orders.csv', source_path: 's3://exports/daily/data.csv' });
  });

  it('hostile input ends in a clear message or in corrections, never a crash or a hang', async () => {
    const nul = await importFile(db.settings, { source: files.write('nul.csv', 'a,b\nx\u0000y,1\n'), table: 'h_nul' });
    assert.equal(nul.rows_inserted, 1);
    const [row] = await db.rows<{ a: string; _corrections_applied: Record<string, unknown> }>(`select a, _corrections_applied from ${db.schema}.h_nul`);
    assert.equal(row!.a, 'xy');
    assert.deepEqual(row!._corrections_applied.a, { before: 'x\\0y', after: 'xy', correction_type: 'nul_removed' });
    assert.ok(nul.warnings.some((w) => w.includes('NUL')));
    // Two corrections in one row.
    const two = await importFile(db.settings, { source: files.write('nul2.csv', 'a,b\nx\u0000y,p\u0000q\u0000\n'), table: 'h_nul2' });
    assert.equal(two.rows_inserted, 1);
    const [fixed] = await db.rows<{ c: Record<string, unknown> }>(`select _corrections_applied c from ${db.schema}.h_nul2`);
    assert.deepEqual(fixed!.c, {
      a: { before: 'x\\0y', after: 'xy', correction_type: 'nul_removed' },
      b: { before: 'p\\0q\\0', after: 'pq', correction_type: 'nul_removed' },
    });
    // The same in a keyed input (JSON), where the fix joins the line after the values.
    const nulJson = await importFile(db.settings, { source: files.write('nul.json', '[{"a":"x\\u0000y","b":1},{"a":"z","b":2}]'), table: 'h_nul_json' });
    assert.equal(nulJson.rows_inserted, 2);
    const jsonRows = await db.rows<{ a: string; b: number; c: Record<string, unknown> | null }>(`select a, b, _corrections_applied c from ${db.schema}.h_nul_json order by id`);
    assert.deepEqual(jsonRows, [
      { a: 'xy', b: 1, c: { a: { before: 'x\\0y', after: 'xy', correction_type: 'nul_removed' } } },
      { a: 'z', b: 2, c: null },
    ]);
    // In a jsonb column (an array), \u0000 is removed and recorded the same, where jsonb refused the whole import.
    const nulDeep = await importFile(db.settings, { source: files.write('nul_deep.ndjson', '{"a":["z"],"b":1}\n{"a":["x\\u0000y","\\\\u0000"],"b":2}\n'), table: 'h_nul_deep', format: 'ndjson' });
    assert.equal(nulDeep.rows_inserted, 2);
    assert.ok(nulDeep.warnings.some((w) => /1 JSON value\(s\) held \\u0000/.test(w)), nulDeep.warnings.join('; '));
    const deepRows = await db.rows<{ a: unknown; c: Record<string, unknown> | null }>(`select a, _corrections_applied c from ${db.schema}.h_nul_deep order by id`);
    assert.deepEqual(deepRows, [
      { a: ['z'], c: null },
      { a: ['xy', '\\u0000'], c: { a: { before: '["x\\u0000y","\\\\u0000"]', after: '["xy","\\\\u0000"]', correction_type: 'nul_removed' } } },
    ]);
    // A lone UTF-16 surrogate (half of a pair) is stored as U+FFFD and recorded, in text and in jsonb; a pair stays.
    const lone = await importFile(db.settings, {
      source: files.write('lone.json', '[{"s":"a\\ud800b","j":["\\udc00"],"k":1},{"s":"\\ud83d\\ude00","j":["\\ud83d\\ude00"],"k":2}]'),
      table: 'h_lone',
    });
    assert.equal(lone.rows_inserted, 2);
    assert.ok(lone.warnings.some((w) => /2 value\(s\) held a lone UTF-16 surrogate/.test(w)), lone.warnings.join('; '));
    const loneRows = await db.rows<{ s: string; j: unknown; c: Record<string, unknown> | null }>(`select s, j, _corrections_applied c from ${db.schema}.h_lone order by id`);
    assert.deepEqual(loneRows, [
      {
        s: 'a\ufffdb',
        j: ['\ufffd'],
        c: {
          s: { before: 'a\\ud800b', after: 'a\ufffdb', correction_type: 'lone_surrogate_replaced' },
          j: { before: '["\\udc00"]', after: '["\\ufffd"]', correction_type: 'lone_surrogate_replaced' },
        },
      },
      { s: '\u{1f600}', j: ['\u{1f600}'], c: null },
    ]);

    const gz = gzipSync(delimited(',').repeat(200));
    await assert.rejects(importFile(db.settings, { source: files.write('cut.csv.gz', gz.subarray(0, gz.length - 30)), table: 'h_gz' }), (err: unknown) => {
      assert.ok(err instanceof ImportFailedError);
      assert.match(err.message, /gzip data is corrupt or truncated/);
      return true;
    });
    const xls = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(2000)]);
    await assert.rejects(importFile(db.settings, { source: files.write('old.xlsx', xls), table: 'h_xls' }), /xls|binary Excel/i);
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz><r><v>&lol2;</v></r><r><v>x</v></r></lolz>`;
    await assert.rejects(importFile(db.settings, { source: files.write('laughs.xml', laughs), table: 'h_xml' }), /entit/i);
    const failed = await db.rows<{ status: string }>(`select status from ${db.schema}.import_history where table_name like 'h\\_%' and status = 'failed'`);
    assert.equal(failed.length, 3, 'each refusal is recorded as a failed import');
  });
});
