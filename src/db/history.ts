/** Queries on import_history. The schema name is always quoted; every value is a parameter. */
import { qualify, quoteIdent } from '../transform/naming.js';
import { isoTime } from '../transform/time.js';
import type { Client } from './connection.js';
import { recordJson, recordText, recordTexts } from './recordText.js';

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
  /** How the import wrote its rows: append, upsert, replace or replace_import (sql/005). */
  import_mode: string;
  /** Rows already in the table that it updated (upsert). */
  rows_updated: number;
  /** Rows of the file whose key matched a row with the same values (upsert): counted, not rewritten. */
  rows_unchanged: number;
  /** Rows it deleted (replace, replace_import). */
  rows_deleted: number;
  /** The import whose rows it replaced (--replace-import). */
  replaces_import_id: string | null;
  /** The import that replaced its rows (--replace-import), until that one is undone. */
  replaced_by: string | null;
  /** When `history compact` dropped its pre-images: it can no longer be undone. */
  preimages_pruned_at: string | null;
}

const NUMERIC_FIELDS = [
  'file_size_bytes',
  'duration_seconds',
  'parsing_time_seconds',
  'duplicate_check_time_seconds',
  'insert_time_seconds',
  'mapping_duration_seconds',
] as const;
const TIME_FIELDS = ['import_timestamp', 'created_at', 'updated_at', 'mapping_started_at', 'mapping_completed_at', 'undone_at', 'preimages_pruned_at'] as const;

/** A raw pg row (bigint/decimal as strings, Dates) in the JSON shape. */
function toJsonShape(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value;
    // The spec's one-record JSON calls it data_validation_errors; keep both, side by side.
    if (key === 'validation_errors') out.data_validation_errors = value;
  }
  for (const f of NUMERIC_FIELDS) if (out[f] !== null && out[f] !== undefined) out[f] = Number(out[f]);
  for (const f of TIME_FIELDS) if (out[f] instanceof Date) out[f] = isoTime(out[f] as Date);
  return out;
}

/** Converts a raw pg row of a whole record to the JSON shape. */
export function toImportRecord(row: Record<string, unknown>): ImportRecord {
  const out = toJsonShape(row);
  out.warnings ??= [];
  out.metadata ??= {};
  return out as unknown as ImportRecord;
}

/**
 * A record as the lists show it (`atlas history`, `history prune`, `lineage`): every column of
 * bounded size. The columns a record can make as large as it likes are left out (mapping_config,
 * metadata; warnings, counted instead) or cut (source_path, error_message), so that listing
 * records takes the same memory whatever they hold. `atlas history <id>` shows one whole.
 */
export type ImportSummary = Omit<ImportRecord, 'mapping_config' | 'metadata' | 'warnings'> & {
  /** How many warnings the record has (`atlas history <id>` shows them). */
  warnings_count: number;
  /** A failed import whose process ended before it committed (`"interrupted": true` in its metadata). */
  interrupted: boolean;
};

/** Text columns of a summary are cut to this many characters, the last of them `…` when cut. */
export const SUMMARY_TEXT_CHARS = 1000;

/** `column` (h.<name>, never input) cut to SUMMARY_TEXT_CHARS; left() reads no more of a long value than it returns. */
function cutSql(column: string): string {
  return `case when length(left(h.${column}, ${SUMMARY_TEXT_CHARS + 1})) > ${SUMMARY_TEXT_CHARS} then left(h.${column}, ${SUMMARY_TEXT_CHARS - 1}) || '…' else h.${column} end as ${column}`;
}

/** SQL true for a record stored as interrupted (a `failed` one), false for any other. */
const INTERRUPTED_SQL = `(h.status = 'failed' and coalesce(h.metadata @> '{"interrupted": true}'::jsonb, false))`;

/** The select list of a summary: named columns, so a later migration's column is not listed unbounded. */
const SUMMARY_COLUMNS = [
  ...['import_id', 'import_timestamp', 'user_id', 'user_email', 'source_type', 'status'].map((c) => `h.${c}`),
  `${INTERRUPTED_SQL} as interrupted`,
  cutSql('source_path'),
  ...['file_name', 'file_size_bytes', 'file_type', 'file_hash', 'table_name', 'import_strategy', 'duplicate_check_enabled'].map((c) => `h.${c}`),
  cutSql('error_message'),
  'coalesce(cardinality(h.warnings), 0) as warnings_count',
  ...[
    'total_rows_in_file', 'rows_processed', 'rows_inserted', 'rows_skipped', 'duplicates_found', 'validation_errors',
    'duration_seconds', 'parsing_time_seconds', 'duplicate_check_time_seconds', 'insert_time_seconds',
    'analysis_id', 'task_id', 'created_at', 'updated_at', 'mapping_status', 'mapping_started_at', 'mapping_completed_at',
    'mapping_duration_seconds', 'mapping_errors_count', 'undone_at', 'undone_by', 'rows_removed',
    'import_mode', 'rows_updated', 'rows_unchanged', 'rows_deleted', 'replaces_import_id', 'replaced_by', 'preimages_pruned_at',
  ].map((c) => `h.${c}`),
].join(', ');

function toImportSummary(row: Record<string, unknown>): ImportSummary {
  return toJsonShape(row) as unknown as ImportSummary;
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

/**
 * Writes the record of an import as it starts. Its times are the clock's, not its transaction's:
 * the records of an --atomic batch share one transaction, and import_timestamp orders them.
 */
export async function insertInProgress(client: Client, schema: string, r: NewImport): Promise<void> {
  await client.query(
    `insert into ${qualify(schema, 'import_history')}
       (import_id, user_id, user_email, task_id, source_type, source_path, file_name, file_size_bytes, file_type, table_name,
        duplicate_check_enabled, status, mapping_status, import_timestamp, created_at, updated_at, mapping_started_at, metadata)
     select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'in_progress', 'in_progress', t.at, t.at, t.at, t.at, $12
       from (select clock_timestamp() as at) t`,
    [r.importId, recordText(r.userId), recordText(r.userEmail), recordText(r.taskId), r.sourceType, recordText(r.sourcePath), recordText(r.fileName), r.fileSizeBytes, r.fileType, r.tableName, r.duplicateCheckEnabled, recordJson(r.metadata)],
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

/**
 * Writes the import's final record. `stage`, the import's staging table, gives its transaction's id
 * (`metadata.import_xmin`), which undo compares its rows' xmin with, since the record's own xmin
 * changes when anyone edits the record in SQL: the xmin of the first staged row, written by the
 * same (sub)transaction as its rows (in an atomic batch, the file's savepoint), read from the first
 * page. (Reading it from the data table by _import_id was a scan of the whole table per file of a
 * batch: without statistics the planner expects many matches, and the import's rows are last.)
 */
export async function completeImport(client: Client, schema: string, importId: string, o: ImportOutcome, stage: string | null = null): Promise<void> {
  const ownXmin = o.status === 'failed' || stage === null ? `'{}'::jsonb` : `coalesce((select jsonb_build_object('import_xmin', s.xmin::text) from ${quoteIdent(stage)} s limit 1), '{}'::jsonb)`;
  await client.query(
    `update ${qualify(schema, 'import_history')} set
       status = $2, error_message = $3, warnings = $4, file_hash = $5, file_size_bytes = coalesce($6, file_size_bytes),
       table_name = $7, import_strategy = $8, mapping_config = $9, total_rows_in_file = $10, rows_processed = $11,
       rows_inserted = $12, rows_skipped = $13, duplicates_found = $14, validation_errors = $15,
       duration_seconds = $16, parsing_time_seconds = $17, duplicate_check_time_seconds = $18, insert_time_seconds = $19,
       mapping_status = $20, mapping_errors_count = $21, mapping_completed_at = clock_timestamp(),
       mapping_duration_seconds = extract(epoch from clock_timestamp() - mapping_started_at),
       metadata = coalesce(metadata, '{}'::jsonb) || $22::jsonb || ${ownXmin}, updated_at = clock_timestamp()
     where import_id = $1`,
    [
      importId,
      o.status,
      recordText(o.errorMessage),
      recordTexts(o.warnings),
      o.fileHash,
      o.fileSizeBytes,
      o.tableName,
      o.importStrategy,
      recordJson(o.mappingConfig),
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
      recordJson(o.metadata),
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
  /** Only the imports of this batch (metadata.batch_id). @default null */
  batch?: string | null;
}

/** Prefix of the transaction-level advisory lock an import holds for as long as it runs (the key adds its id). */
export const IMPORT_LOCK_PREFIX = 'atlas:import:';

/** The error_message of an import found interrupted (its `metadata` has `"interrupted": true`). */
export const INTERRUPTED_MESSAGE =
  'interrupted: the atlas process ended before the import committed (it was killed, crashed or lost its connection to the server); nothing was written';

/**
 * Stores as `failed` (error_message INTERRUPTED_MESSAGE, `"interrupted": true` in metadata) every
 * in_progress record whose import is gone. An import's transaction takes its lock before the
 * record exists and holds it until it ends, so a record whose lock is free belongs to a
 * transaction that ended without completing it: its process was killed or crashed, or its
 * connection was lost, and the server rolled it back. The lock is the transaction's and this
 * check one statement, so both hold behind a pooler that gives each transaction another server
 * connection. A record completed meanwhile is re-checked by the UPDATE and left alone; the CASE
 * tries the locks of in_progress records only, whatever order the planner evaluates conditions in.
 * Returns the ids stored as interrupted.
 */
export async function markInterruptedImports(client: Client, schema: string): Promise<string[]> {
  const table = qualify(schema, 'import_history');
  // Most connects find no in_progress record; a role that may only read the history, or a read-only
  // session (a standby, where the primary's running imports show as in_progress), leaves them as they are.
  const probe = await client.query<{ writable: boolean }>(
    `select has_table_privilege($1, 'UPDATE') and current_setting('transaction_read_only') = 'off' as writable from ${table} where status = 'in_progress' limit 1`,
    [table],
  );
  if (probe.rows[0]?.writable !== true) return [];
  const res = await client.query<{ import_id: string }>(
    `update ${table} set status = 'failed', error_message = $2, mapping_status = 'failed', rows_inserted = 0,
        metadata = coalesce(metadata, '{}'::jsonb) || '{"interrupted": true}'::jsonb, updated_at = clock_timestamp()
      where status = 'in_progress'
        and case when status = 'in_progress' then pg_try_advisory_xact_lock(hashtextextended($1 || import_id::text, 0)) else false end
      returning import_id`,
    [IMPORT_LOCK_PREFIX, INTERRUPTED_MESSAGE],
  );
  return res.rows.map((r) => r.import_id);
}

/** Whether a record, whole or summary, is an interrupted import (stored as `failed`). */
export function isInterrupted(r: { status: string; metadata?: Record<string, unknown>; interrupted?: boolean }): boolean {
  return r.status === 'failed' && (r.interrupted === true || r.metadata?.interrupted === true);
}

export async function listImports(client: Client, schema: string, f: HistoryFilter): Promise<{ rows: ImportSummary[]; total: number }> {
  const where = `where ($1::text is null or h.table_name = $1)
      and ($2::text is null or h.user_id = $2)
      and ($3::text is null or h.status = $3 or ($3 = 'interrupted' and ${INTERRUPTED_SQL}))
      and ($4::timestamptz is null or h.import_timestamp >= $4)
      and ($5::text is null or h.metadata->>'batch_id' = $5)`;
  const params = [f.table, f.user, f.status, f.since, f.batch ?? null];
  const total = await client.query<{ n: string }>(`select count(*) as n from ${qualify(schema, 'import_history')} h ${where}`, params);
  const rows = await client.query(
    `select ${SUMMARY_COLUMNS} from ${qualify(schema, 'import_history')} h ${where}
     order by h.import_timestamp desc, h.created_at desc, h.updated_at desc, h.import_id limit $6 offset $7`,
    [...params, f.limit, f.offset],
  );
  return { rows: rows.rows.map(toImportSummary), total: Number(total.rows[0]?.n ?? 0) };
}

/** Finds one record by full id or by an unambiguous prefix of 8+ hex characters. */
export async function findImports(client: Client, schema: string, idOrPrefix: string): Promise<ImportRecord[]> {
  const rows = await client.query(
    `select h.* from ${qualify(schema, 'import_history')} h
     where h.import_id::text like $1 || '%' order by h.import_timestamp desc limit 6`,
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

/** The figures of a whole record (as to_jsonb gives it) that a failed import keeps: a record rolled back with its --atomic batch. */
export function failureFactsOf(record: Record<string, unknown>): FailureFacts {
  const num = (key: string): number | null => (typeof record[key] === 'number' ? (record[key] as number) : null);
  const text = (key: string): string | null => (typeof record[key] === 'string' ? (record[key] as string) : null);
  return {
    fileHash: text('file_hash'),
    fileSizeBytes: num('file_size_bytes'),
    fileType: text('file_type'),
    totalRowsInFile: num('total_rows_in_file'),
    rowsProcessed: num('rows_processed'),
    duplicatesFound: num('duplicates_found'),
    validationErrors: num('validation_errors'),
    parsingTimeSeconds: num('parsing_time_seconds'),
    duplicateCheckTimeSeconds: num('duplicate_check_time_seconds'),
    insertTimeSeconds: num('insert_time_seconds'),
    importStrategy: text('import_strategy'),
    mappingConfig: record.mapping_config ?? null,
    warnings: Array.isArray(record.warnings) ? (record.warnings as string[]) : null,
  };
}

/**
 * Marks an import failed in its own transaction (after the import's transaction rolled back).
 * Only an in_progress record changes: if the connection dropped during COMMIT, the import may
 * have committed after all, and its committed record must not be overwritten. One that another
 * atlas process stored as interrupted in the moment between the rollback and this (its lock was
 * free) gets the real reason.
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
    `update ${qualify(schema, 'import_history')} h set status = 'failed', error_message = $2, duration_seconds = $3,
       mapping_status = 'failed', mapping_completed_at = clock_timestamp(),
       mapping_duration_seconds = extract(epoch from clock_timestamp() - mapping_started_at),
       rows_inserted = 0, metadata = (coalesce(metadata, '{}'::jsonb) - 'interrupted') || $4::jsonb, updated_at = clock_timestamp(),
       file_hash = coalesce($5, file_hash), file_size_bytes = coalesce($6, file_size_bytes), file_type = coalesce($7, file_type),
       total_rows_in_file = $8, rows_processed = $9, rows_skipped = $9, duplicates_found = $10, validation_errors = $11,
       parsing_time_seconds = $12, duplicate_check_time_seconds = $13, insert_time_seconds = $14,
       import_strategy = $15, mapping_config = $16::jsonb, warnings = $17
     where import_id = $1 and (status = 'in_progress' or ${INTERRUPTED_SQL})`,
    [
      importId,
      recordText(message),
      durationSeconds,
      recordJson(metadata),
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
      facts.mappingConfig === null || facts.mappingConfig === undefined ? null : recordJson(facts.mappingConfig),
      recordTexts(facts.warnings ?? null),
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
    `select h.*, h.xmin::text as row_xmin
       from ${qualify(schema, 'import_history')} h where h.import_id = $1 for update of h`,
    [importId],
  );
  const row = res.rows[0] as Record<string, unknown> | undefined;
  if (row === undefined) return null;
  const { row_xmin: rowXmin, ...rest } = row;
  return { record: toImportRecord(rest), rowXmin: String(rowXmin) };
}

/** The imports that put rows into a table, as the spec's lineage counts them: success and partial, newest first. */
export async function listTableImports(client: Client, schema: string, table: string): Promise<ImportSummary[]> {
  const res = await client.query(
    `select ${SUMMARY_COLUMNS} from ${qualify(schema, 'import_history')} h
      where h.table_name = $1 and h.status in ('success', 'partial') order by h.import_timestamp desc, h.created_at desc`,
    [table],
  );
  return res.rows.map(toImportSummary);
}

/** Records by full id, newest first (ids not found are left out): whole, or as summaries. */
export async function getImportsByIds(client: Client, schema: string, importIds: readonly string[]): Promise<ImportRecord[]>;
export async function getImportsByIds(client: Client, schema: string, importIds: readonly string[], summaries: true): Promise<ImportSummary[]>;
export async function getImportsByIds(client: Client, schema: string, importIds: readonly string[], summaries = false): Promise<Array<ImportRecord | ImportSummary>> {
  if (importIds.length === 0) return [];
  const res = await client.query(
    `select ${summaries ? SUMMARY_COLUMNS : 'h.*'} from ${qualify(schema, 'import_history')} h
      where h.import_id = any($1::uuid[]) order by h.import_timestamp desc, h.created_at desc`,
    [importIds],
  );
  return res.rows.map((row: Record<string, unknown>) => (summaries ? toImportSummary(row) : toImportRecord(row)));
}

/**
 * Marks an undone import: the record stays as the audit trail. `rowsRemoved`: the rows it no
 * longer has, deleted or re-attributed (`metadata` says to which imports).
 */
export async function markUndone(client: Client, schema: string, importId: string, undoneBy: string, rowsRemoved: number, metadata: Record<string, unknown> = {}): Promise<{ undone_at: string }> {
  const res = await client.query<{ undone_at: Date }>(
    // One clock reading for both: updated_at is never before undone_at.
    `update ${qualify(schema, 'import_history')} h
        set status = 'undone', undone_at = n.at, undone_by = $2, rows_removed = $3, updated_at = n.at,
            metadata = coalesce(h.metadata, '{}'::jsonb) || $4::jsonb
       from (select clock_timestamp() as at) n
      where h.import_id = $1 returning h.undone_at`,
    [importId, recordText(undoneBy), rowsRemoved, recordJson(metadata)],
  );
  return { undone_at: isoTime(res.rows[0]!.undone_at)! };
}

/**
 * Adds `entry` to the JSON array `key` of each import's metadata (`entries`: by import id): what
 * an undo --force did to imports that are not undone (their duplicates' rows deleted, their
 * pre-images handed over), so that their records say it without atlas. Keeps `import_xmin`, as
 * recordReassignment does: rewriting the record must not make its rows look changed since.
 */
export async function appendToMetadata(client: Client, schema: string, key: string, entries: ReadonlyArray<{ importId: string; entry: Record<string, unknown> }>): Promise<void> {
  for (const { importId, entry } of entries) {
    await client.query(
      `update ${qualify(schema, 'import_history')} h
          set metadata = coalesce(h.metadata, '{}'::jsonb) || jsonb_build_object(
                'import_xmin', coalesce(h.metadata->>'import_xmin', h.xmin::text),
                $2::text, coalesce(h.metadata->$2, '[]'::jsonb) || jsonb_build_array($3::jsonb))
        where h.import_id = $1`,
      [importId, key, recordJson(entry)],
    );
  }
}

/**
 * Records that `rows` rows of the undone import `from` became rows of import `to` (undo
 * --reassign): its counts grow by them (inserted) and shrink by the records it had skipped
 * (skipped, duplicates), and its metadata keeps `reassigned` (from whom, how many, when, by whom,
 * and this transaction's id, the xmin of those rows: atlas's own change, not someone else's) and
 * `import_xmin`, its own transaction's id, which undo compares its rows with once the record has
 * been rewritten here.
 */
export async function recordReassignment(client: Client, schema: string, r: { to: string; from: string; rows: number; by: string }): Promise<void> {
  const res = await client.query(
    `update ${qualify(schema, 'import_history')} h
        set rows_inserted = coalesce(h.rows_inserted, 0) + $3, rows_skipped = h.rows_skipped - $3, duplicates_found = h.duplicates_found - $3,
            metadata = coalesce(h.metadata, '{}'::jsonb) || jsonb_build_object(
              'import_xmin', coalesce(h.metadata->>'import_xmin', h.xmin::text),
              'reassigned', coalesce(h.metadata->'reassigned', '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
                'from_import_id', $2::text, 'rows', $3::int, 'at', clock_timestamp(), 'by', $4::text, 'xmin', (txid_current() % 4294967296)::text))),
            updated_at = clock_timestamp()
      where h.import_id = $1`,
    [r.to, r.from, r.rows, recordText(r.by)],
  );
  if (res.rowCount !== 1) throw new Error(`the history record of import ${r.to} is gone`);
}

/** A record's `metadata` array at `key` as jsonb, `[]` when it has none (or something else there). */
const jsonArray = (key: string): string => `case when jsonb_typeof(h.metadata->'${key}') = 'array' then h.metadata->'${key}' else '[]'::jsonb end`;

/**
 * Before their records go: the ids of atlas's own transactions that rewrote rows of other imports
 * (`rehash_xmin`, an undo's `restore_xmin`, and those handed over to them before, `kept_xmins`)
 * are handed over to `kept_xmins` of a record that stays in the same table (its earliest success
 * or partial import), so that undo still knows those rows' xmin for atlas's own change, not a
 * change by someone else (getImportRowState). The heir's own `import_xmin` is kept first, as
 * undo --reassign keeps it: updating its record gives the record a new xmin.
 */
async function handOverOwnXmins(client: Client, schema: string, importIds: readonly string[]): Promise<void> {
  const t = qualify(schema, 'import_history');
  await client.query(
    `with gone as (
       select h.table_name, x.xmin
         from ${t} h cross join lateral (
           select h.metadata->>'restore_xmin' union all select h.metadata->>'rehash_xmin'
           union all select jsonb_array_elements_text(${jsonArray('kept_xmins')})
         ) x(xmin)
        where h.import_id = any($1::uuid[]) and x.xmin is not null
     ), heirs as (
       select distinct on (h.table_name) h.table_name, h.import_id
         from ${t} h
        where h.status in ('success', 'partial') and not (h.import_id = any($1::uuid[])) and h.table_name in (select g.table_name from gone g)
        order by h.table_name, h.import_timestamp, h.import_id
     )
     update ${t} h
        set metadata = h.metadata || jsonb_build_object(
              'import_xmin', coalesce(h.metadata->>'import_xmin', h.xmin::text),
              'kept_xmins', (select jsonb_agg(v order by v) from (
                 select jsonb_array_elements_text(${jsonArray('kept_xmins')}) as v
                 union select g.xmin from gone g where g.table_name = h.table_name) k)),
            updated_at = clock_timestamp()
       from heirs where h.import_id = heirs.import_id`,
    [importIds],
  );
}

/**
 * Deletes history records; their mapping errors go with them (on delete cascade), and the ids of
 * atlas's own rewrites they carry go to a record that stays (handOverOwnXmins). Returns how many.
 */
export async function deleteImports(client: Client, schema: string, importIds: readonly string[]): Promise<number> {
  if (importIds.length === 0) return 0;
  await handOverOwnXmins(client, schema, importIds);
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
  rowsUpdated: number;
  rowsUnchanged: number;
  rowsDeleted: number;
  duplicatesFound: number;
  avgDurationSeconds: number | null;
  tablesAffected: number;
  uniqueUsers: number;
  since: string;
  until: string;
}

/**
 * Aggregates over the records of the period, by status: `failed` counts interrupted
 * imports too (stored as failed; neither committed a row); tables are counted when an import into them committed
 * (success, partial, or undone since).
 */
export async function getStatistics(client: Client, schema: string, f: StatsFilter): Promise<StatsRow> {
  const res = await client.query(
    `with period as (select now() - make_interval(days => $3) as since, now() as until),
     h as (
       select h.*, h.status as st from ${qualify(schema, 'import_history')} h, period
        where h.import_timestamp >= period.since
          and ($1::text is null or h.table_name = $1)
          and ($2::text is null or h.user_id = $2)
     )
     select count(*) as total,
            count(*) filter (where st = 'success') as successful,
            count(*) filter (where st = 'failed') as failed,
            count(*) filter (where st = 'partial') as partial,
            count(*) filter (where st = 'undone') as undone,
            count(*) filter (where st = 'in_progress') as in_progress,
            coalesce(sum(rows_inserted), 0) as rows_inserted,
            coalesce(sum(rows_inserted) filter (where st in ('success', 'partial')), 0) as rows_inserted_not_undone,
            coalesce(sum(rows_removed), 0) as rows_removed,
            coalesce(sum(rows_updated), 0) as rows_updated,
            coalesce(sum(rows_unchanged), 0) as rows_unchanged,
            coalesce(sum(rows_deleted), 0) as rows_deleted,
            coalesce(sum(duplicates_found), 0) as duplicates_found,
            round(avg(duration_seconds), 3) as avg_duration_seconds,
            count(distinct table_name) filter (where st in ('success', 'partial', 'undone')) as tables_affected,
            count(distinct user_id) as unique_users,
            (select since from period) as since, (select until from period) as until
       from h`,
    [f.table, f.user, f.days],
  );
  return statsRowFrom(res.rows[0] as Record<string, string | Date | null>);
}

/** The figures of a schema where atlas never ran (no import_history): no imports over the period, counted as getStatistics counts them. */
export async function getEmptyStatistics(client: Client, days: number): Promise<StatsRow> {
  const res = await client.query(`select now() - make_interval(days => $1) as since, now() as until`, [days]);
  return statsRowFrom(res.rows[0] as Record<string, string | Date | null>);
}

function statsRowFrom(r: Record<string, string | Date | null>): StatsRow {
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
    rowsUpdated: n(r.rows_updated),
    rowsUnchanged: n(r.rows_unchanged),
    rowsDeleted: n(r.rows_deleted),
    duplicatesFound: n(r.duplicates_found),
    avgDurationSeconds: r.avg_duration_seconds == null ? null : Number(r.avg_duration_seconds),
    tablesAffected: n(r.tables_affected),
    uniqueUsers: n(r.unique_users),
    since: isoTime(r.since as Date)!,
    until: isoTime(r.until as Date)!,
  };
}

/** Statuses of records that own no rows: nothing was committed (failed, interrupted ones included) or it was removed (undone). */
export const ROWLESS_STATUSES = ['failed', 'undone'] as const;

/**
 * Records older than `olderThanSeconds` whose status is one of ROWLESS_STATUSES,
 * oldest first, locked until the end of the transaction. Callers still check that no row
 * references them before deleting.
 */
/** The moment `olderThanSeconds` before the server's now (the transaction's start). */
export async function cutoffBefore(client: Client, olderThanSeconds: number): Promise<Date> {
  return (await client.query<{ cutoff: Date }>(`select now() - make_interval(secs => $1) as cutoff`, [olderThanSeconds])).rows[0]!.cutoff;
}

export async function listPrunable(client: Client, schema: string, olderThanSeconds: number): Promise<{ cutoff: string; records: ImportSummary[] }> {
  const at = await cutoffBefore(client, olderThanSeconds);
  const res = await client.query(
    `select ${SUMMARY_COLUMNS} from ${qualify(schema, 'import_history')} h
      where h.import_timestamp < $1 and h.status = any($2::text[])
      order by h.import_timestamp, h.created_at
      for update of h`,
    [at, [...ROWLESS_STATUSES]],
  );
  return { cutoff: isoTime(at)!, records: res.rows.map(toImportSummary) };
}

/**
 * The column each of `keys` (a file's mapping keys, its header names) went into in the latest
 * committed import into `table` that had it, from its record's mapping_config: where two headers
 * make the same column name (`Sales %`, `Sales $`), a later file with them in another order is
 * matched to those columns by its header, not by position.
 */
export async function rememberedTargets(client: Client, schema: string, table: string, keys: readonly string[]): Promise<Map<string, string>> {
  const res = await client.query<{ key: string; target: string }>(
    `select distinct on (c.key) c.key, c.value->>'target' as target
       from ${qualify(schema, 'import_history')} h
      cross join jsonb_each(case when jsonb_typeof(h.mapping_config->'columns') = 'object' then h.mapping_config->'columns' else '{}'::jsonb end) as c(key, value)
      where h.table_name = $1 and h.status in ('success', 'partial') and c.key = any($2::text[]) and jsonb_typeof(c.value->'target') = 'string'
      order by c.key, h.import_timestamp desc`,
    [table, keys],
  );
  return new Map(res.rows.map((r) => [r.key, r.target]));
}
