/** A correction a reader made while reading a value (e.g. an Excel date serial read as a date). */
export interface ReaderFix {
  before: string;
  after: string | number | boolean;
  correction_type: string;
  [extra: string]: unknown;
}

/** One record of a fixed-width input (CSV, TSV, XLSX): its position and its fields as text. */
export interface Row {
  /** 1-based position among data records (XLSX: the sheet's row number). */
  rn: number;
  /** `null` is an absent value (an unquoted empty CSV field, an empty cell). */
  fields: Array<string | null>;
  /** Corrections the reader made, keyed by header name (as in `header`). */
  fixes?: Record<string, ReaderFix>;
}

/** One record of an input whose columns are discovered while reading (JSON, NDJSON, XML). */
export interface KeyedRow {
  /** 1-based index of the record. */
  rn: number;
  /** Flattened record: column name -> text (`null` = JSON null). Keys absent here are NULL. */
  values: Record<string, string | null>;
  fixes?: Record<string, ReaderFix>;
}

/** Input with a header known before the data (CSV, TSV, XLSX). */
export interface FixedTableStream {
  kind: 'fixed';
  /** Column names as found in the input (before sanitising). */
  header: string[];
  batches: AsyncIterable<Row[]>;
  /** Format details recorded in import_history.metadata. */
  details: Record<string, unknown>;
}

/** Input whose columns are the union of the keys of all records, in first-seen order (JSON, XML). */
export interface KeyedTableStream {
  kind: 'keyed';
  batches: AsyncIterable<KeyedRow[]>;
  /** Keys whose values are JSON text (arrays, deep objects): stored as jsonb. Filled while reading. */
  jsonKeys: Set<string>;
  details: Record<string, unknown>;
}

export type TableStream = FixedTableStream | KeyedTableStream;

/** Input formats atlas reads. */
export type FileFormat = 'csv' | 'tsv' | 'xlsx' | 'json' | 'ndjson' | 'xml';
