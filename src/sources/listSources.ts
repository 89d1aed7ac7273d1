/**
 * Turns the sources a user typed (files, directories, quoted globs, s3:// objects, prefixes and
 * globs, or `-`) into the ordered list of files to import, before anything is imported. Only
 * names and sizes are held, never contents. The rules are in docs/decisions.md.
 */
import type { S3Settings } from '../config.js';
import { UsageError } from '../errors.js';
import { compileNamePattern } from './glob.js';
import { listLocalArgument } from './listLocal.js';
import type { FoundFile, ListedFile, ListingRules, ListingSink, SkippedEntry, SkipReason } from './listing.js';
import { listS3Argument } from './listS3.js';
import { connectS3, S3_LIST_PAGE_SIZE, type S3Connection } from './s3.js';

export type { ListedFile, SkippedEntry, SkipReason } from './listing.js';

/** What listSources needs besides the arguments. */
export interface ListSourcesOptions {
  /** Descend into the subdirectories of a directory, and below an S3 prefix. @default false */
  recursive: boolean;
  /**
   * A glob on base names (no `/`) choosing the files of directories, prefixes and globs instead
   * of the data-file extensions; files named explicitly are never filtered. @default null
   */
  pattern: string | null;
  /** The config file's s3 section (used only for s3:// arguments). */
  s3: S3Settings;
  /** The environment, for S3 settings. */
  env: NodeJS.ProcessEnv;
  /** The directory relative paths are resolved from (the process's working directory, normally). */
  cwd: string;
  /** Keys per ListObjectsV2 request. @default 1000 (S3_LIST_PAGE_SIZE) */
  s3PageSize?: number;
  /** Aborting it (Ctrl-C) ends an S3 listing at once with a CancelledError. */
  signal?: AbortSignal | undefined;
}

/** How an argument was read. */
export type ArgumentKind = 'stdin' | 'file' | 'directory' | 'glob' | 's3-object' | 's3-prefix' | 's3-glob';

/** One argument, as typed, with what it was and how many files it reached. */
export interface ArgumentSummary {
  argument: string;
  kind: ArgumentKind;
  /** Files it reached, before de-duplication across arguments: 0 for a directory, prefix or glob that matched nothing. */
  files: number;
}

/** The outcome of listSources. `files` empty with `stdin` false means "nothing to import" (not an error: the caller decides). */
export interface SourceList {
  /** True when the only argument is `-`: read standard input (`files` is then empty). */
  stdin: boolean;
  /** The files to import, each once, in byte-wise (UTF-8, code point) order of `source`. */
  files: ListedFile[];
  /** What the listings left out, in byte-wise order of `path`. */
  skipped: SkippedEntry[];
  /** The arguments in the order given. */
  arguments: ArgumentSummary[];
}

/**
 * A key whose UTF-16 order (JavaScript's `<`) is the code-point order of `text`, which is the
 * order of its UTF-8 bytes (and `LC_ALL=C sort`): surrogates (D800-DFFF, the halves of the
 * characters above U+FFFF) are moved above E000-FFFF. Most paths have neither and are their own key.
 */
export function codePointKey(text: string): string {
  if (!/[\uD800-\uFFFF]/.test(text)) return text;
  return text.replace(/[\uD800-\uFFFF]/g, (c) => String.fromCharCode(c.charCodeAt(0) + (c >= '\uE000' ? -0x800 : 0x2000)));
}

/** Byte-wise order, never locale order: the same files come in the same order from a terminal and from cron. */
export function compareCodePoints(a: string, b: string): number {
  const x = codePointKey(a);
  const y = codePointKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Collects what the listers find, then de-duplicates and orders it. */
class Collector implements ListingSink {
  argument = '';
  taken = 0;
  private readonly found: { file: ListedFile; identity: string; key: string; seq: number }[] = [];
  private readonly skips = new Map<string, SkippedEntry>();

  take(found: FoundFile): void {
    const file: ListedFile = { source: found.source, displayName: found.displayName, fileName: found.fileName, sizeBytes: found.sizeBytes, argument: this.argument };
    this.found.push({ file, identity: found.identity, key: codePointKey(found.source), seq: this.taken++ });
  }

  skip(path: string, reason: SkipReason, detail: string | null = null): void {
    this.skips.set(`${reason}\0${path}`, { path, reason, detail });
  }

  /**
   * Each file once: the same path from two arguments silently (the first argument keeps it);
   * another name of the same file (a hard or symbolic link) reported as 'same-file', the name
   * first in order being the one taken.
   */
  result(args: ArgumentSummary[]): SourceList {
    this.found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.seq - b.seq));
    const kept = new Map<string, ListedFile>();
    const files: ListedFile[] = [];
    for (const { file, identity } of this.found) {
      const first = kept.get(identity);
      if (first === undefined) {
        kept.set(identity, file);
        files.push(file);
      } else if (first.source !== file.source) this.skip(file.displayName, 'same-file', first.displayName);
    }
    const skipped = [...this.skips.values()].sort((a, b) => compareCodePoints(a.path, b.path) || compareCodePoints(a.reason, b.reason));
    return { stdin: false, files, skipped, arguments: args };
  }
}

function compilePattern(pattern: string | null): ListingRules['pattern'] {
  if (pattern === null) return null;
  if (pattern === '') throw new UsageError('--pattern is empty', { hint: "write e.g. --pattern '*.csv.gz'" });
  if (pattern.includes('/')) {
    throw new UsageError(`--pattern ${JSON.stringify(pattern)} must match file names, not paths`, { hint: "write e.g. --pattern '*.csv.gz'; to choose by path, give a glob as the source: 'dir/**/2026-*/*.csv'" });
  }
  return compileNamePattern(pattern);
}

/**
 * Lists what to import from the arguments, in one pass before anything is imported. Throws a
 * UsageError (one line, exit 2) for a named file or object that does not exist or cannot be
 * read, a glob whose directory does not exist, an S3 bucket that does not exist, or `-` mixed
 * with other sources; S3 connection and credential failures are AtlasErrors (exit 1). A
 * directory, prefix or glob that matches nothing is not an error: see `arguments[].files`.
 */
export async function listSources(args: readonly string[], options: ListSourcesOptions): Promise<SourceList> {
  if (args.length === 0) throw new UsageError('no source given', { hint: 'name files, directories, quoted globs or s3:// prefixes, or - for standard input' });
  if (args.includes('-')) {
    if (args.length > 1) throw new UsageError('- (standard input) cannot be combined with other sources', { hint: 'import standard input in a command of its own' });
    return { stdin: true, files: [], skipped: [], arguments: [{ argument: '-', kind: 'stdin', files: 1 }] };
  }
  const rules: ListingRules = { recursive: options.recursive, pattern: compilePattern(options.pattern) };
  const collector = new Collector();
  const summaries: ArgumentSummary[] = [];
  let s3: S3Connection | null = null;
  try {
    for (const argument of args) {
      collector.argument = argument;
      const before = collector.taken;
      let kind: ArgumentKind;
      if (argument.startsWith('s3://')) {
        s3 ??= { ...(await connectS3(options.s3, options.env)), signal: options.signal };
        kind = await listS3Argument(argument, rules, s3, collector, { pageSize: options.s3PageSize ?? S3_LIST_PAGE_SIZE });
      } else {
        kind = listLocalArgument(argument, options.cwd, rules, collector);
      }
      summaries.push({ argument, kind, files: collector.taken - before });
    }
  } finally {
    s3?.client.destroy();
  }
  return collector.result(summaries);
}
