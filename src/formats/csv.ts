import { BatchQueue, pullBatches } from './pull.js';
import { AtlasError } from '../errors.js';
import { CsvScanner, sniffDelimiter } from './csvScanner.js';
import { detectEncoding, StrictDecoder } from './decode.js';
import type { FixedTableStream, Row } from './types.js';

export interface CsvOptions {
  /** Field delimiter; sniffed among , ; tab | when null. */
  delimiter: string | null;
  /** First record is the header. @default true */
  header: boolean;
  /** Encoding name (see --encoding); detected from a BOM, else UTF-8, when null. */
  encoding: string | null;
}

/**
 * Reads CSV: returns once the header is known, then streams the data records in batches.
 * Blank lines are not records. `rn` counts data records from 1 (the first after the header).
 */
export async function openCsv(bytes: AsyncIterable<Buffer>, options: CsvOptions): Promise<FixedTableStream> {
  const iterator = bytes[Symbol.asyncIterator]();
  let decoder: StrictDecoder | null = null;
  let scanner: CsvScanner | null = null;
  let header: string[] | null = null;
  let rn = 0;
  const pending = new BatchQueue<Row>();
  let done = false;
  let delimiter = options.delimiter;

  const onRecord = (fields: Array<string | null>): void => {
    if (fields.length === 0) return;
    if (header === null && options.header) {
      header = fields.map((f) => f ?? '');
      return;
    }
    rn++;
    pending.push({ rn, fields });
  };

  const feed = async (): Promise<boolean> => {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      if (decoder && scanner) {
        scanner.push(decoder.end());
        if (scanner.insideQuotes) {
          throw new AtlasError(`the CSV ends inside a quoted field that starts in record ${rn + (header ? 2 : 1)}: the file is truncated or a quote is not closed`);
        }
        scanner.end();
      }
      return false;
    }
    const chunk = next.value;
    if (decoder === null) {
      decoder = new StrictDecoder(detectEncoding(chunk, options.encoding));
    }
    const text = decoder.decode(chunk);
    if (scanner === null) {
      delimiter ??= sniffDelimiter(text.slice(0, 64 * 1024));
      scanner = new CsvScanner(delimiter, onRecord);
    }
    scanner.push(text);
    return true;
  };

  // Read until the header (or, without one, the first record) is known.
  while (!done && (options.header ? header === null : pending.length === 0)) await feed();
  if (options.header && header === null) throw new AtlasError('the file is empty: no header row found');
  if (!options.header) {
    const width = pending.peek()?.fields.length ?? 0;
    if (width === 0) throw new AtlasError('the file is empty: no records found');
    header = Array.from({ length: width }, (_, i) => `column_${i + 1}`);
  }

  return {
    kind: 'fixed',
    header: header as unknown as string[],
    batches: pullBatches(pending, () => done, feed),
    details: { format: 'csv', delimiter, encoding: (decoder as StrictDecoder | null)?.encoding ?? 'utf-8', header: options.header },
  };
}
