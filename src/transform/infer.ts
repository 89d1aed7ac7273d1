/**
 * Type inference from every value of a column (not a sample). Values are observed once, in Node,
 * while they stream to the staging table; the decision is made when the stream ends.
 */

/** SQL types atlas creates columns with. */
export type SqlType = 'integer' | 'bigint' | 'numeric' | 'boolean' | 'date' | 'timestamp' | 'timestamptz' | 'text';

/** How the text of a column's values is read; decides the SQL that converts staged text. */
export type ValueFormat =
  | { kind: 'text'; dayMonth?: DayMonthOrders }
  | { kind: 'boolean' }
  | { kind: 'integer'; dotZero: boolean }
  | { kind: 'numeric'; grouping: boolean; currency: string | null; european?: boolean }
  | { kind: 'date'; order: DateOrder; separator: '-' | '/' | '.' }
  | { kind: 'timestamp'; order: DateOrder; separator: '-' | '/' | '.'; zone: boolean };

/** Order of the date parts: ISO year-month-day, US month/day/year, European day/month/year. */
export type DateOrder = 'ymd' | 'mdy' | 'dmy';

/**
 * For a column of dates written in more than one form (2026-03-05 and 03/04/2026), kept as text:
 * how its day/month-first dates are read into an existing date or timestamp column, by separator,
 * decided as for a column of one form. Absent for a separator whose values put the day first in
 * some and the month first in others (the server's month-first reading then fails the others).
 */
export interface DayMonthOrders {
  slash?: 'mdy' | 'dmy';
  dot?: 'mdy' | 'dmy';
}

export interface ColumnType {
  type: SqlType;
  format: ValueFormat;
  /** Values that matched the column's shape but are not valid (e.g. 2023-02-30): these become mapping errors. */
  invalidValues: number;
  /** Some values are stored in a form different from their text (e.g. US dates): corrections are recorded. */
  mayNeedCorrection: boolean;
  /** Human notes on the decision, e.g. an ambiguous day/month order. */
  notes: string[];
  /** Some values have surrounding whitespace. */
  untrimmed?: boolean;
  /**
   * A number column whose every value with a dot has one to three digits before it and three
   * after (1.500, 12.000): the first such value. Read with the dot as a decimal point; where the
   * dot groups thousands (semicolon-separated files with decimal commas), that is 1.5 for 1500.
   */
  thousandsDots?: string;
}

const INT_RE = /^[+-]?\d+(?:\.0+)?$/;
const LEADING_ZERO_RE = /^[+-]?0\d/;
const DIGITS_RE = /^\d+$/;
const CANONICAL_INT_RE = /^-?(?:0|[1-9]\d*)$/;
/** A plain number's text (1, -2.5, .5, 1e3): the numeric columns' grammar. */
export const NUM_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?(\d+))?$/;
const CANONICAL_NUM_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;
const GROUPED_RE = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
/** A number that could be thousands grouped with a dot, as many European exports write them (1.500). */
const THOUSANDS_DOT_RE = /^[+-]?[1-9]\d{0,2}\.\d{3}$/;
const SMALL_RE = /^[+-]?\d{1,3}(?:\.\d+)?$/;
const CURRENCY_RE = /^([+-]?)([$€£¥])\s?(\d{1,3}(?:,\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?)$/;
const BOOL_VALUES = new Set(['true', 'false', 't', 'f', 'yes', 'no', 'y', 'n', '1', '0']);

export const ISO_DATE_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
/** Year first with slashes (2024/01/15): Japanese, Chinese and South African exports, among others. */
const YMD_SLASH_DATE_RE = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/;
const YMD_SLASH_TS_RE = /^(\d{4})\/(\d{1,2})\/(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?$/;
export const SLASH_DATE_RE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
export const DOT_DATE_RE = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/;
export const ISO_TS_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;
const SLASH_TS_RE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s?([AaPp][Mm]))?$/;
const DOT_TS_RE = /^(\d{1,2})\.(\d{1,2})\.(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
/** ISO values need no standardisation: PostgreSQL stores exactly what they say. */
const CANONICAL_DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const CANONICAL_TS_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;

const INT4_MAX = '2147483647';
const INT8_MAX = '9223372036854775807';
/** numeric accepts exponents far beyond this, but a value past 1e100000 overflows it in practice. */
const MAX_NUMERIC_EXPONENT = 100_000;

/**
 * Spellings real exports use for "no value" (R's NA, MySQL's \N, Excel's #N/A, pandas' NaN, SAS's
 * `.`). Without --null-value they are text like any other value, and so make a numeric or date
 * column text; inference sets them aside to say so (see ColumnStats.decide). At most 4 characters.
 */
export const MISSING_PLACEHOLDERS: ReadonlySet<string> = new Set(['NA', 'N/A', 'n/a', 'na', '#N/A', 'NULL', 'null', 'Null', 'None', 'none', 'NaN', 'nan', '\\N', '-', '--', '.', '?']);

/** A placeholder as a --null-value argument a shell passes as it is. */
export function nullValueFlag(value: string): string {
  return `--null-value ${/^[\w/.-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`}`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Plain arithmetic: this runs for every date value, where a Date object per call is measurable. */
function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29;
  return DAYS_IN_MONTH[month - 1] ?? 0;
}

function validDate(y: number, m: number, d: number): boolean {
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

function validTime(h: number, mi: number, s: number, ampm: boolean): boolean {
  return (ampm ? h >= 1 && h <= 12 : h >= 0 && h <= 23) && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

/** The numbers quickDate read: the three date parts in the order written, then hours, minutes, seconds. */
export const QUICK = new Int32Array(6);

/** The digits of `v` from `at` to `at + n` as a number, or -1 when any is not an ASCII digit. */
function digitsAt(v: string, at: number, n: number): number {
  let x = 0;
  for (let i = at; i < at + n; i++) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    x = x * 10 + d;
  }
  return x;
}

/**
 * Reads `v` into QUICK when it has one of the fixed-width forms: with `ymd`, YYYY-MM-DD (1) or
 * YYYY-MM-DDTHH:MM:SS, T or a space (2); otherwise NN<sep>NN<sep>YYYY (1). 0 for anything else,
 * which the regular expressions then read.
 */
export function quickDate(v: string, sep: number, ymd: boolean): 0 | 1 | 2 {
  const n = v.length;
  if (n !== 10 && !(ymd && n === 19)) return 0;
  let a: number;
  let b: number;
  let c: number;
  if (ymd) {
    if (v.charCodeAt(4) !== sep || v.charCodeAt(7) !== sep) return 0;
    a = digitsAt(v, 0, 4);
    b = digitsAt(v, 5, 2);
    c = digitsAt(v, 8, 2);
  } else {
    if (v.charCodeAt(2) !== sep || v.charCodeAt(5) !== sep) return 0;
    a = digitsAt(v, 0, 2);
    b = digitsAt(v, 3, 2);
    c = digitsAt(v, 6, 4);
  }
  if (a < 0 || b < 0 || c < 0) return 0;
  QUICK[0] = a;
  QUICK[1] = b;
  QUICK[2] = c;
  if (n === 10) return 1;
  const t = v.charCodeAt(10);
  if ((t !== 0x54 && t !== 0x20) || v.charCodeAt(13) !== 0x3a || v.charCodeAt(16) !== 0x3a) return 0;
  const h = digitsAt(v, 11, 2);
  const mi = digitsAt(v, 14, 2);
  const sec = digitsAt(v, 17, 2);
  if (h < 0 || mi < 0 || sec < 0) return 0;
  QUICK[3] = h;
  QUICK[4] = mi;
  QUICK[5] = sec;
  return 2;
}

/** Magnitude comparison of two unsigned digit strings without leading zeros. */
function digitsAtMost(digits: string, max: string): boolean {
  return digits.length < max.length || (digits.length === max.length && digits <= max);
}

/** A family of date/time shapes tracked while values stream by. */
class DateFamily {
  matched = 0;
  /** Max of the first and second part (for slash and dot forms, to decide day/month order). */
  maxFirst = 0;
  maxSecond = 0;
  /** The least day/month-first value whose first and second part are both 12 or less, for notes. */
  ambiguousExample: string | null = null;
  /** The least value (day/month-first forms: of those whose first or second part is above 12), for notes. */
  example: string | null = null;
  invalidYmd = 0;
  invalidMdy = 0;
  invalidDmy = 0;
  timestamps = 0;
  zoned = 0;
  canonical = 0;
}

/** Streaming statistics for one column. */
export class ColumnStats {
  nonEmpty = 0;
  maxLength = 0;
  /** Some value had surrounding whitespace. */
  untrimmed = false;
  /** Some value was whitespace only (NULL in a typed column: recorded as a correction). */
  private blank = false;
  /** Values written with a plus sign (+44): when every value has one, it is part of the value. */
  private plusSigned = 0;
  private possible = { bool: true, int: true, num: true, grouped: true, currency: true, iso: true, ymdSlash: true, slash: true, dot: true };
  private intDotZero = false;
  private intNeedsInt8 = false;
  private intNeedsNumeric = false;
  private intCanonical = 0;
  private numCanonical = 0;
  private numInvalid = 0;
  private groupedSeen = false;
  /** The first number that could be thousands grouped with a dot (THOUSANDS_DOT_RE), and whether a number with a dot of another shape was seen. */
  private thousandsDot: string | null = null;
  private otherDot = false;
  private currencySymbol: string | null = null;
  private boolCanonical = 0;
  private boolOnes = 0;
  private boolZeros = 0;
  /** Every non-empty value so far is plain digits (a code such as 00123 may be one). */
  private digitsOnly = true;
  /** Values of plain digits with a leading zero (00123). */
  private leadingZeros = 0;
  /** A value with a leading zero, for the note (`007`). */
  private leadingZeroExample: string | null = null;
  /** Placeholders for a missing value (MISSING_PLACEHOLDERS) seen, with their counts; set aside from inference. */
  private placeholders: Map<string, number> | null = null;
  private readonly iso = new DateFamily();
  private readonly ymdSlash = new DateFamily();
  private readonly slash = new DateFamily();
  private readonly dot = new DateFamily();
  private anyPossible = true;
  /**
   * Every non-empty value so far is a date or timestamp of one of the four families, though
   * perhaps not all of one: once every family is ruled out, the values go on being observed into
   * them for the notes and the day/month orders of a column of mixed forms (mixedDates).
   */
  private datesOnly = true;

  /** `nullValues`: the column's null values (--null-value), which staging keeps from it unless quoted. */
  constructor(private readonly nullValues: ReadonlySet<string> | null = null) {}

  /** Observes one raw value (`null` = absent). */
  observe(raw: string | null): void {
    if (raw === null) return;
    if (raw.length > this.maxLength) this.maxLength = raw.length;
    // Nothing left to learn: no type is possible and the values are not all digits.
    if (!this.anyPossible && !this.digitsOnly && !this.datesOnly) return;
    const v = raw.trim();
    const exact = v === raw;
    if (!exact) this.untrimmed = true;
    if (v === '') {
      if (!exact) this.blank = true;
      return;
    }
    // Placeholders start with a letter or punctuation: a value starting with a digit needs no lookup.
    const first = v.charCodeAt(0);
    if (v.length <= 4 && (first < 0x30 || first > 0x39) && MISSING_PLACEHOLDERS.has(v)) {
      this.placeholders ??= new Map();
      this.placeholders.set(v, (this.placeholders.get(v) ?? 0) + 1);
      this.digitsOnly = false;
      return;
    }
    this.nonEmpty++;
    if (first === 0x2b) this.plusSigned++;
    if (!this.anyPossible) {
      if (this.datesOnly) this.datesOnly = this.observeAnyDate(v, exact);
      if (this.digitsOnly) this.observeDigits(v, first);
      return;
    }
    const p = this.possible;

    if (p.bool) {
      const lower = v.toLowerCase();
      if (BOOL_VALUES.has(lower)) {
        if (exact && (lower === 'true' || lower === 'false') && lower === v) this.boolCanonical++;
        if (lower === '1') this.boolOnes++;
        else if (lower === '0') this.boolZeros++;
      } else p.bool = false;
    }
    if (p.int || p.num) {
      if (LEADING_ZERO_RE.test(v)) {
        p.int = false;
        p.num = false;
        p.grouped = false;
        p.currency = false;
      }
    }
    if (p.int) {
      if (INT_RE.test(v)) {
        const dot = v.includes('.');
        if (dot) this.intDotZero = true;
        // While integers are possible, digitsOnly costs no regular expression of its own.
        if (this.digitsOnly && (dot || first < 0x30 || first > 0x39)) this.digitsOnly = false;
        if (exact && CANONICAL_INT_RE.test(v)) this.intCanonical++;
        const digits = v.replace(/^[+-]/, '').replace(/\.0+$/, '').replace(/^0+(?=\d)/, '');
        if (!digitsAtMost(digits, INT4_MAX)) {
          if (digitsAtMost(digits, INT8_MAX)) this.intNeedsInt8 = true;
          else this.intNeedsNumeric = true;
        }
      } else {
        p.int = false;
        this.digitsOnly = false;
      }
    } else if (this.digitsOnly) {
      // Integers ruled out by a leading zero (00123): whether the column is still all digits.
      this.observeDigits(v, first);
    }
    if (p.num) {
      const m = NUM_RE.exec(v);
      if (m) {
        if (exact && CANONICAL_NUM_RE.test(v)) this.numCanonical++;
        if (!this.otherDot && v.includes('.')) {
          if (THOUSANDS_DOT_RE.test(v)) this.thousandsDot ??= v;
          else this.otherDot = true;
        }
        if (m[1] !== undefined && Number(m[1]) > MAX_NUMERIC_EXPONENT) this.numInvalid++;
      } else p.num = false;
    }
    if (p.grouped) {
      if (GROUPED_RE.test(v)) this.groupedSeen = true;
      else if (!SMALL_RE.test(v)) p.grouped = false;
    }
    if (p.currency) {
      const m = CURRENCY_RE.exec(v);
      if (m && (this.currencySymbol === null || this.currencySymbol === m[2])) this.currencySymbol = m[2] ?? null;
      else p.currency = false;
    }
    if (p.iso) p.iso = this.observeDate(this.iso, v, exact, ISO_DATE_RE, ISO_TS_RE, 'ymd', 0x2d);
    if (p.ymdSlash) p.ymdSlash = this.observeDate(this.ymdSlash, v, exact, YMD_SLASH_DATE_RE, YMD_SLASH_TS_RE, 'ymd', 0x2f);
    if (p.slash) p.slash = this.observeDate(this.slash, v, exact, SLASH_DATE_RE, SLASH_TS_RE, 'first', 0x2f);
    if (p.dot) p.dot = this.observeDate(this.dot, v, exact, DOT_DATE_RE, DOT_TS_RE, 'first', 0x2e);
    // Every family ruled out (by this value or before): a date of another one (a column of mixed forms), or not a date.
    if (this.datesOnly && !(p.iso || p.ymdSlash || p.slash || p.dot)) this.datesOnly = this.observeAnyDate(v, exact);
    this.anyPossible = p.bool || p.int || p.num || p.grouped || p.currency || p.iso || p.ymdSlash || p.slash || p.dot;
  }

  /** Keeps digitsOnly and leadingZeros for a value (`first`: its first character's code). */
  private observeDigits(v: string, first: number): void {
    if (!DIGITS_RE.test(v)) this.digitsOnly = false;
    else if (first === 0x30 && v.length > 1) {
      this.leadingZeros++;
      // The least of them, so that the note is the same whatever the order of the rows.
      if (this.leadingZeroExample === null || v < this.leadingZeroExample) this.leadingZeroExample = v;
    }
  }

  /** Observes `v` into the first family it is a date of (each already ruled out as the column's); false when it is none. */
  private observeAnyDate(v: string, exact: boolean): boolean {
    return (
      this.observeDate(this.iso, v, exact, ISO_DATE_RE, ISO_TS_RE, 'ymd', 0x2d) ||
      this.observeDate(this.ymdSlash, v, exact, YMD_SLASH_DATE_RE, YMD_SLASH_TS_RE, 'ymd', 0x2f) ||
      this.observeDate(this.slash, v, exact, SLASH_DATE_RE, SLASH_TS_RE, 'first', 0x2f) ||
      this.observeDate(this.dot, v, exact, DOT_DATE_RE, DOT_TS_RE, 'first', 0x2e)
    );
  }

  /**
   * A column of dates written in more than one form, kept as text: the note saying so, and how
   * its day/month-first dates are read into an existing date or timestamp column (PostgreSQL would
   * read them all month first, 03.04.2026 as March 4, and fail 13/04/2026).
   */
  private mixedDates(): { note: string; dayMonth: DayMonthOrders } | null {
    const families = [this.iso, this.ymdSlash, this.slash, this.dot];
    if (!this.datesOnly || this.nonEmpty === 0 || families.filter((f) => f.matched > 0).length < 2) return null;
    const examples = families.filter((f) => f.matched > 0).map((f) => f.example ?? f.ambiguousExample);
    const dayMonth: DayMonthOrders = {};
    const parts = [`kept as text: its dates are written in more than one form: ${examples.join(', ')}`];
    for (const [f, sep, name] of [[this.slash, '/', 'slashed'], [this.dot, '.', 'dotted']] as const) {
      if (f.matched === 0) continue;
      const format = (order: 'mdy' | 'dmy'): string => (order === 'mdy' ? ['MM', 'DD', 'YYYY'] : ['DD', 'MM', 'YYYY']).join(sep);
      if (f.maxFirst > 12 && f.maxSecond > 12) {
        parts.push(`${name} dates put the day first in some and the month first in others: into a date or timestamp column they are read month first, and those that cannot be are mapping errors`);
        continue;
      }
      const order = f.maxFirst > 12 ? 'dmy' : f.maxSecond > 12 ? 'mdy' : sep === '/' ? 'mdy' : 'dmy';
      dayMonth[sep === '/' ? 'slash' : 'dot'] = order;
      const why = f.maxFirst > 12 || f.maxSecond > 12 ? `${f.example} puts the ${order === 'dmy' ? 'day' : 'month'} first` : `no value settles the day/month order, such as ${f.ambiguousExample}`;
      parts.push(`into a date or timestamp column its ${name} dates are read ${format(order)}: ${why}`);
    }
    return { note: parts.join('; '), dayMonth };
  }

  /** `sep`: the family's separator's character code (- / .). */
  private observeDate(f: DateFamily, v: string, exact: boolean, dateRe: RegExp, tsRe: RegExp, order: 'ymd' | 'first', sep: number): boolean {
    let a: number;
    let b: number;
    let c: number;
    let isTs = false;
    let timeOk = true;
    // The fixed-width forms (2024-05-03, 2024-05-03T22:56:58, 08/06/2021) are read by position:
    // the same numbers the regular expressions capture, without a match array and three strings
    // per value (docs/decisions.md).
    const quick = quickDate(v, sep, order === 'ymd');
    if (quick !== 0) {
      f.matched++;
      a = QUICK[0] as number;
      b = QUICK[1] as number;
      c = QUICK[2] as number;
      if (quick === 2) {
        isTs = true;
        f.timestamps++;
        timeOk = validTime(QUICK[3] as number, QUICK[4] as number, QUICK[5] as number, false);
      }
    } else {
      let m = dateRe.exec(v);
      if (!m) {
        m = tsRe.exec(v);
        if (!m) return false;
        isTs = true;
      }
      f.matched++;
      a = Number(m[1]);
      b = Number(m[2]);
      c = Number(m[3]);
      if (isTs) {
        f.timestamps++;
        const ampm = order === 'first' && m[7] !== undefined;
        if (order === 'ymd' && m[7] !== undefined) f.zoned++;
        timeOk = validTime(Number(m[4]), Number(m[5]), Number(m[6] ?? 0), ampm);
      }
    }
    if (order === 'ymd') {
      if (f.example === null || v < f.example) f.example = v;
      if (!timeOk || !validDate(a, b, c)) f.invalidYmd++;
      // The quick forms with dashes are canonical by their shape; with slashes none is (stored with dashes).
      if (exact && sep === 0x2d && (quick !== 0 || (isTs ? CANONICAL_TS_RE : CANONICAL_DATE_RE).test(v))) f.canonical++;
    } else {
      f.maxFirst = Math.max(f.maxFirst, a);
      f.maxSecond = Math.max(f.maxSecond, b);
      if (a > 12 || b > 12) {
        if (f.example === null || v < f.example) f.example = v;
      } else if (f.ambiguousExample === null || v < f.ambiguousExample) f.ambiguousExample = v;
      if (!timeOk || !validDate(c, a, b)) f.invalidMdy++;
      if (!timeOk || !validDate(c, b, a)) f.invalidDmy++;
    }
    return true;
  }

  /** The column's type, decided from everything observed. */
  decide(): ColumnType {
    const decided = this.decideType();
    const mixed = decided.type === 'text' ? this.mixedDates() : null;
    if (mixed !== null) {
      decided.format = { kind: 'text', dayMonth: mixed.dayMonth };
      decided.notes.push(mixed.note);
    }
    const text: ColumnType = { type: 'text', format: decided.format.kind === 'text' ? decided.format : { kind: 'text' }, invalidValues: 0, mayNeedCorrection: false, notes: [], untrimmed: this.untrimmed };
    if (this.placeholders !== null) {
      // Text because of the placeholders alone: say which, and the flag that reads them as NULL.
      if (decided.type !== 'text') {
        // A placeholder that is one of the column's null values reached inference only because it was quoted (CSV).
        const seen = [...this.placeholders];
        const quoted = seen.filter(([v]) => this.nullValues?.has(v) === true);
        const unread = seen.filter(([v]) => this.nullValues?.has(v) !== true);
        const list = (values: Array<[string, number]>): string => values.map(([v, count]) => `"${v}" (${count} value${count === 1 ? '' : 's'})`).join(', ');
        const causes: string[] = [];
        if (unread.length > 0) causes.push(`${unread.length === 1 ? 'the placeholder' : 'the placeholders'} ${list(unread)}`);
        if (quoted.length > 0) causes.push(`${list(quoted)} in quotes, which make a value text rather than a null value`);
        const flags = unread.length > 0 ? ` To store missing values as NULL: ${unread.map(([v]) => nullValueFlag(v)).join(' ')}` : '';
        text.notes.push(`kept as text because of ${causes.join(' and ')}; the other values are ${decided.type}.${flags}`);
      } else text.notes.push(...decided.notes);
      return text;
    }
    if ((decided.format.kind === 'integer' || decided.format.kind === 'numeric') && this.plusSigned === this.nonEmpty && this.nonEmpty > 0) {
      // Dialling codes (+44), offsets: a sign on every value is written on purpose, and a number drops it.
      text.notes.push(`kept as text: every value starts with + (codes such as +44, whose sign a number would drop); the values are otherwise ${decided.type}`);
      return text;
    }
    if (decided.type === 'text' && this.digitsOnly && this.leadingZeros > 0) {
      const some = this.leadingZeros === 1 ? '1 has a leading zero' : `${this.leadingZeros} have leading zeros`;
      const example = this.leadingZeroExample ?? '00123';
      decided.notes.push(`kept as text: every value is digits and ${some} (codes such as ${example.length > 20 ? `${example.slice(0, 20)}…` : example}, whose zeros a number would lose)`);
    }
    const thousands = decided.type !== 'text' && decided.type !== 'boolean' && this.thousandsDot !== null && !this.otherDot ? { thousandsDots: this.thousandsDot } : {};
    return { ...decided, mayNeedCorrection: decided.mayNeedCorrection || (decided.type !== 'text' && this.blank), untrimmed: this.untrimmed, ...thousands };
  }

  /** The type of the values other than placeholders. */
  private decideType(): ColumnType {
    const n = this.nonEmpty;
    const p = this.possible;
    const text: ColumnType = { type: 'text', format: { kind: 'text' }, invalidValues: 0, mayNeedCorrection: false, notes: [] };
    if (n === 0 || !this.anyPossible) return text;
    // A column of only 1s and 0s is boolean when both appear; a column of only 1s (an id, a count) is not.
    const digitsOnly = this.boolOnes + this.boolZeros === n;
    if (p.bool && (!digitsOnly || (this.boolOnes > 0 && this.boolZeros > 0))) {
      return { type: 'boolean', format: { kind: 'boolean' }, invalidValues: 0, mayNeedCorrection: this.boolCanonical < n, notes: [] };
    }
    if (p.int) {
      const type: SqlType = this.intNeedsNumeric ? 'numeric' : this.intNeedsInt8 ? 'bigint' : 'integer';
      return { type, format: { kind: 'integer', dotZero: this.intDotZero }, invalidValues: 0, mayNeedCorrection: this.intCanonical < n, notes: [] };
    }
    if (p.num) {
      return {
        type: 'numeric',
        format: { kind: 'numeric', grouping: false, currency: null },
        invalidValues: this.numInvalid,
        mayNeedCorrection: this.numCanonical < n,
        notes: [],
      };
    }
    if (p.grouped && this.groupedSeen) {
      return { type: 'numeric', format: { kind: 'numeric', grouping: true, currency: null }, invalidValues: 0, mayNeedCorrection: true, notes: [] };
    }
    if (p.currency && this.currencySymbol !== null) {
      return {
        type: 'numeric',
        format: { kind: 'numeric', grouping: true, currency: this.currencySymbol },
        invalidValues: 0,
        mayNeedCorrection: true,
        notes: [],
      };
    }
    if (p.iso) return this.decideDate(this.iso, '-', 'ymd', this.iso.invalidYmd, n) ?? text;
    if (p.ymdSlash) return this.decideDate(this.ymdSlash, '/', 'ymd', this.ymdSlash.invalidYmd, n) ?? text;
    for (const [family, sep] of [[this.slash, '/'], [this.dot, '.']] as const) {
      if (!(sep === '/' ? p.slash : p.dot)) continue;
      const notes: string[] = [];
      let order: DateOrder;
      if (family.maxFirst > 12 && family.maxSecond > 12) return text;
      if (family.maxFirst > 12) order = 'dmy';
      else if (family.maxSecond > 12) order = 'mdy';
      else {
        // No value settles it: slashes read as US month/day, dots as European day.month.
        order = sep === '/' ? 'mdy' : 'dmy';
        if (family.matched > 0) notes.push(`day/month order is ambiguous; read as ${order === 'mdy' ? 'MM/DD/YYYY' : 'DD.MM.YYYY'}`);
      }
      const invalid = order === 'mdy' ? family.invalidMdy : family.invalidDmy;
      const decided = this.decideDate(family, sep, order, invalid, n);
      if (decided) {
        decided.notes.push(...notes);
        return decided;
      }
      return text;
    }
    return text;
  }

  private decideDate(f: DateFamily, separator: '-' | '/' | '.', order: DateOrder, invalid: number, n: number): ColumnType | null {
    // A column whose values mostly only look like dates (codes such as 1234-56-78) stays text.
    if (invalid * 2 > n) return null;
    const mayNeedCorrection = f.canonical < n;
    if (f.timestamps > 0) {
      const zone = f.zoned > 0;
      // A value without a zone among zoned ones takes the session's zone: recorded (typeSql's coercion).
      return { type: zone ? 'timestamptz' : 'timestamp', format: { kind: 'timestamp', order, separator, zone }, invalidValues: invalid, mayNeedCorrection: mayNeedCorrection || (zone && f.zoned < n), notes: [] };
    }
    return { type: 'date', format: { kind: 'date', order, separator }, invalidValues: invalid, mayNeedCorrection, notes: [] };
  }
}
