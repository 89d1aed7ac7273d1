import { AtlasError } from '../../errors.js';
import { TextDecoder } from 'node:util';

/** Encodings accepted by --encoding, mapped to WHATWG names. */
export const ENCODINGS: Record<string, string> = {
  utf8: 'utf-8',
  'utf-8': 'utf-8',
  utf16le: 'utf-16le',
  'utf-16le': 'utf-16le',
  utf16be: 'utf-16be',
  'utf-16be': 'utf-16be',
  latin1: 'windows-1252',
  'iso-8859-1': 'windows-1252',
  windows1252: 'windows-1252',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
};

/** True when --encoding names an encoding atlas can decode (one of ENCODINGS, or another name the WHATWG decoder knows). */
export function isKnownEncoding(name: string): boolean {
  try {
    new TextDecoder(detectEncoding(Buffer.alloc(0), name));
    return true;
  } catch {
    return false;
  }
}

/** Picks the encoding from a byte-order mark when the user did not name one; refuses one that contradicts the mark. */
export function detectEncoding(firstBytes: Buffer, requested: string | null): string {
  const marked = byteOrderMark(firstBytes);
  if (requested === null) {
    const wide = marked === null ? unmarkedUtf16(firstBytes) : null;
    // Read as UTF-8, its NUL bytes would be refused in the header with no word of the encoding.
    if (wide !== null) throw new AtlasError(`the input looks like ${wide.toUpperCase()} without a byte-order mark (every other byte of its start is 0)`, { hint: `pass --encoding ${wide.replace('-', '')}` });
    return marked ?? 'utf-8';
  }
  const named = ENCODINGS[requested.toLowerCase()] ?? requested;
  // A file that says what it is, read as another encoding, would be garbled silently from its first byte (Excel's "CSV UTF-8" read with a Latin-1 job's --encoding).
  if (marked !== null && marked !== named.toLowerCase()) {
    throw new AtlasError(`the input starts with a ${marked.toUpperCase()} byte-order mark, and --encoding ${requested} was given`, { hint: `leave --encoding out to read it as ${marked.toUpperCase()}, as its mark says` });
  }
  return named;
}

/** UTF-16 text of ASCII characters without a mark: a 0 byte beside each character in the first 64 bytes. */
function unmarkedUtf16(b: Buffer): 'utf-16le' | 'utf-16be' | null {
  const n = Math.min(b.length, 64) & ~1;
  if (n < 8) return null;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < n; i += 2) {
    if (b[i] === 0) evenZeros++;
    if (b[i + 1] === 0) oddZeros++;
  }
  const pairs = n / 2;
  if (oddZeros === pairs && evenZeros === 0) return 'utf-16le';
  if (evenZeros === pairs && oddZeros === 0) return 'utf-16be';
  return null;
}

/** The encoding a byte-order mark names, or null. */
function byteOrderMark(b: Buffer): string | null {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 'utf-8';
  if (b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  return null;
}

/**
 * Decodes a byte stream to text, refusing invalid bytes instead of turning them into U+FFFD.
 * A byte-order mark is dropped.
 */
export class StrictDecoder {
  private readonly decoder: TextDecoder;
  private offset = 0;

  constructor(readonly encoding: string) {
    this.decoder = new TextDecoder(encoding, { fatal: true });
  }

  decode(chunk: Buffer, final = false): string {
    try {
      const text = this.decoder.decode(chunk, { stream: !final });
      this.offset += chunk.length;
      return text;
    } catch {
      const at = this.encoding === 'utf-8' ? firstInvalidUtf8(chunk) : -1;
      const where =
        at < 0
          ? `(in the bytes after offset ${this.offset})`
          : `at byte offset ${this.offset + at} (0x${chunk[at]!.toString(16).toUpperCase().padStart(2, '0')}${lineBefore(chunk, at)})`;
      throw new AtlasError(`the input is not valid ${this.encoding} ${where}`, {
        hint: 'name its encoding with --encoding (utf8, utf16le, utf16be, latin1)',
      });
    }
  }

  end(): string {
    return this.decode(Buffer.alloc(0), true);
  }
}

/** Where the first byte that starts no valid UTF-8 sequence is in `b`, or -1 (a sequence cut at its end is not invalid). */
export function firstInvalidUtf8(b: Buffer): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    // The length of the sequence and the range of its second byte (overlongs and surrogates excluded).
    const [n, lo, hi] =
      c >= 0xc2 && c <= 0xdf ? [2, 0x80, 0xbf]
      : c === 0xe0 ? [3, 0xa0, 0xbf]
      : c === 0xed ? [3, 0x80, 0x9f]
      : c >= 0xe1 && c <= 0xef ? [3, 0x80, 0xbf]
      : c === 0xf0 ? [4, 0x90, 0xbf]
      : c >= 0xf1 && c <= 0xf3 ? [4, 0x80, 0xbf]
      : c === 0xf4 ? [4, 0x80, 0x8f]
      : [0, 0, 0];
    if (n === 0) return i;
    for (let k = 1; k < n; k++) {
      if (i + k >= b.length) return -1;
      const d = b[i + k]!;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += n;
  }
  return -1;
}

/** `, after "..." on its line`: the text before byte `at` on its line in `b` (its last 40 characters), or ''. */
function lineBefore(b: Buffer, at: number): string {
  const start = b.lastIndexOf(0x0a, at - 1) + 1;
  if (start >= at) return ', at the start of a line';
  const text = b.subarray(start, at).toString('utf8').replace(/\r/g, '');
  return `, after ${JSON.stringify(text.length > 40 ? `...${text.slice(-40)}` : text)} on its line`;
}
