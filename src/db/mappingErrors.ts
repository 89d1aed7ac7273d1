/** Queries on mapping_errors. The schema name is always quoted; every value is a parameter. */
import { qualify, quoteIdent } from '../transform/naming.js';
import { isoTime } from '../transform/time.js';
import type { Client } from './connection.js';

/** A source_value is cut to this many characters: enough to recognise a value or a record, not a copy of a huge one. */
export const MAX_SOURCE_VALUE_CHARS = 500;

/** A row of mapping_errors as the spec's JSON shows it. */
export interface MappingError {
  id: number;
  import_id: string;
  /** Which data record of the file (1 = the first after the header). */
  record_number: number | null;
  error_type: string | null;
  error_message: string;
  source_field: string | null;
  target_field: string | null;
  /** The value that could not be used, or the record with the wrong number of fields as a CSV line (cut to MAX_SOURCE_VALUE_CHARS). */
  source_value: string | null;
  occurred_at: string | null;
  chunk_number: number | null;
}

/** Filters of `atlas errors`. */
export interface MappingErrorFilter {
  importId: string;
  /** Only this error_type. */
  type: string | null;
  /** Only errors whose source_field or target_field is this. */
  field: string | null;
  limit: number;
  offset: number;
}

/** One page of an import's mapping errors in file order, with the count of all that match. */
export async function listMappingErrors(client: Client, schema: string, f: MappingErrorFilter): Promise<{ rows: MappingError[]; total: number }> {
  const where = `where e.import_id = $1
      and ($2::text is null or e.error_type = $2)
      and ($3::text is null or e.source_field = $3 or e.target_field = $3)`;
  const params = [f.importId, f.type, f.field];
  const table = qualify(schema, 'mapping_errors');
  const total = await client.query<{ n: string }>(`select count(*) as n from ${table} e ${where}`, params);
  const res = await client.query(
    `select e.id, e.import_id, e.record_number, e.error_type, e.error_message, e.source_field, e.target_field,
            e.source_value, e.occurred_at, e.chunk_number
       from ${table} e ${where}
      order by e.record_number nulls last, e.id limit $4 offset $5`,
    [...params, f.limit, f.offset],
  );
  const rows = res.rows.map((r: Record<string, unknown>) => ({
    ...r,
    occurred_at: isoTime(r.occurred_at as Date | null),
  })) as MappingError[];
  return { rows, total: Number(total.rows[0]?.n ?? 0) };
}

/** How many mapping errors an import has (what deleting its record removes with it). */
export async function countMappingErrors(client: Client, schema: string, importId: string): Promise<number> {
  const res = await client.query<{ n: string }>(`select count(*) as n from ${qualify(schema, 'mapping_errors')} where import_id = $1`, [importId]);
  return Number(res.rows[0]?.n ?? 0);
}

/** A SELECT of mapping_errors' columns (record_number, source_field, target_field, error_type, error_message, source_value) and its parameters. */
export interface ErrorRowsQuery {
  sql: string;
  params: unknown[];
}

/** How many errors the query finds, and in how many records. */
export interface ErrorCounts {
  errors: number;
  records: number;
}

const counted = (rows: string): string => `select count(*)::int as errors, count(distinct record_number)::int as records from ${rows}`;

/** Counts the errors `errors` finds without recording them (a dry run). */
export async function countErrorRows(client: Client, errors: ErrorRowsQuery): Promise<ErrorCounts> {
  return (await client.query<ErrorCounts>(counted(`(${errors.sql}) e`), errors.params)).rows[0]!;
}

/** Records the errors `errors` finds as the import's mapping errors, in one statement. */
export async function insertMappingErrors(client: Client, schema: string, importId: string, errors: ErrorRowsQuery): Promise<ErrorCounts> {
  const insert = `insert into ${qualify(schema, 'mapping_errors')} (import_id, record_number, source_field, target_field, error_type, error_message, source_value)
     select $${errors.params.length + 1}::uuid, record_number, source_field, target_field, error_type, error_message, source_value from (${errors.sql}) e
     returning record_number`;
  return (await client.query<ErrorCounts>(`with e as (${insert}) ${counted('e')}`, [...errors.params, importId])).rows[0]!;
}

/**
 * Opens cursor `name` over the mapping errors of `importIds` in the order they were found, each
 * row one JSON text (`line`, every column, times to the microsecond); read with
 * fetchMappingErrorLines. Only in a transaction, which closes it as it ends.
 */
export async function openMappingErrorsCursor(client: Client, schema: string, name: string, importIds: readonly string[]): Promise<void> {
  await client.query(`declare ${quoteIdent(name)} no scroll cursor for select to_json(e)::text as line from ${qualify(schema, 'mapping_errors')} e where e.import_id = any($1::uuid[]) order by e.id`, [importIds]);
}

/** The next `count` lines of a cursor opened by openMappingErrorsCursor (fewer at its end). */
export async function fetchMappingErrorLines(client: Client, name: string, count: number): Promise<string[]> {
  const res = await client.query<{ line: string }>(`fetch forward ${Math.trunc(count)} from ${quoteIdent(name)}`);
  return res.rows.map((r) => r.line);
}

/** Writes again errors read by fetchMappingErrorLines, each with a new id, in the order they had. */
export async function insertMappingErrorLines(client: Client, schema: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const table = qualify(schema, 'mapping_errors');
  const columns = 'import_id, record_number, source_field, target_field, error_type, error_message, source_value, occurred_at, chunk_number';
  await client.query(`insert into ${table} (${columns}) select ${columns} from json_populate_recordset(null::${table}, $1::json) order by id`, [`[${lines.join(',')}]`]);
}
