/**
 * The small JSON files atlas is given (--config, --mapping): read only when they are regular
 * files, up to a size, and parsed with a one-line error that never quotes the file's text (a
 * config file holds secrets).
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { UsageError } from '../errors.js';

const MIB = 1024 * 1024;
const READ_BYTES = 64 * 1024;

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The offset JSON.parse's error names ("at position 12"), or null. */
function positionOf(err: unknown): number | null {
  const m = /at position (\d+)/.exec(err instanceof Error ? err.message : '');
  return m ? Number(m[1]) : null;
}

const endedEarly = (err: unknown): boolean => err instanceof Error && /end of JSON input/.test(err.message);

/**
 * Where JSON.parse stopped in `text`, as "line L, column C". Its message is never shown: it may
 * quote the text. V8 gives no position for an unexpected token, so then the shortest prefix of the
 * text that fails before its own end finds it.
 */
function whereParsingStopped(text: string, err: unknown): string {
  let offset = positionOf(err) ?? (endedEarly(err) ? text.length : null);
  if (offset === null) {
    const failsInside = (k: number): boolean => {
      try {
        JSON.parse(text.slice(0, k));
        return false;
      } catch (e) {
        const at = positionOf(e);
        return at !== null ? at < k : !endedEarly(e);
      }
    };
    let lo = 1;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (failsInside(mid)) hi = mid;
      else lo = mid + 1;
    }
    offset = lo - 1;
  }
  if (offset >= text.trimEnd().length) return 'the end: it stops too early';
  const lines = text.slice(0, offset).split('\n');
  return `line ${lines.length}, column ${lines[lines.length - 1]!.length + 1}`;
}

/**
 * Reads and parses the JSON file `path`, `what` naming it in errors ("config file"). Refuses
 * (UsageError) anything but a regular file, without waiting on it (a FIFO) or reading it (a
 * device such as /dev/zero), and a file over `maxBytes`.
 */
export function readJsonFile(path: string, what: string, maxBytes: number): unknown {
  let fd: number;
  try {
    // Non-blocking: opening a FIFO then returns at once (it is refused below) instead of waiting for a writer.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${what} ${path} not found` : `cannot read ${what} ${path}: ${code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
  const pieces: Buffer[] = [];
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UsageError(`${what} ${path} is ${kindOf(st)}: atlas reads only a regular file`);
    const tooLarge = (): UsageError =>
      new UsageError(`${what} ${path} is larger than ${maxBytes / MIB} MiB: atlas refuses it (no ${what} needs that much; is it the right file?)`);
    if (st.size > maxBytes) throw tooLarge();
    // Read to the end rather than to st.size: a file may say 0 bytes and hold more (/proc), or grow meanwhile.
    let total = 0;
    for (;;) {
      const piece = Buffer.allocUnsafe(READ_BYTES);
      const n = readSync(fd, piece, 0, READ_BYTES, null);
      if (n === 0) break;
      pieces.push(piece.subarray(0, n));
      total += n;
      if (total > maxBytes) throw tooLarge();
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
  const text = Buffer.concat(pieces).toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new UsageError(`${what} ${path} is empty: it must hold a JSON object`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} ${path} is not valid JSON (at ${whereParsingStopped(text, err)})`);
  }
}
