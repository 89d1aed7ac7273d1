/**
 * Pure parts of reading a block of a sheet: `--range` in Excel's notation, and the watch for
 * notes below the data (rows at the end that fill one or two cells of a well-filled table).
 */
import { UsageError } from '../../errors.js';
import { MAX_SHEET_COLUMNS, MAX_SHEET_ROWS } from './xlsxSheet.js';

/** A block of a sheet (1-based, inclusive). */
export interface SheetRange {
  firstRow: number;
  /** null: to the end of the sheet (`A5:F`). */
  lastRow: number | null;
  firstCol: number;
  lastCol: number;
}

/** "AB" -> 28. */
function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

/** 28 -> "AB". */
export function columnLetters(col: number): string {
  let s = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** The range in Excel's notation. */
export function rangeText(range: SheetRange): string {
  return `${columnLetters(range.firstCol)}${range.firstRow}:${columnLetters(range.lastCol)}${range.lastRow ?? ''}`;
}

/** `A5:F15`, `$A$5:$F$15`, or with an open end `A5:F` (to the last row) -> a SheetRange; a usage error otherwise. */
export function parseSheetRange(text: string): SheetRange {
  const m = /^\$?([A-Za-z]{1,3})\$?([0-9]{1,7}):\$?([A-Za-z]{1,3})\$?([0-9]{1,7})?$/.exec(text.trim());
  const bad = (why: string): UsageError =>
    new UsageError(`--range "${text}" ${why}`, { hint: 'give the block in Excel notation: its top-left and bottom-right cells, A5:F15, or A5:F to read to the last row' });
  if (m === null) throw bad('is not a range of cells like A5:F15');
  const range: SheetRange = {
    firstCol: columnNumber(m[1] as string),
    firstRow: Number(m[2]),
    lastCol: columnNumber(m[3] as string),
    lastRow: m[4] === undefined ? null : Number(m[4]),
  };
  if (range.firstRow < 1 || (range.lastRow !== null && range.lastRow < 1)) throw bad('names row 0; rows start at 1');
  if (range.lastCol > MAX_SHEET_COLUMNS || range.firstCol > MAX_SHEET_COLUMNS || range.firstRow > MAX_SHEET_ROWS || (range.lastRow ?? 0) > MAX_SHEET_ROWS) {
    throw bad(`goes beyond Excel's ${MAX_SHEET_ROWS} rows or ${MAX_SHEET_COLUMNS} columns (${columnLetters(MAX_SHEET_COLUMNS)})`);
  }
  if (range.lastCol < range.firstCol || (range.lastRow !== null && range.lastRow < range.firstRow)) throw bad('ends before it starts');
  return range;
}

/** A table at least this wide can have notes told from data by how few cells they fill. */
const NOTES_MIN_WIDTH = 3;
/** Share of the other data rows that must fill half the table or more for it to be "well filled". */
const WELL_FILLED_SHARE = 0.8;

/**
 * Watches a sheet's data rows for notes below the table (sources, remarks): a run of rows at
 * the end that fill only one or two cells (and at most half the width) of a table whose other
 * rows mostly fill half or more. They stay rows (nothing is dropped on a guess); the warning
 * names the --range that reads the table alone.
 */
export class TrailingNotes {
  private rows = 0;
  private wellFilled = 0;
  private notes = 0;
  private firstNote = 0;
  private lastNote = 0;
  private lastData = 0;

  constructor(private readonly width: number) {}

  /** A data row: its sheet row number and how many of the table's cells it fills. */
  observe(rn: number, filled: number): void {
    this.rows++;
    if (filled <= 2 && filled * 2 <= this.width) {
      if (this.notes === 0) this.firstNote = rn;
      this.notes++;
      this.lastNote = rn;
      return;
    }
    if (filled * 2 >= this.width) this.wellFilled++;
    this.notes = 0;
    this.lastData = rn;
  }

  /** The warning, when the rows end in what looks like notes; `table` is the block read (its header row first, or its first data row). */
  warning(sheetName: string, table: { firstRow: number; firstCol: number; lastCol: number }): string | null {
    const others = this.rows - this.notes;
    if (this.notes === 0 || this.width < NOTES_MIN_WIDTH || others < 2 || this.wellFilled < WELL_FILLED_SHARE * others) return null;
    const where = this.notes === 1 ? `sheet row ${this.firstNote}` : `sheet rows ${this.firstNote}-${this.lastNote}`;
    const range = rangeText({ firstRow: table.firstRow, lastRow: this.lastData, firstCol: table.firstCol, lastCol: table.lastCol });
    return `sheet "${sheetName}" ends in ${this.notes} row(s) (${where}) filling only one or two cells of a table whose other rows are well filled: notes below the data? They were imported as rows; to read the table alone, pass --range ${range}`;
  }
}
