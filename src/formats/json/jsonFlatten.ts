/**
 * Flattens one JSON record into columns, working on the record's text (already checked by
 * JSON.parse) so that numbers keep the form they were written in (`1.50`, `1e3`) and deep values
 * keep theirs. Iterative: nesting depth costs no stack.
 */
import { MAX_JSON_DEPTH } from './jsonScanner.js';
import { noteJson, noteMember, noteOwn, noteRepeated, type KeyShapes, type ReaderFix } from '../shared/index.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const WHITESPACE_OR_QUOTE = /[ \t\n\r"]/g;

function skipWhitespace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Index just after the string that starts (with its quote) at `i`. */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return text.length;
    let k = q - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1; // an even run of backslashes: the quote is not escaped
    j = q + 1;
  }
}

/** Index just after the value that starts at `i`. */
function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return stringEnd(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === QUOTE) j = stringEnd(text, j) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return text.length;
  }
  let j = i;
  for (; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
  }
  return j;
}

/** The JSON text without whitespace outside strings (deep values are stored as jsonb). */
export function compactJson(text: string): string {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    WHITESPACE_OR_QUOTE.lastIndex = i;
    const m = WHITESPACE_OR_QUOTE.exec(text);
    if (m === null) {
      out.push(text.slice(i));
      break;
    }
    if (text.charCodeAt(m.index) === QUOTE) {
      const end = stringEnd(text, m.index);
      out.push(text.slice(i, end));
      i = end;
    } else {
      out.push(text.slice(i, m.index));
      i = skipWhitespace(text, m.index);
    }
  }
  return out.join('');
}

/**
 * Thrown by a checked walk where the text leaves the subset of JSON it verifies itself (anything
 * odd: the caller then lets JSON.parse decide, and say what is wrong). One instance: no stack.
 */
const UNVERIFIED = new Error('not verified');
function verify(ok: boolean): void {
  if (!ok) throw UNVERIFIED;
}

/** A control character, which a JSON string may hold only escaped. */
const CONTROL = /[\x00-\x1f]/;
/** Whether `text` holds a control character (which a JSON string may hold only escaped). */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}
/** JSON's number grammar (RFC 8259). */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** How one walk over a record reads it: what it verifies, and what it knows of the text. */
interface Walk {
  /** Verify every piece of syntax stepped over: the text is not yet known to be JSON. */
  check: boolean;
  /** The text holds a control character somewhere: only then can a string hold one (one test per record instead of one per string). */
  hasControl: boolean;
  /**
   * How deep a deep value may nest before a checked walk declines it: the caller refuses too deep
   * input, checking depth only where this walk declines, and a record's values start two levels
   * in (a flattened a_b one level further, which the margin covers).
   */
  deepLimit: number;
}

/** The walk over text already known to be valid JSON. */
const UNCHECKED: Walk = { check: false, hasControl: true, deepLimit: MAX_JSON_DEPTH - 2 };

/**
 * The value of a JSON string token (with its quotes), checked first when `walk.check`. One with
 * escapes is JSON.parsed, which both decodes and checks them (so it is parsed once).
 */
function stringValue(raw: string, walk: Walk): string {
  if (walk.check) verify(raw.length >= 2 && raw.charCodeAt(raw.length - 1) === QUOTE);
  if (raw.indexOf('\\') < 0) {
    if (walk.check && walk.hasControl) verify(!CONTROL.test(raw));
    return raw.slice(1, -1);
  }
  return parsedOrUnverified(raw) as string;
}

/**
 * JSON.parse of `raw`, throwing UNVERIFIED where it fails. Also the check of a nested array or
 * object (rare in flat records: JSON.parse of just that value). Unchecked walks call it only on
 * text already verified, where it cannot fail.
 */
function parsedOrUnverified(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw UNVERIFIED;
  }
}

/**
 * The keys of the last record's top-level members by position, as written (quotes included) and
 * decoded. The records of a file mostly repeat their keys: a key written as the last record's was
 * is taken from here, without finding its end, slicing or decoding it, and as the same string,
 * which makes the comparisons that follow (RecordKeys) pointer-equal (docs/decisions.md). Keys
 * longer than MEMO_MAX_CHARS are not kept (they would stay in memory). A cache, not a parameter:
 * every reader in the process shares it, and a hit is a whole token found where it stands.
 */
const memo = { raws: [] as string[], keys: [] as string[] };
const MEMO_MAX_CHARS = 256;

/**
 * Calls `each(key, valueStart, valueEnd)` for every member of the object starting at `start`;
 * returns the index after its closing brace. With `walk.check`, every piece of syntax the walk steps
 * over is verified (keys, colons, commas, the closing brace); values are the caller's to check.
 * `remember` (top-level members) reads and keeps keys in `memo`: a stored key is a complete,
 * checked string token, so text that starts with it holds the same token.
 */
function eachMember(text: string, start: number, each: (key: string, from: number, to: number, m: number) => void, walk: Walk, remember = false): number {
  let i = skipWhitespace(text, start + 1);
  if (text.charCodeAt(i) === 0x7d) return i + 1;
  for (let m = 0; ; m++) {
    if (walk.check) verify(text.charCodeAt(i) === QUOTE);
    let key: string;
    let keyEnd: number;
    const known = remember ? memo.raws[m] : undefined;
    if (known !== undefined && text.startsWith(known, i)) {
      key = memo.keys[m] as string;
      keyEnd = i + known.length;
    } else {
      keyEnd = stringEnd(text, i);
      const rawKey = text.slice(i, keyEnd);
      key = stringValue(rawKey, walk);
      if (remember && rawKey.length <= MEMO_MAX_CHARS) {
        memo.raws[m] = rawKey;
        memo.keys[m] = key;
      }
    }
    i = skipWhitespace(text, keyEnd);
    if (walk.check) verify(text.charCodeAt(i) === 0x3a);
    const from = skipWhitespace(text, i + 1); // past ':'
    const to = valueEnd(text, from);
    if (walk.check) verify(to > from);
    each(key, from, to, m);
    i = skipWhitespace(text, to);
    if (text.charCodeAt(i) !== 0x2c) {
      if (walk.check) verify(text.charCodeAt(i) === 0x7d);
      return i + 1;
    }
    i = skipWhitespace(text, i + 1);
  }
}

/** Text of a scalar JSON value (a string, a number, true, false or null), checked first when `walk.check`: strings decoded, numbers as written, null as null. */
function scalarText(raw: string, walk: Walk): string | null {
  const c = raw.charCodeAt(0);
  if (c === QUOTE) return stringValue(raw, walk);
  if (walk.check) verify(raw === 'true' || raw === 'false' || raw === 'null' || JSON_NUMBER.test(raw));
  switch (c) {
    case 0x74: // true
      return 'true';
    case 0x66: // false
      return 'false';
    case 0x6e: // null
      return null;
    default:
      return raw;
  }
}

/** How many keys one record may have, and what to throw past that. */
export interface KeyLimit {
  maxKeys: number;
  fail(): never;
}

/**
 * Flattens the JSON object `text` (valid JSON, an object), record number `rn`: `{"a":{"b":1}}`
 * -> `a_b: "1"`; arrays, and objects nested deeper than one level, become compact JSON text and
 * their keys join `shapes.jsonKeys`. Once a key holds JSON its scalars are written as JSON text
 * (a string stays a JSON string), and once it held an array, an object of it is no longer
 * flattened (see formats/shared/lateArrays.ts). Keys in the order met, a repeated one more than once
 * (RecordKeys renames the repeats); a key such as `__proto__` is an ordinary column.
 */
export function flattenRecord(text: string, shapes: KeyShapes, limit?: KeyLimit, rn = 0): FlatRecord {
  return flatten(text, skipWhitespace(text, 0), shapes, rn, limit, UNCHECKED);
}

/**
 * flattenRecord of text not yet known to be JSON, verifying it on the way: null when the text is
 * not a JSON object, or uses JSON this check leaves to JSON.parse (the caller then parses it, for
 * its error message). A valid record is thus read once instead of twice (JSON.parse, then the
 * flattening): 1M records, about 3 us each.
 */
export function flattenVerified(text: string, shapes: KeyShapes, limit?: KeyLimit, rn = 0): FlatRecord | null {
  const walk: Walk = { check: true, hasControl: CONTROL.test(text), deepLimit: MAX_JSON_DEPTH - 2 };
  try {
    const record = flatten(text, skipWhitespace(text, 0), shapes, rn, limit, walk);
    verify(skipWhitespace(text, record.end) === text.length);
    return record;
  } catch (err) {
    if (err === UNVERIFIED) return null;
    throw err;
  }
}

/**
 * flattenVerified of the object that starts at `start` in `text` and ends anywhere in it (the
 * JSON array reader's records, read where they lie in its input rather than cut out first); also
 * null when the object does not end within `text`, and when a value in it nests deeper than
 * `maxDepth` levels (the caller's limit less the levels around the record). `hasControl`:
 * whether `text` holds a control character anywhere.
 */
export function flattenVerifiedAt(
  text: string,
  start: number,
  hasControl: boolean,
  maxDepth: number,
  shapes: KeyShapes,
  limit?: KeyLimit,
  rn = 0,
): FlatRecord | null {
  try {
    return flatten(text, start, shapes, rn, limit, { check: true, hasControl, deepLimit: maxDepth - 2 });
  } catch (err) {
    if (err === UNVERIFIED) return null;
    throw err;
  }
}

export interface FlatRecord {
  keys: string[];
  values: Array<string | null>;
  /** Index just after the object's closing brace. */
  end: number;
  /** Values stored in another form than the file's (see storableString, storableJson), by key; absent when none. */
  fixes?: Record<string, ReaderFix>;
}

/** correction_type of a lone UTF-16 surrogate (`"\ud800"`, half of a pair), which no UTF-8 text can hold, stored as U+FFFD. */
export const LONE_SURROGATE_REPLACED = 'lone_surrogate_replaced';
/** correction_type of a NUL removed from a value (`"\u0000"`), which PostgreSQL's text and jsonb cannot hold; the staging's name for the same. */
export const NUL_REMOVED = 'nul_removed';

/** A surrogate not paired with its other half (in a `u` regex, a pair is one code point and does not match). */
const LONE_SURROGATE = /[\ud800-\udfff]/gu;

/**
 * A decoded string as PostgreSQL text can store it, or null when it can as it is: each lone
 * surrogate (only a `\u` escape makes one) becomes U+FFFD, which the driver would write silently.
 * A NUL stays, for the staging to remove and record (nul_removed), unless a surrogate is fixed
 * here too: one correction then says both.
 */
function storableString(value: string): ReaderFix | null {
  LONE_SURROGATE.lastIndex = 0;
  if (!LONE_SURROGATE.test(value)) return null;
  const shown = value.replace(LONE_SURROGATE, (c) => `\\u${c.charCodeAt(0).toString(16)}`).replaceAll('\0', '\\0');
  const after = value.replace(LONE_SURROGATE, '\ufffd').replaceAll('\0', '');
  return { before: shown, after, correction_type: LONE_SURROGATE_REPLACED, ...(value.includes('\0') ? { nul_removed: true } : {}) };
}

/**
 * Escapes in JSON text that jsonb refuses: `\u0000`, and a `\ud800`-`\udfff` escape that is not
 * half of an escaped pair (a `\\` pair is stepped over whole, so `\\u0000` is text, not an escape).
 */
const JSON_ESCAPE = /\\(u0000|u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?|u[dD][c-fC-F][0-9a-fA-F]{2}|[^u])/g;

/**
 * JSON text (a deep value, or a scalar in a column of JSON) as jsonb can store it, or null when it
 * can as it is: `\u0000` removed, as a NUL in text is, and a lone surrogate escape made U+FFFD;
 * the correction is nul_removed, or lone_surrogate_replaced (with `nul_removed: true` when both).
 */
function storableJson(json: string): { json: string; fix: ReaderFix } | null {
  if (!json.includes('\\u')) return null;
  let nul = false;
  let lone = false;
  const clean = json.replace(JSON_ESCAPE, (escape, what: string) => {
    if (what === 'u0000') {
      nul = true;
      return '';
    }
    if (what.length === 5) {
      lone = true;
      return '\\ufffd';
    }
    return escape;
  });
  if (!nul && !lone) return null;
  const fix: ReaderFix = { before: json, after: clean, correction_type: lone ? LONE_SURROGATE_REPLACED : NUL_REMOVED, ...(lone && nul ? { nul_removed: true } : {}) };
  return { json: clean, fix };
}

function flatten(text: string, start: number, shapes: KeyShapes, rn: number, limit: KeyLimit | undefined, walk: Walk): FlatRecord {
  const keys: string[] = [];
  const values: Array<string | null> = [];
  let fixes: Record<string, ReaderFix> | undefined;
  // Keyed by column: a prototype-less object, so that a key such as `__proto__` is a key.
  const fixed = (key: string, fix: ReaderFix): void => {
    (fixes ??= Object.create(null) as Record<string, ReaderFix>)[key] = fix;
  };
  /** JSON text as stored: storableJson's, its correction recorded under `key`. */
  const storedJson = (key: string, json: string): string => {
    const storable = storableJson(json);
    if (storable === null) return json;
    fixed(key, storable.fix);
    return storable.json;
  };
  const { jsonKeys, repeated, literals, notedAt } = shapes;
  if (walk.check) verify(text.charCodeAt(start) === 0x7b);
  let members = 0;
  // Columns are counted as they are met, so a record of a million keys stops before its object is built.
  const count = (): void => {
    if (limit !== undefined && ++members > limit.maxKeys) limit.fail();
  };
  const deep = (raw: string): string => {
    if (walk.check) {
      verify(!nestsDeeperThan(raw, walk.deepLimit));
      parsedOrUnverified(raw);
    }
    return compactJson(raw);
  };
  /**
   * A scalar's text (a string decoded, a number as written), or, in a column that holds JSON,
   * its JSON text (made an array of one, where the column holds arrays, by castSql). JSON null is NULL either way.
   */
  const scalar = (key: string, raw: string, m: number): string | null => {
    const value = scalarText(raw, walk);
    if (value === null) return null;
    const isString = raw.charCodeAt(0) === QUOTE;
    // Only an escape makes a string's value shorter than its token: one length test per value.
    const escaped = isString && value.length !== raw.length - 2;
    // Most files have no JSON column: one size test per value then.
    if (jsonKeys.size > 0 && jsonKeys.has(key)) {
      return escaped ? storedJson(key, raw) : raw;
    }
    if (!isString && (m < 0 || notedAt.literal[m] !== key)) {
      literals.add(key);
      if (m >= 0) notedAt.literal[m] = key;
    }
    if (escaped) {
      const fix = storableString(value);
      if (fix !== null) {
        fixed(key, fix);
        return fix.after as string;
      }
    }
    return value;
  };
  /** A nested array's or object's JSON text. */
  const nested = (key: string, raw: string): string => {
    const json = storedJson(key, deep(raw));
    if (json.charCodeAt(0) === 0x5b) noteRepeated(shapes, key, rn);
    else noteJson(shapes, key, rn);
    return json;
  };
  const end = eachMember(
    text,
    start,
    (key, from, to, m) => {
      const c = text.charCodeAt(from);
      if (c === 0x7b && !(repeated.size > 0 && repeated.has(key))) {
        const before = keys.length;
        const inner = eachMember(
          text,
          from,
          (innerKey, innerFrom, innerTo) => {
            count();
            const name = `${key}_${innerKey}`;
            noteMember(shapes, name, key, innerKey);
            const d = text.charCodeAt(innerFrom);
            keys.push(name);
            values.push(d === 0x7b || d === 0x5b ? nested(name, text.slice(innerFrom, innerTo)) : scalar(name, text.slice(innerFrom, innerTo), -1));
          },
          walk,
        );
        if (walk.check) verify(inner === to);
        // An empty object has no member to flatten: it is kept as itself, jsonb {}, not lost.
        if (keys.length === before) {
          keys.push(key);
          values.push(nested(key, '{}'));
        }
        return;
      }
      count();
      if (notedAt.own[m] !== key) {
        noteOwn(shapes, key);
        notedAt.own[m] = key;
      }
      keys.push(key);
      values.push(c === 0x7b || c === 0x5b ? nested(key, text.slice(from, to)) : scalar(key, text.slice(from, to), m));
    },
    walk,
    true,
  );
  return fixes === undefined ? { keys, values, end } : { keys, values, end, fixes };
}

/** True when the JSON text nests deeper than `limit` (checked before JSON.parse on untrusted lines). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(text, i) - 1;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
