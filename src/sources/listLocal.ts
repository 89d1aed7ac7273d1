/** Local arguments: a named file, a directory's files, or the files a quoted glob matches. */
import { lstatSync, opendirSync, statSync, type BigIntStats, type Dirent } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { canGlobContinue, compileGlob, expandBraces, isGlobArgument, isGlobMatch, splitGlobBase, startGlob, stepGlob, type CompiledGlob, type GlobState } from './glob.js';
import { isHiddenName, selectByName, type ListingRules, type ListingSink, type SkipReason } from './listing.js';

/** What an entry of a directory is, symbolic links resolved one level (never to a directory). */
type Entry = { kind: 'file'; stats: BigIntStats | null } | { kind: 'directory' } | { kind: Exclude<SkipReason, 'hidden' | 'temporary' | 'not-data' | 'directory' | 'same-file'> };

const errnoCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/** One line for a file-system error on something the user named or atlas walks. */
function describeFsError(display: string, err: unknown): UsageError {
  const code = errnoCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new UsageError(`file not found: ${display}`);
  if (code === 'EACCES' || code === 'EPERM') return new UsageError(`cannot read ${display}: permission denied`, { hint: 'check the permissions of the file and of the directories above it' });
  if (code === 'ELOOP') return new UsageError(`cannot read ${display}: too many levels of symbolic links`);
  return new UsageError(`cannot read ${display}: ${(err as Error).message}`, { cause: err });
}

/**
 * stat, or null when the path does not exist (any other error is thrown as one line). The file
 * system is read with synchronous calls: 4x faster than a pool of asynchronous ones on 20,000
 * files (docs/decisions.md), and nothing else runs while the sources are listed.
 */
function statOrNull(path: string, display: string): BigIntStats | null {
  try {
    return statSync(path, { bigint: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw describeFsError(display, err);
  }
}

function lstatOrNull(path: string): BigIntStats | null {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return null;
  }
}

function resolveEntry(path: string, dirent: Dirent): Entry {
  // readdir decodes names as UTF-8; one that is not comes back with U+FFFD and names no file.
  if (dirent.name.includes('\uFFFD') && lstatOrNull(path) === null) return { kind: 'bad-name' };
  if (dirent.isDirectory()) return { kind: 'directory' };
  if (dirent.isFile()) return { kind: 'file', stats: null };
  if (!dirent.isSymbolicLink()) return { kind: 'special' };
  let target: BigIntStats;
  try {
    target = statSync(path, { bigint: true });
  } catch {
    return { kind: 'broken-symlink' };
  }
  if (target.isDirectory()) return { kind: 'symlink-to-directory' };
  return target.isFile() ? { kind: 'file', stats: target } : { kind: 'special' };
}

/**
 * Takes a regular file. One atlas may not read is taken too: it fails as a file of the batch, with
 * its record, and the others are imported (it stopped every file of a nightly batch, every night).
 */
function takeFile(path: string, display: string, stats: BigIntStats | null, sink: ListingSink): void {
  const st = stats ?? statOrNull(path, display);
  if (st === null) return; // gone since the directory was read: nothing left to import
  sink.take({ source: path, displayName: display, fileName: basename(path), sizeBytes: Number(st.size), identity: `${st.dev}:${st.ino}` });
}

/** Applies the name rules to a file found by a walk. */
function considerFile(path: string, display: string, stats: BigIntStats | null, rules: ListingRules, fromGlob: boolean, sink: ListingSink): void {
  const choice = selectByName(basename(path), rules, fromGlob);
  if (choice === 'take') takeFile(path, display, stats, sink);
  else if (choice !== 'ignore') sink.skip(display, choice);
}

/**
 * A directory's entries, read a batch at a time rather than into one array. A subdirectory (`sink`
 * given) removed since its parent was read is passed over, as a file is; one atlas may not read is
 * reported; the directory named as the argument is an error either way.
 */
function* readDirectory(path: string, display: string, sink: ListingSink | null = null): Generator<Dirent> {
  let dir;
  try {
    dir = opendirSync(path);
  } catch (err) {
    const code = errnoCode(err);
    if (sink !== null && (code === 'ENOENT' || code === 'ENOTDIR')) return;
    if (sink !== null && (code === 'EACCES' || code === 'EPERM')) {
      sink.skip(display, 'unreadable-directory');
      return;
    }
    throw describeFsError(display, err);
  }
  try {
    for (let dirent = dir.readSync(); dirent !== null; dirent = dir.readSync()) yield dirent;
  } catch (err) {
    throw describeFsError(display, err);
  } finally {
    dir.closeSync();
  }
}

/** A directory's files (and, when recursive, its subdirectories'), entries streamed rather than read into one array. */
function walkDirectory(path: string, display: string, rules: ListingRules, sink: ListingSink, top = true): void {
  const subdirectories: string[] = [];
  for (const dirent of readDirectory(path, display, top ? null : sink)) {
    const childPath = join(path, dirent.name);
    const childDisplay = join(display, dirent.name);
    if (isHiddenName(dirent.name)) {
      sink.skip(childDisplay, 'hidden');
      continue;
    }
    const entry = resolveEntry(childPath, dirent);
    if (entry.kind === 'directory') {
      if (rules.recursive) subdirectories.push(dirent.name);
      else sink.skip(childDisplay, 'directory');
    } else if (entry.kind === 'file') considerFile(childPath, childDisplay, entry.stats, rules, false, sink);
    else sink.skip(childDisplay, entry.kind);
  }
  // Entered after the loop, so that only one directory handle is open at a time.
  for (const name of subdirectories) walkDirectory(join(path, name), join(display, name), rules, sink, false);
}

/** The files below `path` that a glob matches; `state` is where the glob stands at `path`. */
function walkGlob(path: string, display: string, glob: CompiledGlob, state: GlobState, rules: ListingRules, sink: ListingSink, top = true): void {
  const subdirectories: { name: string; state: GlobState }[] = [];
  for (const dirent of readDirectory(path, display, top ? null : sink)) {
    const next = stepGlob(glob, state, dirent.name);
    if (next.size === 0) continue;
    const childPath = join(path, dirent.name);
    const childDisplay = join(display, dirent.name);
    const entry = resolveEntry(childPath, dirent);
    if (entry.kind === 'directory') {
      if (canGlobContinue(glob, next)) subdirectories.push({ name: dirent.name, state: next });
    } else if (entry.kind === 'symlink-to-directory') {
      if (canGlobContinue(glob, next)) sink.skip(childDisplay, entry.kind);
    } else if (isGlobMatch(glob, next)) {
      if (entry.kind === 'file') considerFile(childPath, childDisplay, entry.stats, rules, true, sink);
      else sink.skip(childDisplay, entry.kind);
    }
  }
  for (const sub of subdirectories) walkGlob(join(path, sub.name), join(display, sub.name), glob, sub.state, rules, sink, false);
}

/** A quoted glob: every brace alternative walked from its literal directory. */
function listGlob(argument: string, cwd: string, rules: ListingRules, sink: ListingSink): void {
  const missing: string[] = [];
  let walked = false;
  for (const alternative of expandBraces(argument)) {
    const { base, rest } = splitGlobBase(alternative);
    const path = resolve(cwd, base === '' ? '.' : base);
    const st = statOrNull(path, base === '' ? '.' : base);
    if (st === null || !st.isDirectory()) {
      if (!missing.includes(base)) missing.push(base);
      continue;
    }
    walked = true;
    const glob = compileGlob(rest);
    walkGlob(path, base, glob, startGlob(glob), rules, sink);
  }
  // A missing directory is a mistake (a typo, an unmounted share), not an empty drop folder.
  if (!walked) {
    throw new UsageError(`no such directory: ${missing.join(', ')} (in the glob ${argument})`, { hint: 'check the path (and that the share is mounted)' });
  }
}

/**
 * Lists one local argument into the sink. A path that exists is taken literally (even if its name
 * holds glob characters, as a shell-expanded name may); one that does not is expanded as a glob
 * if it holds * ? [ or {.
 */
export function listLocalArgument(argument: string, cwd: string, rules: ListingRules, sink: ListingSink): 'file' | 'directory' | 'glob' {
  const path = resolve(cwd, argument);
  const st = statOrNull(path, argument);
  if (st === null) {
    if (isGlobArgument(argument)) {
      listGlob(argument, cwd, rules, sink);
      return 'glob';
    }
    // A shell's expansion (data/*.csv) names what a listing of the directory would leave out, as it would.
    const link = lstatOrNull(path);
    if (link?.isSymbolicLink()) sink.skip(argument, 'broken-symlink');
    else if (argument.includes('\uFFFD')) sink.skip(argument, 'bad-name');
    else throw new UsageError(`file not found: ${argument}`);
    return 'file';
  }
  if (st.isDirectory()) {
    walkDirectory(path, argument, rules, sink);
    return 'directory';
  }
  if (!st.isFile()) sink.skip(argument, 'special');
  else takeFile(path, argument, st, sink);
  return 'file';
}
