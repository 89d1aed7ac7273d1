/**
 * What a directory, S3 prefix or glob listing takes and what it skips (by name), and the shapes
 * the listers report in. The rules are documented in docs/decisions.md.
 */
import { FORMAT_EXTENSIONS } from '../formats/shared/index.js';

/** Why a listing left an entry out. */
export type SkipReason =
  /** Its name (or a directory above it) starts with a dot: .DS_Store, .git/, atlas's own .atlas* files. */
  | 'hidden'
  /** A file still being written or a lock file: *.part, *.tmp, ~$book.xlsx, backup~. */
  | 'temporary'
  /** An extension atlas does not read as data (README.md, notes.txt); --pattern takes it. */
  | 'not-data'
  /** A subdirectory (or S3 common prefix) of a listing that is not recursive. */
  | 'directory'
  /** A symbolic link to a directory: never followed inside a listing (no loops, no leaving the tree). */
  | 'symlink-to-directory'
  /** A symbolic link whose target does not exist (or loops). */
  | 'broken-symlink'
  /** A FIFO, socket or device: never opened (a FIFO would block the import). */
  | 'special'
  /** The same file (same device and inode) as one taken under another name; `detail` names it. */
  | 'same-file'
  /** A name that is not valid UTF-8: it cannot be opened through a string path. */
  | 'bad-name'
  /** A subdirectory atlas may not read (its files cannot be listed). */
  | 'unreadable-directory';

/** One entry a listing left out. */
export interface SkippedEntry {
  /** The entry as the user would recognise it: the argument joined with the path below it, or its s3:// URL. */
  path: string;
  reason: SkipReason;
  /** For 'same-file': the display name of the file taken instead; else null. */
  detail: string | null;
}

/** One file to import. */
export interface ListedFile {
  /** What to open: an absolute path, or s3://bucket/key. */
  source: string;
  /** The file as the user would recognise it: the path as typed (joined with the path inside a directory), or the s3:// URL. */
  displayName: string;
  /** The base name: what the table is named after and the format is detected from. */
  fileName: string;
  /** Size in bytes from the listing (stat, ListObjectsV2 or HeadObject), when known. */
  sizeBytes: number | null;
  /** The argument that reached it (the first one, when several did). */
  argument: string;
}

/** A file found by a lister (the sink adds the argument), with what tells two names of one file apart. */
export interface FoundFile extends Omit<ListedFile, 'argument'> {
  /** Same value for the same file: `dev:ino` for a local file, the URL for an S3 object. */
  identity: string;
}

/** Where listers put what they find. */
export interface ListingSink {
  take(file: FoundFile): void;
  skip(path: string, reason: SkipReason, detail?: string | null): void;
}

/** How listings choose files, from the caller's options. */
export interface ListingRules {
  recursive: boolean;
  /** The --pattern matcher on base names, or null. */
  pattern: ((name: string) => boolean) | null;
}

/**
 * Extensions a directory or prefix listing takes without --pattern, each also gzipped (.gz,
 * .gzip): every format's but .txt, which a drop folder's README.txt or notes.txt has. A .zip is
 * taken too: the importer reads the one data file in it.
 */
export const DATA_EXTENSIONS: readonly string[] = Object.keys(FORMAT_EXTENSIONS).filter((ext) => ext !== 'txt');

/** Suffixes of files being written by downloaders and copy tools, and editor leftovers. */
const TEMPORARY_SUFFIXES = ['.part', '.partial', '.tmp', '.temp', '.crdownload', '.download', '.filepart', '.swp', '~'];

export function isHiddenName(name: string): boolean {
  return name.startsWith('.');
}

export function isTemporaryName(name: string): boolean {
  const lower = name.toLowerCase();
  // ~$ starts the lock file Excel and Word keep beside an open document.
  return lower.startsWith('~$') || TEMPORARY_SUFFIXES.some((s) => lower.endsWith(s));
}

export function isDataFileName(name: string): boolean {
  const lower = name.toLowerCase();
  if (lower.endsWith('.zip')) return lower.length > '.zip'.length;
  const base = lower.replace(/\.(gz|gzip)$/, '');
  const dot = base.lastIndexOf('.');
  return dot > 0 && DATA_EXTENSIONS.includes(base.slice(dot + 1));
}

/**
 * What a listing does with a file of this name: take it, leave it out without a word (it does not
 * match --pattern), or skip it for a reason worth reporting. A glob has already matched the name
 * (its own dot rule decides hidden names) and chose it, so only temporary files and --pattern
 * apply to it.
 */
export function selectByName(name: string, rules: ListingRules, fromGlob: boolean): 'take' | 'ignore' | 'hidden' | 'temporary' | 'not-data' {
  if (!fromGlob && isHiddenName(name)) return 'hidden';
  if (isTemporaryName(name)) return 'temporary';
  if (rules.pattern !== null) return rules.pattern(name) ? 'take' : 'ignore';
  return fromGlob || isDataFileName(name) ? 'take' : 'not-data';
}
