import { createHash, type Hash } from 'node:crypto';
import { createReadStream, fstatSync, openSync, statSync, type Stats } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';

/** import_history.source_type values. */
export type SourceType = 'local_upload' | 'b2_storage' | 'api_direct';

/** Bytes of one import's input, with what the history record says about where they came from. */
export interface OpenedSource {
  sourceType: SourceType;
  /** Full path or URL (never a credential), or null for stdin. */
  sourcePath: string | null;
  /** File name, or null for stdin unless --name gave one. */
  fileName: string | null;
  /** Total size when known before reading (for progress), else null. */
  sizeBytes: number | null;
  stream: Readable;
  /** Extra facts for import_history.metadata (e.g. an S3 ETag). */
  metadata: Record<string, unknown>;
  /**
   * A local file: how it changed since it was opened (its size or modification time), else null.
   * Asked once every byte is read: a file still being written into a drop folder must not be
   * imported half-way (its cut last line a wrong row), then again whole with another hash.
   */
  changedSinceOpened?: () => string | null;
}

/** Reads chunks large enough that per-chunk overhead stays negligible on big files. */
const READ_CHUNK_BYTES = 1 << 18;

/** Opens a local file or stdin (`-`). */
export function openLocalSource(spec: string, nameOverride: string | null, stdin: Readable = process.stdin): OpenedSource {
  if (spec === '-') {
    return { sourceType: 'api_direct', sourcePath: null, fileName: nameOverride, sizeBytes: null, stream: stdin, metadata: {} };
  }
  const path = resolve(spec);
  let opened: Stats;
  let fd: number;
  try {
    // A special file is refused before it is opened (opening a FIFO waits for a writer).
    if (!statSync(path).isFile()) throw new UsageError(`${spec} is not a regular file`);
    // Opened here, so that a file that cannot be read says so in one line (not EACCES from the stream).
    fd = openSync(path, 'r');
    opened = fstatSync(fd);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`file not found: ${spec}`);
    if (code === 'EACCES' || code === 'EPERM') throw new UsageError(`cannot read ${spec}: permission denied`, { hint: 'check the permissions of the file and of the directories above it' });
    throw new UsageError(`cannot read ${spec}: ${(err as Error).message}`);
  }
  return {
    sourceType: 'local_upload',
    sourcePath: path,
    fileName: nameOverride ?? basename(path),
    sizeBytes: opened.size,
    stream: createReadStream(path, { fd, highWaterMark: READ_CHUNK_BYTES }),
    metadata: {},
    changedSinceOpened: () => {
      let now: Stats;
      try {
        now = statSync(path);
      } catch {
        return 'it was removed or renamed';
      }
      if (now.ino !== opened.ino) return 'another file took its name';
      if (now.size !== opened.size) return `its size went from ${opened.size} to ${now.size} bytes`;
      return now.mtimeMs !== opened.mtimeMs ? `it was modified at ${now.mtime.toISOString()}` : null;
    },
  };
}

/** Wraps a byte stream, computing SHA-256 and the byte count of exactly the bytes as given. */
export class HashingReader implements AsyncIterable<Buffer> {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  /** The source ended: every byte was read. */
  ended = false;
  private digestHex: string | null = null;

  constructor(private readonly stream: AsyncIterable<Buffer | string>) {}

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for await (const chunk of this.stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.hash.update(buf);
      this.bytes += buf.length;
      yield buf;
    }
    this.ended = true;
  }

  /** Hex SHA-256 of everything read; call after the stream ended. */
  digest(): string {
    this.digestHex ??= this.hash.digest('hex');
    return this.digestHex;
  }
}
