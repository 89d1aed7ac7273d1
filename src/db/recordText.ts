/**
 * Text on its way into atlas's own records (import_history's text columns and jsonb): PostgreSQL
 * refuses NUL in text (22021) and `\u0000` or a lone surrogate in jsonb (22P05, 22P02), and a
 * refused record leaves the import's reason lost. Every write of a record passes through here.
 */
import { firstChars } from '../transform/firstChars.js';

/** How a NUL stands in a record: visible, and as the `before` of a `nul_removed` correction writes it. */
export const NUL_IN_RECORD = '\\0';

/** `text` as a text column can hold it: each NUL written as `\0` (a lone surrogate the driver already sends as U+FFFD). */
export function recordText(text: string): string;
export function recordText(text: string | null): string | null;
export function recordText(text: string | null): string | null {
  return text === null || !text.includes('\0') ? text : text.replaceAll('\0', NUL_IN_RECORD);
}

/** recordText of each element (a text[] column). */
export function recordTexts(texts: readonly string[]): string[];
export function recordTexts(texts: readonly string[] | null): string[] | null;
export function recordTexts(texts: readonly string[] | null): string[] | null {
  return texts === null ? null : texts.map((t) => recordText(t));
}

/**
 * JSON.stringify of `value` as jsonb accepts it, keys included: a NUL as `\0`, a lone surrogate as
 * U+FFFD. JSON.stringify escapes exactly those (paired surrogates it writes as they are), so each
 * escape is rewritten where it stands; a `\\` pair is stepped over whole, so `\\u0000` is left alone.
 */
export function recordJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (!json.includes('\\u')) return json;
  return json.replace(/\\(u0000|ud[89a-f][0-9a-f]{2}|[^u])/g, (escape, what: string) => {
    if (what === 'u0000') return '\\\\0';
    if (what.length > 1) return '\\ufffd';
    return escape;
  });
}

/**
 * A record's `fields` as one CSV line with `delimiter`, quoted so that COPY (FORMAT csv) reads it
 * back alike (an absent value empty, empty text `""`), NULs as `\0`, cut to `maxChars`: how a
 * mapping error shows a record that could not be read into columns.
 */
export function recordLine(fields: ReadonlyArray<string | null>, delimiter: string, maxChars: number): string {
  let line = '';
  // A character is one or two UTF-16 units: 2 x maxChars units hold maxChars characters.
  for (let i = 0; i < fields.length && line.length <= 2 * maxChars; i++) {
    if (i > 0) line += delimiter;
    const field = fields[i] ?? null;
    if (field === null) continue;
    // A field is cut before it is quoted: a record of one huge field is not copied whole.
    const text = recordText(firstChars(field, maxChars));
    const quote = text === '' || text.includes(delimiter) || /["\r\n]/.test(text);
    line += quote ? `"${text.replaceAll('"', '""')}"` : text;
  }
  return firstChars(line, maxChars);
}

