/**
 * The rows of a worksheet part (xl/worksheets/sheetN.xml), read from its inflated bytes by
 * atlas's own scanner rather than exceljs's SAX-based WorksheetReader. The sheet XML is regular
 * (`<row r="2"><c r="A2" s="1" t="s"><v>12</v></c>...</row>`) and nearly all of a workbook's
 * bytes; exceljs decodes every byte to a JS string, then builds a SAX event, an attribute object
 * and a Cell object per cell. Scanning the bytes in place, with one reused set of arrays per
 * row, is about five times faster in less memory (docs/decisions.md).
 *
 * Cell values follow what exceljs's reader gave, with its slips fixed: inline strings of several
 * runs keep every run (exceljs kept the last), `t="str"` results are unescaped once (exceljs did
 * twice), a formula's cached 0 is kept (exceljs lost it), boolean formula results read
 * true/false (exceljs: 1/0), a cell or row without its `r` attribute follows the one before it
 * (exceljs failed), `_xHHHH_` escapes are decoded, and a character whose UTF-8 bytes straddle two
 * chunks stays whole (exceljs decoded each chunk alone, turning it into U+FFFD).
 */
import { AtlasError } from '../../errors.js';
import { FORMULA_NOT_CALCULATED, SPREADSHEET_ERROR, type ReaderFix } from '../shared/index.js';
import type { SharedStrings } from './xlsxSharedStrings.js';
import { slideFormula } from './xlsxFormula.js';
import { columnLetters } from './xlsxRange.js';
import { booleanText, DATE_STYLE, ELAPSED_STYLE, elapsedTimeCell, isPlainNumber, isoDateCell, numberText, parseIndex, serialDateCell, TIME_STYLE } from './xlsxValues.js';
import { ChunkJoiner, decodeText, endsName, GT, INCOMPLETE, latin1Text, LT, MalformedXmlError, nameAt, nameIs, nextTag, readName, readStringItem, readText, resumeAt, skipElement, skipSpecial, SLASH, tagEnd, textOut } from './xlsxXml.js';

/** Excel's own limits (rows and columns per sheet): anything beyond is corrupt or hostile. */
export const MAX_SHEET_ROWS = 1_048_576;
export const MAX_SHEET_COLUMNS = 16_384;

/** What reading a sheet's cells needs from the rest of the workbook. */
export interface SheetContext {
  /** The sheet's name, for messages. */
  sheetName: string;
  /** The shared-strings table; null when the workbook has none. */
  strings: SharedStrings | null;
  /** At each cell style (`s`) whose number format shows a date or time: DATE_STYLE, TIME_STYLE (no day) or ELAPSED_STYLE. */
  dateStyles: Uint8Array;
  /** The workbook counts dates from 1904 (old Mac Excel). */
  date1904: boolean;
}

/**
 * One row's cells, as the scanner hands them over: the arrays are reused for the next row, so
 * the receiver copies what it keeps. Cells are in column order, without empty ones.
 */
export interface ScannedRow {
  /** The sheet's row number. */
  number: number;
  /** Cells in the row. */
  count: number;
  /** 1-based column of each cell. */
  cols: Int32Array;
  /** null: an error cell (its text is in its fix). */
  texts: Array<string | null>;
  fixes: Array<ReaderFix | null>;
  /** 1 where the cell holds text (a string, or a formula's text result), not a number, date or boolean. */
  typed: Uint8Array;
}

const enum CellType {
  Number,
  Shared,
  Inline,
  Str,
  Bool,
  Error,
  Date,
}

/** The attributes of a shared formula's <f>: `t="shared"` and its index `si="1"`. */
const SHARED_TYPE = /\st\s*=\s*["']shared["']/;
const SHARED_INDEX = /\ssi\s*=\s*["'](\d+)["']/;
const QUOT = 0x22;
const APOS = 0x27;
const EQUALS = 0x3d;

/** Position of the next `<` from `i`, or -1: a loop, for the few bytes of a cell, costs less than a call to indexOf. */
function nextLt(b: Buffer, i: number): number {
  const n = b.length;
  for (; i < n; i++) if (b[i] === LT) return i;
  return -1;
}

/** Reads a sheet part chunk by chunk, calling `onRow` for every row holding a value. */
export class SheetScanner {
  /** True once </sheetData> has been read: the rest of the part holds no rows. */
  done = false;
  private inSheetData = false;
  private rowsSeen = 0;
  private lastRow = 0;
  private readonly joiner = new ChunkJoiner();
  private readonly scanBound = (b: Buffer): number => this.scan(b);
  private readonly row: ScannedRow = { number: 0, count: 0, cols: new Int32Array(MAX_SHEET_COLUMNS + 1), texts: [], fixes: [], typed: new Uint8Array(MAX_SHEET_COLUMNS + 1) };
  private readonly strings: SharedStrings | null;
  private readonly dateStyles: Uint8Array;
  private readonly date1904: boolean;

  // The cell being read (fields rather than locals shared between methods).
  private col = 0;
  private style = 0;
  private type = CellType.Number;
  private vStart = -1;
  private vEnd = -1;
  private vText: string | null = null;
  private inline: string | null = null;
  private formula = false;
  /** The text of the cell's <f>; '' for a cell sharing another's formula (t="shared" without text). */
  private formulaText = '';
  /** The `si` of a shared formula, or -1. */
  private sharedIndex = -1;
  /** Row of the cell being read. */
  private rowNumber = 0;
  /** Each shared formula's text and the cell that holds it, by `si`: the formula of the cells sharing it, none calculated. */
  private readonly sharedFormulas = new Map<number, { text: string; row: number; col: number }>();

  constructor(
    private readonly context: SheetContext,
    private readonly onRow: (row: ScannedRow) => void,
  ) {
    this.strings = context.strings;
    this.dateStyles = context.dateStyles;
    this.date1904 = context.date1904;
  }

  push(chunk: Buffer): void {
    if (!this.done) this.joiner.push(chunk, this.scanBound);
  }

  /** At the end of the part: fails if it ended inside a row. */
  end(): void {
    if (this.done) return;
    const rest = this.joiner.finish(this.scanBound);
    if (!this.done && rest.indexOf(LT) >= 0) throw new MalformedXmlError(`the sheet's XML ends inside an element`);
  }

  /** Reads every complete row in `b`; returns where the first incomplete one starts. */
  private scan(b: Buffer): number {
    let i = 0;
    while (!this.done) {
      const lt = nextTag(b, i);
      if (lt === INCOMPLETE) return resumeAt.i;
      const nameEnd = readName(b, lt);
      const start = nameAt.start;
      const closing = b[lt + 1] === SLASH;
      if (this.inSheetData && !closing && nameIs(b, start, nameEnd, 'row')) {
        const end = this.scanRow(b, lt, nameEnd);
        if (end === INCOMPLETE) return lt;
        i = end;
        continue;
      }
      const gt = tagEnd(b, lt);
      if (gt === INCOMPLETE) return lt;
      if (nameIs(b, start, nameEnd, 'sheetData')) {
        if (closing || b[gt - 1] === SLASH) this.done = true;
        else this.inSheetData = true;
      }
      i = gt + 1;
    }
    return b.length;
  }

  /** Reads the <row> at `lt`; returns the position after it, or INCOMPLETE (nothing is kept then). */
  private scanRow(b: Buffer, lt: number, nameEnd: number): number {
    const gt = tagEnd(b, lt);
    if (gt === INCOMPLETE) return INCOMPLETE;
    let number = this.lastRow + 1;
    for (let i = nameEnd; i < gt; i++) {
      // The r attribute: ` r="12"` (other attributes' names are longer, or prefixed).
      if (b[i] === 0x72 && (b[i - 1] as number) <= 0x20 && (b[i + 1] === EQUALS || (b[i + 1] as number) <= 0x20)) {
        let q = i + 1;
        while (q < gt && b[q] !== QUOT && b[q] !== APOS) q++;
        const close = b.indexOf(b[q] as number, q + 1);
        number = close < 0 || close > gt ? Number.NaN : parseIndex(b, q + 1, close);
        if (number < 0) number = Number.NaN;
        break;
      }
      if (b[i] === QUOT || b[i] === APOS) i = b.indexOf(b[i] as number, i + 1);
      if (i < 0) return INCOMPLETE;
    }
    const row = this.row;
    row.count = 0;
    this.rowNumber = number;
    let sorted = true;
    let lastCol = 0;
    let i = gt + 1;
    if (b[gt - 1] !== SLASH) {
      for (;;) {
        const at = nextLt(b, i);
        if (at < 0) return INCOMPLETE;
        const next = b[at + 1];
        if (next === SLASH) {
          const end = tagEnd(b, at);
          if (end === INCOMPLETE) return INCOMPLETE;
          i = end + 1;
          break;
        }
        let cellNameEnd: number;
        if (next === 0x63 && endsName(b[at + 2])) cellNameEnd = at + 2; // <c ...>, the common case
        else {
          const special = skipSpecial(b, at);
          if (special !== null) {
            if (special === INCOMPLETE) return INCOMPLETE;
            i = special;
            continue;
          }
          cellNameEnd = readName(b, at);
          if (!nameIs(b, nameAt.start, cellNameEnd, 'c')) {
            i = skipElement(b, at);
            if (i === INCOMPLETE) return INCOMPLETE;
            continue;
          }
        }
        this.col = lastCol + 1;
        i = this.scanCell(b, at, cellNameEnd);
        if (i === INCOMPLETE) return INCOMPLETE;
        if (this.col <= lastCol) sorted = false;
        lastCol = this.col;
        if (this.col > MAX_SHEET_COLUMNS) {
          throw new AtlasError(`not a valid .xlsx file: row ${number} has a cell in column ${this.col}, beyond Excel's ${MAX_SHEET_COLUMNS} columns`);
        }
        this.addCell(b);
      }
    }
    this.rowsSeen++;
    if (this.rowsSeen > MAX_SHEET_ROWS || !(number >= 1 && number <= MAX_SHEET_ROWS)) {
      throw new AtlasError(`not a valid .xlsx file: sheet "${this.context.sheetName}" has a row beyond Excel's ${MAX_SHEET_ROWS.toLocaleString('en-US')} rows`);
    }
    this.lastRow = number;
    if (row.count > 0) {
      if (!sorted) sortCells(row);
      row.number = number;
      this.onRow(row);
    }
    return i;
  }

  /**
   * Reads the <c> at `lt` into the cell fields (`col` holds the column it takes without an `r`);
   * returns the position after it, or INCOMPLETE.
   */
  private scanCell(b: Buffer, lt: number, nameEnd: number): number {
    const n = b.length;
    this.style = 0;
    this.type = CellType.Number;
    this.vStart = -1;
    this.vText = null;
    this.inline = null;
    this.formula = false;
    this.formulaText = '';
    this.sharedIndex = -1;
    let i = nameEnd;
    let selfClosing = false;
    for (;;) {
      if (i >= n) return INCOMPLETE;
      const c = b[i] as number;
      if (c === GT) break;
      if (c <= 0x20) {
        i++;
        continue;
      }
      if (c === SLASH) {
        selfClosing = true;
        i++;
        continue;
      }
      const attrStart = i;
      while (i < n && b[i] !== EQUALS && (b[i] as number) > 0x20) i++;
      const attrLength = i - attrStart;
      while (i < n && b[i] !== QUOT && b[i] !== APOS) i++;
      if (i >= n) return INCOMPLETE;
      const quote = b[i];
      const valueStart = i + 1;
      let valueEnd = valueStart;
      while (valueEnd < n && b[valueEnd] !== quote) valueEnd++;
      if (valueEnd >= n) return INCOMPLETE;
      if (attrLength === 1) {
        const a = b[attrStart];
        if (a === 0x72) this.readReference(b, valueStart, valueEnd);
        else if (a === 0x73) this.style = Math.max(0, parseIndex(b, valueStart, valueEnd));
        else if (a === 0x74) this.type = cellType(b, valueStart, valueEnd);
      }
      i = valueEnd + 1;
    }
    i++; // past '>'
    if (selfClosing) return i;
    for (;;) {
      const at = nextLt(b, i);
      if (at < 0) return INCOMPLETE;
      const next = b[at + 1];
      if (next === SLASH) {
        if (b[at + 2] === 0x63 && b[at + 3] === GT) return at + 4; // </c>
        const end = tagEnd(b, at);
        return end === INCOMPLETE ? INCOMPLETE : end + 1;
      }
      if (next === 0x76 && b[at + 2] === GT) {
        // <v>12</v>, the common case
        const close = nextLt(b, at + 3);
        if (close < 0) return INCOMPLETE;
        if (b[close + 1] === SLASH && b[close + 2] === 0x76 && b[close + 3] === GT) {
          this.vStart = at + 3;
          this.vEnd = close;
          this.vText = null;
          i = close + 4;
          continue;
        }
      }
      const special = skipSpecial(b, at);
      if (special !== null) {
        if (special === INCOMPLETE) return INCOMPLETE;
        i = special;
        continue;
      }
      const childEnd = readName(b, at);
      const start = nameAt.start;
      if (nameIs(b, start, childEnd, 'v')) {
        const vgt = tagEnd(b, at);
        if (vgt === INCOMPLETE) return INCOMPLETE;
        if (b[vgt - 1] === SLASH) {
          i = vgt + 1;
          continue;
        }
        const close = b.indexOf(LT, vgt + 1);
        if (close < 0) return INCOMPLETE;
        if (b[close + 1] === SLASH) {
          const end = tagEnd(b, close);
          if (end === INCOMPLETE) return INCOMPLETE;
          this.vStart = vgt + 1;
          this.vEnd = close;
          this.vText = null;
          i = end + 1;
        } else {
          // CDATA or a comment inside <v>: read it the slow way.
          i = readText(b, vgt);
          if (i === INCOMPLETE) return INCOMPLETE;
          this.vStart = 0;
          this.vText = textOut.text;
        }
      } else if (nameIs(b, start, childEnd, 'is')) {
        i = readStringItem(b, at);
        if (i === INCOMPLETE) return INCOMPLETE;
        this.inline = textOut.text;
      } else if (nameIs(b, start, childEnd, 'f')) {
        i = this.readFormula(b, at, childEnd);
        if (i === INCOMPLETE) return INCOMPLETE;
      } else {
        i = skipElement(b, at);
        if (i === INCOMPLETE) return INCOMPLETE;
      }
    }
  }

  /** Reads the <f> at `lt` (its text, and the `si` of a shared formula); returns the position after it, or INCOMPLETE. */
  private readFormula(b: Buffer, lt: number, nameEnd: number): number {
    const gt = tagEnd(b, lt);
    if (gt === INCOMPLETE) return INCOMPLETE;
    this.formula = true;
    const attributes = latin1Text(b, nameEnd, gt);
    const si = SHARED_INDEX.exec(attributes);
    if (si !== null && SHARED_TYPE.test(attributes)) this.sharedIndex = Number(si[1]);
    if (b[gt - 1] === SLASH) return gt + 1;
    const end = readText(b, gt);
    if (end === INCOMPLETE) return INCOMPLETE;
    this.formulaText = textOut.text.trim();
    return end;
  }

  /** The column of a cell reference ("AB12" is column 28); a reference without letters is ignored. */
  private readReference(b: Buffer, start: number, end: number): void {
    let col = 0;
    for (let i = start; i < end; i++) {
      let c = b[i] as number;
      if (c >= 0x61 && c <= 0x7a) c -= 0x20;
      if (c < 0x41 || c > 0x5a) break;
      col = col * 26 + (c - 0x40);
      if (col > MAX_SHEET_COLUMNS) {
        col = MAX_SHEET_COLUMNS + 1;
        break;
      }
    }
    if (col > 0) this.col = col;
  }

  /** The value of the cell just read, added to the row unless it is empty. */
  private addCell(b: Buffer): void {
    let text: string | null = null;
    let fix: ReaderFix | null = null;
    let typed = 0;
    const hasV = this.vStart >= 0;
    if (this.formula) {
      if (this.sharedIndex >= 0 && this.formulaText !== '') this.sharedFormulas.set(this.sharedIndex, { text: this.formulaText, row: this.rowNumber, col: this.col });
      // No cached result (a library that does not calculate wrote it): an empty <v> is one too, but for a text result ("").
      if (!hasV || (this.type !== CellType.Str && (this.vText !== null ? this.vText.trim() === '' : this.vEnd === this.vStart))) {
        this.pushCell(null, { before: this.formulaShown(), after: null, correction_type: FORMULA_NOT_CALCULATED }, 0);
        return;
      }
    }
    switch (this.type) {
      case CellType.Shared:
        if (hasV) {
          const index = this.vText !== null ? (/^\s*\d+\s*$/.test(this.vText) ? Number(this.vText) : -1) : parseIndex(b, this.vStart, this.vEnd);
          const count = this.strings?.count ?? 0;
          // A text cell whose string is not in the table would vanish as NULL: the file is damaged.
          if (!(index >= 0 && index < count) && this.value(b).trim() !== '') {
            const said = index >= 0 ? String(index) : `"${this.value(b).trim()}"`;
            const has = count === 0 ? 'has no shared strings' : `has ${count} (0 to ${count - 1})`;
            throw new AtlasError(`not a valid .xlsx file: cell ${columnLetters(this.col)}${this.rowNumber} of sheet "${this.context.sheetName}" refers to shared string ${said}, and the workbook ${has}`);
          }
          text = this.strings?.get(index) ?? null;
          typed = 1;
        }
        break;
      case CellType.Inline:
        text = this.inline ?? (hasV ? this.value(b) : null);
        typed = 1;
        break;
      case CellType.Str:
        if (hasV) text = this.value(b);
        typed = 1; // a formula's text result too: a header of formulas (="Q"&1) is text
        break;
      case CellType.Bool:
        if (hasV) text = booleanText(this.value(b));
        break;
      case CellType.Error:
        // Kept as NULL with the error's text as a fix, so that it never vanishes without a trace.
        if (hasV) {
          const shown = this.value(b).trim();
          if (shown !== '') fix = { before: shown, after: null, correction_type: SPREADSHEET_ERROR };
        }
        break;
      case CellType.Date:
        if (hasV) ({ text, fix } = isoDateCell(this.value(b)));
        break;
      default:
        if (!hasV) break;
        if (this.dateStyles[this.style] === DATE_STYLE || this.dateStyles[this.style] === TIME_STYLE) {
          const written = this.value(b).trim();
          ({ text, fix } = serialDateCell(parseFloat(written), this.date1904, written, this.dateStyles[this.style] === TIME_STYLE));
        } else if (this.dateStyles[this.style] === ELAPSED_STYLE) {
          const written = this.value(b).trim();
          ({ text, fix } = elapsedTimeCell(parseFloat(written), written));
        } else if (this.vText === null && isPlainNumber(b, this.vStart, this.vEnd)) {
          text = latin1Text(b, this.vStart, this.vEnd);
        } else {
          text = numberText(this.value(b));
        }
    }
    if ((text === null || text === '') && fix === null) return;
    this.pushCell(text, fix, typed);
  }

  private pushCell(text: string | null, fix: ReaderFix | null, typed: number): void {
    const row = this.row;
    const k = row.count++;
    row.cols[k] = this.col;
    row.texts[k] = text === '' ? null : text;
    row.fixes[k] = fix;
    row.typed[k] = typed;
  }

  /** The cell's formula as a spreadsheet shows it (`=B4/C4`), a shared one moved from the cell that holds its text. */
  private formulaShown(): string {
    if (this.formulaText !== '') return `=${this.formulaText}`;
    const shared = this.sharedFormulas.get(this.sharedIndex);
    if (shared === undefined) return this.sharedIndex >= 0 ? `(shared formula ${this.sharedIndex}, whose text the sheet does not hold)` : '=';
    return `=${slideFormula(shared.text, this.rowNumber - shared.row, this.col - shared.col)}`;
  }

  /** The <v> text of the cell just read, unescaped. */
  private value(b: Buffer): string {
    return this.vText ?? decodeText(b, this.vStart, this.vEnd);
  }
}

function cellType(b: Buffer, start: number, end: number): CellType {
  const length = end - start;
  const c = b[start];
  if (length === 1) {
    if (c === 0x73) return CellType.Shared; // s
    if (c === 0x62) return CellType.Bool; // b
    if (c === 0x65) return CellType.Error; // e
    if (c === 0x64) return CellType.Date; // d
    return CellType.Number; // n
  }
  if (nameIs(b, start, end, 'str')) return CellType.Str;
  if (nameIs(b, start, end, 'inlineStr')) return CellType.Inline;
  return CellType.Number;
}

/** Puts a row's cells in column order; of two in one column, the later one written wins. */
function sortCells(row: ScannedRow): void {
  const order = Array.from({ length: row.count }, (_, k) => k).sort((x, y) => (row.cols[x] as number) - (row.cols[y] as number) || y - x);
  const cols = order.map((k) => row.cols[k] as number);
  const texts = order.map((k) => row.texts[k] ?? null);
  const fixes = order.map((k) => row.fixes[k] ?? null);
  const typed = order.map((k) => row.typed[k] as number);
  let n = 0;
  for (let k = 0; k < order.length; k++) {
    if (n > 0 && row.cols[n - 1] === cols[k]) continue; // the later of two in one column came first in `order`
    row.cols[n] = cols[k] as number;
    row.texts[n] = texts[k] ?? null;
    row.fixes[n] = fixes[k] ?? null;
    row.typed[n] = typed[k] as number;
    n++;
  }
  row.count = n;
}
