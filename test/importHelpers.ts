/** Helpers for the history, stats, lineage, errors and undo tests: real imports and hand-made records. */
import { randomUUID } from 'node:crypto';
import { importFile, type ImportOptions, type ImportResult } from '../src/core/import.ts';
import type { Settings } from '../src/config.ts';
import { migrate } from '../src/db/migrate.ts';
import { createTableSql } from '../src/transform/ddl.ts';
import { qualify, quoteIdent } from '../src/transform/naming.ts';
import type { TestDb } from './helpers.ts';

const importDefaults: Omit<ImportOptions, 'source'> = { table: null, format: null, delimiter: null, header: true, encoding: null, name: null };

/** Imports a file through the real importer. */
export function importInto(settings: Settings, path: string, table: string | null = null): Promise<ImportResult> {
  return importFile(settings, { ...importDefaults, source: path, table });
}

/** Imports a file through the real importer with more options (mode, key, ...). */
export function importWith(settings: Settings, path: string, table: string | null, options: Partial<ImportOptions>): Promise<ImportResult> {
  return importFile(settings, { ...importDefaults, source: path, table, ...options });
}

/** Every column of every row of a table, `id` and the metadata included, in id order: compare before and after. */
export async function snapshotTable(db: TestDb, table: string): Promise<unknown[]> {
  return (await db.client.query(`select to_jsonb(t) as r from ${qualify(db.schema, table)} t order by t.id`)).rows.map((r: { r: unknown }) => r.r);
}

/** Every row as its record text, in id order: tells a json/jsonb JSON null (`null`) from SQL NULL (empty), which to_jsonb writes alike. */
export async function snapshotRowText(db: TestDb, table: string): Promise<string[]> {
  return (await db.client.query(`select t::text as r from ${qualify(db.schema, table)} t order by t.id`)).rows.map((r: { r: string }) => r.r);
}

/** Creates atlas's own tables in the test schema (the first core call would do it too). */
export async function migrateTestDb(db: TestDb): Promise<void> {
  await migrate(db.client, db.schema);
}

/** Fields of a hand-made import_history record; anything left out gets a plain default. */
export interface RecordFields {
  import_id?: string;
  user_id?: string | null;
  table_name?: string;
  file_name?: string | null;
  status?: 'in_progress' | 'success' | 'failed' | 'partial' | 'undone';
  /** Age of the record, e.g. '3 days' (a PostgreSQL interval). @default '0 seconds' */
  age?: string;
  rows_inserted?: number | null;
  duplicates_found?: number | null;
  duration_seconds?: number | null;
  validation_errors?: number | null;
}

/** Inserts an import_history record directly (for filters, ages and statuses the importer cannot be told to produce). */
export async function insertRecord(db: TestDb, f: RecordFields = {}): Promise<string> {
  const id = f.import_id ?? randomUUID();
  await db.client.query(
    `insert into ${db.schema}.import_history
       (import_id, user_id, source_type, file_name, table_name, status, import_timestamp, created_at, rows_inserted, duplicates_found, duration_seconds, validation_errors)
     values ($1, $2, 'local_upload', $3, $4, $5, now() - $6::interval, now() - $6::interval, $7, $8, $9, $10)`,
    [
      id,
      f.user_id === undefined ? 'tester' : f.user_id,
      f.file_name === undefined ? 'data.csv' : f.file_name,
      f.table_name ?? 'things',
      f.status ?? 'success',
      f.age ?? '0 seconds',
      f.rows_inserted === undefined ? 0 : f.rows_inserted,
      f.duplicates_found === undefined ? 0 : f.duplicates_found,
      f.duration_seconds === undefined ? 1 : f.duration_seconds,
      f.validation_errors === undefined ? 0 : f.validation_errors,
    ],
  );
  return id;
}

/**
 * Creates a table as atlas would (identity id, metadata columns, keys, indexes) with columns of the
 * given types (SQL; names of types in the test schema resolve unqualified) and table constraints:
 * a table made beforehand, as a user may make one (atlas's own tables are made first if need be).
 */
export async function createTrackedTable(db: TestDb, table: string, columns: ReadonlyArray<[string, string]>, constraints: readonly string[] = []): Promise<void> {
  await migrateTestDb(db);
  const ddl = createTableSql(db.schema, table, columns.map(([name, sqlType]) => ({ name, sqlType })));
  await db.client.query(`set search_path to ${quoteIdent(db.schema)}, public`);
  try {
    for (const sql of [ddl.create, ...ddl.finish]) await db.client.query(sql);
    for (const c of constraints) await db.client.query(`alter table ${qualify(db.schema, table)} add ${c}`);
  } finally {
    await db.client.query('reset search_path');
  }
}
