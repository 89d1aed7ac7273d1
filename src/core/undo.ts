/**
 * `atlas undo`: removes exactly the rows one import inserted, in one transaction, and marks its
 * history record `undone` (or, with purge, deletes the record and its mapping errors).
 *
 * Under the same transaction-level advisory lock the importer takes on the table, so an undo and
 * an import into the same table never interleave; the history record is locked FOR UPDATE, so
 * two undos of one import serialise and the second sees `undone`.
 */
import type { Settings } from '../config.js';
import { lockForTransaction, withTransaction, type Client } from '../db/connection.js';
import { deleteImportRows, findRowOwners, getDataTable, getImportRowState } from '../db/dataTables.js';
import { deleteImports, isInterrupted, lockImport, markUndone, type ImportRecord } from '../db/history.js';
import { listDependentImports, type DependentImport } from '../db/importDuplicates.js';
import { countMappingErrors } from '../db/mappingErrors.js';
import { AtlasError, NotFoundError } from '../errors.js';
import { qualify } from '../transform/naming.js';
import { withDatabase, type DatabaseListener } from './database.js';
import { checkImportId, resolveImport } from './history.js';
import { reassignDependentRows } from './reassign.js';
import { formatAbsoluteTime } from '../transform/time.js';

/** What `atlas undo` was asked to do. */
export interface UndoOptions {
  /** Only report what would be removed; change nothing. @default false */
  dryRun: boolean;
  /**
   * Undo even when the import's rows changed since it ran, or its table is gone; and delete the
   * rows later imports rely on (unless `reassign`). @default false
   */
  force: boolean;
  /**
   * Keep the rows later imports rely on (they skipped their own copies of them as duplicates),
   * each given to the earliest of those imports. @default false
   */
  reassign?: boolean;
  /** Also delete the history record (its mapping errors go with it): no audit trail is left. @default false */
  purge: boolean;
  /**
   * Refuse unless exactly this many rows would be removed: the count a user confirmed after a
   * dry run, so nothing that changed in between is removed unseen. @default null (no check)
   */
  expectedRows?: number | null;
  onDatabase?: DatabaseListener | undefined;
}

/** What undo did (or, in a dry run, would do). */
export interface UndoResult {
  import_id: string;
  table_name: string;
  schema: string;
  file_name: string | null;
  import_timestamp: string;
  dry_run: boolean;
  /** The record's status before the undo. */
  previous_status: string;
  /** rows_inserted as recorded by the import. */
  rows_recorded: number | null;
  /** Rows carrying the import's id in its table now: what the undo removes. */
  rows_to_remove: number;
  /** Of those, rows updated (or added by hand) since the import. */
  rows_changed: number;
  table_exists: boolean;
  /**
   * Records of later imports into the table that were skipped as duplicates of this import's
   * rows: once these rows are gone, the data those records carried is not in the table either.
   */
  later_duplicates: number;
  /** Those later imports, earliest first, with how many of their records rely on these rows. */
  dependent_imports: DependentImport[];
  /** This import's rows that later imports rely on. */
  dependent_rows: number;
  /**
   * What happens (in a dry run: would happen) to those rows: none to handle; `refused`, the undo
   * needs --reassign or --force; `reassigned`, kept as rows of those imports; `deleted` (--force).
   */
  dependents: 'none' | 'refused' | 'reassigned' | 'deleted';
  /** Rows kept as rows of later imports (--reassign); null in a dry run. */
  rows_reassigned: number | null;
  /** Why the undo needs --force, or null when it does not. */
  force_reason: string | null;
  /** Rows the import no longer has: deleted, or given to later imports (rows_reassigned); null in a dry run. */
  rows_removed: number | null;
  /** The history record is (or, in a dry run, would be) deleted rather than marked undone. */
  purged: boolean;
  /** Mapping errors deleted with a purged record. */
  mapping_errors_removed: number;
  undone_at: string | null;
  undone_by: string | null;
}

/** Why an import without rows cannot be undone, with what to do instead. */
function noRowsError(r: ImportRecord): AtlasError {
  const purge = `atlas undo ${r.import_id} --purge deletes its record`;
  if (r.status === 'undone') {
    return new AtlasError(`import ${r.import_id} was already undone at ${r.undone_at ? formatAbsoluteTime(r.undone_at) : '?'} by ${r.undone_by ?? '?'} (${r.rows_removed ?? 0} rows removed)`, {
      hint: `its record stays as the audit trail; ${purge}`,
    });
  }
  if (isInterrupted(r)) {
    return new AtlasError(`import ${r.import_id} was interrupted: its process ended before committing, so it has no rows to undo`, { hint: purge });
  }
  return new AtlasError(`import ${r.import_id} ${r.status === 'failed' ? 'failed' : `is ${r.status}`}: it committed no rows, so there is nothing to undo`, { hint: purge });
}

/** The refusal of an undo whose table lost atlas's `id` column (replaced or altered by hand). */
function noIdColumnError(schema: string, table: string, id: string, rows: number): AtlasError {
  return new AtlasError(
    `cannot undo import ${id}: table ${schema}.${table} has no id column any more (was it replaced or altered by hand?), and undo needs it to find the rows later imports skipped as duplicates of this import's ${rows} row(s)`,
    { hint: `restore the table as atlas made it; or delete the rows yourself (delete from ${qualify(schema, table)} where _import_id = '${id}'), then atlas undo ${id} --force marks the import undone` },
  );
}

/** Describes how the import's rows differ from what it inserted. */
function describeChange(present: number, recorded: number, changed: number): string {
  const parts: string[] = [];
  if (changed > 0) parts.push(`${changed} of them updated or added since it ran`);
  if (present < recorded) parts.push(`${recorded - present} of the ${recorded} it inserted deleted since`);
  if (present > recorded && changed === 0) parts.push(`${present - recorded} more than the ${recorded} it inserted`);
  return `its rows changed: ${present} row(s) carry its id now, ${parts.join('; ')}`;
}

/** The refusal of an undo that needs --force (also used by the CLI after a dry run). */
export function forceRequiredError(plan: UndoResult): AtlasError {
  const what = plan.table_exists && plan.rows_to_remove > 0 ? `remove the ${plan.rows_to_remove} row(s) that carry its id, changes included` : 'mark it undone, removing nothing';
  return new AtlasError(`cannot undo import ${plan.import_id}: ${plan.force_reason ?? 'it needs --force'}`, { hint: `--force would ${what}` });
}

/** Who relies on the rows, in words: "B (b.csv, 2 records), C (stdin, 1 record)". */
function describeDependents(plan: UndoResult): string {
  const list = plan.dependent_imports.map((d) => `${d.import_id} (${d.file_name ?? 'stdin'}, ${d.records} record(s))`).join(', ');
  return `${plan.dependent_rows} of its rows are also the data of later imports, which skipped their own copies of them as duplicates: ${list}`;
}

/** The refusal of an undo whose rows later imports rely on (also used by the CLI after a dry run). */
export function dependentsError(plan: UndoResult): AtlasError {
  return new AtlasError(`cannot undo import ${plan.import_id}: ${describeDependents(plan)}`, {
    hint: '--reassign keeps those rows, each as a row of the earliest import that skipped it (its record updated); --force deletes them too',
  });
}

/** Undoes one import (by id or unambiguous 8+ character prefix). `undone_by` is `settings.user`. */
export async function undoImport(settings: Settings, idOrPrefix: string, options: UndoOptions): Promise<UndoResult> {
  checkImportId(idOrPrefix);
  const schema = settings.schema;
  return withDatabase(settings, options.onDatabase, async (client) => {
    const found = await resolveImport(client, schema, idOrPrefix);
    return withTransaction(client, () => undoInTransaction(client, settings, found.import_id, options));
  });
}

/** Undoes one import inside the caller's transaction (undo of one import, or of every import of a batch). */
export async function undoInTransaction(client: Client, settings: Settings, importId: string, options: UndoOptions): Promise<UndoResult> {
  const schema = settings.schema;
  const locked = await lockImport(client, schema, importId);
  if (locked === null) throw new NotFoundError(`import ${importId} was deleted meanwhile`);
  const rec = locked.record;
  const id = rec.import_id;
  const table = rec.table_name;
  const result: UndoResult = {
    import_id: id,
    table_name: table,
    schema,
    file_name: rec.file_name,
    import_timestamp: rec.import_timestamp,
    dry_run: options.dryRun,
    previous_status: rec.status,
    rows_recorded: rec.rows_inserted,
    rows_to_remove: 0,
    rows_changed: 0,
    table_exists: false,
    later_duplicates: 0,
    dependent_imports: [],
    dependent_rows: 0,
    dependents: 'none',
    rows_reassigned: options.dryRun ? null : 0,
    force_reason: null,
    rows_removed: options.dryRun ? null : 0,
    purged: options.purge,
    mapping_errors_removed: 0,
    undone_at: null,
    undone_by: null,
  };

  if (rec.status === 'in_progress') {
    throw new AtlasError(`import ${id} is still running`, { hint: 'wait for it to finish (or cancel it), then undo it' });
  }
  if (rec.status !== 'success' && rec.status !== 'partial') {
    // failed (interrupted ones too) or undone: no rows. Only --purge has something to do: delete the record.
    if (!options.purge) throw noRowsError(rec);
    const owners = await findRowOwners(client, schema, [id]);
    if (owners.length > 0) {
      throw new AtlasError(`import ${id} is ${rec.status} but ${owners.map((o) => `${o.rows} row(s) in ${o.table}`).join(', ')} still reference it; not deleting its record`);
    }
    result.table_exists = (await getDataTable(client, schema, table)) !== null;
    result.mapping_errors_removed = await countMappingErrors(client, schema, id);
    if (!options.dryRun) await deleteImports(client, schema, [id]);
    return result;
  }

  await lockForTransaction(client, `atlas:table:${schema}.${table}`);
  const info = await getDataTable(client, schema, table);
  result.table_exists = info !== null;
  if (info === null) {
    result.force_reason = `its table ${schema}.${table} no longer exists`;
  } else if (!info.tracked) {
    result.force_reason = `its table ${schema}.${table} has no _import_id column any more (was it replaced?)`;
  } else {
    // The record's xmin is its import's transaction, unless undo --reassign since rewrote it (and kept that one).
    const importXmin = typeof rec.metadata.import_xmin === 'string' ? rec.metadata.import_xmin : locked.rowXmin;
    const state = await getImportRowState(client, schema, table, id, importXmin);
    result.rows_to_remove = state.rows;
    result.rows_changed = state.changed;
    const recorded = rec.rows_inserted ?? 0;
    if (state.rows !== recorded || state.changed > 0) result.force_reason = describeChange(state.rows, recorded, state.changed);
    // The later imports that rely on these rows are found by their id: without it, undo cannot
    // tell what it would take from them, even with --force. Once no row is left, nothing is taken.
    if (!info.columns.has('id')) {
      if (state.rows > 0) throw noIdColumnError(schema, table, id, state.rows);
    } else {
      result.dependent_imports = await listDependentImports(client, schema, table, id);
    }
    result.later_duplicates = result.dependent_imports.reduce((n, d) => n + d.records, 0);
    result.dependent_rows = result.dependent_imports.reduce((n, d) => n + d.rows, 0);
    if (result.dependent_rows > 0) result.dependents = options.reassign ? 'reassigned' : options.force ? 'deleted' : 'refused';
  }
  if (result.force_reason !== null && !options.force && !options.dryRun) throw forceRequiredError(result);
  if (result.dependents === 'refused' && !options.dryRun) throw dependentsError(result);
  const expected = options.expectedRows ?? null;
  if (expected !== null && result.rows_to_remove !== expected) {
    throw new AtlasError(`import ${id} now has ${result.rows_to_remove} row(s) in ${table}, not the ${expected} you confirmed; nothing was changed`, { hint: 'run the undo again' });
  }
  if (options.purge) {
    const others = (await findRowOwners(client, schema, [id])).filter((o) => o.table !== `${schema}.${table}`);
    if (others.length > 0) {
      throw new AtlasError(`cannot purge import ${id}: ${others.map((o) => `${o.rows} row(s) in ${o.table}`).join(', ')} also reference it`, { hint: 'undo without --purge keeps the record' });
    }
    result.mapping_errors_removed = await countMappingErrors(client, schema, id);
  }
  if (options.dryRun) return result;

  const reassigned = result.dependents === 'reassigned' ? await reassignDependentRows(client, { schema, table, importId: id, user: settings.user }) : [];
  result.rows_reassigned = reassigned.reduce((n, r) => n + r.rows, 0);
  const removed = (info?.tracked ? await deleteImportRows(client, schema, table, id) : 0) + result.rows_reassigned;
  // Cannot differ under the lock; if it ever does, roll everything back rather than record a wrong count.
  if (removed !== result.rows_to_remove) throw new AtlasError(`undo of ${id} removed ${removed} row(s), expected ${result.rows_to_remove}; rolled back, nothing was changed`);
  result.rows_removed = removed;
  if (options.purge) {
    await deleteImports(client, schema, [id]);
  } else {
    const { undone_at } = await markUndone(client, schema, id, settings.user, removed, reassigned.length > 0 ? { reassigned_to: reassigned } : {});
    result.undone_at = undone_at;
    result.undone_by = settings.user;
  }
  return result;
}
