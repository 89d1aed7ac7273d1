/**
 * `atlas history compact`: drops the pre-images (db/preImages.ts) of old imports, the space
 * upserts and replaces take to be undoable. Those imports can no longer be undone; their records
 * say so (`preimages_pruned_at`), and undo refuses them with that reason.
 */
import type { Settings } from '../config.js';
import { withTransaction } from '../db/connection.js';
import { cutoffBefore } from '../db/history.js';
import { withLockWatch, type LockWaitOptions } from '../db/lockWaits.js';
import { prunePreImages } from '../db/preImages.js';
import { UsageError } from '../errors.js';
import { isoTime } from '../transform/time.js';
import { withExistingSchema, type DatabaseListener } from './database.js';

export interface CompactOptions extends LockWaitOptions {
  /** Only imports older than this many seconds. */
  olderThanSeconds: number;
  /** Only report what would be dropped. @default false */
  dryRun: boolean;
  onDatabase?: DatabaseListener | undefined;
}

export interface CompactResult {
  dry_run: boolean;
  /** Imports before this instant are compacted. */
  cutoff: string;
  /** The imports whose pre-images are (or would be) dropped, oldest first. */
  imports: Array<{ import_id: string; table_name: string; status: string; preimages: number }>;
  /** Pre-images dropped (or that would be). */
  preimages_dropped: number;
}

/** The largest age accepted (as history prune's). */
const MAX_AGE_DAYS = 36_500;

export async function compactHistory(settings: Settings, options: CompactOptions): Promise<CompactResult> {
  if (!Number.isFinite(options.olderThanSeconds) || options.olderThanSeconds < 0) throw new UsageError('--older-than must be an age like 365d, 52w, 12h or 30m');
  if (options.olderThanSeconds > MAX_AGE_DAYS * 86_400) throw new UsageError(`--older-than must be at most ${MAX_AGE_DAYS}d`);
  return withExistingSchema(
    settings,
    options,
    (client, url) =>
      withTransaction(client, () =>
        withLockWatch(client, url, options, async () => {
          const at = await cutoffBefore(client, options.olderThanSeconds);
          const imports = await prunePreImages(client, settings.schema, at, options.dryRun);
          return { dry_run: options.dryRun, cutoff: isoTime(at)!, imports, preimages_dropped: imports.reduce((n, i) => n + i.preimages, 0) };
        }),
      ),
    // In a schema where atlas never ran there are no pre-images, and nothing is created.
    async (client) => ({ dry_run: options.dryRun, cutoff: isoTime(await cutoffBefore(client, options.olderThanSeconds))!, imports: [], preimages_dropped: 0 }),
    'history compact',
  );
}
