/**
 * What the files of a batch share (issue 21): one setup, the connection a file's import runs on
 * (a batch has one or two, core/importBatch.ts), a connection that commits each file's in_progress
 * record, and the batch's id for the records. A single-file import runs without one and connects
 * for itself.
 */
import type { Settings } from '../config.js';
import { withTransaction, type Client, type DatabaseTarget } from '../db/connection.js';
import { withDatabase, withDatabaseRolledBack, type DatabaseOptions } from './database.js';

export interface ImportSession {
  /** The connection the file's import runs on. */
  client: Client;
  url: string;
  target: DatabaseTarget;
  /** Commits each file's in_progress record while its import's transaction is open (opened once for the batch). */
  recorder: Client;
  /** Written into every record's metadata as `batch_id`. */
  batchId: string;
  /**
   * The batch runs in one transaction the batch opened: each file runs in a savepoint of it, and
   * nothing commits until the batch does. @default false
   */
  atomic: boolean;
  /** server_version_num, read once for the batch. */
  serverVersion: number;
  /** What every file of the batch may reuse of what an earlier one found (see runImport.ts setTempBuffers, rowDuplicates.ts checkDuplicates). */
  reuse: SessionReuse;
  /** A file's place in a batch whose files run side by side (see core/importBatch.ts runInTurn). @default null */
  turn: BatchTurn | null;
}

/** What keeps files staged side by side in the batch's order. */
export interface BatchTurn {
  /**
   * Resolves when this file may write its in_progress record: when the file before it has written
   * its own (or ended), so records are stamped (import_timestamp) in the batch's order.
   */
  beforeRecord: () => Promise<void>;
  /** This file's record is written. */
  recorded: () => void;
  /**
   * Resolves when this file may take its table's lock: when the file before it in the batch has
   * ended, so files still decide, write and commit in the batch's order.
   */
  beforeLock: () => Promise<void>;
}

/** Facts about the connection learnt by one import, kept for the next on the same connection. */
export interface SessionReuse {
  /**
   * A staging table has been written on this connection: its temporary buffers are allocated, at
   * the size they keep for the session (PostgreSQL refuses any other temp_buffers from then on),
   * so later imports on it do not set temp_buffers again. @default false
   */
  tempBuffersFixed: boolean;
  /**
   * Tables (`schema.table`) whose stored row hashes an earlier import on this connection sampled
   * and found right, with the table's fingerprint then (db/tables.ts): while it is the same, no
   * column was dropped or retyped since, and the sample need not be taken again. Only a check that
   * found nothing stale is kept (a rehash is undone if its import rolls back).
   */
  hashesChecked?: Map<string, string>;
}

/**
 * Runs `fn` on the session's connection, or connects (and migrates) for this one import; for a dry
 * run, in a transaction rolled back at the end (withDatabaseRolledBack).
 */
export function useDatabase<T>(
  settings: Settings,
  options: DatabaseOptions & { dryRun: boolean },
  session: ImportSession | null,
  fn: (client: Client, url: string, target: DatabaseTarget) => Promise<T>,
): Promise<T> {
  if (session !== null) return fn(session.client, session.url, session.target);
  return options.dryRun ? withDatabaseRolledBack(settings, options, fn) : withDatabase(settings, options, fn);
}

/**
 * The import's transaction: its own (read committed whatever the server's default: the import
 * reads its record, committed meanwhile by another connection, and the rows of imports it waited
 * for), or, in an atomic batch, a savepoint of the batch's, so that a file the batch skips
 * (already imported) takes back only what it did.
 */
export async function inImportTransaction<T>(client: Client, session: ImportSession | null, fn: () => Promise<T>): Promise<T> {
  if (session === null || !session.atomic) {
    return withTransaction(client, fn);
  }
  await client.query('savepoint atlas_batch_file');
  try {
    const result = await fn();
    await client.query('release savepoint atlas_batch_file');
    return result;
  } catch (err) {
    await client.query('rollback to savepoint atlas_batch_file').catch(() => undefined);
    throw err;
  }
}
