/**
 * The body of one import, inside its transaction, as its phases: stage every row, decide types
 * and plan, record mapping errors (or stop at the error budget), create or extend the table,
 * check duplicates, INSERT ... SELECT, and write the final history record.
 */
import type { Settings } from '../config.js';
import { lockForTransaction, useImportSettings, withRowSecurityOff, type Client } from '../db/connection.js';
import { completeImport, getRecentInsertRate, type ImportOutcome } from '../db/history.js';
import { countErrorRows, insertMappingErrors, type ErrorCounts } from '../db/mappingErrors.js';
import { checkCanAlterTable } from '../db/privileges.js';
import { copyIntoStage, countJsonValues, countNonArrays, createStage, reshapeLateArrays, type StagedColumn, type StageResult } from '../db/staging/index.js';
import { analyzeNewTableRowHash, countTableColumns, findArrayColumns, findTypesWithoutHash, getExistingTable, listUnsanitisedColumns, serverFillsRows, tableFingerprint, withImportIdCheckSkipped, type ExistingTable } from '../db/tables.js';
import { AlreadyImportedError, AtlasError, CancelledError, ImportFailedError } from '../errors.js';
import { EXCEL_PHANTOM_DATE, FORMULA_NOT_CALCULATED } from '../formats/shared/index.js';
import { addColumnsSql, createTableSql, type NewTableSql } from '../transform/ddl.js';
import type { ColumnType } from '../transform/infer.js';
import { overBudget } from '../transform/mapping.js';
import { COLUMN_LIMIT_REASON, importTempTable, MAX_USER_COLUMNS, PG_MAX_COLUMNS, qualify, quoteIdent, reservedRenamesWarning, sanitizeIdentifier } from '../transform/naming.js';
import { planImport, type ImportPlan, type PlannedColumn } from './plan.js';
import { deleteDuplicatesSql, duplicateCheckSql, newTableDuplicatesSql } from './sql/duplicates.js';
import { errorRowsSql } from './sql/errorRows.js';
import { insertRowsSql, type ConvertedRows } from './sql/insertRows.js';
import { rehashImportRowsSql, rehashTableSql, staleRowHashesSql, tableColumnOrder, type TableColumn } from './sql/rowHash.js';
import { findEarlierImport } from './fileDuplicates.js';
import { analyzeLookupCandidatesSql, analyzeStageRowsSql, createValueLookups } from './valueLookups.js';
import { isoTime } from '../transform/time.js';
import { isTextType } from '../transform/typeSql.js';
import { applyUpsert, checkKeyUniqueInTable, checkReplaceTarget, checkTableHasId, clearForReplace, countRowsByImport, keyConflictErrorsSql, keyIndexSql, markKeyConflicts, recordModeOutcome, type ImportMode, type KeyColumn, type UpsertCounts } from './upsert.js';

import { predictChanges, predictUniqueViolation, type PredictArgs, type PredictedChanges } from './predictChanges.js';
import { DRY_RUN_ERRORS_SHOWN, msToSeconds, type DryRunResult, type ImportResult, type RunOptions } from './importTypes.js';
import { checkMappingColumns, type Prepared } from './prepareImport.js';
import type { ImportTrace } from './importTrace.js';
import type { SessionReuse } from './importSession.js';

export function alreadyImported(tableName: string, earlier: { import_id: string; import_timestamp: Date }): AlreadyImportedError {
  return new AlreadyImportedError(
    { importId: earlier.import_id, importTimestamp: isoTime(earlier.import_timestamp)!, tableName },
    'nothing to do; to load it again pass --allow-same-file (rows are still checked for duplicates) or --force',
  );
}

/** temp_buffers for the staging table (PostgreSQL's default, 8MB, makes it go through the OS cache at once). */
const IMPORT_TEMP_BUFFERS = '64MB';

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

/** The import stopped on its mapping errors: its failed record and the errors are written, no data; the caller commits them. */
export interface StoppedOnErrors {
  stopped: true;
  message: string;
}

/** What every phase of one import reads: the connection, the settings, the options, and the warnings collected so far. */
interface ImportRun extends RunContext {
  client: Client;
  schema: string;
  options: RunOptions;
  warnings: string[];
  /** The TEMP staging table. */
  stage: string;
  hasPgInputIsValid: boolean;
  checkCancelled(): void;
}

/** The rows staged, and what staging learnt of them. */
interface Staging {
  staged: StageResult;
  lateArrays: Record<string, unknown>;
  parsingSeconds: number;
  nullValuesApplied: Record<string, number>;
}

/** The types and the plan against the existing table, if any. */
interface Decision {
  decided: ColumnType[];
  existing: ExistingTable | null;
  plan: ImportPlan;
  errorCells: ReturnType<typeof countErrorCells>;
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

/** The converted rows made by convertEarly: the statement that made them, and their count. */
interface EarlyConversion {
  source: string;
  validRows: number;
  /** The table as read then, and its fingerprint taken just before: reused under the lock when the fingerprint is the same. */
  existing: ExistingTable;
  fingerprint: string;
}

/** The mapping errors found (and, unless a dry run, recorded), and why the import must stop, if it must. */
interface ErrorsFound {
  mappingErrors: number;
  /** Records with at least one mapping error: they stay out of the table. */
  rejectedRows: number;
  firstErrors: Array<Record<string, unknown>>;
  failure: string | null;
}

/** The duplicate check's findings. */
interface Duplicates {
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

/**
 * One import, inside its transaction: its phases in order. Returns the result, a dry run's
 * preview, or the stop on mapping errors, whose record the caller commits.
 */
export async function importInTransaction(client: Client, settings: Settings, options: RunOptions, ctx: RunContext): Promise<ImportResult | DryRunResult | StoppedOnErrors> {
  const warnings: string[] = [];
  ctx.trace.warnings = warnings;
  const run: ImportRun = {
    ...ctx,
    client,
    schema: settings.schema,
    options,
    warnings,
    stage: importTempTable(ctx.importId, 'stage'),
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
  if (mayInsertNothing) await client.query('savepoint atlas_before_writing');
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

/** Row-level duplicates are checked. Upsert compares by key, matching rows being updates, not duplicates (core/upsert.ts). */
function checksRows({ options, mode }: ImportRun): boolean {
  return options.dedupe !== false && !options.force && mode !== 'upsert';
}

/** Stages every row in a TEMP table; Node sees every value on the way (inference). */
async function stageRows(run: ImportRun): Promise<Staging> {
  const { client, options, prepared, trace, warnings } = run;
  const { input, mapping } = prepared;
  await options.onPhase?.('staging');
  run.checkCancelled();
  // For this transaction only: sorts and hashes over millions of staged rows stay in memory
  // instead of spilling to disk (docs/decisions.md), and the staging table gets more local buffers (settable only before it is first used).
  await useImportSettings(client);
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
  const parseStart = performance.now();
  const onChunk = options.onProgress ? (rows: number) => options.onProgress?.({ bytesRead: input.reader.bytes, totalBytes: input.opened.sizeBytes, rows }) : undefined;
  const staged = await copyIntoStage(client, run.stage, input.table, targets, prepared.nullValuesOf, options.signal, onChunk);
  run.reuse.tempBuffersFixed = true;
  await onChunk?.(staged.rows);
  run.checkCancelled();
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
    throw new AtlasError(`nothing to import: the file has ${what}; no table was created or changed`, { hint: 'check that the export is complete (an empty file is most often a failed export)' });
  }
  if (staged.nulValues > 0) warnings.push(`${staged.nulValues} value(s) contained NUL bytes, which PostgreSQL text cannot hold; they were removed (recorded in _corrections_applied)`);
  const renamed = reservedRenamesWarning(staged.columns, targets);
  if (renamed !== null) warnings.push(renamed);
  const nullValuesApplied = Object.fromEntries(staged.columns.filter((c) => c.nulled > 0).map((c) => [c.targetName, c.nulled]));
  return { staged, lateArrays, parsingSeconds, nullValuesApplied };
}

/**
 * Decides the column types from every staged value, then the strategy and column plan against the
 * table. From here one import at a time decides the shape of, and writes into, a given table; the
 * file-level duplicate check is repeated under that lock.
 */
async function decideTypesAndPlan(run: ImportRun, { staged }: Staging): Promise<Decision> {
  const { client, schema, options, tableName, warnings, prepared, trace } = run;
  await options.onPhase?.('checking types');
  // The staging table's row count for the planner (not a dry run's: it runs none of the statements it serves).
  if (!options.dryRun) for (const sql of analyzeStageRowsSql(run.stage)) await client.query(sql);
  const decided: ColumnType[] = staged.columns.map((c) => c.stats.decide());
  const early = run.waitTurn !== null && !options.dryRun && checksRows(run) ? await convertEarly(run, staged, decided) : null;
  await run.waitTurn?.();
  run.checkCancelled();
  await lockForTransaction(client, `atlas:table:${schema}.${tableName}`);
  let alreadyImportedBy = null;
  if (!options.force && !options.allowSameFile) {
    alreadyImportedBy = await findEarlierImport(client, schema, tableName, { hash: prepared.input.reader.digest() }, run.importId, options);
    if (alreadyImportedBy && !options.dryRun) throw alreadyImported(tableName, alreadyImportedBy);
  }
  const fingerprint = early !== null ? await tableFingerprint(client, schema, tableName) : null;
  const existing = early !== null && fingerprint === early.fingerprint ? early.existing : await getExistingTable(client, schema, tableName);
  if (existing !== null && existing !== early?.existing) await findTypesWithoutHash(client, existing.columns);
  // Read again under the lock: rows may have come since the early conversion's reading (which is reused only for the same statement: checkDuplicates).
  if (existing !== null && prepared.input.table.kind === 'keyed') await findArrayColumns(client, schema, tableName, existing.columns);
  const plan = planFor(run, staged, decided, existing);
  warnings.push(...inferenceNotes(staged, decided, plan));
  Object.assign(trace, { strategy: plan.strategy, mappingConfig: plan.mapping });
  warnings.push(...plan.warnings);
  const jsonAsText = await noteJsonAsText(run, plan);
  const valuesMadeArrays = await noteValuesMadeArrays(run, plan);
  const errorCells = countErrorCells(plan.columns.map((c) => c.staged), options.strict === true);
  warnings.push(...errorCells.warnings);
  // Upsert, replace: refused before anything is written when the table cannot take them (core/upsert.ts).
  const upsertKey: KeyColumn[] | null = run.mode === 'upsert' ? resolveKey(prepared.key, plan).map((name) => ({ name, type: plan.columns.find((c) => c.targetName === name)!.type })) : null;
  if (run.mode !== 'append' && existing) await checkTableHasId(client, schema, tableName, run.mode);
  if (upsertKey && existing) await checkKeyUniqueInTable(client, schema, tableName, upsertKey);
  if (run.replaces !== null) await checkReplaceTarget(client, schema, tableName, run.replaces);
  if (plan.missingRequired.length > 0) {
    throw new AtlasError(`table ${tableName} requires column(s) the file does not have: ${plan.missingRequired.join(', ')} (NOT NULL without a default)`);
  }
  if (existing && plan.newColumns.length > 0) await checkRoomForColumns(client, schema, tableName, plan.newColumns.length);
  // The distinct values of the columns that might get a value lookup (createValueLookups): not
  // where the INSERT reads the duplicate check's converted rows (an existing table, rows checked).
  const lookupsPossible = !options.dryRun && !(existing !== null && checksRows(run));
  const analyzeCandidates = lookupsPossible ? analyzeLookupCandidatesSql(run.stage, plan, staged.rows) : null;
  if (analyzeCandidates !== null) await client.query(analyzeCandidates);
  run.checkCancelled();
  return { decided, existing, plan, errorCells, upsertKey, alreadyImportedBy, early, fingerprint, jsonAsText, valuesMadeArrays };
}

/**
 * JSON going into an existing text column (one key, one shape makes a new column jsonb): a
 * string is its text, and an array or object its JSON text, said once per column and counted.
 */
async function noteJsonAsText(run: ImportRun, plan: ImportPlan): Promise<Record<string, number>> {
  const columns = plan.columns.filter((c) => c.jsonAsText && c.type.base !== null && isTextType(c.type.base));
  const counts = await countJsonValues(run.client, run.stage, columns.map((c) => c.staged));
  return noteCounts(run, columns, counts, (n, c) => `${n} value(s) of ${c.sourceName} are JSON arrays or objects, stored as their JSON text: column ${c.targetName} of ${run.tableName} is ${c.type.base}, not jsonb (counted in metadata.json_as_text)`);
}

/** The columns whose count is above 0, by target name, each said once in a warning. */
function noteCounts(run: ImportRun, columns: readonly PlannedColumn[], counts: readonly number[], say: (n: number, c: PlannedColumn) => string): Record<string, number> {
  const found = Object.create(null) as Record<string, number>;
  columns.forEach((c, i) => {
    const n = counts[i]!;
    if (n === 0) return;
    found[c.targetName] = n;
    run.warnings.push(say(n, c));
  });
  return found;
}

/**
 * A reader's values going into an existing column of JSON arrays where this file's key held none:
 * each is an array of one, as in one file (one key, one shape), said once per column and counted.
 */
async function noteValuesMadeArrays(run: ImportRun, plan: ImportPlan): Promise<Record<string, number>> {
  const columns = plan.columns.filter((c) => c.readerArrays && !c.staged.arrays);
  const counts = await countNonArrays(run.client, run.stage, columns.map((c) => c.staged));
  return noteCounts(run, columns, counts, (n, c) => `${n} value(s) of ${c.sourceName} are not arrays, each stored as an array of one: column ${c.targetName} of ${run.tableName} holds JSON arrays (counted in metadata.values_made_arrays)`);
}

/** The plan of the staged columns against the table (a NULL its NOT NULL column would refuse is a mapping error). */
function planFor(run: ImportRun, staged: StageResult, decided: ColumnType[], existing: ExistingTable | null): ImportPlan {
  // The key given by --key is the mapping's too: mapping_config, a valid mapping file, keeps it.
  const mapping = run.prepared.key === null ? run.prepared.mapping : { ...run.prepared.mapping, key: run.prepared.key };
  const rowIds = ({ upsert: 'an upsert', replace: 'a replace', replace_import: '--replace-import', append: checksRows(run) ? 'the duplicate check' : null } as const)[run.mode];
  const plan = planImport({ tableName: run.tableName, staged: staged.columns, decided, existing, mapping, forced: run.options.strategy ?? null, upsert: run.mode === 'upsert', rowIds });
  if (existing) {
    // NOT NULL with a default too: the default fills a column the file lacks, not a NULL it brings.
    const required = new Set(existing.columns.filter((c) => c.notNull).map((c) => c.name));
    for (const c of plan.columns) if (required.has(c.targetName)) Object.assign(c, { required: true, checkValidity: true });
  }
  return plan;
}

/**
 * In a batch, makes the duplicate check's converted rows while the file before this one writes,
 * from the table as it is then (read without its lock). checkDuplicates uses them when the plan
 * made under the lock gives the same statement, else makes them again. Null when the table does
 * not exist yet, gets new columns, or anything is in the way (the import then finds it under the lock).
 */
async function convertEarly(run: ImportRun, staged: StageResult, decided: ColumnType[]): Promise<EarlyConversion | null> {
  const { client, schema, tableName } = run;
  let check: ReturnType<typeof duplicateCheckSql>;
  let existing: ExistingTable | null;
  let fingerprint: string | null;
  try {
    // The fingerprint first: a change between the two reads then shows as a different one under the lock.
    fingerprint = await tableFingerprint(client, schema, tableName);
    existing = await getExistingTable(client, schema, tableName);
    if (existing === null || fingerprint === null) return null;
    await findTypesWithoutHash(client, existing.columns);
    if (run.prepared.input.table.kind === 'keyed') await findArrayColumns(client, schema, tableName, existing.columns);
    const plan = planFor(run, staged, decided, existing);
    if (plan.newColumns.length > 0) return null;
    check = duplicateCheckFor(run, staged, plan, existing, resolveKey(run.prepared.key, plan)).check;
  } catch (err) {
    if (err instanceof AtlasError) return null;
    throw err;
  }
  await client.query('savepoint atlas_convert_early');
  try {
    const validRows = (await client.query(check.source)).rowCount ?? 0;
    await client.query(check.analyze);
    await client.query('release savepoint atlas_convert_early');
    return { source: check.source, validRows, existing, fingerprint };
  } catch (err) {
    if (run.options.signal?.aborted) throw err;
    await client.query('rollback to savepoint atlas_convert_early');
    return null;
  }
}

/** Values that cannot be stored, and ragged rows: mapping errors, recorded (counted in a dry run); their rows stay out. */
async function findMappingErrors(run: ImportRun, { staged }: Staging, { plan, upsertKey }: Decision): Promise<ErrorsFound> {
  const { client, schema, options, importId } = run;
  let errors = errorRowsSql({ schema, stage: run.stage, plan, hasPgInputIsValid: run.hasPgInputIsValid, raggedRows: staged.raggedRows, width: staged.columns.length, errorCellsAreErrors: options.strict === true });
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

/** `--dry-run`: what the import would do; the caller rolls the transaction back. */
function dryRunResult(run: ImportRun, { staged }: Staging, { decided, plan, alreadyImportedBy }: Decision, errors: ErrorsFound, prediction: { predicted: PredictedChanges; failure: string | null } | null): DryRunResult {
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
function baseRecord(run: ImportRun, staging: Staging, { plan, errorCells, jsonAsText, valuesMadeArrays }: Decision, errors: ErrorsFound) {
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
    } as Record<string, unknown>,
  };
}
type BaseRecord = ReturnType<typeof baseRecord>;

/**
 * Ends the import as failed on its mapping errors: nothing reaches the target (no DDL has run, or
 * it was rolled back), and the failed record is written beside the errors for the caller to
 * commit, so the user can see why. A failed import does not count as the file's import: once
 * fixed, the same file can be imported.
 */
async function stopOnErrors(run: ImportRun, record: BaseRecord, message: string, duplicatesFound: number | null): Promise<StoppedOnErrors> {
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

/**
 * Recomputes every row's `_row_hash`, and records this transaction's id in the history record:
 * the UPDATE gives the rows of earlier imports a new xmin, which undo then knows is atlas's own
 * rewrite, not a change by someone else (see getImportRowState).
 */
async function rehash(run: ImportRun, record: BaseRecord, columns: ReadonlyArray<TableColumn>): Promise<number> {
  const res = await run.client.query(rehashTableSql(run.schema, run.tableName, columns));
  const xid = await run.client.query<{ x: string }>(`select (txid_current() % 4294967296)::text as x`);
  Object.assign(record.metadata, { rehash_xmin: xid.rows[0]!.x, rehashed_rows: res.rowCount ?? 0 });
  return res.rowCount ?? 0;
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

const noDuplicateCheck: Duplicates = { found: 0, seconds: null, validRows: null, converted: null };

/** Where the import's duplicate records go (import_duplicates, under this import's id). */
const keptInto = (run: ImportRun) => ({ schema: run.schema, table: 'import_duplicates', fkColumn: 'import_id', importId: run.importId });

/**
 * The duplicate check compares with every row of the table: a row-level security policy hiding
 * some from this role would let their copies in unseen, so it fails instead (withRowSecurityOff),
 * and the INSERT after it meets the table's policies as usual.
 */
async function checkAllRows(run: ImportRun, check: () => Promise<Duplicates>): Promise<Duplicates> {
  const dups = await withRowSecurityOff(run.client, `cannot check ${run.prepared.input.opened.fileName} for duplicates`, check, ', or import with --no-dedupe (no duplicate check)');
  await run.client.query('set local row_security = on');
  return dups;
}

/**
 * Row-level duplicates in an existing table: one set-based check against the table and the file
 * itself, before the INSERT (a new table's are removed after it: see insertRows). The duplicate
 * records are kept in import_duplicates.
 */
async function checkDuplicates(run: ImportRun, { staged }: Staging, { existing, plan, early, fingerprint }: Decision, record: BaseRecord, key: string[], mayInsertNothing: boolean, inPlace: boolean): Promise<Duplicates> {
  const { client, schema, tableName, warnings } = run;
  await run.options.onPhase?.('checking duplicates');
  run.checkCancelled();
  const start = performance.now();
  const { tableColumns, useStoredHash, converted, foundTable, sameTable, check } = duplicateCheckFor(run, staged, plan, existing!, key, inPlace);
  const checkedKey = `${schema}.${tableName}`;
  const checkedBefore = fingerprint !== null && run.reuse.hashesChecked?.get(checkedKey) === fingerprint;
  if (useStoredHash && plan.newColumns.length === 0 && !checkedBefore) {
    // (New columns were just rehashed by createOrExtendTable.)
    const stale = await client.query<{ stale: number }>(staleRowHashesSql(schema, tableName, tableColumns, STALE_HASH_SAMPLE));
    if (stale.rows[0]!.stale > 0) {
      const rows = await rehash(run, record, tableColumns);
      warnings.push(`${tableName}'s stored row hashes did not match its columns (one dropped or retyped outside atlas?): recomputed for its ${rows} row(s) before the duplicate check`);
    } else if (fingerprint !== null) (run.reuse.hashesChecked ??= new Map()).set(checkedKey, fingerprint);
  }
  let validRows: number;
  if (early !== null && early.source === check.source) validRows = early.validRows;
  else {
    if (early !== null) await client.query(`drop table ${quoteIdent(converted)}`);
    validRows = (await client.query(check.source)).rowCount ?? 0;
    await client.query(check.analyze);
  }
  const found = (await client.query(check.find)).rowCount ?? 0;
  // Every row without a mapping error a duplicate, the others rejected: the caller stops (nothing kept).
  if (mayInsertNothing && found === validRows) return { found, seconds: null, validRows, converted: null, allDuplicatesOfValidRows: true };
  let unchanged: Duplicates['unchanged'];
  if (found > 0) {
    await client.query(check.analyzeFound);
    if (check.unchanged !== null) {
      unchanged = { table: sameTable, rows: (await client.query(check.unchanged)).rowCount ?? 0 };
      await client.query(`analyze ${quoteIdent(sameTable!)}`);
    }
    // Kept in import_duplicates (see withImportIdCheckSkipped).
    const duplicates = found - (unchanged?.rows ?? 0);
    const kept = duplicates === 0 ? { rowCount: 0 } : await withImportIdCheckSkipped(client, keptInto(run), () => client.query(check.keep, check.params));
    if (kept.rowCount !== duplicates) throw new AtlasError(`internal error: ${duplicates} duplicate(s) found but ${kept.rowCount} kept; nothing was imported`);
  } else if (check.unchanged !== null) {
    // No table row repeated: every one goes.
    unchanged = { table: null, rows: 0 };
  }
  // The INSERT reads the converted rows (not converting the staged ones again). Few duplicates:
  // deleted from them (cost grows with the duplicates). Mostly duplicates: left out with an
  // anti-join, file order kept by a sort (cost grows with the rows still to insert, few here).
  let exclude: string | null = null;
  if (found > 0 && found < validRows) {
    if (found * 2 <= validRows) await client.query(deleteDuplicatesSql(converted, foundTable));
    else exclude = foundTable;
  }
  const seconds = msToSeconds(performance.now() - start);
  Object.assign(run.trace, { duplicatesFound: found - (unchanged?.rows ?? 0), duplicateCheckSeconds: seconds });
  run.checkCancelled();
  return { found, seconds, validRows, converted: { table: converted, found: exclude, hash: useStoredHash }, ...(unchanged ? { unchanged } : {}) };
}

/** The duplicate check's statements for this plan against the existing table. */
function duplicateCheckFor(run: ImportRun, staged: StageResult, plan: ImportPlan, existing: ExistingTable, key: string[], inPlace = false) {
  const tableColumns = tableColumnOrder(plan, existing.columns);
  const useStoredHash = comparesWholeRows(plan, existing, key);
  const converted = importTempTable(run.importId, 'conv');
  const foundTable = importTempTable(run.importId, 'dups');
  const sameTable = inPlace ? importTempTable(run.importId, 'same') : null;
  const check = duplicateCheckSql({
    schema: run.schema, stage: run.stage, plan, hasPgInputIsValid: run.hasPgInputIsValid, tableName: run.tableName, importId: run.importId, tableColumns, key, useStoredHash, converted, found: foundTable,
    forInsert: { readerFixes: staged.rowsWithFixes > 0 },
    ...(sameTable === null ? {} : { unchanged: sameTable }),
  });
  return { tableColumns, useStoredHash, converted, foundTable, sameTable, check };
}

/** The rows inserted and the INSERT's time (a new table's index builds and key included), with a new table's duplicates. */
interface Inserted {
  rows: number;
  /** An upsert's rows updated and unchanged (null otherwise). */
  upserted: UpsertCounts | null;
  seconds: number;
  duplicates: Duplicates;
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
 * Rows an append sent that the table itself did not store: a BEFORE trigger returned NULL for
 * them, or wrote them elsewhere (an inheritance child, where they are this import's rows and
 * count as inserted). INSERT's row count says only how many the table took; each kind is said
 * in a warning and counted in metadata.
 */
async function noteRowsNotStored(run: ImportRun, { staged }: Staging, errors: ErrorsFound, record: BaseRecord, inserted: Inserted): Promise<Inserted> {
  const sent = staged.rows - errors.rejectedRows - inserted.duplicates.found;
  if (inserted.upserted !== null || inserted.rows >= sent) return inserted;
  const table = qualify(run.schema, run.tableName);
  const res = await run.client.query<{ n: number }>(`select count(*)::int as n from ${table} t where t._import_id = $1::uuid and t.tableoid <> to_regclass($2)`, [run.importId, table]);
  const diverted = res.rows[0]!.n;
  const dropped = sent - inserted.rows - diverted;
  const check = `(see the triggers in \\d ${run.schema}.${run.tableName})`;
  if (dropped > 0) {
    record.metadata.rows_not_stored = dropped;
    run.warnings.push(`${dropped} row(s) sent to ${run.tableName} were not stored: a trigger on it left them out ${check}; counted as skipped (metadata.rows_not_stored)`);
  }
  if (diverted > 0) {
    record.metadata.rows_stored_in_child_tables = diverted;
    run.warnings.push(`${diverted} row(s) sent to ${run.tableName} were stored by a trigger in its inheritance child tables ${check}; counted as inserted (metadata.rows_stored_in_child_tables)`);
  }
  return { ...inserted, rows: inserted.rows + diverted };
}

/** A new table holds only this file's rows: its duplicates are the rows equal to an earlier one, kept in import_duplicates and deleted. */
async function removeNewTableDuplicates(run: ImportRun, plan: ImportPlan, key: string[], useStoredHash: boolean): Promise<{ duplicates: Duplicates; rows: number }> {
  await run.options.onPhase?.('checking duplicates');
  run.checkCancelled();
  const start = performance.now();
  const check = newTableDuplicatesSql({ schema: run.schema, tableName: run.tableName, importId: run.importId, plan, key, useStoredHash });
  const counts = await withImportIdCheckSkipped(run.client, keptInto(run), () => run.client.query<{ duplicates: number; removed: number }>(check.sql, check.params));
  const { duplicates, removed } = counts.rows[0]!;
  const seconds = msToSeconds(performance.now() - start);
  Object.assign(run.trace, { duplicatesFound: duplicates, duplicateCheckSeconds: seconds });
  run.checkCancelled();
  return { duplicates: { found: duplicates, seconds, validRows: null, converted: null }, rows: removed };
}

/** Writes the final history record (success, or partial: rows inserted and rows rejected) and returns the result. */
async function recordSuccess(run: ImportRun, { staged, parsingSeconds, nullValuesApplied }: Staging, { plan }: Decision, errors: ErrorsFound, record: BaseRecord, inserted: Inserted, rowsDeleted: number): Promise<ImportResult> {
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
  await completeImport(run.client, run.schema, run.importId, outcome);
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

/** The duplicate check compares whole rows on the stored `_row_hash`: the key is every user column of the table (after this import's DDL). */
function comparesWholeRows(plan: ImportPlan, existing: ExistingTable, key: readonly string[]): boolean {
  return existing.hasRowHash && isWholeRow(key, tableColumnOrder(plan, existing.columns));
}

/** The key is every user column of the table: the stored `_row_hash` serves the comparison. */
function isWholeRow(key: readonly string[], tableColumns: ReadonlyArray<TableColumn>): boolean {
  return key.length === tableColumns.length && tableColumns.every((c) => key.includes(c.name));
}
/**
 * What type inference noticed, by column. A column it would have kept as text that goes into an
 * existing column of another type is read as that type: said so, rather than "kept as text"
 * (country-json's iso codes with leading zeros into an integer column lose the zeros).
 */
function inferenceNotes(staged: Staging['staged'], decided: readonly ColumnType[], plan: ImportPlan): string[] {
  const planned = new Map(plan.columns.map((c) => [c.staged, c]));
  return decided.flatMap((d, i) => {
    const column = staged.columns[i]!;
    const p = planned.get(column);
    const intoOther = p !== undefined && d.type === 'text' && !isTextType(p.sqlType) && p.sqlType !== 'jsonb';
    return d.notes.map((note) =>
      intoOther && note.startsWith('kept as text')
        ? `${column.targetName}: not kept as text: the table's column ${p.targetName} is ${p.sqlType}, so its values are read as ${p.sqlType} (${note.replace(/^kept as text: /, '')}); those that change are recorded in _corrections_applied, those it cannot hold are mapping errors`
        : `${column.targetName}: ${note}`,
    );
  });
}

/**
 * Spreadsheet error cells (`#DIV/0!`, `#N/A`, ...) and formula cells without a calculated value,
 * by column: one warning per column saying how many and which, and the counts for the history
 * record's metadata.
 */
function countErrorCells(
  columns: readonly StagedColumn[],
  strict: boolean,
): { warnings: string[]; byColumn: Record<string, number>; total: number; unread: Record<string, Record<string, number>> } {
  const warnings: string[] = [];
  const byColumn = Object.create(null) as Record<string, number>; // keys are column names: `__proto__` is one too
  const unread: Record<string, Record<string, number>> = {};
  let total = 0;
  for (const c of columns) {
    for (const [type, { count, first }] of c.unreadCells ?? []) {
      const kind = UNREAD_CELLS[type];
      if (kind === undefined) continue;
      (unread[kind.metadata] ??= Object.create(null) as Record<string, number>)[c.targetName] = count;
      const what = `${c.targetName}: ${count} ${kind.what(first)}`;
      warnings.push(strict ? `${what}: mapping errors under --strict${kind.fix}` : `${what} stored as NULL; each cell's ${kind.kept} is in its row's _corrections_applied${kind.fix}`);
    }
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
  return { warnings, byColumn, total, unread };
}

/** Each kind of unread cell: its metadata key, its warning's words (given the first cell's `before`), what its correction keeps, and what to do. */
const UNREAD_CELLS: Record<string, { metadata: string; what: (first: string) => string; kept: string; fix: string }> = {
  [FORMULA_NOT_CALCULATED]: {
    metadata: 'formulas_not_calculated',
    what: (first) => `formula cell(s) without a calculated value (the file holds the formula alone, the first ${first})`,
    kept: 'formula',
    fix: '; open the workbook in a spreadsheet program (Excel, LibreOffice) and save it, so that their values are calculated, then import it again',
  },
  [EXCEL_PHANTOM_DATE]: {
    metadata: 'phantom_dates',
    what: () => "cell(s) holding Excel's date serial 60, which it shows as 1900-02-29, a day that never was (kept for Lotus 1-2-3)",
    kept: 'serial',
    fix: '',
  },
};

/** The uniqueness columns as target names: the ones named (by target or source name), else every column the file brings. */
function resolveKey(named: string[] | null, plan: ImportPlan): string[] {
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
