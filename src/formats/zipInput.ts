import { Readable, type Writable } from 'node:stream';
import { AtlasError } from '../errors.js';

/**
 * Expansion allowed before a zip is taken for a bomb: at least this many bytes inflated...
 * (well above any sheet a person makes, small enough that a bomb stops before filling a disk:
 * exceljs parks worksheets in temporary files).
 */
export const BOMB_MIN_INFLATED_BYTES = 100 * 1024 * 1024;
/**
 * ...and more than this many times the compressed bytes inflated so far. Real workbooks inflate
 * 5-30x (very repetitive sheets up to ~100x); deflate tops out near 1032x.
 */
export const BOMB_MAX_RATIO = 250;

/**
 * The bytes of an .xlsx as the Readable exceljs wants, with what exceljs lacks:
 * - errors of the zip parser it pipes us into are caught (exceljs waits forever on some of
 *   them: a corrupt entry it is copying to a temporary file never ends), so `race()` can stop;
 * - the inflated size of every entry is counted, to stop a zip bomb;
 * - `drain()` reads the rest of the source after exceljs stops, so every byte is hashed.
 */
export class ZipInput extends Readable {
  /** The error the source itself threw (not the archive's fault), if any. */
  sourceError: unknown = null;
  /** Compressed bytes the zip parser has inflated (a stored entry's bytes count as they are). */
  bytesIn = 0;
  /** Bytes they inflated to. */
  bytesOut = 0;
  private readonly head: Buffer[] = [];
  private pulling: Promise<void> | null = null;
  private wanted = false;
  private reading = false;
  private stopped = false;
  private sourceDone = false;
  /** The first failure, once there is one. */
  private failure: { error: unknown } | null = null;
  /** Rejecters of the race() calls in progress. */
  private readonly waiters = new Set<(err: unknown) => void>();

  constructor(private readonly source: AsyncIterator<Buffer>) {
    super();
    this.on('error', (err) => this.fail(err));
  }

  /** The first `n` bytes (fewer if the input is shorter), read ahead and kept for the parser. */
  async peek(n: number): Promise<Buffer> {
    let have = this.head.reduce((sum, b) => sum + b.length, 0);
    while (have < n && !this.sourceDone) {
      const next = await this.source.next();
      if (next.done) this.sourceDone = true;
      else {
        this.head.push(next.value);
        have += next.value.length;
      }
    }
    return Buffer.concat(this.head).subarray(0, n);
  }

  /**
   * Settles like `work`, unless the archive or the source fails first. (Not Promise.race with a
   * long-lived promise: each call would leave a reaction on it holding its result, a leak of
   * every row read.)
   */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failure !== null) {
        work.catch(() => undefined); // it may reject after we stopped listening
        reject(this.failure.error);
        return;
      }
      this.waiters.add(reject);
      work.then(
        (value) => {
          this.waiters.delete(reject);
          resolve(value);
        },
        (err: unknown) => {
          this.waiters.delete(reject);
          reject(err);
        },
      );
    });
  }

  /** Stops `race()` callers, present and future, with this error. */
  fail(err: unknown): void {
    this.failure ??= { error: err };
    for (const reject of this.waiters) reject(this.failure.error);
    this.waiters.clear();
  }

  override _read(): void {
    this.wanted = true;
    if (!this.reading) this.pulling = this.pull();
  }

  /** Pushes chunks while the stream wants them; `wanted` is re-set by any _read() meanwhile. */
  private async pull(): Promise<void> {
    this.reading = true;
    try {
      while (this.wanted && !this.stopped) {
        this.wanted = false;
        let chunk = this.head.shift();
        if (chunk === undefined && !this.sourceDone) {
          const next = await this.source.next();
          if (this.stopped) return;
          if (next.done) this.sourceDone = true;
          else chunk = next.value;
        }
        if (chunk === undefined) {
          this.push(null);
          return;
        }
        if (this.push(chunk)) this.wanted = true;
      }
    } catch (err) {
      this.sourceError = err;
      this.fail(err);
      this.destroy();
    } finally {
      // Synchronous with the loop's end: a _read() after this starts a new pull.
      this.reading = false;
    }
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    (destination as unknown as Writable).on('error', (err: unknown) => this.fail(err));
    this.countInflatedBytes(destination as unknown as Readable);
    this.dropEarlyEnd(destination as unknown as Readable);
    return super.pipe(destination, options);
  }

  /**
   * unzipper's parser emits 'end' itself as soon as its writable side finishes (it has read the
   * whole archive), even when entries it pushed still wait in its readable buffer because exceljs
   * is busy with an earlier one (writing a sheet to a temporary file, say). exceljs stops at that
   * 'end', so those entries (the workbook part, the shared strings, later sheets) were silently
   * lost, or not, depending on timing. Only the parser's real end, after the last entry has been
   * read, is let through; a truncated archive still fails through the parser's own error.
   */
  private dropEarlyEnd(parser: Readable): void {
    const emit = parser.emit.bind(parser) as (event: string | symbol, ...args: unknown[]) => boolean;
    parser.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      // Node sets readableEnded just before it emits the real 'end'.
      if (event === 'end' && !parser.readableEnded) return false;
      return emit(event, ...args);
    }) as typeof parser.emit;
  }

  /**
   * unzipper pushes each archive entry as a stream object, then pipes the entry's inflater (zlib,
   * or a pass-through for a stored entry) into it. Each inflater's output is counted as it pushes
   * it, against the compressed bytes that inflater has consumed (zlib's `bytesWritten`, counted
   * before it pushes what they inflated to). Both follow from the archive's bytes alone, never
   * from how far ahead of the parser the source happens to have been read (the bytes read so far
   * were once counted, and a part after a bomb, read ahead or not, let it through or not), so a
   * file is judged the same way however fast its bytes arrive. (If unzipper ever changes how it
   * hands entries over, this counts nothing and exceljs's row and column limits remain the only
   * guard.)
   */
  private countInflatedBytes(parser: Readable): void {
    const pushEntry = parser.push.bind(parser);
    parser.push = (entry: unknown, encoding?: BufferEncoding): boolean => {
      if (entry instanceof Readable) entry.once('pipe', (inflater: unknown) => this.countInflater(inflater));
      return pushEntry(entry, encoding);
    };
  }

  private countInflater(inflater: unknown): void {
    if (!(inflater instanceof Readable)) return;
    const zlib = inflater as Readable & { bytesWritten?: unknown };
    let consumed = 0;
    const pushData = inflater.push.bind(inflater);
    inflater.push = (data: unknown, encoding?: BufferEncoding): boolean => {
      if (data instanceof Uint8Array) {
        // A stored entry's pass-through has no bytesWritten: its bytes are their own size.
        const total = typeof zlib.bytesWritten === 'number' ? zlib.bytesWritten : consumed + data.length;
        this.bytesIn += total - consumed;
        consumed = total;
        this.bytesOut += data.length;
        if (this.bytesOut > BOMB_MIN_INFLATED_BYTES && this.bytesOut > BOMB_MAX_RATIO * this.bytesIn) {
          this.fail(
            new AtlasError(
              `not a valid .xlsx file: it inflates to more than ${BOMB_MAX_RATIO} times its size (${this.bytesOut} bytes from ${this.bytesIn}): a zip bomb?`,
            ),
          );
          this.close();
          inflater.destroy(); // inflate no further what the parser already holds
          return false;
        }
      }
      return pushData(data, encoding);
    };
  }

  /** Stops reading and releases the source (after an error or when the reader is abandoned). */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.sourceDone) void this.source.return?.()?.catch(() => undefined);
    this.destroy();
  }

  /** Reads (and drops) what is left of the source, so that a hash over it covers the whole file. */
  async drain(): Promise<void> {
    this.stopped = true;
    await this.pulling;
    while (!this.sourceDone) {
      const next = await this.source.next();
      if (next.done) this.sourceDone = true;
    }
    this.destroy();
  }
}
