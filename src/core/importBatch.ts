/**
 * `atlas import` of several files (issue 21): list every source first, then import each file as
 * its own import (its own transaction and history record, exactly as a single-file import) with
 * one setup; or, with `atomic`, all of them in one transaction.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Settings } from '../config.js';
import { BEGIN, lockForTransaction, openClient, tableLockKey, type Client, type DatabaseTarget } from '../db/connection.js';
import { withLockWatch, type LockWait } from '../db/lockWaits.js';
import { getServerVersion } from '../db/tables.js';
import { AlreadyImportedError, AtlasError, describeError, ImportFailedError, UsageError } from '../errors.js';
import { isGlobArgument } from '../sources/glob.js';
import { listSources, type ListedFile, type SkippedEntry } from '../sources/listSources.js';
import { withDatabase, withDatabaseRolledBack } from './database.js';
import { findEarlierImport, hashLocalFile } from './fileDuplicates.js';
import { dryRunFileInSession, importFileInSession } from './import.js';
import { atomicLocksHint, endAtomic } from './endAtomicBatch.js';
import { tableNamerFor } from './prepareImport.js';
import type { ImportSession } from './importSession.js';
import type { DryRunResult, ImportOptions, ImportResult } from './importTypes.js';

/** What a file of a batch reports as it runs (the single-file import's callbacks, for that file). */
export type FileHooks = Pick<ImportOptions, 'onPhase' | 'onProgress' | 'onInsert' | 'onLockWait'>;

/** What a batch was asked to do: the options of every file's import, and how to run them. */
export interface BatchOptions extends Omit<ImportOptions, 'source' | 'onPhase' | 'onProgress' | 'onInsert' | 'onLockWait'> {
  /** The batch's own waits for locks (an --atomic batch's tables, taken before its first file); each file's are its hooks'. */
  onLockWait?: ((wait: LockWait) => void) | undefined;
  /** Files, directories, quoted globs, s3:// objects and prefixes, as typed. */
  sources: string[];
  /** Descend into subdirectories and below S3 prefixes. @default false */
  recursive: boolean;
  /** A glob on base names choosing the files of directories, prefixes and globs. @default null (data-file extensions) */
  pattern: string | null;
  /** All files in one transaction: every file commits, or none does. @default false */
  atomic: boolean;
  /** Stop at the first failed file (files committed stay committed). @default false (continue) */
  stopOnError: boolean;
  /** Keys per S3 listing request (tests list several pages of a few keys). @default 1000 */
  s3PageSize?: number;
  /**
   * A file starts (`index` counts from 0); returns what that file's import reports to. Two files
   * may run at once (see importBatch), so each file's events go to the hooks of its own start.
   */
  onFileStart?: ((file: ListedFile, index: number, count: number) => FileHooks | void) | undefined;
  /** A file is done (imported, skipped or failed); called in the files' order. */
  onFileDone?: ((outcome: BatchFileOutcome, index: number, count: number) => void) | undefined;
}

export type BatchFileStatus = 'success' | 'partial' | 'failed' | 'skipped';

/** One file of a batch, as it ended. */
export interface BatchFileOutcome {
  /** The file as the user would recognise it (path as typed, or s3:// URL). */
  file: string;
  status: BatchFileStatus;
  /** The table it went into (or was to go into). */
  table_name: string | null;
  /** This file's import (null: skipped, or refused before it was recorded). */
  import_id: string | null;
  rows_inserted: number;
  duration_seconds: number;
  /** The single-file result (success, partial), else null. */
  result: ImportResult | null;
  /** Why it failed or was skipped (null for success and partial). */
  error: { message: string; hint: string | null; warnings?: readonly string[] } | null;
  /** Skipped: the earlier import of the same bytes into the same table. */
  already_imported_by: string | null;
}

/** How the files of a batch ended: imported + partial + skipped + failed + not_run = files. */
export interface BatchSummary {
  files: number;
  /** Imported whole (success). */
  imported: number;
  skipped: number;
  partial: number;
  failed: number;
  /** Files never started (--stop-on-error, an atomic batch's failure, Ctrl-C). */
  not_run: number;
  rows_inserted: number;
  duration_seconds: number;
}

export interface BatchResult {
  batch_id: string;
  atomic: boolean;
  files: BatchFileOutcome[];
  /** Files listed but not started, in order. */
  not_run: string[];
  /** What the listing left out (not data files, unreadable, another name of a file already listed). */
  listing_skipped: SkippedEntry[];
  summary: BatchSummary;
  /**
   * Tables that files of different names went into because their names make the same table name
   * (Report.CSV, report.csv), without --table or a mapping naming it: said, since that is easy to miss.
   */
  tables_named_alike: Array<{ table: string; files: string[] }>;
}

/** One line of `--dry-run` of a batch: where each file would go, and what its import would do. */
export interface BatchPlanFile {
  file: string;
  table_name: string;
  /** `fail`: the file cannot be read, or its import would fail on its mapping errors (`error` says why). */
  action: 'import' | 'skip' | 'fail';
  /** Skipped: the earlier import of the same bytes into the same table. */
  already_imported_by: string | null;
  /** The file's dry run (null when skipped before reading it, or when it could not be read). */
  dry_run: DryRunResult | null;
  error: { message: string; hint: string | null; warnings?: readonly string[] } | null;
}

export interface BatchPlan {
  dry_run: true;
  files: BatchPlanFile[];
  listing_skipped: SkippedEntry[];
  /** The counts the text's last line says; `shared_tables`: tables several files to import go to (each planned against the table as it is now). */
  summary: { files: number; to_import: number; to_skip: number; would_fail: number; shared_tables: string[] };
}

/** A plan with its summary. */
function withSummary(files: BatchPlanFile[], skipped: SkippedEntry[]): BatchPlan {
  const n = (a: BatchPlanFile['action']): number => files.filter((f) => f.action === a).length;
  const toImport = files.filter((f) => f.action === 'import').map((f) => f.table_name);
  const shared = [...new Set(toImport.filter((t, i) => toImport.indexOf(t) !== i))];
  return { dry_run: true, files, listing_skipped: skipped, summary: { files: files.length, to_import: n('import'), to_skip: n('skip'), would_fail: n('fail'), shared_tables: shared } };
}

/**
 * Whether a command line is a batch: several sources, a directory, a glob or an S3 prefix, or a
 * batch flag. One file, one S3 object or `-` stays a single-file import, with its exit codes (4
 * included) and output; a name that does not exist is left to it to report.
 */
export function isBatchInvocation(sources: readonly string[], flags: { recursive?: boolean; pattern?: string; atomic?: boolean; stopOnError?: boolean }): boolean {
  if (sources.length !== 1 || flags.recursive === true || flags.pattern !== undefined || flags.atomic === true || flags.stopOnError === true) return true;
  const source = sources[0]!;
  if (source === '-') return false;
  if (source.startsWith('s3://')) return source.endsWith('/') || isGlobArgument(source);
  try {
    return statSync(source).isDirectory();
  } catch {
    return isGlobArgument(source);
  }
}

/** An unescaped `*` or `?`: a glob for certain, not a file name that happens to hold `[` or `{`. */
const WILDCARD = /(?:^|[^\\])(?:\\\\)*[*?]/;

/** Lists what the sources reach, refusing standard input (a batch reads files). */
async function listBatch(settings: Settings, options: Pick<BatchOptions, 'sources' | 'recursive' | 'pattern' | 's3PageSize' | 'signal'>): Promise<{ files: ListedFile[]; skipped: SkippedEntry[] }> {
  const list = await listSources(options.sources, {
    recursive: options.recursive,
    pattern: options.pattern,
    s3: settings.s3,
    env: process.env,
    cwd: process.cwd(),
    signal: options.signal,
    ...(options.s3PageSize !== undefined ? { s3PageSize: options.s3PageSize } : {}),
  });
  if (list.stdin) throw new UsageError('- (standard input) cannot be imported with --recursive, --pattern, --atomic or --stop-on-error', { hint: 'import standard input in a command of its own' });
  // A lone name holding only [ or { as magic that matches nothing is most likely a file that is not
  // there, said as a single import says it; one with * or ? is a drop folder's glob on an empty night
  // (an S3 prefix, ending in /, too).
  const only = options.sources.length === 1 ? options.sources[0]! : null;
  if (only !== null && list.files.length === 0 && !WILDCARD.test(only)) {
    if (only.startsWith('s3://') && !only.endsWith('/')) throw new UsageError(`${only}: no such file in the bucket`, { hint: 'no object matches this key or glob; keys are case-sensitive' });
    if (!only.startsWith('s3://') && !existsSync(only)) throw new UsageError(`file not found: ${only}`, { hint: 'no file matches this name or glob' });
  }
  return { files: list.files, skipped: list.skipped };
}

/**
 * `--dry-run` of a batch: each file's own dry run, in turn, on one connection, in a transaction
 * rolled back at the end (each file's in a savepoint rolled back, so that a file does not see the
 * tables an earlier one would create); a local file already imported into its table is skipped
 * without reading it. Writes nothing, not even atlas's schema on a first run.
 */
export async function planBatch(settings: Settings, options: BatchOptions): Promise<BatchPlan> {
  const { files, skipped } = await listBatch(settings, options);
  const tableFor = tableNamerFor(settings, options);
  if (files.length === 0) return withSummary([], skipped);
  return withDatabaseRolledBack(settings, options, async (client, url, target) => {
    const session = await openSession(client, url, target, client, randomUUID(), false);
    const planned: BatchPlanFile[] = [];
    for (const file of files) {
      if (options.signal?.aborted) break;
      const checks = !options.force && !options.allowSameFile;
      const named = tableFor(file.fileName);
      if (checks && !file.source.startsWith('s3://') && file.sizeBytes !== null) {
        const earlier = await findEarlierImport(client, settings.schema, named, { sizeBytes: file.sizeBytes, hash: () => hashLocalFile(file.source) }, [], options);
        if (earlier) {
          planned.push({ file: file.displayName, table_name: named, action: 'skip', already_imported_by: earlier.import_id, dry_run: null, error: null });
          continue;
        }
      }
      const hooks = options.onFileStart?.(file, planned.length, files.length);
      planned.push(await planOne(settings, batchFileOptions(options, file, hooks), session, file, named));
    }
    return withSummary(planned, skipped);
  });
}

/** One file's dry run as a line of the plan. */
async function planOne(settings: Settings, options: ImportOptions, session: ImportSession, file: ListedFile, named: string): Promise<BatchPlanFile> {
  const base = { file: file.displayName, already_imported_by: null };
  try {
    const r = await dryRunFileInSession(settings, options, session);
    if (r.already_imported_by !== null) return { ...base, table_name: r.table_name, action: 'skip', already_imported_by: r.already_imported_by.import_id, dry_run: r, error: null };
    return { ...base, table_name: r.table_name, action: r.would_fail ? 'fail' : 'import', dry_run: r, error: r.failure === null ? null : { message: r.failure, hint: null } };
  } catch (err) {
    return { ...base, table_name: named, action: 'fail', dry_run: null, error: { message: describeError(err), hint: err instanceof AtlasError ? err.hint : null } };
  }
}

/** What the files of a batch share, on the batch's connection. */
async function openSession(client: Client, url: string, target: DatabaseTarget, recorder: Client, batchId: string, atomic: boolean): Promise<ImportSession> {
  // The server was reached once, before any file began: no file's duration has it to subtract.
  const shared = { ...target, embedded: target.embedded === null ? null : { ...target.embedded, seconds: 0 } };
  return { client, url, target: shared, recorder, batchId, atomic, serverVersion: await getServerVersion(client), reuse: { tempBuffersFixed: false }, turn: null };
}

/**
 * An atomic batch takes the lock of every table its files go into before it writes anything, in
 * one order: else two overlapping batches deadlocked, one holding a table's lock and waiting for
 * import_history, which the other's new table's foreign key to it locks until that batch commits.
 */
async function lockTablesFirst(client: Client, url: string, schema: string, tables: readonly string[], options: BatchOptions): Promise<void> {
  const keys = [...new Set(tables.map((t) => tableLockKey(schema, t)))].sort();
  await withLockWatch(client, url, options, async () => {
    for (const key of keys) await lockForTransaction(client, key);
  });
}

/** A file's import options: the batch's, without what only the batch reads, with the file's own hooks. */
function batchFileOptions(options: BatchOptions, file: ListedFile, hooks: FileHooks | void = undefined): ImportOptions {
  const { sources: _s, recursive: _r, pattern: _p, atomic: _a, stopOnError: _e, onFileStart: _fs, onFileDone: _fd, s3PageSize: _ps, onLockWait: _lw, ...each } = options;
  return { ...each, ...(hooks ?? {}), source: file.source };
}

/**
 * Imports every file the sources reach, in order of path. A file already imported into its table
 * is skipped (not an error), so the same command run again imports only what is missing. Never
 * throws for a file's failure: it is in the result (the caller maps it to the exit code).
 */
export async function importBatch(settings: Settings, options: BatchOptions): Promise<BatchResult> {
  const started = performance.now();
  const { files, skipped } = await listBatch(settings, options);
  // A mapping file that cannot be read fails the batch here, once, rather than every file alike.
  const tableFor = tableNamerFor(settings, options);
  const batchId = randomUUID();
  let outcomes: BatchFileOutcome[] = [];
  if (files.length > 0) {
    await withDatabase(settings, options, async (client, url, target) => {
      // An atomic batch writes its records in its own transaction: creating a table with its foreign
      // key to import_history locks that table against other writers until the batch commits.
      const recorder = options.atomic ? client : await openClient(url, { signal: options.signal });
      try {
        const session = await openSession(client, url, target, recorder, batchId, options.atomic);
        if (options.atomic) {
          await client.query(BEGIN);
          await lockTablesFirst(client, url, settings.schema, files.map((f) => tableFor(f.fileName)), options);
          outcomes = await runInTurn(settings, options, [session], files, tableFor);
          await endAtomic(client, settings.schema, batchId, outcomes, options, files.length);
        } else if (options.stopOnError || files.length < 2) {
          outcomes = await runInTurn(settings, options, [session], files, tableFor);
        } else {
          const second = await openClient(url, { signal: options.signal });
          try {
            const lanes = [session, await openSession(second, url, target, recorder, batchId, false)];
            outcomes = await runInTurn(settings, options, lanes, files, tableFor);
          } finally {
            await second.end().catch(() => undefined);
          }
        }
      } finally {
        if (recorder !== client) await recorder.end().catch(() => undefined);
      }
    });
  }
  const notRun = files.slice(outcomes.length).map((f) => f.displayName);
  const alike = options.table == null && options.mappingFile == null ? tablesNamedAlike(outcomes) : [];
  return { batch_id: batchId, atomic: options.atomic, files: outcomes, not_run: notRun, listing_skipped: skipped, summary: summarize(outcomes, notRun.length, files.length, started), tables_named_alike: alike };
}

/**
 * Runs the files on the sessions given, each session (connection) one file at a time. With two,
 * a file reads and stages its rows while the one before it writes and commits: a file waits for
 * the one before it to end before it takes its table's lock (ImportSession.turn), so files
 * still plan, check duplicates, insert and commit one at a time in the batch's order, and each
 * outcome is reported in that order. Records are written in that order too: their
 * import_timestamp orders a batch's imports (history --batch, undo --batch newest first). Stops
 * taking files at the first failure when the batch stops on one (atomic or --stop-on-error, run
 * on one session), or when cancelled. Returns the outcomes of the files run, a prefix of `files`.
 */
async function runInTurn(settings: Settings, options: BatchOptions, sessions: ImportSession[], files: ListedFile[], tableFor: (fileName: string) => string): Promise<BatchFileOutcome[]> {
  const outcomes: BatchFileOutcome[] = [];
  const ended: Array<Promise<void>> = [];
  const recorded: Array<Promise<void>> = [];
  let next = 0;
  let stopped = false;
  const lane = async (session: ImportSession): Promise<void> => {
    while (!stopped && next < files.length && options.signal?.aborted !== true) {
      const index = next++;
      const file = files[index]!;
      const before = ended[index - 1] ?? Promise.resolve();
      const recordedBefore = recorded[index - 1] ?? Promise.resolve();
      let end!: () => void;
      let record!: () => void;
      ended[index] = new Promise<void>((resolve) => (end = resolve));
      recorded[index] = new Promise<void>((resolve) => (record = resolve));
      const hooks = options.onFileStart?.(file, index, files.length);
      const turn = { beforeRecord: () => recordedBefore, recorded: record, beforeLock: () => before };
      const outcome = await importOne(settings, options, { ...session, turn }, file, tableFor, hooks);
      record(); // a file that failed before its record was written
      // Reported in order: after the file before it.
      await before;
      outcomes[index] = outcome;
      if (!options.atomic) options.onFileDone?.(outcome, index, files.length);
      if (outcome.status === 'failed' && (options.stopOnError || options.atomic)) stopped = true;
      end();
    }
  };
  await Promise.all(sessions.map(lane));
  return outcomes;
}

/** One file as its own import; its failure becomes its outcome. */
async function importOne(settings: Settings, options: BatchOptions, session: ImportSession, file: ListedFile, tableFor: (fileName: string) => string, hooks: FileHooks | void): Promise<BatchFileOutcome> {
  const begun = performance.now();
  const elapsed = (): number => Math.round(performance.now() - begun) / 1000;
  try {
    const result = await importFileInSession(settings, batchFileOptions(options, file, hooks), session);
    return { file: file.displayName, status: result.status, table_name: result.table_name, import_id: result.import_id, rows_inserted: result.rows_inserted, duration_seconds: result.duration_seconds, result, error: null, already_imported_by: null };
  } catch (err) {
    const base = { file: file.displayName, rows_inserted: 0, duration_seconds: elapsed(), result: null };
    if (err instanceof AlreadyImportedError) {
      return { ...base, status: 'skipped', table_name: err.tableName, import_id: null, error: { message: err.message, hint: null }, already_imported_by: err.previousImportId };
    }
    const importId = err instanceof ImportFailedError ? err.importId : null;
    const hint = (options.atomic ? atomicLocksHint(err) : null) ?? (err instanceof AtlasError ? err.hint : null);
    const warnings = err instanceof ImportFailedError && err.warnings.length > 0 ? { warnings: err.warnings } : {};
    return { ...base, status: 'failed', table_name: tableFor(file.fileName), import_id: importId, error: { message: describeError(err), hint, ...warnings }, already_imported_by: null };
  }
}

/** Tables that two or more files of different names went into (success or partial). */
function tablesNamedAlike(outcomes: readonly BatchFileOutcome[]): Array<{ table: string; files: string[] }> {
  const byTable = new Map<string, { files: Set<string>; names: Set<string> }>();
  for (const o of outcomes) {
    if ((o.status !== 'success' && o.status !== 'partial') || o.table_name === null) continue;
    const seen = byTable.get(o.table_name) ?? { files: new Set<string>(), names: new Set<string>() };
    seen.files.add(o.file);
    seen.names.add(basename(o.file));
    byTable.set(o.table_name, seen);
  }
  // Files of one name in several folders (2024/sales.csv, 2025/sales.csv) are one table by design, not named alike.
  return [...byTable].filter(([, seen]) => seen.names.size > 1).map(([table, seen]) => ({ table, files: [...seen.files] }));
}

function summarize(outcomes: BatchFileOutcome[], notRun: number, files: number, started: number): BatchSummary {
  const count = (s: BatchFileStatus): number => outcomes.filter((o) => o.status === s).length;
  return {
    files,
    imported: count('success'),
    skipped: count('skipped'),
    partial: count('partial'),
    failed: count('failed'),
    not_run: notRun,
    rows_inserted: outcomes.reduce((n, o) => n + o.rows_inserted, 0),
    duration_seconds: Math.round(performance.now() - started) / 1000,
  };
}
