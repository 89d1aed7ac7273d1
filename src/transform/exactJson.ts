/**
 * JSON read back from PostgreSQL (row_to_json, json and jsonb columns) without losing digits:
 * row_to_json writes a bigint or numeric column as a JSON number, which JSON.parse rounds to a
 * double (9007199254740993 became 9007199254740992) and trims (1.50 became 1.5).
 */

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** The characters a JSON number token is made of: digits, - + . e E. */
const inNumber = (c: number): boolean => isDigit(c) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;

/**
 * Parses JSON text as JSON.parse does, except that a number a double does not give back as written
 * stays its text, a string (as node-pg returns bigint and numeric columns): 9007199254740993,
 * 12345678901234567.89, 1.50. A number it gives back exactly (42, 0.5, 2.5) is a number.
 */
export function parseJsonExact(text: string): unknown {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote (a backslash escapes the character after it).
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x2d || isDigit(c)) {
      let end = i + 1;
      while (end < text.length && inNumber(text.charCodeAt(end))) end++;
      const token = text.slice(i, end);
      if (String(Number(token)) !== token) {
        parts.push(text.slice(from, i), `"${token}"`);
        from = end;
      }
      i = end - 1;
    }
  }
  if (from === 0) return JSON.parse(text);
  parts.push(text.slice(from));
  return JSON.parse(parts.join(''));
}
