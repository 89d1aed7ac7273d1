/** `atlas import` of several files (issue 21): a line per file as it ends, then the summary; or one JSON document. */
import type { ChalkInstance } from 'chalk';
import type { Command } from 'commander';
import { importBatch, planBatch, type BatchFileOutcome, type BatchPlan, type BatchResult } from '../core/importBatch.js';
import type { InsertEstimate } from '../core/import.js';
import { unreadCompression } from '../core/input.js';
import { ExitCode } from '../errors.js';
import type { SkippedEntry, SkipReason } from '../sources/listing.js';
import { debugPauses, PHASE_POINTS } from './debugPause.js';
import { importOptionsFromFlags } from './importOptions.js';
import type { ImportFlags } from './importFlags.js';
import { lockWaitNotice, type LockWait } from '../db/lockWaits.js';
import { createProgress, progressMode, type ProgressReporter } from './progress.js';
import { colorFor, colorStatus, databaseNotice, formatCount, formatDuration, globalOptions, printable, printJson, settingsFor, withCancelOnSignal } from './shared.js';

/** 1 when a file failed, else 3 when one was partial, else 0 (skipped files count as done). */
export function batchExitCode(result: Pick<BatchResult, 'summary'>): number {
  if (result.summary.failed > 0) return ExitCode.failed;
  if (result.summary.partial > 0) return ExitCode.partial;
  return ExitCode.success;
}

export async function runBatchImportCommand(sources: string[], flags: ImportFlags, cmd: Command): Promise<void> {
  const settings = settingsFor(cmd, flags);
  const g = globalOptions(cmd);
  const c = colorFor(cmd);
  const fileOptions = importOptionsFromFlags(flags, settings);
  const batch = { sources, recursive: flags.recursive === true, pattern: flags.pattern ?? null, atomic: flags.atomic === true, stopOnError: flags.stopOnError === true };
  const mode = progressMode(process.stderr, { quiet: g.quiet === true, progress: flags.progress === true });
  if (flags.dryRun) {
    // Each file is read and checked in turn: on a terminal, which one and how far.
    let reporter: ProgressReporter | null = null;
    const plan = await planBatch(settings, {
      ...fileOptions,
      ...batch,
      onDatabase: databaseNotice(cmd),
      onFileStart: (file, index, count) => {
        reporter?.stop();
        const shown = createProgress(mode, undefined, fileLabel(file, index, count));
        reporter = shown;
        return { onPhase: async (p) => shown.phase(p), onProgress: async (p) => shown.progress(p) };
      },
    }).finally(() => (reporter as ProgressReporter | null)?.stop());
    if (g.json) printJson({ success: true, ...plan });
    else if (!g.quiet) process.stdout.write(renderPlan(plan, c));
    // As the batch itself would end: 1 when a file would fail.
    if (plan.files.some((f) => f.action === 'fail')) process.exitCode = ExitCode.failed;
    return;
  }
  const result = await withCancelOnSignal('cancelling: rolling back the file being imported; files committed stay committed...', async (signal): Promise<BatchResult> => {
    // Two files may run at once (core/importBatch.ts): the progress shown is the earliest file not
    // yet done, whose events come through the hooks of its own start.
    let reporter: ProgressReporter | null = null;
    /** The earliest file not yet done (files end in order); its label once it has started. */
    let shown = 0;
    const labels = new Map<number, string>();
    const show = (): void => {
      const label = labels.get(shown);
      reporter = label === undefined ? null : createProgress(mode, undefined, label);
    };
    const pauses = debugPauses(process.env);
    /** Debug pause points: `<point>` for any file, `<point>@<k>` for the k-th file (1-based). */
    const pause = async (point: string, index: number): Promise<void> => {
      await pauses.at(point, signal);
      await pauses.at(`${point}@${index + 1}`, signal);
    };
    try {
      return await importBatch(settings, {
        ...fileOptions,
        ...batch,
        signal,
        onDatabase: databaseNotice(cmd),
        // An --atomic batch's wait for its tables' locks, before its first file.
        ...(g.quiet === true ? {} : { onLockWait: (wait: LockWait) => createProgress('off', undefined, 'the batch').notice(printable(lockWaitNotice(wait))) }),
        onFileStart: (file, index, count) => {
          labels.set(index, fileLabel(file, index, count));
          // An atomic batch runs its files one after another and reports them all at its end.
          if (batch.atomic) {
            reporter?.stop();
            shown = index;
          }
          if (index === shown) show();
          const mine = (): ProgressReporter | null => (shown === index ? reporter : null);
          return {
            onPhase: async (p) => {
              mine()?.phase(p);
              await pause(PHASE_POINTS[p], index);
            },
            onProgress: async (p) => {
              mine()?.progress(p);
              await pause('copy', index);
            },
            // The estimate costs a query on the history: only asked for when progress is shown.
            ...(mode === 'off' ? {} : { onInsert: (estimate: InsertEstimate) => mine()?.inserting(estimate) }),
            ...(g.quiet === true ? {} : { onLockWait: (wait: LockWait) => (mine() ?? createProgress('off', undefined, labels.get(index) ?? '')).notice(printable(lockWaitNotice(wait))) }),
          };
        },
        onFileDone: (outcome, index) => {
          reporter?.stop();
          labels.delete(index);
          if (!g.json && !g.quiet) process.stdout.write(`${renderFileLine(outcome, c)}\n`);
          shown = index + 1;
          if (!batch.atomic) show();
        },
      });
    } finally {
      pauses.end();
      (reporter as ProgressReporter | null)?.stop();
    }
  });
  process.exitCode = batchExitCode(result);
  if (g.json) {
    printJson({ success: result.summary.failed === 0, ...result });
    return;
  }
  if (g.quiet) return;
  process.stdout.write(renderSummary(result, c));
}

/** One line per file: status, rows, table, time, import id (or why it failed or was skipped). */
export function renderFileLine(o: BatchFileOutcome, c: ChalkInstance): string {
  const table = o.table_name === null ? '' : ` -> ${printable(o.table_name)}`;
  const head = `${colorStatus(c, o.status)} ${printable(o.file)}${table}`;
  if (o.status === 'skipped') return `${head}: already imported by ${o.already_imported_by ?? '?'}`;
  if (o.status === 'failed') return `${head}: ${printable(failureText(o))}${o.import_id !== null ? c.dim(` (import ${o.import_id})`) : ''}${hintLine(o.error, c)}`;
  // As a single import says them: what it noticed, and a table it added to rather than made (extend_table, adapt_data).
  const strategy = o.result !== null && o.result.import_strategy !== 'new_table' && o.result.import_strategy !== 'merge_exact' ? ` (${o.result.import_strategy})` : '';
  const warnings = (o.result?.warnings ?? []).map((w) => `\n${c.yellow(`  warning: ${printable(w)}`)}`).join('');
  return `${head}: ${formatCount(o.rows_inserted)} rows${besideRows(o.result)}${strategy} in ${formatDuration(o.duration_seconds)}, import ${o.import_id ?? ''}${warnings}`;
}

/** The failure without the "import ID into TABLE failed: " the line already says. */
function failureText(o: BatchFileOutcome): string {
  const message = o.error?.message ?? 'failed';
  const prefix = `import ${o.import_id ?? ''} into ${o.table_name ?? ''} failed: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/** The error's hint, and what the import noticed before it failed, on lines of their own under the file's, as a single import prints them. */
function hintLine(error: BatchFileOutcome['error'], c: ChalkInstance): string {
  const lines = [...(error?.hint ? [`  hint: ${printable(error.hint)}`] : []), ...(error?.warnings ?? []).map((w) => `  warning: ${printable(w)}`)];
  return lines.map((l) => `\n${c.dim(l)}`).join('');
}

/** What else the import did with the file's rows, as the single-file output says it: ` (79 duplicate(s) skipped, ...)`, or nothing. */
function besideRows(r: BatchFileOutcome['result']): string {
  if (r === null) return '';
  const parts = [
    r.rows_updated > 0 ? `${formatCount(r.rows_updated)} updated` : null,
    r.rows_unchanged > 0 ? `${formatCount(r.rows_unchanged)} unchanged` : null,
    r.rows_deleted > 0 ? `${formatCount(r.rows_deleted)} deleted` : null,
    r.duplicates_found > 0 ? `${formatCount(r.duplicates_found)} duplicate(s) skipped` : null,
    r.mapping_errors_count > 0 ? `${formatCount(r.mapping_errors_count)} mapping error(s)` : null,
  ].filter((x) => x !== null);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** Why the listing left a file out, in words (--json keeps the reason's name). */
const SKIP_TEXT: Record<SkipReason, string> = {
  hidden: 'hidden (its name or a directory above it starts with a dot)',
  temporary: 'a file still being written or a lock file (by its name)',
  'not-data': 'not a data file by its extension (--pattern takes it)',
  directory: 'a directory (--recursive descends into it)',
  'symlink-to-directory': 'a symbolic link to a directory (never followed inside a listing)',
  'broken-symlink': 'a symbolic link to nothing',
  special: 'not a regular file (FIFO, socket or device)',
  'same-file': 'the same file as one already listed',
  'bad-name': 'a name that is not valid UTF-8',
  'unreadable-directory': 'a directory atlas may not read (its files are not listed: check its permissions)',
};

function skipLine(skip: SkippedEntry, c: ChalkInstance): string {
  // A compression atlas does not read: the command that does, as a single import of it says.
  const unread = skip.reason === 'not-data' ? unreadCompression(Buffer.alloc(0), skip.path, null) : null;
  if (unread !== null) return c.dim(`  left out ${printable(unread)}`);
  return c.dim(`  left out ${printable(skip.path)}: ${SKIP_TEXT[skip.reason]}${skip.detail !== null ? ` (${printable(skip.detail)})` : ''}`);
}

function renderSummary(r: BatchResult, c: ChalkInstance): string {
  const s = r.summary;
  const lines: string[] = [];
  if (s.files === 0) lines.push(c.yellow('nothing to import: the sources reached no data file'));
  for (const file of r.not_run) lines.push(c.dim(`not run ${printable(file)}`));
  const parts = [`imported ${formatCount(s.imported)}`, `skipped ${formatCount(s.skipped)} (already imported)`, `partial ${formatCount(s.partial)}`, `failed ${formatCount(s.failed)}`];
  if (s.not_run > 0) parts.push(`not run ${formatCount(s.not_run)}`);
  lines.push(
    c.bold(`batch ${r.batch_id}${r.atomic ? ' (atomic)' : ''}: ${formatCount(s.files)} file(s): ${parts.join(', ')}; ${formatCount(s.rows_inserted)} rows in ${formatDuration(s.duration_seconds)}`),
  );
  if (r.atomic && s.failed > 0) lines.push(c.red('  --atomic: nothing was committed'));
  if (s.failed > 0 || s.partial > 0) lines.push(`  see: atlas history --batch ${r.batch_id}`);
  for (const skip of r.listing_skipped) lines.push(skipLine(skip, c));
  for (const { table, files } of r.tables_named_alike) {
    lines.push(c.yellow(`  note: ${files.map((f) => printable(f)).join(', ')} went into one table, ${printable(table)}: their names make the same table name (--table names the table; renaming the files keeps them apart)`));
  }
  return `${lines.join('\n')}\n`;
}

function renderPlan(plan: BatchPlan, c: ChalkInstance): string {
  const lines = [c.bold('dry run: nothing was written')];
  for (const f of plan.files) {
    const to = `${printable(f.file)} -> ${printable(f.table_name)}`;
    if (f.action === 'skip') lines.push(c.dim(`skip   ${to} (already imported by ${f.already_imported_by ?? '?'})`));
    else if (f.action === 'fail') lines.push(c.red(`fail   ${to}: ${printable(f.error?.message ?? 'unknown error')}`) + hintLine(f.error, c));
    else {
      const r = f.dry_run!;
      const errors = r.mapping_errors_count > 0 ? `, ${formatCount(r.mapping_errors_count)} mapping error(s)` : '';
      lines.push(`import ${to}: ${formatCount(r.total_rows_in_file)} rows (${r.import_strategy}${errors}${predictedText(r.predicted)})`);
    }
  }
  const s = plan.summary;
  lines.push(`${formatCount(s.files)} file(s): ${formatCount(s.to_import)} to import, ${formatCount(s.to_skip)} to skip, ${formatCount(s.would_fail)} would fail`);
  // Each file's dry run is rolled back before the next: files sharing a table are each planned against it as it is now.
  if (s.shared_tables.length > 0) {
    lines.push(c.yellow(`note: several files go to ${s.shared_tables.map((t) => printable(t)).join(', ')}: each is planned against the table as it is now, not as the files before it would leave it (their columns and types, their rows as duplicates), so the run may differ`));
  }
  for (const skip of plan.listing_skipped) lines.push(skipLine(skip, c));
  return `${lines.join('\n')}\n`;
}

/** A file's dry run's counts, when they say more than "every row inserted": `; 1,921 to insert, 79 duplicate(s) to skip`. */
function predictedText(p: NonNullable<BatchPlan['files'][number]['dry_run']>['predicted']): string {
  if (p === null) return '';
  const more = [
    p.rows_updated > 0 ? `${formatCount(p.rows_updated)} to update` : null,
    p.rows_unchanged > 0 ? `${formatCount(p.rows_unchanged)} unchanged` : null,
    p.rows_deleted > 0 ? `${formatCount(p.rows_deleted)} to delete` : null,
    p.duplicates_found > 0 ? `${formatCount(p.duplicates_found)} duplicate(s) to skip` : null,
    p.key_conflicts > 0 ? `${formatCount(p.key_conflicts)} sharing a key` : null,
  ].filter((x) => x !== null);
  return more.length > 0 ? `; ${[`${formatCount(p.rows_inserted)} to insert`, ...more].join(', ')}` : '';
}

/** What the progress calls a file of the batch. */
function fileLabel(file: { displayName: string }, index: number, count: number): string {
  return `file ${formatCount(index + 1)} of ${formatCount(count)}, ${printable(file.displayName)}`;
}

