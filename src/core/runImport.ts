/**
 * The body of one import, inside its transaction: stage every row, decide types and strategy,
 * record mapping errors (or stop at the error budget), create or extend the table, check
 * duplicates, INSERT ... SELECT, and write the final history record.
 */
import type { Settings } from '../config.js';
import { lockForTransaction, type Client } from '../db/connection.js';
import { completeImport, getRecentInsertRate, type ImportOutcome } from '../db/history.js';
import { countErrorRows, insertMappingErrors, type ErrorCounts } from '../db/mappingErrors.js';
import { checkCanAlterTable } from '../db/privileges.js';
import { copyIntoStage, createStage, reshapeLateArrays, type StagedColumn, type StageResult } from '../db/staging.js';
import { countTableColumns, findTypesWithoutHash, getExistingTable, withImportIdCheckSkipped } from '../db/tables.js';
import { AlreadyImportedError, AtlasError, CancelledError, ImportFailedError, UsageError } from '../errors.js';
import { addColumnsSql, createTableSql } from '../transform/ddl.js';
import type { ColumnType } from '../transform/infer.js';
import { overBudget } from '../transform/mapping.js';
import { COLUMN_LIMIT_REASON, importTempTable, MAX_USER_COLUMNS, PG_MAX_COLUMNS, qualify, quoteIdent, reservedRenamesWarning } from '../transform/naming.js';
import { planImport, type ImportPlan } from './plan.js';
import { duplicateCheckSql, errorRowsSql, insertRowsSql, newTableDuplicatesSql, markDuplicatesSql, rehashTableSql, staleRowHashesSql, tableColumnOrder, type TableColumn } from './insertSql.js';
import { findEarlierImport } from './fileDuplicates.js';
import { analyzeStageSql, createValueLookups } from './valueLookups.js';
import { isoTime } from '../transform/time.js';

import { DRY_RUN_ERRORS_SHOWN, seconds, type DryRunResult, type ImportResult, type RunOptions } from './importTypes.js';
import type { Prepared } from './prepareImport.js';
import type { ImportTrace } from './importTrace.js';

export function alreadyImported(tableName: string, earlier: { import_id: string; import_timestamp: Date }): AlreadyImportedError {
  return new AlreadyImportedError(
    { importId: earlier.import_id, importTimestamp: isoTime(earlier.import_timestamp)!, tableName },
    'nothing to do; to load it again pass --allow-same-file (rows are still checked for duplicates) or --force',
  );
}

/** work_mem for an import's transaction: enough to sort and hash a few million staged rows in memory. */
const IMPORT_WORK_MEM = '128MB';
/** temp_buffers for the staging table (PostgreSQL's default, 8MB, makes it go through the OS cache at once). */
const IMPORT_TEMP_BUFFERS = '64MB';

/**
 * Thrown inside the transaction when the import fails on its mapping errors (past the budget, or
 * no row left to insert): the errors and the failed record are committed, no data and no DDL.
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
  /** The import runs inside an atomic batch's transaction, which it must not commit. @default false */
  inBatchTransaction?: boolean;
}

/** Rows at each end of a table whose stored `_row_hash` is checked before the duplicate check trusts it. */
const STALE_HASH_SAMPLE = 50;

/** Refuses, before any DDL, new columns that would take an existing table past PostgreSQL's limit. */
async function checkRoomForColumns(client: Client, schema: string, tableName: string, adding: number): Promise<void> {
  const { total, dropped } = await countTableColumns(client, schema, tableName);
  if (total + adding <= PG_MAX_COLUMNS) return;
  const counted = dropped > 0 ? ` (${dropped} of them dropped, which PostgreSQL still counts)` : '';
  throw new AtlasError(`table ${tableName} has ${total} columns${counted}; the ${adding} new column(s) this file brings would take it past PostgreSQL's limit of ${PG_MAX_COLUMNS}`, {
    hint: `import into a new table with --table NAME, or leave columns out with "ignore": true in a --mapping file${dropped > 0 ? '; a copy of the table (create table ... as select) has no dropped columns' : ''}`,
  });
}

/**
 * Raises temp_buffers for this transaction where the session allows it. A session that has used
 * temporary tables refuses any other value, which happens behind a pooler (another client's
 * session): there the savepoint, which writes nothing, undoes the refusal and the session keeps
 * its own.
 */
async function setTempBuffers(client: Client): Promise<void> {
  await client.query('savepoint atlas_temp_buffers');
  try {
    await client.query(`set local temp_buffers = '${IMPORT_TEMP_BUFFERS}'`);
    await client.query('release savepoint atlas_temp_buffers');
  } catch {
    await client.query('rollback to savepoint atlas_temp_buffers');
    await client.query('release savepoint atlas_temp_buffers');
  }
}

export async function runImport(client: Client, settings: Settings, options: RunOptions, ctx: RunContext): Promise<ImportResult | DryRunResult> {
  const schema = settings.schema;
  const { importId, tableName, prepared, trace } = ctx;
  const { input, mapping, budget } = prepared;
  const signal = options.signal;
  const checkCancelled = (): void => {
    if (signal?.aborted) throw new CancelledError();
  };
  const warnings: string[] = [];
  trace.warnings = warnings;

  // Stage every row; Node sees every value on the way.
  await options.onPhase?.('staging');
  checkCancelled();
  const stage = importTempTable(importId, 'stage');
  // For this transaction only: sorts and hashes over millions of staged rows stay in memory
  // instead of spilling to disk (measured: the duplicate check of 1M rows went from 23 s to a few),
  // and the staging table gets more local buffers (settable only before it is first used).
  await client.query(`set local work_mem = '${IMPORT_WORK_MEM}'`);
  await setTempBuffers(client);
  if (input.table.kind === 'fixed' && input.table.header.length > MAX_USER_COLUMNS) {
    throw new AtlasError(`the file has ${input.table.header.length} columns, more than the ${MAX_USER_COLUMNS} atlas can put in one table: ${COLUMN_LIMIT_REASON}`, {
      hint: 'split the columns across several files (repeat a key column in each, to join them), then import each into its own table',
    });
  }
  await createStage(client, stage, input.table);
  const targets = new Map(Object.entries(mapping.columns ?? {}).flatMap(([src, spec]) => (spec.target ? [[src, spec.target] as const] : [])));
  const parseStart = performance.now();
  const onChunk = options.onProgress ? (rows: number) => options.onProgress?.({ bytesRead: input.reader.bytes, totalBytes: input.opened.sizeBytes, rows }) : undefined;
  const staged: StageResult = await copyIntoStage(client, stage, input.table, targets, prepared.nullValuesOf, signal, onChunk);
  await onChunk?.(staged.rows);
  checkCancelled();
  const lateArrays = input.table.kind === 'keyed' ? await reshapeLateArrays(client, stage, staged, input.table) : {};
  const parsingSeconds = seconds(performance.now() - parseStart);
  Object.assign(trace, { totalRows: staged.rows, parsingSeconds });
  if (input.table.kind === 'keyed' && mapping.columns) {
    const known = new Set(staged.columns.map((c) => c.sourceName));
    const unknown = Object.keys(mapping.columns).filter((c) => !c.startsWith('//') && !known.has(c));
    if (unknown.length > 0) throw new UsageError(`mapping file ${options.mappingFile}: column(s) not in the file: ${unknown.join(', ')}`);
  }
  if (input.table.kind === 'fixed') warnings.push(...(input.table.warnings ?? []));
  warnings.push(...input.notes, ...staged.notes);
  if (staged.rows === 0) {
    // Nothing to create a table from or to add to one: a failure a script notices, not a success with nothing in it.
    const what = input.table.kind === 'fixed' ? 'a header but no data rows' : 'no records';
    throw new AtlasError(`nothing to import: the file has ${what}; no table was created or changed`, { hint: 'check that the export is complete (an empty file is most often a failed export)' });
  }
  if (staged.nulValues > 0) warnings.push(`${staged.nulValues} value(s) contained NUL bytes, which PostgreSQL text cannot hold; they were removed (recorded in _corrections_applied)`);
  const renamed = reservedRenamesWarning(staged.columns, targets);
  if (renamed !== null) warnings.push(renamed);

  // Types and strategy. One import at a time decides the shape of, and writes into, a given table.
  await options.onPhase?.('checking types');
  checkCancelled();
  const decided: ColumnType[] = staged.columns.map((c) => c.stats.decide());
  decided.forEach((d, i) => d.notes.forEach((note) => warnings.push(`${staged.columns[i]!.targetName}: ${note}`)));
  await lockForTransaction(client, `atlas:table:${schema}.${tableName}`);
  if (!options.dryRun && !options.force && !options.allowSameFile) {
    const earlier = await findEarlierImport(client, schema, tableName, { hash: input.reader.digest() }, importId);
    if (earlier) throw alreadyImported(tableName, earlier);
  }
  const existing = await getExistingTable(client, schema, tableName);
  if (existing !== null) await findTypesWithoutHash(client, existing.columns);
  const plan = planImport({ tableName, staged: staged.columns, decided, existing, mapping, forced: options.strategy ?? null });
  Object.assign(trace, { strategy: plan.strategy, mappingConfig: plan.mapping });
  warnings.push(...plan.warnings);
  const errorCells = countErrorCells(plan.columns.map((c) => c.staged), options.strict === true);
  warnings.push(...errorCells.warnings);
  if (plan.missingRequired.length > 0) {
    throw new AtlasError(`table ${tableName} requires column(s) the file does not have: ${plan.missingRequired.join(', ')} (NOT NULL without a default)`);
  }
  if (existing && plan.newColumns.length > 0) await checkRoomForColumns(client, schema, tableName, plan.newColumns.length);
  if (existing) {
    const required = new Set(existing.columns.filter((c) => c.required).map((c) => c.name));
    for (const c of plan.columns) if (required.has(c.targetName)) Object.assign(c, { required: true, checkValidity: true });
  }
  // The staging table's row count for the planner, and the distinct values of the columns that
  // might get a value lookup (createValueLookups); not a dry run's (it runs neither).
  if (!options.dryRun) for (const sql of analyzeStageSql(stage, plan)) await client.query(sql);
  checkCancelled();

  // Values that cannot be stored, and ragged rows: mapping errors; their rows stay out.
  const hasPgInputIsValid = ctx.serverVersion >= 160000;
  const errors = errorRowsSql({ schema, stage, plan, hasPgInputIsValid, raggedRows: staged.raggedRows, width: staged.columns.length, errorCellsAreErrors: options.strict === true });
  let mappingErrors = 0;
  /** Records with at least one mapping error: they stay out of the table. */
  let rejectedRows = 0;
  let firstErrors: Array<Record<string, unknown>> = [];
  if (errors !== null) {
    let counts: ErrorCounts;
    if (options.dryRun) {
      counts = await countErrorRows(client, errors);
      firstErrors = (await client.query(`select * from (${errors.sql}) e order by record_number limit ${DRY_RUN_ERRORS_SHOWN}`, errors.params)).rows;
    } else {
      counts = await insertMappingErrors(client, schema, importId, errors);
    }
    mappingErrors = counts.errors;
    rejectedRows = counts.records;
  }
  trace.validationErrors = mappingErrors;
  const mappingConfig = plan.mapping;
  const fileErrors = mappingErrors === 1 ? '1 mapping error' : `${mappingErrors} mapping errors`;
  // Why the import fails before writing anything, if it does.
  let failure: string | null = null;
  if (overBudget(budget, mappingErrors, staged.rows)) {
    const limit = budget?.kind === 'percent' ? `${budget.value}% of ${staged.rows} rows` : `${budget?.value ?? 0}`;
    failure = `${mappingErrors} mapping error(s), more than the ${options.strict ? '--strict limit of 0' : `--max-errors limit of ${limit}`}; nothing was imported`;
  } else if (rejectedRows === staged.rows) {
    failure = `every one of the ${staged.rows} record(s) has a mapping error (${fileErrors}); nothing was imported`;
  }
  const leftOut = plan.leftOut;
  const nullValuesApplied = Object.fromEntries(staged.columns.filter((c) => c.nulled > 0).map((c) => [c.targetName, c.nulled]));

  if (options.dryRun) {
    const newNames = new Set(plan.newColumns.map((c) => c.targetName));
    return {
      dry_run: true,
      table_name: tableName,
      schema,
      import_strategy: plan.strategy,
      total_rows_in_file: staged.rows,
      mapping_errors_count: mappingErrors,
      would_fail: failure !== null,
      failure,
      mapping_config: mappingConfig,
      columns_left_out: leftOut,
      columns: plan.columns.map((c) => ({ source: c.sourceName, target: c.targetName, type: c.sqlType, new: newNames.has(c.targetName), notes: decided[staged.columns.indexOf(c.staged)]?.notes ?? [] })),
      first_errors: firstErrors,
      warnings,
    };
  }

  const base = {
    fileHash: input.reader.digest(),
    fileSizeBytes: input.reader.bytes,
    tableName,
    importStrategy: plan.strategy,
    mappingConfig,
    totalRowsInFile: staged.rows,
    rowsProcessed: staged.rows,
    // Not known until the duplicate check runs (an import over its error budget stops before it).
    duplicatesFound: null,
    validationErrors: mappingErrors,
    parsingTimeSeconds: parsingSeconds,
    duplicateCheckTimeSeconds: null,
    mappingErrorsCount: mappingErrors,
    metadata: {
      ...input.table.details,
      ...(errorCells.total > 0 ? { spreadsheet_errors: errorCells.byColumn } : {}),
      ...(Object.keys(lateArrays).length > 0 ? { elements_made_arrays: lateArrays } : {}),
      ...(leftOut.length > 0 ? { columns_left_out: leftOut } : {}),
      ...(Object.keys(nullValuesApplied).length > 0 ? { null_values_applied: nullValuesApplied } : {}),
    },
  };

  /**
   * Ends the import as failed on its mapping errors: nothing reaches the target (no DDL has run,
   * or it was rolled back), and the errors and the failed record commit, so the user can see why.
   * A failed import does not count as the file's import: once fixed, the same file can be imported.
   */
  const failOnErrors = async (message: string, duplicatesFound: number | null): Promise<never> => {
    await completeImport(client, schema, importId, {
      ...base,
      status: 'failed',
      errorMessage: message,
      warnings,
      duplicatesFound,
      rowsInserted: 0,
      rowsSkipped: staged.rows,
      durationSeconds: trace.durationSeconds(),
      insertTimeSeconds: null,
      mappingStatus: 'failed',
      metadata: { ...base.metadata, failed_phase: trace.phase },
    });
    if (ctx.inBatchTransaction !== true) {
      await client.query('commit');
      await client.query('begin'); // withTransaction's COMMIT then ends an empty transaction
    }
    throw new FailedOnErrorsError(`import ${importId} into ${tableName} failed: ${message}`, importId, {
      hint: `see the errors with: atlas errors ${importId}; fix the file or the mapping and import it again`,
    });
  };
  // The duplicate check has not run: duplicates_found stays NULL (unknown), not 0.
  if (failure !== null) await failOnErrors(failure, null);
  // Where every row without a mapping error may turn out to be a duplicate (see below), the DDL and
  // the duplicate records are made so that they can be taken back.
  const mayInsertNothing = existing !== null && rejectedRows > 0 && options.dedupe !== false && !options.force;
  if (mayInsertNothing) await client.query('savepoint atlas_before_writing');
  const said = { warnings: warnings.length, metadata: { ...base.metadata } };

  /**
   * Recomputes every row's `_row_hash`, and records this transaction's id in the history record:
   * the UPDATE gives the rows of earlier imports a new xmin, which undo then knows is atlas's own
   * rewrite, not a change by someone else (see getImportRowState).
   */
  const rehash = async (columns: ReadonlyArray<TableColumn>): Promise<number> => {
    const res = await client.query(rehashTableSql(schema, tableName, columns));
    const xid = await client.query<{ x: string }>(`select (txid_current() % 4294967296)::text as x`);
    Object.assign(base.metadata, { rehash_xmin: xid.rows[0]!.x, rehashed_rows: res.rowCount ?? 0 });
    return res.rowCount ?? 0;
  };

  // Create or extend the table, then the one INSERT ... SELECT.
  const newTable = plan.strategy === 'new_table' ? createTableSql(schema, tableName, plan.columns.map((p) => ({ name: p.targetName, sqlType: p.type.sql }))) : null;
  if (newTable) {
    await client.query(newTable.create);
  } else if (plan.newColumns.length > 0) {
    await checkCanAlterTable(client, schema, tableName);
    for (const sql of addColumnsSql(schema, tableName, plan.newColumns.map((p) => ({ name: p.targetName, sqlType: p.type.sql })))) await client.query(sql);
    if (existing?.hasRowHash) await rehash(tableColumnOrder(plan, existing.columns));
  }
  checkCancelled();

  // Row-level duplicates: one set-based check against the table and the file itself, before the
  // INSERT for an existing table; for a new table, after it (see newTableDuplicatesSql).
  const tableColumns = tableColumnOrder(plan, existing ? existing.columns : null);
  const rowHashColumns = existing === null || existing.hasRowHash ? tableColumns : null;
  const dedupe = options.dedupe !== false && !options.force;
  const key = dedupe ? resolveKey(prepared.key, plan) : [];
  const allColumns = key.length === tableColumns.length && tableColumns.every((c) => key.includes(c.name));
  const keptInto = { schema, table: 'import_duplicates', fkColumn: 'import_id', importId };
  let excludeDups: string | null = null;
  let duplicatesFound = 0;
  let duplicateSeconds: number | null = null;
  /** Staged rows without a mapping error, when the duplicate check counted them. */
  let validRows: number | null = null;
  if (dedupe && !newTable) {
    await options.onPhase?.('checking duplicates');
    checkCancelled();
    const dedupeStart = performance.now();
    const useStoredHash = rowHashColumns !== null && allColumns;
    if (useStoredHash && plan.newColumns.length === 0) {
      // (New columns were just rehashed above.)
      const stale = await client.query<{ stale: number }>(staleRowHashesSql(schema, tableName, tableColumns, STALE_HASH_SAMPLE));
      if (stale.rows[0]!.stale > 0) {
        const rows = await rehash(tableColumns);
        warnings.push(`${tableName}'s stored row hashes did not match its columns (one dropped or retyped outside atlas?): recomputed for its ${rows} row(s) before the duplicate check`);
      }
    }
    const converted = importTempTable(importId, 'conv');
    const found = importTempTable(importId, 'dups');
    const check = duplicateCheckSql({ schema, stage, plan, hasPgInputIsValid, tableName, importId, tableColumns, key, useStoredHash, converted, found });
    validRows = (await client.query(check.source)).rowCount ?? 0;
    await client.query(check.analyze);
    duplicatesFound = (await client.query(check.find)).rowCount ?? 0;
    if (mayInsertNothing && duplicatesFound === validRows) {
      // Nothing new would be inserted and the rest was rejected: a failure, not a partial import
      // (which would keep the same file, once fixed, from being imported again). Added columns,
      // row hashes and duplicate records are taken back; the count stays in the record.
      await client.query('rollback to savepoint atlas_before_writing');
      warnings.length = said.warnings; // (a rehash and its warning were taken back too)
      base.metadata = said.metadata;
      await failOnErrors(
        `the ${validRows} record(s) without a mapping error are all already in ${tableName} (duplicates) and the other ${rejectedRows} have mapping errors (${fileErrors}); nothing was imported`,
        duplicatesFound,
      );
    }
    if (duplicatesFound > 0) {
      await client.query(check.analyzeFound);
      // Kept in import_duplicates (see withImportIdCheckSkipped).
      const kept = await withImportIdCheckSkipped(client, keptInto, () => client.query(check.keep, check.params));
      if (kept.rowCount !== duplicatesFound) throw new AtlasError(`internal error: ${duplicatesFound} duplicate(s) found but ${kept.rowCount} kept; nothing was imported`);
    }
    // Its disk space (as much as the staging table's) is not held through the INSERT.
    await client.query(`drop table ${quoteIdent(converted)}`);
    // Few duplicates: mark them in the staging table (cost grows with the duplicates). Mostly
    // duplicates: leave them out with an anti-join and keep file order with a sort (cost grows
    // with the rows still to insert, few in this case). None left: nothing to do.
    if (duplicatesFound > 0 && duplicatesFound < validRows) {
      if (duplicatesFound * 2 <= validRows) await client.query(markDuplicatesSql(stage, found));
      else excludeDups = found;
    }
    duplicateSeconds = seconds(performance.now() - dedupeStart);
    Object.assign(trace, { duplicatesFound, duplicateCheckSeconds: duplicateSeconds });
    checkCancelled();
  }

  // Every valid row a duplicate (the same file again): no statement to run.
  const toInsert = validRows === null || duplicatesFound < validRows;
  if (options.onInsert && toInsert) {
    // Told before the phase starts, so that its first report already says what it inserts.
    const earlier = await getRecentInsertRate(client, schema);
    const rows = (validRows ?? staged.rows) - duplicatesFound;
    options.onInsert(earlier !== null ? { rows, rowsPerSecond: earlier, basis: 'earlier imports' } : { rows, rowsPerSecond: parsingSeconds > 0 ? staged.rows / parsingSeconds : null, basis: 'staging' });
  }
  await options.onPhase?.('inserting');
  checkCancelled();
  const insertStart = performance.now();
  const lookups = toInsert ? await createValueLookups(client, { stage, plan, rows: staged.rows, schema, hasPgInputIsValid, importId }) : new Map<string, string>();
  const insert = insertRowsSql({ schema, stage, tableName, plan, hasPgInputIsValid, importId, rowHashColumns, readerFixes: staged.rowsWithFixes > 0, excludeDups, lookups });
  // A new table gets its foreign key after the INSERT (one validating join); an existing one checks
  // it per row unless that check can be skipped.
  const runInsert = () => client.query(insert.sql, insert.params);
  let rowsInserted = 0;
  if (toInsert) {
    const inserted = newTable ? await runInsert() : await withImportIdCheckSkipped(client, { schema, table: tableName, fkColumn: '_import_id', importId }, runInsert);
    rowsInserted = inserted.rowCount ?? 0;
  }
  let insertMs = performance.now() - insertStart;
  trace.insertSeconds = seconds(insertMs);
  checkCancelled();
  if (newTable) {
    if (dedupe) {
      await options.onPhase?.('checking duplicates');
      checkCancelled();
      const dedupeStart = performance.now();
      const check = newTableDuplicatesSql({ schema, tableName, importId, plan, key, useStoredHash: allColumns });
      const counts = await withImportIdCheckSkipped(client, keptInto, () => client.query<{ duplicates: number; removed: number }>(check.sql, check.params));
      duplicatesFound = counts.rows[0]!.duplicates;
      rowsInserted -= counts.rows[0]!.removed;
      duplicateSeconds = seconds(performance.now() - dedupeStart);
      Object.assign(trace, { duplicatesFound, duplicateCheckSeconds: duplicateSeconds });
      checkCancelled();
    }
    const finishStart = performance.now();
    for (const sql of newTable.finish) await client.query(sql);
    insertMs += performance.now() - finishStart;
    checkCancelled();
  }
  const insertSeconds = seconds(insertMs);
  trace.insertSeconds = insertSeconds;

  await options.onPhase?.('committing');
  checkCancelled();
  // Partial: rows inserted and rows rejected (an import that inserted none failed above).
  const status: 'success' | 'partial' = rejectedRows > 0 ? 'partial' : 'success';
  const durationSeconds = trace.durationSeconds();
  const outcome: ImportOutcome = {
    ...base,
    status,
    errorMessage: null,
    warnings,
    duplicatesFound,
    duplicateCheckTimeSeconds: duplicateSeconds,
    rowsInserted,
    rowsSkipped: staged.rows - rowsInserted,
    durationSeconds,
    insertTimeSeconds: insertSeconds,
    mappingStatus: mappingErrors > 0 ? 'completed_with_errors' : 'completed',
  };
  await completeImport(client, schema, importId, outcome);
  return {
    import_id: importId,
    table_name: tableName,
    schema,
    status,
    import_strategy: plan.strategy,
    file_name: input.opened.fileName,
    file_hash: base.fileHash,
    file_size_bytes: input.reader.bytes,
    total_rows_in_file: staged.rows,
    rows_inserted: rowsInserted,
    rows_skipped: staged.rows - rowsInserted,
    duplicates_found: duplicatesFound,
    mapping_errors_count: mappingErrors,
    duration_seconds: durationSeconds,
    parsing_time_seconds: parsingSeconds,
    duplicate_check_time_seconds: duplicateSeconds,
    insert_time_seconds: insertSeconds,
    warnings,
    columns: plan.columns.map((p) => ({ source: p.sourceName, target: p.targetName, type: p.sqlType })),
    columns_left_out: leftOut,
    null_values_applied: nullValuesApplied,
  };
}

/**
 * Spreadsheet error cells (`#DIV/0!`, `#N/A`, ...) by column: one warning per column saying how
 * many and which, and the counts for the history record's metadata.
 */
function countErrorCells(columns: readonly StagedColumn[], strict: boolean): { warnings: string[]; byColumn: Record<string, number>; total: number } {
  const warnings: string[] = [];
  const byColumn = Object.create(null) as Record<string, number>; // keys are column names: `__proto__` is one too
  let total = 0;
  for (const c of columns) {
    if (c.errorCells === null) continue;
    const counts = [...c.errorCells];
    const n = counts.reduce((sum, [, k]) => sum + k, 0);
    byColumn[c.targetName] = n;
    total += n;
    const which = counts.map(([text, k]) => `${text} ${k}`).join(', ');
    warnings.push(
      strict
        ? `${c.targetName}: ${n} spreadsheet error cell(s) (${which}): mapping errors under --strict`
        : `${c.targetName}: ${n} spreadsheet error cell(s) (${which}) stored as NULL; each cell's error is in its row's _corrections_applied`,
    );
  }
  return { warnings, byColumn, total };
}

/** The uniqueness columns as target names: the ones named (by target or source name), else every column the file brings. */
function resolveKey(named: string[] | null, plan: ImportPlan): string[] {
  if (named === null) return plan.columns.map((c) => c.targetName);
  return named.map((k) => {
    const col = plan.columns.find((c) => c.targetName === k) ?? plan.columns.find((c) => c.sourceName === k);
    if (!col) throw new AtlasError(`key column ${k} is not among the columns this import writes`, { hint: 'check --key against the file and the table' });
    return col.targetName;
  });
}
