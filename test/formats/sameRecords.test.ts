/**
 * The same small data set, written as CSV, XLSX, JSON, NDJSON and XML, comes out of every reader
 * as the same text values: the import layer can then give the same rows and types for each.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { openCsv } from '../../src/formats/csv/csv.ts';
import { openJson, openNdjson } from '../../src/formats/json/json.ts';
import { openXml } from '../../src/formats/xml/xml.ts';
import { openXlsx } from '../../src/formats/xlsx/xlsx.ts';
import { chunked, plain, readRecords, readRows, rowObjects } from './readerHelpers.ts';

const RECORDS = [
  { id: 1, name: 'Ann', amount: 12.5, day: '2024-01-15', active: true },
  { id: 2, name: "O'Brien, Pat", amount: 1234.56, day: '2024-02-29', active: false },
  { id: 3, name: 'Zoë', amount: 0.99, day: '2023-12-31', active: true },
  { id: 4, name: 'Li "Lee" <x> & y', amount: -3.25, day: '2024-03-01', active: false },
];

/** What every reader must give: the values as text. */
const EXPECTED = RECORDS.map((r) => ({ id: String(r.id), name: r.name, amount: String(r.amount), day: r.day, active: String(r.active) }));
const COLUMNS = ['id', 'name', 'amount', 'day', 'active'] as const;

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

async function xlsxBytes(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Data');
  ws.addRow(['Export of 2024-03-02']); // a title row above the table
  ws.addRow([...COLUMNS]);
  for (const r of RECORDS) {
    const [y, m, d] = r.day.split('-').map(Number) as [number, number, number];
    const row = ws.addRow([r.id, r.name, r.amount, new Date(Date.UTC(y, m - 1, d)), r.active]);
    row.getCell(4).numFmt = 'dd/mm/yyyy';
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('the same records from every format', () => {
  it('CSV', async () => {
    const text = [COLUMNS.join(','), ...RECORDS.map((r) => COLUMNS.map((c) => csvField(String(r[c]))).join(','))].join('\r\n');
    const table = await openCsv(chunked(text), { delimiter: null, header: true, encoding: null });
    assert.deepEqual(rowObjects(table.header, await readRows(table)), EXPECTED);
  });

  it('XLSX', async () => {
    const table = await openXlsx(chunked(await xlsxBytes()), { sheet: null, headerRow: null });
    const rows = await readRows(table);
    assert.deepEqual(rowObjects(table.header, rows), EXPECTED);
    assert.deepEqual(rows.map((r) => r.rn), [3, 4, 5, 6]);
    const day = table.header.indexOf('day');
    assert.deepEqual(rows.map((r) => (r.fixes ?? []).flatMap((fix, i) => (fix ? [i] : []))), [[day], [day], [day], [day]]);
  });

  it('JSON', async () => {
    const table = await openJson(chunked(JSON.stringify(RECORDS, null, 2)), { recordPath: null, encoding: null });
    assert.deepEqual(plain(await readRecords(table)), EXPECTED);
    assert.equal(table.jsonKeys.size, 0);
  });

  it('JSON under --record-path', async () => {
    const table = await openJson(chunked(JSON.stringify({ export: { rows: RECORDS } })), { recordPath: 'export.rows', encoding: null });
    assert.deepEqual(plain(await readRecords(table)), EXPECTED);
  });

  it('NDJSON', async () => {
    const table = await openNdjson(chunked(RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n'), { encoding: null });
    assert.deepEqual(plain(await readRecords(table)), EXPECTED);
  });

  it('XML', async () => {
    const body = RECORDS.map((r) => `  <record id="${r.id}">${COLUMNS.slice(1).map((c) => `<${c}>${escapeXml(String(r[c]))}</${c}>`).join('')}</record>`).join('\n');
    const table = await openXml(chunked(`<?xml version="1.0"?>\n<records>\n${body}\n</records>\n`), { recordPath: null, encoding: null });
    assert.deepEqual(plain(await readRecords(table)), EXPECTED);
    assert.equal(table.details.record_element, 'record');
  });
});
