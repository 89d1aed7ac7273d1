/** One record of the input: its 1-based position among data records, and its fields as text. */
export interface Row {
  rn: number;
  /** `null` is an absent value (an unquoted empty CSV field, a missing key). */
  fields: Array<string | null>;
}

/** What every format reader gives the import: the header and batches of rows, streamed. */
export interface TableStream {
  /** Column names as found in the input (before sanitising). */
  header: string[];
  batches: AsyncIterable<Row[]>;
  /** Format details worth recording in import_history.metadata. */
  details: Record<string, unknown>;
}

/** Input formats atlas reads. */
export type FileFormat = 'csv' | 'tsv';
