/**
 * `atlas undo --batch ID` (issue 21): undoes every import of a batch in one transaction, with the
 * checks of undo of one import; the imports are undone newest first, so a later file's rows that
 * were skipped as duplicates of an earlier file's are gone before the earlier file is checked.
 */
import type { Settings } from '../config.js';
import { listBatchImports } from '../db/batches.js';
import { BEGIN, cancelQueriesOnAbort, withTransaction } from '../db/connection.js';
import { withLockWatch } from '../db/lockWaits.js';
import { CancelledError, NotFoundError, UsageError } from '../errors.js';
import { withExistingSchema } from './database.js';
import { checkBatchId } from './history.js';
import { undoInTransaction, type UndoOptions, type UndoResult } from './undo.js';

export interface BatchUndoResult {
  batch_id: string;
  dry_run: boolean;
  /** One result per import undone (or, in a dry run, that would be), in the order undone. */
  imports: UndoResult[];
  /** Imports of the batch with no rows to undo (failed, interrupted, already undone): left as they are. */
  left_alone: Array<{ import_id: string; status: string; table_name: string }>;
  rows_removed: number;
}


/**
 * Undoes every import of the batch that owns rows, all or none. A dry run undoes them in a
 * transaction it rolls back, so what it reports is what the undo would do, refusals included.
 * `expectedRows` (by import id): refuse if an import's row count moved since the plan was shown.
 */
export async function undoBatch(settings: Settings, batchId: string, options: Omit<UndoOptions, 'expectedRows'> & { expectedRows?: Record<string, number> | null }): Promise<BatchUndoResult> {
  checkBatchId(batchId);
  if (options.purge) throw new UsageError('--purge cannot be used with --batch', { hint: 'purge the records one import at a time' });
  const noSuchBatch = () => new NotFoundError(`no import belongs to batch ${batchId}`, { hint: 'list them with `atlas history --batch ID`' });
  return withExistingSchema(settings, options, async (client, url) => {
    const all = await listBatchImports(client, settings.schema, batchId);
    if (all.length === 0) throw noSuchBatch();
    const owning = all.filter((r) => r.status === 'success' || r.status === 'partial').reverse();
    const leftAlone = all.filter((r) => r.status !== 'success' && r.status !== 'partial');
    const imports: UndoResult[] = [];
    const run = (): Promise<void> =>
      withLockWatch(client, url, options, async () => {
        for (const r of owning) {
          const expected = options.expectedRows?.[r.import_id] ?? null;
          imports.push(await undoInTransaction(client, settings, r.import_id, { ...options, dryRun: false, expectedRows: expected }));
        }
      });
    if (options.dryRun) {
      await client.query(BEGIN);
      try {
        await run();
      } finally {
        await client.query('rollback');
      }
      for (const r of imports) Object.assign(r, { dry_run: true, undone_at: null, undone_by: null });
    } else {
      const stopOnAbort = cancelQueriesOnAbort(client, options.signal);
      try {
        await withTransaction(client, run);
      } catch (err) {
        if (options.signal?.aborted === true) throw new CancelledError(`undo of batch ${batchId} cancelled; rolled back, nothing was changed`);
        throw err;
      } finally {
        stopOnAbort();
      }
    }
    return { batch_id: batchId, dry_run: options.dryRun, imports, left_alone: leftAlone, rows_removed: imports.reduce((n, r) => n + (r.rows_removed ?? 0), 0) };
  }, () => Promise.reject(noSuchBatch()), 'an undo');
}
