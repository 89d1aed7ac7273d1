import { AtlasError, UsageError } from '../../errors.js';
import type { FixedTableStream, ReaderFix, Row } from '../shared/index.js';
import { findSheet, type FoundSheet } from './xlsxArchive.js';
import { Parking } from './xlsxParking.js';
import { MAX_SHEET_COLUMNS, MAX_SHEET_ROWS, SheetScanner, type ScannedRow } from './xlsxSheet.js';
import { columnLetters, rangeText, TrailingNotes, type SheetRange } from './xlsxRange.js';
import { preloadWorkbookParsers } from './xlsxWorkbook.js';
import { MalformedXmlError } from './xlsxXml.js';
import { asZipError, ZipInput } from '../zip/index.js';

export { MAX_SHEET_COLUMNS, MAX_SHEET_ROWS };

export interface XlsxOptions {
  /** Sheet name, or 1-based position in the workbook (a number, or `#3`; a sheet so named first); the first visible sheet when null. */
  sheet: string | number | null;
  /** 1-based sheet row holding the header; found automatically (below any title rows) when null. */
  headerRow: number | null;
  /** Read only this block of cells (its first row the header); the whole sheet when null. @default null */
  range?: SheetRange | null;
  /** With a range: its first row is the header (false: data, the columns named column_1, ...). @default true */
  header?: boolean;
}

/** Rows looked at to find the header below title rows. */
const HEADER_SCAN_ROWS = 30;
/** A candidate header is compared with this many rows after it. */
const HEADER_FOLLOWING_ROWS = 5;
/** Rows per batch: large enough to amortise the per-batch work, small enough to bound memory. */
const BATCH_ROWS = 1000;
const OLE2_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

interface CellData {
  col: number;
  /** null: an error cell (see its fix). */
  text: string | null;
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

/** Turns what zlib or a part's parser threw into one line a user can act on. */
function asXlsxError(err: unknown): Error {
  if (err instanceof MalformedXmlError) return new AtlasError(`not a valid .xlsx file: ${err.message}`, { cause: err });
  return asZipError(err, '.xlsx file');
}

/**
 * Index of the header among the first rows: the first row of text only (a row holding a number is
 * data) with at least two cells and at least as many as the rows after it (all of them but the widest
 * when there are three or more: a note beside one row); else, among the rows of text only above
 * the first row holding a number, the first with the most text cells (a header one cell narrower
 * than the data, R's row names; a pivot table beside the data); else the first row, so that no row
 * of data is skipped on a guess.
 */
export function findHeaderIndex(rows: ReadonlyArray<{ cells: ReadonlyArray<{ isText: boolean; text: string | null }> }>): number {
  const textCounts = rows.map((r) => r.cells.filter((c) => c.isText).length);
  const filled = rows.map((r) => r.cells.filter((c) => c.text !== null && c.text.trim() !== '').length);
  const textOnly = rows.map((_, i) => (textCounts[i] ?? 0) > 0 && textCounts[i] === filled[i]);
  for (let i = 0; i < rows.length - 1; i++) {
    const count = textCounts[i] ?? 0;
    if (!textOnly[i] || count < 2) continue;
    const widths = rows
      .slice(i + 1, i + 1 + HEADER_FOLLOWING_ROWS)
      .map((r) => r.cells.length)
      .sort((a, b) => b - a);
    const wide = (widths.length >= 3 ? widths[1] : widths[0]) ?? 0;
    if (count >= wide) return i;
  }
  let best = -1;
  // Rows of numbers above a one-cell note are the data, not titles to skip.
  for (let i = 0; i < rows.length && (filled[i] ?? 0) === (textCounts[i] ?? 0); i++) {
    if (textOnly[i] && (best < 0 || (textCounts[i] ?? 0) > (textCounts[best] ?? 0))) best = i;
  }
  return Math.max(best, 0);
}

/**
 * Warnings about the header found when no row looked like one: it holds numbers (data taken for
 * column names, unless they are years), or it is at most half as wide as most rows after it (a title).
 */
export function doubtfulHeader(sheetName: string, header: RowData, after: RowData[]): string[] {
  const out: string[] = [];
  const numbers = header.cells.filter((c) => !c.isText && c.text !== null && c.text.trim() !== '').map((c) => c.text as string);
  if (numbers.length > 0) {
    const shown = numbers.length > 3 ? `${numbers.slice(0, 3).join(', ')}, ...` : numbers.join(', ');
    out.push(
      `sheet "${sheetName}": row ${header.number}, taken as the header for want of a row of text, holds numbers (${shown}) that name columns and are not imported as data; ` +
        'if that row is data, pass --no-header (columns column_1, column_2, ...), or give the header with --header-row N',
    );
  }
  // As a CSV header much narrower than the records (csv.ts narrowHeader), but at most half as wide:
  // one cell short is R's row names, a few short a pivot table beside the data.
  const width = header.cells.length;
  const wider = after.filter((r) => r.cells.length > width);
  if (wider.length * 2 > after.length) {
    const counts = new Map<number, number>();
    for (const r of wider) counts.set(r.cells.length, (counts.get(r.cells.length) ?? 0) + 1);
    const common = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    const start = wider.find((r) => r.cells.length >= common - 1);
    if (common >= width + 2 && width * 2 <= common && start !== undefined) {
      const block = `${columnLetters(start.cells[0]?.col ?? 1)}${start.number}:${columnLetters(start.cells.at(-1)?.col ?? 1)}`;
      out.push(
        `sheet "${sheetName}": row ${header.number}, taken as the header, has ${width} cell(s) but ${wider.length} of the ${after.length} rows after it have more (most ${common}): ` +
          `if it is a title, pass --header-row ${start.number} (row ${start.number}, ${start.cells.length} cells, becomes the header) or --range ${block}`,
      );
    }
  }
  return out;
}

function rowData(row: ScannedRow): RowData {
  const cells: CellData[] = [];
  for (let k = 0; k < row.count; k++) {
    const text = row.texts[k] ?? null;
    cells.push({ col: row.cols[k] as number, text, fix: row.fixes[k] ?? null, isText: row.typed[k] === 1 && text !== null && text.trim() !== '' });
  }
  return { number: row.number, cells };
}

/**
 * Reads one sheet of an .xlsx workbook: returns once the header is known, then streams the rows
 * in batches. Empty rows are skipped; `rn` is the sheet's row number. Date cells become ISO text,
 * each with a ReaderFix recording the Excel serial.
 *
 * The archive is read as a stream (zipInput.ts), the sheet rows and shared strings by atlas's own
 * scanner (xlsxSheet.ts, xlsxSharedStrings.ts), the small parts with exceljs (xlsxWorkbook.ts).
 */
export async function openXlsx(bytes: AsyncIterable<Buffer>, options: XlsxOptions): Promise<FixedTableStream> {
  return readWorkbook(new ZipInput(bytes[Symbol.asyncIterator]()), options, true);
}

/** openXlsx of an archive already being read: a zip found to be a workbook at its first part under xl/ (put back). */
export async function openXlsxArchive(zip: ZipInput, options: XlsxOptions): Promise<FixedTableStream> {
  zip.what = '.xlsx file';
  return readWorkbook(zip, options, false);
}

async function readWorkbook(zip: ZipInput, options: XlsxOptions, fromStart: boolean): Promise<FixedTableStream> {
  const parking = new Parking();
  /** Stops reading and frees what was parked (after an error, or when the rows are abandoned). */
  const release = async (): Promise<void> => {
    zip.close();
    await parking.discardAll();
  };
  /** The error to throw: the source's own (a read error) as it is, else one line about the file. */
  const fail = async (err: unknown): Promise<never> => {
    await release();
    throw zip.sourceError ?? asXlsxError(err);
  };
  try {
    if (fromStart) checkMagic(await zip.peek(OLE2_MAGIC.length));
    preloadWorkbookParsers();
    const sheet = await findSheet(zip, parking, options);
    return await readTable(zip, sheet, options, release, fail);
  } catch (err) {
    return await fail(err);
  }
}

async function readTable(
  zip: ZipInput,
  sheet: FoundSheet,
  options: XlsxOptions,
  release: () => Promise<void>,
  fail: (err: unknown) => Promise<never>,
): Promise<FixedTableStream> {
  const { name: sheetName } = sheet;
  const fromArchive = sheet.source === 'archive';
  const compressed = sheet.source === 'archive' ? zip.data() : sheet.source.replay();
  const inflated = zip.inflate(sheet.entry, compressed)[Symbol.asyncIterator]();
  if (!fromArchive) await zip.drain(); // the whole archive has been read: the rest is its directory

  // Rows go to `onRow`: kept whole while the header is looked for, then made into Rows.
  let buffered: RowData[] = [];
  let pending: Row[] = [];
  let toRow: ((row: ScannedRow) => Row | null) | null = null;
  const scanner = new SheetScanner(sheet.context, (row) => {
    if (toRow === null) buffered.push(rowData(row));
    else {
      const made = toRow(row);
      if (made !== null) pending.push(made);
    }
  });
  let ended = false;
  /** Scans the sheet's next inflated chunk; false at its end. */
  const feed = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await inflated.next();
    if (next.done) {
      scanner.end();
      ended = true;
      return false;
    }
    scanner.push(next.value);
    return true;
  };
  /** Reads on until `count` rows are buffered, or the sheet ends. */
  const bufferRows = async (count: number): Promise<void> => {
    while (buffered.length < count && (await feed()));
  };

  // Find the header row, and the rows after it that set the table's width.
  const range = options.range ?? null;
  let headerData: RowData | null;
  let nearRows: number;
  /** The rows with values above a header found automatically: not imported, so said and counted. */
  let skippedAbove: RowData[] = [];
  /** Warnings about a header found automatically that may be data or a title. */
  let doubts: string[] = [];
  if (range !== null || options.headerRow !== null) {
    if (range === null && options.header === false) throw new UsageError('--header-row names a header, and --no-header says there is none: pass one of them');
    const wantedRow = range?.firstRow ?? (options.headerRow as number);
    const hasHeader = range === null || options.header !== false;
    // Rows above go (the scanner may have read several at once), then the header is the first row left.
    do {
      await bufferRows(1);
      buffered = buffered.filter((r) => r.number >= wantedRow);
    } while (buffered.length === 0 && !ended);
    const row = buffered[0];
    if (hasHeader && row?.number !== wantedRow) {
      throw new UsageError(`row ${wantedRow} of sheet "${sheetName}" is empty: it cannot be the header`, {
        hint: range === null ? 'give the sheet row number of the header with --header-row' : "start --range at the header's row, or pass --no-header when the range has none",
      });
    }
    headerData = hasHeader ? (buffered.shift() as RowData) : null;
    await bufferRows(HEADER_FOLLOWING_ROWS);
    nearRows = HEADER_FOLLOWING_ROWS;
  } else if (options.header === false) {
    // --no-header: every row is data, from the sheet's first.
    await bufferRows(HEADER_FOLLOWING_ROWS);
    if (buffered.length === 0) throw new AtlasError(`sheet "${sheetName}" is empty: no rows found`);
    headerData = null;
    nearRows = HEADER_FOLLOWING_ROWS;
  } else {
    await bufferRows(HEADER_SCAN_ROWS);
    const scanned = buffered.slice(0, HEADER_SCAN_ROWS);
    if (scanned.length === 0) throw new AtlasError(`sheet "${sheetName}" is empty: no header row found`);
    const h = findHeaderIndex(scanned);
    headerData = scanned[h] as RowData;
    skippedAbove = scanned.slice(0, h);
    buffered = buffered.slice(h + 1);
    nearRows = scanned.length - h - 1;
    doubts = doubtfulHeader(sheetName, headerData, scanned.slice(h + 1));
  }

  // The table spans from the leftmost to the rightmost column used by the header and the rows
  // right after it (a title sheet often leaves column A empty), or exactly the range's.
  const near = [...(headerData ? [headerData] : []), ...buffered.slice(0, nearRows)];
  const firstCol = range?.firstCol ?? Math.min(...near.map((r) => r.cells[0]?.col ?? Infinity));
  const lastCol = range?.lastCol ?? Math.max(...near.map((r) => r.cells.at(-1)?.col ?? 0));
  const header: string[] = Array.from({ length: lastCol - firstCol + 1 }, (_, i) => (headerData ? '' : `column_${i + 1}`));
  for (const c of headerData?.cells ?? []) if (c.col >= firstCol && c.col <= lastCol) header[c.col - firstCol] = c.text ?? c.fix?.before ?? '';
  const width = header.length;
  const lastRow = range?.lastRow ?? Infinity;
  const notes = new TrailingNotes(width);

  const stray = (number: number, col: number): AtlasError =>
    new AtlasError(`sheet "${sheetName}" row ${number} has a value in column ${columnLetters(col)}, left of the table, which starts at column ${columnLetters(firstCol)}`, {
      hint: 'remove the stray value, or give the header row with --header-row, or the block to read with --range',
    });
  /**
   * A row's cells as fields; null for a row outside the range or with no cell in it. Cells left
   * of the table are an error, unless a range says where the table is (then they, and cells right
   * of it, are outside).
   */
  const toFields = (number: number, count: number, cols: ArrayLike<number>, texts: ArrayLike<string | null>, cellFixes: ArrayLike<ReaderFix | null>): Row | null => {
    if (number > lastRow) return null;
    const last = cols[count - 1] as number;
    const fields: Array<string | null> = new Array<string | null>(range === null ? Math.max(width, last - firstCol + 1) : width).fill(null);
    let fixes: Array<ReaderFix | undefined> | undefined;
    let filled = 0;
    for (let k = 0; k < count; k++) {
      const col = cols[k] as number;
      if (col < firstCol || col > lastCol) {
        if (range !== null) continue;
        if (col < firstCol) throw stray(number, col);
      }
      const i = col - firstCol;
      fields[i] = texts[k] ?? null;
      filled++;
      const fix = cellFixes[k];
      if (fix) (fixes ??= [])[i] = fix;
    }
    if (filled === 0) return null;
    notes.observe(number, filled);
    return fixes ? { rn: number, fields, fixes } : { rn: number, fields };
  };
  const rowFromData = (data: RowData): Row | null =>
    data.cells.length === 0
      ? null
      : toFields(data.number, data.cells.length, data.cells.map((c) => c.col), data.cells.map((c) => c.text), data.cells.map((c) => c.fix));
  toRow = (row: ScannedRow): Row | null => toFields(row.number, row.count, row.cols, row.texts, row.fixes);

  async function* batches(): AsyncGenerator<Row[]> {
    let finished = false;
    try {
      pending = buffered.flatMap((data) => rowFromData(data) ?? []);
      buffered = [];
      while (!ended) {
        while (pending.length < BATCH_ROWS && (await feed()));
        while (pending.length >= BATCH_ROWS) {
          const batch = pending;
          pending = batch.splice(BATCH_ROWS);
          yield batch;
        }
      }
      if (pending.length > 0) yield pending;
      pending = [];
      const note = notes.warning(sheetName, { firstRow: headerData?.number ?? range?.firstRow ?? 1, firstCol, lastCol });
      if (note !== null) warnings.push(note);
      if (fromArchive) {
        // Read the rest of the archive, so that every byte of the file passes through (its hash).
        while ((await zip.nextEntry()) !== null);
        await zip.drain();
      }
      finished = true;
    } catch (err) {
      await fail(err);
    } finally {
      if (!finished) {
        void inflated.return?.(undefined)?.catch(() => undefined);
        await release();
      }
    }
  }

  const warnings: string[] = [...(sheet.warning === null ? [] : [sheet.warning]), ...doubts];
  if (skippedAbove.length > 0 && headerData !== null) {
    const rows = skippedAbove.length === 1 ? `row ${skippedAbove[0]!.number}` : `rows ${skippedAbove[0]!.number}-${skippedAbove.at(-1)!.number}`;
    warnings.push(
      `sheet "${sheetName}": row ${headerData.number} was taken as the header, and the ${skippedAbove.length} row(s) with values above it (sheet ${rows}: titles, notes?) were skipped; ` +
        `to take another row as the header, pass --header-row N (its row number in the sheet), or give the block to read with --range (e.g. --range ${columnLetters(firstCol)}${headerData.number}:${columnLetters(lastCol)})`,
    );
  }
  return {
    kind: 'fixed',
    header,
    batches: batches(),
    details: {
      format: 'xlsx',
      sheet: sheetName,
      sheet_position: sheet.position,
      header_row: headerData?.number ?? null,
      ...(range !== null ? { range: rangeText(range) } : {}),
      ...(skippedAbove.length > 0 ? { rows_above_header_skipped: skippedAbove.length } : {}),
    },
    warnings,
  };
}
