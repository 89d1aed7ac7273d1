/**
 * Text from outside atlas (a file's values and names, a file name, anything read back from the
 * database) as a terminal may show it: with its control characters escaped, so that a value
 * holding `ESC]0;...BEL` or `ESC[2J` cannot retitle or clear the terminal, and a bidi override
 * cannot make a line read otherwise than it is. Applied when text output and messages are written;
 * JSON output stays exact. Separate from cutting text to a width (`truncate`), which is another
 * matter.
 */

/**
 * C0 controls (tab and line ends included: a value's line end would start a line of its own),
 * DEL, C1 controls (0x9b is a one-byte CSI to some terminals), and the invisible characters that
 * reorder or break text: the bidi marks, embeddings, overrides and isolates, and the line and
 * paragraph separators.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character escaped (`\x1b`, `\x07`, `\n`, `\u202e`); unchanged when it has none. */
export function printable(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escapeChar) : text;
}

/** printable() for text laid out over lines by atlas (a JSON document, a stack trace): its line ends stay. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}
