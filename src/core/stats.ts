/** `atlas stats`: figures over the imports of a period. */
import type { Settings } from '../config.js';
import { getEmptyStatistics, getStatistics, type StatsRow } from '../db/history.js';
import { UsageError } from '../errors.js';
import { withExistingSchema, type DatabaseListener } from './database.js';
import { MAX_AGE_DAYS } from './history.js';

/** Which imports `getStats` looks at. */
export interface StatsOptions {
  /** Only imports into this table. @default null (all) */
  table: string | null;
  /** Only imports by this user_id. @default null (all) */
  user: string | null;
  /** Look back this many days from now. @default 30 */
  days: number;
  onDatabase?: DatabaseListener | undefined;
}

/**
 * The spec's statistics, plus the counts it leaves implicit; every count is a number. Each is over
 * the imports of the period (import_timestamp within `period_days` of now, narrowed by table and
 * user), and each can be reproduced with one aggregate over import_history (see the README).
 */
export interface ImportStatistics {
  /** Every import of the period, whatever its status. */
  total_imports: number;
  /** Status success. */
  successful_imports: number;
  /** Failed imports, interrupted ones included (stored as failed): none committed a row. */
  failed_imports: number;
  partial_imports: number;
  /** Imports that committed and were undone since (status undone): neither successful nor failed. */
  undone_imports: number;
  in_progress_imports: number;
  /** successful_imports / total_imports, from 0 to 1 (3 decimals): the spec's formula; null when there were no imports. */
  success_rate: number | null;
  /** Sum of rows_inserted: what the imports inserted, including the rows of imports undone since. */
  total_rows_inserted: number;
  /** Sum of rows_inserted of the success and partial imports: the imports not undone. */
  total_rows_inserted_not_undone: number;
  /** Sum of rows_removed: rows undo deleted. */
  total_rows_removed: number;
  /** Sum of rows_updated: rows already in a table that upserts updated (undone ones included, as in total_rows_inserted). */
  total_rows_updated: number;
  /** Sum of rows_unchanged: records of upserts whose key matched a row holding the same values, rows replaces kept in place. */
  total_rows_unchanged: number;
  /** Sum of rows_deleted: rows replaces and --replace-import deleted (undone ones included). */
  total_rows_deleted: number;
  /** Sum of duplicates_found (rows skipped as duplicates), failed imports' included. */
  total_duplicates_found: number;
  /** Mean duration_seconds of the imports that have one (every one but those running), seconds; null when none has. */
  avg_duration_seconds: number | null;
  /** Distinct tables an import committed rows into (success, partial, or undone since). */
  tables_affected: number;
  /** Distinct user_id. */
  unique_users: number;
  period_days: number;
  /** The period: from `period_start` to `period_end` (now). */
  period_start: string;
  period_end: string;
  table_name: string | null;
  user_id: string | null;
}

/** Statistics of the imports of the last `days` days (by import_timestamp). */
export async function getStats(settings: Settings, options: StatsOptions): Promise<ImportStatistics> {
  if (!Number.isInteger(options.days) || options.days < 1 || options.days > MAX_AGE_DAYS) throw new UsageError(`--days must be a whole number from 1 to ${MAX_AGE_DAYS}`);
  return withExistingSchema(
    settings,
    options,
    async (client) => statisticsOf(await getStatistics(client, settings.schema, { table: options.table, user: options.user, days: options.days }), options),
    async (client) => statisticsOf(await getEmptyStatistics(client, options.days), options),
  );
}

function statisticsOf(s: StatsRow, options: StatsOptions): ImportStatistics {
  return {
    total_imports: s.total,
    successful_imports: s.successful,
    failed_imports: s.failed,
    partial_imports: s.partial,
    undone_imports: s.undone,
    in_progress_imports: s.inProgress,
    success_rate: s.total === 0 ? null : Math.round((s.successful / s.total) * 1000) / 1000,
    total_rows_inserted: s.rowsInserted,
    total_rows_inserted_not_undone: s.rowsInsertedNotUndone,
    total_rows_removed: s.rowsRemoved,
    total_rows_updated: s.rowsUpdated,
    total_rows_unchanged: s.rowsUnchanged,
    total_rows_deleted: s.rowsDeleted,
    total_duplicates_found: s.duplicatesFound,
    avg_duration_seconds: s.avgDurationSeconds,
    tables_affected: s.tablesAffected,
    unique_users: s.uniqueUsers,
    period_days: options.days,
    period_start: s.since,
    period_end: s.until,
    table_name: options.table,
    user_id: options.user,
  };
}
