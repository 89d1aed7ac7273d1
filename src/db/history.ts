/** Queries on import_history. The schema name is always quoted; every value is a parameter. */
import { qualify } from '../transform/naming.js';
import { isoTime } from '../transform/time.js';
import type { Client } from './connection.js';

/** A row of import_history as the spec's JSON shows it (numbers as numbers, times as ISO strings). */
export interface ImportRecord {
  import_id: string;
  import_timestamp: string;
  user_id: string | null;
  user_email: string | null;
  source_type: string;
  source_path: string | null;
  file_name: string | null;
  file_size_bytes: number | null;
  file_type: string | null;
  file_hash: string | null;
  table_name: string;
  import_strategy: string | null;
  mapping_config: unknown;
  duplicate_check_enabled: boolean | null;
  status: string;
  error_message: string | null;
  warnings: string[];
  total_rows_in_file: number | null;
  rows_processed: number | null;
  rows_inserted: number | null;
  rows_skipped: number | null;
  duplicates_found: number | null;
  validation_errors: number | null;
  /** The spec's name for `validation_errors` (same value). */
  data_validation_errors: number | null;
  duration_seconds: number | null;
  parsing_time_seconds: number | null;
  duplicate_check_time_seconds: number | null;
  insert_time_seconds: number | null;
  analysis_id: string | null;
  task_id: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  mapping_status: string | null;
  mapping_started_at: string | null;
  mapping_completed_at: string | null;
  mapping_duration_seconds: number | null;
  mapping_errors_count: number | null;
  undone_at: string | null;
  undone_by: string | null;
  rows_removed: number | null;
}

const NUMERIC_FIELDS = [
  'file_size_bytes',
  'duration_seconds',
  'parsing_time_seconds',
  'duplicate_check_time_seconds',
  'insert_time_seconds',
  'mapping_duration_seconds',
] as const;
const TIME_FIELDS = ['import_timestamp', 'created_at', 'updated_at', 'mapping_started_at', 'mapping_completed_at', 'undone_at'] as const;

/** Converts a raw pg row (bigint/decimal as strings, Dates) to the JSON shape. */
export function toImportRecord(row: Record<string, unknown>): ImportRecord {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value;
    // The spec's one-record JSON calls it data_validation_errors; keep both, side by side.
    if (key === 'validation_errors') out.data_validation_errors = value;
  }
  for (const f of NUMERIC_FIELDS) if (out[f] !== null && out[f] !== undefined) out[f] = Number(out[f]);
  for (const f of TIME_FIELDS) if (out[f] instanceof Date) out[f] = isoTime(out[f] as Date);
  out.warnings ??= [];
  out.metadata ??= {};
  return out as unknown as ImportRecord;
}

/** Fields of a new in-progress record. */
export interface NewImport {
  importId: string;
  userId: string;
  userEmail: string | null;
  taskId: string | null;
  sourceType: string;
  sourcePath: string | null;
  fileName: string | null;
  fileSizeBytes: number | null;
  fileType: string | null;
  tableName: string;
  duplicateCheckEnabled: boolean;
  metadata: Record<string, unknown>;
}

export async function insertInProgress(client: Client, schema: string, r: NewImport): Promise<void> {
  await client.query(
    `insert into ${qualify(schema, 'import_history')}
       (import_id, user_id, user_email, task_id, source_type, source_path, file_name, file_size_bytes, file_type, table_name,
        duplicate_check_enabled, status, mapping_status, mapping_started_at, metadata)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'in_progress', 'in_progress', now(), $12)`,
    [r.importId, r.userId, r.userEmail, r.taskId, r.sourceType, r.sourcePath, r.fileName, r.fileSizeBytes, r.fileType, r.tableName, r.duplicateCheckEnabled, r.metadata],
  );
}

/** Final figures of an import, written in the import's own transaction. */
export interface ImportOutcome {
  status: 'success' | 'partial' | 'failed';
  errorMessage: string | null;
  warnings: string[];
  fileHash: string | null;
  fileSizeBytes: number | null;
  tableName: string;
  importStrategy: string | null;
  mappingConfig: unknown;
  totalRowsInFile: number | null;
  rowsProcessed: number | null;
  rowsInserted: number;
  rowsSkipped: number;
  duplicatesFound: number | null;
  validationErrors: number;
  durationSeconds: number;
  parsingTimeSeconds: number | null;
  duplicateCheckTimeSeconds: number | null;
  insertTimeSeconds: number | null;
  mappingStatus: 'completed' | 'completed_with_errors' | 'failed';
  mappingErrorsCount: number;
  metadata: Record<string, unknown>;
}

export async function completeImport(client: Client, schema: string, importId: string, o: ImportOutcome): Promise<void> {
  await client.query(
    `update ${qualify(schema, 'import_history')} set
       status = $2, error_message = $3, warnings = $4, file_hash = $5, file_size_bytes = coalesce($6, file_size_bytes),
       table_name = $7, import_strategy = $8, mapping_config = $9, total_rows_in_file = $10, rows_processed = $11,
       rows_inserted = $12, rows_skipped = $13, duplicates_found = $14, validation_errors = $15,
       duration_seconds = $16, parsing_time_seconds = $17, duplicate_check_time_seconds = $18, insert_time_seconds = $19,
       mapping_status = $20, mapping_errors_count = $21, mapping_completed_at = clock_timestamp(),
       mapping_duration_seconds = extract(epoch from clock_timestamp() - mapping_started_at),
       metadata = coalesce(metadata, '{}'::jsonb) || $22::jsonb, updated_at = clock_timestamp()
     where import_id = $1`,
    [
      importId,
      o.status,
      o.errorMessage,
      o.warnings,
      o.fileHash,
      o.fileSizeBytes,
      o.tableName,
      o.importStrategy,
      JSON.stringify(o.mappingConfig),
      o.totalRowsInFile,
      o.rowsProcessed,
      o.rowsInserted,
      o.rowsSkipped,
      o.duplicatesFound,
      o.validationErrors,
      o.durationSeconds,
      o.parsingTimeSeconds,
      o.duplicateCheckTimeSeconds,
      o.insertTimeSeconds,
      o.mappingStatus,
      o.mappingErrorsCount,
      JSON.stringify(o.metadata),
    ],
  );
}

/** Rows per second of the INSERTs of the latest imports (up to 20) that inserted rows, or null when there are none. */
export async function getRecentInsertRate(client: Client, schema: string): Promise<number | null> {
  const res = await client.query<{ rate: number | null }>(
    `select sum(rows_inserted)::float8 / nullif(sum(insert_time_seconds), 0)::float8 as rate
       from (select rows_inserted, insert_time_seconds from ${qualify(schema, 'import_history')}
              where status in ('success', 'partial') and rows_inserted > 0 and insert_time_seconds > 0
              order by import_timestamp desc limit 20) h`,
  );
  return res.rows[0]?.rate ?? null;
}

/** Filters of `atlas history`. */
export interface HistoryFilter {
  table: string | null;
  user: string | null;
  status: string | null;
  since: Date | null;
  limit: number;
  offset: number;
}

/**
 * `interrupted` is derived, never stored: an in_progress record whose import holds no advisory
 * lock any more belongs to a process that died.
 */
const STATUS_SQL = `case when h.status = 'in_progress' and not exists (
    select 1 from pg_locks l, lateral (select hashtextextended('atlas:import:' || h.import_id::text, 0) as k) key
    where l.locktype = 'advisory' and l.granted and l.objsubid = 1
      and l.database = (select oid from pg_database where datname = current_database())
      and l.classid = ((key.k >> 32) & 4294967295)::oid and l.objid = (key.k & 4294967295)::oid
  ) then 'interrupted' else h.status end`;

export async function listImports(client: Client, schema: string, f: HistoryFilter): Promise<{ rows: ImportRecord[]; total: number }> {
  const where = `where ($1::text is null or h.table_name = $1)
      and ($2::text is null or h.user_id = $2)
      and ($3::text is null or (${STATUS_SQL}) = $3)
      and ($4::timestamptz is null or h.import_timestamp >= $4)`;
  const params = [f.table, f.user, f.status, f.since];
  const total = await client.query<{ n: string }>(`select count(*) as n from ${qualify(schema, 'import_history')} h ${where}`, params);
  const rows = await client.query(
    `select h.*, ${STATUS_SQL} as status from ${qualify(schema, 'import_history')} h ${where}
     order by h.import_timestamp desc, h.created_at desc limit $5 offset $6`,
    [...params, f.limit, f.offset],
  );
  return { rows: rows.rows.map(toImportRecord), total: Number(total.rows[0]?.n ?? 0) };
}

/** Finds one record by full id or by an unambiguous prefix of 8+ hex characters. */
export async function findImports(client: Client, schema: string, idOrPrefix: string): Promise<ImportRecord[]> {
  const rows = await client.query(
    `select h.*, ${STATUS_SQL} as status from ${qualify(schema, 'import_history')} h
     where h.import_id::text like $1 || '%' order by h.import_timestamp desc limit 2`,
    [idOrPrefix.toLowerCase()],
  );
  return rows.rows.map(toImportRecord);
}

/**
 * What a failed import had learnt when it failed (null: not known). Its rows were rolled back, so
 * rows_inserted is 0 and every row read counts as skipped; the mapping errors found are counted
 * in validation_errors, though only an import over its error budget keeps them in mapping_errors.
 */
export interface FailureFacts {
  /** Known once every byte was read. */
  fileHash: string | null;
  /** Bytes read, once every byte was; else the size known at the start stays. */
  fileSizeBytes: number | null;
  fileType: string | null;
  /** Known once every row was staged. */
  totalRowsInFile: number | null;
  /** Rows read so far. */
  rowsProcessed: number | null;
  duplicatesFound: number | null;
  validationErrors: number | null;
  parsingTimeSeconds: number | null;
  duplicateCheckTimeSeconds: number | null;
  insertTimeSeconds: number | null;
  importStrategy: string | null;
  mappingConfig: unknown;
  warnings: string[] | null;
}

/**
 * Marks an import failed in its own transaction (after the import's transaction rolled back).
 * Only an in_progress record changes: if the connection dropped during COMMIT, the import may
 * have committed after all, and its committed record must not be overwritten.
 */
export async function markFailed(
  client: Client,
  schema: string,
  importId: string,
  message: string,
  durationSeconds: number,
  metadata: Record<string, unknown>,
  facts: Partial<FailureFacts> = {},
): Promise<void> {
  await client.query(
    `update ${qualify(schema, 'import_history')} set status = 'failed', error_message = $2, duration_seconds = $3,
       mapping_status = 'failed', mapping_completed_at = clock_timestamp(),
       mapping_duration_seconds = extract(epoch from clock_timestamp() - mapping_started_at),
       rows_inserted = 0, metadata = coalesce(metadata, '{}'::jsonb) || $4::jsonb, updated_at = clock_timestamp(),
       file_hash = coalesce($5, file_hash), file_size_bytes = coalesce($6, file_size_bytes), file_type = coalesce($7, file_type),
       total_rows_in_file = $8, rows_processed = $9, rows_skipped = $9, duplicates_found = $10, validation_errors = $11,
       parsing_time_seconds = $12, duplicate_check_time_seconds = $13, insert_time_seconds = $14,
       import_strategy = $15, mapping_config = $16::jsonb, warnings = $17
     where import_id = $1 and status = 'in_progress'`,
    [
      importId,
      message,
      durationSeconds,
      JSON.stringify(metadata),
      facts.fileHash ?? null,
      facts.fileSizeBytes ?? null,
      facts.fileType ?? null,
      facts.totalRowsInFile ?? null,
      facts.rowsProcessed ?? null,
      facts.duplicatesFound ?? null,
      facts.validationErrors ?? null,
      facts.parsingTimeSeconds ?? null,
      facts.duplicateCheckTimeSeconds ?? null,
      facts.insertTimeSeconds ?? null,
      facts.importStrategy ?? null,
      facts.mappingConfig === null || facts.mappingConfig === undefined ? null : JSON.stringify(facts.mappingConfig),
      facts.warnings ?? null,
    ],
  );
}

/** One import_history row, locked FOR UPDATE for the rest of the transaction, with its tuple's xmin. */
export interface LockedImport {
  record: ImportRecord;
  /**
   * `xmin` of the record's current row version, as text: the id of the transaction that last
   * wrote it. For a finished import that is the import's own transaction (the final update is
   * part of it), which is also the xmin of every data row the import inserted.
   */
  rowXmin: string;
}

/** Locks one record (by full id) until the end of the transaction; null when it does not exist. */
export async function lockImport(client: Client, schema: string, importId: string): Promise<LockedImport | null> {
  const res = await client.query(
    `select h.*, h.xmin::text as row_xmin, ${STATUS_SQL} as status
       from ${qualify(schema, 'import_history')} h where h.import_id = $1 for update of h`,
    [importId],
  );
  const row = res.rows[0] as Record<string, unknown> | undefined;
  if (row === undefined) return null;
  const { row_xmin: rowXmin, ...rest } = row;
  return { record: toImportRecord(rest), rowXmin: String(rowXmin) };
}

/** The imports that put rows into a table, as the spec's lineage counts them: success and partial, newest first. */
export async function listTableImports(client: Client, schema: string, table: string): Promise<ImportRecord[]> {
  const res = await client.query(
    `select h.* from ${qualify(schema, 'import_history')} h
      where h.table_name = $1 and h.status in ('success', 'partial') order by h.import_timestamp desc, h.created_at desc`,
    [table],
  );
  return res.rows.map(toImportRecord);
}

/** Records by full id, newest first (ids not found are left out). */
export async function getImportsByIds(client: Client, schema: string, importIds: readonly string[]): Promise<ImportRecord[]> {
  if (importIds.length === 0) return [];
  const res = await client.query(
    `select h.*, ${STATUS_SQL} as status from ${qualify(schema, 'import_history')} h
      where h.import_id = any($1::uuid[]) order by h.import_timestamp desc, h.created_at desc`,
    [importIds],
  );
  return res.rows.map(toImportRecord);
}

/** Marks an undone import: the record stays as the audit trail. */
export async function markUndone(client: Client, schema: string, importId: string, undoneBy: string, rowsRemoved: number): Promise<{ undone_at: string }> {
  const res = await client.query<{ undone_at: Date }>(
    `update ${qualify(schema, 'import_history')}
        set status = 'undone', undone_at = clock_timestamp(), undone_by = $2, rows_removed = $3, updated_at = clock_timestamp()
      where import_id = $1 returning undone_at`,
    [importId, undoneBy, rowsRemoved],
  );
  return { undone_at: isoTime(res.rows[0]!.undone_at)! };
}

/** Deletes history records; their mapping errors go with them (on delete cascade). Returns how many. */
export async function deleteImports(client: Client, schema: string, importIds: readonly string[]): Promise<number> {
  if (importIds.length === 0) return 0;
  const res = await client.query(`delete from ${qualify(schema, 'import_history')} where import_id = any($1::uuid[])`, [importIds]);
  return res.rowCount ?? 0;
}

/** Filters of `atlas stats`. */
export interface StatsFilter {
  table: string | null;
  user: string | null;
  /** Look-back period in whole days, counted back from now. */
  days: number;
}

/** Raw figures of `atlas stats`, one row of aggregates. */
export interface StatsRow {
  total: number;
  successful: number;
  failed: number;
  partial: number;
  undone: number;
  inProgress: number;
  rowsInserted: number;
  rowsInsertedNotUndone: number;
  rowsRemoved: number;
  duplicatesFound: number;
  avgDurationSeconds: number | null;
  tablesAffected: number;
  uniqueUsers: number;
  since: string;
  until: string;
}

/**
 * Aggregates over the records of the period, by derived status: `failed` counts interrupted
 * imports too (neither committed a row); tables are counted when an import into them committed
 * (success, partial, or undone since).
 */
export async function getStatistics(client: Client, schema: string, f: StatsFilter): Promise<StatsRow> {
  const res = await client.query(
    `with period as (select now() - make_interval(days => $3) as since, now() as until),
     h as (
       select h.*, ${STATUS_SQL} as st from ${qualify(schema, 'import_history')} h, period
        where h.import_timestamp >= period.since
          and ($1::text is null or h.table_name = $1)
          and ($2::text is null or h.user_id = $2)
     )
     select count(*) as total,
            count(*) filter (where st = 'success') as successful,
            count(*) filter (where st in ('failed', 'interrupted')) as failed,
            count(*) filter (where st = 'partial') as partial,
            count(*) filter (where st = 'undone') as undone,
            count(*) filter (where st = 'in_progress') as in_progress,
            coalesce(sum(rows_inserted), 0) as rows_inserted,
            coalesce(sum(rows_inserted) filter (where st in ('success', 'partial')), 0) as rows_inserted_not_undone,
            coalesce(sum(rows_removed), 0) as rows_removed,
            coalesce(sum(duplicates_found), 0) as duplicates_found,
            round(avg(duration_seconds), 3) as avg_duration_seconds,
            count(distinct table_name) filter (where st in ('success', 'partial', 'undone')) as tables_affected,
            count(distinct user_id) as unique_users,
            (select since from period) as since, (select until from period) as until
       from h`,
    [f.table, f.user, f.days],
  );
  const r = res.rows[0] as Record<string, string | Date | null>;
  const n = (v: unknown): number => Number(v ?? 0);
  return {
    total: n(r.total),
    successful: n(r.successful),
    failed: n(r.failed),
    partial: n(r.partial),
    undone: n(r.undone),
    inProgress: n(r.in_progress),
    rowsInserted: n(r.rows_inserted),
    rowsInsertedNotUndone: n(r.rows_inserted_not_undone),
    rowsRemoved: n(r.rows_removed),
    duplicatesFound: n(r.duplicates_found),
    avgDurationSeconds: r.avg_duration_seconds === null ? null : Number(r.avg_duration_seconds),
    tablesAffected: n(r.tables_affected),
    uniqueUsers: n(r.unique_users),
    since: isoTime(r.since as Date)!,
    until: isoTime(r.until as Date)!,
  };
}

/** Statuses of records that own no rows: nothing was committed (failed, interrupted) or it was removed (undone). */
export const ROWLESS_STATUSES = ['failed', 'interrupted', 'undone'] as const;

/**
 * Records older than `olderThanSeconds` whose (derived) status is one of ROWLESS_STATUSES,
 * oldest first, locked until the end of the transaction. Callers still check that no row
 * references them before deleting.
 */
export async function listPrunable(client: Client, schema: string, olderThanSeconds: number): Promise<{ cutoff: string; records: ImportRecord[] }> {
  const cutoff = await client.query<{ cutoff: Date }>(`select now() - make_interval(secs => $1) as cutoff`, [olderThanSeconds]);
  const at = cutoff.rows[0]!.cutoff;
  const res = await client.query(
    `select h.*, ${STATUS_SQL} as status from ${qualify(schema, 'import_history')} h
      where h.import_timestamp < $1 and (${STATUS_SQL}) = any($2::text[])
      order by h.import_timestamp, h.created_at
      for update of h`,
    [at, [...ROWLESS_STATUSES]],
  );
  return { cutoff: isoTime(at)!, records: res.rows.map(toImportRecord) };
}
