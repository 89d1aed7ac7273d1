/** The options and results of an import (shared by the entry points, the run, and the CLI). */
import type { InputOptions } from './input.js';
import type { ImportPlan, LeftOutColumn } from './plan.js';
import type { Strategy } from '../transform/mapping.js';
import type { DatabaseListener } from './database.js';
import type { LockWait } from '../db/lockWaits.js';
import type { ImportMode } from './upsert.js';
import type { PredictedChanges } from './predictChanges.js';

/** What `atlas import` was asked to do. */
export interface ImportOptions extends Partial<Omit<InputOptions, 'source' | 'nullValues'>> {
  /** A file path, `-` for stdin, or `s3://bucket/key`. */
  source: string;
  /** Target table; from the mapping, else derived from the file name, when null. */
  table: string | null;
  /** Forces a strategy (fails with a reason when it cannot apply). @default null (chosen automatically) */
  strategy?: Strategy | null;
  /** Path of a mapping file (JSON). @default null */
  mappingFile?: string | null;
  /** `N` errors allowed, or `P%` of data rows; past it nothing is written. @default null (no limit) */
  maxErrors?: string | null;
  /** Any mapping error fails the import. @default false */
  strict?: boolean;
  /** Skip rows equal to rows already in the table or earlier in the file. @default true */
  dedupe?: boolean;
  /** Uniqueness columns for the row-level duplicate check. @default null (every user column of the file) */
  key?: string[] | null;
  /** Import a file whose bytes were already imported into this table (row-level checks still apply). @default false */
  allowSameFile?: boolean;
  /** Bypass every duplicate check. @default false */
  force?: boolean;
  /**
   * append: add the rows; upsert: update the rows whose `key` matches, insert the others;
   * replace: the table's rows become the file's (core/upsert.ts). @default 'append'
   */
  mode?: 'append' | 'upsert' | 'replace' | null;
  /** Replace the rows of this earlier import (id or 8+ character prefix) with the file's. @default null */
  replaceImport?: string | null;
  /** Values imported as NULL in every column (`--null-value`); replaces the config's null_values. @default null (the config's) */
  nullValues?: string[] | null;
  /** Aborts the import (Ctrl-C): the transaction is rolled back and the record marked failed. */
  signal?: AbortSignal | undefined;
  /** Phase changes, for progress display. The import waits for a returned promise (a debugging hook pauses here). */
  onPhase?: ((phase: ImportPhase) => void | Promise<void>) | undefined;
  /** Called as rows stream into staging (about once per megabyte), for progress display; a returned promise is awaited. */
  onProgress?: ((progress: ImportProgress) => void | Promise<void>) | undefined;
  /** Called as the INSERT starts, which reports nothing until it ends: what it inserts and the rate to expect, for an estimate of its progress. */
  onInsert?: ((estimate: InsertEstimate) => void) | undefined;
  onDatabase?: DatabaseListener | undefined;
  /** The import waits for a lock another session holds: called when the sessions it waits for change, so that a log says so while it lasts. */
  onLockWait?: ((wait: LockWait) => void) | undefined;
  /** How often a running import is looked at for lock waits, in milliseconds. @default 5000 */
  lockWaitPollMs?: number;
}

/** How far the reading has come. */
export interface ImportProgress {
  /** Bytes of the source read so far (as given: compressed bytes for .gz). */
  bytesRead: number;
  /** The source's size when known (file size, S3 object size), else null. */
  totalBytes: number | null;
  rows: number;
}

/** What the INSERT is about to do, and how fast such INSERTs went: a progress display estimates from it (PostgreSQL reports no progress of an INSERT). */
export interface InsertEstimate {
  /** Rows it inserts, at most (rows with a mapping error, and duplicates of a new table's rows, are counted in until they are known). */
  rows: number;
  /** Rows per second to expect, or null when nothing was measured. */
  rowsPerSecond: number | null;
  /** Where the rate was measured: the INSERTs of earlier imports into this database, or this import's staging. */
  basis: 'earlier imports' | 'staging';
}

export type ImportPhase = 'reading' | 'staging' | 'checking types' | 'checking duplicates' | 'inserting' | 'committing';

/** What an import did; the same fields as its history record. */
export interface ImportResult {
  import_id: string;
  table_name: string;
  schema: string;
  status: 'success' | 'partial';
  import_strategy: Strategy;
  file_name: string | null;
  file_hash: string;
  file_size_bytes: number;
  total_rows_in_file: number;
  rows_inserted: number;
  rows_skipped: number;
  duplicates_found: number;
  mapping_errors_count: number;
  /** How the import wrote its rows (core/upsert.ts). */
  import_mode: ImportMode;
  /** Rows already in the table that it updated (upsert). */
  rows_updated: number;
  /** Records whose key matched a row holding the same values (upsert): counted, not rewritten. */
  rows_unchanged: number;
  /** Rows it deleted (replace, --replace-import), kept as pre-images. */
  rows_deleted: number;
  /** The import whose rows it replaced (--replace-import), or null. */
  replaces_import_id: string | null;
  duration_seconds: number;
  parsing_time_seconds: number;
  duplicate_check_time_seconds: number | null;
  insert_time_seconds: number;
  warnings: string[];
  columns: Array<{ source: string; target: string; type: string }>;
  /** Columns of the file not imported (a mapping's "ignore": true, or an explicit adapt_data into a table without them). */
  columns_left_out: LeftOutColumn[];
  /** Values stored as NULL because they were null values (--null-value), by target column. */
  null_values_applied: Record<string, number>;
}

/** What `--dry-run` reports: the plan and the first problems, nothing written. */
export interface DryRunResult {
  dry_run: true;
  table_name: string;
  schema: string;
  import_strategy: Strategy;
  total_rows_in_file: number;
  mapping_errors_count: number;
  would_fail: boolean;
  /** Why the import would fail (its mapping errors, or a unique index of the table it would break), or null. */
  failure: string | null;
  mapping_config: ImportPlan['mapping'];
  columns_left_out: LeftOutColumn[];
  columns: Array<{ source: string; target: string; type: string; new: boolean; notes: string[] }>;
  first_errors: Array<Record<string, unknown>>;
  warnings: string[];
  /** How the import would write its rows. */
  import_mode: ImportMode;
  /** --replace-import: the import whose rows it would replace, or null. */
  replaces_import_id: string | null;
  /**
   * The rows the import would insert, update, find unchanged and delete, the duplicates it would
   * skip and an upsert's key conflicts, counted against the table as it is; null when the import
   * would fail.
   */
  predicted: PredictedChanges | null;
  /**
   * The earlier import of the same bytes into this table: the import would be refused as already
   * imported (unless --allow-same-file or --force). Null when it would not be.
   */
  already_imported_by: { import_id: string; import_timestamp: string } | null;
}

/** Options inside the core: a real import, or a dry run that writes nothing. */
export type RunOptions = ImportOptions & { dryRun: boolean };

/** How many mapping errors --dry-run shows. */
export const DRY_RUN_ERRORS_SHOWN = 20;


/** Milliseconds to seconds, rounded to the millisecond (the history columns hold 3 decimals). */
export const msToSeconds = (ms: number): number => Math.round(ms) / 1000;
