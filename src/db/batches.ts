/** The records of a batch (issue 21): the imports whose metadata names its batch id. */
import { qualify } from '../transform/naming.js';
import type { Client } from './connection.js';

/** A batch's records still `in_progress` (after an atomic batch rolled back: each file's, as its recorder committed it). */
export async function listInProgressOfBatch(client: Client, schema: string, batchId: string): Promise<string[]> {
  const res = await client.query<{ import_id: string }>(
    `select import_id from ${qualify(schema, 'import_history')} where metadata->>'batch_id' = $1 and status = 'in_progress' order by import_timestamp, import_id`,
    [batchId],
  );
  return res.rows.map((r) => r.import_id);
}

/** Every import of a batch, oldest first (its records are stamped in the batch's order, see insertInProgress), with its status. */
export async function listBatchImports(client: Client, schema: string, batchId: string): Promise<Array<{ import_id: string; status: string; table_name: string }>> {
  const res = await client.query<{ import_id: string; status: string; table_name: string }>(
    `select import_id, status, table_name from ${qualify(schema, 'import_history')} where metadata->>'batch_id' = $1 order by import_timestamp, import_id`,
    [batchId],
  );
  return res.rows;
}

/** The batch's records as they stand in this transaction, whole (for restoreRecords after a rollback). */
export async function snapshotBatchRecords(client: Client, schema: string, batchId: string): Promise<unknown[]> {
  const res = await client.query<{ r: unknown }>(`select to_jsonb(h) as r from ${qualify(schema, 'import_history')} h where h.metadata->>'batch_id' = $1 order by h.import_timestamp, h.import_id`, [batchId]);
  return res.rows.map((row) => row.r);
}

/**
 * Writes records taken by snapshotBatchRecords again, each with what `patch` gives it in place of
 * its own values (its status at least).
 */
export async function restoreRecords(client: Client, schema: string, records: readonly unknown[], patch: (record: { import_id: string; status: string }) => Record<string, unknown>): Promise<void> {
  const table = qualify(schema, 'import_history');
  for (const record of records) {
    const r = record as { import_id: string; status: string };
    await client.query(`insert into ${table} select (jsonb_populate_record(null::${table}, $1::jsonb || $2::jsonb)).*`, [JSON.stringify(record), JSON.stringify(patch(r))]);
  }
}
