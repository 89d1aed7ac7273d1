/**
 * Pure conversion of exceljs cell values to the text atlas stores. No exceljs import: the values
 * are plain objects, described here by shape.
 */
import type { ReaderFix } from './types.js';

/** A cell's text, and the correction made when the cell held an Excel date serial. */
export interface CellText {
  text: string | null;
  fix: ReaderFix | null;
}

/** Milliseconds in a day; Excel serials count days. */
const DAY_MS = 86_400_000;
/** Serial of 1970-01-01 in Excel's 1900 date system. */
const EPOCH_1900 = 25_569;
/** Days between Excel's 1900 and 1904 date systems. */
const OFFSET_1904 = 1_462;
/** Excel keeps 15 significant digits: what it shows, and what "Save as CSV" writes. */
const EXCEL_DIGITS = 15;

const NO_FIX: null = null;

/** True when an Excel number format displays a date or time (the rule exceljs applies to plain cells). */
export function isDateFormat(numFmt: unknown): boolean {
  if (typeof numFmt !== 'string' || numFmt === '') return false;
  const bare = numFmt.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, '');
  return /[ymdhMsb]/.test(bare);
}

/**
 * Plain decimal text of a number, never an exponent: 1234.5 -> "1234.5", 1e21 -> "1000000000000000000000".
 * Rounded to Excel's 15 significant digits, so 0.1+0.2 stored as 0.30000000000000004 reads "0.3".
 */
export function formatExcelNumber(n: number): string | null {
  if (!Number.isFinite(n)) return null;
  if (n === 0) return '0';
  return plainDecimal(Number(n.toPrecision(EXCEL_DIGITS)));
}

/** Expands JavaScript's exponent form ("1.5e-7", "1e+21") into plain decimal digits. */
export function plainDecimal(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s.startsWith('-');
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exponent = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  // Position of the decimal point within `digits` after shifting.
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** The Excel serial a date cell held, as exceljs converted it to a Date (UTC). */
export function excelSerial(date: Date, date1904: boolean): number {
  return date.getTime() / DAY_MS + EPOCH_1900 - (date1904 ? OFFSET_1904 : 0);
}

/**
 * ISO text of an Excel date/time: "YYYY-MM-DD" at midnight, "YYYY-MM-DDTHH:MM:SS" otherwise
 * (".sss" added only when the serial holds milliseconds), "HH:MM:SS" for a time of day alone
 * (a serial below 1, which exceljs would place on 1899-12-30).
 */
export function isoFromExcelDate(date: Date, serial: number): string {
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  const ms = date.getUTCMilliseconds();
  const timeText = ms === 0 ? time : `${time}.${pad(ms, 3)}`;
  if (serial >= 0 && serial < 1) return timeText;
  const day = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  const midnight = date.getUTCHours() === 0 && date.getUTCMinutes() === 0 && date.getUTCSeconds() === 0 && ms === 0;
  return midnight ? day : `${day}T${timeText}`;
}

/** Text and fix for a date cell. */
export function dateCell(date: Date, date1904: boolean): CellText {
  if (Number.isNaN(date.getTime())) return { text: null, fix: NO_FIX };
  let serial = excelSerial(date, date1904);
  let shown = date;
  // Excel's 1900 system counts a 29 Feb 1900 that never was (Lotus compatibility): serials
  // before it are one day later than exceljs's arithmetic says.
  if (!date1904 && serial >= 1 && serial < 60) shown = new Date(date.getTime() + DAY_MS);
  const after = isoFromExcelDate(shown, serial);
  serial = Number(serial.toFixed(8)); // ms precision; drops float noise from the round trip
  return { text: after, fix: { before: plainDecimal(serial), after, correction_type: 'datetime_standardization', source_format: 'excel_serial' } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function richTextOf(v: unknown): string | null {
  if (!isObject(v) || !Array.isArray(v.richText)) return null;
  return v.richText.map((part: unknown) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

/**
 * Converts one exceljs cell value. `numFmt` is the cell's number format (to read a formula's
 * numeric result as a date when the cell is formatted as one).
 */
export function cellText(value: unknown, numFmt: unknown, date1904: boolean): CellText {
  if (value === null || value === undefined) return { text: null, fix: NO_FIX };
  if (typeof value === 'number') return { text: formatExcelNumber(value), fix: NO_FIX };
  // An empty string cell looks blank in Excel: the same as no cell.
  if (typeof value === 'string') return { text: value === '' ? null : value, fix: NO_FIX };
  if (typeof value === 'boolean') return { text: value ? 'true' : 'false', fix: NO_FIX };
  if (value instanceof Date) return dateCell(value, date1904);
  if (!isObject(value)) return { text: String(value), fix: NO_FIX };
  const rich = richTextOf(value);
  if (rich !== null) return { text: rich === '' ? null : rich, fix: NO_FIX };
  if ('error' in value) return { text: null, fix: NO_FIX };
  if ('formula' in value || 'sharedFormula' in value) {
    const result = value.result;
    if (typeof result === 'number' && isDateFormat(numFmt) && Number.isFinite(result)) {
      const ms = Math.round((result - EPOCH_1900 + (date1904 ? OFFSET_1904 : 0)) * DAY_MS);
      return dateCell(new Date(ms), date1904);
    }
    return cellText(result, null, date1904);
  }
  if ('text' in value) return cellText(value.text, null, date1904); // hyperlink: { text, hyperlink }
  if ('sharedString' in value) return { text: null, fix: NO_FIX };
  return { text: JSON.stringify(value), fix: NO_FIX };
}

/** True when the value is text as typed (what a header row is made of). */
export function isTextValue(value: unknown): boolean {
  if (typeof value === 'string') return value.trim() !== '';
  const rich = richTextOf(value);
  if (rich !== null) return rich.trim() !== '';
  if (isObject(value) && 'hyperlink' in value) return isTextValue(value.text);
  return false;
}
