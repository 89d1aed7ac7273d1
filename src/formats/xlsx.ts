import { AtlasError, UsageError } from '../errors.js';
import type { FixedTableStream, ReaderFix, Row } from './types.js';
import { cellText, isTextValue } from './xlsxValues.js';
import { ZipInput } from './zipInput.js';

export interface XlsxOptions {
  /** Sheet name, or 1-based position in the workbook; the first visible sheet when null. */
  sheet: string | number | null;
  /** 1-based sheet row holding the header; found automatically (below any title rows) when null. */
  headerRow: number | null;
}

/** Excel's own limits (rows and columns per sheet): anything beyond is corrupt or hostile. */
export const MAX_SHEET_ROWS = 1_048_576;
export const MAX_SHEET_COLUMNS = 16_384;
/** Rows looked at to find the header below title rows. */
const HEADER_SCAN_ROWS = 30;
/** A candidate header is compared with this many rows after it. */
const HEADER_FOLLOWING_ROWS = 5;
/** Rows per batch: large enough to amortise the per-batch work, small enough to bound memory. */
const BATCH_ROWS = 1000;

const OLE2_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** The parts of exceljs's streaming reader atlas uses (its typings omit some). */
interface SheetInfo {
  name: string;
  id: number;
  state?: string;
}
interface WorkbookReaderLike extends AsyncIterable<WorksheetReaderLike> {
  model?: { sheets?: SheetInfo[] };
  properties?: { date1904?: boolean } | { model?: { date1904?: boolean } };
}
interface WorksheetReaderLike extends AsyncIterable<RowLike> {
  name: string;
  iterator?: unknown;
}
interface CellLike {
  value: unknown;
  numFmt?: unknown;
}
interface RowLike {
  number: number;
  eachCell(options: { includeEmpty: boolean }, cb: (cell: CellLike, col: number) => void): void;
}

interface CellData {
  col: number;
  text: string;
  fix: ReaderFix | null;
  isText: boolean;
}
interface RowData {
  number: number;
  cells: CellData[];
}

/** Fails fast, with a useful message, on what is not an .xlsx archive. */
function checkMagic(head: Buffer): void {
  if (head.length === 0) throw new AtlasError('the file is empty: not a valid .xlsx file');
  if (head.length >= OLE2_MAGIC.length && head.subarray(0, OLE2_MAGIC.length).equals(OLE2_MAGIC)) {
    throw new AtlasError('this is an old binary Excel file (.xls), which atlas does not read', {
      hint: 'open it in Excel or LibreOffice and save it as .xlsx or CSV',
    });
  }
  if (head.length < ZIP_MAGIC.length || !head.subarray(0, ZIP_MAGIC.length).equals(ZIP_MAGIC)) {
    throw new AtlasError('not a valid .xlsx file: it is not a zip archive', { hint: 'check the file, or name its real format with --format' });
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Turns what exceljs, unzipper or zlib threw into one line a user can act on. */
function asXlsxError(err: unknown): Error {
  if (err instanceof AtlasError) return err;
  const message = err instanceof Error ? err.message : String(err);
  let what: string;
  if (message === 'FILE_ENDED' || /unexpected end/i.test(message)) what = 'the archive ends early (is the file truncated?)';
  else if (/invalid signature/i.test(message)) what = `the zip archive is corrupt (${message})`;
  else if ((err as { errno?: unknown }).errno !== undefined || /invalid (?:literal|distance|code|block|stored|bit)/i.test(message)) {
    what = `corrupt compressed data (${message})`;
  } else if (/out of bounds/i.test(message)) what = `a cell lies beyond Excel's ${MAX_SHEET_COLUMNS} columns (${message})`;
  else what = message;
  return new AtlasError(`not a valid .xlsx file: ${oneLine(what)}`, { cause: err });
}

function sheetList(sheets: SheetInfo[]): string {
  return sheets.length === 0 ? 'none found' : sheets.map((s) => `"${s.name}"`).join(', ');
}

/** The workbook's sheet that `sheet` names, or a usage error listing the sheets. */
function pickSheet(sheets: SheetInfo[], sheet: string | number | null): SheetInfo {
  let found: SheetInfo | undefined;
  if (sheet === null) {
    found = sheets.find((s) => s.state === undefined || s.state === 'visible') ?? sheets[0];
    if (found === undefined) throw new AtlasError('not a valid .xlsx file: the workbook has no sheets');
    return found;
  }
  if (typeof sheet === 'number') {
    found = Number.isInteger(sheet) && sheet >= 1 ? sheets[sheet - 1] : undefined;
    // A sheet named like a number ("2024") given on the command line arrives as a number.
    found ??= sheets.find((s) => s.name === String(sheet));
    if (found === undefined) {
      throw new UsageError(`there is no sheet ${sheet}: the workbook has ${sheets.length} sheet(s): ${sheetList(sheets)}`);
    }
    return found;
  }
  found = sheets.find((s) => s.name === sheet);
  if (found === undefined) {
    const folded = sheets.filter((s) => s.name.toLowerCase() === sheet.toLowerCase());
    if (folded.length === 1) found = folded[0];
  }
  if (found === undefined) throw new UsageError(`there is no sheet named "${sheet}": the workbook has ${sheetList(sheets)}`);
  return found;
}

function readRow(row: RowLike, date1904: boolean): RowData {
  const cells: CellData[] = [];
  row.eachCell({ includeEmpty: false }, (cell, col) => {
    if (col > MAX_SHEET_COLUMNS) {
      throw new AtlasError(`not a valid .xlsx file: row ${row.number} has a cell in column ${col}, beyond Excel's ${MAX_SHEET_COLUMNS} columns`);
    }
    const value = cell.value;
    const { text, fix } = cellText(value, cell.numFmt, date1904);
    if (text !== null) cells.push({ col, text, fix, isText: isTextValue(value) });
  });
  return { number: row.number, cells };
}

/**
 * Index of the header among the first rows: the first row with at least two text cells and at
 * least as many as the widest of the rows after it; else the first row with the most text cells.
 */
export function findHeaderIndex(rows: ReadonlyArray<{ cells: ReadonlyArray<{ isText: boolean }> }>): number {
  const textCounts = rows.map((r) => r.cells.filter((c) => c.isText).length);
  for (let i = 0; i < rows.length; i++) {
    const following = rows.slice(i + 1, i + 1 + HEADER_FOLLOWING_ROWS);
    const widest = Math.max(0, ...following.map((r) => r.cells.length));
    const count = textCounts[i] ?? 0;
    if (count >= 2 && count >= widest) return i;
  }
  let best = 0;
  for (let i = 1; i < rows.length; i++) if ((textCounts[i] ?? 0) > (textCounts[best] ?? 0)) best = i;
  return best;
}

function columnLetters(col: number): string {
  let s = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/**
 * Reads one sheet of an .xlsx workbook with exceljs's streaming reader: returns once the header
 * is known, then streams the rows in batches. Empty rows are skipped; `rn` is the sheet's row
 * number. Date cells become ISO text, each with a ReaderFix recording the Excel serial.
 */
export async function openXlsx(bytes: AsyncIterable<Buffer>, options: XlsxOptions): Promise<FixedTableStream> {
  const input = new ZipInput(bytes[Symbol.asyncIterator]());
  checkMagic(await input.peek(OLE2_MAGIC.length));
  // Loaded here so that importing this module (and atlas --help) does not load exceljs.
  const { default: ExcelJS } = await import('exceljs');
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    styles: 'cache',
    worksheets: 'emit',
  }) as unknown as WorkbookReaderLike;
  const sheets = reader[Symbol.asyncIterator]();

  const guarded = async <T>(work: Promise<T>): Promise<T> => {
    try {
      return await input.race(work);
    } catch (err) {
      input.close();
      throw input.sourceError ?? asXlsxError(err);
    }
  };
  const skipSheet = (ws: WorksheetReaderLike): void => {
    // A sheet exceljs parked in a temporary file comes with a read stream of it, which exceljs
    // deletes as soon as we move on: close the stream, and keep its open error from crashing.
    const it = ws.iterator as { destroy?: () => void; on?: (event: string, cb: () => void) => void } | undefined;
    if (it && typeof it.destroy === 'function' && typeof it.on === 'function') {
      it.on('error', () => undefined);
      it.destroy();
    }
  };
  const workbookSheets = (): SheetInfo[] => reader.model?.sheets ?? [];
  const date1904 = (): boolean => {
    const p = reader.properties as { date1904?: boolean; model?: { date1904?: boolean } } | undefined;
    return Boolean(p?.date1904 ?? p?.model?.date1904);
  };

  // Find the sheet. exceljs emits sheets in archive order; the workbook part names them.
  let sheet: WorksheetReaderLike | null = null;
  let sheetName = '';
  for (let emitted = 1; sheet === null; emitted++) {
    const next = await guarded(sheets.next());
    if (next.done) {
      input.close();
      pickSheet(workbookSheets(), options.sheet); // throws when the sheet does not exist
      throw new AtlasError(`not a valid .xlsx file: the sheet's data is missing from the archive`);
    }
    const ws = next.value;
    const known = workbookSheets();
    let wanted: string | null = null;
    try {
      if (known.length > 0) wanted = pickSheet(known, options.sheet).name;
    } catch (err) {
      input.close();
      throw err;
    }
    const matches = wanted !== null ? ws.name === wanted : options.sheet === null ? emitted === 1 : options.sheet === emitted || options.sheet === ws.name;
    if (matches) {
      sheet = ws;
      sheetName = wanted ?? ws.name;
    } else skipSheet(ws);
  }

  const rowIterator = sheet[Symbol.asyncIterator]();
  let rowsSeen = 0;
  const nextRow = async (): Promise<RowData | null> => {
    for (;;) {
      const next = await guarded(rowIterator.next());
      if (next.done) return null;
      rowsSeen++;
      const number = next.value.number;
      if (rowsSeen > MAX_SHEET_ROWS || !(number >= 1 && number <= MAX_SHEET_ROWS)) {
        input.close();
        throw new AtlasError(`not a valid .xlsx file: sheet "${sheetName}" has a row beyond Excel's ${MAX_SHEET_ROWS.toLocaleString('en-US')} rows`);
      }
      let row: RowData;
      try {
        row = readRow(next.value, date1904());
      } catch (err) {
        input.close();
        throw asXlsxError(err);
      }
      if (row.cells.length > 0) return row;
    }
  };

  // Find the header row.
  let buffered: RowData[] = [];
  let headerData: RowData | null = null;
  if (options.headerRow !== null) {
    for (;;) {
      const row = await nextRow();
      if (row === null || row.number > options.headerRow) {
        input.close();
        throw new UsageError(`row ${options.headerRow} of sheet "${sheetName}" is empty: it cannot be the header`, { hint: 'give the sheet row number of the header with --header-row' });
      }
      if (row.number === options.headerRow) {
        headerData = row;
        break;
      }
    }
    for (let i = 0; i < HEADER_FOLLOWING_ROWS; i++) {
      const row = await nextRow();
      if (row === null) break;
      buffered.push(row);
    }
  } else {
    for (let i = 0; i < HEADER_SCAN_ROWS; i++) {
      const row = await nextRow();
      if (row === null) break;
      buffered.push(row);
    }
    if (buffered.length === 0) {
      input.close();
      throw new AtlasError(`sheet "${sheetName}" is empty: no header row found`);
    }
    const h = findHeaderIndex(buffered);
    headerData = buffered[h] as RowData;
    buffered = buffered.slice(h + 1);
  }

  // The table spans from the leftmost to the rightmost column used by the header and the rows
  // right after it (a title sheet often leaves column A empty).
  const near = [headerData, ...buffered];
  const firstCol = Math.min(...near.map((r) => r.cells[0]?.col ?? Infinity));
  const lastCol = Math.max(...near.map((r) => r.cells.at(-1)?.col ?? 0));
  const header: string[] = Array.from({ length: lastCol - firstCol + 1 }, () => '');
  for (const c of headerData.cells) header[c.col - firstCol] = c.text;

  const toRow = (data: RowData): Row => {
    const last = data.cells.at(-1)?.col ?? firstCol;
    const fields: Array<string | null> = Array.from({ length: Math.max(header.length, last - firstCol + 1) }, () => null);
    let fixes: Record<string, ReaderFix> | undefined;
    for (const c of data.cells) {
      if (c.col < firstCol) {
        throw new AtlasError(
          `sheet "${sheetName}" row ${data.number} has a value in column ${columnLetters(c.col)}, left of the table, which starts at column ${columnLetters(firstCol)}`,
          { hint: 'remove the stray value, or give the header row with --header-row' },
        );
      }
      const i = c.col - firstCol;
      fields[i] = c.text;
      if (c.fix) (fixes ??= {})[header[i] ?? `column_${i + 1}`] = c.fix;
    }
    return fixes ? { rn: data.number, fields, fixes } : { rn: data.number, fields };
  };

  async function* batches(): AsyncGenerator<Row[]> {
    let finished = false;
    try {
      let pending: Row[] = [];
      for (const data of buffered) pending.push(toRow(data));
      buffered = [];
      for (;;) {
        const data = await nextRow();
        if (data === null) break;
        pending.push(toRow(data));
        if (pending.length >= BATCH_ROWS) {
          yield pending;
          pending = [];
        }
      }
      if (pending.length > 0) yield pending;
      // Read the rest of the archive, so that every byte of the file passes through (its hash).
      for (;;) {
        const next = await guarded(sheets.next());
        if (next.done) break;
        skipSheet(next.value);
      }
      await input.drain();
      finished = true;
    } finally {
      if (!finished) input.close();
    }
  }

  return {
    kind: 'fixed',
    header,
    batches: batches(),
    details: { format: 'xlsx', sheet: sheetName, header_row: headerData.number },
  };
}
