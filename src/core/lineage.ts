/** `atlas lineage`: which imports the rows of a table came from, and where one row came from. */
import type { Settings } from '../config.js';
import { withRowSecurityOff, type Client } from '../db/connection.js';
import { getImportsByIds, listTableImports, type ImportRecord, type ImportSummary } from '../db/history.js';
import { countAtlasChangesByImport, listRowVersions, type RowVersionRow } from '../db/preImages.js';
import { countRowsByImport, getDataTable, getRowById, importedAtSql, type TracedRow } from '../db/tables.js';
import { isoTime } from '../transform/time.js';
import { RESERVED_COLUMNS } from '../transform/naming.js';
import { AtlasError, NotFoundError, UsageError } from '../errors.js';
import { sanitizeIdentifier } from '../transform/naming.js';
import { withExistingSchema, type DatabaseOptions } from './database.js';

/** An import that contributed rows to the table: its record as a summary (rows_inserted: what it inserted then), and how many of its rows are there now. */
export type LineageImport = ImportSummary & {
  /** Rows of this import in the table now: fewer than rows_inserted when some were deleted or updated away since. */
  rows_now: number;
  /** Of its rows, those later imports (not undone) updated or deleted: upserts and replaces, atlas's own changes. */
  rows_changed_by_later_imports: number;
  /**
   * The rows atlas's own writes leave to it: rows_inserted + rows_updated (an upsert's updated
   * rows carry its id), plus rows undo --reassign gave it, minus rows_changed_by_later_imports.
   * rows_now differs from it only when rows were changed outside atlas (or, once `history
   * compact` dropped a later import's pre-images, by that import: they no longer say whose rows it changed).
   */
  rows_expected_now: number;
};

/**
 * The spec's lineage shape: the imports that succeeded or were partial into the table, with the
 * rows they inserted; and, apart, the rows the table holds now.
 */
export interface TableLineage {
  table_name: string;
  /** Imports into the table with status success or partial, newest first (undone and failed ones contributed nothing that remains). */
  imports: LineageImport[];
  /** How many imports `imports` lists. */
  total_imports: number;
  /** Sum of their rows_inserted: the rows they inserted, whether still there or not. */
  total_rows_contributed: number;
  /** Rows in the table now, whichever import they came from. */
  rows_now_in_table: number;
}

/** Where one row came from. */
export interface RowLineage {
  table_name: string;
  /** The row's id: a number, or its text past what a double holds exactly (2^53). */
  row_id: number | string;
  import_id: string;
  file_name: string | null;
  import_timestamp: string;
  /** Position of the row's record in the source file, as `source_row_meaning` says. */
  source_row_number: number | null;
  /** What `source_row_number` counts for this file's format (a CSV record, a sheet row, a JSON array element, ...). */
  source_row_meaning: string;
  imported_at: string | null;
  /** Values stored in a form other than their text, per column: {before, after, correction_type, ...}; null when none. */
  corrections_applied: Record<string, unknown> | null;
  /** The row's own columns (atlas's metadata columns left out). */
  values: Record<string, unknown>;
  /** The whole history record of the import. */
  import_record: ImportRecord;
  /**
   * The import (replace, --replace-import) that deleted the row, keeping its last version, or
   * null when the row is in the table. The fields above are then that last version's.
   */
  deleted_by: string | null;
  /**
   * The row's versions, oldest first, the last one the row as it is now: which import wrote each,
   * and which import then updated (upsert) it. Earlier versions come from the pre-images of
   * imports not undone; a row no import changed has one version.
   */
  versions: RowVersion[];
  /**
   * When the import that wrote the oldest version listed updated rows and `history compact` then
   * dropped their previous versions: the row may have had earlier versions, no longer known.
   */
  earlier_versions_dropped: { import_id: string; preimages_pruned_at: string } | null;
}

/** One version of a row. */
export interface RowVersion {
  /** The import that wrote this version (its `_import_id`). */
  import_id: string | null;
  file_name: string | null;
  import_timestamp: string | null;
  source_row_number: number | null;
  /** The version's own columns (atlas's metadata columns left out). */
  values: Record<string, unknown>;
  /** The import that replaced this version, or null for the row as it is now. */
  changed_by: string | null;
  /** What changed_by did: updated the row, or deleted it; null for the row as it is now. */
  change: 'updated' | 'deleted' | null;
}

/** The largest bigint: atlas's `id` columns are bigint identities. */
const MAX_BIGINT = 9223372036854775807n;

/**
 * What `_source_row_number` counts, by the format the import read (its metadata, written by the
 * reader): each reader numbers its records its own way (formats/shared/types.ts).
 */
export function sourceRowMeaning(record: Pick<ImportRecord, 'metadata' | 'file_type'>): string {
  const m = record.metadata;
  const text = (key: string): string | null => (typeof m[key] === 'string' ? (m[key] as string) : null);
  switch (text('format') ?? record.file_type) {
    case 'csv':
      return m.header === false ? 'CSV record number, 1 = the first record (blank lines not counted)' : 'CSV data record number, 1 = the first record after the header (blank lines not counted)';
    case 'xlsx':
    case 'excel':
      return `row number in sheet ${text('sheet') ?? '?'}, as the spreadsheet shows it`;
    case 'json':
      return `element number in the ${text('record_path') === null ? 'top-level array' : `array at ${text('record_path')}`}, 1 = the first`;
    case 'ndjson':
      return 'NDJSON record number, 1 = the first line holding a record (blank lines not counted)';
    case 'xml':
      return `number of the <${text('record_element') ?? 'record'}> element among the records, 1 = the first`;
    default:
      return 'number of the record in the file, 1 = the first';
  }
}

/** A table's lineage in a schema where atlas never ran (its history tables are not there): no import contributed its rows. */
async function lineageWithoutHistory(client: Client, schema: string, table: string): Promise<TableLineage> {
  await requireTrackedTable(client, schema, table, false);
  const counts = await countRowsByImport(client, schema, table);
  return { table_name: table, imports: [], total_imports: 0, total_rows_contributed: 0, rows_now_in_table: counts.reduce((sum, c) => sum + c.rows, 0) };
}

/** A row of a table in a schema where atlas never ran: not there, or naming an import there is no record of. */
async function rowWithoutHistory(client: Client, schema: string, table: string, id: string): Promise<never> {
  await requireRowTable(client, schema, table, id, false);
  const row = await getRowById(client, schema, table, id, false);
  if (row === null) throw noSuchRow(schema, table, id);
  throw new NotFoundError(`row ${id} names import ${row.importId}, which has no history record`);
}

/** The table exists, has `_import_id`, and an id column to find row `id` by. */
async function requireRowTable(client: Client, schema: string, table: string, id: string, history = true): Promise<void> {
  await requireTrackedTable(client, schema, table, history);
  const info = await getDataTable(client, schema, table);
  if (!info?.columns.has('id')) throw new AtlasError(`table ${schema}.${table} has no id column to find row ${id} by`);
  // getRowById compares the id as a bigint, as atlas's tables make it.
  if (!['smallint', 'integer', 'bigint'].includes(info.idType ?? '')) throw new AtlasError(`the id column of table ${schema}.${table} is ${info.idType}, not an integer: atlas finds a row by an integer id`);
}

const noSuchRow = (schema: string, table: string, id: string): NotFoundError =>
  new NotFoundError(`no row with id ${id} in ${schema}.${table}`, { hint: 'it may have been deleted, or removed by `atlas undo`' });

/** Checks the table exists and has `_import_id`; throws a helpful error otherwise. */
async function requireTrackedTable(client: Client, schema: string, table: string, history = true): Promise<void> {
  const info = await getDataTable(client, schema, table);
  if (info === null) {
    // Imports went into it, and history lists them: the table was dropped or renamed since ("no table" alone read as a typo).
    const imported = history ? (await listTableImports(client, schema, table)).length : 0;
    if (imported > 0) {
      throw new NotFoundError(`no table ${schema}.${table}: ${imported} import(s) that still own rows went into it, so it was dropped or renamed since`, {
        hint: `atlas history --table ${table} lists them; give the table back its name to trace its rows`,
      });
    }
    const guess = sanitizeIdentifier(table);
    const hint = guess !== table && guess !== '' && (await getDataTable(client, schema, guess)) !== null ? `did you mean ${guess}?` : '`atlas history` shows the tables atlas imported into';
    throw new NotFoundError(`no table ${schema}.${table}`, { hint });
  }
  if (!info.tracked) {
    throw new AtlasError(`table ${schema}.${table} has no _import_id column: atlas did not create it, so its rows cannot be traced`);
  }
}

/** Every import that contributed rows to `table` (success or partial), newest first, and the rows there now. */
export async function traceLineage(settings: Settings, table: string, options: DatabaseOptions = {}): Promise<TableLineage> {
  if (table === '') throw new UsageError('give a table name');
  return withExistingSchema(settings, options, async (client) => {
    await requireTrackedTable(client, settings.schema, table);
    // A policy hiding rows from this role would read as rows changed outside atlas: refused instead, naming it.
    const counts = await withRowSecurityOff(client, `cannot trace the lineage of ${settings.schema}.${table}`, () => countRowsByImport(client, settings.schema, table));
    const byId = new Map(counts.map((c) => [c.importId, c.rows]));
    const records = await listTableImports(client, settings.schema, table);
    const changes = await countAtlasChangesByImport(client, settings.schema, table);
    const imports = records.map((r) => {
      const changedByLater = changes.get(r.import_id) ?? 0;
      const expected = (r.rows_inserted ?? 0) + (r.rows_updated ?? 0) - changedByLater;
      return { ...r, rows_now: byId.get(r.import_id) ?? 0, rows_changed_by_later_imports: changedByLater, rows_expected_now: expected };
    });
    return {
      table_name: table,
      imports,
      total_imports: imports.length,
      total_rows_contributed: imports.reduce((sum, i) => sum + (i.rows_inserted ?? 0), 0),
      rows_now_in_table: counts.reduce((sum, c) => sum + c.rows, 0),
    };
  }, (client) => lineageWithoutHistory(client, settings.schema, table));
}

/** A row as its kept version holds it (row_to_json of the whole row), read as getRowById reads a row. */
async function rowFromVersion(client: Client, schema: string, v: RowVersionRow): Promise<TracedRow> {
  const data = v.row_data;
  // _imported_at: a timestamp without time zone, read in its import's zone as getRowById reads it.
  const at = typeof data._imported_at === 'string' ? (await client.query<{ t: Date }>(`select ${importedAtSql(schema, '$1::text', '$2::text')} as t`, [data._imported_at, data._import_id ?? null])).rows[0]!.t : null;
  return {
    importId: typeof data._import_id === 'string' ? data._import_id : null,
    sourceRowNumber: typeof data._source_row_number === 'number' ? data._source_row_number : null,
    importedAt: isoTime(at),
    correctionsApplied: (data._corrections_applied as Record<string, unknown> | null | undefined) ?? null,
    values: Object.fromEntries(Object.entries(data).filter(([k]) => !(RESERVED_COLUMNS as readonly string[]).includes(k))),
  };
}

/** The import, file, source row number and corrections behind the row whose `id` is `rowId` (or its last version, if a replace deleted it). */
export async function traceRow(settings: Settings, table: string, rowId: string | number, options: DatabaseOptions = {}): Promise<RowLineage> {
  const id = String(rowId);
  // bigint identity: digits only, within bigint's range (checked here, not left to the server to refuse).
  if (!/^[0-9]{1,19}$/.test(id) || BigInt(id) > MAX_BIGINT) throw new UsageError(`--row must be a row id, a whole number from 0 to ${MAX_BIGINT}, not "${id}"`);
  return withExistingSchema(settings, options, async (client) => {
    await requireRowTable(client, settings.schema, table, id);
    const earlier = await listRowVersions(client, settings.schema, table, id);
    const last = earlier.at(-1);
    // A row a replace deleted: its last version, kept in that import's pre-images, stands for it.
    const deletedBy = last?.action === 'deleted' ? last.changed_by : null;
    const row = (await getRowById(client, settings.schema, table, id)) ?? (last !== undefined && deletedBy !== null ? await rowFromVersion(client, settings.schema, last) : null);
    if (row === null) throw noSuchRow(settings.schema, table, id);
    if (row.importId === null) {
      const which = deletedBy === null ? `row ${id} of ${settings.schema}.${table}` : `row ${id} of ${settings.schema}.${table}, deleted by import ${deletedBy},`;
      throw new NotFoundError(`${which} was not loaded by atlas: its _import_id is NULL (a row from before atlas's columns were added to the table, or written outside atlas), so it has no import, file or source row to trace`, {
        hint: `\`atlas lineage ${table}\` lists the imports that loaded rows into it`,
      });
    }
    const [record] = await getImportsByIds(client, settings.schema, [row.importId]);
    if (record === undefined) throw new NotFoundError(`row ${id} names import ${row.importId}, which has no history record`);
    const involved = [...new Set(earlier.flatMap((v) => (v.prior_import_id === null ? [] : [v.prior_import_id])))];
    const records = new Map((await getImportsByIds(client, settings.schema, involved, true)).map((r) => [r.import_id, r]));
    const userValues = (data: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(data).filter(([k]) => !(RESERVED_COLUMNS as readonly string[]).includes(k)));
    // A deleted row's last version is the row shown: the versions list it as deleted.
    const versions: RowVersion[] = earlier.map((v) => ({
      import_id: v.prior_import_id,
      file_name: v.prior_import_id === null ? null : (records.get(v.prior_import_id)?.file_name ?? null),
      import_timestamp: v.prior_import_id === null ? null : (records.get(v.prior_import_id)?.import_timestamp ?? null),
      source_row_number: typeof v.row_data._source_row_number === 'number' ? v.row_data._source_row_number : null,
      values: userValues(v.row_data),
      changed_by: v.changed_by,
      change: v.action,
    }));
    if (deletedBy === null) versions.push({ import_id: row.importId, file_name: record.file_name, import_timestamp: record.import_timestamp, source_row_number: row.sourceRowNumber, values: row.values, changed_by: null, change: null });
    const oldest = versions[0]?.import_id ?? null;
    const writer = oldest === null ? undefined : oldest === record.import_id ? record : records.get(oldest);
    const dropped = writer !== undefined && writer.preimages_pruned_at !== null && (writer.rows_updated ?? 0) > 0 ? { import_id: writer.import_id, preimages_pruned_at: writer.preimages_pruned_at } : null;
    return {
      table_name: table,
      row_id: Number.isSafeInteger(Number(id)) ? Number(id) : id,
      import_id: row.importId,
      file_name: record.file_name,
      import_timestamp: record.import_timestamp,
      source_row_number: row.sourceRowNumber,
      source_row_meaning: sourceRowMeaning(record),
      imported_at: row.importedAt,
      corrections_applied: row.correctionsApplied,
      values: row.values,
      import_record: record,
      deleted_by: deletedBy,
      versions,
      earlier_versions_dropped: dropped,
    };
  }, (client) => rowWithoutHistory(client, settings.schema, table, id));
}
