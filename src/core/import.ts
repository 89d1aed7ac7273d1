/**
 * `atlas import`: one input into one table, in one transaction, with a complete history record.
 *
 * Flow: open the input and read its header (before touching the database) -> record an
 * in_progress import (committed, so a running or dead import is visible) -> BEGIN -> COPY every
 * row into a TEMP staging table while Node observes every value -> decide types and strategy ->
 * record values that cannot be stored as mapping errors (past the error budget: stop, keep the
 * errors, write no data) -> create or extend the table -> one INSERT ... SELECT with the metadata
 * columns -> final history update -> COMMIT. Any failure rolls back and marks the record failed.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Settings } from '../config.js';
import { lockForTransaction, withAdvisoryLock, withTransaction, type Client } from '../db/connection.js';
import { completeImport, insertInProgress, markFailed, type ImportOutcome } from '../db/history.js';
import { copyIntoStage, createStage, type StageResult } from '../db/staging.js';
import { getExistingTable, getServerVersion } from '../db/tables.js';
import { AlreadyImportedError, AtlasError, CancelledError, describeError, ImportFailedError, UsageError } from '../errors.js';
import type { FileFormat } from '../formats/types.js';
import { addColumnsSql, createTableSql } from '../transform/ddl.js';
import type { ColumnType } from '../transform/infer.js';
import { overBudget, parseErrorBudget, validateMapping, type ErrorBudget, type Mapping, type Strategy } from '../transform/mapping.js';
import { columnNamesFromHeader, MAX_IDENTIFIER_BYTES, qualify, quoteIdent, tableNameFromFileName, truncateUtf8 } from '../transform/naming.js';
import { withDatabase, type DatabaseListener } from './database.js';
import { openSource, readInput, type InputOptions, type OpenedInput } from './input.js';
import type { OpenedSource } from '../sources/source.js';
import { planImport, type ImportPlan } from './plan.js';
import { duplicateCheckSql, errorRowsSql, insertDuplicatesSql, insertRowsSql, markDuplicatesSql, rehashTableSql, tableColumnOrder } from './insertSql.js';
import { findEarlierImport, hashLocalFile } from './fileDuplicates.js';

/** What `atlas import` was asked to do. */
export interface ImportOptions extends Partial<Omit<InputOptions, 'source'>> {
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
  /** Aborts the import (Ctrl-C): the transaction is rolled back and the record marked failed. */
  signal?: AbortSignal | undefined;
  /** Phase changes, for progress display. The import waits for a returned promise (a debugging hook pauses here). */
  onPhase?: ((phase: ImportPhase) => void | Promise<void>) | undefined;
  /** Called as rows stream into staging (about once per megabyte), for progress display; a returned promise is awaited. */
  onProgress?: ((progress: ImportProgress) => void | Promise<void>) | undefined;
  onDatabase?: DatabaseListener | undefined;
}

/** How far the reading has come. */
export interface ImportProgress {
  /** Bytes of the source read so far (as given: compressed bytes for .gz). */
  bytesRead: number;
  /** The source's size when known (file size, S3 object size), else null. */
  totalBytes: number | null;
  rows: number;
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
  duration_seconds: number;
  parsing_time_seconds: number;
  duplicate_check_time_seconds: number | null;
  insert_time_seconds: number;
  warnings: string[];
  columns: Array<{ source: string; target: string; type: string }>;
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
  mapping_config: ImportPlan['mapping'];
  columns: Array<{ source: string; target: string; type: string; new: boolean; notes: string[] }>;
  first_errors: Array<Record<string, unknown>>;
  warnings: string[];
}

/** Options inside the core: a real import, or a dry run that writes nothing. */
type RunOptions = ImportOptions & { dryRun: boolean };

/** How many mapping errors --dry-run shows. */
const DRY_RUN_ERRORS_SHOWN = 20;

const seconds = (ms: number): number => Math.round(ms) / 1000;

interface Prepared {
  input: OpenedInput;
  tableName: string;
  mapping: Mapping;
  budget: ErrorBudget;
  /** Uniqueness columns as the user named them, or null for all. */
  key: string[] | null;
}

function readMappingFile(path: string): Mapping {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`mapping file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message}`);
  }
  const { mapping, problems } = validateMapping(parsed);
  if (problems.length > 0) throw new UsageError(`mapping file ${path}: ${problems.join('; ')}`);
  return mapping;
}

/** Everything that can be checked before the database is touched. */
async function prepare(settings: Settings, options: RunOptions): Promise<Prepared> {
  if (options.delimiter != null && [...options.delimiter].length !== 1) throw new UsageError('--delimiter must be one character');
  let budget: ErrorBudget = null;
  if (options.strict) budget = { kind: 'count', value: 0 };
  else if (options.maxErrors != null) {
    const parsed = parseErrorBudget(options.maxErrors);
    if (typeof parsed === 'string') throw new UsageError(parsed);
    budget = parsed;
  }
  const mapping = options.mappingFile ? readMappingFile(options.mappingFile) : {};
  if (options.table != null) {
    if (options.table.trim() === '') throw new UsageError('--table must not be empty');
    if (Buffer.byteLength(options.table, 'utf8') > MAX_IDENTIFIER_BYTES) {
      throw new UsageError(`table name "${truncateUtf8(options.table, 40)}..." is longer than PostgreSQL's 63-byte limit`);
    }
  }
  const inputOptions: InputOptions = {
    source: options.source,
    format: (options.format ?? null) as FileFormat | null,
    delimiter: options.delimiter ?? null,
    header: options.header ?? true,
    encoding: options.encoding ?? null,
    name: options.name ?? null,
    sheet: options.sheet ?? null,
    headerRow: options.headerRow ?? null,
    recordPath: options.recordPath ?? null,
    stdin: options.stdin,
  };
  const opened = await openSource(settings, inputOptions);
  const fallbackTable = options.table ?? mapping.table ?? (opened.fileName ? tableNameFromFileName(opened.fileName) : null);
  let input: OpenedInput;
  try {
    input = await readInput(opened, inputOptions);
  } catch (err) {
    opened.stream.destroy();
    // The data itself is unreadable (encoding, empty, corrupt): still an import attempt worth recording.
    if (err instanceof AtlasError && !(err instanceof UsageError) && fallbackTable !== null && !options.dryRun) {
      throw await recordUnreadable(settings, options, opened, fallbackTable, err);
    }
    throw err;
  }
  if (input.table.kind === 'fixed' && mapping.columns) {
    const header = new Set(input.table.header);
    const unknown = Object.keys(mapping.columns).filter((c) => !c.startsWith('//') && !header.has(c));
    if (unknown.length > 0) {
      input.opened.stream.destroy();
      throw new UsageError(`mapping file ${options.mappingFile}: column(s) not in the file: ${unknown.join(', ')}`, { hint: `the file's columns are: ${[...header].join(', ')}` });
    }
  }
  const key = options.key ?? mapping.key ?? null;
  if (key !== null && input.table.kind === 'fixed') {
    const names = new Set([...input.table.header, ...columnNamesFromHeader(input.table.header)]);
    const lacking = key.filter((k) => !names.has(k));
    if (lacking.length > 0) {
      input.opened.stream.destroy();
      throw new UsageError(`key column(s) not in the file: ${lacking.join(', ')}`, { hint: `the file's columns are: ${input.table.header.join(', ')}` });
    }
  }
  const tableName = options.table ?? mapping.table ?? (input.opened.fileName ? tableNameFromFileName(input.opened.fileName) : null);
  if (tableName === null) {
    input.opened.stream.destroy();
    throw new UsageError('reading stdin needs --table NAME (or a mapping file with "table")');
  }
  return { input, tableName, mapping, budget, key };
}

/** Records a failed import for input that could not be read at all, and returns the error to throw. */
async function recordUnreadable(settings: Settings, options: RunOptions, opened: OpenedSource, tableName: string, err: AtlasError): Promise<ImportFailedError> {
  const importId = randomUUID();
  await withDatabase(settings, options.onDatabase, async (client) => {
    await insertInProgress(client, settings.schema, {
      importId,
      userId: settings.user,
      sourceType: opened.sourceType,
      sourcePath: opened.sourcePath,
      fileName: opened.fileName,
      fileSizeBytes: opened.sizeBytes,
      fileType: options.format ?? null,
      tableName,
      duplicateCheckEnabled: false,
      metadata: { ...opened.metadata },
    });
    await markFailed(client, settings.schema, importId, describeError(err), 0, { error_class: err.name });
  });
  return new ImportFailedError(`import ${importId} into ${tableName} failed: ${describeError(err)}`, importId, { hint: err.hint, cause: err });
}

/** Runs one import. Throws ImportFailedError (with the failed record's id) when it fails. */
export async function importFile(settings: Settings, options: ImportOptions): Promise<ImportResult> {
  return (await runImportFile(settings, { ...options, dryRun: false })) as ImportResult;
}

/** `--dry-run`: reads, stages and plans the import inside a transaction that is rolled back; writes nothing. */
export async function dryRunImport(settings: Settings, options: ImportOptions): Promise<DryRunResult> {
  return (await runImportFile(settings, { ...options, dryRun: true })) as DryRunResult;
}

async function runImportFile(settings: Settings, options: RunOptions): Promise<ImportResult | DryRunResult> {
  const startedAt = performance.now();
  await options.onPhase?.('reading');
  const prepared = await prepare(settings, options);
  const { input, tableName } = prepared;
  const fileType = input.format === 'tsv' ? 'csv' : input.format === 'ndjson' ? 'json' : input.format === 'xlsx' ? 'excel' : input.format;

  try {
    return await withDatabase(settings, options.onDatabase, async (client, url) => {
      const serverVersion = await getServerVersion(client);
      const importId = randomUUID();
      const ctx: RunContext = { importId, tableName, prepared, startedAt, serverVersion, url };
      if (options.dryRun) {
        await client.query('begin');
        try {
          return await runImport(client, settings, options, ctx);
        } finally {
          await client.query('rollback');
        }
      }
      const fileCheck = !options.force && !options.allowSameFile;
      if (fileCheck && input.opened.sourceType === 'local_upload' && input.opened.sourcePath !== null) {
        // Refuse a re-run before reading the file into the database (the check inside the transaction stays the authority).
        const earlier = await findEarlierImport(client, settings.schema, tableName, await hashLocalFile(input.opened.sourcePath), null);
        if (earlier) throw alreadyImported(tableName, earlier);
      }
      if (prepared.key !== null) await checkKeyAgainstTable(client, settings.schema, tableName, prepared.key);
      // The lock marks this import as alive (history shows `interrupted` for an in_progress record
      // without it), so it is taken before the record exists.
      return withAdvisoryLock(client, `atlas:import:${importId}`, async () => {
        await insertInProgress(client, settings.schema, {
          importId,
          userId: settings.user,
          sourceType: input.opened.sourceType,
          sourcePath: input.opened.sourcePath,
          fileName: input.opened.fileName,
          fileSizeBytes: input.opened.sizeBytes,
          fileType,
          tableName,
          duplicateCheckEnabled: options.dedupe !== false && !options.force,
          metadata: {
            ...input.opened.metadata,
            compressed: input.compressed,
            server_version_num: serverVersion,
            ...(options.allowSameFile ? { allow_same_file: true } : {}),
            ...(options.force ? { force: true } : {}),
          },
        });
        const stopOnAbort = cancelQueriesOnAbort(client, url, options.signal);
        try {
          return await withTransaction(client, () => runImport(client, settings, options, ctx));
        } catch (err) {
          const cancelled = options.signal?.aborted === true;
          const message = cancelled ? 'cancelled' : describeError(err);
          if (err instanceof BudgetExceededError) throw err;
          if (err instanceof AlreadyImportedError) {
            // A refused import leaves no history row.
            await client.query(`delete from ${qualify(settings.schema, 'import_history')} where import_id = $1`, [importId]).catch(() => undefined);
            throw err;
          }
          await markFailed(client, settings.schema, importId, message, seconds(performance.now() - startedAt), { error_class: err instanceof Error ? err.name : 'Error' }).catch(() => undefined);
          if (cancelled) throw new ImportFailedError(`import ${importId} cancelled; nothing was written`, importId);
          const hint = err instanceof AtlasError ? err.hint : null;
          throw new ImportFailedError(`import ${importId} into ${tableName} failed: ${message}`, importId, { hint, cause: err });
        } finally {
          stopOnAbort();
        }
      });
    });
  } finally {
    input.opened.stream.destroy();
  }
}

function alreadyImported(tableName: string, earlier: { import_id: string; import_timestamp: Date }): AlreadyImportedError {
  return new AlreadyImportedError(
    `already imported: this file went into ${tableName} by import ${earlier.import_id} at ${earlier.import_timestamp.toISOString()}`,
    earlier.import_id,
    'nothing to do; to load it again pass --allow-same-file (rows are still checked for duplicates) or --force',
  );
}

/** A key column must be in the table (when it exists) as well as in the file; checked before anything is written. */
async function checkKeyAgainstTable(client: Client, schema: string, tableName: string, key: string[]): Promise<void> {
  const existing = await getExistingTable(client, schema, tableName);
  if (existing === null) return;
  const tableCols = new Set(existing.columns.map((c) => c.name));
  const lacking = key.filter((k) => !tableCols.has(k) && !tableCols.has(columnNamesFromHeader([k])[0]!));
  if (lacking.length > 0) throw new UsageError(`key column(s) not in table ${tableName}: ${lacking.join(', ')}`);
}

/** Thrown inside the transaction when mapping errors exceed the budget: the errors and the failed record are committed, no data. */
class BudgetExceededError extends ImportFailedError {}

/** While a query runs, Ctrl-C cancels it from a second connection (COPY is cancelled through its stream). */
function cancelQueriesOnAbort(client: Client, url: string, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => undefined;
  const onAbort = (): void => {
    const pid = (client as unknown as { processID?: number }).processID;
    if (!pid) return;
    void import('../db/connection.js').then(({ withClient }) => withClient(url, (c) => c.query('select pg_cancel_backend($1)', [pid]))).catch(() => undefined);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

interface RunContext {
  importId: string;
  tableName: string;
  prepared: Prepared;
  startedAt: number;
  serverVersion: number;
  url: string;
}

async function runImport(client: Client, settings: Settings, options: RunOptions, ctx: RunContext): Promise<ImportResult | DryRunResult> {
  const schema = settings.schema;
  const { importId, tableName, prepared } = ctx;
  const { input, mapping, budget } = prepared;
  const signal = options.signal;
  const checkCancelled = (): void => {
    if (signal?.aborted) throw new CancelledError();
  };
  const warnings: string[] = [];

  // Stage every row; Node sees every value on the way.
  await options.onPhase?.('staging');
  checkCancelled();
  const stage = `_atlas_stage_${importId.replace(/-/g, '').slice(0, 16)}`;
  await createStage(client, stage, input.table);
  const targets = new Map(Object.entries(mapping.columns ?? {}).flatMap(([src, spec]) => (spec.target ? [[src, spec.target] as const] : [])));
  const parseStart = performance.now();
  const onChunk = options.onProgress ? (rows: number) => options.onProgress?.({ bytesRead: input.reader.bytes, totalBytes: input.opened.sizeBytes, rows }) : undefined;
  const staged: StageResult = await copyIntoStage(client, stage, input.table, targets, signal, onChunk);
  await onChunk?.(staged.rows);
  checkCancelled();
  const parsingSeconds = seconds(performance.now() - parseStart);
  if (input.table.kind === 'keyed' && mapping.columns) {
    const known = new Set(staged.columns.map((c) => c.sourceName));
    const unknown = Object.keys(mapping.columns).filter((c) => !c.startsWith('//') && !known.has(c));
    if (unknown.length > 0) throw new UsageError(`mapping file ${options.mappingFile}: column(s) not in the file: ${unknown.join(', ')}`);
  }
  if (staged.nulValues > 0) warnings.push(`${staged.nulValues} value(s) contained NUL bytes, which PostgreSQL text cannot hold; they were removed (recorded in _corrections_applied)`);

  // Types and strategy. One import at a time decides the shape of, and writes into, a given table.
  await options.onPhase?.('checking types');
  checkCancelled();
  const decided: ColumnType[] = staged.columns.map((c) => c.stats.decide());
  decided.forEach((d, i) => d.notes.forEach((note) => warnings.push(`${staged.columns[i]!.targetName}: ${note}`)));
  await lockForTransaction(client, `atlas:table:${schema}.${tableName}`);
  if (!options.dryRun && !options.force && !options.allowSameFile) {
    const earlier = await findEarlierImport(client, schema, tableName, input.reader.digest(), importId);
    if (earlier) throw alreadyImported(tableName, earlier);
  }
  const existing = await getExistingTable(client, schema, tableName);
  const plan = planImport({ tableName, staged: staged.columns, decided, existing, mapping, forced: options.strategy ?? null });
  warnings.push(...plan.warnings);
  if (plan.missingRequired.length > 0) {
    throw new AtlasError(`table ${tableName} requires column(s) the file does not have: ${plan.missingRequired.join(', ')} (NOT NULL without a default)`);
  }
  if (existing) {
    const required = new Set(existing.columns.filter((c) => c.required).map((c) => c.name));
    for (const c of plan.columns) if (required.has(c.targetName)) Object.assign(c, { required: true, checkValidity: true });
  }
  checkCancelled();

  // Values that cannot be stored, and ragged rows: mapping errors; their rows stay out.
  const hasPgInputIsValid = ctx.serverVersion >= 160000;
  const errors = errorRowsSql({ schema, stage, plan, hasPgInputIsValid, raggedRows: staged.raggedRows, width: staged.columns.length });
  let mappingErrors = 0;
  let firstErrors: Array<Record<string, unknown>> = [];
  if (errors !== null) {
    if (options.dryRun) {
      const count = await client.query<{ n: string }>(`select count(*) as n from (${errors.sql}) e`, errors.params);
      mappingErrors = Number(count.rows[0]?.n ?? 0);
      firstErrors = (await client.query(`select * from (${errors.sql}) e order by record_number limit ${DRY_RUN_ERRORS_SHOWN}`, errors.params)).rows;
    } else {
      const res = await client.query(
        `insert into ${qualify(schema, 'mapping_errors')} (import_id, record_number, source_field, target_field, error_type, error_message, source_value)
         select $${errors.params.length + 1}::uuid, record_number, source_field, target_field, error_type, error_message, source_value from (${errors.sql}) e`,
        [...errors.params, importId],
      );
      mappingErrors = res.rowCount ?? 0;
    }
  }
  const failsBudget = overBudget(budget, mappingErrors, staged.rows);
  const mappingConfig = plan.mapping;

  if (options.dryRun) {
    const newNames = new Set(plan.newColumns.map((c) => c.targetName));
    return {
      dry_run: true,
      table_name: tableName,
      schema,
      import_strategy: plan.strategy,
      total_rows_in_file: staged.rows,
      mapping_errors_count: mappingErrors,
      would_fail: failsBudget,
      mapping_config: mappingConfig,
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
    duplicatesFound: 0,
    validationErrors: mappingErrors,
    parsingTimeSeconds: parsingSeconds,
    duplicateCheckTimeSeconds: null,
    mappingErrorsCount: mappingErrors,
    metadata: { ...input.table.details },
  };

  if (failsBudget) {
    // Nothing reaches the target: no DDL has run yet. The errors and the failed record commit, so the user can see why.
    const limit = budget?.kind === 'percent' ? `${budget.value}% of ${staged.rows} rows` : `${budget?.value ?? 0}`;
    const message = `${mappingErrors} mapping error(s), more than the ${options.strict ? '--strict limit of 0' : `--max-errors limit of ${limit}`}; nothing was imported`;
    await completeImport(client, schema, importId, {
      ...base,
      status: 'failed',
      errorMessage: message,
      warnings,
      rowsInserted: 0,
      rowsSkipped: staged.rows,
      durationSeconds: seconds(performance.now() - ctx.startedAt),
      insertTimeSeconds: null,
      mappingStatus: 'failed',
    });
    await client.query('commit');
    await client.query('begin'); // withTransaction's COMMIT then ends an empty transaction
    throw new BudgetExceededError(`import ${importId} into ${tableName} failed: ${message}`, importId, { hint: `see the errors with: atlas errors ${importId}` });
  }

  // Create or extend the table, then the one INSERT ... SELECT.
  const newTable = plan.strategy === 'new_table' ? createTableSql(schema, tableName, plan.columns.map((p) => ({ name: p.targetName, sqlType: p.sqlType }))) : null;
  if (newTable) {
    await client.query(newTable.create);
  } else if (plan.newColumns.length > 0) {
    for (const sql of addColumnsSql(schema, tableName, plan.newColumns.map((p) => ({ name: p.targetName, sqlType: p.sqlType })))) await client.query(sql);
    if (existing?.hasRowHash) await client.query(rehashTableSql(schema, tableName, tableColumnOrder(plan, existing.columns)));
  }
  checkCancelled();

  // Row-level duplicates: one set-based check against the table and the file itself.
  const tableColumns = tableColumnOrder(plan, existing ? existing.columns : null);
  const rowHashColumns = existing === null || existing.hasRowHash ? tableColumns : null;
  let duplicatesFound = 0;
  let duplicateSeconds: number | null = null;
  if (options.dedupe !== false && !options.force) {
    await options.onPhase?.('checking duplicates');
    checkCancelled();
    const dedupeStart = performance.now();
    const key = resolveKey(prepared.key, plan);
    const dups = `_atlas_dups_${importId.replace(/-/g, '').slice(0, 16)}`;
    const allColumns = key.length === tableColumns.length && tableColumns.every((c) => key.includes(c.name));
    const check = duplicateCheckSql({ schema, stage, plan, hasPgInputIsValid, tableName, tableColumns, key, useStoredHash: rowHashColumns !== null && allColumns, dups });
    await client.query(check.sql, check.params);
    const kept = insertDuplicatesSql({ schema, stage, plan, hasPgInputIsValid, dups, importId });
    duplicatesFound = (await client.query(kept.sql, kept.params)).rowCount ?? 0;
    if (duplicatesFound > 0) await client.query(markDuplicatesSql(stage, dups));
    duplicateSeconds = seconds(performance.now() - dedupeStart);
    checkCancelled();
  }

  await options.onPhase?.('inserting');
  checkCancelled();
  const insertStart = performance.now();
  const insert = insertRowsSql({ schema, stage, tableName, plan, hasPgInputIsValid, importId, rowHashColumns, readerFixes: staged.rowsWithFixes > 0 });
  const inserted = await client.query(insert.sql, insert.params);
  const rowsInserted = inserted.rowCount ?? 0;
  if (newTable) for (const sql of newTable.finish) await client.query(sql);
  const insertSeconds = seconds(performance.now() - insertStart);
  checkCancelled();

  await options.onPhase?.('committing');
  checkCancelled();
  const status: 'success' | 'partial' = mappingErrors > 0 ? 'partial' : 'success';
  const durationSeconds = seconds(performance.now() - ctx.startedAt);
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
  };
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
