/**
 * Byte-level scanning of the SpreadsheetML that atlas reads itself (the shared strings and the
 * sheet rows): positions in a Buffer of UTF-8 XML, no DOM, no events, no string per tag. Each
 * function starts at a `<` and returns the position after what it read, or INCOMPLETE when the
 * buffer ends first (the caller then waits for more bytes and starts that element again).
 *
 * What XML allows and these parts use is handled: namespace prefixes (`<x:c>`), attributes in any
 * order and quoted either way (a `>` inside a value included), comments, processing
 * instructions, CDATA, the five named entities and numeric character references, XML's
 * end-of-line handling, and OOXML's own `_xHHHH_` escape for characters XML cannot carry. A
 * DOCTYPE is skipped and its entities are not expanded (so no entity-expansion bomb); an unknown
 * entity stays as written.
 */
import { AtlasError } from '../../errors.js';

/** Returned when the buffer ends before the element does. */
export const INCOMPLETE = -1;

export const LT = 0x3c;
export const GT = 0x3e;
export const SLASH = 0x2f;
const QUOT = 0x22;
const APOS = 0x27;
const AMP = 0x26;
const BANG = 0x21;
const QUESTION = 0x3f;
const COLON = 0x3a;
const UNDERSCORE = 0x5f;
const HASH = 0x23;
const CR = 0x0d;

const CDATA_OPEN = Buffer.from('<![CDATA[');
const CDATA_CLOSE = Buffer.from(']]>');
const COMMENT_OPEN = Buffer.from('<!--');
const COMMENT_CLOSE = Buffer.from('-->');
const PI_CLOSE = Buffer.from('?>');

/** The bytes as Latin-1 (for ASCII: digits of a number). */
export function latin1Text(b: Buffer, start: number, end: number): string {
  return b.toString('latin1', start, end);
}

/** The bytes as UTF-8. */
export function utf8Text(b: Buffer, start: number, end: number): string {
  return b.toString('utf8', start, end);
}

/** Thrown for XML the scanners cannot read; the caller names the part. */
export class MalformedXmlError extends AtlasError {}

/** True for the bytes that end a tag name: whitespace, `/` and `>`. */
export function endsName(c: number | undefined): boolean {
  return c === 0x20 || c === GT || c === SLASH || c === 0x0a || c === 0x09 || c === 0x0d || c === undefined;
}

/**
 * Where the local name of the tag at `lt` starts (after `<`, `</`, and any `prefix:`), written to
 * `nameAt`; returns where the name ends.
 */
export const nameAt = { start: 0 };
export function readName(b: Buffer, lt: number): number {
  let i = lt + 1;
  if (b[i] === SLASH) i++;
  let start = i;
  for (;;) {
    const c = b[i];
    if (endsName(c)) break;
    if (c === COLON) start = i + 1;
    i++;
  }
  nameAt.start = start;
  return i;
}

/** True when the bytes from `start` to `end` spell `name` (ASCII). */
export function nameIs(b: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (b[start + i] !== name.charCodeAt(i)) return false;
  return true;
}

/** Position of the `>` that ends the tag starting at `lt`, skipping quoted attribute values. */
export function tagEnd(b: Buffer, lt: number): number {
  const n = b.length;
  for (let i = lt + 1; i < n; i++) {
    const c = b[i];
    if (c === GT) return i;
    if (c === QUOT || c === APOS) {
      const q = b.indexOf(c as number, i + 1);
      if (q < 0) return INCOMPLETE;
      i = q;
    }
  }
  return INCOMPLETE;
}

/**
 * Skips markup at `lt` that is not an element: a comment, CDATA outside text, a processing
 * instruction or a DOCTYPE. Returns the position after it, INCOMPLETE, or null when `lt` starts
 * an ordinary tag.
 */
export function skipSpecial(b: Buffer, lt: number): number | null {
  const next = b[lt + 1];
  if (next === QUESTION) return after(b, b.indexOf(PI_CLOSE, lt + 2), 2);
  if (next !== BANG) return null;
  if (lt + 4 > b.length) return INCOMPLETE;
  if (b[lt + 2] === 0x2d && b[lt + 3] === 0x2d) return after(b, b.indexOf(COMMENT_CLOSE, lt + 4), 3);
  if (lt + CDATA_OPEN.length > b.length) return INCOMPLETE;
  if (b.compare(CDATA_OPEN, 0, CDATA_OPEN.length, lt, lt + CDATA_OPEN.length) === 0) return after(b, b.indexOf(CDATA_CLOSE, lt + CDATA_OPEN.length), 3);
  return skipDoctype(b, lt);
}

/** Where a scan stopped by nextTag's INCOMPLETE can start again. */
export const resumeAt = { i: 0 };

/**
 * The `<` of the next ordinary tag at or after `i`, past comments, CDATA, processing
 * instructions and DOCTYPEs (skipSpecial); INCOMPLETE when `b` ends first, with `resumeAt.i`
 * set to where reading must start again (`b.length` when no `<` is left, else the `<` of the
 * markup cut off).
 */
export function nextTag(b: Buffer, i: number): number {
  for (;;) {
    const lt = b.indexOf(LT, i);
    if (lt < 0) {
      resumeAt.i = b.length;
      return INCOMPLETE;
    }
    const special = skipSpecial(b, lt);
    if (special === null) return lt;
    if (special === INCOMPLETE) {
      resumeAt.i = lt;
      return INCOMPLETE;
    }
    i = special;
  }
}

function after(b: Buffer, at: number, length: number): number {
  return at < 0 ? INCOMPLETE : at + length;
}

/** A `<!DOCTYPE ...>` (or another `<!` declaration), with any internal subset in brackets. */
function skipDoctype(b: Buffer, lt: number): number {
  let depth = 0;
  const n = b.length;
  for (let i = lt + 2; i < n; i++) {
    const c = b[i];
    if (c === 0x5b) depth++;
    else if (c === 0x5d) depth--;
    else if (c === QUOT || c === APOS) {
      const q = b.indexOf(c as number, i + 1);
      if (q < 0) return INCOMPLETE;
      i = q;
    } else if (c === GT && depth <= 0) return i + 1;
  }
  return INCOMPLETE;
}

/**
 * Skips the element whose start tag is at `lt`, with everything inside it. Returns the position
 * after its end tag, or INCOMPLETE.
 */
export function skipElement(b: Buffer, lt: number): number {
  let depth = 0;
  let i = lt;
  for (;;) {
    i = nextTag(b, i);
    if (i === INCOMPLETE) return INCOMPLETE;
    const gt = tagEnd(b, i);
    if (gt === INCOMPLETE) return INCOMPLETE;
    if (b[i + 1] === SLASH) depth--;
    else if (b[gt - 1] !== SLASH) depth++;
    i = gt + 1;
    if (depth <= 0) return i;
  }
}

/** True when the bytes hold something decodeText must work on (an entity, an `_xHHHH_`, a carriage return). */
function needsDecoding(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c === AMP || c === UNDERSCORE || c === CR) return true;
  }
  return false;
}

/**
 * XML 1.0's end-of-line handling (2.11), which every XML reader and Excel apply: a literal CR LF
 * or lone CR is LF, so a text reads the same whichever tool saved it. `&#13;` and `_x000D_` stay CR.
 */
function normalizeLineEnds(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The text of escaped character data: line ends normalized, entities and `_xHHHH_` escapes decoded. */
export function decodeText(b: Buffer, start: number, end: number): string {
  if (!needsDecoding(b, start, end)) return utf8Text(b, start, end);
  let text = normalizeLineEnds(b.toString('utf8', start, end));
  if (text.includes('&')) {
    text = text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
      if (ref.charCodeAt(0) !== HASH) return NAMED_ENTITIES[ref] ?? whole;
      const code = ref.charCodeAt(1) === 0x78 ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    });
  }
  return text.includes('_x') ? decodeOoxmlEscapes(text) : text;
}

/**
 * OOXML writes characters XML 1.0 cannot carry (a carriage return, a tab in some writers, other
 * control characters) as `_xHHHH_`, and a literal `_x` that would look like one as `_x005F_x`.
 */
function decodeOoxmlEscapes(text: string): string {
  return text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Output of readText: the text of the element read. */
export const textOut = { text: '' };

/**
 * Reads the character data of the element whose start tag ends at `gt` (a `<t>` or `<v>`), up to
 * and including its end tag: the text goes to `textOut.text`. Returns the position after the end
 * tag, or INCOMPLETE.
 */
export function readText(b: Buffer, gt: number): number {
  const start = gt + 1;
  const lt = b.indexOf(LT, start);
  if (lt < 0) return INCOMPLETE;
  if (b[lt + 1] === SLASH) {
    const end = tagEnd(b, lt);
    if (end === INCOMPLETE) return INCOMPLETE;
    textOut.text = decodeText(b, start, lt);
    return end + 1;
  }
  // Character data broken by CDATA sections or comments: the slow way.
  let text = decodeText(b, start, lt);
  let i = lt;
  for (;;) {
    if (i + CDATA_OPEN.length > b.length) return INCOMPLETE;
    if (b.compare(CDATA_OPEN, 0, CDATA_OPEN.length, i, i + CDATA_OPEN.length) === 0) {
      const close = b.indexOf(CDATA_CLOSE, i + CDATA_OPEN.length);
      if (close < 0) return INCOMPLETE;
      text += normalizeLineEnds(b.toString('utf8', i + CDATA_OPEN.length, close));
      i = close + CDATA_CLOSE.length;
    } else if (b.compare(COMMENT_OPEN, 0, COMMENT_OPEN.length, i, i + COMMENT_OPEN.length) === 0) {
      const close = b.indexOf(COMMENT_CLOSE, i + COMMENT_OPEN.length);
      if (close < 0) return INCOMPLETE;
      i = close + COMMENT_CLOSE.length;
    } else if (b[i + 1] === SLASH) {
      const end = tagEnd(b, i);
      if (end === INCOMPLETE) return INCOMPLETE;
      textOut.text = text;
      return end + 1;
    } else {
      throw new MalformedXmlError('an element inside a text element');
    }
    const lt2 = b.indexOf(LT, i);
    if (lt2 < 0) return INCOMPLETE;
    text += decodeText(b, i, lt2);
    i = lt2;
  }
}

/**
 * Reads a string item (`<si>` of the shared strings, `<is>` of an inline string) whose start tag
 * is at `lt`: plain (`<t>`) or rich text (`<r><rPr/><t>..</t></r>...`), runs joined. Phonetic
 * runs (`<rPh>`, the reading of East Asian text) and formatting are not part of the text.
 * The text goes to `textOut.text`; returns the position after the end tag, or INCOMPLETE.
 */
export function readStringItem(b: Buffer, lt: number): number {
  const gt = tagEnd(b, lt);
  if (gt === INCOMPLETE) return INCOMPLETE;
  if (b[gt - 1] === SLASH) {
    textOut.text = '';
    return gt + 1;
  }
  let text = '';
  let depth = 1; // inside the item; 2 inside a run
  let i = gt + 1;
  for (;;) {
    i = nextTag(b, i);
    if (i === INCOMPLETE) return INCOMPLETE;
    const nameEnd = readName(b, i);
    const start = nameAt.start;
    if (b[i + 1] === SLASH) {
      const end = tagEnd(b, i);
      if (end === INCOMPLETE) return INCOMPLETE;
      i = end + 1;
      if (--depth === 0) {
        textOut.text = text;
        return i;
      }
      continue;
    }
    if (nameIs(b, start, nameEnd, 't')) {
      const tgt = tagEnd(b, i);
      if (tgt === INCOMPLETE) return INCOMPLETE;
      if (b[tgt - 1] === SLASH) {
        i = tgt + 1;
        continue;
      }
      const end = readText(b, tgt);
      if (end === INCOMPLETE) return INCOMPLETE;
      text += textOut.text;
      i = end;
    } else if (nameIs(b, start, nameEnd, 'r') && depth === 1) {
      const rgt = tagEnd(b, i);
      if (rgt === INCOMPLETE) return INCOMPLETE;
      i = rgt + 1;
      if (b[rgt - 1] !== SLASH) depth++;
    } else {
      // <rPr>, <rPh>, <phoneticPr>, extensions: not text.
      const end = skipElement(b, i);
      if (end === INCOMPLETE) return INCOMPLETE;
      i = end;
    }
  }
}

/**
 * Bytes that arrive in chunks, handed to a scanner as one Buffer whose unread tail (an element
 * cut by the chunk boundary) is kept for the next call. A chunk with no tail before it is
 * scanned where it is; otherwise tail and chunk are joined in one reused buffer (joining into a
 * new Buffer per chunk allocated as many bytes again as the sheet has, which the GC paid for).
 * When the tail is large (one huge row or string), the scanner is called again only once the
 * bytes waiting have doubled, so a long element costs linear time, not quadratic.
 */
export class ChunkJoiner {
  private joined: Buffer = Buffer.alloc(0);
  /** Unread bytes, at the start of `joined`. */
  private waiting = 0;
  private retryAt = 0;

  /**
   * Adds `chunk` and calls `scan` over the bytes not yet read; `scan` returns how many bytes it
   * read (it stops before an incomplete element). Buffers passed to `scan` are reused: it keeps
   * nothing of them but copies (strings).
   */
  push(chunk: Buffer, scan: (b: Buffer) => number): void {
    let b: Buffer;
    if (this.waiting === 0) b = chunk;
    else {
      this.reserve(this.waiting + chunk.length);
      chunk.copy(this.joined, this.waiting);
      b = this.joined.subarray(0, this.waiting + chunk.length);
    }
    if (b.length < this.retryAt && b.length <= MAX_ELEMENT_BYTES) {
      this.keep(b, 0);
      return;
    }
    const read = scan(b);
    if (b.length - read > MAX_ELEMENT_BYTES) {
      throw new MalformedXmlError(`an element is larger than ${MAX_ELEMENT_BYTES / 1024 / 1024} MiB (an Excel cell holds at most 32,767 characters)`);
    }
    this.keep(b, read);
    // A tail past a chunk's size is one long element: wait for twice its bytes before retrying.
    this.retryAt = this.waiting > LONG_ELEMENT_BYTES ? this.waiting * 2 : 0;
  }

  /** Keeps `b` from `from` on as the unread bytes. */
  private keep(b: Buffer, from: number): void {
    const rest = b.length - from;
    if (b.buffer === this.joined.buffer && b.byteOffset === this.joined.byteOffset) this.joined.copyWithin(0, from, b.length);
    else {
      this.reserve(rest);
      b.copy(this.joined, 0, from);
    }
    this.waiting = rest;
  }

  private reserve(bytes: number): void {
    if (this.joined.length >= bytes) return;
    const joined = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * this.joined.length, 2 * LONG_ELEMENT_BYTES));
    this.joined.copy(joined, 0, 0, this.waiting);
    this.joined = joined;
  }

  /**
   * At the end of the input: scans what still waits (held back while a long element grew) and
   * returns the bytes left unread (an element that never ended, or trailing whitespace).
   */
  finish(scan: (b: Buffer) => number): Buffer {
    let b = this.joined.subarray(0, this.waiting);
    if (this.retryAt > 0 && b.length > 0) b = b.subarray(scan(b));
    this.waiting = 0;
    this.retryAt = 0;
    return Buffer.from(b);
  }
}

/** A tail of more than this is treated as one long element (an inflated chunk is 64 KiB). */
const LONG_ELEMENT_BYTES = 64 * 1024;
/**
 * Largest element (a row, a shared string) held whole: far above any row Excel writes (a cell
 * holds at most 32,767 characters), low enough that one endless element cannot exhaust memory.
 */
export const MAX_ELEMENT_BYTES = 64 * 1024 * 1024;
