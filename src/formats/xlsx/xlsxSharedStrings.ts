/**
 * The workbook's shared-strings table (xl/sharedStrings.xml), read by atlas's own scanner and kept
 * compactly: every string's UTF-8 bytes in one Buffer, with a Uint32Array of where each ends.
 * Excel writes every text cell as an index into this table, so it is the one part of a workbook
 * that must stay in memory while the sheet is read; as JS strings (what exceljs's 'cache' keeps)
 * each costs a string header, an array slot and, from a SAX parser, often a slice of a larger
 * string it keeps alive: 2-3x the bytes kept here. A small direct-mapped cache of decoded strings
 * gives repeated values (a city, a category) one JS string instead of one per cell.
 */
import { ChunkJoiner, INCOMPLETE, LT, MalformedXmlError, nameAt, nameIs, nextTag, readName, readStringItem, resumeAt, skipElement, SLASH, tagEnd, textOut, utf8Text } from './xlsxXml.js';

/** Decoded strings remembered by index (a power of two): ~0.5 MB of slots, enough for the repeated values of a sheet. */
const CACHE_SLOTS = 1 << 14;
/** Strings a table starts with room for when <sst> does not say (it grows by doubling). */
const INITIAL_COUNT = 1024;
/** Most entries pre-allocated from <sst uniqueCount="..."> (a hostile count must not allocate gigabytes up front). */
const MAX_PREALLOCATED_COUNT = 1 << 20;

export class SharedStrings {
  private data = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  private ends: Uint32Array;
  /** Number of strings in the table. */
  count = 0;
  private readonly cachedIndex = new Int32Array(CACHE_SLOTS).fill(-1);
  private readonly cachedText: string[] = new Array<string>(CACHE_SLOTS).fill('');

  constructor(expectedCount = INITIAL_COUNT) {
    this.ends = new Uint32Array(Math.max(16, Math.min(expectedCount, MAX_PREALLOCATED_COUNT)));
  }

  add(text: string): void {
    if (this.count === this.ends.length) {
      const ends = new Uint32Array(this.ends.length * 2);
      ends.set(this.ends);
      this.ends = ends;
    }
    if (text.length > 0) {
      const most = text.length * 3; // UTF-8 bytes of a UTF-16 code unit, at most
      if (this.used + most > this.data.length) {
        const data = Buffer.allocUnsafe(Math.max(this.data.length * 2, this.used + most));
        this.data.copy(data, 0, 0, this.used);
        this.data = data;
      }
      this.used += this.data.write(text, this.used, 'utf8');
    }
    this.ends[this.count++] = this.used;
  }

  /** The string at `index`, or null when it is empty or there is no such string. */
  get(index: number): string | null {
    if (!(index >= 0 && index < this.count)) return null;
    const slot = index & (CACHE_SLOTS - 1);
    if (this.cachedIndex[slot] === index) return this.cachedText[slot] as string;
    const start = index === 0 ? 0 : (this.ends[index - 1] as number);
    const end = this.ends[index] as number;
    if (start === end) return null;
    const text = utf8Text(this.data, start, end);
    this.cachedIndex[slot] = index;
    this.cachedText[slot] = text;
    return text;
  }

  /** Drops the room grown for strings that never came (after the table has been read). */
  trim(): void {
    if (this.data.length > this.used + (this.used >> 3)) {
      const data = Buffer.allocUnsafeSlow(this.used);
      this.data.copy(data, 0, 0, this.used);
      this.data = data;
    }
    if (this.ends.length > this.count + 16) this.ends = this.ends.slice(0, this.count);
  }

  /** Bytes held: the text and the offsets. */
  get byteSize(): number {
    return this.data.length + this.ends.byteLength;
  }
}

/** Reads xl/sharedStrings.xml chunk by chunk into a SharedStrings table. */
export class SharedStringsReader {
  strings: SharedStrings | null = null;
  private readonly joiner = new ChunkJoiner();
  private readonly scanBound = (b: Buffer): number => this.scan(b);

  push(chunk: Buffer): void {
    this.joiner.push(chunk, this.scanBound);
  }

  /** The table, once the part has been read whole. */
  end(): SharedStrings {
    const rest = this.joiner.finish(this.scanBound);
    if (rest.indexOf(LT) >= 0) throw new MalformedXmlError('the shared strings end inside an element');
    const strings = (this.strings ??= new SharedStrings());
    strings.trim();
    return strings;
  }

  /** Reads every complete <si> in `b`; returns where the first incomplete one starts. */
  private scan(b: Buffer): number {
    let i = 0;
    for (;;) {
      const lt = nextTag(b, i);
      if (lt === INCOMPLETE) return resumeAt.i;
      const nameEnd = readName(b, lt);
      const start = nameAt.start;
      const closing = b[lt + 1] === SLASH;
      if (!closing && nameIs(b, start, nameEnd, 'si')) {
        const end = readStringItem(b, lt);
        if (end === INCOMPLETE) return lt;
        (this.strings ??= new SharedStrings()).add(textOut.text);
        i = end;
      } else if (!closing && nameIs(b, start, nameEnd, 'sst')) {
        const gt = tagEnd(b, lt);
        if (gt === INCOMPLETE) return lt;
        this.strings ??= new SharedStrings(uniqueCount(b.toString('utf8', lt, gt)));
        i = gt + 1;
      } else if (!closing) {
        // <extLst> and anything else beside the strings.
        const end = skipElement(b, lt);
        if (end === INCOMPLETE) return lt;
        i = end;
      } else {
        const gt = tagEnd(b, lt);
        if (gt === INCOMPLETE) return lt;
        i = gt + 1;
      }
    }
  }
}

function uniqueCount(tag: string): number {
  const m = /\suniqueCount\s*=\s*["'](\d+)["']/.exec(tag) ?? /\scount\s*=\s*["'](\d+)["']/.exec(tag);
  return m ? Number(m[1]) : INITIAL_COUNT;
}
