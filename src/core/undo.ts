/**
 * `atlas undo`: removes exactly the rows one import inserted, in one transaction, and marks its
 * history record `undone` (or, with purge, deletes the record and its mapping errors).
 *
 * Under the same transaction-level advisory lock the importer takes on the table, so an undo and
 * an import into the same table never interleave; the history record is locked FOR UPDATE, so
 * two undos of one import serialise and the second sees `undone`.
 */
import type { Settings } from '../config.js';
import { lockForTransaction, withTransaction } from '../db/connection.js';
import { deleteImportRows, findRowOwners, getDataTable, getImportRowState } from '../db/dataTables.js';
import { deleteImports, lockImport, markUndone, type ImportRecord } from '../db/history.js';
import { countLaterDuplicatesOf } from '../db/importDuplicates.js';
import { countMappingErrors } from '../db/mappingErrors.js';
import { AtlasError, NotFoundError } from '../errors.js';
import { withDatabase, type DatabaseListener } from './database.js';
import { checkImportId, resolveImport } from './history.js';
import { formatAbsoluteTime } from '../transform/time.js';

/** What `atlas undo` was asked to do. */
export interface UndoOptions {
  /** Only report what would be removed; change nothing. @default false */
  dryRun: boolean;
  /** Undo even when the import's rows changed since it ran, or its table is gone. @default false */
  force: boolean;
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
  /** Why the undo needs --force, or null when it does not. */
  force_reason: string | null;
  /** Rows removed; null in a dry run. */
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
  if (r.status === 'interrupted') {
    return new AtlasError(`import ${r.import_id} was interrupted: its process ended before committing, so it has no rows to undo`, { hint: purge });
  }
  return new AtlasError(`import ${r.import_id} ${r.status === 'failed' ? 'failed' : `is ${r.status}`}: it committed no rows, so there is nothing to undo`, { hint: purge });
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

/** Undoes one import (by id or unambiguous 8+ character prefix). `undone_by` is `settings.user`. */
export async function undoImport(settings: Settings, idOrPrefix: string, options: UndoOptions): Promise<UndoResult> {
  checkImportId(idOrPrefix);
  const schema = settings.schema;
  return withDatabase(settings, options.onDatabase, async (client) => {
    const found = await resolveImport(client, schema, idOrPrefix);
    return withTransaction(client, async () => {
      const locked = await lockImport(client, schema, found.import_id);
      if (locked === null) throw new NotFoundError(`import ${found.import_id} was deleted meanwhile`);
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
        // failed, interrupted or undone: no rows. Only --purge has something to do: delete the record.
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
        const state = await getImportRowState(client, schema, table, id, locked.rowXmin);
        result.rows_to_remove = state.rows;
        result.rows_changed = state.changed;
        const recorded = rec.rows_inserted ?? 0;
        if (state.rows !== recorded || state.changed > 0) result.force_reason = describeChange(state.rows, recorded, state.changed);
        result.later_duplicates = await countLaterDuplicatesOf(client, schema, table, id);
      }
      if (result.force_reason !== null && !options.force && !options.dryRun) throw forceRequiredError(result);
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

      const removed = info?.tracked ? await deleteImportRows(client, schema, table, id) : 0;
      // Cannot differ under the lock; if it ever does, roll everything back rather than record a wrong count.
      if (removed !== result.rows_to_remove) throw new AtlasError(`undo of ${id} removed ${removed} row(s), expected ${result.rows_to_remove}; rolled back, nothing was changed`);
      result.rows_removed = removed;
      if (options.purge) {
        await deleteImports(client, schema, [id]);
      } else {
        const { undone_at } = await markUndone(client, schema, id, settings.user, removed);
        result.undone_at = undone_at;
        result.undone_by = settings.user;
      }
      return result;
    });
  });
}
