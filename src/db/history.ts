/** Queries on import_history. The schema name is always quoted; every value is a parameter. */
import { qualify } from '../transform/naming.js';
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
  const out: Record<string, unknown> = { ...row };
  for (const f of NUMERIC_FIELDS) if (out[f] !== null && out[f] !== undefined) out[f] = Number(out[f]);
  for (const f of TIME_FIELDS) if (out[f] instanceof Date) out[f] = (out[f] as Date).toISOString();
  out.warnings ??= [];
  out.metadata ??= {};
  return out as unknown as ImportRecord;
}

/** Fields of a new in-progress record. */
export interface NewImport {
  importId: string;
  userId: string;
  sourceType: string;
  sourcePath: string | null;
  fileName: string | null;
  fileSizeBytes: number | null;
  fileType: string;
  tableName: string;
  duplicateCheckEnabled: boolean;
  metadata: Record<string, unknown>;
}

export async function insertInProgress(client: Client, schema: string, r: NewImport): Promise<void> {
  await client.query(
    `insert into ${qualify(schema, 'import_history')}
       (import_id, user_id, source_type, source_path, file_name, file_size_bytes, file_type, table_name,
        duplicate_check_enabled, status, mapping_status, mapping_started_at, metadata)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'in_progress', 'in_progress', now(), $10)`,
    [r.importId, r.userId, r.sourceType, r.sourcePath, r.fileName, r.fileSizeBytes, r.fileType, r.tableName, r.duplicateCheckEnabled, r.metadata],
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
  duplicatesFound: number;
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

/** Marks an import failed in its own transaction (after the import's transaction rolled back). */
export async function markFailed(client: Client, schema: string, importId: string, message: string, durationSeconds: number, metadata: Record<string, unknown>): Promise<void> {
  await client.query(
    `update ${qualify(schema, 'import_history')} set status = 'failed', error_message = $2, duration_seconds = $3,
       mapping_status = 'failed', mapping_completed_at = clock_timestamp(),
       mapping_duration_seconds = extract(epoch from clock_timestamp() - mapping_started_at),
       rows_inserted = 0, metadata = coalesce(metadata, '{}'::jsonb) || $4::jsonb, updated_at = clock_timestamp()
     where import_id = $1`,
    [importId, message, durationSeconds, JSON.stringify(metadata)],
  );
}
