/**
 * `atlas undo`: removes exactly the rows one import inserted, in one transaction, and marks its
 * history record `undone` (or, with purge, deletes the record and its mapping errors).
 *
 * Under the same transaction-level advisory lock the importer takes on the table, so an undo and
 * an import into the same table never interleave; the history record is locked FOR UPDATE, so
 * two undos of one import serialise and the second sees `undone`.
 */
import type { Settings } from '../config.js';
import { cancelQueriesOnAbort, lockForTransaction, tableLockKey, useUndoSettings, withRowSecurityOff, withTransaction, type Client } from '../db/connection.js';
import { appendToMetadata, deleteImports, isInterrupted, lockImport, markUndone, type ImportRecord } from '../db/history.js';
import { dependentImportText, listDependentImports, type DependentImport } from '../db/importDuplicates.js';
import { withLockWatch, type LockWaitOptions } from '../db/lockWaits.js';
import { disableSql, type TriggerOrRule } from '../db/rowTriggers.js';
import { countMappingErrors } from '../db/mappingErrors.js';
import { countDependentRowsChangedSince, countHandedOverPreImages, countInPlaceRestores, countPreImages, findAlteredRestores, handOverPreImages, laterChangeText, listCompactedLaterChanges, listLaterChangedRowIds, listLaterChanges, listPreImageColumns, listRestoreChangers, deleteInsertedRows, restoredColumns, restorePreImages, restoreUpdatedRows, type LaterChange } from '../db/preImages.js';
import { deleteImportRows, findRowOwners, getDataTable, getImportRowState } from '../db/tables.js';
import { AtlasError, CancelledError, describeError, NotFoundError } from '../errors.js';
import { qualify } from '../transform/naming.js';
import { withExistingSchema, type DatabaseListener } from './database.js';
import { checkImportId, noImportWithId, resolveImport } from './history.js';
import { reassignDependentRows } from './reassign.js';
import { blockingReferenceText, findBlockingReferences, refusesDelete, type BlockingReference } from './undoReferenceCheck.js';
import { findRestoreKeyConflicts, keyConflictText, type KeyConflict } from './undoKeyCheck.js';
import { formatAbsoluteTime } from '../transform/time.js';

export { laterChangeText };

/** What `atlas undo` was asked to do. */
export interface UndoOptions extends LockWaitOptions {
  /** Aborting it (Ctrl-C) cancels the statement running on the server: the undo rolls back at once, not when the server next writes to a connection that is gone. */
  signal?: AbortSignal | undefined;
  /** Only report what would be removed; change nothing. @default false */
  dryRun: boolean;
  /**
   * Undo even when the import's rows changed since it ran, or its table is gone; and delete the
   * rows later imports rely on (unless `reassign`). When later imports updated or deleted rows
   * of this one (upsert, replace), those rows stay as they left them, and undoing those imports
   * afterwards brings back what was there before this one, never this one's version
   * (core/upsert.ts, docs in the README). @default false
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
  /** Of those, rows it updated: --force puts back their previous version (the data the later records matched goes all the same). */
  dependent_rows_put_back: number;
  /**
   * What happens (in a dry run: would happen) to those rows: none to handle; `refused`, the undo
   * needs --reassign or --force; `reassigned`, kept as rows of those imports; `deleted` (--force).
   */
  dependents: 'none' | 'refused' | 'reassigned' | 'deleted';
  /** Rows kept as rows of later imports (--reassign); null in a dry run. */
  rows_reassigned: number | null;
  /** Why the undo needs --force, or null when it does not. */
  force_reason: string | null;
  /** A dry run's answer: the one-line refusal the undo would meet, or null when it would go ahead (null outside a dry run, which throws it). */
  would_refuse: string | null;
  /**
   * Rows the table no longer has of the import: deleted, or given to later imports
   * (rows_reassigned); an upsert's updated rows, put back as they were, are not counted. Null in a dry run.
   */
  rows_removed: number | null;
  /** How the import wrote its rows (append, upsert, replace, replace_import). */
  import_mode: string;
  /** Previous versions of rows it updated or deleted, kept to be put back. */
  rows_to_restore: number;
  /**
   * Of rows_to_restore, the rows it updated that still carry its id: put back in place (an
   * UPDATE), so not removed; the others (deleted since) are inserted back.
   */
  rows_to_restore_in_place: number;
  /**
   * Of those, the versions of rows later imports changed since: not put back (--force leaves those
   * rows as the later imports left them, and hands these versions over to their pre-images).
   */
  rows_handed_over: number;
  /** Rows put back as they were before the import (values, metadata, id); null in a dry run. */
  rows_restored: number | null;
  /** Columns their previous versions hold that the table no longer has (renamed or dropped since): --force puts the rows back without them. */
  columns_not_restored: string[];
  /**
   * The table's triggers and rules that may change rows as undo puts them back (`trigger touch`):
   * undo compares the rows it put back with their previous versions and is refused (rolled back)
   * when any differs, unless --force. Empty when there are none or nothing to put back.
   */
  restore_changers: string[];
  /** With --force: rows put back that those triggers or rules changed, and the columns they changed; 0 and [] otherwise. */
  rows_altered_on_restore: number;
  columns_altered_on_restore: string[];
  /**
   * Later imports, not undone, that updated or deleted rows this one wrote: undo them first
   * (or --force, which leaves those rows to them).
   */
  later_imports: LaterChange[];
  /**
   * Rows it would put back whose key (a unique index's, or the key upserts ran on) rows that stay
   * hold now: the undo is refused, --force too, until the imports holding them are undone.
   */
  key_conflicts: KeyConflict[];
  /** Rows of other tables that reference, ON DELETE RESTRICT or NO ACTION, rows it would delete: the undo is refused, --force too. */
  blocking_references: BlockingReference[];
  /**
   * Rows of other tables that reference, ON DELETE CASCADE, SET NULL or SET DEFAULT, rows it would
   * delete: the DELETE would delete or change them too, so the undo needs --force (its record's
   * `metadata.forced.references_changed` then lists them).
   */
  references_changed: BlockingReference[];
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

/** Describes how the import's rows differ from what it wrote (an upsert's updated rows carry its id too). */
function describeChange(present: number, inserted: number, updated: number, changed: number): string {
  const recorded = inserted + updated;
  const wrote = updated > 0 ? `${recorded} it wrote (${inserted} inserted, ${updated} updated)` : `${recorded} it inserted`;
  const parts: string[] = [];
  if (changed > 0) parts.push(`${changed} of them updated or added since it ran`);
  if (present < recorded) parts.push(`${recorded - present} of the ${wrote} no longer carry it (deleted, or taken by a later import)`);
  if (present > recorded && changed === 0) parts.push(`${present - recorded} more than the ${wrote}`);
  return `its rows changed: ${present} row(s) carry its id now, ${parts.join('; ')}`;
}

/** The refusal an undo planned with these options meets, the first in the order undo checks them; null when it goes ahead. */
export function undoRefusal(plan: UndoResult, force: boolean): AtlasError | null {
  // First: --force, which the other refusals offer, does not get past these two.
  if (plan.key_conflicts.length > 0) return keyConflictsError(plan);
  if (plan.blocking_references.length > 0) return blockingReferencesError(plan);
  if (plan.later_imports.length > 0 && !force) return laterImportsError(plan);
  if (plan.force_reason !== null && !force) return forceRequiredError(plan);
  if (plan.references_changed.length > 0 && !force) return referencesChangedError(plan);
  if (plan.dependents === 'refused') return dependentsError(plan);
  return null;
}

/**
 * What an undo planned removes and puts back, as its dry run and its refusal say them: an upsert's
 * updated rows carry its id too, and are put back in place, not removed; previous versions of rows
 * later imports changed since are handed over to them, not put back.
 */
export function plannedRows(plan: UndoResult): { removing: number; restoring: number } {
  return { removing: plan.rows_to_remove - plan.rows_to_restore_in_place, restoring: plan.rows_to_restore - plan.rows_handed_over };
}

/** The refusal of an undo that needs --force. */
function forceRequiredError(plan: UndoResult): AtlasError {
  const { removing, restoring } = plannedRows(plan);
  const without = plan.columns_not_restored.length > 0 ? ` (without their ${plan.columns_not_restored.join(', ')})` : '';
  const parts = [removing > 0 ? `remove the ${removing} row(s) that carry its id, changes included` : null, restoring > 0 ? `put back the ${restoring} row(s) it updated or deleted${without}` : null];
  const what = plan.table_exists && parts.some((p) => p !== null) ? parts.filter((p) => p !== null).join(', and ') : 'mark it undone, removing nothing';
  return new AtlasError(`cannot undo import ${plan.import_id}: ${plan.force_reason ?? 'it needs --force'}`, { hint: `--force would ${what}` });
}

/** Who relies on the rows, in words: "B (b.csv, 2 records), C (stdin, 1 record)". */
function describeDependents(plan: UndoResult): string {
  const list = plan.dependent_imports.map(dependentImportText).join(', ');
  return `${plan.dependent_rows} of its rows are also the data of later imports, which skipped their own copies of them as duplicates: ${list}`;
}

/** The refusal of an undo whose rows later imports rely on. */
function dependentsError(plan: UndoResult): AtlasError {
  return new AtlasError(`cannot undo import ${plan.import_id}: ${describeDependents(plan)}`, {
    hint: `--reassign keeps those rows, each as a row of the earliest import that skipped it (its record updated); --force deletes them too${plan.dependent_rows_put_back > 0 ? ` (the ${plan.dependent_rows_put_back} it updated are put back to their versions before it)` : ''}`,
  });
}

/** The refusal of an undo whose rows later imports changed. */
function laterImportsError(plan: UndoResult): AtlasError {
  const list = plan.later_imports.map(laterChangeText).join(', ');
  const kept = plan.later_imports.some((l) => l.kept > 0);
  return new AtlasError(`cannot undo import ${plan.import_id}: later import(s) ${kept ? 'kept some of its rows as rows of their own file (a replace, an upsert that found them unchanged), or updated or deleted them' : 'updated or deleted its rows'}: ${list}; undo them first, latest first`, {
    hint: `--force undoes it anyway: the rows those imports changed stay as they left them${kept ? ', the rows kept in place go with it' : ''}, and undoing them later brings back what was there before ${plan.import_id.slice(0, 8)}`,
  });
}

/** The refusal of an undo whose rows to put back hold keys that rows of other imports hold now. */
function keyConflictsError(plan: UndoResult): AtlasError {
  const owners = [...new Set(plan.key_conflicts.flatMap((k) => k.owners.map((o) => o.import_id)).filter((o) => o !== null))];
  return new AtlasError(`cannot undo import ${plan.import_id}: rows it would put back hold keys that other rows in the table hold now: ${plan.key_conflicts.map(keyConflictText).join('; ')}`, {
    hint: `${owners.length > 0 ? `undo ${owners.join(', ')} first (latest first), then this one` : 'delete or change the rows holding those keys first'}; --force does not change this, the table would hold those keys twice`,
  });
}

/** The refusal of an undo that would delete rows other tables reference ON DELETE RESTRICT or NO ACTION. */
function blockingReferencesError(plan: UndoResult): AtlasError {
  return new AtlasError(`cannot undo import ${plan.import_id}: rows it inserted, which undo deletes, are referenced by ${plan.blocking_references.map(blockingReferenceText).join(', ')}`, {
    hint: 'delete or change the rows that reference them first (or make that foreign key ON DELETE CASCADE or SET NULL); --force does not change this',
  });
}

/** The refusal of an undo whose DELETE would delete or change rows of other tables through their foreign keys' ON DELETE actions. */
function referencesChangedError(plan: UndoResult): AtlasError {
  return new AtlasError(`cannot undo import ${plan.import_id}: rows it inserted, which undo deletes, are referenced by ${plan.references_changed.map(blockingReferenceText).join(', ')}; those rows are not its own`, {
    hint: '--force undoes it anyway, and the foreign key deletes or changes them as it says (the undo\'s record lists them); or delete or change those rows first',
  });
}

/** The refusal of an undo whose pre-images were dropped by `history compact`. */
function prunedError(r: ImportRecord): AtlasError {
  const what = [r.rows_updated > 0 ? `${r.rows_updated} row(s) it updated` : null, r.rows_deleted > 0 ? `${r.rows_deleted} row(s) it deleted` : null].filter((x) => x !== null).join(' and ');
  return new AtlasError(
    `cannot undo import ${r.import_id}: the previous versions of the ${what} were dropped by history compact at ${formatAbsoluteTime(r.preimages_pruned_at!)}, so what was there before it cannot be restored`,
    { hint: `fix the rows by hand (they carry _import_id = '${r.import_id}'), or load a corrected file with --mode upsert` },
  );
}

/** This transaction's id as xmin shows it: the rows undo puts back carry it, atlas's own change (getImportRowState). */
async function currentXid(client: Client): Promise<string> {
  return (await client.query<{ x: string }>(`select (txid_current() % 4294967296)::text as x`)).rows[0]!.x;
}

/** Undoing a --replace-import: the import it replaced has its rows back, and is no longer replaced. */
async function clearReplacedBy(client: Client, schema: string, replaced: string, by: string): Promise<void> {
  await client.query(`update ${qualify(schema, 'import_history')} set replaced_by = null, updated_at = clock_timestamp() where import_id = $1 and replaced_by = $2`, [replaced, by]);
}

/**
 * Takes the import's rows out of `table` and puts back what it changed: deletes the rows it
 * inserted, puts the rows it updated back in place (UPDATE: other tables' references to them
 * stay) and inserts back the rows it deleted. A key undoKeyCheck.ts cannot see (a unique index on
 * an expression or a part of the table, a row undo --reassign kept), or another table's foreign
 * key, is said as the refusal it is, not PostgreSQL's alone. Returns the rows taken out and put back.
 */
async function takeOutAndRestore(client: Client, schema: string, table: string, id: string, skipRowIds: readonly string[], preImages: number): Promise<{ removed: number; restored: number; inPlace: number; columns: string[] }> {
  try {
    // Without pre-images every row of the import goes (so a table whose id column was dropped can still be marked undone).
    if (preImages === 0) return { removed: await deleteImportRows(client, schema, table, id), restored: 0, inPlace: 0, columns: [] };
    const deleted = await deleteInsertedRows(client, schema, table, id, skipRowIds);
    // Read once (listPreImageColumns reads every pre-image) for both kinds of rows put back, and for checkRestoredExactly.
    const columns = await restoredColumns(client, schema, table, id);
    const inPlace = await restoreUpdatedRows(client, schema, table, id, skipRowIds, columns);
    const back = await restorePreImages(client, schema, table, id, skipRowIds, columns);
    return { removed: deleted + inPlace, restored: inPlace + back, inPlace, columns };
  } catch (err) {
    const e = err as { code?: string; constraint?: string; detail?: string; table?: string };
    // PostgreSQL names the referencing table: another one holds references to rows undo takes out.
    if (e.code === '23503' && e.table !== table) {
      throw new AtlasError(`cannot undo import ${id}: rows of ${e.table ?? 'another table'} reference rows of ${schema}.${table} it would delete or change (${e.constraint ?? 'a foreign key'}: ${e.detail ?? 'no detail'}); rolled back, nothing was changed`, {
        hint: 'delete or change the rows that reference them first (or make that foreign key ON DELETE CASCADE or SET NULL)',
        cause: err,
      });
    }
    if (e.code !== '23505') throw err;
    throw new AtlasError(`cannot undo import ${id}: a row it would put back holds a key a row in ${schema}.${table} holds now (${e.constraint ?? 'a unique index'}: ${e.detail ?? 'no detail'}); rolled back, nothing was changed`, {
      hint: 'undo the import that wrote that row first (atlas lineage TABLE --row ID names it), or delete or change that row',
      cause: err,
    });
  }
}

/**
 * The rows undo put back must be their previous versions exactly; a trigger or rule of the table
 * may have changed them on the way (an `updated_at` a BEFORE UPDATE trigger sets): refused, which
 * rolls the undo back, unless --force, which keeps them as changed and counts them in `result`.
 */
async function checkRestoredExactly(client: Client, result: UndoResult, changers: readonly TriggerOrRule[], restored: { skipRowIds: readonly string[]; columns: readonly string[] }, force: boolean): Promise<void> {
  const { schema, table_name: table, import_id: id } = result;
  const altered = await findAlteredRestores(client, schema, table, id, restored.skipRowIds, restored.columns);
  if (altered.rows === 0) return;
  if (!force) {
    const names = result.restore_changers.join(', ');
    throw new AtlasError(
      `cannot undo import ${id} exactly: ${names} of ${schema}.${table} changed ${altered.rows} of the ${result.rows_restored ?? 0} row(s) it put back (column(s) ${altered.columns.join(', ')}); rolled back, nothing was changed`,
      { hint: `disable them for the undo (${changers.map((t) => disableSql(schema, table, t)).join('; ')}; enable them after), or --force keeps those rows as they leave them` },
    );
  }
  result.rows_altered_on_restore = altered.rows;
  result.columns_altered_on_restore = altered.columns;
}

/** A later import's records whose rows --force takes away: all of them, and (when any) those on rows put back to their previous version rather than deleted. */
function dependentRecords(d: DependentImport): { records: number; records_on_rows_put_back?: number } {
  return d.records_on_updated > 0 ? { records: d.records, records_on_rows_put_back: d.records_on_updated } : { records: d.records };
}

/** What an undo --force went past, for its record's metadata (`forced`); nothing when it went past nothing. */
function forcedTrace(result: UndoResult, force: boolean): Record<string, unknown> {
  const deleted = result.dependents === 'deleted' ? result.dependent_imports.map((d) => ({ import_id: d.import_id, ...dependentRecords(d) })) : [];
  if (!force || (result.force_reason === null && result.later_imports.length === 0 && deleted.length === 0 && result.rows_altered_on_restore === 0 && result.references_changed.length === 0)) return {};
  return {
    forced: {
      reason: result.force_reason,
      later_imports: result.later_imports.map((l) => l.import_id),
      rows_left_to_later_imports: result.rows_handed_over,
      dependents_deleted: deleted,
      ...(result.references_changed.length > 0 ? { references_changed: result.references_changed } : {}),
    },
  };
}

/** Undoes one import (by id or unambiguous 8+ character prefix). `undone_by` is `settings.user`. */
export async function undoImport(settings: Settings, idOrPrefix: string, options: UndoOptions): Promise<UndoResult> {
  checkImportId(idOrPrefix);
  const schema = settings.schema;
  return withExistingSchema(
    settings,
    options,
    async (client, url) => {
      const found = await resolveImport(client, schema, idOrPrefix);
      const stopOnAbort = cancelQueriesOnAbort(client, options.signal);
      try {
        return await withTransaction(client, () => withLockWatch(client, url, options, () => undoInTransaction(client, settings, found.import_id, options)));
      } catch (err) {
        if (options.signal?.aborted === true) throw new CancelledError(`undo of import ${found.import_id} cancelled; rolled back, nothing was changed`);
        // The server's own reason (a statement_timeout, a lock_timeout, a trigger's error) says nothing of what is left: nothing, it rolled back.
        if (err instanceof AtlasError) throw err;
        throw new AtlasError(`undo of import ${found.import_id} failed: ${describeError(err)}; rolled back, nothing was changed`, { cause: err });
      } finally {
        stopOnAbort();
      }
    },
    () => Promise.reject(noImportWithId(idOrPrefix)),
    'an undo',
  );
}

/** Undoes one import inside the caller's transaction (undo of one import, or of every import of a batch). */
export async function undoInTransaction(client: Client, settings: Settings, importId: string, options: UndoOptions): Promise<UndoResult> {
  // A policy hiding rows would make its counts (and --force's delete) cover only the rows this role sees.
  return withRowSecurityOff(client, `cannot undo import ${importId}`, () => undoVisibleRows(client, settings, importId, options));
}

async function undoVisibleRows(client: Client, settings: Settings, importId: string, options: UndoOptions): Promise<UndoResult> {
  const schema = settings.schema;
  // Its checks sort and hash every row of the import and every duplicate record relying on them; it reads
  // pre-images' text, and the record's times (under a German DateStyle they read as null).
  await useUndoSettings(client);
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
    dependent_rows_put_back: 0,
    dependents: 'none',
    would_refuse: null,
    rows_reassigned: options.dryRun ? null : 0,
    force_reason: null,
    rows_removed: options.dryRun ? null : 0,
    import_mode: rec.import_mode,
    rows_to_restore: 0,
    rows_to_restore_in_place: 0,
    rows_handed_over: 0,
    rows_restored: options.dryRun ? null : 0,
    columns_not_restored: [],
    restore_changers: [],
    rows_altered_on_restore: 0,
    columns_altered_on_restore: [],
    later_imports: [],
    key_conflicts: [],
    blocking_references: [],
    references_changed: [],
    purged: options.purge,
    mapping_errors_removed: 0,
    undone_at: null,
    undone_by: null,
  };
  // The table's triggers and rules that may change the rows undo puts back (restore_changers, by name).
  let changers: TriggerOrRule[] = [];

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

  await lockForTransaction(client, tableLockKey(schema, table));
  const info = await getDataTable(client, schema, table);
  result.table_exists = info !== null;
  if (info === null) {
    // Renamed or moved since: its rows are still there, under another name, which --force would leave marked undone.
    const elsewhere = await findRowOwners(client, schema, [id]);
    if (elsewhere.length > 0) {
      const where = elsewhere.map((o) => `${o.rows} row(s) in ${o.table}`).join(', ');
      throw new AtlasError(`cannot undo import ${id}: its table ${schema}.${table} is not there under that name, but its rows are: ${where} (renamed or moved since?)`, {
        hint: `give the table back its name, ${schema}.${table} (alter table ... rename to / set schema), then undo it; --force does not change this`,
      });
    }
    result.force_reason = `its table ${schema}.${table} no longer exists`;
  } else if (!info.tracked) {
    result.force_reason = `its table ${schema}.${table} has no _import_id column any more (was it replaced?)`;
  } else {
    // The record's xmin is its import's transaction, unless undo --reassign since rewrote it (and kept that one).
    const importXmin = typeof rec.metadata.import_xmin === 'string' ? rec.metadata.import_xmin : locked.rowXmin;
    const state = await getImportRowState(client, schema, table, id, importXmin);
    result.rows_to_remove = state.rows;
    result.rows_changed = state.changed;
    // An upsert's rows are those it inserted and those it updated (they carry its id too).
    const recorded = (rec.rows_inserted ?? 0) + (rec.rows_updated ?? 0);
    result.rows_to_restore = await countPreImages(client, schema, id);
    // A column renamed or dropped since: its previous values have no column to go back into.
    const gone = result.rows_to_restore > 0 ? (await listPreImageColumns(client, schema, table, id)).filter((c) => !info.columns.has(c)) : [];
    result.columns_not_restored = gone;
    const goneReason = gone.length > 0 ? `the previous versions it kept hold column(s) ${gone.join(', ')}, which ${schema}.${table} no longer has (renamed or dropped since); --force puts its rows back without those values` : null;
    if (rec.preimages_pruned_at !== null && (rec.rows_updated > 0 || rec.rows_deleted > 0)) throw prunedError(rec);
    result.later_imports = await listLaterChanges(client, schema, table, id);
    if (result.later_imports.length > 0 && result.rows_to_restore > 0) result.rows_handed_over = await countHandedOverPreImages(client, schema, table, id);
    if (state.rows !== recorded || state.changed > 0) {
      result.force_reason = describeChange(state.rows, rec.rows_inserted ?? 0, rec.rows_updated ?? 0, state.changed);
      // Whose change it was is known from the later imports' pre-images; where compact dropped them, name the imports that may have made it.
      const compacted = await listCompactedLaterChanges(client, schema, table, id);
      if (compacted.length > 0) {
        const list = compacted.map((c) => `${c.import_id} (${c.import_mode}, ${c.file_name ?? 'stdin'}, ${[c.rows_updated > 0 ? `${c.rows_updated} updated` : null, c.rows_deleted > 0 ? `${c.rows_deleted} deleted` : null].filter((x) => x !== null).join(', ')})`);
        result.force_reason += `; later import(s) whose previous versions history compact dropped may have changed them: ${list.join(', ')}`;
      }
    }
    if (goneReason !== null) result.force_reason = result.force_reason === null ? goneReason : `${result.force_reason}; ${goneReason}`;
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
    result.dependent_rows_put_back = result.dependent_imports.reduce((n, d) => n + d.rows_on_updated, 0);
    if (result.rows_to_restore > 0) {
      // The rows --force leaves to later imports are not put back (handOverPreImages).
      const skipped = result.later_imports.length > 0 ? await listLaterChangedRowIds(client, schema, table, id) : [];
      result.key_conflicts = await findRestoreKeyConflicts(client, schema, table, id, skipped);
      result.rows_to_restore_in_place = await countInPlaceRestores(client, schema, table, id, skipped);
      changers = await listRestoreChangers(client, schema, table);
      result.restore_changers = changers.map((t) => `${t.what} ${t.name}`);
    }
    // --reassign keeps some of the rows (for later imports): its real run's DELETE still says a reference in one line.
    if (state.rows > 0 && options.reassign !== true) {
      const references = await findBlockingReferences(client, schema, table, id);
      result.blocking_references = references.filter(refusesDelete);
      result.references_changed = references.filter((r) => !refusesDelete(r));
    }
    if (result.dependents === 'reassigned') {
      const changed = await countDependentRowsChangedSince(client, schema, table, id);
      if (changed > 0) {
        throw new AtlasError(`cannot undo import ${id} with --reassign: ${changed} of the rows later imports rely on were deleted or updated since by later import(s), which keep them as their previous versions`, {
          hint: 'undo those later imports first (atlas lineage names them); or --force (without --reassign) deletes their data with these rows',
        });
      }
    }
    if (result.dependents === 'reassigned' && result.dependent_rows_put_back > 0) {
      throw new AtlasError(`cannot undo import ${id} with --reassign: ${result.dependent_rows_put_back} of the rows later imports rely on are rows it updated, whose previous versions undo puts back`, {
        hint: 'undo those later imports first; or --force (without --reassign) puts back those rows, and the data those imports skipped goes with their versions',
      });
    }
  }
  const refusal = undoRefusal(result, options.force);
  if (refusal !== null && !options.dryRun) throw refusal;
  if (options.dryRun) result.would_refuse = refusal?.message ?? null;
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
  // Rows later imports changed since stay theirs (--force; refused above otherwise).
  const handedOver = info?.tracked && result.later_imports.length > 0 ? await handOverPreImages(client, schema, table, id) : null;
  const taken = handedOver?.rowIds ?? [];
  const changed = info?.tracked ? await takeOutAndRestore(client, schema, table, id, taken, result.rows_to_restore) : { removed: 0, restored: 0, inPlace: 0, columns: [] };
  const removed = changed.removed + result.rows_reassigned;
  result.rows_restored = changed.restored;
  if (changers.length > 0 && changed.restored > 0) await checkRestoredExactly(client, result, changers, { skipRowIds: taken, columns: changed.columns }, options.force);
  // Cannot differ under the lock; if it ever does, roll everything back rather than record a wrong count.
  if (removed !== result.rows_to_remove) throw new AtlasError(`undo of ${id} removed ${removed} row(s), expected ${result.rows_to_remove}; rolled back, nothing was changed`);
  // An upsert's updated rows come back in place as their previous versions (same ids): not removed. (Rows
  // put back that were deleted since, by hand, are not either: counting them off said an upsert's inserted rows were not removed.)
  result.rows_removed = removed - changed.inPlace;
  // What --force did to imports that stay, said on their records (as --reassign's reassigned is).
  if (result.dependents === 'deleted') {
    await appendToMetadata(client, schema, 'rows_relied_on_deleted', result.dependent_imports.map((d) => ({ importId: d.import_id, entry: { undone_import_id: id, ...dependentRecords(d), by: settings.user } })));
  }
  if (handedOver !== null) {
    await appendToMetadata(client, schema, 'preimages_handed_over', handedOver.byImport.map((b) => ({ importId: b.import_id, entry: { undone_import_id: id, rewritten: b.rewritten, dropped: b.dropped, by: settings.user } })));
  }
  if (options.purge) {
    // The rows put back carry this transaction's id: said on the record, which deleteImports hands over to one that stays.
    if (result.rows_restored > 0) await client.query(`update ${qualify(schema, 'import_history')} set metadata = metadata || jsonb_build_object('restore_xmin', $2::text) where import_id = $1`, [id, await currentXid(client)]);
    await deleteImports(client, schema, [id]);
  } else {
    const restoredBy = result.rows_restored > 0 ? { rows_restored: result.rows_restored, restore_xmin: await currentXid(client) } : {};
    // --force let triggers change rows it put back: the record says which and how many, not "exactly as they were".
    const altered = result.rows_altered_on_restore > 0 ? { rows_altered_on_restore: result.rows_altered_on_restore, columns_altered_on_restore: result.columns_altered_on_restore, altered_by: result.restore_changers } : {};
    const { undone_at } = await markUndone(client, schema, id, settings.user, result.rows_removed, { ...(reassigned.length > 0 ? { reassigned_to: reassigned } : {}), ...restoredBy, ...altered, ...forcedTrace(result, options.force) });
    if (rec.replaces_import_id !== null) await clearReplacedBy(client, schema, rec.replaces_import_id, id);
    result.undone_at = undone_at;
    result.undone_by = settings.user;
  }
  return result;
}
