/**
 * `atlas import`: one file into one table, in one transaction, with a complete history record.
 *
 * Flow: open the source -> read the header -> record an in_progress import (committed, so a
 * running or dead import is visible) -> BEGIN -> COPY every row into a TEMP staging table while
 * Node observes every value for inference -> decide types -> create or check the target table ->
 * record values that cannot be stored as mapping errors -> one INSERT ... SELECT with the metadata
 * columns -> final history update -> COMMIT. Any failure rolls back and marks the record failed.
 */
import { randomUUID } from 'node:crypto';
import type { Settings } from '../config.js';
import { lockForTransaction, withAdvisoryLock, withTransaction, type Client } from '../db/connection.js';
import { completeImport, insertInProgress, markFailed, type ImportOutcome } from '../db/history.js';
import { copyIntoStage } from '../db/staging.js';
import { getExistingTable, getServerVersion } from '../db/tables.js';
import { AtlasError, CancelledError, describeError, ImportFailedError, UsageError } from '../errors.js';
import { openCsv } from '../formats/csv.js';
import type { FileFormat, TableStream } from '../formats/types.js';
import { HashingReader, openLocalSource, type OpenedSource } from '../sources/source.js';
import { createStageSql, createTableSql } from '../transform/ddl.js';
import { ColumnStats, type ColumnType } from '../transform/infer.js';
import { columnNamesFromHeader, MAX_IDENTIFIER_BYTES, qualify, quoteIdent, tableNameFromFileName, truncateUtf8 } from '../transform/naming.js';
import { castSql, correctionSql, errorTypeSql, isTextType, trimmedSql, validSql, type ColumnPlan } from '../transform/typeSql.js';
import { withDatabase, type DatabaseListener } from './database.js';

/** What `atlas import` was asked to do. */
export interface ImportOptions {
  /** A file path, or `-` for stdin. */
  source: string;
  /** Target table; derived from the file name when null. */
  table: string | null;
  /** Input format; detected from the extension when null. @default null */
  format: FileFormat | null;
  /** CSV delimiter; sniffed when null. */
  delimiter: string | null;
  /** The first record is a header. @default true */
  header: boolean;
  /** Input encoding; detected when null. */
  encoding: string | null;
  /** File name to record for stdin. */
  name: string | null;
  /** Aborts the import (Ctrl-C): the transaction is rolled back and the record marked failed. */
  signal?: AbortSignal | undefined;
  /** Phase changes, for progress display. */
  onPhase?: ((phase: ImportPhase) => void) | undefined;
  onDatabase?: DatabaseListener | undefined;
  /** Test hook: the stdin stream to read for `-`. */
  stdin?: NodeJS.ReadableStream | undefined;
}

export type ImportPhase = 'reading' | 'staging' | 'checking types' | 'inserting' | 'committing';

/** What an import did; the same fields as its history record. */
export interface ImportResult {
  import_id: string;
  table_name: string;
  schema: string;
  status: 'success' | 'partial';
  import_strategy: string;
  file_name: string | null;
  file_hash: string;
  file_size_bytes: number;
  total_rows_in_file: number;
  rows_inserted: number;
  rows_skipped: number;
  duplicates_found: number;
  mapping_errors_count: number;
  duration_seconds: number;
  warnings: string[];
  columns: Array<{ source: string; target: string; type: string }>;
}

const seconds = (ms: number): number => Math.round(ms) / 1000;

function detectFormat(options: ImportOptions, opened: OpenedSource): FileFormat {
  if (options.format) return options.format;
  const name = (opened.fileName ?? '').toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.tsv') || name.endsWith('.tab')) return 'tsv';
  if (name.endsWith('.csv') || name.endsWith('.txt') || opened.fileName === null) return 'csv';
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.')) : '(none)';
  throw new UsageError(`cannot tell the format of ${opened.fileName} from its extension ${ext}`, { hint: 'pass --format csv or --format tsv' });
}

async function openTable(format: FileFormat, reader: HashingReader, options: ImportOptions): Promise<TableStream> {
  return openCsv(reader, {
    delimiter: format === 'tsv' ? (options.delimiter ?? '\t') : options.delimiter,
    header: options.header,
    encoding: options.encoding,
  });
}

function resolveTableName(options: ImportOptions, opened: OpenedSource): string {
  if (options.table !== null) {
    if (options.table.trim() === '') throw new UsageError('--table must not be empty');
    if (Buffer.byteLength(options.table, 'utf8') > MAX_IDENTIFIER_BYTES) {
      throw new UsageError(`table name "${truncateUtf8(options.table, 40)}..." is longer than PostgreSQL's 63-byte limit`);
    }
    return options.table;
  }
  if (opened.fileName === null) throw new UsageError('reading stdin needs --table NAME');
  return tableNameFromFileName(opened.fileName);
}

/** Runs one import. Throws ImportFailedError (with the failed record's id) when it fails. */
export async function importFile(settings: Settings, options: ImportOptions): Promise<ImportResult> {
  const startedAt = performance.now();
  const opened = openLocalSource(options.source, options.name, (options.stdin ?? process.stdin) as never);
  const format = detectFormat(options, opened);
  const tableName = resolveTableName(options, opened);
  if (options.delimiter !== null && [...options.delimiter].length !== 1) throw new UsageError('--delimiter must be one character');

  return withDatabase(settings, options.onDatabase, async (client) => {
    const schema = settings.schema;
    const importId = randomUUID();
    const serverVersion = await getServerVersion(client);
    const reader = new HashingReader(opened.stream as AsyncIterable<Buffer>);
    const metadata: Record<string, unknown> = { ...opened.metadata, atlas_version: 1, server_version_num: serverVersion };

    await insertInProgress(client, schema, {
      importId,
      userId: settings.user,
      sourceType: opened.sourceType,
      sourcePath: opened.sourcePath,
      fileName: opened.fileName,
      fileSizeBytes: opened.sizeBytes,
      fileType: format === 'tsv' ? 'csv' : format,
      tableName,
      duplicateCheckEnabled: false,
      metadata,
    });

    // The lock marks this import as alive; history shows `interrupted` for an in_progress record without it.
    return withAdvisoryLock(client, `atlas:import:${importId}`, async () => {
      try {
        const result = await withTransaction(client, () => runImport(client, settings, options, { importId, tableName, format, reader, opened, startedAt, serverVersion, metadata }));
        return result;
      } catch (err) {
        const cancelled = options.signal?.aborted === true;
        const message = cancelled ? 'cancelled' : describeError(err);
        opened.stream.destroy();
        await markFailed(client, schema, importId, message, seconds(performance.now() - startedAt), { error_class: err instanceof Error ? err.name : 'Error' }).catch(() => undefined);
        if (cancelled) throw new ImportFailedError(`import ${importId} cancelled; nothing was written`, importId);
        const hint = err instanceof AtlasError ? err.hint : null;
        throw new ImportFailedError(`import ${importId} into ${tableName} failed: ${message}`, importId, { hint, cause: err });
      }
    });
  });
}

interface RunContext {
  importId: string;
  tableName: string;
  format: FileFormat;
  reader: HashingReader;
  opened: OpenedSource;
  startedAt: number;
  serverVersion: number;
  metadata: Record<string, unknown>;
}

async function runImport(client: Client, settings: Settings, options: ImportOptions, ctx: RunContext): Promise<ImportResult> {
  const schema = settings.schema;
  const { importId, tableName } = ctx;
  const signal = options.signal;
  const checkCancelled = (): void => {
    if (signal?.aborted) throw new CancelledError();
  };
  const warnings: string[] = [];

  options.onPhase?.('reading');
  const table = await openTable(ctx.format, ctx.reader, options);
  const targetNames = columnNamesFromHeader(table.header);
  const width = table.header.length;
  const stats = targetNames.map(() => new ColumnStats());

  // Stage: TEMP table, dropped at COMMIT/ROLLBACK.
  options.onPhase?.('staging');
  const stage = `_atlas_stage_${importId.replace(/-/g, '').slice(0, 16)}`;
  await client.query(createStageSql(stage, width));
  const parseStart = performance.now();
  const staged = await copyIntoStage(
    client,
    stage,
    width,
    table.batches,
    (fields) => {
      for (let i = 0; i < width; i++) stats[i]!.observe(fields[i] ?? null);
    },
    signal,
  );
  checkCancelled();
  const parsingSeconds = seconds(performance.now() - parseStart);
  if (staged.nulValues > 0) warnings.push(`${staged.nulValues} value(s) contained NUL bytes, which PostgreSQL text cannot hold; they were removed`);

  // Decide types.
  options.onPhase?.('checking types');
  const decided: ColumnType[] = stats.map((s) => s.decide());
  decided.forEach((d, i) => d.notes.forEach((note) => warnings.push(`${targetNames[i]}: ${note}`)));

  // One import at a time decides the shape of and writes into a given table.
  await lockForTransaction(client, `atlas:table:${schema}.${tableName}`);
  const existing = await getExistingTable(client, schema, tableName);
  let strategy: string;
  let plans: ColumnPlan[];
  if (existing === null) {
    strategy = 'new_table';
    plans = decided.map((d, i) => ({
      sourceName: table.header[i] ?? '',
      stageColumn: `c${i + 1}`,
      targetName: targetNames[i]!,
      sqlType: d.type,
      format: d.format,
      checkValidity: d.invalidValues > 0,
      recordCorrections: d.mayNeedCorrection,
    }));
    for (const sql of createTableSql(schema, tableName, plans.map((p) => ({ name: p.targetName, sqlType: p.sqlType })))) await client.query(sql);
  } else {
    if (!existing.tracked) {
      throw new AtlasError(`table ${schema}.${tableName} exists but was not created by atlas (it has no _import_id column)`, {
        hint: 'import into a new table with --table NAME',
      });
    }
    const tableCols = new Map(existing.columns.map((c) => [c.name, c.sqlType]));
    const fileCols = new Set(targetNames);
    const missing = existing.columns.filter((c) => !fileCols.has(c.name)).map((c) => c.name);
    const extra = targetNames.filter((n) => !tableCols.has(n));
    if (missing.length > 0 || extra.length > 0) {
      const parts: string[] = [];
      if (extra.length > 0) parts.push(`the file has column(s) the table lacks: ${extra.join(', ')}`);
      if (missing.length > 0) parts.push(`the table has column(s) the file lacks: ${missing.join(', ')}`);
      throw new AtlasError(`cannot merge into existing table ${tableName}: ${parts.join('; ')}`, {
        hint: 'import into a new table with --table NAME',
      });
    }
    strategy = 'merge_exact';
    plans = decided.map((d, i) => {
      const sqlType = tableCols.get(targetNames[i]!)!;
      const sameType = d.type === sqlType || (d.type === 'timestamp' && sqlType === 'timestamp without time zone') || (d.type === 'timestamptz' && sqlType === 'timestamp with time zone');
      return {
        sourceName: table.header[i] ?? '',
        stageColumn: `c${i + 1}`,
        targetName: targetNames[i]!,
        sqlType,
        format: sameType ? d.format : isTextType(sqlType) ? { kind: 'text' } : compatibleFormat(d, sqlType),
        checkValidity: sameType ? d.invalidValues > 0 : !isTextType(sqlType),
        recordCorrections: sameType ? d.mayNeedCorrection : !isTextType(sqlType),
      };
    });
  }
  checkCancelled();

  // Values that cannot be stored, and ragged rows, become mapping errors; their rows stay out.
  const hasPgInputIsValid = ctx.serverVersion >= 160000;
  const me = qualify(schema, 'mapping_errors');
  const st = quoteIdent(stage);
  let mappingErrors = 0;
  if (staged.raggedRows > 0) {
    const res = await client.query(
      `insert into ${me} (import_id, record_number, error_type, error_message, source_value)
       select $1, s._rn, 'field_count_mismatch',
              format('record has %s field(s), the header has %s', split_part(s._err, ':', 2), $2::int), null
       from ${st} s where s._err is not null`,
      [importId, width],
    );
    mappingErrors += res.rowCount ?? 0;
  }
  const validity: string[] = [];
  for (const plan of plans.filter((p) => p.checkValidity)) {
    const raw = `s.${quoteIdent(plan.stageColumn)}`;
    const valid = validSql(plan, raw, quoteIdent(schema), hasPgInputIsValid);
    validity.push(valid);
    const res = await client.query(
      `insert into ${me} (import_id, record_number, source_field, target_field, error_type, error_message, source_value)
       select $1, s._rn, $2, $3, ${errorTypeSql(plan, raw)},
              format('Value %s is not a valid %s', quote_literal(left(${trimmedSql(raw)}, 100)), $4::text),
              left(${raw}, 500)
       from ${st} s where s._err is null and not ${valid}`,
      [importId, plan.sourceName, plan.targetName, plan.sqlType],
    );
    mappingErrors += res.rowCount ?? 0;
  }
  checkCancelled();

  // The one INSERT ... SELECT.
  options.onPhase?.('inserting');
  const insertStart = performance.now();
  const params: unknown[] = [importId];
  const corrections: string[] = [];
  for (const plan of plans) {
    const sql = correctionSql(plan, `s.${quoteIdent(plan.stageColumn)}`);
    if (sql === null) continue;
    params.push(plan.targetName);
    corrections.push(`$${params.length}::text, ${sql}`);
  }
  // jsonb_build_object takes at most 100 arguments: build per 50 columns and concatenate.
  const correctionGroups: string[] = [];
  for (let i = 0; i < corrections.length; i += 50) correctionGroups.push(`jsonb_build_object(${corrections.slice(i, i + 50).join(', ')})`);
  const correctionExpr = correctionGroups.length === 0 ? 'null::jsonb' : `nullif(jsonb_strip_nulls(${correctionGroups.join(' || ')}), '{}'::jsonb)`;
  const insert = await client.query(
    `insert into ${qualify(schema, tableName)} (${plans.map((p) => quoteIdent(p.targetName)).join(', ')}${plans.length ? ', ' : ''}_import_id, _source_row_number, _corrections_applied)
     select ${plans.map((p) => castSql(p, `s.${quoteIdent(p.stageColumn)}`)).join(', ')}${plans.length ? ', ' : ''}$1::uuid, s._rn, ${correctionExpr}
     from ${st} s where s._err is null${validity.map((v) => ` and ${v}`).join('')}`,
    params,
  );
  const rowsInserted = insert.rowCount ?? 0;
  const insertSeconds = seconds(performance.now() - insertStart);
  checkCancelled();

  options.onPhase?.('committing');
  const totalRows = staged.rows;
  const rowsSkipped = totalRows - rowsInserted;
  const status: 'success' | 'partial' = mappingErrors > 0 ? 'partial' : 'success';
  const mappingConfig = {
    table: tableName,
    strategy,
    columns: plans.map((p) => ({ source: p.sourceName, target: p.targetName, type: p.sqlType, format: p.format })),
  };
  const durationSeconds = seconds(performance.now() - ctx.startedAt);
  const outcome: ImportOutcome = {
    status,
    errorMessage: null,
    warnings,
    fileHash: ctx.reader.digest(),
    fileSizeBytes: ctx.reader.bytes,
    tableName,
    importStrategy: strategy,
    mappingConfig,
    totalRowsInFile: totalRows,
    rowsProcessed: totalRows,
    rowsInserted,
    rowsSkipped,
    duplicatesFound: 0,
    validationErrors: mappingErrors,
    durationSeconds,
    parsingTimeSeconds: parsingSeconds,
    duplicateCheckTimeSeconds: null,
    insertTimeSeconds: insertSeconds,
    mappingStatus: mappingErrors > 0 ? 'completed_with_errors' : 'completed',
    mappingErrorsCount: mappingErrors,
    metadata: { ...table.details },
  };
  await completeImport(client, schema, importId, outcome);
  return {
    import_id: importId,
    table_name: tableName,
    schema,
    status,
    import_strategy: strategy,
    file_name: ctx.opened.fileName,
    file_hash: outcome.fileHash!,
    file_size_bytes: ctx.reader.bytes,
    total_rows_in_file: totalRows,
    rows_inserted: rowsInserted,
    rows_skipped: rowsSkipped,
    duplicates_found: 0,
    mapping_errors_count: mappingErrors,
    duration_seconds: durationSeconds,
    warnings,
    columns: plans.map((p) => ({ source: p.sourceName, target: p.targetName, type: p.sqlType })),
  };
}

/** For a file column going into an existing column of another type: read the text the way the inference did when it can. */
function compatibleFormat(d: ColumnType, sqlType: string): ColumnPlan['format'] {
  const numericTarget = ['integer', 'bigint', 'smallint', 'numeric', 'real', 'double precision'].includes(sqlType) || sqlType.startsWith('numeric');
  const timeTarget = sqlType === 'date' || sqlType.startsWith('timestamp');
  if (numericTarget && (d.format.kind === 'integer' || d.format.kind === 'numeric')) return d.format;
  if (timeTarget && (d.format.kind === 'date' || d.format.kind === 'timestamp')) return d.format;
  return { kind: 'text' };
}

