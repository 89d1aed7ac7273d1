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

/** Picks the encoding from a byte-order mark when the user did not name one. */
export function detectEncoding(firstBytes: Buffer, requested: string | null): string {
  if (requested !== null) return ENCODINGS[requested.toLowerCase()] ?? requested;
  if (firstBytes[0] === 0xff && firstBytes[1] === 0xfe) return 'utf-16le';
  if (firstBytes[0] === 0xfe && firstBytes[1] === 0xff) return 'utf-16be';
  return 'utf-8';
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
      throw new AtlasError(`the input is not valid ${this.encoding} (in the bytes after offset ${this.offset})`, {
        hint: 'name its encoding with --encoding (utf8, utf16le, utf16be, latin1)',
      });
    }
  }

  end(): string {
    return this.decode(Buffer.alloc(0), true);
  }
}
