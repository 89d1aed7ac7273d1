/**
 * Flattens one JSON record into columns, working on the record's text (already checked by
 * JSON.parse) so that numbers keep the form they were written in (`1.50`, `1e3`) and deep values
 * keep theirs. Iterative: nesting depth costs no stack.
 */

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

/** The value of a JSON string token (with its quotes); JSON.parse only when it holds escapes. */
function stringValue(raw: string): string {
  return raw.indexOf('\\') < 0 ? raw.slice(1, -1) : (JSON.parse(raw) as string);
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

/** Calls `each(key, valueStart, valueEnd)` for every member of the object starting at `start`. */
function eachMember(text: string, start: number, each: (key: string, from: number, to: number) => void): void {
  let i = skipWhitespace(text, start + 1);
  if (text.charCodeAt(i) === 0x7d) return;
  for (;;) {
    const keyEnd = stringEnd(text, i);
    const key = stringValue(text.slice(i, keyEnd));
    i = skipWhitespace(text, keyEnd) + 1; // past ':'
    const from = skipWhitespace(text, i);
    const to = valueEnd(text, from);
    each(key, from, to);
    i = skipWhitespace(text, to);
    if (text.charCodeAt(i) !== 0x2c) return; // '}'
    i = skipWhitespace(text, i + 1);
  }
}

/** Text of a scalar JSON value: strings decoded, numbers as written, null as null. */
function scalarText(raw: string): string | null {
  switch (raw.charCodeAt(0)) {
    case QUOTE:
      return stringValue(raw);
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
 * Flattens the JSON object `text` (valid JSON, an object): `{"a":{"b":1}}` -> `a_b: "1"`;
 * arrays, and objects nested deeper than one level, become compact JSON text and their keys are
 * added to `jsonKeys`. Keys in the order met, a repeated one more than once (its last value wins,
 * see KeyedRow); a key such as `__proto__` is an ordinary column.
 */
export function flattenRecord(text: string, jsonKeys: Set<string>, limit?: KeyLimit): { keys: string[]; values: Array<string | null> } {
  const keys: string[] = [];
  const values: Array<string | null> = [];
  const start = skipWhitespace(text, 0);
  let members = 0;
  // Columns are counted as they are met, so a record of a million keys stops before its object is built.
  const count = (): void => {
    if (limit !== undefined && ++members > limit.maxKeys) limit.fail();
  };
  eachMember(text, start, (key, from, to) => {
    const c = text.charCodeAt(from);
    if (c !== 0x7b) count();
    if (c === 0x7b) {
      eachMember(text, from, (inner, innerFrom, innerTo) => {
        count();
        const name = `${key}_${inner}`;
        const d = text.charCodeAt(innerFrom);
        keys.push(name);
        if (d === 0x7b || d === 0x5b) {
          values.push(compactJson(text.slice(innerFrom, innerTo)));
          jsonKeys.add(name);
        } else values.push(scalarText(text.slice(innerFrom, innerTo)));
      });
    } else {
      keys.push(key);
      if (c === 0x5b) {
        values.push(compactJson(text.slice(from, to)));
        jsonKeys.add(key);
      } else values.push(scalarText(text.slice(from, to)));
    }
  });
  return { keys, values };
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
