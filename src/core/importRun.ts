/**
 * What the phases of one import share (core/runImport.ts runs them): the run's context, what each
 * phase hands to the next, and the small decisions several phases make alike (whether rows are
 * checked, the duplicate check's key).
 */
import type { Client } from '../db/connection.js';
import type { StageResult } from '../db/staging/index.js';
import type { ExistingTable } from '../db/tables.js';
import { AlreadyImportedError, AtlasError, ImportFailedError } from '../errors.js';
import type { ColumnType } from '../transform/infer.js';
import type { EarlierImport } from './fileDuplicates.js';
import type { ImportPlan } from './plan.js';
import type { ConvertedRows } from './sql/insertRows.js';
import { tableColumnOrder, type TableColumn } from './sql/rowHash.js';
import { isoTime } from '../transform/time.js';
import type { ImportMode, KeyColumn, UpsertCounts } from './upsert.js';
import type { RunOptions } from './importTypes.js';
import type { Prepared } from './prepareImport.js';
import type { ImportTrace } from './importTrace.js';
import type { SessionReuse } from './importSession.js';

/** The refusal of a file whose bytes were already imported into the table (exit 4, no record). */
export function alreadyImported(tableName: string, earlier: EarlierImport): AlreadyImportedError {
  return new AlreadyImportedError(
    { importId: earlier.import_id, importTimestamp: isoTime(earlier.import_timestamp)!, tableName },
    earlier.status === 'partial'
      ? `that import was partial: its mapping errors kept rows out (atlas errors ${earlier.import_id}); to load the file again in its place with other options, add --replace-import ${earlier.import_id}`
      : 'nothing to do; to load it again pass --allow-same-file (rows are still checked for duplicates) or --force',
  );
}

/**
 * Thrown once the import that stopped on its mapping errors (past the budget, or no row left to
 * insert) has committed the errors and the failed record: no data and no DDL.
 */
export class FailedOnErrorsError extends ImportFailedError {}

export interface RunContext {
  importId: string;
  tableName: string;
  prepared: Prepared;
  /** What is known so far, kept up to date here for the record of a failure; its clock gives the duration. */
  trace: ImportTrace;
  serverVersion: number;
  url: string;
  /** How the import writes its rows (core/upsert.ts). */
  mode: ImportMode;
  /** --replace-import: the full id of the import whose rows this one replaces. */
  replaces: string | null;
  /** What an earlier import on the same connection learnt (a batch's session), or a fresh record. */
  reuse: SessionReuse;
  /** A batch's turn: awaited before the table's lock is taken (ImportSession.turn). */
  waitTurn: (() => Promise<void>) | null;
}

/** The import stopped on its mapping errors: its failed record and the errors are written, no data; the caller commits them. */
export interface StoppedOnErrors {
  stopped: true;
  message: string;
}

/** What every phase of one import reads: the connection, the settings, the options, and the warnings collected so far. */
export interface ImportRun extends RunContext {
  client: Client;
  schema: string;
  options: RunOptions;
  warnings: string[];
  /** The TEMP staging table. */
  stage: string;
  /**
   * The id of the subtransaction that writes the rows when they are written under a savepoint the
   * staging table is not (savepointXid): their xmin, which the record keeps as import_xmin and a
   * rewrite as rehash_xmin. Null: the rows' xmin is the staging table's (completeImport).
   */
  writeXid: string | null;
  hasPgInputIsValid: boolean;
  checkCancelled(): void;
}

/** The rows staged, and what staging learnt of them. */
export interface Staging {
  staged: StageResult;
  lateArrays: Record<string, unknown>;
  parsingSeconds: number;
  nullValuesApplied: Record<string, number>;
  /** The session's TimeZone, in which `_imported_at` is written (metadata.time_zone). */
  timeZone: string;
}

/** The types and the plan against the existing table, if any. */
export interface Decision {
  decided: ColumnType[];
  existing: ExistingTable | null;
  plan: ImportPlan;
  errorCells: ErrorCells;
  /** `--mode upsert`: the key the file's rows are matched on. */
  upsertKey: KeyColumn[] | null;
  /** A dry run's file already imported into this table (a real import stops there instead). */
  alreadyImportedBy: { import_id: string; import_timestamp: Date } | null;
  /** The duplicate check's converted rows, made before the file's turn in a batch (convertEarly). */
  early: EarlyConversion | null;
  /** The table's fingerprint under the lock, when a batch file read it there (see EarlyConversion). */
  fingerprint: string | null;
  /** JSON arrays and objects stored as their JSON text in a text column, by column (see noteJsonAsText). */
  jsonAsText: Record<string, number>;
  /** Values made arrays of one for an existing column of arrays, by column (see noteValuesMadeArrays). */
  valuesMadeArrays: Record<string, number>;
}

/** Spreadsheet error cells and unread cells, by column (countErrorCells): warnings, and the counts for the record's metadata. */
export interface ErrorCells {
  warnings: string[];
  byColumn: Record<string, number>;
  total: number;
  unread: Record<string, Record<string, number>>;
}

/** The converted rows made by convertEarly: the statement that made them, and their count. */
export interface EarlyConversion {
  source: string;
  validRows: number;
  /** The table as read then, and its fingerprint taken just before: reused under the lock when the fingerprint is the same. */
  existing: ExistingTable;
  fingerprint: string;
}

/** The mapping errors found (and, unless a dry run, recorded), and why the import must stop, if it must. */
export interface ErrorsFound {
  mappingErrors: number;
  /** Records with at least one mapping error: they stay out of the table. */
  rejectedRows: number;
  firstErrors: Array<Record<string, unknown>>;
  failure: string | null;
}

/** The duplicate check's findings. */
export interface Duplicates {
  found: number;
  seconds: number | null;
  /** Staged rows without a mapping error, when the check counted them. */
  validRows: number | null;
  /** The check's converted rows, less the duplicates, for the INSERT to read; null when none were made. */
  converted: ConvertedRows | null;
  /** Every row without a mapping error is a duplicate and the others were rejected: the import stops (checked only where that can happen). */
  allDuplicatesOfValidRows?: true;
  /** A full replace: the table rows the file repeats, which stay (temp table of `id`, `_rn`; null when there are none); counted in `found`, not duplicates. */
  unchanged?: { table: string | null; rows: number };
}

/** Row-level duplicates are checked. Upsert compares by key, matching rows being updates, not duplicates (core/upsert.ts). */
export function checksRows({ options, mode }: ImportRun): boolean {
  return options.dedupe !== false && !options.force && mode !== 'upsert';
}

/** The rows inserted and the INSERT's time (a new table's index builds and key included), with a new table's duplicates. */
export interface Inserted {
  rows: number;
  /** An upsert's rows updated and unchanged (null otherwise). */
  upserted: UpsertCounts | null;
  seconds: number;
  duplicates: Duplicates;
}

/** The duplicate check compares whole rows on the stored `_row_hash`: the key is every user column of the table (after this import's DDL). */
export function comparesWholeRows(plan: ImportPlan, existing: ExistingTable, key: readonly string[]): boolean {
  return existing.hasRowHash && isWholeRow(key, tableColumnOrder(plan, existing.columns));
}

/** The key is every user column of the table: the stored `_row_hash` serves the comparison. */
export function isWholeRow(key: readonly string[], tableColumns: ReadonlyArray<TableColumn>): boolean {
  return key.length === tableColumns.length && tableColumns.every((c) => key.includes(c.name));
}

/** The uniqueness columns as target names: the ones named (by target or source name), else every column the file brings. */
export function resolveKey(named: string[] | null, plan: ImportPlan): string[] {
  if (named === null) return plan.columns.map((c) => c.targetName);
  return named.map((k) => {
    const col = plan.columns.find((c) => c.targetName === k) ?? plan.columns.find((c) => c.sourceName === k);
    if (!col) {
      // Names are compared exactly: one that differs only in case is named (world-countries' Country, country).
      const near = plan.columns.find((c) => c.targetName.toLowerCase() === k.toLowerCase() || c.sourceName.toLowerCase() === k.toLowerCase());
      const hint = near ? `names are case-sensitive: --key ${near.targetName}` : `the columns it writes: ${plan.columns.map((c) => c.targetName).join(', ')}`;
      throw new AtlasError(`key column ${k} is not among the columns this import writes`, { hint });
    }
    return col.targetName;
  });
}
