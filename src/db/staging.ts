import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { Row } from '../formats/types.js';
import { quoteIdent } from '../transform/naming.js';
import type { Client } from './connection.js';

/** COPY data is sent in pieces of about this size: big enough to keep per-write overhead low. */
const COPY_CHUNK_CHARS = 1 << 20;

const NEEDS_ESCAPE = /[\\\t\n\r\0]/;

/** COPY text format escaping. NUL cannot be stored in PostgreSQL text, so it is dropped (and counted). */
export function escapeCopyText(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\0/g, '').replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** A row-level problem found while staging: too few or too many fields. */
export type RowProblem = `too_few_fields:${number}` | `too_many_fields:${number}`;

export interface StageResult {
  rows: number;
  /** Rows whose field count differs from the header's. */
  raggedRows: number;
  /** Values that held NUL bytes (removed). */
  nulValues: number;
}

/**
 * Streams rows into the staging table with COPY (text format), calling `observe` with every
 * row on the way so inference sees all values exactly once.
 */
export async function copyIntoStage(
  client: Client,
  stage: string,
  width: number,
  batches: AsyncIterable<Row[]>,
  observe: (fields: ReadonlyArray<string | null>) => void,
  signal?: AbortSignal,
): Promise<StageResult> {
  const result: StageResult = { rows: 0, raggedRows: 0, nulValues: 0 };
  async function* copyText(): AsyncGenerator<string> {
    let parts: string[] = [];
    let size = 0;
    for await (const batch of batches) {
      for (const row of batch) {
        let fields = row.fields;
        let problem = '\\N';
        if (fields.length !== width) {
          result.raggedRows++;
          problem = fields.length < width ? `too_few_fields:${fields.length}` : `too_many_fields:${fields.length}`;
          fields = fields.length < width ? [...fields, ...Array<null>(width - fields.length).fill(null)] : fields.slice(0, width);
        } else {
          observe(fields);
        }
        let line = `${row.rn}\t${problem}`;
        for (const f of fields) {
          if (f === null) line += '\t\\N';
          else {
            if (f.includes('\0')) result.nulValues++;
            line += '\t' + escapeCopyText(f);
          }
        }
        line += '\n';
        parts.push(line);
        size += line.length;
        result.rows++;
      }
      if (size >= COPY_CHUNK_CHARS) {
        yield parts.join('');
        parts = [];
        size = 0;
      }
    }
    if (parts.length > 0) yield parts.join('');
  }
  const copy = client.query(copyFrom(`copy ${quoteIdent(stage)} from stdin`));
  await pipeline(Readable.from(copyText(), { objectMode: false }), copy, signal ? { signal } : {});
  return result;
}
