/** File-level duplicate detection: the same bytes into the same table. */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Client } from '../db/connection.js';
import { qualify } from '../transform/naming.js';

/** Bytes read per call while hashing: one buffer, reused, so hashing a large file allocates nothing. */
const HASH_BUFFER_BYTES = 1 << 20;

/** SHA-256 of a local file, read at full speed (no parsing). */
export async function hashLocalFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(HASH_BUFFER_BYTES);
  const file = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/**
 * Whether an earlier import into the table that still owns its rows read exactly `sizeBytes`
 * bytes: only then can a file be the same bytes, and is worth hashing before the import (1M-row
 * CSV: half a second).
 */
export async function hasEarlierImportOfSize(client: Client, schema: string, tableName: string, sizeBytes: number): Promise<boolean> {
  const res = await client.query(
    `select 1 from ${qualify(schema, 'import_history')} where table_name = $1 and file_size_bytes = $2 and status in ('success', 'partial') limit 1`,
    [tableName, sizeBytes],
  );
  return res.rowCount === 1;
}

/** An earlier import of the same bytes into the same table that still owns its rows (success or partial, not undone). */
export async function findEarlierImport(
  client: Client,
  schema: string,
  tableName: string,
  fileHash: string,
  exceptImportId: string | null,
): Promise<{ import_id: string; import_timestamp: Date } | null> {
  const res = await client.query<{ import_id: string; import_timestamp: Date }>(
    `select import_id, import_timestamp from ${qualify(schema, 'import_history')}
      where table_name = $1 and file_hash = $2 and status in ('success', 'partial')
        and ($3::uuid is null or import_id <> $3::uuid)
      order by import_timestamp limit 1`,
    [tableName, fileHash, exceptImportId],
  );
  return res.rows[0] ?? null;
}
