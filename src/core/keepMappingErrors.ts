/**
 * The mapping errors of an --atomic batch's imports, kept across the batch's ROLLBACK as its
 * records are (core/endAtomicBatch.ts endAtomic): a failed file's record counts them and its hint
 * names `atlas errors`. Kept in a temporary file, a page at a time: a file may have more errors
 * than memory holds.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { withTransaction, type Client } from '../db/connection.js';
import { fetchMappingErrorLines, insertMappingErrorLines, openMappingErrorsCursor } from '../db/mappingErrors.js';

/** Errors read or written per statement: each a line of at most a few KiB (source_value is cut to 500 characters). */
const PAGE_ROWS = 1000;

const CURSOR = 'atlas_batch_errors';

/** Errors kept by keepMappingErrors. */
export interface KeptErrors {
  /** How many were kept. */
  count: number;
  /** Writes them again, all or none (their records must exist); then removes the file. */
  restore(client: Client): Promise<void>;
  /** Removes the file without writing them. */
  discard(): void;
}

/** Copies the mapping errors of `importIds` to a temporary file, in the transaction about to be rolled back. */
export async function keepMappingErrors(client: Client, schema: string, importIds: readonly string[]): Promise<KeptErrors> {
  const dir = mkdtempSync(join(tmpdir(), 'atlas-batch-errors-'));
  const discard = (): void => rmSync(dir, { recursive: true, force: true });
  const path = join(dir, 'errors.ndjson');
  let count = 0;
  try {
    const file = await open(path, 'w');
    try {
      await openMappingErrorsCursor(client, schema, CURSOR, importIds);
      for (;;) {
        const lines = await fetchMappingErrorLines(client, CURSOR, PAGE_ROWS);
        if (lines.length === 0) break;
        // to_json escapes line ends inside values: one error per line.
        await file.write(`${lines.join('\n')}\n`);
        count += lines.length;
      }
    } finally {
      await file.close();
    }
  } catch (err) {
    discard();
    throw err;
  }
  const restore = async (c: Client): Promise<void> => {
    try {
      if (count === 0) return;
      await withTransaction(c, async () => {
        const input = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
        let page: string[] = [];
        for await (const line of input) {
          page.push(line);
          if (page.length === PAGE_ROWS) {
            await insertMappingErrorLines(c, schema, page);
            page = [];
          }
        }
        await insertMappingErrorLines(c, schema, page);
      });
    } finally {
      discard();
    }
  };
  return { count, restore, discard };
}
