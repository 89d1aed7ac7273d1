/**
 * The end of an --atomic batch (core/importBatch.ts): COMMIT or ROLLBACK, and its records kept
 * across either when the batch did not commit.
 */
import { restoreRecords, snapshotBatchRecords } from '../db/batches.js';
import { failureFactsOf, markFailed } from '../db/history.js';
import { describeError } from '../errors.js';
import type { BatchFileOutcome, BatchOptions } from './importBatch.js';
import type { ImportSession } from './importSession.js';
import { keepMappingErrors, type KeptErrors } from './keepMappingErrors.js';

/**
 * Ends an atomic batch: COMMIT when every file went in, else ROLLBACK. The records were written in
 * the batch's transaction, so they are taken before it ends and written again if it does not
 * commit, each failed: the failed file's with its own error, the others naming it (or the
 * commit's error, when COMMIT itself failed), so the history says which file failed and why;
 * their mapping errors are kept with them. A file skipped as already imported has no record (one
 * skipped as a repeat of a file of the batch is reported failed).
 */
export async function endAtomic(client: ImportSession['client'], schema: string, batchId: string, outcomes: BatchFileOutcome[], options: BatchOptions, count: number): Promise<void> {
  let failed = outcomes.find((o) => o.status === 'failed') ?? null;
  let rewrite = async (): Promise<Rewritten> => ({ records: new Map(), unkept: [] });
  if (failed === null) {
    // A deferred constraint, or the locks the files hold until now (53200), can fail the COMMIT.
    const kept = await keepBatchRecords(client, schema, batchId);
    try {
      const res = await client.query('commit');
      // A transaction already aborted is rolled back by COMMIT, which then says ROLLBACK, not an error.
      if (res.command === 'ROLLBACK') throw new Error('the batch\'s transaction had been aborted: COMMIT rolled it back');
      kept.discard();
    } catch (err) {
      failed = { file: 'the batch', status: 'failed', table_name: null, import_id: null, rows_inserted: 0, duration_seconds: 0, result: null, error: { message: `its commit failed: ${describeError(err)}`, hint: atomicLocksHint(err) }, already_imported_by: null };
      rewrite = kept.rewrite;
    }
  } else {
    rewrite = await rollBackKeepingRecords(client, schema, batchId);
  }
  if (failed !== null) {
    const cause = failed;
    const atCommit = !outcomes.includes(cause);
    const because = `rolled back with its --atomic batch: ${atCommit ? '' : `${cause.file} failed: `}${cause.error?.message ?? 'unknown error'}`;
    const { records, unkept } = await rewrite();
    if (unkept.length > 0 && cause.error !== null) cause.error.warnings = [...(cause.error.warnings ?? []), ...unkept];
    // A file skipped as a repeat of a file of this batch was not imported either: that one is rolled back.
    const ofBatch = new Set(outcomes.map((o) => o.import_id).filter((id) => id !== null));
    for (const o of outcomes) {
      if (o === cause || (o.status === 'skipped' && !ofBatch.has(o.already_imported_by ?? ''))) continue;
      const record = o.import_id === null ? undefined : records.get(o.import_id);
      // Its figures stay as far as it got, as any failed import's do (README: the history record).
      const facts = record === undefined ? {} : failureFactsOf(record);
      if (o.import_id !== null) await markFailed(client, schema, o.import_id, because, o.duration_seconds, { error_class: 'AtomicBatchRolledBack', atomic: true, failed_file: atCommit ? null : cause.file, failed_import_id: cause.import_id }, facts);
      // No line is printed for a failed COMMIT but the files': each carries its hint and warnings.
      const error = atCommit ? { message: because, hint: cause.error?.hint ?? null, ...(cause.error?.warnings ? { warnings: cause.error.warnings } : {}) } : { message: because, hint: null };
      Object.assign(o, { status: 'failed', rows_inserted: 0, result: null, error, already_imported_by: null });
    }
  }
  outcomes.forEach((o, i) => options.onFileDone?.(o, i, count));
}

/** An atomic batch's records written again after its rollback (by import id, as they were), and a warning for each part that could not be kept. */
interface Rewritten {
  records: Map<string, Record<string, unknown>>;
  unkept: string[];
}

/** An atomic batch's records and mapping errors, taken before it ends: `rewrite` writes them again once it has not committed, `discard` lets them go. */
interface KeptRecords {
  rewrite: () => Promise<Rewritten>;
  discard: () => void;
}

/**
 * Takes the batch's records and their mapping errors in its transaction, under a savepoint: a
 * failure here becomes a warning and leaves the transaction able to commit.
 */
async function keepBatchRecords(client: ImportSession['client'], schema: string, batchId: string): Promise<KeptRecords> {
  const unkept: string[] = [];
  let records: unknown[] = [];
  let errors: KeptErrors | null = null;
  await client.query('savepoint atlas_keep_records');
  try {
    records = await snapshotBatchRecords(client, schema, batchId);
  } catch (err) {
    unkept.push(`the records of the batch's imports could not be taken before it ended (${describeError(err)}): if it does not commit, they are lost`);
  }
  if (unkept.length === 0) {
    const ids = records.map((r) => (r as { import_id: string }).import_id);
    errors = await keepMappingErrors(client, schema, ids).catch((err: unknown) => {
      unkept.push(`the mapping errors of the batch's imports could not be kept across its rollback (${describeError(err)}): their records count errors that mapping_errors does not hold`);
      return null;
    });
  }
  try {
    await client.query(unkept.length === 0 ? 'release savepoint atlas_keep_records' : 'rollback to savepoint atlas_keep_records');
  } catch (err) {
    errors?.discard();
    throw err;
  }
  const rewrite = async (): Promise<Rewritten> => {
    try {
      // Nothing of the others was committed: they updated, kept and deleted no row either.
      await restoreRecords(client, schema, records, (r) => (r.status === 'failed' ? { status: 'failed' } : { status: 'in_progress', rows_updated: 0, rows_unchanged: 0, rows_deleted: 0 }));
      await errors?.restore(client).catch((err: unknown) => {
        unkept.push(`the ${errors!.count} mapping error(s) of the batch's imports could not be written again after its rollback (${describeError(err)}): their records count errors that mapping_errors does not hold`);
      });
    } finally {
      errors?.discard();
    }
    return { records: new Map(records.map((r) => [(r as { import_id: string }).import_id, r as Record<string, unknown>])), unkept };
  };
  return { rewrite, discard: () => errors?.discard() };
}

/**
 * ROLLBACK of an atomic batch, its records and their mapping errors taken first. Returns what
 * writes them again (each in_progress but the failed file's, for markFailed to end).
 */
async function rollBackKeepingRecords(client: ImportSession['client'], schema: string, batchId: string): Promise<() => Promise<Rewritten>> {
  const kept = await keepBatchRecords(client, schema, batchId);
  await client.query('rollback').catch((err: unknown) => {
    kept.discard();
    throw err;
  });
  return kept.rewrite;
}

/** An atomic batch keeps each file's locks (its temporary tables' among them) until it commits: out of lock slots (53200) says how to need fewer. */
export function atomicLocksHint(err: unknown): string | null {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === '53200') return 'an --atomic batch holds every file\'s locks until it commits: import fewer files per --atomic batch, or raise max_locks_per_transaction in postgresql.conf (a server restart)';
  }
  return null;
}
