/** `atlas history`: list records, show one, and prune old records that own no rows. */
import type { Settings } from '../config.js';
import { withRowSecurityOff, withTransaction, type Client } from '../db/connection.js';
import { cutoffBefore, deleteImports, findImports, listImports, listPrunable, ROWLESS_STATUSES, type HistoryFilter, type ImportRecord, type ImportSummary } from '../db/history.js';
import { withLockWatch, type LockWaitOptions } from '../db/lockWaits.js';
import { findRowOwners } from '../db/tables.js';
import { NotFoundError, UsageError } from '../errors.js';
import { withExistingSchema, type DatabaseListener, type DatabaseOptions } from './database.js';
import { isoTime } from '../transform/time.js';

export type { HistoryFilter, ImportRecord, ImportSummary };
export { isInterrupted } from '../db/history.js';

/** One page of records and where it sits. */
export interface HistoryPage {
  /** Summaries: `getImport` gives one record whole. */
  imports: ImportSummary[];
  /** How many records match the filters, over all pages. */
  total_count: number;
  limit: number;
  offset: number;
}

/**
 * The longest look-back of --days, --since and --older-than (about 2,700 years): PostgreSQL's
 * timestamps reach back to 4713 BC, and a period past that is an error from the server.
 */
export const MAX_AGE_DAYS = 1_000_000;

/**
 * Rejects a page that cannot be asked for: limit below 1 (0 would be an empty page by design),
 * negative offset, or either past the integers a JavaScript number holds exactly (which bigint,
 * what LIMIT and OFFSET take, holds): checked here, not left to the server to refuse.
 */
export function checkPage(limit: number, offset: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new UsageError(`--offset must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
}

/** `atlas history`: records newest first, with the total count of matching records. */
export async function listHistory(settings: Settings, filter: HistoryFilter & DatabaseOptions): Promise<HistoryPage> {
  checkPage(filter.limit, filter.offset);
  if (filter.batch != null) checkBatchId(filter.batch);
  return withExistingSchema(
    settings,
    filter,
    async (client) => {
      const { rows, total } = await listImports(client, settings.schema, filter);
      return { imports: rows, total_count: total, limit: filter.limit, offset: filter.offset };
    },
    async () => ({ imports: [], total_count: 0, limit: filter.limit, offset: filter.offset }),
  );
}

const ID_PREFIX_RE = /^[0-9a-f-]{8,36}$/i;
const BATCH_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A batch is named by its whole id: a prefix would list (or undo) nothing, or another batch's imports, without a word. */
export function checkBatchId(batchId: string): void {
  if (!BATCH_ID_RE.test(batchId)) throw new UsageError(`"${batchId}" is not a batch id (the full id the batch printed, or metadata.batch_id of its imports)`);
}

/** Checks the shape of an id or prefix before any database work. */
export function checkImportId(idOrPrefix: string): void {
  if (!ID_PREFIX_RE.test(idOrPrefix) || idOrPrefix.replace(/-/g, '').length < 8) {
    throw new UsageError(`"${idOrPrefix}" is not an import id (give the full id or at least its first 8 characters)`);
  }
}

/** Finds one record by id or unambiguous prefix (8+ characters), on an open connection. */
export async function resolveImport(client: Client, schema: string, idOrPrefix: string): Promise<ImportRecord> {
  checkImportId(idOrPrefix);
  const found = await findImports(client, schema, idOrPrefix);
  if (found.length === 0) throw noImportWithId(idOrPrefix);
  if (found.length > 1) throw new UsageError(`import id prefix ${idOrPrefix} is ambiguous: ${found.length > 5 ? 'more than 5' : found.length} imports start with it`, { hint: `give more characters of the id: ${found.slice(0, 5).map((r) => r.import_id).join(', ')}${found.length > 5 ? ', ...' : ''}` });
  return found[0]!;
}

/** The error of an id that names no import. */
export function noImportWithId(idOrPrefix: string): NotFoundError {
  return new NotFoundError(`no import with id ${idOrPrefix}`, { hint: 'list imports with `atlas history`' });
}

/** One record by id or unambiguous prefix (8+ characters). */
export async function getImport(settings: Settings, idOrPrefix: string, options: DatabaseOptions = {}): Promise<ImportRecord> {
  checkImportId(idOrPrefix);
  return withExistingSchema(settings, options, (client) => resolveImport(client, settings.schema, idOrPrefix), () => Promise.reject(noImportWithId(idOrPrefix)));
}

/** What `atlas history prune` was asked to do. */
export interface PruneOptions extends LockWaitOptions {
  /** Records older than this many seconds are candidates. */
  olderThanSeconds: number;
  /** Only report what would be deleted. @default false */
  dryRun: boolean;
  /**
   * Delete only these ids (those the user saw in a dry run and confirmed), when they are still
   * eligible; null deletes every eligible record. @default null
   */
  onlyIds?: readonly string[] | null;
  onDatabase?: DatabaseListener | undefined;
}

/** What pruning did (or, with dryRun, would do). */
export interface PruneResult {
  dry_run: boolean;
  /** Records imported before this time were considered. */
  cutoff: string;
  /** Statuses that are pruned: records of these own no rows. */
  statuses: string[];
  /** Deleted (or, in a dry run, deletable) records, oldest first, as summaries. */
  imports: ImportSummary[];
  pruned_count: number;
  /** Eligible by status and age but kept because rows still reference them. */
  kept: Array<{ import_id: string; table: string; rows: number }>;
}

/**
 * Deletes history records older than a cutoff that own no rows: failed, interrupted and undone
 * imports, never data. Their mapping errors go with them (on delete cascade). Before deleting,
 * it checks that no row in any table references them, since the foreign key would cascade.
 */
export async function pruneHistory(settings: Settings, options: PruneOptions): Promise<PruneResult> {
  if (!Number.isFinite(options.olderThanSeconds) || options.olderThanSeconds < 0) throw new UsageError('--older-than must be an age like 365d, 52w, 12h or 30m');
  if (options.olderThanSeconds > MAX_AGE_DAYS * 86_400) throw new UsageError(`--older-than must be at most ${MAX_AGE_DAYS}d`);
  // In a schema where atlas never ran there is nothing to prune, and nothing is created.
  const nothing = async (client: Client): Promise<PruneResult> => ({ dry_run: options.dryRun, cutoff: isoTime(await cutoffBefore(client, options.olderThanSeconds))!, statuses: [...ROWLESS_STATUSES], imports: [], pruned_count: 0, kept: [] });
  const prune = async (client: Client): Promise<PruneResult> => {
    const schema = settings.schema;
    const { cutoff, records } = await listPrunable(client, schema, options.olderThanSeconds);
    const only = options.onlyIds ? new Set(options.onlyIds) : null;
    const candidates = only ? records.filter((r) => only.has(r.import_id)) : records;
    // A policy hiding rows would hide rows that still reference a record, which the delete would then cascade to.
    const owners = await withRowSecurityOff(client, 'cannot prune the history', () => findRowOwners(client, schema, candidates.map((r) => r.import_id)));
    const owning = new Set(owners.map((o) => o.importId));
    const prunable = candidates.filter((r) => !owning.has(r.import_id));
    const pruned = options.dryRun ? prunable.length : await deleteImports(client, schema, prunable.map((r) => r.import_id));
    return {
      dry_run: options.dryRun,
      cutoff,
      statuses: [...ROWLESS_STATUSES],
      imports: prunable,
      pruned_count: pruned,
      kept: owners.map((o) => ({ import_id: o.importId, table: o.table, rows: o.rows })),
    };
  };
  return withExistingSchema(settings, options, (client, url) => withTransaction(client, () => withLockWatch(client, url, options, () => prune(client))), nothing, 'history prune');
}
