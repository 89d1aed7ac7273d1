import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32, deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { AtlasError, UsageError } from '../../src/errors.ts';
import { openXlsx } from '../../src/formats/xlsx/xlsx.ts';
import { Parking } from '../../src/formats/xlsx/xlsxParking.ts';
import { booleanText, dateCell, elapsedTimeCell, excelDateFixJson, formatExcelNumber, isDateFormat, isElapsedTimeFormat, isoDateCell, isTimeOfDayFormat, numberText, serialDateCell, type CellText } from '../../src/formats/xlsx/xlsxValues.ts';
import { slideFormula } from '../../src/formats/xlsx/xlsxFormula.ts';
import { ZipInput } from '../../src/formats/zip/zipInput.ts';
import type { ReaderFix } from '../../src/formats/shared/types.ts';
import { HashingReader } from '../../src/sources/source.ts';
import { chunked, handMadeXlsx, makeZip, readRows, within, type ZipEntry } from './readerHelpers.ts';
import { fixJson } from '../../src/db/staging/index.ts';
import { mulberry32 } from '../../bench/generate.ts';

const utc = (y: number, m: number, d: number, h = 0, mi = 0, s = 0): Date => new Date(Date.UTC(y, m - 1, d, h, mi, s));

/** A workbook as a person makes one: a title row, a blank row, the table (with an empty row inside), a second sheet. */
async function ordersWorkbook(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Orders');
  ws.addRow(['Quarterly orders report']);
  ws.addRow([]);
  ws.addRow(['id', 'name', 'amount', 'ordered', 'paid', 'total', 'link']);
  ws.addRow([1, 'Ann', 12.5, utc(2024, 1, 15), true, { formula: 'C4*2', result: 25 }, { text: 'site', hyperlink: 'https://example.com' }]);
  ws.addRow([]);
  ws.addRow([2, { richText: [{ text: 'Bo' }, { font: { bold: true }, text: 'b' }] }, 1234.5, utc(2024, 2, 29, 13, 45, 30), false, { formula: 'C6*2' }, { error: '#N/A' }]);
  ws.addRow([3, 'Zoë', 0.1 + 0.2, utc(2024, 3, 1), true, 1e21, 1.5e-7]);
  ws.getCell('D4').numFmt = 'yyyy-mm-dd';
  ws.getCell('D6').numFmt = 'yyyy-mm-dd hh:mm:ss';
  ws.getCell('D7').numFmt = 'dd/mm/yyyy';
  const other = wb.addWorksheet('Second');
  other.addRow(['x', 'y']);
  other.addRow(['a', 2]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

const DATE_FIX = { correction_type: 'datetime_standardization', source_format: 'excel_serial' };
/** A serial of a 1904-system workbook: its count starts on 1 January 1904, which the correction names. */
const DATE_1904 = { correction_type: 'datetime_standardization', source_format: 'excel_serial_1904' };
/** A row's corrections as the reader gives them: by field position, `fix` at `i` and nothing else. */
function fixAt(i: number, fix: ReaderFix): Array<ReaderFix | undefined> {
  const fixes: Array<ReaderFix | undefined> = [];
  fixes[i] = fix;
  return fixes;
}

describe('openXlsx', () => {
  it('finds the header below title rows and converts every kind of cell', async () => {
    const table = await openXlsx(chunked(await ordersWorkbook()), { sheet: null, headerRow: null });
    assert.deepEqual(table.header, ['id', 'name', 'amount', 'ordered', 'paid', 'total', 'link']);
    assert.deepEqual(table.details, { format: 'xlsx', sheet: 'Orders', sheet_position: 1, header_row: 3, rows_above_header_skipped: 1 });
    const rows = await readRows(table);
    assert.deepEqual(rows, [
      {
        rn: 4,
        fields: ['1', 'Ann', '12.5', '2024-01-15', 'true', '25', 'site'],
        fixes: fixAt(3, { before: '45306', after: '2024-01-15', ...DATE_FIX }),
      },
      {
        rn: 6, // row 5 is empty
        fields: ['2', 'Bob', '1234.5', '2024-02-29T13:45:30', 'false', null, null],
        // The error cell and the formula without a calculated value are NULL, their text kept as corrections.
        fixes: Object.assign(fixAt(3, { before: '45351.57326388889', after: '2024-02-29T13:45:30', ...DATE_FIX }), {
          5: { before: '=C6*2', after: null, correction_type: 'formula_not_calculated' },
          6: { before: '#N/A', after: null, correction_type: 'spreadsheet_error' },
        }),
      },
      {
        rn: 7,
        fields: ['3', 'Zoë', '0.30000000000000004', '2024-03-01', 'true', '1000000000000000000000', '0.00000015'],
        fixes: fixAt(3, { before: '45352', after: '2024-03-01', ...DATE_FIX }),
      },
    ]);
  });

  it('picks a sheet by name or 1-based number, and lists the sheets when it does not exist', async () => {
    const bytes = await ordersWorkbook();
    for (const sheet of ['Second', 'second', 2]) {
      const table = await openXlsx(chunked(bytes), { sheet, headerRow: null });
      assert.deepEqual(table.header, ['x', 'y']);
      assert.equal(table.details.sheet, 'Second');
      assert.deepEqual((await readRows(table)).map((r) => r.fields), [['a', '2']]);
    }
    await assert.rejects(openXlsx(chunked(bytes), { sheet: 'Missing', headerRow: null }), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.message, 'there is no sheet named "Missing": the workbook has "Orders", "Second"');
      return true;
    });
    await assert.rejects(openXlsx(chunked(bytes), { sheet: 3, headerRow: null }), /there is no sheet 3: the workbook has 2 sheet\(s\): "Orders", "Second"/);
    // A sheet named like a number, past the number of sheets, is found by its name.
    const years = handMadeXlsx([{ name: '2023', rows: '' }, { name: '2024', rows: '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' }], { sharedStrings: ['y'] });
    assert.equal((await openXlsx(chunked(years), { sheet: 2024, headerRow: null })).details.sheet, '2024');
  });

  it('takes the header row given, and refuses an empty one', async () => {
    const bytes = await ordersWorkbook();
    const table = await openXlsx(chunked(bytes), { sheet: null, headerRow: 3 });
    assert.equal(table.header[0], 'id');
    assert.equal((await readRows(table)).length, 3);
    const fromTitle = await openXlsx(chunked(bytes), { sheet: null, headerRow: 1 });
    // The table's width is that of the header and the rows under it.
    assert.deepEqual(fromTitle.header, ['Quarterly orders report', '', '', '', '', '', '']);
    await assert.rejects(openXlsx(chunked(bytes), { sheet: null, headerRow: 2 }), /row 2 of sheet "Orders" is empty/);
  });

  it('reads a sheet streamed straight through (shared strings first) and one parked on disk alike', async () => {
    const sheets = [
      { name: 'Data', rows: '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2"><v>7</v></c><c r="B2" s="1"><v>45292.5</v></c></row>' },
      { name: 'Later', rows: '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' },
    ];
    for (const sharedStringsFirst of [true, false]) {
      const bytes = handMadeXlsx(sheets, { sharedStrings: ['n', 'when'], sharedStringsFirst });
      for (const sheet of [null, 'Later']) {
        const source = new HashingReader(chunked(bytes, 100));
        const table = await openXlsx(source, { sheet, headerRow: null });
        const rows = await readRows(table);
        if (sheet === null) {
          assert.deepEqual(table.header, ['n', 'when']);
          assert.deepEqual(rows, [{ rn: 2, fields: ['7', '2024-01-01T12:00:00'], fixes: fixAt(1, { before: '45292.5', after: '2024-01-01T12:00:00', ...DATE_FIX }) }]);
        } else assert.deepEqual(table.header, ['n']);
        // Every byte went through the reader, so the import's hash covers the whole file.
        assert.equal(source.bytes, bytes.length, `sharedStringsFirst=${sharedStringsFirst} sheet=${sheet}`);
      }
    }
  });

  it('reads every part of the archive even when the zip parser runs ahead of exceljs', async () => {
    // Stored parts need no zlib round trip, so unzipper reaches the end of the archive while
    // exceljs is still copying the first sheet to a temporary file; the shared strings and the
    // second sheet then wait in the parser's buffer, and must be read all the same.
    const sheets = [
      { name: 'First', rows: '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>2</v></c></row>' },
      { name: 'Second', rows: '<row r="1"><c r="A1" t="s"><v>2</v></c><c r="B1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><v>3</v></c><c r="B2"><v>4</v></c></row>' },
    ];
    const bytes = handMadeXlsx(sheets, { sharedStrings: ['n', 'word', 'x'], sharedStringsFirst: false, stored: true });
    const first = await openXlsx(chunked(bytes), { sheet: null, headerRow: null });
    assert.deepEqual(first.header, ['n', 'word']);
    assert.deepEqual((await readRows(first)).map((r) => r.fields), [['1', 'x']]);
    const second = await openXlsx(chunked(bytes), { sheet: 'Second', headerRow: null });
    assert.deepEqual(second.header, ['x', 'n']);
    assert.deepEqual((await readRows(second)).map((r) => r.fields), [['3', '4']]);
  });

  it('reads a table that starts right of column A, and refuses a stray value left of it', async () => {
    const cells = (r: number) => `<row r="${r}"><c r="B${r}"><v>${r}</v></c><c r="C${r}" t="s"><v>2</v></c></row>`;
    const rows = `<row r="2"><c r="B2" t="s"><v>0</v></c><c r="C2" t="s"><v>1</v></c></row>${cells(3)}${cells(4)}`;
    const table = await openXlsx(chunked(handMadeXlsx([{ name: 'S', rows }], { sharedStrings: ['n', 'label', 'x'] })), { sheet: null, headerRow: null });
    assert.deepEqual(table.header, ['n', 'label']);
    assert.deepEqual((await readRows(table)).map((r) => r.fields), [['3', 'x'], ['4', 'x']]);
    const body = Array.from({ length: 40 }, (_, i) => cells(i + 3)).join('');
    const stray = handMadeXlsx([{ name: 'S', rows: `<row r="2"><c r="B2" t="s"><v>0</v></c><c r="C2" t="s"><v>1</v></c></row>${body}<row r="50"><c r="A50" t="s"><v>2</v></c></row>` }], { sharedStrings: ['n', 'label', 'x'] });
    await assert.rejects(async () => readRows(await openXlsx(chunked(stray), { sheet: null, headerRow: null })), /sheet "S" row 50 has a value in column A, left of the table, which starts at column B/);
  });

  it('never takes a row holding a number as the header on a guess, nor drops the header for one wider row below it', async () => {
    const text = (ref: string, t: string) => `<c r="${ref}" t="inlineStr"><is><t>${t}</t></is></c>`;
    const person = (r: number, name: string, score: number, note = '') =>
      `<row r="${r}">${text(`A${r}`, name)}${text(`B${r}`, 'Oslo')}<c r="C${r}"><v>${score}</v></c>${note && text(`D${r}`, note)}</row>`;
    /** The header at row `h`, then three people; a notes column without a header, filled on the middle row only. */
    const scores = (h: number) => `<row r="${h}">${text(`A${h}`, 'name')}${text(`B${h}`, 'city')}${text(`C${h}`, 'score')}</row>${person(h + 1, 'Ann', 3)}${person(h + 2, 'Bob', 4, 'see note')}${person(h + 3, 'Cid', 5)}`;
    // Bob's row held the most text cells, and was taken as the header with the rows above it dropped.
    const table = await openXlsx(chunked(rawWorkbook('', scores(1))), { sheet: null, headerRow: null });
    // The notes column is the table's fourth, without a name (named when imported).
    assert.deepEqual(table.header, ['name', 'city', 'score', '']);
    assert.deepEqual(table.details, { format: 'xlsx', sheet: 'S', sheet_position: 1, header_row: 1 });
    assert.deepEqual((await readRows(table)).map((r) => r.fields), [['Ann', 'Oslo', '3', null], ['Bob', 'Oslo', '4', 'see note'], ['Cid', 'Oslo', '5', null]]);
    // Below a title row, the header is still the row of text, and only the title is skipped.
    const titled = await openXlsx(chunked(rawWorkbook('', `<row r="1">${text('A1', 'Scores')}</row>${scores(2)}`)), { sheet: null, headerRow: null });
    assert.deepEqual([titled.header, titled.details, (await readRows(titled)).length], [['name', 'city', 'score', ''], { format: 'xlsx', sheet: 'S', sheet_position: 1, header_row: 2, rows_above_header_skipped: 1 }, 3]);
  });

  it('reads dates of a workbook in the 1904 date system', async () => {
    const wb = new ExcelJS.Workbook();
    wb.properties.date1904 = true;
    const ws = wb.addWorksheet('Mac');
    ws.addRow(['day', 'n', 'at']);
    ws.addRow([utc(2024, 1, 1), 1]);
    ws.getCell('A2').numFmt = 'yyyy-mm-dd';
    // Serials below 1 are 1 January 1904, a day (a time alone in a format that shows no day).
    ws.addRow([0, 2]);
    ws.addRow([0.25, 3, 0.25]);
    for (const cell of ['A3', 'A4']) ws.getCell(cell).numFmt = 'yyyy-mm-dd hh:mm';
    ws.getCell('C4').numFmt = 'h:mm AM/PM';
    const rows = await readRows(await openXlsx(chunked(Buffer.from(await wb.xlsx.writeBuffer())), { sheet: null, headerRow: null }));
    assert.deepEqual(rows, [
      { rn: 2, fields: ['2024-01-01', '1', null], fixes: fixAt(0, { before: '43830', after: '2024-01-01', ...DATE_1904 }) },
      { rn: 3, fields: ['1904-01-01', '2', null], fixes: fixAt(0, { before: '0', after: '1904-01-01', ...DATE_1904 }) },
      { rn: 4, fields: ['1904-01-01T06:00:00', '3', '06:00:00'], fixes: Object.assign(fixAt(0, { before: '0.25', after: '1904-01-01T06:00:00', ...DATE_1904 }), { 2: { before: '0.25', after: '06:00:00', ...DATE_1904 } }) },
    ]);
    // The JSON written for the row's corrections says so too (readxl's type-me.xlsx: 40908 read as 2016-01-01, which 1900's count makes 2011-12-31).
    assert.equal(excelDateFixJson(serialDateCell(40908, true, '40908').fix!), '{"before":"40908","after":"2016-01-01","correction_type":"datetime_standardization","source_format":"excel_serial_1904"}');
    for (const time of ['h:mm', 'hh:mm:ss AM/PM', '[$-409]h:mm:ss;@', 'mm:ss.0']) assert.ok(isTimeOfDayFormat(time), time);
    for (const day of ['yyyy-mm-dd hh:mm', 'd h:mm', 'mmm h:mm', '[h]:mm', 'yyyy']) assert.ok(!isTimeOfDayFormat(day), day);
    // In the 1900 system a serial below 1 lies on a day 0 that never was: a time alone, whatever the format.
    assert.equal(serialDateCell(0.25, false, '0.25').text, '06:00:00');
  });

  it('yields rows in batches as it reads', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Big');
    ws.addRow(['n', 'square']);
    for (let i = 1; i <= 2500; i++) ws.addRow([i, i * i]);
    const table = await openXlsx(chunked(Buffer.from(await wb.xlsx.writeBuffer()), 997), { sheet: null, headerRow: null });
    const sizes: number[] = [];
    let last: string[] = [];
    for await (const batch of table.batches) {
      sizes.push(batch.length);
      last = batch.at(-1)?.fields as string[];
    }
    assert.deepEqual(sizes, [1000, 1000, 500]);
    assert.deepEqual(last, ['2500', '6250000']);
  });

  it('refuses a legacy .xls with a one-line message saying what to do', async () => {
    const xls = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(1024, 7)]);
    await assert.rejects(openXlsx(chunked(xls), { sheet: null, headerRow: null }), (err: Error) => {
      assert.ok(err instanceof AtlasError);
      assert.match(err.message, /old binary Excel file \(\.xls\)/);
      assert.match(err.hint ?? '', /save it as \.xlsx or CSV/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });

  it('refuses what is not a zip, and an empty file', async () => {
    await assert.rejects(openXlsx(chunked('id,name\n1,Ann\n'), { sheet: null, headerRow: null }), /^AtlasError: not a valid \.xlsx file: it is not a zip archive$/);
    await assert.rejects(openXlsx(chunked(''), { sheet: null, headerRow: null }), /the file is empty/);
  });

  it('fails cleanly, never hangs, on a truncated workbook', async () => {
    const bytes = await ordersWorkbook();
    for (const cut of [4, 40, 400, Math.floor(bytes.length / 4), Math.floor(bytes.length / 2), Math.floor((bytes.length * 3) / 4)]) {
      await assert.rejects(
        within(10_000, (async () => readRows(await openXlsx(chunked(bytes.subarray(0, cut), 1000), { sheet: null, headerRow: null })))()),
        (err: Error) => err instanceof AtlasError && /^not a valid \.xlsx file: /.test(err.message) && !err.message.includes('\n'),
        `cut at ${cut}`,
      );
    }
  });

  it('fails cleanly, never hangs, on corrupt compressed data (exceljs alone waits forever on it)', async () => {
    const sheets = [{ name: 'S', rows: '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' }];
    for (const sharedStringsFirst of [true, false]) {
      const bytes = handMadeXlsx(sheets, { sharedStrings: ['a'], sharedStringsFirst, sheetEntry: () => ({ rawDeflate: Buffer.from('\xff\xfe this is not deflate data', 'latin1') }) });
      await assert.rejects(
        within(10_000, (async () => readRows(await openXlsx(chunked(bytes), { sheet: null, headerRow: null })))()),
        /^AtlasError: not a valid \.xlsx file: corrupt compressed data/,
      );
    }
  });

  it("stops at Excel's row and column limits", async () => {
    const header = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>';
    const tooFar = handMadeXlsx([{ name: 'S', rows: `${header}<row r="1048577"><c r="A1048577"><v>1</v></c></row>` }], { sharedStrings: ['a', 'b'] });
    await assert.rejects(async () => readRows(await openXlsx(chunked(tooFar), { sheet: null, headerRow: null })), /beyond Excel's 1,048,576 rows/);
    const tooWide = handMadeXlsx([{ name: 'S', rows: `${header}<row r="2"><c r="XFE2"><v>1</v></c></row>` }], { sharedStrings: ['a', 'b'] });
    await assert.rejects(async () => readRows(await openXlsx(chunked(tooWide), { sheet: null, headerRow: null })), /^AtlasError: not a valid \.xlsx file: /);
  });

  it('stops a zip bomb before inflating it', async () => {
    const rows = `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>${' '.repeat(150 * 1024 * 1024)}`;
    const bomb = handMadeXlsx([{ name: 'S', rows }], { sharedStrings: ['a', 'b'] });
    assert.ok(bomb.length < 1024 * 1024, 'the fixture is small');
    await assert.rejects(
      within(60_000, (async () => readRows(await openXlsx(chunked(bomb), { sheet: null, headerRow: null })))()),
      /inflates to more than 250 times its size .*zip bomb/,
    );
  });

  it('stops a zip bomb at the same point however its bytes arrive', async () => {
    // A part after the bomb (an image) is read ahead sooner or later depending on how the bytes
    // arrive: what the bomb inflated to is weighed against the compressed bytes inflated, never
    // against bytes merely read.
    const rows = `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>${' '.repeat(150 * 1024 * 1024)}`;
    const image = { name: 'xl/media/image1.png', data: Buffer.alloc(1024 * 1024, 7), stored: true };
    const bomb = handMadeXlsx([{ name: 'S', rows }], { sharedStrings: ['a', 'b'], after: [image] });
    const messages: string[] = [];
    for (const size of [bomb.length, 1000]) {
      await assert.rejects(within(60_000, (async () => readRows(await openXlsx(chunked(bomb, size), { sheet: null, headerRow: null })))()), (err: Error) => {
        messages.push(err.message);
        return true;
      });
    }
    assert.match(messages[0] ?? '', /inflates to more than 250 times its size .*zip bomb/);
    assert.equal(messages[1], messages[0], 'the same error, whole or in 1000-byte chunks');
  });
});

describe('xlsx cell values', () => {
  it("writes numbers as plain decimals, as Excel shows them where that is the same double, else in a double's shortest text", () => {
    assert.equal(formatExcelNumber(1234.5), '1234.5');
    assert.equal(formatExcelNumber(-0.000001), '-0.000001');
    assert.equal(formatExcelNumber(1.5e-7), '0.00000015');
    assert.equal(formatExcelNumber(1e21), '1000000000000000000000');
    assert.equal(formatExcelNumber(18.100000000000001), '18.1');
    // Another double than their 15 digits name: never rounded to them.
    assert.equal(formatExcelNumber(123456789012345678), '123456789012345680');
    assert.equal(formatExcelNumber(0.1 + 0.2), '0.30000000000000004');
    assert.equal(formatExcelNumber(-0), '0');
    assert.equal(formatExcelNumber(Number.NaN), null);
  });

  it('writes dates as ISO text with the serial recorded', () => {
    assert.deepEqual(dateCell(utc(1899, 12, 30, 12), false), { text: '12:00:00', fix: { before: '0.5', after: '12:00:00', ...DATE_FIX } });
    // Excel's 1900 system counts a 29 Feb 1900 that never was: serial 1 is 1900-01-01.
    assert.equal(dateCell(utc(1899, 12, 31), false).text, '1900-01-01');
    assert.equal(dateCell(utc(2024, 1, 1), true).fix?.before, '43830');
    assert.equal(dateCell(new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 250)), false).text, '2024-01-01T00:00:00.250');
  });

  it('reads numbers, booleans and dates as the sheet XML writes them', () => {
    assert.equal(numberText('4577.27'), '4577.27');
    assert.equal(numberText('1.50'), '1.5');
    assert.equal(numberText('1E3'), '1000');
    // Digits are never lost: an integer's are kept whatever their number (ids written by pandas,
    // openpyxl), and so is text longer than any double's; a double's 17 digits as Excel writes
    // them read as the same double in fewer (as Excel shows it), never as another.
    assert.equal(numberText('1234567890123456'), '1234567890123456');
    assert.equal(numberText('9007199254740993'), '9007199254740993');
    assert.equal(numberText('12345678901234567890'), '12345678901234567890');
    assert.equal(numberText('1.2345678901234567E+19'), '12345678901234567000');
    assert.equal(numberText('123.456789012345678'), '123.456789012345678');
    assert.equal(numberText('18.100000000000001'), '18.1');
    assert.equal(numberText('-4.5999999999999996'), '-4.6');
    assert.equal(numberText('0.33333333333333331'), '0.3333333333333333');
    assert.equal(numberText('0.30000000000000004'), '0.30000000000000004');
    assert.equal(numberText('-0.000'), '0');
    assert.equal(numberText('.5'), '0.5');
    assert.equal(numberText('#N/A'), null);
    assert.equal(booleanText('1'), 'true');
    assert.equal(booleanText('0'), 'false');
    assert.deepEqual(serialDateCell(45292.5, false), { text: '2024-01-01T12:00:00', fix: { before: '45292.5', after: '2024-01-01T12:00:00', ...DATE_FIX } });
    assert.equal(serialDateCell(43830, true).text, '2024-01-01');
    // As the file writes it: every digit, not the serial to the millisecond.
    assert.deepEqual(serialDateCell(45293.54244502315, false, '45293.54244502315').fix, { before: '45293.54244502315', after: '2024-01-02T13:01:07.250', ...DATE_FIX });
    assert.equal(serialDateCell(-700_000.25, false, '-700000.25').fix?.before, '-700000.25');
    assert.equal(serialDateCell(Number.NaN, false).text, null);
    // A date written as ISO text is no serial: before 1 March 1900 too it is the day written, and
    // a correction (its `before` the cell's text) only where the text stored differs.
    for (const day of ['1899-12-31', '1900-01-15', '1900-02-28', '2024-03-01', '2024-03-01T10:30:00']) assert.deepEqual(isoDateCell(day), { text: day, fix: null }, day);
    const iso = (before: string, after: string, sourceFormat: string): CellText => ({ text: after, fix: { before, after, correction_type: 'datetime_standardization', source_format: sourceFormat } });
    assert.deepEqual(isoDateCell('2024-03-01T00:00:00'), iso('2024-03-01T00:00:00', '2024-03-01', '%Y-%m-%dT%H:%M:%S'));
    assert.deepEqual(isoDateCell('2024-03-01 10:30'), iso('2024-03-01 10:30', '2024-03-01T10:30:00', '%Y-%m-%d %H:%M'));
    assert.deepEqual(isoDateCell('2024-03-01T23:30:00.1234500-02:00'), iso('2024-03-01T23:30:00.1234500-02:00', '2024-03-02T01:30:00.12345', '%Y-%m-%dT%H:%M:%S.%f%z'));
    for (const text of ['2024-02-30', '2024-13-01', '10:30:00']) assert.deepEqual(isoDateCell(text), { text, fix: null }, text);
    // Serial 60 is Excel's 29 February 1900, which never was: no date (59 and 61 are the days around it).
    assert.equal(serialDateCell(59, false).text, '1900-02-28');
    assert.deepEqual(serialDateCell(60, false, '60'), { text: null, fix: { before: '60', after: null, correction_type: 'excel_phantom_date' } });
    assert.deepEqual(serialDateCell(60.25, false).fix?.correction_type, 'excel_phantom_date');
    assert.equal(serialDateCell(61, false).text, '1900-03-01');
    assert.equal(serialDateCell(60, true).text, '1904-03-01');
    assert.ok(isDateFormat('[$-409]d-mmm-yy'));
    assert.ok(!isDateFormat('"Day" 0.00'));
    assert.ok(!isDateFormat('#,##0.00'));
    // Escaped characters, and those after _ (a space) and * (a fill), are shown, not read: metres, no month.
    for (const numbers of ['0.0\\ \\m', '#,##0_m', '* #,##0', '0 "days"', '[Red]0.00', '0.00E+00', 'General']) assert.ok(!isDateFormat(numbers), numbers);
    for (const dates of ['YYYY-MM-DD', '[h]:mm:ss', '[ss]', 'd/m/bb', '[$-411]ge.m.d', 'h:mm AM/PM', 'yyyy\\-mm']) assert.ok(isDateFormat(dates), dates);
  });

  it("reads a locale's built-in date formats (East Asian, Thai) as dates, and a unit escaped in a number format as a number", async () => {
    const styles = `<numFmts count="1"><numFmt numFmtId="164" formatCode="0.0\\ \\m"/></numFmts><cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="31" applyNumberFormat="1"/><xf numFmtId="58" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="81" applyNumberFormat="1"/></cellXfs>`;
    const head = `<row r="1">${['ja', 'md', 'metres', 'thai'].map((h, i) => `<c r="${'ABCD'[i]}1" t="inlineStr"><is><t>${h}</t></is></c>`).join('')}</row>`;
    const row = '<row r="2"><c r="A2" s="1"><v>45292</v></c><c r="B2" s="2"><v>45292</v></c><c r="C2" s="3"><v>12.5</v></c><c r="D2" s="4"><v>45293</v></c></row>';
    const [read] = await readRows(await openXlsx(chunked(rawWorkbook('', head + row, { styles })), { sheet: null, headerRow: null }));
    assert.deepEqual(read?.fields, ['2024-01-01', '2024-01-01', '12.5', '2024-01-02']);
  });

  it('reads elapsed time ([h]:mm:ss, [mm]:ss, built-in 46) as a duration whose hours pass 24, not as a day and time', async () => {
    for (const elapsed of ['[h]:mm:ss', '[mm]:ss', '[ss].000', '[Red][h]:mm', '[h] "h"']) assert.ok(isDateFormat(elapsed) && isElapsedTimeFormat(elapsed), elapsed);
    for (const dated of ['h:mm:ss', 'yyyy-mm-dd [h]:mm', 'd "days" [h]:mm', 'mm:ss', '"[h]" yyyy']) assert.ok(!isElapsedTimeFormat(dated), dated);
    const styles = `<numFmts count="2"><numFmt numFmtId="164" formatCode="[h]:mm:ss"/><numFmt numFmtId="165" formatCode="[mm]:ss"/></numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="165" applyNumberFormat="1"/><xf numFmtId="46" applyNumberFormat="1"/></cellXfs>`;
    const values = [['0.5', '1.5034722222222223', '400.25'], ['0.0006944444444444445', '1', '-0.25'], ['0.25', '2.0000115740740743', '0']];
    const head = `<row r="1">${['h', 'mm', 'builtin'].map((h, i) => `<c r="${'ABC'[i]}1" t="inlineStr"><is><t>${h}</t></is></c>`).join('')}</row>`;
    const rows = [0, 1, 2].map((r) => `<row r="${r + 2}">${values.map((column, c) => `<c r="${'ABC'[c]}${r + 2}" s="${c + 1}"><v>${column[r]}</v></c>`).join('')}</row>`).join('');
    const read = await readRows(await openXlsx(chunked(rawWorkbook('', head + rows, { styles })), { sheet: null, headerRow: null }));
    assert.deepEqual(read.map((r) => r.fields), [
      ['12:00:00', '00:01:00', '06:00:00'],
      ['36:05:00', '24:00:00', '48:00:01'],
      ['9606:00:00', '-06:00:00', '00:00:00'],
    ]);
    assert.deepEqual(read[1]?.fixes?.[0], { before: '1.5034722222222223', after: '36:05:00', ...DATE_FIX });
    assert.deepEqual(elapsedTimeCell(0.0000115625, '0.0000115625'), { text: '00:00:00.999', fix: { before: '0.0000115625', after: '00:00:00.999', ...DATE_FIX } });
    assert.deepEqual(elapsedTimeCell(1e300, '1E+300'), { text: `1${'0'.repeat(300)}`, fix: null });
  });

  it("an Excel date's fix is staged as the JSON text JSON.stringify gives, for every date form", () => {
    const rand = mulberry32(7);
    const cells = [
      ...Array.from({ length: 20_000 }, () => serialDateCell(rand() * 2_958_465 * (rand() < 0.05 ? -1 : 1), rand() < 0.1)),
      ...Array.from({ length: 2_000 }, () => serialDateCell(Math.floor(rand() * 60_000), false)),
      ...[0, 0.5, 59, 60, 61, 1e-9, 2_958_465.99999999, Number.MAX_VALUE].map((v) => serialDateCell(v, false)),
      ...Array.from({ length: 2_000 }, () => dateCell(new Date(Math.floor((rand() - 0.5) * 8e14)), rand() < 0.5)),
      ...Array.from({ length: 2_000 }, () => (rand() - 0.1) * 500).map((v) => elapsedTimeCell(v, String(v))),
    ];
    let fast = 0;
    for (const { fix } of cells) {
      if (!fix) continue;
      assert.equal(fixJson(fix), JSON.stringify(fix), JSON.stringify(fix));
      if (/^[0-9.:T+-]+$/.test(fix.before) && /^[0-9.:T+-]+$/.test(String(fix.after))) fast++;
    }
    assert.ok(fast > 20_000, `${fast} fixes took the written path`);
    // Another shape (a key more) is stringified whole.
    const other: ReaderFix = { before: '1', after: '1900-01-01', correction_type: 'datetime_standardization', source_format: 'excel_serial', sheet: 'S' };
    assert.equal(fixJson(other), JSON.stringify(other));
  });
});

const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/** A one-sheet workbook from raw XML: the <sst> content and the <sheetData> content as given. */
function rawWorkbook(sst: string, sheetData: string, options: { prefix?: string; stored?: boolean; styles?: string } = {}): Buffer {
  const x = options.prefix ? `${options.prefix}:` : '';
  const ns = options.prefix ? `xmlns:${options.prefix}="${MAIN_NS}"` : `xmlns="${MAIN_NS}"`;
  const parts: ZipEntry[] = [
    { name: 'xl/workbook.xml', data: `<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>` },
    {
      name: 'xl/_rels/workbook.xml.rels',
      data: `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL_NS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="${REL_NS}/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="${REL_NS}/styles" Target="styles.xml"/></Relationships>`,
    },
    {
      name: 'xl/styles.xml',
      data: `<styleSheet xmlns="${MAIN_NS}">${options.styles ?? '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'}</styleSheet>`,
    },
    { name: 'xl/worksheets/sheet1.xml', data: `<?xml version="1.0" encoding="UTF-8"?>\n<${x}worksheet ${ns}><${x}sheetData>${sheetData}</${x}sheetData></${x}worksheet>` },
    { name: 'xl/sharedStrings.xml', data: `<?xml version="1.0" encoding="UTF-8"?>\n<${x}sst ${ns}>${sst}</${x}sst>` },
  ];
  return makeZip(options.stored ? parts.map((p) => ({ ...p, stored: true })) : parts);
}

/**
 * A zip archive written the way streaming writers (exceljs, Java's ZipOutputStream) write one:
 * sizes left 0 in each local header and given in a data descriptor after the data, with or
 * without its optional signature.
 */
function zipWithDescriptors(entries: Array<{ name: string; data: string | Buffer; stored?: boolean }>, signed: boolean): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
    const compressed = e.stored ? data : deflateRawSync(data);
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0008, 6);
    local.writeUInt16LE(e.stored ? 0 : 8, 8);
    local.writeUInt16LE(name.length, 26);
    const descriptor = Buffer.alloc(signed ? 16 : 12);
    let at = 0;
    if (signed) at = descriptor.writeUInt32LE(0x08074b50, 0);
    at = descriptor.writeUInt32LE(crc32(data), at);
    at = descriptor.writeUInt32LE(compressed.length, at);
    descriptor.writeUInt32LE(data.length, at);
    out.push(local, name, compressed, descriptor);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  return Buffer.concat([...out, end]);
}

describe("atlas's own scanner of shared strings and sheet rows", () => {
  const header = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>';

  it('reads rich text, phonetic runs, entities, xml:space, CDATA and _xHHHH_ escapes in shared strings', async () => {
    const sst = [
      '<si><t>n</t></si>',
      '<si><t>text</t></si>',
      '<si><r><rPr><b/><sz val="11"/></rPr><t>Bo</t></r><r><t xml:space="preserve"> b </t></r></si>',
      '<si><t>漢字</t><rPh sb="0" eb="2"><t>カンジ</t></rPh><phoneticPr fontId="1"/></si>',
      '<si><t>A &amp; B &lt;x&gt; &quot;q&quot; &apos;s&apos; &#65;&#x42; line1&#10;line2 &nbsp;</t></si>',
      '<si><t>cr_x000D_lf _x005F_x000D_ kept</t></si>',
      '<si><t><![CDATA[<raw> & ]]>after</t></si>',
      '<si><t/></si>',
      '<si>\n  <t>pretty</t>\n</si>',
    ].join('');
    const rows = Array.from({ length: 7 }, (_, i) => `<row r="${i + 2}"><c r="A${i + 2}"><v>${i + 2}</v></c><c r="B${i + 2}" t="s"><v>${i + 2}</v></c></row>`).join('');
    const expected = [['2', 'Bo b '], ['3', '漢字'], ['4', `A & B <x> "q" 's' AB line1\nline2 &nbsp;`], ['5', 'cr\rlf _x000D_ kept'], ['6', '<raw> & after'], ['7', null], ['8', 'pretty']];
    // Stored parts reach the scanners in the source's chunks: every element is cut somewhere.
    for (const stored of [false, true]) {
      const bytes = rawWorkbook(sst, header + rows, { stored });
      for (const size of stored ? [1, 2, 3, 5, 7, 11, 64 * 1024] : [64 * 1024]) {
        const table = await openXlsx(chunked(bytes, size), { sheet: null, headerRow: null });
        assert.deepEqual(table.header, ['n', 'text']);
        assert.deepEqual((await readRows(table)).map((r) => r.fields), expected, `in ${size}-byte chunks`);
      }
    }
  });

  it("reads a literal CR LF or lone CR as LF, as XML's end-of-line handling (and Excel) does; &#13; and _x000D_ stay CR", async () => {
    const sst = ['n', 'text', 'This is\r\na test', 'lone\rcr', 'ref&#13;\r\n_x000D_', 'cd<![CDATA[a\r\nb]]>'].map((t) => `<si><t xml:space="preserve">${t}</t></si>`).join('');
    const rows = [2, 3, 4, 5].map((i) => `<row r="${i}"><c r="A${i}"><v>${i}</v></c><c r="B${i}" t="s"><v>${i}</v></c></row>`);
    rows.push('<row r="6"><c r="A6" t="inlineStr"><is><t>in\r\nline</t></is></c><c r="B6" t="str"><f>A6</f><v>in\r\nline</v></c></row>');
    const bytes = rawWorkbook(sst, header + rows.join(''), { stored: true });
    for (const size of [1, 3, 64 * 1024]) {
      const read = await readRows(await openXlsx(chunked(bytes, size), { sheet: null, headerRow: null }));
      assert.deepEqual(read.map((r) => r.fields), [['2', 'This is\na test'], ['3', 'lone\ncr'], ['4', 'ref\r\n\r'], ['5', 'cda\nb'], ['in\nline', 'in\nline']], `in ${size}-byte chunks`);
    }
  });

  it('reads every kind of cell the same however the bytes are cut', async () => {
    const sheet = [
      '<row r="1" spans="1:4"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="s"><v>0</v></c><c r="C1" t="str"><f>"c"</f><v>c</v></c><c r="D1" t="inlineStr"><is><r><t>d</t></r></is></c></row>',
      '<row r="2"><c r="A2" s="1"><v>45292.25</v></c><c r="B2" t="b"><v>1</v></c><c r="C2"><![CDATA[x]]><v><![CDATA[12]]></v></c><c r="D2" t="e"><v>#N/A</v></c></row>',
      '<row r="3" ><!-- note --><c r="A3" s="2" ><v>45000</v></c><c r=\'B3\' t=\'s\'><v> 1 </v></c><c r="C3"><f t="shared" si="0"/><v>3.25</v></c><c r="D3"><extLst><ext uri="x"><y/></ext></extLst><v>-4</v></c></row>',
      '<row r="4"/><row r="5"><c r="A5"/></row>',
    ].join('\n');
    const expected = [
      {
        rn: 2,
        fields: ['2024-01-01T06:00:00', 'true', '12', null],
        fixes: Object.assign(fixAt(0, { before: '45292.25', after: '2024-01-01T06:00:00', ...DATE_FIX }), { 3: { before: '#N/A', after: null, correction_type: 'spreadsheet_error' } }),
      },
      { rn: 3, fields: ['2023-03-15', 'e', '3.25', '-4'], fixes: fixAt(0, { before: '45000', after: '2023-03-15', ...DATE_FIX }) },
    ];
    const bytes = rawWorkbook('<si><t>b</t></si><si><t>e</t></si>', sheet, { stored: true });
    for (const size of [1, 2, 3, 4, 6, 9, 64 * 1024]) {
      const table = await openXlsx(chunked(bytes, size), { sheet: null, headerRow: null });
      assert.deepEqual(table.header, ['a', 'b', 'c', 'd'], `in ${size}-byte chunks`);
      assert.deepEqual(await readRows(table), expected, `in ${size}-byte chunks`);
    }
  });

  it('refuses a row or string that never ends instead of holding it all', async () => {
    const endless = `${header}<row r="2"><c r="A2" t="inlineStr"><is><t>${'x'.repeat(65 * 1024 * 1024)}`;
    const bytes = rawWorkbook('<si><t>n</t></si><si><t>text</t></si>', endless);
    await assert.rejects(
      async () => readRows(await openXlsx(chunked(bytes), { sheet: null, headerRow: null })),
      /^AtlasError: not a valid \.xlsx file: an element is larger than 64 MiB/,
    );
  });

  it('reads inline strings, formula results, booleans, errors, ISO dates and numbers as written', async () => {
    const cells = [
      '<c r="A2" t="inlineStr"><is><r><t>in</t></r><r><rPr><i/></rPr><t>line</t></r></is></c>',
      '<c r="B2" t="str"><f>"a"&amp;"b"</f><v>a&amp;lt;b</v></c>',
      '<c r="C2" t="b"><f>TRUE()</f><v>1</v></c>',
      '<c r="D2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
      '<c r="E2" t="d"><v>2024-03-01T10:30:00</v></c>',
      '<c r="F2"><f>SUM(A1:A2)</f></c>', // no calculated value
      '<c r="G2"><v>007</v></c>',
      '<c r="H2"><v>-0</v></c>',
      '<c r="I2"><v>1.5E-7</v></c>',
      '<c r="J2" s="2"><v>45292</v></c>',
      '<c r="K2" t="n"><v>12345678901234567890</v></c>',
      '<c r="L2" t="b"><v>0</v></c>',
      '<c r="M2"><f>A1-A1</f><v>0</v></c>', // exceljs's reader lost a formula's 0
    ].join('');
    const head = `<row r="1">${'ABCDEFGHIJKLM'.split('').map((c, i) => `<c r="${c}1" t="inlineStr"><is><t>h${i + 1}</t></is></c>`).join('')}</row>`;
    const table = await openXlsx(chunked(rawWorkbook('', `${head}<row r="2">${cells}</row>`)), { sheet: null, headerRow: null });
    assert.equal(table.header.length, 13);
    const [row] = await readRows(table);
    assert.deepEqual(row?.fields, ['inline', 'a&lt;b', 'true', null, '2024-03-01T10:30:00', null, '7', '0', '0.00000015', '2024-01-01', '12345678901234567890', 'false', '0']);
    // Corrections by field position: h4 (the error cell), h6 (the formula without a value) and h10 (a serial); h5 is stored as written.
    assert.deepEqual((row?.fixes ?? []).flatMap((fix, i) => (fix ? [i] : [])), [3, 5, 9]);
  });

  it('reads ISO dates (t="d") as the days written, before 1 March 1900 too, their text the `before` of any correction', async () => {
    const written = ['1899-12-31', '1900-01-15', '1900-02-28', '1900-03-01', '2024-05-06T00:00:00'];
    const rows = written.map((v, i) => `<row r="${i + 2}"><c r="A${i + 2}" t="d" s="1"><v>${v}</v></c></row>`).join('');
    const read = await readRows(await openXlsx(chunked(rawWorkbook('', `<row r="1"><c r="A1" t="inlineStr"><is><t>born</t></is></c></row>${rows}`)), { sheet: null, headerRow: null }));
    assert.deepEqual(read.map((r) => r.fields[0]), ['1899-12-31', '1900-01-15', '1900-02-28', '1900-03-01', '2024-05-06']);
    assert.deepEqual(read.map((r) => r.fixes?.[0]?.before ?? null), [null, null, null, null, '2024-05-06T00:00:00']);
  });

  it('keeps every kind of error cell as NULL with its text as a correction, also in a row of nothing else, and never as a value', async () => {
    const errors = ['#DIV/0!', '#N/A', '#NUM!', '#VALUE!', '#REF!', '#NAME?', '#NULL!', '#SPILL!', '#CALC!', '#GETTING_DATA'];
    const head = '<row r="1"><c r="A1" t="inlineStr"><is><t>n</t></is></c><c r="B1" t="inlineStr"><is><t>x</t></is></c></row>';
    const rows = errors.map((e, i) => `<row r="${i + 2}"><c r="A${i + 2}"><v>${i}</v></c><c r="B${i + 2}" t="e"><f>X()</f><v>${e}</v></c></row>`);
    // An error cell alone in its row (with a formula, and without: a value Excel wrote as is).
    rows.push(`<row r="20"><c r="B20" t="e"><v>#N/A</v></c></row>`, `<row r="21"><c r="B21" t="e"/></row>`);
    const table = await openXlsx(chunked(rawWorkbook('', head + rows.join(''))), { sheet: null, headerRow: null });
    const read = await readRows(table);
    const error = (before: string): ReaderFix => ({ before, after: null, correction_type: 'spreadsheet_error' });
    assert.deepEqual(read, [
      ...errors.map((e, i) => ({ rn: i + 2, fields: [String(i), null], fixes: Object.assign([], { 1: error(e) }) })),
      { rn: 20, fields: [null, null], fixes: Object.assign([], { 1: error('#N/A') }) },
    ]);
  });

  it('keeps a formula cell without a calculated value as NULL with its formula as a correction, a shared one moved to its cell', async () => {
    const head = '<row r="1"><c r="A1" t="inlineStr"><is><t>n</t></is></c><c r="B1" t="inlineStr"><is><t>x</t></is></c></row>';
    const rows = [
      '<row r="2"><c r="A2"><v>1</v></c><c r="B2"><f t="shared" ref="B2:B4" si="0">A2*2+SUM($A$2:A2)</f></c></row>',
      '<row r="3"><c r="A3"><v>2</v></c><c r="B3"><f t="shared" si="0"/></c></row>',
      '<row r="4"><c r="A4"><v>3</v></c><c r="B4"><f t="shared" si="0"/><v></v></c></row>', // an empty <v>, as openpyxl writes it
      '<row r="5"><c r="A5"><v>4</v></c><c r="B5" t="str"><f>"a"&amp;"b"</f></c></row>',
      '<row r="6"><c r="A6"><v>5</v></c><c r="B6" t="str"><f>""</f><v></v></c></row>', // calculated: an empty text
      '<row r="7"><c r="A7"><v>6</v></c><c r="B7"><f>A7*2</f><v>12</v></c></row>',
    ];
    const read = await readRows(await openXlsx(chunked(rawWorkbook('', head + rows.join(''))), { sheet: null, headerRow: null }));
    const formula = (before: string): ReaderFix => ({ before, after: null, correction_type: 'formula_not_calculated' });
    assert.deepEqual(read, [
      { rn: 2, fields: ['1', null], fixes: Object.assign([], { 1: formula('=A2*2+SUM($A$2:A2)') }) },
      { rn: 3, fields: ['2', null], fixes: Object.assign([], { 1: formula('=A3*2+SUM($A$2:A3)') }) },
      { rn: 4, fields: ['3', null], fixes: Object.assign([], { 1: formula('=A4*2+SUM($A$2:A4)') }) },
      { rn: 5, fields: ['4', null], fixes: Object.assign([], { 1: formula('="a"&"b"') }) },
      { rn: 6, fields: ['5', null] },
      { rn: 7, fields: ['6', '12'] },
    ]);
  });

  it("moves a shared formula's relative references to the cell that shares it, and nothing else", () => {
    assert.equal(slideFormula('B3/C3', 1, 0), 'B4/C4');
    assert.equal(slideFormula('SUM($A$1:A3)*LOG10(B$2)+$C1', 2, 1), 'SUM($A$1:B5)*LOG10(C$2)+$C3');
    // Sheet names and strings are left alone, references after them are moved.
    assert.equal(slideFormula(`Sheet1!A1+'Q1 2024'!B2&"A1"`, 1, 1), `Sheet1!B2+'Q1 2024'!C3&"A1"`);
    assert.equal(slideFormula('SUM(A:A)+SUM(1:3)', 1, 1), 'SUM(B:B)+SUM(2:4)');
    assert.equal(slideFormula('A1+1', -1, 0), '#REF!+1');
  });

  it('reads cells and rows without r attributes, cells out of order, namespace prefixes and odd quoting', async () => {
    const sheet = [
      '<x:row><x:c t="s"><x:v>0</x:v></x:c><x:c t="s"><x:v>1</x:v></x:c><x:c t="s"><x:v>2</x:v></x:c></x:row>',
      "<x:row spans='1:3'><x:c r='C2'><x:v>3</x:v></x:c><x:c r=\"A2\" ><x:v>1</x:v></x:c><x:c><x:v>2</x:v></x:c></x:row>", // A2, then B2 (after A2), C2 before them
      '<!-- a comment --><x:row r="5" x14ac:dyDescent="0.25" custom=">"><x:c r="B5"/><x:c r="C5" s="0"><x:v>9</x:v></x:c></x:row>',
      '<x:row><x:c><x:v>10</x:v></x:c></x:row>', // row 6, after row 5
    ].join('');
    const table = await openXlsx(chunked(rawWorkbook('<x:si><x:t>a</x:t></x:si><x:si><x:t>b</x:t></x:si><x:si><x:t>c</x:t></x:si>', sheet, { prefix: 'x' })), {
      sheet: null,
      headerRow: null,
    });
    assert.deepEqual(table.header, ['a', 'b', 'c']);
    assert.deepEqual(
      (await readRows(table)).map((r) => [r.rn, r.fields]),
      [
        [2, ['1', '2', '3']],
        [5, [null, null, '9']],
        [6, ['10', null, null]],
      ],
    );
  });

  it('reads a cell and a shared string far larger than a chunk, whatever the chunk size', async () => {
    const big = 'x'.repeat(300 * 1024);
    const sheet = `${header}<row r="2"><c r="A2" t="inlineStr"><is><t>${big}</t></is></c><c r="B2" t="s"><v>2</v></c></row>`;
    const bytes = rawWorkbook(`<si><t>n</t></si><si><t>text</t></si><si><t>${big}y</t></si>`, sheet, { stored: true });
    for (const size of [64 * 1024, 1000]) {
      const [row] = await readRows(await openXlsx(chunked(bytes, size), { sheet: null, headerRow: null }));
      assert.equal(row?.fields[0]?.length, big.length);
      assert.equal(row?.fields[1], `${big}y`);
    }
  });

  it('reads archives written with data descriptors, with and without their signature, stored or deflated', async () => {
    const sheets = [{ name: 'D', rows: `${header}<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>2</v></c></row>` }];
    // The same parts as a hand-made workbook, taken apart and written again with descriptors.
    const parts = unzipStored(handMadeXlsx(sheets, { sharedStrings: ['n', 'text', 'PK\u0003\u0004 looks like a header'], sharedStringsFirst: false, stored: true }));
    for (const signed of [true, false]) {
      for (const stored of [true, false]) {
        const bytes = zipWithDescriptors(parts.map((p) => ({ ...p, stored })), signed);
        for (const size of [64 * 1024, 5]) {
          const source = new HashingReader(chunked(bytes, size));
          const rows = await readRows(await openXlsx(source, { sheet: null, headerRow: null }));
          assert.deepEqual(rows.map((r) => r.fields), [['1', 'PK\u0003\u0004 looks like a header']], `signed=${signed} stored=${stored} size=${size}`);
          assert.equal(source.bytes, bytes.length);
        }
        // Cut anywhere, such an archive fails with one line, never hangs.
        for (const cut of [40, Math.floor(bytes.length / 2), bytes.length - 30]) {
          await assert.rejects(
            within(10_000, (async () => readRows(await openXlsx(chunked(bytes.subarray(0, cut), 17), { sheet: null, headerRow: null })))()),
            /^AtlasError: not a valid \.xlsx file: the archive ends early/,
          );
        }
      }
    }
  });

  it('reads a workbook without a workbook part as exceljs did: its worksheets in archive order', async () => {
    const bytes = makeZip([
      { name: 'xl/worksheets/sheet1.xml', data: `<worksheet xmlns="${MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c></row><row r="2"><c r="A2"><v>1</v></c></row></sheetData></worksheet>` },
    ]);
    const table = await openXlsx(chunked(bytes), { sheet: null, headerRow: null });
    assert.deepEqual([table.header, table.details.sheet], [['a', 'b'], 'Sheet1']);
    assert.deepEqual((await readRows(table)).map((r) => r.fields), [['1', null]]);
  });

  it('parks a sheet on disk past its memory budget, and leaves no file behind', async () => {
    const leftovers = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith(`atlas-xlsx-${process.pid}-`));
    const parking = new Parking(1000);
    const part = parking.park('xl/worksheets/sheet1.xml');
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(333, i));
    for (const c of chunks) await part.add(c);
    assert.ok(part.onDisk);
    assert.deepEqual(leftovers(), [], 'unlinked as soon as it was created');
    const back: Buffer[] = [];
    for await (const c of part.replay()) back.push(c);
    assert.ok(Buffer.concat(back).equals(Buffer.concat(chunks)));
    const kept = parking.park('xl/worksheets/sheet2.xml');
    await kept.add(Buffer.alloc(10));
    assert.ok(!kept.onDisk);
    await parking.discardAll();
  });
});

/** The parts of an archive of stored entries with sizes in their local headers (makeZip's kind). */
function unzipStored(zip: Buffer): Array<{ name: string; data: Buffer }> {
  const parts: Array<{ name: string; data: Buffer }> = [];
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50; ) {
    const size = zip.readUInt32LE(at + 18);
    const nameLength = zip.readUInt16LE(at + 26);
    const start = at + 30 + nameLength + zip.readUInt16LE(at + 28);
    parts.push({ name: zip.toString('latin1', at + 30, at + 30 + nameLength), data: zip.subarray(start, start + size) });
    at = start + size;
  }
  return parts;
}

describe('ZipInput', () => {
  it('walks entries, skips the data of those not read, and fails on what is not a zip record', async () => {
    const zip = new ZipInput(chunked(makeZip([{ name: 'a.txt', data: 'alpha' }, { name: 'b.txt', data: 'beta', stored: true }, { name: 'c.txt', data: 'gamma' }]), 3)[Symbol.asyncIterator]());
    assert.equal((await zip.nextEntry())?.name, 'a.txt');
    const b = await zip.nextEntry();
    assert.equal(b?.name, 'b.txt');
    const text: Buffer[] = [];
    for await (const c of zip.inflate(b!, zip.data())) text.push(c);
    assert.equal(Buffer.concat(text).toString(), 'beta');
    const c = await zip.nextEntry();
    const inflated: Buffer[] = [];
    for await (const chunk of zip.inflate(c!, zip.data())) inflated.push(chunk);
    assert.equal(Buffer.concat(inflated).toString(), 'gamma');
    assert.equal(await zip.nextEntry(), null);
    await zip.drain();

    const junk = new ZipInput(chunked(Buffer.concat([makeZip([{ name: 'a', data: 'x' }]).subarray(0, 31 + 3), Buffer.from('not a zip record at all')]))[Symbol.asyncIterator]());
    await junk.nextEntry();
    await assert.rejects(junk.nextEntry(), /^AtlasError: not a valid \.xlsx file: the zip archive is corrupt \(invalid signature 0x/);
  });
});
