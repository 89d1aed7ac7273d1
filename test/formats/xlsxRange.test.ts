import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import { openXlsx } from '../../src/formats/xlsx/xlsx.ts';
import { parseSheetRange, rangeText, TrailingNotes } from '../../src/formats/xlsx/xlsxRange.ts';
import { chunked, handMadeXlsx, readRows } from './readerHelpers.ts';

/** A sheet row of inline strings and numbers, from its cells by column letter. */
function row(n: number, cells: Record<string, string | number>): string {
  const cell = ([col, v]: [string, string | number]): string =>
    typeof v === 'number' ? `<c r="${col}${n}"><v>${v}</v></c>` : `<c r="${col}${n}" t="inlineStr"><is><t>${v}</t></is></c>`;
  return `<row r="${n}">${Object.entries(cells).map(cell).join('')}</row>`;
}

/** A title, a note beside the table, the table at B3:E6, and notes below it. */
const SHEET = [
  row(1, { A: 'Report title' }),
  row(3, { B: 'id', C: 'name', D: 'amount', E: 'code', G: 'a remark' }),
  row(4, { B: 1, C: 'Ann', D: 2.5, E: 'x' }),
  row(5, { B: 2, C: 'Bob', D: 3, E: 'y' }),
  row(6, { B: 3, C: 'Cy', D: 4 }),
  row(8, { B: 'Source: somewhere' }),
  row(9, { C: 'amounts in', D: 'EUR' }),
].join('');

describe('--range', () => {
  it('reads Excel notation, with an open end, and refuses what is not a block', () => {
    assert.deepEqual(parseSheetRange('A5:F15'), { firstCol: 1, firstRow: 5, lastCol: 6, lastRow: 15 });
    assert.deepEqual(parseSheetRange('$b$2:$AA$10'), { firstCol: 2, firstRow: 2, lastCol: 27, lastRow: 10 });
    assert.deepEqual(parseSheetRange('A5:F'), { firstCol: 1, firstRow: 5, lastCol: 6, lastRow: null });
    assert.equal(rangeText(parseSheetRange('b2:aa')), 'B2:AA');
    for (const bad of ['A5', 'A:F', '5:15', 'F15:A5', 'A5:F4', 'A0:F4', 'A1:XFE2', 'A1:B2;drop', '']) {
      assert.throws(() => parseSheetRange(bad), UsageError, bad);
    }
  });

  it('reads exactly the block: its first row the header, cells and rows outside left out, the sheet row numbers kept', async () => {
    const bytes = handMadeXlsx([{ name: 'S', rows: SHEET }]);
    const table = await openXlsx(chunked(bytes), { sheet: null, headerRow: null, range: parseSheetRange('B3:E6') });
    assert.deepEqual(table.header, ['id', 'name', 'amount', 'code']);
    assert.deepEqual(table.details, { format: 'xlsx', sheet: 'S', sheet_position: 1, header_row: 3, range: 'B3:E6' });
    assert.deepEqual(
      (await readRows(table)).map((r) => [r.rn, r.fields]),
      [
        [4, ['1', 'Ann', '2.5', 'x']],
        [5, ['2', 'Bob', '3', 'y']],
        [6, ['3', 'Cy', '4', null]],
      ],
    );
    assert.deepEqual(table.warnings, []);
    // Open-ended: to the last row, notes included (and warned about); --no-header: the first row is data.
    const open = await openXlsx(chunked(bytes), { sheet: null, headerRow: null, range: parseSheetRange('B4:E'), header: false });
    assert.deepEqual(open.header, ['column_1', 'column_2', 'column_3', 'column_4']);
    assert.deepEqual((await readRows(open)).map((r) => r.rn), [4, 5, 6, 8, 9]);
    assert.deepEqual(open.warnings, [
      'sheet "S" ends in 2 row(s) (sheet rows 8-9) filling only one or two cells of a table whose other rows are well filled: notes below the data? They were imported as rows; to read the table alone, pass --range B4:E6',
    ]);
  });

  it('refuses a range whose first row is empty, since it is the header', async () => {
    const bytes = handMadeXlsx([{ name: 'S', rows: SHEET }]);
    await assert.rejects(
      openXlsx(chunked(bytes), { sheet: null, headerRow: null, range: parseSheetRange('B2:E6') }),
      (err: unknown) => err instanceof UsageError && err.message === 'row 2 of sheet "S" is empty: it cannot be the header',
    );
  });
});

describe('notes below the data', () => {
  it('are warned about, never dropped, when the table above is well filled', async () => {
    const table = await openXlsx(chunked(handMadeXlsx([{ name: 'S', rows: SHEET }])), { sheet: null, headerRow: null });
    assert.deepEqual((await readRows(table)).map((r) => r.rn), [4, 5, 6, 8, 9]);
    // The header found below the title; the remark beside it widens the table to G.
    assert.deepEqual(table.warnings, [
      'sheet "S": row 3 was taken as the header, and the 1 row(s) with values above it (sheet row 1: titles, notes?) were skipped; to take another row as the header, pass --header-row N (its row number in the sheet), or give the block to read with --range (e.g. --range B3:G)',
      'sheet "S" ends in 2 row(s) (sheet rows 8-9) filling only one or two cells of a table whose other rows are well filled: notes below the data? They were imported as rows; to read the table alone, pass --range B3:G6',
    ]);
  });

  it('are not seen in a table whose rows are sparse anyway, a narrow one, or one whose last rows are full', () => {
    const watch = (width: number, filled: number[]): string | null => {
      const notes = new TrailingNotes(width);
      filled.forEach((f, i) => notes.observe(i + 2, f));
      return notes.warning('S', { firstRow: 1, firstCol: 1, lastCol: width });
    };
    assert.match(watch(6, [6, 6, 5, 6, 1, 2]) ?? '', /ends in 2 row\(s\) \(sheet rows 6-7\).*--range A1:F5$/);
    assert.match(watch(4, [4, 3, 4, 1]) ?? '', /ends in 1 row\(s\) \(sheet row 5\)/);
    assert.equal(watch(6, [6, 6, 6, 6]), null); // no notes
    assert.equal(watch(6, [2, 1, 2, 6, 1]), null); // most rows sparse: not a well-filled table
    assert.equal(watch(2, [2, 2, 2, 1]), null); // too narrow to tell
    assert.equal(watch(6, [6, 1]), null); // one data row is too few to judge
    assert.equal(watch(6, [6, 6, 1, 6]), null); // a sparse row inside the data, not at its end
  });
});
