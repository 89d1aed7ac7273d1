/**
 * The body of one import, inside its transaction, as its phases: stage every row, decide types
 * and plan (importDecide.ts), record mapping errors (or stop at the error budget), create or
 * extend the table, check duplicates (rowDuplicates.ts), INSERT ... SELECT, and write the final
 * history record (importRecord.ts). What the phases hand each other: importRun.ts.
 */
import type { Settings } from '../config.js';
import { savepointXid, useImportSettings, type Client } from '../db/connection.js';
import { getRecentInsertRate, rememberedTargets } from '../db/history.js';
import { countErrorRows, insertMappingErrors, type ErrorCounts } from '../db/mappingErrors.js';
import { checkCanAlterTable } from '../db/privileges.js';
import { copyIntoStage, createStage, reshapeLateArrays } from '../db/staging/index.js';
import { analyzeNewTableRowHash, listUnsanitisedColumns, serverFillsRows, withImportIdCheckSkipped } from '../db/tables.js';
import { AtlasError, CancelledError } from '../errors.js';
import { addColumnsSql, createTableSql, type NewTableSql } from '../transform/ddl.js';
import { overBudget } from '../transform/mapping.js';
import { COLUMN_LIMIT_REASON, importTempTable, mappingKeysOf, MAX_USER_COLUMNS, qualify, quoteIdent, reservedRenamesWarning, sanitizeIdentifier } from '../transform/naming.js';
import { NUM_RE } from '../transform/infer.js';
import { WIDEST_EARLY } from '../formats/csv/index.js';
import type { ImportPlan } from './plan.js';
import { errorRowsSql } from './sql/errorRows.js';
import { insertRowsSql } from './sql/insertRows.js';
import { rehashImportRowsSql, tableColumnOrder, type TableColumn } from './sql/rowHash.js';
import { createValueLookups } from './valueLookups.js';
import { applyUpsert, clearForReplace, countRowsByImport, keyConflictErrorsSql, keyIndexSql, markKeyConflicts, type UpsertCounts } from './upsert.js';
import { predictChanges, predictUniqueViolation, type PredictArgs, type PredictedChanges } from './predictChanges.js';
import { DRY_RUN_ERRORS_SHOWN, msToSeconds, type DryRunResult, type ImportResult, type RunOptions } from './importTypes.js';
import { checkMappingColumns } from './prepareImport.js';
import type { SessionReuse } from './importSession.js';
import { checksRows, comparesWholeRows, isWholeRow, resolveKey, type Decision, type Duplicates, type ErrorsFound, type ImportRun, type Inserted, type RunContext, type Staging, type StoppedOnErrors } from './importRun.js';
import { decideTypesAndPlan } from './importDecide.js';
import { checkAllRows, checkDuplicates, noDuplicateCheck, rehash, removeNewTableDuplicates } from './rowDuplicates.js';
import { baseRecord, dryRunResult, recordSuccess, stopOnErrors, type BaseRecord } from './importRecord.js';

/** temp_buffers for the staging table (PostgreSQL's default, 8MB, makes it go through the OS cache at once). */
const IMPORT_TEMP_BUFFERS = '64MB';

/**
 * Raises temp_buffers for this transaction where the session allows it. A session that has used
 * temporary tables refuses any other value, which happens behind a pooler (another client's
 * session): there the savepoint, which writes nothing, undoes the refusal and the session keeps
 * its own. Once a staging table has been written the session's buffers are allocated for good, so
 * a batch's later files skip these four round trips (ImportSession.reuse).
 */
async function setTempBuffers(client: Client, reuse: SessionReuse): Promise<void> {
  if (reuse.tempBuffersFixed) return;
  await client.query('savepoint atlas_temp_buffers');
  try {
    await client.query(`set local temp_buffers = '${IMPORT_TEMP_BUFFERS}'`);
    await client.query('release savepoint atlas_temp_buffers');
  } catch {
    await client.query('rollback to savepoint atlas_temp_buffers');
    await client.query('release savepoint atlas_temp_buffers');
  }
}

/**
 * One import, inside its transaction: its phases in order. Returns the result, a dry run's
 * preview, or the stop on mapping errors, whose record the caller commits.
 */
export async function importInTransaction(client: Client, settings: Settings, options: RunOptions, ctx: RunContext): Promise<ImportResult | DryRunResult | StoppedOnErrors> {
  // (A wait of the record's connection, before this, is noted there already.)
  const warnings: string[] = ctx.trace.warnings ?? [];
  ctx.trace.warnings = warnings;
  const run: ImportRun = {
    ...ctx,
    client,
    schema: settings.schema,
    options,
    warnings,
    stage: importTempTable(ctx.importId, 'stage'),
    writeXid: null,
    hasPgInputIsValid: ctx.serverVersion >= 160000,
    checkCancelled: () => {
      if (options.signal?.aborted) throw new CancelledError();
    },
  };

  const staging = await stageRows(run);
  const decision = await decideTypesAndPlan(run, staging);
  const errors = await findMappingErrors(run, staging, decision);
  if (options.dryRun) return dryRunResult(run, staging, decision, errors, errors.failure === null ? await predictDryRun(run, decision) : null);

  const record = baseRecord(run, staging, decision, errors);
  if (errors.failure !== null) return stopOnErrors(run, record, errors.failure, null);
  // Where every row without a mapping error may turn out to be a duplicate, the DDL and the
  // duplicate records are made so that they can be taken back (see checkDuplicates).
  // (Not a full replace: it keeps the rows the file repeats, which is not nothing.)
  const mayInsertNothing = decision.existing !== null && errors.rejectedRows > 0 && options.dedupe !== false && !options.force && run.mode !== 'replace';
  if (mayInsertNothing) {
    await client.query('savepoint atlas_before_writing');
    run.writeXid = await savepointXid(client, importTempTable(run.importId, 'xid'));
  }
  const said = { warnings: warnings.length, metadata: { ...record.metadata } };

  const newTable = await createOrExtendTable(run, decision, record);
  const dedupe = checksRows(run);
  const key = dedupe ? resolveKey(run.prepared.key, decision.plan) : [];
  // Replace: the rows go (their pre-images kept) before the duplicate check, which then compares
  // the file with the rows that stay; readers see them all until the commit. A full replace that
  // compares whole rows keeps in place the rows the file repeats: the check finds them, the others go.
  const inPlace = run.mode === 'replace' && decision.existing !== null && dedupe && comparesWholeRows(decision.plan, decision.existing, key);
  const clearsFirst = decision.existing !== null && (run.mode === 'replace' || run.mode === 'replace_import') && !inPlace;
  let rowsDeleted = clearsFirst ? await clearForReplace(client, { schema: run.schema, table: run.tableName, importId: run.importId, only: run.replaces }) : 0;
  const dups = dedupe && newTable === null ? await checkAllRows(run, () => checkDuplicates(run, staging, decision, record, key, mayInsertNothing, inPlace)) : noDuplicateCheck;
  if (dups.unchanged) {
    rowsDeleted = await clearForReplace(client, { schema: run.schema, table: run.tableName, importId: run.importId, only: null, unchanged: dups.unchanged.table ?? undefined });
    record.metadata.kept_in_place = await countRowsByImport(client, run.schema, run.tableName);
  }
  if (dups.allDuplicatesOfValidRows) {
    // Nothing new would be inserted and the rest was rejected: a failure, not a partial import
    // (which would keep the same file, once fixed, from being imported again). Added columns,
    // row hashes and duplicate records are taken back; the count stays in the record.
    await client.query('rollback to savepoint atlas_before_writing');
    run.writeXid = null;
    warnings.length = said.warnings; // (a rehash and its warning were taken back too)
    record.metadata = said.metadata;
    const fileErrors = errors.mappingErrors === 1 ? '1 mapping error' : `${errors.mappingErrors} mapping errors`;
    return stopOnErrors(
      run,
      record,
      `the ${dups.validRows} record(s) without a mapping error are all already in ${run.tableName} (duplicates) and the other ${errors.rejectedRows} have mapping errors (${fileErrors}); nothing was imported`,
      dups.found,
    );
  }
  const inserted = await noteRowsNotStored(run, staging, errors, record, await insertRows(run, staging, decision, dups, newTable, dedupe, key));
  return recordSuccess(run, staging, decision, errors, record, inserted, rowsDeleted);
}

/**
 * Headers that make the same column name (`Sales %` and `Sales $` are both `sales`; the later one
 * gets `sales_2`): each goes to the column the table's earlier imports put that header in, so that
 * a file with them in another order does not swap their values. Said when they are first named,
 * and when a file's order differs from the one that named them.
 */
async function matchCollidingHeaders(run: ImportRun, header: readonly string[], targets: Map<string, string>): Promise<void> {
  const keys = mappingKeysOf(header);
  const names = header.map((h) => sanitizeIdentifier(h));
  const colliding = keys.filter((k, i) => !targets.has(k) && names.some((n, j) => j !== i && n === names[i]));
  if (colliding.length === 0) return;
  const remembered = await rememberedTargets(run.client, run.schema, run.tableName, colliding);
  // Only when every one of them is remembered, each in a column of its own: else the file's order decides, as for a new table.
  const all = colliding.every((k) => remembered.has(k)) && new Set(colliding.map((k) => remembered.get(k))).size === colliding.length;
  const list = colliding.map((k) => JSON.stringify(k)).join(', ');
  if (!all) {
    run.warnings.push(`headers ${list} make the same column name: named by their order in the file (a suffix _2, _3, ... after the first; mapping_config records which went where); later files are matched to these columns by their header`);
    return;
  }
  for (const k of colliding) targets.set(k, remembered.get(k)!);
  // Said when the file's order would have put one into another's column (the first of a name gets it bare, the next _2, ...).
  const seen = new Map<string, number>();
  const byOrder = colliding.map((k) => {
    const name = names[keys.indexOf(k)]!;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
  if (colliding.some((k, i) => remembered.get(k) !== byOrder[i])) {
    run.warnings.push(`headers ${list} make the same column name and come in another order than before: each goes into the column earlier imports of ${run.tableName} put it in (${colliding.map((k) => `${JSON.stringify(k)} -> ${remembered.get(k)}`).join(', ')})`);
  }
}

/** Stages every row in a TEMP table; Node sees every value on the way (inference). */
async function stageRows(run: ImportRun): Promise<Staging> {
  const { client, options, prepared, trace, warnings } = run;
  const { input, mapping } = prepared;
  await options.onPhase?.('staging');
  run.checkCancelled();
  // For this transaction only: sorts and hashes over millions of staged rows stay in memory
  // instead of spilling to disk (docs/decisions.md), and the staging table gets more local buffers (settable only before it is first used).
  const { timeZone } = await useImportSettings(client);
  await setTempBuffers(client, run.reuse);
  if (input.table.kind === 'fixed' && input.table.header.length > MAX_USER_COLUMNS) {
    throw new AtlasError(`the file has ${input.table.header.length} columns, more than the ${MAX_USER_COLUMNS} atlas can put in one table: ${COLUMN_LIMIT_REASON}`, {
      hint: 'split the columns across several files (repeat a key column in each, to join them), then import each into its own table',
    });
  }
  await createStage(client, run.stage, input.table);
  const targets = new Map(Object.entries(mapping.columns ?? {}).flatMap(([src, spec]) => (spec.target ? [[src, spec.target] as const] : [])));
  // A header spelled exactly as an existing column sanitising would not reach ("Order Date") goes into it, not into a new order_date.
  const header = input.table.kind === 'fixed' ? input.table.header : null;
  if (header === null || header.some((h) => sanitizeIdentifier(h) !== h)) {
    for (const name of await listUnsanitisedColumns(client, run.schema, run.tableName)) if (!targets.has(name)) targets.set(name, name);
  }
  if (header !== null) await matchCollidingHeaders(run, header, targets);
  const parseStart = performance.now();
  const onChunk = options.onProgress ? (rows: number) => options.onProgress?.({ bytesRead: input.reader.bytes, totalBytes: input.opened.sizeBytes, rows }) : undefined;
  const staged = await copyIntoStage(client, run.stage, input.table, targets, prepared.nullValuesOf, options.signal, onChunk);
  run.reuse.tempBuffersFixed = true;
  await onChunk?.(staged.rows);
  run.checkCancelled();
  const changed = input.opened.changedSinceOpened?.() ?? null;
  if (changed !== null) {
    throw new AtlasError(`${input.opened.fileName ?? 'the file'} changed while atlas read it (${changed}): is it still being written? Nothing was imported`, {
      hint: 'import it once it is complete (a batch skips files named *.part or *.tmp, for writers that rename a file when it is done)',
    });
  }
  const lateArrays = input.table.kind === 'keyed' ? await reshapeLateArrays(client, run.stage, staged, input.table) : {};
  const parsingSeconds = msToSeconds(performance.now() - parseStart);
  Object.assign(trace, { totalRows: staged.rows, parsingSeconds });
  // (A fixed table's mapping columns were checked against its header before reading: prepareImport.ts.)
  if (input.table.kind === 'keyed') checkMappingColumns(options.mappingFile, mapping, staged.columns.map((c) => c.mappingKey));
  warnings.push(...(input.table.warnings ?? []));
  warnings.push(...input.notes, ...staged.notes);
  if (staged.rows === 0) {
    // Nothing to create a table from or to add to one: a failure a script notices, not a success with nothing in it.
    const what = input.table.kind === 'fixed' ? 'a header but no data rows' : 'no records';
    // A header of numbers alone is a line of data (statsmodels' one-line result files).
    const numbers = input.table.kind === 'fixed' && options.header !== false && input.table.header.every((h) => NUM_RE.test(h.trim()));
    throw new AtlasError(`nothing to import: the file has ${what}; no table was created or changed`, {
      hint: numbers ? 'its one line, read as the header, is all numbers: if it is data, import with --no-header' : 'check that the export is complete (an empty file is most often a failed export)',
    });
  }
  if (staged.nulValues > 0) warnings.push(`${staged.nulValues} value(s) contained NUL bytes, which PostgreSQL text cannot hold; they were removed (recorded in _corrections_applied)`);
  const renamed = reservedRenamesWarning(staged.columns, targets);
  if (renamed !== null) warnings.push(renamed);
  const nullValuesApplied = Object.fromEntries(staged.columns.filter((c) => c.nulled > 0).map((c) => [c.targetName, c.nulled]));
  return { staged, lateArrays, parsingSeconds, nullValuesApplied, timeZone };
}

/** Values that cannot be stored, and ragged rows: mapping errors, recorded (counted in a dry run); their rows stay out. */
async function findMappingErrors(run: ImportRun, { staged }: Staging, { plan, upsertKey }: Decision): Promise<ErrorsFound> {
  const { client, schema, options, importId } = run;
  let errors = errorRowsSql({ schema, stage: run.stage, plan, hasPgInputIsValid: run.hasPgInputIsValid, raggedRows: staged.raggedRows, width: staged.columns.length, widthFrom: options.header === false ? WIDEST_EARLY : 'the header', errorCellsAreErrors: options.strict === true });
  if (upsertKey) {
    // Records sharing a key within the file: mapping errors, all of them.
    const params = errors?.params ?? [];
    const conflicts = keyConflictErrorsSql({ schema, stage: run.stage, plan, key: upsertKey, hasPgInputIsValid: run.hasPgInputIsValid, params });
    errors = { sql: errors === null ? conflicts : `${errors.sql}\nunion all\n${conflicts}`, params };
  }
  let counts: ErrorCounts = { errors: 0, records: 0 };
  let firstErrors: Array<Record<string, unknown>> = [];
  if (errors !== null) {
    if (options.dryRun) {
      counts = await countErrorRows(client, errors);
      firstErrors = (await client.query(`select * from (${errors.sql}) e order by record_number limit ${DRY_RUN_ERRORS_SHOWN}`, errors.params)).rows;
    } else {
      counts = await insertMappingErrors(client, schema, importId, errors);
      if (upsertKey && counts.errors > 0) await markKeyConflicts(client, schema, run.stage, importId);
    }
  }
  run.trace.validationErrors = counts.errors;
  const budget = run.prepared.budget;
  let failure: string | null = null;
  if (overBudget(budget, counts.errors, staged.rows)) {
    const limit = budget?.kind === 'percent' ? `${budget.value}% of ${staged.rows} rows` : `${budget?.value ?? 0}`;
    failure = `${counts.errors} mapping error(s), more than the ${options.strict ? '--strict limit of 0' : `--max-errors limit of ${limit}`}; nothing was imported`;
  } else if (counts.records === staged.rows) {
    const fileErrors = counts.errors === 1 ? '1 mapping error' : `${counts.errors} mapping errors`;
    failure = `every one of the ${staged.rows} record(s) has a mapping error (${fileErrors}); nothing was imported`;
  }
  return { mappingErrors: counts.errors, rejectedRows: counts.records, firstErrors, failure };
}

/**
 * `--dry-run`: the rows the import would insert, update, leave unchanged and delete, and the
 * duplicates it would skip, or why it would fail on a unique index of the table (core/predictChanges.ts).
 */
async function predictDryRun(run: ImportRun, { existing, plan, upsertKey }: Decision): Promise<{ predicted: PredictedChanges; failure: string | null }> {
  const key = checksRows(run) ? resolveKey(run.prepared.key, plan) : null;
  const args: PredictArgs = {
    client: run.client, schema: run.schema, table: run.tableName, stage: run.stage, mode: run.mode, replaces: run.replaces, plan,
    existingColumns: existing === null ? null : new Set(existing.columns.map((c) => c.name)),
    upsertKey, dedupeKey: key, keepsInPlace: run.mode === 'replace' && existing !== null && key !== null && comparesWholeRows(plan, existing, key), hasPgInputIsValid: run.hasPgInputIsValid,
  };
  const predicted = await predictChanges(args);
  return { predicted, failure: await predictUniqueViolation(args) };
}

/** Creates the table (returning its DDL's second half, run after the INSERT) or adds the file's new columns. */
async function createOrExtendTable(run: ImportRun, { existing, plan, upsertKey }: Decision, record: BaseRecord): Promise<NewTableSql | null> {
  const { client, schema, tableName } = run;
  const newTable = plan.strategy === 'new_table' ? createTableSql(schema, tableName, plan.columns.map((p) => ({ name: p.targetName, sqlType: p.type.sql }))) : null;
  if (newTable && upsertKey) newTable.finish.push(keyIndexSql(schema, tableName, upsertKey.map((k) => k.name), run.serverVersion));
  if (newTable) {
    await client.query(newTable.create);
  } else if (plan.newColumns.length > 0) {
    await checkCanAlterTable(client, schema, tableName);
    for (const sql of addColumnsSql(schema, tableName, plan.newColumns.map((p) => ({ name: p.targetName, sqlType: p.type.sql })))) await client.query(sql);
    if (existing?.hasRowHash) await rehash(run, record, tableColumnOrder(plan, existing.columns));
  }
  run.checkCancelled();
  return newTable;
}

/**
 * The one INSERT ... SELECT of every staged row without a mapping error and not a duplicate. A new
 * table then has its duplicates removed (newTableDuplicatesSql) and gets its indexes and foreign
 * key (one validating join); an existing one checks the key per row unless that can be skipped.
 */
async function insertRows(run: ImportRun, { staged, parsingSeconds }: Staging, { existing, plan, upsertKey }: Decision, dups: Duplicates, newTable: NewTableSql | null, dedupe: boolean, key: string[]): Promise<Inserted> {
  const { client, schema, tableName, importId, options } = run;
  const tableColumns = tableColumnOrder(plan, existing ? existing.columns : null);
  const rowHashColumns = existing === null || existing.hasRowHash ? tableColumns : null;
  // Every valid row a duplicate (the same file again): no statement to run.
  const toInsert = dups.validRows === null || dups.found < dups.validRows;
  if (options.onInsert && toInsert) {
    // Told before the phase starts, so that its first report already says what it inserts.
    const earlier = await getRecentInsertRate(client, schema);
    const rows = (dups.validRows ?? staged.rows) - dups.found;
    options.onInsert(earlier !== null ? { rows, rowsPerSecond: earlier, basis: 'earlier imports' } : { rows, rowsPerSecond: parsingSeconds > 0 ? staged.rows / parsingSeconds : null, basis: 'staging' });
  }
  await options.onPhase?.('inserting');
  run.checkCancelled();
  const start = performance.now();
  const fromConverted = dups.converted;
  const lookups = toInsert && fromConverted === null ? await createValueLookups(client, { stage: run.stage, plan, rows: staged.rows, schema, hasPgInputIsValid: run.hasPgInputIsValid, importId }) : new Map<string, string>();
  // An upsert into an existing table converts the rows into a temp table first, then updates and inserts from it.
  const upsertInto = upsertKey && !newTable ? importTempTable(importId, 'upsrc') : null;
  const insert = insertRowsSql({
    schema, stage: run.stage, tableName, plan, hasPgInputIsValid: run.hasPgInputIsValid, importId, rowHashColumns, readerFixes: staged.rowsWithFixes > 0, lookups, fromConverted,
    ...(upsertInto === null ? {} : { into: `pg_temp.${quoteIdent(upsertInto)}` }),
  });
  const runInsert = () => client.query(insert.sql, insert.params);
  let rows = 0;
  let upserted: UpsertCounts | null = null;
  if (toInsert && upsertKey && upsertInto !== null) {
    upserted = await applyUpsert(client, {
      schema, table: tableName, importId, conv: upsertInto, fill: insert,
      columns: plan.columns.map((c) => ({ name: c.targetName, type: c.type })), tableColumns, key: upsertKey, hasRowHash: existing?.hasRowHash === true,
    });
    rows = upserted.inserted;
  } else if (toInsert) {
    const inserted = newTable ? await runInsert() : await withImportIdCheckSkipped(client, { schema, table: tableName, fkColumn: '_import_id', importId }, runInsert);
    rows = inserted.rowCount ?? 0;
  }
  if (toInsert && existing?.hasRowHash) await hashStoredRows(run, plan, tableColumns);
  let insertMs = performance.now() - start;
  run.trace.insertSeconds = msToSeconds(insertMs);
  run.checkCancelled();
  let duplicates = dups;
  if (newTable) {
    if (dedupe) {
      const removed = await removeNewTableDuplicates(run, plan, key, isWholeRow(key, tableColumns));
      duplicates = removed.duplicates;
      rows -= removed.rows;
    }
    const finishStart = performance.now();
    for (const sql of newTable.finish) await client.query(sql);
    await analyzeNewTableRowHash(client, schema, tableName);
    insertMs += performance.now() - finishStart;
    run.checkCancelled();
  }
  const seconds = msToSeconds(insertMs);
  run.trace.insertSeconds = seconds;
  return { rows, upserted, seconds, duplicates };
}

/**
 * The INSERT hashes the values it writes, NULL for a column the file lacks: where the server
 * stores others (a default, a trigger), `_row_hash` is taken again from the stored rows, so that
 * a later file bringing those values finds them as duplicates.
 */
async function hashStoredRows(run: ImportRun, plan: ImportPlan, tableColumns: ReadonlyArray<TableColumn>): Promise<void> {
  const brought = new Set(plan.columns.map((c) => c.targetName));
  const leftOut = tableColumns.filter((c) => !brought.has(c.name)).map((c) => c.name);
  if (!(await serverFillsRows(run.client, run.schema, run.tableName, leftOut))) return;
  await run.client.query(rehashImportRowsSql(run.schema, run.tableName, tableColumns), [run.importId]);
}

/**
 * Rows an append (or an upsert, of new keys) sent that the table itself did not store: a BEFORE
 * trigger returned NULL for them, or wrote them elsewhere (an inheritance child, where they are
 * this import's rows and count as inserted). INSERT's row count says only how many the table
 * took; each kind is said in a warning and counted in metadata.
 */
async function noteRowsNotStored(run: ImportRun, { staged }: Staging, errors: ErrorsFound, record: BaseRecord, inserted: Inserted): Promise<Inserted> {
  const check = `(see the triggers in \\d ${run.schema}.${run.tableName})`;
  const notStored = (dropped: number): void => {
    record.metadata.rows_not_stored = dropped;
    run.warnings.push(`${dropped} row(s) sent to ${run.tableName} were not stored: a trigger on it left them out ${check}; counted as skipped (metadata.rows_not_stored)`);
  };
  if (inserted.upserted !== null) {
    if (inserted.upserted.notStored > 0) notStored(inserted.upserted.notStored);
    return inserted;
  }
  const sent = staged.rows - errors.rejectedRows - inserted.duplicates.found;
  if (inserted.rows >= sent) return inserted;
  const table = qualify(run.schema, run.tableName);
  const res = await run.client.query<{ n: number }>(`select count(*)::int as n from ${table} t where t._import_id = $1::uuid and t.tableoid <> to_regclass($2)`, [run.importId, table]);
  const diverted = res.rows[0]!.n;
  const dropped = sent - inserted.rows - diverted;
  if (dropped > 0) notStored(dropped);
  if (diverted > 0) {
    record.metadata.rows_stored_in_child_tables = diverted;
    run.warnings.push(`${diverted} row(s) sent to ${run.tableName} were stored by a trigger in its inheritance child tables ${check}; counted as inserted (metadata.rows_stored_in_child_tables)`);
  }
  return { ...inserted, rows: inserted.rows + diverted };
}
