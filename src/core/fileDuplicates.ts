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
 * What is known of a file: its hash, or its size with a way to hash it. Given the size, the
 * earlier imports of that size are looked up first and the file is hashed only when there are any
 * (hashing a 1M-row CSV costs half a second).
 */
export type FileIdentity = { hash: string } | { sizeBytes: number; hash: () => Promise<string> } | S3ObjectIdentity;

/**
 * An S3 object known by its URL, size and ETag, before any of its bytes are read: an earlier import
 * of the same URL with the same ETag and size read the same bytes (S3 gives an object a new ETag
 * whenever it is written again), so a re-run skips it without downloading it to hash it. Not
 * finding one proves nothing: the check by hash inside the import's transaction stays the authority.
 */
export interface S3ObjectIdentity {
  sizeBytes: number;
  s3: { url: string; etag: string };
}

/**
 * The part of a file an import reads, as its options name it (`metadata.options`): another sheet of
 * a workbook, another entry of a zip, another record path is other data in the same bytes.
 */
export interface FilePart {
  sheet?: string | null;
  /**
   * The sheet read, by its name, once the workbook is open (the check inside the import): compared
   * with the sheet each earlier import read (`metadata.sheet`) instead of `sheet` as asked, since
   * `--sheet 1`, `--sheet '#1'`, `--sheet Name` and no --sheet may all name the same sheet. Null: not a workbook.
   */
  sheetRead?: string | null;
  range?: string | null;
  entry?: string | null;
  recordPath?: string | null;
}

/**
 * The earliest import of the same bytes (the same part of them) into the same table that still
 * owns its rows (success or partial, not undone), other than those in `except` (the import itself,
 * and the one a --replace-import removes: loading the same file again with other options in its place is no re-run).
 */
export async function findEarlierImport(
  client: Client,
  schema: string,
  tableName: string,
  file: FileIdentity,
  except: readonly string[],
  part: FilePart,
): Promise<EarlierImport | null> {
  const knownHash = 'hash' in file && typeof file.hash === 'string' ? file.hash : null;
  const sizeBytes = 'sizeBytes' in file ? file.sizeBytes : null;
  const object = 's3' in file ? file.s3 : null;
  // The time as JSON writes it (ISO 8601 whatever the session's DateStyle: under SQL or German the driver read null); this runs before the import's transaction sets its own.
  const res = await client.query<Omit<EarlierImport, 'import_timestamp'> & { import_timestamp: string; file_hash: string | null }>(
    `select import_id, to_json(import_timestamp) #>> '{}' as import_timestamp, file_hash, status from ${qualify(schema, 'import_history')}
      where table_name = $1 and status in ('success', 'partial')
        and ($2::text is null or file_hash = $2) and ($3::bigint is null or file_size_bytes = $3)
        and not (import_id = any($4::uuid[]))
        and (case when $11::boolean then metadata->>'sheet' else metadata->'options'->>'sheet' end) is not distinct from $5 and metadata->'options'->>'range' is not distinct from $6
        and metadata->'options'->>'entry' is not distinct from $7 and metadata->'options'->>'record_path' is not distinct from $8
        and ($9::text is null or (source_type = 'b2_storage' and source_path = $9 and metadata->>'etag' = $10 and file_hash is not null))
      order by import_timestamp`,
    [tableName, knownHash, sizeBytes, except, (part.sheetRead === undefined ? part.sheet : part.sheetRead) ?? null, part.range ?? null, part.entry ?? null, part.recordPath ?? null, object?.url ?? null, object?.etag ?? null, part.sheetRead !== undefined],
  );
  if (res.rows.length === 0) return null;
  const earlier = ({ import_id, import_timestamp, status }: (typeof res.rows)[number]): EarlierImport => ({ import_id, import_timestamp: new Date(import_timestamp), status });
  if (!('hash' in file)) return earlier(res.rows[0]!);
  const hash = typeof file.hash === 'string' ? file.hash : await file.hash();
  const found = res.rows.find((r) => r.file_hash === hash);
  return found ? earlier(found) : null;
}

/** An earlier import of the same file: `partial` when it kept some rows out (mapping errors). */
export interface EarlierImport {
  import_id: string;
  import_timestamp: Date;
  status: 'success' | 'partial';
}
