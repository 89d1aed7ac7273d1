/**
 * The first `max` characters of `text`, counted as PostgreSQL's left() counts them (code points),
 * so that a cut never splits an emoji's surrogate pair into a character the file does not hold.
 */
export function firstChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let units = 0;
  for (let n = 0; n < max && units < text.length; n++) {
    const c = text.charCodeAt(units);
    const pair = c >= 0xd800 && c <= 0xdbff && units + 1 < text.length && (text.charCodeAt(units + 1) & 0xfc00) === 0xdc00;
    units += pair ? 2 : 1;
  }
  return text.slice(0, units);
}
