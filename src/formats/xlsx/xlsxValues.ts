/**
 * Pure conversion of XLSX cell values (as the sheet XML writes them) to the text atlas stores:
 * numbers as written (a double's long spelling as Excel shows it), date serials to ISO text with the serial kept as a fix.
 */
import { EXCEL_PHANTOM_DATE, type ReaderFix } from '../shared/index.js';

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
/** Excel shows 15 significant digits (and "Save as CSV" writes them), but writes a double with 17 in the sheet XML. */
const EXCEL_DIGITS = 15;
/** A double's shortest decimal text never needs more: longer text was written as a decimal, not a double. */
const DOUBLE_DIGITS = 17;
/** A number as a cell's `<v>` writes it: sign, integer digits, fraction digits, exponent. */
const NUMBER_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;

const NO_FIX: null = null;

/**
 * What a number format shows but does not read: quoted text, a character escaped by `\`, and the
 * character after `_` (a space its width) or `*` (repeated to fill): `0.0\ \m` is metres, no month.
 */
const FORMAT_LITERALS = /"[^"]*"|\\.|[_*]./g;
/** Elapsed time (`[h]:mm`, `[ss]`); other bracketed parts are colours, conditions and locales. */
const ELAPSED_TIME = /\[(?:h+|m+|s+)]/gi;

/** What a cell style's number format shows, as parseDateStyles marks it (0: a number). */
export const DATE_STYLE = 1;
/** Elapsed time (`[h]:mm:ss`, `[mm]:ss`): a duration, whose hours pass 24, not a day and time. */
export const ELAPSED_STYLE = 2;
/** A time of day and no day (`h:mm`): a serial below 1 is a time alone in the 1904 system too. */
export const TIME_STYLE = 3;

/** True when an Excel number format displays a date or time: a year, month, day, hour, minute or second (`b`: a Buddhist year) outside its literals. */
export function isDateFormat(numFmt: unknown): boolean {
  if (typeof numFmt !== 'string' || numFmt === '') return false;
  const bare = numFmt.replace(FORMAT_LITERALS, '').replace(ELAPSED_TIME, 'h').replace(/\[[^\]]*]/g, '');
  return /[ymdhs]/i.test(bare) || bare.includes('b');
}

/** True when a date format shows elapsed time (`[h]`, `[m]` or `[s]`) and no year or day. */
export function isElapsedTimeFormat(numFmt: string): boolean {
  const bare = numFmt.replace(FORMAT_LITERALS, '');
  return bare.replace(ELAPSED_TIME, '') !== bare && !/[ydb]/i.test(bare.replace(/\[[^\]]*]/g, ''));
}

/** True when a date format shows a time (hours or seconds) and no year, day or month name. */
export function isTimeOfDayFormat(numFmt: string): boolean {
  const bare = numFmt.replace(FORMAT_LITERALS, '').replace(/\[[^\]]*]/g, '');
  return /[hs]/i.test(bare) && !/[ydbeg]|mmm/i.test(bare);
}

/**
 * The built-in number formats whose code depends on the locale (ECMA-376 part 1, 18.8.30): East
 * Asian dates and times 27-36 and 50-58, Thai 71-81. A file names them by id alone, and exceljs
 * knows no single code for them.
 */
export function isLocaleDateFormatId(id: number): boolean {
  return (id >= 27 && id <= 36) || (id >= 50 && id <= 58) || (id >= 71 && id <= 81);
}

/**
 * Plain decimal text of a double, never an exponent: 1234.5 -> "1234.5", 1e21 -> "1000000000000000000000".
 * Its 15 significant digits, as Excel shows it, where they name the same double (18.100000000000001,
 * which Excel writes for 18.1, reads "18.1"); else its shortest text (0.1+0.2 reads
 * "0.30000000000000004", another double than 0.3): never another value.
 */
export function formatExcelNumber(n: number): string | null {
  if (!Number.isFinite(n)) return null;
  if (n === 0) return '0';
  const shown = Number(n.toPrecision(EXCEL_DIGITS));
  return plainDecimal(shown === n ? shown : n);
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

/** The Excel serial a date cell held, from the Date (UTC) it was converted to. */
export function excelSerial(date: Date, date1904: boolean): number {
  return date.getTime() / DAY_MS + EPOCH_1900 - (date1904 ? OFFSET_1904 : 0);
}

/**
 * ISO text of an Excel date/time: "YYYY-MM-DD" at midnight, "YYYY-MM-DDTHH:MM:SS" otherwise
 * (".sss" added only when the serial holds milliseconds), "HH:MM:SS" for a time of day alone
 * (`timeOnly`: see isTimeOfDay).
 */
export function isoFromExcelDate(date: Date, timeOnly: boolean): string {
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  const ms = date.getUTCMilliseconds();
  const timeText = ms === 0 ? time : `${time}.${pad(ms, 3)}`;
  if (timeOnly) return timeText;
  const day = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  const midnight = date.getUTCHours() === 0 && date.getUTCMinutes() === 0 && date.getUTCSeconds() === 0 && ms === 0;
  return midnight ? day : `${day}T${timeText}`;
}

/**
 * True when a serial is a time of day alone: below 1, which the 1900 system places on a day 0
 * that never was, where in the 1904 system it is 1 January 1904 unless the format shows no day.
 */
function isTimeOfDay(serial: number, date1904: boolean, timeFormat: boolean): boolean {
  return serial >= 0 && serial < 1 && (!date1904 || timeFormat);
}

/** A serial date's source_format: which day its serials count from (a 1904 workbook's 40908 is 2016-01-01, not 2011-12-31), so that an auditor can check the correction. */
function serialFormat(date1904: boolean): string {
  return date1904 ? 'excel_serial_1904' : 'excel_serial';
}

/** Text and fix for a date cell. */
export function dateCell(date: Date, date1904: boolean): CellText {
  if (Number.isNaN(date.getTime())) return { text: null, fix: NO_FIX };
  let serial = excelSerial(date, date1904);
  let shown = date;
  // Excel's 1900 system counts a 29 Feb 1900 that never was (Lotus compatibility): serials
  // before it are one day later than the arithmetic says.
  if (!date1904 && serial >= 1 && serial < 60) shown = new Date(date.getTime() + DAY_MS);
  const after = isoFromExcelDate(shown, isTimeOfDay(serial, date1904, false));
  serial = Number(serial.toFixed(8)); // ms precision; drops float noise from the round trip
  return { text: after, fix: { before: plainDecimal(serial), after, correction_type: 'datetime_standardization', source_format: serialFormat(date1904) } };
}

/**
 * A number cell's text (its `<v>` as written) as plain decimal; null when it is not a number. The
 * digits of an integer (a 19-digit id) and of text longer than any double's are kept as written;
 * other text names a double, written as formatExcelNumber writes it (the same value).
 */
export function numberText(raw: string): string | null {
  const m = NUMBER_TEXT.exec(raw.trim());
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) return formatExcelNumber(parseFloat(raw));
  const written = writtenDecimal(m[1] === '-', m[2] ?? '', m[3] ?? '', Number(m[4] ?? 0));
  if (!written.includes('.') || significantDigits(written) > DOUBLE_DIGITS) return written;
  return formatExcelNumber(Number(raw.trim()));
}

/** The plain decimal text of sign, digits and exponent, exactly: no leading or trailing zeros, "0" for zero. */
function writtenDecimal(negative: boolean, whole: string, fraction: string, exponent: number): string {
  const digits = whole + fraction;
  const point = whole.length + exponent; // position of the decimal point in `digits`
  let intPart = point <= 0 ? '0' : point >= digits.length ? digits + '0'.repeat(point - digits.length) : digits.slice(0, point);
  let fracPart = point <= 0 ? '0'.repeat(-point) + digits : point >= digits.length ? '' : digits.slice(point);
  intPart = intPart.replace(/^0+(?=\d)/, '');
  fracPart = fracPart.replace(/0+$/, '');
  const text = fracPart === '' ? intPart : `${intPart}.${fracPart}`;
  return negative && /[1-9]/.test(text) ? `-${text}` : text;
}

/** Significant digits of plain decimal text. */
function significantDigits(text: string): number {
  return text.replace(/[-.]/g, '').replace(/^0+/, '').length;
}

/** "00" to "99". */
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
/** The fast path of serialDateCell covers years 1000-9999 (four digits, as pad() writes them). */
const FAST_MIN_MS = Date.UTC(1000, 0, 1);
const FAST_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** Below this, a serial with 8 decimals has at most 15 significant digits (see serialText). */
const SHORT_SERIAL = 1e7;

/**
 * Text and fix for a number cell formatted as a date: `serial` days since Excel's epoch. The
 * same text as dateCell(new Date(...)) - the arithmetic exceljs's reader used (utils.excelToDate)
 * - without a Date, padStart or toPrecision: a sheet of dates has two or more per row, and this
 * was a fifth of the reading time. `written`: the cell's value as the file writes it, recorded as
 * `before` (else the serial to the millisecond, as dateCell records it); `timeFormat`: the format
 * shows a time and no day (isTimeOfDayFormat).
 */
export function serialDateCell(serial: number, date1904: boolean, written?: string, timeFormat = false): CellText {
  if (!Number.isFinite(serial)) return { text: null, fix: NO_FIX };
  const offset = date1904 ? OFFSET_1904 : 0;
  const ms = Math.round((serial - EPOCH_1900 + offset) * DAY_MS);
  if (!(ms >= FAST_MIN_MS && ms <= FAST_MAX_MS)) {
    const cell = dateCell(new Date(ms), date1904);
    return written === undefined || cell.fix === NO_FIX ? cell : { text: cell.text, fix: { ...cell.fix, before: written } };
  }
  const exact = ms / DAY_MS + EPOCH_1900 - offset; // what excelSerial() gives for that Date
  // Serial 60 is Excel's 29 Feb 1900, a day that never was: no date, NULL with the serial kept.
  if (!date1904 && exact >= 60 && exact < 61) return { text: null, fix: { before: written ?? serialText(exact), after: null, correction_type: EXCEL_PHANTOM_DATE } };
  // Excel's phantom 29 Feb 1900, as in dateCell.
  const after = isoText(!date1904 && exact >= 1 && exact < 60 ? ms + DAY_MS : ms, isTimeOfDay(exact, date1904, timeFormat));
  // `before`: the cell's value as the file writes it, where given (what an auditor finds there).
  return { text: after, fix: { before: written ?? serialText(exact), after, correction_type: 'datetime_standardization', source_format: serialFormat(date1904) } };
}

/**
 * Text and fix for a number cell formatted as elapsed time: `serial` days as "HH:MM:SS" (".sss"
 * when it holds milliseconds), the hours counting past 24 (1.5 is "36:00:00"), the value as the
 * file writes it recorded as `before`, as a serial date's is.
 */
export function elapsedTimeCell(serial: number, written: string): CellText {
  const ms = Math.round(Math.abs(serial) * DAY_MS);
  if (!Number.isSafeInteger(ms)) return { text: numberText(written), fix: NO_FIX }; // no duration: the number as written
  const seconds = Math.floor(ms / 1000);
  const milli = ms % 1000;
  const time = `${serial < 0 && ms > 0 ? '-' : ''}${pad(Math.floor(seconds / 3600))}:${TWO_DIGITS[Math.floor(seconds / 60) % 60]}:${TWO_DIGITS[seconds % 60]}`;
  const after = milli === 0 ? time : `${time}.${pad(milli, 3)}`;
  return { text: after, fix: { before: written, after, correction_type: 'datetime_standardization', source_format: 'excel_serial' } };
}

/** isoFromExcelDate(new Date(ms), timeOnly), by integer arithmetic (days to civil date: H. Hinnant's algorithm). */
function isoText(ms: number, timeOnly: boolean): string {
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const mi = Math.floor(rest / 60_000);
  rest -= mi * 60_000;
  const sec = Math.floor(rest / 1000);
  const milli = rest - sec * 1000;
  const time = `${TWO_DIGITS[h]}:${TWO_DIGITS[mi]}:${TWO_DIGITS[sec]}`;
  const timeText = milli === 0 ? time : `${time}.${pad(milli, 3)}`;
  if (timeOnly) return timeText;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const day = `${y}-${TWO_DIGITS[m]}-${TWO_DIGITS[d]}`;
  return h === 0 && mi === 0 && sec === 0 && milli === 0 ? day : `${day}T${timeText}`;
}

/**
 * plainDecimal(Number(serial.toFixed(8))) without the round trip: below 1e7 the fixed text has
 * at most 15 significant digits, which a double holds exactly, so the shortest text of that
 * double (what String() writes) is the fixed text less its trailing zeros.
 */
function serialText(serial: number): string {
  if (Number.isInteger(serial)) return String(serial); // a date at midnight
  const fixed = serial.toFixed(8);
  if (!(Math.abs(serial) < SHORT_SERIAL)) return plainDecimal(Number(fixed));
  let end = fixed.length;
  while (fixed.charCodeAt(end - 1) === 0x30) end--;
  if (fixed.charCodeAt(end - 1) === 0x2e) end--;
  const text = fixed.slice(0, end);
  return text === '-0' ? '0' : text;
}

/** ISO 8601 as a cell of type "d" writes it: date, optional time (fraction, zone); `T` or a space between. */
const ISO_DATE_TIME = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?(Z|[+-]\d\d(?::?\d\d)?)?)?$/i;

/**
 * Text and fix for a cell of type "d" (ISO 8601 text, UTC when it names no zone): the day written,
 * never through a serial (the 1900 leap-year shift is for serials alone), in a serial date's form;
 * a fix, `before` the cell's text, only where the text changes.
 */
export function isoDateCell(iso: string): CellText {
  const written = iso.trim();
  if (written === '') return { text: null, fix: NO_FIX };
  const m = ISO_DATE_TIME.exec(written);
  if (m === null) return { text: written, fix: NO_FIX };
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = ''] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d)); // Date.UTC would read year 99 as 1999
  date.setUTCHours(Number(h), Number(mi), Number(s));
  // 2024-02-30 or 25:00 would roll over into another day: not a date.
  const parts = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()];
  if (parts.some((n, i) => n !== Number([y, mo, d, h, mi, s][i]))) return { text: written, fix: NO_FIX };
  if (zone !== '' && zone.toUpperCase() !== 'Z') {
    const offset = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3).replace(':', '') || 0);
    date.setTime(date.getTime() - (zone.startsWith('-') ? -offset : offset) * 60_000);
  }
  const iso8601 = date.toISOString();
  if (!/^\d{4}-/.test(iso8601)) return { text: written, fix: NO_FIX }; // moved by its zone past year 9999 or before year 0
  const digits = fraction.replace(/0+$/, ''); // kept whole: a Date holds milliseconds only
  const time = iso8601.slice(11, 19);
  const after = time === '00:00:00' && digits === '' ? iso8601.slice(0, 10) : `${iso8601.slice(0, 10)}T${time}${digits === '' ? '' : `.${digits}`}`;
  if (after === written) return { text: after, fix: NO_FIX };
  const sourceFormat = `%Y-%m-%d${m[4] === undefined ? '' : `${written.charAt(10)}%H:%M${m[6] === undefined ? '' : ':%S'}${fraction === '' ? '' : '.%f'}${zone === '' ? '' : '%z'}`}`;
  return { text: after, fix: { before: written, after, correction_type: 'datetime_standardization', source_format: sourceFormat } };
}

/** The text of a boolean cell's `<v>` ("1" or "0"). */
export function booleanText(raw: string): string {
  return parseInt(raw, 10) !== 0 ? 'true' : 'false';
}

// Byte-level reading of the digits of a <v>, for the sheet scanner.

const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
/** Significant digits a double holds exactly in decimal: shorter numbers are already what formatExcelNumber writes. */
const EXACT_DIGITS = 15;

/**
 * True when the bytes are a decimal number already as numberText would write it (no sign on
 * zero, no leading or trailing zeros, no exponent, an integer or at most 15 significant digits):
 * such text is used as written.
 */
export function isPlainNumber(b: Buffer, start: number, end: number): boolean {
  let i = start;
  if (b[i] === MINUS) i++;
  if (i >= end) return false;
  let digits = 0;
  let leadingZeros = true;
  if (b[i] === ZERO) {
    i++;
    if (i === end) return i - start === 1; // "0", not "-0"
  } else {
    const first = i;
    for (; i < end; i++) {
      const c = b[i] as number;
      if (c < ZERO || c > NINE) break;
    }
    if (i === first) return false;
    digits = i - first;
    leadingZeros = false;
    if (i === end) return true; // an integer's digits are kept whatever their number
  }
  if (b[i] !== DOT || i + 1 === end) return false;
  for (i++; i < end; i++) {
    const c = b[i] as number;
    if (c < ZERO || c > NINE) return false;
    if (c !== ZERO) leadingZeros = false;
    if (!leadingZeros) digits++;
  }
  return b[end - 1] !== ZERO && digits <= EXACT_DIGITS;
}

/** The non-negative integer the bytes spell, or -1. */
export function parseIndex(b: Buffer, start: number, end: number): number {
  while (start < end && (b[start] as number) <= 0x20) start++;
  while (end > start && (b[end - 1] as number) <= 0x20) end--;
  if (start === end || end - start > 10) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = b[i] as number;
    if (c < ZERO || c > NINE) return -1;
    n = n * 10 + (c - ZERO);
  }
  return n;
}

/** What an Excel date's fix holds (digits and date punctuation): text that needs no JSON or COPY escaping. */
const PLAIN_FIX_TEXT = /^[0-9.:T+-]+$/;

/**
 * The fix of an Excel serial date (dateCell, serialDateCell) as JSON text, written from its two
 * values: the text JSON.stringify gives for its four keys in this order, and nothing COPY text
 * escapes; null for any other shape. A sheet of dates has one or more per row (docs/decisions.md).
 */
export function excelDateFixJson(fix: ReaderFix): string | null {
  const { before, after } = fix;
  if (
    (fix.source_format === 'excel_serial' || fix.source_format === 'excel_serial_1904') &&
    fix.correction_type === 'datetime_standardization' &&
    typeof after === 'string' &&
    PLAIN_FIX_TEXT.test(before) &&
    PLAIN_FIX_TEXT.test(after) &&
    Object.keys(fix).length === 4
  ) {
    return `{"before":"${before}","after":"${after}","correction_type":"datetime_standardization","source_format":"${fix.source_format}"}`;
  }
  return null;
}
