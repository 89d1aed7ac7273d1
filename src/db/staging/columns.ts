/** What staging hands to the rest of the import: the staged columns, their statistics, and counts. */
import type { ColumnStats } from '../../transform/infer.js';
import { quoteIdent } from '../../transform/naming.js';
import { jsonAsTextSql } from '../../transform/typeSql.js';

/** A column as staged: where its text is, what it is called, what its values looked like. */
export interface StagedColumn {
  sourceName: string;
  /** Its name in a mapping: the source name, or `name#2` for a later column of a name the file repeats (MappingKeys). */
  mappingKey: string;
  targetName: string;
  stats: ColumnStats;
  /** The staging table's column (`c3`) that holds this column's text. */
  ref: { name: string };
  /** Values are JSON text (arrays, nested objects): the column is jsonb. */
  json: boolean;
  /** JSON whose key held an array in some record: a value that is not an array is one of one in jsonb (castSql). */
  arrays: boolean;
  /**
   * A JSON or XML reader's column of scalars, staged as their text: in a jsonb column each is a
   * JSON string (`strings`: XML, a JSON key that held only strings) or, where it reads as one, a
   * number or boolean (`literals`: the key held some). Null from CSV and XLSX, and for JSON text.
   */
  scalars: 'strings' | 'literals' | null;
  /** Spreadsheet error cells staged as NULL (rows of the header's width), by error text (`#N/A`); null when none. */
  errorCells: Map<string, number> | null;
  /** Cells of UNREAD_CELL_TYPES staged as NULL (rows of the header's width), by correction_type: how many, and the first one's `before`; null when none. */
  unreadCells: Map<string, { count: number; first: string }> | null;
  /** Values staged as NULL (see NullValuesOf), or null for none. */
  nulls: ReadonlySet<string> | null;
  /** How many values the column's `nulls` turned into NULL. */
  nulled: number;
}

export interface StageResult {
  rows: number;
  /** Rows whose field count differs from the header's (mapping errors). */
  raggedRows: number;
  /** Values that held NUL bytes, which PostgreSQL text cannot store (removed and recorded). */
  nulValues: number;
  /** Rows that carry corrections made while reading (`_fix`). */
  rowsWithFixes: number;
  /** Rows the server read from the input's own CSV bytes (the others went as COPY text lines). */
  csvRows: number;
  columns: StagedColumn[];
  /** Warnings about the columns found while reading (a key cut to MAX_SOURCE_NAME_CHARS). */
  notes: string[];
}

/** SQL for a staged column's raw text. */
export function rawSql(column: StagedColumn, alias = 's'): string {
  return `${alias}.${quoteIdent(column.ref.name)}`;
}

/** SQL for a planned column's text: its raw text, or, JSON text going into a column that is not JSON, the value it stands for. */
export function plannedRawSql(p: { staged: StagedColumn; jsonAsText?: boolean }): string {
  return p.jsonAsText === true ? jsonAsTextSql(rawSql(p.staged)) : rawSql(p.staged);
}

/** Target names picked by a mapping, by source name. */
export type TargetNames = ReadonlyMap<string, string>;

/**
 * The values that stand for "missing" in a source column (--null-value, the config's
 * null_values, a mapping's per-column null_values), or null for none. A value whose text,
 * trimmed, is one of them is staged as NULL before anything observes it, so inference never sees
 * it, and the row's `_fix` records it as a `null_value` correction.
 */
export type NullValuesOf = (sourceName: string) => ReadonlySet<string> | null;
