/**
 * Worksheets set aside, still compressed, until the parts they need have been read. Excel (and
 * exceljs) write the sheets before xl/sharedStrings.xml and often before xl/workbook.xml, and a
 * streamed archive cannot be read twice: a sheet met too early is kept as the compressed bytes
 * it came as (exceljs's reader wrote it inflated, 5-30x larger, to a temporary file). They stay
 * in memory up to a budget, then go to a temporary file that is unlinked as soon as it is
 * created, so nothing is left on disk whatever happens to the process.
 */
import { randomBytes } from 'node:crypto';
import { close, open, read, unlink, write } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AtlasError } from '../../errors.js';

/**
 * Compressed bytes kept in memory across all parked parts; a sheet beyond goes to disk. Small
 * workbooks never touch the disk; a large one parks as fast on disk (the page cache keeps it)
 * with less memory (docs/decisions.md).
 */
export const PARK_IN_MEMORY_BYTES = 4 * 1024 * 1024;
/** Bytes read back from a temporary file at a time. */
const READ_BACK_BYTES = 256 * 1024;

const openFile = promisify(open);
const closeFile = promisify(close);
const readFile = promisify(read);
const writeFile = promisify(write);
const unlinkFile = promisify(unlink);

/** File descriptors closed if the reader holding them is dropped unread (a table whose rows nobody asked for). */
const closeWhenCollected = new FinalizationRegistry<number>((fd) => close(fd, () => undefined));

/** A failure of the temporary file, said as such (not as a fault of the workbook). */
function diskError(err: unknown): AtlasError {
  const message = err instanceof Error ? err.message : String(err);
  return new AtlasError(`could not keep a worksheet in a temporary file in ${tmpdir()}: ${message}`, { hint: 'set TMPDIR to a directory with free space', cause: err });
}

/** The parked parts of one workbook, sharing one memory budget. */
export class Parking {
  private inMemory = 0;
  private readonly parked = new Set<ParkedPart>();

  constructor(private readonly memoryBudget = PARK_IN_MEMORY_BYTES) {}

  /** A new, empty parked part. */
  park(name: string): ParkedPart {
    const part = new ParkedPart(name, this);
    this.parked.add(part);
    return part;
  }

  /** Takes `bytes` of the memory budget, or returns false when they do not fit. */
  reserve(bytes: number): boolean {
    if (this.inMemory + bytes > this.memoryBudget) return false;
    this.inMemory += bytes;
    return true;
  }

  release(bytes: number, part: ParkedPart): void {
    this.inMemory -= bytes;
    if (part.discarded) this.parked.delete(part);
  }

  /** Discards every part still parked. */
  async discardAll(): Promise<void> {
    await Promise.all([...this.parked].map((p) => p.discard()));
  }
}

/** One part's compressed bytes, in memory or in a temporary file. */
export class ParkedPart {
  discarded = false;
  private chunks: Buffer[] = [];
  private memoryBytes = 0;
  private fd: number | null = null;
  private fileBytes = 0;
  private path: string | null = null;

  constructor(
    readonly name: string,
    private readonly parking: Parking,
  ) {}

  /** True when its bytes went to a temporary file. */
  get onDisk(): boolean {
    return this.fd !== null;
  }

  async add(chunk: Buffer): Promise<void> {
    if (this.fd === null && this.parking.reserve(chunk.length)) {
      this.chunks.push(chunk);
      this.memoryBytes += chunk.length;
      return;
    }
    try {
      if (this.fd === null) await this.spill();
      await this.append(chunk);
    } catch (err) {
      throw diskError(err);
    }
  }

  /** Moves the bytes kept in memory to a new temporary file. */
  private async spill(): Promise<void> {
    this.path = join(tmpdir(), `atlas-xlsx-${process.pid}-${randomBytes(6).toString('hex')}.part`);
    this.fd = await openFile(this.path, 'wx+', 0o600);
    closeWhenCollected.register(this, this.fd, this);
    try {
      await unlinkFile(this.path); // the open descriptor keeps the data (not so on Windows: removed on discard)
      this.path = null;
    } catch {
      // kept, and removed by discard()
    }
    const chunks = this.chunks;
    this.chunks = [];
    for (const chunk of chunks) await this.append(chunk);
    this.parking.release(this.memoryBytes, this);
    this.memoryBytes = 0;
  }

  private async append(chunk: Buffer): Promise<void> {
    for (let done = 0; done < chunk.length; ) {
      const { bytesWritten } = await writeFile(this.fd as number, chunk, done, chunk.length - done, this.fileBytes);
      done += bytesWritten;
      this.fileBytes += bytesWritten;
    }
  }

  /** The bytes parked, in order; the part is discarded once they have all been read. */
  async *replay(): AsyncGenerator<Buffer> {
    try {
      if (this.fd === null) {
        while (this.chunks.length > 0) {
          const chunk = this.chunks.shift() as Buffer;
          this.parking.release(chunk.length, this);
          this.memoryBytes -= chunk.length;
          yield chunk;
        }
        return;
      }
      for (let at = 0; at < this.fileBytes; ) {
        const buffer = Buffer.allocUnsafe(Math.min(READ_BACK_BYTES, this.fileBytes - at));
        let bytesRead: number;
        try {
          ({ bytesRead } = await readFile(this.fd as number, buffer, 0, buffer.length, at));
        } catch (err) {
          throw diskError(err);
        }
        if (bytesRead === 0) throw diskError(new Error('it ended early'));
        at += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await this.discard();
    }
  }

  /** Frees the memory or the temporary file. */
  async discard(): Promise<void> {
    if (this.discarded) return;
    this.discarded = true;
    this.chunks = [];
    this.parking.release(this.memoryBytes, this);
    this.memoryBytes = 0;
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      closeWhenCollected.unregister(this);
      await closeFile(fd).catch(() => undefined);
    }
    if (this.path !== null) {
      const path = this.path;
      this.path = null;
      await unlinkFile(path).catch(() => undefined);
    }
  }
}
