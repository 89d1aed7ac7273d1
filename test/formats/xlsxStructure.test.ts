/** Which sheet of a workbook is read, which of its rows is the header, and what a damaged workbook says. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AtlasError } from '../../src/errors.ts';
import { openXlsx } from '../../src/formats/xlsx/xlsx.ts';
import { chunked, handMadeXlsx, makeZip, readRows, type ZipEntry } from './readerHelpers.ts';

const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/** A sheet given as its cells' rows: a string is a shared-string cell written inline, a number a number. */
function rowsXml(rows: Array<Array<string | number | null>>, firstRow = 1): string {
  return rows
    .map((cells, r) => {
      const n = firstRow + r;
      const xml = cells.map((v, c) => {
        const ref = `${String.fromCharCode(65 + c)}${n}`;
        if (v === null) return '';
        return typeof v === 'number' ? `<c r="${ref}"><v>${v}</v></c>` : `<c r="${ref}" t="inlineStr"><is><t>${v}</t></is></c>`;
      });
      return `<row r="${n}">${xml.join('')}</row>`;
    })
    .join('');
}

/** A workbook whose parts are listed as given: a chart sheet, a worksheet with or without shared strings. */
function workbookOf(sheets: Array<{ name: string; chart?: boolean; rows?: string }>, sharedStrings: string[] | null): Buffer {
  const entries: ZipEntry[] = [
    { name: 'xl/workbook.xml', data: `<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><sheets>${sheets.map((s, i) => `<sheet name="${s.name}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join('')}</sheets></workbook>` },
    {
      name: 'xl/_rels/workbook.xml.rels',
      data: `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets
        .map((s, i) => `<Relationship Id="rId${i + 1}" Type="${REL_NS}/${s.chart ? 'chartsheet' : 'worksheet'}" Target="${s.chart ? 'chartsheets' : 'worksheets'}/sheet${i + 1}.xml"/>`)
        .join('')}</Relationships>`,
    },
    { name: 'xl/styles.xml', data: `<styleSheet xmlns="${MAIN_NS}"><cellXfs count="1"><xf numFmtId="0"/></cellXfs></styleSheet>` },
    ...sheets.map((s, i): ZipEntry =>
      s.chart
        ? { name: `xl/chartsheets/sheet${i + 1}.xml`, data: `<chartsheet xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><drawing r:id="rId1"/></chartsheet>` }
        : { name: `xl/worksheets/sheet${i + 1}.xml`, data: `<worksheet xmlns="${MAIN_NS}"><sheetData>${s.rows ?? ''}</sheetData></worksheet>` },
    ),
  ];
  if (sharedStrings !== null) {
    entries.push({ name: 'xl/sharedStrings.xml', data: `<sst xmlns="${MAIN_NS}">${sharedStrings.map((t) => `<si><t>${t}</t></si>`).join('')}</sst>` });
  }
  return makeZip(entries);
}

async function fieldsOf(bytes: Buffer, sheet: string | number | null = null): Promise<{ header: string[]; rows: Array<Array<string | null>> }> {
  const table = await openXlsx(chunked(bytes), { sheet, headerRow: null });
  return { header: table.header, rows: (await readRows(table)).map((r) => r.fields) };
}

describe('a damaged workbook', () => {
  it('is refused when a cell refers to a shared string the workbook does not hold, never read as an empty cell', async () => {
    const sheet = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>2</v></c></row><row r="3"><c r="A3"><v>2</v></c><c r="B3" t="s"><v>7</v></c></row>';
    const outOfRange = handMadeXlsx([{ name: 'S', rows: sheet }], { sharedStrings: ['id', 'name', 'Ann', 'Bob'] });
    await assert.rejects(fieldsOf(outOfRange), (err: Error) => {
      assert.ok(err instanceof AtlasError);
      assert.equal(err.message, 'not a valid .xlsx file: cell B3 of sheet "S" refers to shared string 7, and the workbook has 4 (0 to 3)');
      return true;
    });
    // Without its shared-strings part, every text cell would vanish and the first row of numbers become the header.
    await assert.rejects(fieldsOf(workbookOf([{ name: 'S', rows: sheet }], null)), /^AtlasError: not a valid \.xlsx file: cell A1 of sheet "S" refers to shared string 0, and the workbook has no shared strings$/);
    // Every reference in the table reads as before, and an empty <v> is an empty cell.
    const whole = handMadeXlsx([{ name: 'S', rows: sheet.replace('<v>7</v>', '<v>3</v>') + '<row r="4"><c r="A4"><v>3</v></c><c r="B4" t="s"><v></v></c></row>' }], { sharedStrings: ['id', 'name', 'Ann', 'Bob'] });
    assert.deepEqual(await fieldsOf(whole), { header: ['id', 'name'], rows: [['1', 'Ann'], ['2', 'Bob'], ['3', null]] });
  });
});

describe('the header found on a sheet', () => {
  it('is never a row of text below rows of numbers, which would be skipped as titles', async () => {
    // Rows of numbers (the data of R's openxlsx loadExample.xlsx, sheet "testing"), then notes of one cell.
    const numbers = rowsXml([[10, 11, 12], [20, 21, 22], [30, 31, 32], [40, 41, 42]]);
    const notes = rowsXml([['Some text.'], ['more text']], 6);
    const table = await openXlsx(chunked(handMadeXlsx([{ name: 'S', rows: numbers + notes }])), { sheet: null, headerRow: null });
    assert.deepEqual([table.header, table.details], [['10', '11', '12'], { format: 'xlsx', sheet: 'S', sheet_position: 1, header_row: 1 }]);
    assert.deepEqual((await readRows(table)).map((r) => [r.rn, r.fields[0]]), [[2, '20'], [3, '30'], [4, '40'], [6, 'Some text.'], [7, 'more text']]);
    // Above the numbers, the widest row of text is still the header (one name short: R's row names), a title above it skipped.
    const titled = await openXlsx(chunked(handMadeXlsx([{ name: 'S', rows: rowsXml([['Report'], [null, 'x', 'y'], ['r1', 1, 2], ['r2', 3, 4]]) }])), { sheet: null, headerRow: null });
    assert.deepEqual([titled.header, titled.details, (await readRows(titled)).length], [['', 'x', 'y'], { format: 'xlsx', sheet: 'S', sheet_position: 1, header_row: 2, rows_above_header_skipped: 1 }, 2]);
  });

  it("counts a formula's text result as text: a header of formulas below a title", async () => {
    const formulas = ['name', 'score'].map((t, c) => `<c r="${'AB'[c]}2" t="str"><f>"${t}"&amp;""</f><v>${t}</v></c>`).join('');
    const table = await openXlsx(chunked(handMadeXlsx([{ name: 'S', rows: `${rowsXml([['Scores']])}<row r="2">${formulas}</row>${rowsXml([['Ann', 3], ['Bob', 4]], 3)}` }])), { sheet: null, headerRow: null });
    assert.deepEqual([table.header, table.details.header_row, (await readRows(table)).length], [['name', 'score'], 2, 2]);
  });
});

describe('a header found for want of a better row', () => {
  const open = (rows: string) => openXlsx(chunked(handMadeXlsx([{ name: 'S', rows }])), { sheet: null, headerRow: null });

  it('is warned of when it holds numbers, which name columns and are not imported', async () => {
    // A sheet of numbers only: its first row is taken for the header, not skipped, and said.
    const numbers = await open(rowsXml([[10, 11, 12], [20, 21, 22], [30, 31, 32]]));
    assert.deepEqual([numbers.header, (await readRows(numbers)).length], [['10', '11', '12'], 2]);
    assert.deepEqual(numbers.warnings, [
      'sheet "S": row 1, taken as the header for want of a row of text, holds numbers (10, 11, 12) that name columns and are not imported as data; ' +
        'if that row is data, pass --no-header (columns column_1, column_2, ...), or give the header with --header-row N',
    ]);
    // A header of years is taken as it was, with the same warning (nothing tells years from data).
    const years = await open(rowsXml([['country', 2019, 2020], ['France', 67, 67.2]]));
    assert.deepEqual([years.header, years.warnings?.length], [['country', '2019', '2020'], 1]);
    // A header of text is not.
    assert.deepEqual((await open(rowsXml([['country', 'people'], ['France', 67]]))).warnings, []);
  });

  it('is warned of when it is much narrower than the rows after it: a title above a header of years', async () => {
    const titled = await open(rowsXml([['Population by year'], [], ['country', 2019, 2020], ['France', 67, 67.2], ['Chile', 19, 19.1]]));
    assert.deepEqual([titled.header, titled.details.header_row], [['Population by year', '', ''], 1]);
    assert.deepEqual(titled.warnings, [
      'sheet "S": row 1, taken as the header, has 1 cell(s) but 3 of the 3 rows after it have more (most 3): ' +
        'if it is a title, pass --header-row 3 (row 3, 3 cells, becomes the header) or --range A3:C',
    ]);
    // One cell narrower (R's row names) is a header, and so is one more than half as wide (a pivot table beside the data).
    assert.deepEqual((await open(rowsXml([[null, 'x', 'y'], ['r1', 1, 2], ['r2', 3, 4]]))).warnings, []);
    assert.deepEqual((await open(rowsXml([['a', 'b', 'c'], [1, 2, 3, null, 'x', 5], [1, 2, 3, null, 'y', 6]]))).warnings, []);
  });
});

describe('the sheet chosen', () => {
  it('is the sheet named as --sheet says before the sheet at that position, which #N names', async () => {
    // Sheets named like numbers (R's readxl readTest.xlsx names its sheets 1, 11, 111, ...).
    const bytes = handMadeXlsx(['3', '2023', '2024'].map((name) => ({ name, rows: rowsXml([['year'], [name]]) })));
    const read = async (sheet: string | number) => {
      const table = await openXlsx(chunked(bytes), { sheet, headerRow: null });
      return [table.details.sheet, (await readRows(table))[0]?.fields[0], table.warnings];
    };
    assert.deepEqual(await read(3), ['3', '3', [`--sheet 3 read the sheet named "3", not the 3rd sheet ("2024"): --sheet '#3' reads that one`]]);
    assert.deepEqual(await read('#3'), ['2024', '2024', []]);
    assert.deepEqual(await read('#1'), ['3', '3', []]);
    assert.deepEqual(await read(2), ['2023', '2023', []]);
    assert.deepEqual(await read(2024), ['2024', '2024', []]);
    await assert.rejects(openXlsx(chunked(bytes), { sheet: '#4', headerRow: null }), /^UsageError: there is no sheet #4: the workbook has 3 sheet\(s\): "3", "2023", "2024"$/);
  });

  it('is the first worksheet by default, never a chart sheet before it, which --sheet is told holds no cells', async () => {
    // xlsxwriter's add_chartsheet: the chart sheet first, its data on the worksheet after it.
    const data = rowsXml([['x', 'y'], [1, 1], [2, 4]]);
    const bytes = workbookOf([{ name: 'Chart', chart: true }, { name: 'data', rows: data }], []);
    assert.deepEqual(await fieldsOf(bytes), { header: ['x', 'y'], rows: [['1', '1'], ['2', '4']] });
    assert.deepEqual(await fieldsOf(bytes, 2), { header: ['x', 'y'], rows: [['1', '1'], ['2', '4']] });
    for (const sheet of ['Chart', 1, '#1']) {
      await assert.rejects(fieldsOf(bytes, sheet), /^UsageError: sheet "Chart" is a chart sheet, which holds no cells: the workbook's worksheets are "data"$/);
    }
    await assert.rejects(fieldsOf(workbookOf([{ name: 'Chart', chart: true }], [])), /^AtlasError: the workbook has no worksheet, only a chart sheet \("Chart"\), which holds no cells$/);
  });
});
