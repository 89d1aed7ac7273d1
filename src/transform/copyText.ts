/** COPY's text format: what a value needs before it goes into a COPY line. */

/** A value that needs escaping for COPY text. */
export const NEEDS_ESCAPE = /[\\\t\n\r]/;
/** A value that needs escaping or holds NUL bytes: one test per value on the common path. */
export const NEEDS_WORK = /[\\\t\n\r\0]/;

/** Escaping works on pieces of this size: a global replace holds ~35 bytes per match until it ends, so one 8 MB value of backslashes would otherwise need ~300 MB of heap. */
const ESCAPE_PIECE_CHARS = 1 << 16;

function escapePiece(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** COPY text format escaping (NUL bytes must already be gone). */
export function escapeCopyText(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  if (value.length <= ESCAPE_PIECE_CHARS) return escapePiece(value);
  const pieces: string[] = [];
  for (let i = 0; i < value.length; i += ESCAPE_PIECE_CHARS) pieces.push(escapePiece(value.slice(i, i + ESCAPE_PIECE_CHARS)));
  return pieces.join('');
}
