/**
 * What an import writes into its history record and returns: the facts known before anything is
 * written, the failed record of an import stopped on its mapping errors, a dry run's preview, and
 * the final record of a success or partial import.
 */
import { completeImport, type ImportOutcome } from '../db/history.js';
import { isoTime } from '../transform/time.js';
import { recordModeOutcome } from './upsert.js';
import type { PredictedChanges } from './predictChanges.js';
import type { DryRunResult, ImportResult } from './importTypes.js';
import type { Decision, ErrorsFound, ImportRun, Inserted, Staging, StoppedOnErrors } from './importRun.js';

/** `--dry-run`: what the import would do; the caller rolls the transaction back. */
export function dryRunResult(run: ImportRun, { staged }: Staging, { decided, plan, alreadyImportedBy }: Decision, errors: ErrorsFound, prediction: { predicted: PredictedChanges; failure: string | null } | null): DryRunResult {
  const newNames = new Set(plan.newColumns.map((c) => c.targetName));
  const failure = errors.failure ?? prediction?.failure ?? null;
  return {
    dry_run: true,
    table_name: run.tableName,
    schema: run.schema,
    import_strategy: plan.strategy,
    total_rows_in_file: staged.rows,
    mapping_errors_count: errors.mappingErrors,
    would_fail: failure !== null,
    failure,
    mapping_config: plan.mapping,
    columns_left_out: plan.leftOut,
    columns: plan.columns.map((c) => ({ source: c.sourceName, target: c.targetName, type: c.sqlType, new: newNames.has(c.targetName), notes: decided[staged.columns.indexOf(c.staged)]?.notes ?? [] })),
    first_errors: errors.firstErrors,
    warnings: run.warnings,
    import_mode: run.mode,
    replaces_import_id: run.replaces,
    predicted: failure === null ? prediction!.predicted : null,
    already_imported_by: alreadyImportedBy && { import_id: alreadyImportedBy.import_id, import_timestamp: isoTime(alreadyImportedBy.import_timestamp)! },
  };
}

/** The facts of the history record known before anything is written, whichever way the import ends. */
export function baseRecord(run: ImportRun, staging: Staging, { plan, errorCells, jsonAsText, valuesMadeArrays }: Decision, errors: ErrorsFound) {
  const { input } = run.prepared;
  const { staged, nullValuesApplied } = staging;
  // Keys going into a column that is not jsonb were not made arrays: their values kept their text.
  const lateArrays = Object.fromEntries(Object.entries(staging.lateArrays).filter(([key]) => plan.columns.some((c) => c.sourceName === key && c.readerArrays)));
  return {
    fileHash: input.reader.digest(),
    fileSizeBytes: input.reader.bytes,
    tableName: run.tableName,
    importStrategy: plan.strategy,
    mappingConfig: plan.mapping,
    totalRowsInFile: staged.rows,
    rowsProcessed: staged.rows,
    // Not known until the duplicate check runs (an import over its error budget stops before it).
    duplicatesFound: null,
    validationErrors: errors.mappingErrors,
    parsingTimeSeconds: staging.parsingSeconds,
    duplicateCheckTimeSeconds: null,
    mappingErrorsCount: errors.mappingErrors,
    metadata: {
      ...input.table.details,
      ...(errorCells.total > 0 ? { spreadsheet_errors: errorCells.byColumn } : {}),
      ...errorCells.unread,
      // XML says elements, JSON keys: the records rewritten with each as an array of one.
      ...(Object.keys(lateArrays).length > 0 ? { [input.table.details['format'] === 'xml' ? 'elements_made_arrays' : 'keys_made_arrays']: lateArrays } : {}),
      ...(Object.keys(jsonAsText).length > 0 ? { json_as_text: jsonAsText } : {}),
      ...(Object.keys(valuesMadeArrays).length > 0 ? { values_made_arrays: valuesMadeArrays } : {}),
      ...(plan.leftOut.length > 0 ? { columns_left_out: plan.leftOut } : {}),
      ...(Object.keys(nullValuesApplied).length > 0 ? { null_values_applied: nullValuesApplied } : {}),
      // _imported_at, a timestamp without time zone, is the time in this zone (lineage reads it so).
      time_zone: staging.timeZone,
    } as Record<string, unknown>,
  };
}

export type BaseRecord = ReturnType<typeof baseRecord>;

/**
 * Ends the import as failed on its mapping errors: nothing reaches the target (no DDL has run, or
 * it was rolled back), and the failed record is written beside the errors for the caller to
 * commit, so the user can see why. A failed import does not count as the file's import: once
 * fixed, the same file can be imported.
 */
export async function stopOnErrors(run: ImportRun, record: BaseRecord, message: string, duplicatesFound: number | null): Promise<StoppedOnErrors> {
  await completeImport(run.client, run.schema, run.importId, {
    ...record,
    status: 'failed',
    errorMessage: message,
    warnings: run.warnings,
    duplicatesFound,
    rowsInserted: 0,
    rowsSkipped: record.totalRowsInFile,
    durationSeconds: run.trace.durationSeconds(),
    insertTimeSeconds: null,
    mappingStatus: 'failed',
    metadata: { ...record.metadata, failed_phase: run.trace.phase },
  });
  return { stopped: true, message };
}

/** Writes the final history record (success, or partial: rows inserted and rows rejected) and returns the result. */
export async function recordSuccess(run: ImportRun, { staged, parsingSeconds, nullValuesApplied }: Staging, { plan }: Decision, errors: ErrorsFound, record: BaseRecord, inserted: Inserted, rowsDeleted: number): Promise<ImportResult> {
  await run.options.onPhase?.('committing');
  run.checkCancelled();
  // (An import that inserted none failed earlier.)
  const status: 'success' | 'partial' = errors.rejectedRows > 0 ? 'partial' : 'success';
  const rowsUpdated = inserted.upserted?.updated ?? 0;
  const rowsUnchanged = inserted.upserted?.unchanged ?? inserted.duplicates.unchanged?.rows ?? 0;
  const duplicatesFound = inserted.duplicates.found - (inserted.duplicates.unchanged?.rows ?? 0);
  const rowsSkipped = staged.rows - inserted.rows - rowsUpdated - rowsUnchanged;
  const durationSeconds = run.trace.durationSeconds();
  if (inserted.upserted !== null && inserted.upserted.kept.length > 0) record.metadata.kept_in_place = inserted.upserted.kept;
  const outcome: ImportOutcome = {
    ...record,
    status,
    errorMessage: null,
    warnings: run.warnings,
    duplicatesFound,
    duplicateCheckTimeSeconds: inserted.duplicates.seconds,
    rowsInserted: inserted.rows,
    rowsSkipped,
    durationSeconds,
    insertTimeSeconds: inserted.seconds,
    mappingStatus: errors.mappingErrors > 0 ? 'completed_with_errors' : 'completed',
  };
  // Rows written under a savepoint carry its xid, not the staging table's.
  if (run.writeXid !== null) outcome.metadata.import_xmin = run.writeXid;
  await completeImport(run.client, run.schema, run.importId, outcome, run.writeXid === null ? run.stage : null);
  await recordModeOutcome(run.client, run.schema, run.importId, { mode: run.mode, updated: rowsUpdated, unchanged: rowsUnchanged, deleted: rowsDeleted, replaces: run.replaces });
  const { input } = run.prepared;
  return {
    import_id: run.importId,
    table_name: run.tableName,
    schema: run.schema,
    status,
    import_strategy: plan.strategy,
    file_name: input.opened.fileName,
    file_hash: record.fileHash,
    file_size_bytes: input.reader.bytes,
    total_rows_in_file: staged.rows,
    rows_inserted: inserted.rows,
    rows_skipped: rowsSkipped,
    duplicates_found: duplicatesFound,
    mapping_errors_count: errors.mappingErrors,
    import_mode: run.mode,
    rows_updated: rowsUpdated,
    rows_unchanged: rowsUnchanged,
    rows_deleted: rowsDeleted,
    replaces_import_id: run.replaces,
    duration_seconds: durationSeconds,
    parsing_time_seconds: parsingSeconds,
    duplicate_check_time_seconds: inserted.duplicates.seconds,
    insert_time_seconds: inserted.seconds,
    warnings: run.warnings,
    columns: plan.columns.map((p) => ({ source: p.sourceName, target: p.targetName, type: p.sqlType })),
    columns_left_out: plan.leftOut,
    null_values_applied: nullValuesApplied,
  };
}
