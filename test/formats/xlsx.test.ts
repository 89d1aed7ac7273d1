import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import ExcelJS from 'exceljs';
import { AtlasError, UsageError } from '../../src/errors.ts';
import { openXlsx } from '../../src/formats/xlsx.ts';
import { cellText, dateCell, formatExcelNumber, isDateFormat } from '../../src/formats/xlsxValues.ts';
import { ZipInput } from '../../src/formats/zipInput.ts';
import { HashingReader } from '../../src/sources/source.ts';
import { chunked, handMadeXlsx, readRows, within } from './readerHelpers.ts';

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

describe('openXlsx', () => {
  it('finds the header below title rows and converts every kind of cell', async () => {
    const table = await openXlsx(chunked(await ordersWorkbook()), { sheet: null, headerRow: null });
    assert.deepEqual(table.header, ['id', 'name', 'amount', 'ordered', 'paid', 'total', 'link']);
    assert.deepEqual(table.details, { format: 'xlsx', sheet: 'Orders', header_row: 3 });
    const rows = await readRows(table);
    assert.deepEqual(rows, [
      {
        rn: 4,
        fields: ['1', 'Ann', '12.5', '2024-01-15', 'true', '25', 'site'],
        fixes: { ordered: { before: '45306', after: '2024-01-15', ...DATE_FIX } },
      },
      {
        rn: 6, // row 5 is empty
        fields: ['2', 'Bob', '1234.5', '2024-02-29T13:45:30', 'false', null, null],
        fixes: { ordered: { before: '45351.57326389', after: '2024-02-29T13:45:30', ...DATE_FIX } },
      },
      {
        rn: 7,
        fields: ['3', 'Zoë', '0.3', '2024-03-01', 'true', '1000000000000000000000', '0.00000015'],
        fixes: { ordered: { before: '45352', after: '2024-03-01', ...DATE_FIX } },
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
          assert.deepEqual(rows, [{ rn: 2, fields: ['7', '2024-01-01T12:00:00'], fixes: { when: { before: '45292.5', after: '2024-01-01T12:00:00', ...DATE_FIX } } }]);
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

  it('reads dates of a workbook in the 1904 date system', async () => {
    const wb = new ExcelJS.Workbook();
    wb.properties.date1904 = true;
    const ws = wb.addWorksheet('Mac');
    ws.addRow(['day', 'n']);
    ws.addRow([utc(2024, 1, 1), 1]);
    ws.getCell('A2').numFmt = 'yyyy-mm-dd';
    const rows = await readRows(await openXlsx(chunked(Buffer.from(await wb.xlsx.writeBuffer())), { sheet: null, headerRow: null }));
    assert.deepEqual(rows, [{ rn: 2, fields: ['2024-01-01', '1'], fixes: { day: { before: '43830', after: '2024-01-01', ...DATE_FIX } } }]);
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
  it('writes numbers as plain decimals at Excel precision', () => {
    assert.equal(formatExcelNumber(1234.5), '1234.5');
    assert.equal(formatExcelNumber(-0.000001), '-0.000001');
    assert.equal(formatExcelNumber(1.5e-7), '0.00000015');
    assert.equal(formatExcelNumber(1e21), '1000000000000000000000');
    assert.equal(formatExcelNumber(123456789012345678), '123456789012346000');
    assert.equal(formatExcelNumber(0.1 + 0.2), '0.3');
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

  it('reads formulas, rich text, hyperlinks, errors and empty strings', () => {
    assert.equal(cellText({ formula: 'A1', result: 'x' }, null, false).text, 'x');
    assert.equal(cellText({ formula: 'A1' }, null, false).text, null);
    assert.equal(cellText({ formula: 'A1', result: { error: '#DIV/0!' } }, null, false).text, null);
    assert.equal(cellText({ formula: 'TODAY()', result: 45292 }, 'yyyy-mm-dd', false).text, '2024-01-01');
    assert.equal(cellText({ richText: [{ text: 'a' }, { text: 'b' }] }, null, false).text, 'ab');
    assert.equal(cellText({ text: 'site', hyperlink: 'https://example.com' }, null, false).text, 'site');
    assert.equal(cellText({ error: '#N/A' }, null, false).text, null);
    assert.equal(cellText('', null, false).text, null);
    assert.equal(cellText(false, null, false).text, 'false');
    assert.ok(isDateFormat('[$-409]d-mmm-yy'));
    assert.ok(!isDateFormat('"Day" 0.00'));
    assert.ok(!isDateFormat('#,##0.00'));
  });
});

describe('ZipInput', () => {
  it('keeps nothing of what it raced: memory stays flat however many rows are read', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const input = new ZipInput((async function* () {})());
    // Raced in a function that has returned, so no row lingers in this test's own frame.
    const raceRows = async (n: number): Promise<Array<WeakRef<object>>> => {
      const refs: Array<WeakRef<object>> = [];
      for (let i = 0; i < n; i++) {
        const row = { i };
        refs.push(new WeakRef(row));
        assert.equal(await input.race(Promise.resolve(row)), row);
      }
      return refs;
    };
    const refs = await raceRows(1000);
    // V8 may keep a row raced just now reachable for a turn of the event loop from a handle scope
    // of its own (a heap snapshot shows it holding one race() context), more often when the CPU
    // is busy: collect on two turns, so that only what ZipInput itself keeps is counted.
    for (let turn = 0; turn < 2; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    assert.ok(alive <= 2, `${alive} of 1000 raced values are still held`);
  });

  it('stops every race, present and future, at the first failure', async () => {
    const input = new ZipInput((async function* () {})());
    const pending = input.race(new Promise(() => undefined));
    input.fail(new Error('corrupt'));
    await assert.rejects(pending, /corrupt/);
    await assert.rejects(input.race(Promise.resolve(1)), /corrupt/);
  });
});
