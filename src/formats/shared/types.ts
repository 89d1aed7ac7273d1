import type { LateShapes } from './lateArrays.js';

/** A correction a reader made while reading a value (e.g. an Excel date serial read as a date). */
export interface ReaderFix {
  before: string;
  /** null: the value is stored as NULL (a spreadsheet error cell, or a null value). */
  after: string | number | boolean | null;
  correction_type: string;
  [extra: string]: unknown;
}

/** correction_type of a spreadsheet error cell (`#DIV/0!`, `#N/A`, ...), stored as NULL with its text as `before`. */
export const SPREADSHEET_ERROR = 'spreadsheet_error';

/** correction_type of a formula cell the file holds no calculated value for, stored as NULL with its formula (`=B3/C3`) as `before`. */
export const FORMULA_NOT_CALCULATED = 'formula_not_calculated';

/** correction_type of Excel's date serial 60, the 29 February 1900 that never was, stored as NULL with the serial as `before`. */
export const EXCEL_PHANTOM_DATE = 'excel_phantom_date';

/** The cells a reader could not read as a value, besides error cells: NULL with a correction, counted per column, mapping errors under --strict. */
export const UNREAD_CELL_TYPES: readonly string[] = [FORMULA_NOT_CALCULATED, EXCEL_PHANTOM_DATE];

/** One record of a fixed-width input (CSV, TSV, XLSX): its position and its fields as text. */
export interface Row {
  /** 1-based position among data records (XLSX: the sheet's row number). */
  rn: number;
  /** `null` is an absent value (an unquoted empty CSV field, an empty cell). */
  fields: Array<string | null>;
  /**
   * Corrections the reader made, by field position (sparse). By position, not header text: two
   * columns may have the same header (or none), and a header such as `__proto__` is no safe key.
   */
  fixes?: Array<ReaderFix | undefined>;
  /**
   * Positions of quoted CSV fields whose text is a null value: quoting says text, so they are not
   * read as NULL (as COPY's NULL string never matches a quoted value). Set only with null values.
   */
  quoted?: number[];
}

/** One record of an input whose columns are discovered while reading (JSON, NDJSON, XML). */
export interface KeyedRow {
  /** 1-based index of the record. */
  rn: number;
  /**
   * Flattened record: column names and, at the same positions, their text (`null` = JSON null).
   * Keys absent here are NULL; each key once (RecordKeys renames a repeat). Two arrays, not an
   * object: a prototype-less object with a million records' keys is a dictionary, and three
   * passes over its keys cost four times what they cost over arrays. Records with the same keys
   * in the same order may share one array (see RecordKeys): it is never modified.
   */
  keys: readonly string[];
  values: Array<string | null>;
  fixes?: Record<string, ReaderFix>;
}

/**
 * The distinct keys the records of an input brought, counted as they come, since every key
 * becomes a column: past what a table can hold the input is refused as soon as it is seen. A
 * record with the same keys in the same order as the previous one (as the records of a file
 * mostly have) gets the previous record's keys array back and is not counted again, so that
 * whoever checks keys after the reader (the staging table's columns, each key's place in a COPY
 * line) does it once per change of keys rather than once per record: one string comparison per
 * key instead of three Map lookups.
 */
export class RecordKeys {
  private lastIn: readonly string[] = [];
  private lastOut: readonly string[] = [];
  private readonly seen = new Set<string>();
  /**
   * Keys a record held more than once (a key and a nested member flattened to the same name,
   * `hook_id` and `hook.id`; an attribute and a child element; a key written twice): the later
   * ones are renamed `name_2`, `name_3`, ..., so that no value is lost. New name -> the key it held.
   */
  readonly renamed = new Map<string, string>();

  constructor(private readonly maxKeys: number) {}

  /** The record's keys (the previous record's array when they are the same), each once; null when they take the input past `maxKeys` distinct keys. */
  add(keys: readonly string[]): readonly string[] | null {
    const last = this.lastIn;
    if (keys.length === last.length) {
      let i = 0;
      while (i < keys.length && keys[i] === last[i]) i++;
      if (i === keys.length) return this.lastOut;
    }
    const out = this.distinct(keys);
    this.lastIn = keys;
    this.lastOut = out;
    for (const key of out) {
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      if (this.seen.size > this.maxKeys) return null;
    }
    return out;
  }

  /** A warning naming the keys renamed, or null. */
  warning(): string | null {
    if (this.renamed.size === 0) return null;
    const list = [...this.renamed].slice(0, 5).map(([to, from]) => `${from} -> ${to}`).join(', ');
    const more = this.renamed.size > 5 ? ` and ${this.renamed.size - 5} more` : '';
    return `some records held a key twice (a key and a nested member flattened to the same name, an attribute and a child element, or a key written twice); the later value is kept in its own column: ${list}${more}`;
  }

  private distinct(keys: readonly string[]): readonly string[] {
    let out: string[] | null = null;
    const met = new Set<string>();
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (!met.has(key)) {
        met.add(key);
        continue;
      }
      out ??= keys.slice();
      let n = 2;
      while (met.has(`${key}_${n}`) || keys.includes(`${key}_${n}`)) n++;
      const name = `${key}_${n}`;
      out[i] = name;
      met.add(name);
      if (!this.renamed.has(name)) this.renamed.set(name, key);
    }
    return out ?? keys;
  }
}

/** The record as an object (a key repeated keeps its last value); it has no prototype. */
export function recordValues(row: Pick<KeyedRow, 'keys' | 'values'>): Record<string, string | null> {
  const out = Object.create(null) as Record<string, string | null>;
  for (let i = 0; i < row.keys.length; i++) out[row.keys[i]!] = row.values[i]!;
  return out;
}

/**
 * A batch of CSV records as the input has them: bytes that PostgreSQL's `COPY ... (FORMAT csv)`
 * splits into exactly the batch's rows (see csv.ts for when a reader gives them).
 */
export interface RawCsv {
  /** The records, UTF-8, each ending with its line end (the input's last may have none). */
  bytes: Buffer;
  /** The field delimiter, one of those atlas sniffs among. */
  delimiter: SniffedDelimiter;
  /** Every line end is CRLF (else every one is LF): one COPY reads only one kind. */
  crlf: boolean;
}

/** Rows in file order; with `raw`, also as the input's own bytes. */
export type RowBatch = Row[] & { raw?: RawCsv };

/** Input with a header known before the data (CSV, TSV, XLSX). */
export interface FixedTableStream {
  kind: 'fixed';
  /** Column names as found in the input (before sanitising). */
  header: string[];
  batches: AsyncIterable<RowBatch>;
  /** Format details recorded in import_history.metadata. */
  details: Record<string, unknown>;
  /** What the reader noticed and the user should hear of (filled by the time the last batch is read). */
  warnings?: string[];
}

/** Input whose columns are the union of the keys of all records, in first-seen order (JSON, XML). */
export interface KeyedTableStream {
  kind: 'keyed';
  batches: AsyncIterable<KeyedRow[]>;
  /** Keys whose values are JSON text (arrays, deep objects): stored as jsonb. Filled while reading. */
  jsonKeys: Set<string>;
  /**
   * After the last record: the keys held once in some records and as arrays in later ones, to be
   * rewritten as arrays in the earlier records, and from which record on each JSON key's text is
   * JSON (its text or scalar as read before): see formats/shared/lateArrays.ts.
   */
  lateShapes: () => LateShapes;
  details: Record<string, unknown>;
  /** What the reader noticed and the user should hear of (filled by the time the last batch is read). */
  warnings?: string[];
}

export type TableStream = FixedTableStream | KeyedTableStream;

/** Input formats atlas reads. */
export type FileFormat = 'csv' | 'tsv' | 'xlsx' | 'json' | 'ndjson' | 'xml';

/** The format each file extension names (lower case, without the dot). */
export const FORMAT_EXTENSIONS: Readonly<Record<string, FileFormat>> = {
  csv: 'csv',
  txt: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  xlsx: 'xlsx',
  xlsm: 'xlsx',
  xls: 'xlsx',
  json: 'json',
  // GeoJSON (RFC 7946) is one JSON document, a FeatureCollection's records under `features`.
  geojson: 'json',
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  xml: 'xml',
};

/** Extensions of compressed files and archives (some of which atlas reads: gzip, zip). */
export const COMPRESSION_EXTENSIONS: ReadonlySet<string> = new Set(['gz', 'gzip', 'zip', 'bz2', 'xz', 'zst', '7z', 'rar']);

/** Delimiters atlas sniffs among, in order of preference on a tie. */
export const SNIFFED_DELIMITERS = [',', ';', '\t', '|'] as const;
export type SniffedDelimiter = (typeof SNIFFED_DELIMITERS)[number];
