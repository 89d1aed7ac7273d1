/** File-level duplicate detection: the same bytes into the same table. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Client } from '../db/connection.js';
import { qualify } from '../transform/naming.js';

/** SHA-256 of a local file, read at full speed (no parsing). */
export async function hashLocalFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
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
