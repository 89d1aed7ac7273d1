/**
 * `atlas import`: one input into one table, in one transaction, with a complete history record.
 *
 * Flow: open the input and read its header (before touching the database) -> BEGIN, take the
 * import's lock -> record an in_progress import (committed by a second connection, so a running
 * or dead import is visible) -> COPY every row into a TEMP staging table while Node observes
 * every value -> decide types and strategy -> record values that cannot be stored as mapping
 * errors (past the error budget: stop, keep the errors, write no data) -> create or extend the
 * table -> one INSERT ... SELECT with the metadata columns -> final history update -> COMMIT. Any
 * failure rolls back and marks the record failed.
 */
import { randomUUID } from 'node:crypto';
import type { Settings } from '../config.js';
import { backendPidOf, cancelQueriesOnAbort, lockForTransaction, withClient, type Client } from '../db/connection.js';
import { deleteImports, IMPORT_LOCK_PREFIX, insertInProgress, markFailed } from '../db/history.js';
import { lockWaitWarning, watchLockWaits, type LockWait, type LockWatch } from '../db/lockWaits.js';
import { checkImportPrivileges } from '../db/privileges.js';
import { getExistingTable, getServerVersion } from '../db/tables.js';
import { AlreadyImportedError, AtlasError, describeError, ImportFailedError, UsageError } from '../errors.js';
import type { Mapping } from '../transform/mapping.js';
import { columnNamesFromHeader, qualify } from '../transform/naming.js';
import { findEarlierImport, hashLocalFile } from './fileDuplicates.js';
import { fileTypeOf, ImportTrace, newImportRecord } from './importTrace.js';
import { type DryRunResult, type ImportOptions, type ImportResult, type RunOptions } from './importTypes.js';
import { inImportTransaction, useDatabase, type ImportSession } from './importSession.js';
import { prepare, unrecordedWarning } from './prepareImport.js';
import { alreadyImported, FailedOnErrorsError, type RunContext } from './importRun.js';
import { importInTransaction } from './runImport.js';
import { resolveImport } from './history.js';
import { importModeOf, recordModeStarted } from './upsert.js';

export type { DryRunResult, ImportOptions, ImportPhase, ImportProgress, ImportResult, InsertEstimate } from './importTypes.js';


/** A unique index (atlas's own, made with --key, or the user's) refused a row the import wrote. */
const UNIQUE_VIOLATION_HINT =
  "the table has a unique index on the key named in the detail: the file holds rows that share that key, or rows whose key a row of the table holds; to update those rows instead, --mode upsert --key with the index's columns";
/**
 * The hint for a unique violation: on `id`, the identity or sequence behind ids someone inserted
 * by hand (atlas never writes an id of a new row); on any other key, the file's rows or upsert.
 */
function uniqueViolationHint(err: unknown, schema: string, tableName: string): string {
  const e = err as { detail?: unknown; table?: unknown; schema?: unknown };
  if (typeof e.detail !== 'string' || !e.detail.startsWith('Key (id)=') || e.table !== tableName || e.schema !== schema) return UNIQUE_VIOLATION_HINT;
  // Text for the user to run, not run here: the name as a string literal inside it.
  const table = `'${qualify(schema, tableName).replaceAll("'", "''")}'`;
  return `the table's id values come from its identity or sequence, which is behind ids inserted into it by hand; move it past them, then import again: select setval(pg_get_serial_sequence(${table}, 'id'), (select max(id) from ${qualify(schema, tableName)}))`;
}

/** Runs one import. Throws ImportFailedError (with the failed record's id) when it fails. */
export async function importFile(settings: Settings, options: ImportOptions): Promise<ImportResult> {
  return (await importWithRecord(settings, { ...options, dryRun: false })) as ImportResult;
}

/** `--dry-run`: reads, stages and plans the import inside a transaction that is rolled back; writes nothing. */
export async function dryRunImport(settings: Settings, options: ImportOptions): Promise<DryRunResult> {
  return (await importWithRecord(settings, { ...options, dryRun: true })) as DryRunResult;
}

/** One file of a batch (core/importBatch.ts): on the batch's connection, with the batch's id in its record. */
export async function importFileInSession(settings: Settings, options: ImportOptions, session: ImportSession): Promise<ImportResult> {
  return (await importWithRecord(settings, { ...options, dryRun: false }, session)) as ImportResult;
}

/** One file's dry run in a batch's `--dry-run`: on the batch's connection. */
export async function dryRunFileInSession(settings: Settings, options: ImportOptions, session: ImportSession): Promise<DryRunResult> {
  return (await importWithRecord(settings, { ...options, dryRun: true }, session)) as DryRunResult;
}

/**
 * One file's import around its transaction: reads and checks what can be checked before
 * connecting, refuses a file already imported, writes the in_progress record, runs the
 * transaction, and on any failure stores the record as failed with what the trace knows.
 */
async function importWithRecord(settings: Settings, given: RunOptions, session: ImportSession | null = null): Promise<ImportResult | DryRunResult> {
  const trace = new ImportTrace(performance.now());
  // The trace follows the phases, whoever else listens to them.
  const options: RunOptions = {
    ...given,
    onPhase: async (phase) => {
      trace.enter(phase);
      await given.onPhase?.(phase);
    },
  };
  await options.onPhase?.('reading');
  const prepared = await prepare(settings, options, trace, session);
  const { input } = prepared;
  let tableName = prepared.tableName;
  const mode = importModeOf(options, prepared.key);
  const table = input.table;
  if (table.kind === 'fixed') table.batches = trace.countRows(table.batches);
  else table.batches = trace.countRows(table.batches);
  // What the import was to use, until its plan says what it used.
  if (Object.keys(prepared.mapping).length > 0) trace.mappingConfig = prepared.mapping;

  try {
    return await useDatabase(settings, options, session, async (client, url, target) => {
      trace.serverSeconds = target.embedded?.seconds ?? 0;
      const serverVersion = session?.serverVersion ?? (await getServerVersion(client));
      const importId = randomUUID();
      let replaces: string | null = null;
      if (options.replaceImport != null) {
        // Into the replaced import's table, unless another was named (then refused in the transaction).
        const replaced = await resolveImport(client, settings.schema, options.replaceImport);
        replaces = replaced.import_id;
        if (options.table == null && prepared.mapping.table === undefined) tableName = replaced.table_name;
      }
      const ctx: RunContext = { importId, tableName, prepared, trace, serverVersion, url, mode, replaces, reuse: session?.reuse ?? { tempBuffersFixed: false }, waitTurn: session?.turn?.beforeLock ?? null };
      if (options.dryRun) {
        // Inside the transaction useDatabase (or the batch's plan) rolls back, so that the files of
        // a batch's plan do not see the tables an earlier one would create.
        await client.query('savepoint atlas_dry_run');
        try {
          const preview = await importInTransaction(client, settings, options, ctx);
          if (!('dry_run' in preview)) throw new Error('internal error: a dry run did not end as one');
          return preview;
        } finally {
          await client.query('rollback to savepoint atlas_dry_run');
          await client.query('release savepoint atlas_dry_run');
        }
      }
      const fileCheck = !options.force && !options.allowSameFile;
      const { sourcePath, sizeBytes } = input.opened;
      if (fileCheck && sourcePath !== null && sizeBytes !== null) {
        // Refuse a re-run before reading the file into the database (the check inside the transaction stays the authority);
        // an S3 object by its ETag, without downloading it to hash it.
        const etag = input.opened.metadata.etag;
        const identity =
          input.opened.sourceType === 'local_upload' ? { sizeBytes, hash: () => hashLocalFile(sourcePath) } : input.opened.sourceType === 'b2_storage' && typeof etag === 'string' && etag !== '' ? { sizeBytes, s3: { url: sourcePath, etag } } : null;
        const earlier = identity === null ? null : await findEarlierImport(client, settings.schema, tableName, identity, replaces === null ? [] : [replaces], options);
        if (earlier) throw alreadyImported(tableName, earlier);
      }
      if (prepared.key !== null) await checkKeyAgainstTable(client, settings.schema, tableName, prepared.key, prepared.mapping);
      await checkImportPrivileges(client, settings.schema, tableName);
      // Committed by a connection of its own, so that it is visible while the import runs and
      // stays behind if this process dies (in an atomic batch: in the batch's transaction, see core/importBatch.ts).
      let recordWritten = false;
      const recordIn = async (c: Client): Promise<void> => {
        await insertInProgress(
          c,
          settings.schema,
          newImportRecord(settings, options, {
            importId,
            opened: input.opened,
            tableName,
            fileType: fileTypeOf(input.format),
            target,
            metadata: {
              compressed: input.compressed,
              ...(input.entry !== null ? { zip_entry: input.entry } : {}),
              server_version_num: serverVersion,
              ...(options.allowSameFile ? { allow_same_file: true } : {}),
              ...(options.force ? { force: true } : {}),
              ...(session !== null ? { batch_id: session.batchId } : {}),
            },
          }),
        );
        recordWritten = true;
        await recordModeStarted(c, settings.schema, importId, mode);
      };
      const stopOnAbort = cancelQueriesOnAbort(client, options.signal);
      let lockWatch: LockWatch | null = null;
      try {
        // Before the transaction begins: its start is its rows' _imported_at (and its duplicates'
        // detected_at), which then follows the record of the file before it in a batch.
        await session?.turn?.beforeRecord();
        const done = await inImportTransaction(client, session, async () => {
          // The import's sign of life, held by its transaction until COMMIT or ROLLBACK and taken
          // before its record exists: an in_progress record nobody holds this for is an import
          // whose process or connection is gone (markInterruptedImports).
          const pid = await lockForTransaction(client, `${IMPORT_LOCK_PREFIX}${importId}`);
          // The record's connection too: its insert waits while another import's new table, whose foreign key locks import_history, is uncommitted.
          const watched = [pid];
          trace.warnings ??= [];
          lockWatch = watchLockWaits(url, watched, noteLockWait(trace, options), options.lockWaitPollMs);
          const recordWatched = async (c: Client): Promise<void> => {
            const recorderPid = backendPidOf(c);
            if (recorderPid !== null && recorderPid !== pid) watched.push(recorderPid);
            await recordIn(c);
            watched.length = 1;
          };
          await (session !== null ? recordWatched(session.recorder) : withClient(url, recordWatched));
          session?.turn?.recorded();
          return importInTransaction(client, settings, options, ctx);
        });
        // Stopped on its mapping errors: the errors and the failed record are committed, no data.
        if ('stopped' in done) {
          throw new FailedOnErrorsError(`import ${importId} into ${tableName} failed: ${done.message}`, importId, {
            hint: `see the errors with: atlas errors ${importId}; fix the file or the mapping and import it again`,
            warnings: trace.warnings ?? [],
          });
        }
        return done;
      } catch (err) {
        const cancelled = options.signal?.aborted === true;
        const message = cancelled ? 'cancelled' : describeError(err);
        if (err instanceof FailedOnErrorsError) throw err;
        // In an atomic batch the file's savepoint took its record back with the rest: written again, failed, in the batch's transaction.
        if (session?.atomic === true && !(err instanceof AlreadyImportedError)) await recordIn(client).catch(() => undefined);
        if (err instanceof AlreadyImportedError) {
          // A refused import leaves no history row.
          await deleteImports(client, settings.schema, [importId]).catch(() => undefined);
          throw err;
        }
        const { facts, metadata } = trace.failure();
        const duration = trace.durationSeconds();
        const record = (c: Client): Promise<void> =>
          markFailed(c, settings.schema, importId, message, duration, { ...input.table.details, error_class: err instanceof Error ? err.name : 'Error', ...metadata }, facts);
        // The import's own connection may be what failed (server restart, terminated backend): then a fresh one says why.
        // A record never written (its insert failed: a lock_timeout behind another import's new table) is written now, failed.
        const unrecorded = recordWritten
          ? await record(client).then(
              () => null,
              () => withClient(url, record).then(() => null, (again: unknown) => unrecordedWarning(importId, again)),
            )
          : await withClient(url, async (c) => {
              await recordIn(c);
              await record(c);
            }).then(() => null, (again: unknown) => unrecordedWarning(importId, again, recordWritten));
        const warnings = [...(trace.warnings ?? []), ...(unrecorded === null ? [] : [unrecorded])];
        if (cancelled) throw new ImportFailedError(`import ${importId} cancelled; nothing was written`, importId, { warnings: unrecorded === null ? [] : [unrecorded] });
        const hint = err instanceof AtlasError ? err.hint : (err as { code?: unknown }).code === '23505' ? uniqueViolationHint(err, settings.schema, tableName) : null;
        throw new ImportFailedError(`import ${importId} into ${tableName} failed: ${message}`, importId, { hint, cause: err, warnings });
      } finally {
        stopOnAbort();
        await (lockWatch as LockWatch | null)?.stop();
      }
    });
  } finally {
    input.opened.stream.destroy();
  }
}

/**
 * What a lock wait does: the listener hears of it while it lasts, and the import's warnings (in
 * its record, failed or not) say who held the lock and for how long at least: a line per wait, kept up to date while it lasts.
 */
function noteLockWait(trace: ImportTrace, options: RunOptions): (wait: LockWait, changed: boolean) => void {
  let said: string | null = null;
  return (wait, changed) => {
    if (changed) {
      options.onLockWait?.(wait);
      said = null; // another wait: a line of its own
    }
    const warnings = trace.warnings;
    if (warnings === null) return;
    const text = lockWaitWarning(wait);
    const at = said === null ? -1 : warnings.indexOf(said);
    if (at >= 0) warnings[at] = text;
    else warnings.push(text);
    said = text;
  };
}

/** A key column must be in the table (when it exists) as well as in the file; checked before anything is written. */
async function checkKeyAgainstTable(client: Client, schema: string, tableName: string, key: string[], mapping: Mapping): Promise<void> {
  const existing = await getExistingTable(client, schema, tableName);
  if (existing === null) return;
  const tableCols = new Set(existing.columns.map((c) => c.name));
  // A key named by its header text goes into the column a mapping's target names, else the one atlas makes of it.
  const column = (k: string): string => mapping.columns?.[k]?.target ?? columnNamesFromHeader([k])[0]!;
  const lacking = key.filter((k) => !tableCols.has(k) && !tableCols.has(column(k)));
  if (lacking.length > 0) throw new UsageError(`key column(s) not in table ${tableName}: ${lacking.join(', ')}`);
}

