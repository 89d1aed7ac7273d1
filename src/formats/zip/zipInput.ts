import * as zlib from 'node:zlib';
import { createInflateRaw, type InflateRaw, type ZlibOptions } from 'node:zlib';
import { AtlasError } from '../../errors.js';

/**
 * Expansion allowed before a zip is taken for a bomb: at least this many bytes inflated...
 * (well above any sheet a person makes, small enough that a bomb stops early).
 */
export const BOMB_MIN_INFLATED_BYTES = 100 * 1024 * 1024;
/**
 * ...and more than this many times the compressed bytes inflated so far. Real workbooks inflate
 * 5-30x (very repetitive sheets up to ~100x); deflate tops out near 1032x.
 */
export const BOMB_MAX_RATIO = 250;

/** Compressed bytes handed to zlib at a time: fixed, so that inflating (and the bomb check) goes the same way however the source's chunks fall. */
const INFLATE_INPUT_BYTES = 64 * 1024;
/** Inflated bytes per chunk out of zlib (its default is 16 KiB: fewer, larger chunks cost less per byte). */
const INFLATE_OUTPUT_BYTES = 64 * 1024;
/** Inflated bytes zlib may run ahead of the reader (on the thread pool, while the sheet is scanned). */
const INFLATE_AHEAD_BYTES = 4 * INFLATE_OUTPUT_BYTES;

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
/** Records after the last entry: central directory, digital signature, zip64 end records, end of central directory. */
const END_OF_ENTRIES = new Set([0x02014b50, 0x05054b50, 0x06064b50, 0x07064b50, 0x06054b50]);
/** Longest data descriptor (zip64, with its signature). */
const LONGEST_DESCRIPTOR_BYTES = 24;
/**
 * Bytes held back while looking for a descriptor: one may start among them, and one without
 * signature is only recognised by the next record's signature after it.
 */
const DESCRIPTOR_HOLD_BYTES = 2 * LONGEST_DESCRIPTOR_BYTES;
const PK = Buffer.from('PK');
const FLAG_ENCRYPTED = 0x1;
const FLAG_DESCRIPTOR = 0x8;
const FLAG_UTF8 = 0x800;
const ZIP64_EXTRA = 0x0001;
const EMPTY: Buffer = Buffer.alloc(0);

/** One entry (part) of the archive, from its local header. */
export interface ZipEntry {
  /** The name as stored (a part name such as `xl/worksheets/sheet1.xml`). */
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  /**
   * The CRC-32 of its inflated bytes as the archive records it: from the local header, or, for
   * an entry written with a data descriptor, from the descriptor once the data has been read.
   */
  crc: number | null;
}

interface EntryState {
  entry: ZipEntry;
  /** Compressed bytes still to read, from the local header's size; null when only the data descriptor after the data tells. */
  left: number | null;
  hasDescriptor: boolean;
  zip64: boolean;
  /** Data bytes read before the unread ones (looking for a descriptor). */
  emitted: number;
  /** Where among the unread bytes the search for a descriptor goes on. */
  searchFrom: number;
  /** Set once its data has been read or skipped. */
  done: boolean;
}


/**
 * An .xlsx archive read front to back as its bytes arrive (from a file, stdin or S3: nothing is
 * seekable): each entry's local header, then its data, whose end is known from the header or,
 * for entries written with a data descriptor (sizes after the data, as exceljs and other
 * streaming writers do), found by the descriptor itself: its signature or the next header,
 * where the compressed size it records equals the bytes since the data began. The data can be
 * read compressed (to set aside) or inflated, with every inflated byte counted against a zip
 * bomb and an entry inflated to its end checked against its CRC-32. `drain()` reads what is
 * left of the source, so that every byte of the file is hashed.
 */
export class ZipInput {
  /**
   * What the archive is, as messages name it (`not a valid ${what}: ...`): a workbook, or a zip
   * archive of data files (set to a workbook when it turns out to be one).
   */
  what = '.xlsx file';
  /** The error the source itself threw (not the archive's fault), if any. */
  sourceError: unknown = null;
  /** Compressed bytes zlib has consumed (a stored entry's bytes count as they are). */
  bytesIn = 0;
  /** Bytes they inflated to. */
  bytesOut = 0;
  private buf: Buffer = EMPTY;
  private sourceDone = false;
  private stopped = false;
  private current: EntryState | null = null;
  private entriesDone = false;
  /** The current entry is to be returned again by the next nextEntry() (see putBack). */
  private heldBack = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private truncated(): AtlasError {
    return new AtlasError(`not a valid ${this.what}: the archive ends early (is the file truncated?)`);
  }

  private corrupt(what: string): AtlasError {
    return new AtlasError(`not a valid ${this.what}: the zip archive is corrupt (${what})`);
  }

  /**
   * Makes the next nextEntry() return the entry it just returned, whose data has not been read:
   * for a reader that looks at an entry's name before deciding who reads the archive.
   */
  putBack(): void {
    if (this.current === null || this.current.emitted > 0 || this.current.done) throw new Error('putBack: no unread entry to put back');
    this.heldBack = true;
  }

  /** The source's next chunk; a failure of the source itself is kept as `sourceError`. */
  private async pull(): Promise<IteratorResult<Buffer>> {
    try {
      return await this.source.next();
    } catch (err) {
      this.sourceError = err;
      throw err;
    }
  }

  /** Appends the source's next chunk to the unread bytes; false at its end. */
  private async more(): Promise<boolean> {
    if (this.stopped) throw new AtlasError(`not a valid ${this.what}: reading stopped`);
    if (this.sourceDone) return false;
    const next = await this.pull();
    if (next.done) {
      this.sourceDone = true;
      return false;
    }
    const chunk = next.value;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /** Makes at least `n` bytes readable, or fails: the archive ends early. */
  private async need(n: number): Promise<void> {
    while (this.buf.length < n) if (!(await this.more())) throw this.truncated();
  }

  /** The first `n` bytes (fewer if the input is shorter), read ahead and kept. */
  async peek(n: number): Promise<Buffer> {
    while (this.buf.length < n && (await this.more()));
    return this.buf.subarray(0, n);
  }

  /** The next entry's header, or null after the last one. The current entry's data is skipped if unread. */
  async nextEntry(): Promise<ZipEntry | null> {
    if (this.heldBack) {
      this.heldBack = false;
      return (this.current as EntryState).entry;
    }
    if (this.current !== null && !this.current.done) await this.skip();
    this.current = null;
    if (this.entriesDone) return null;
    await this.need(4);
    const signature = this.buf.readUInt32LE(0);
    if (END_OF_ENTRIES.has(signature)) {
      this.entriesDone = true;
      return null;
    }
    if (signature !== LOCAL_HEADER) throw this.corrupt(`invalid signature 0x${signature.toString(16).padStart(8, '0')}`);
    await this.need(30);
    const b = this.buf;
    const flags = b.readUInt16LE(6);
    const method = b.readUInt16LE(8);
    const crc = b.readUInt32LE(14);
    let size: number = b.readUInt32LE(18);
    const nameLength = b.readUInt16LE(26);
    const extraLength = b.readUInt16LE(28);
    await this.need(30 + nameLength + extraLength);
    const nameBytes = this.buf.subarray(30, 30 + nameLength);
    const name = nameBytes.toString(flags & FLAG_UTF8 ? 'utf8' : 'latin1');
    let zip64 = false;
    for (let at = 30 + nameLength; at + 4 <= 30 + nameLength + extraLength; ) {
      const id = this.buf.readUInt16LE(at);
      const length = this.buf.readUInt16LE(at + 2);
      if (id === ZIP64_EXTRA) {
        zip64 = true;
        // A local header's zip64 field holds both sizes, uncompressed then compressed.
        if (size === 0xffffffff && length >= 16) size = Number(this.buf.readBigUInt64LE(at + 12));
      }
      at += 4 + length;
    }
    this.buf = this.buf.subarray(30 + nameLength + extraLength);
    if (flags & FLAG_ENCRYPTED) throw new AtlasError(`not a valid ${this.what}: part ${name} is encrypted`);
    if (method !== 0 && method !== 8) throw new AtlasError(`not a valid ${this.what}: part ${name} is compressed with zip method ${method}, which atlas does not read`);
    const hasDescriptor = (flags & FLAG_DESCRIPTOR) !== 0;
    const entry: ZipEntry = { name, method, crc: hasDescriptor ? null : crc };
    // With a data descriptor the local header's sizes are usually 0: the descriptor is the truth.
    this.current = { entry, left: hasDescriptor && (size === 0 || size === 0xffffffff) ? null : size, hasDescriptor, zip64, emitted: 0, searchFrom: 0, done: false };
    return entry;
  }

  /**
   * The compressed bytes of the current entry, chunk by chunk. Progress is kept with the entry,
   * so that skip() (or nextEntry()) goes on from wherever reading stopped.
   */
  async *data(): AsyncGenerator<Buffer> {
    const state = this.current;
    if (state === null) return;
    while (!state.done) {
      const chunk = state.left !== null ? await this.nextSizedChunk(state) : await this.nextChunkBeforeDescriptor(state);
      if (chunk.length > 0) yield chunk;
    }
  }

  /** The next bytes of data whose size the local header gave (then the descriptor after it, if any). */
  private async nextSizedChunk(state: EntryState): Promise<Buffer> {
    const left = state.left as number;
    if (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw this.truncated();
      const n = Math.min(left, this.buf.length);
      const chunk = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      state.left = left - n;
      return chunk;
    }
    if (state.hasDescriptor) {
      await this.need(4);
      const signed = this.buf.readUInt32LE(0) === DATA_DESCRIPTOR ? 4 : 0;
      const length = signed + (state.zip64 ? 20 : 12);
      await this.need(length);
      state.entry.crc = this.buf.readUInt32LE(signed);
      this.buf = this.buf.subarray(length);
    }
    state.done = true;
    return EMPTY;
  }

  /**
   * The next bytes of data whose end only the data descriptor tells: all but the last bytes
   * read (the descriptor may begin among them), until it is found.
   */
  private async nextChunkBeforeDescriptor(state: EntryState): Promise<Buffer> {
    const b = this.buf;
    const found = findDescriptor(b, state.searchFrom, state.emitted, this.sourceDone);
    if (typeof found !== 'number') {
      const [end, length] = found;
      // A descriptor of 16 or 24 bytes starts with its signature; one of 12 or 20 has none.
      state.entry.crc = b.readUInt32LE(length === 16 || length === 24 ? end + 4 : end);
      this.buf = b.subarray(end + length);
      state.done = true;
      return b.subarray(0, end);
    }
    let chunk: Buffer = EMPTY;
    const safe = b.length - DESCRIPTOR_HOLD_BYTES;
    if (safe > 0) {
      chunk = b.subarray(0, safe);
      this.buf = b.subarray(safe);
      state.emitted += safe;
    }
    state.searchFrom = Math.max(0, found - Math.max(0, safe));
    if (chunk.length === 0) {
      if (this.sourceDone) throw this.truncated(); // looked at to the very end: no descriptor
      await this.more();
    }
    return chunk;
  }

  /** Skips the current entry's data without inflating it. */
  async skip(): Promise<void> {
    for await (const chunk of this.data()) void chunk;
  }

  /**
   * The bytes of `raw` (an entry's data, straight from the archive or set aside) inflated,
   * counted against a zip bomb: it stops once more than BOMB_MIN_INFLATED_BYTES have come out
   * and more than BOMB_MAX_RATIO times what zlib consumed to make them.
   */
  async *inflate(entry: ZipEntry, raw: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let crc = 0;
    if (entry.method === 0) {
      for await (const chunk of raw) {
        this.count(chunk.length, chunk.length);
        crc = crc32(chunk, crc);
        yield chunk;
      }
      this.checkCrc(entry, crc);
      return;
    }
    // (zlib passes stream options on to its Transform; its typings list only zlib's own.)
    const inflater = createInflateRaw({ chunkSize: INFLATE_OUTPUT_BYTES, highWaterMark: INFLATE_AHEAD_BYTES } as ZlibOptions);
    this.countInflater(inflater);
    let stop = false;
    const pump = (async () => {
      // Every slice is taken from `raw` (so the archive moves on to the next entry), inflated or not.
      for await (const slice of fixedSlices(raw, INFLATE_INPUT_BYTES)) {
        if (stop) continue;
        const before = inflater.bytesWritten;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            inflater.off('close', done);
            resolve();
          };
          inflater.once('close', done);
          inflater.write(slice, done);
        });
        // zlib stops consuming at the end of the deflate data: bytes after it are not inflated.
        if (inflater.destroyed || inflater.bytesWritten - before < slice.length) stop = true;
      }
      if (!inflater.destroyed && !inflater.writableEnded) inflater.end();
    })();
    pump.catch((err: unknown) => inflater.destroy(err as Error));
    let finished = false;
    try {
      for await (const out of inflater) {
        crc = crc32(out as Buffer, crc);
        yield out as Buffer;
      }
      finished = true;
    } finally {
      stop = true;
      if (!finished) inflater.destroy();
    }
    await pump;
    this.checkCrc(entry, crc);
  }

  /** Fails when an entry inflated to its end is not what the archive recorded (a damaged download, a bad copy). */
  private checkCrc(entry: ZipEntry, crc: number): void {
    if (entry.crc !== null && entry.crc !== crc) {
      const hex = (n: number): string => n.toString(16).padStart(8, '0');
      throw new AtlasError(`not a valid ${this.what}: part ${entry.name} is damaged (its CRC-32 is ${hex(crc)}, the archive recorded ${hex(entry.crc)}): get the file again`);
    }
  }

  private count(compressed: number, inflated: number): void {
    this.bytesIn += compressed;
    this.bytesOut += inflated;
    if (this.bytesOut > BOMB_MIN_INFLATED_BYTES && this.bytesOut > BOMB_MAX_RATIO * this.bytesIn) {
      throw new AtlasError(`not a valid ${this.what}: it inflates to more than ${BOMB_MAX_RATIO} times its size (${this.bytesOut} bytes from ${this.bytesIn}): a zip bomb?`);
    }
  }

  /**
   * Counts each chunk zlib pushes as it pushes it, against the compressed bytes it has consumed
   * by then (zlib's `bytesWritten`, updated before the push): the same figures however far ahead
   * of the reader it runs.
   */
  private countInflater(inflater: InflateRaw): void {
    let consumed = 0;
    const push = inflater.push.bind(inflater);
    inflater.push = (data: unknown, encoding?: BufferEncoding): boolean => {
      if (data instanceof Uint8Array) {
        const total = inflater.bytesWritten;
        try {
          this.count(total - consumed, data.length);
        } catch (err) {
          inflater.destroy(err as Error); // inflate no further
          return false;
        }
        consumed = total;
      }
      return push(data, encoding);
    };
  }

  /** Stops reading and releases the source (after an error or when the reader is abandoned). */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.sourceDone) void this.source.return?.()?.catch(() => undefined);
  }

  /** Reads (and drops) what is left of the source, so that a hash over it covers the whole file. */
  async drain(): Promise<void> {
    this.buf = EMPTY;
    while (!this.sourceDone && !this.stopped) {
      if ((await this.pull()).done) this.sourceDone = true;
    }
  }
}

/**
 * Where the data descriptor is, as [end of the data, length of the descriptor], looking at the
 * `PK` pairs in `b` from `from`; `before` data bytes came before `b`. Without one, where to look
 * on once more bytes have come (`final`: none will). A descriptor records the
 * data's compressed size, so a candidate is taken only where that size is exactly the bytes
 * since the data began: either `PK\x07\x08` (the optional signature) followed by it and then by
 * the next record's signature, or, for a descriptor without signature, the next record's
 * signature with it 12 bytes before. Sizes are 4 bytes, or 8 in zip64 archives; both are tried
 * (writers disagree on when to use which).
 */
function findDescriptor(b: Buffer, from: number, before: number, final: boolean): [number, number] | number {
  for (let q = b.indexOf(PK, from); q >= 0; q = b.indexOf(PK, q + 1)) {
    if (q + 4 > b.length) return q; // looked at again with more bytes
    const signature = b.readUInt32LE(q);
    if (signature === DATA_DESCRIPTOR) {
      // 4-byte sizes (16 bytes) or 8-byte ones (24): a zip64 size's low half can match as a 4-byte
      // one, so a candidate is taken only where the next record's signature follows it.
      let wait = false;
      for (const length of [16, 24]) {
        if (q + length > b.length) {
          wait = !final;
          break;
        }
        const size = length === 16 ? b.readUInt32LE(q + 8) : Number(b.readBigUInt64LE(q + 8));
        if (size !== before + q) continue;
        const next = q + length + 4 <= b.length ? b.readUInt32LE(q + length) : null;
        if (next === null && !final) {
          wait = true;
          break;
        }
        if (next === null || next === LOCAL_HEADER || END_OF_ENTRIES.has(next)) return [q, length];
      }
      if (wait) return q; // looked at again with more bytes
    } else if (signature === LOCAL_HEADER || END_OF_ENTRIES.has(signature)) {
      if (q >= 12 && b.readUInt32LE(q - 8) === before + q - 12) return [q - 12, 12];
      if (q >= 20 && Number(b.readBigUInt64LE(q - 16)) === before + q - 20) return [q - 20, 20];
    }
  }
  // A `PK` pair and its two signature bytes may yet start in the last three bytes.
  return Math.max(from, b.length - 3);
}

/** Turns what zlib threw while reading the archive (`what`: `.xlsx file`, `zip archive`) into one line a user can act on. */
export function asZipError(err: unknown, what: string): Error {
  if (err instanceof AtlasError) return err;
  const message = err instanceof Error ? err.message : String(err);
  let problem: string;
  if (/unexpected end/i.test(message)) problem = 'the archive ends early (is the file truncated?)';
  else if ((err as { errno?: unknown }).errno !== undefined || /invalid (?:literal|distance|code|block|stored|bit)/i.test(message)) {
    problem = `corrupt compressed data (${message})`;
  } else problem = message;
  return new AtlasError(`not a valid ${what}: ${problem.replace(/\s*\n\s*/g, ' ').trim()}`, { cause: err });
}

/** The bytes of `raw` in slices of exactly `size` bytes (the last one shorter). */
async function* fixedSlices(raw: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (let chunk of raw) {
    while (chunk.length > 0) {
      if (have === 0 && chunk.length >= size) {
        yield chunk.subarray(0, size);
        chunk = chunk.subarray(size);
        continue;
      }
      const n = Math.min(size - have, chunk.length);
      parts.push(chunk.subarray(0, n));
      have += n;
      chunk = chunk.subarray(n);
      if (have === size) {
        yield Buffer.concat(parts, size);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts, have);
}

/** CRC-32 (ISO-HDLC, as zip uses) of `data`, going on from `crc`: zlib's own where Node has it (20.15 on), else by table. */
export function crc32(data: Uint8Array, crc = 0): number {
  return nativeCrc32 !== undefined ? nativeCrc32(data, crc) : tableCrc32(data, crc);
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

let crcTable: Uint32Array | null = null;

/** The same CRC-32 in JavaScript, for Node 20 before 20.15 (atlas supports Node >= 20). */
export function tableCrc32(data: Uint8Array, crc = 0): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = (crcTable[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
