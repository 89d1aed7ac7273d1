import type { Command } from 'commander';
import { dryRunImport, importFile, type DryRunResult, type ImportResult, type InsertEstimate } from '../core/import.js';
import { isBatchInvocation } from '../core/importBatch.js';
import { ExitCode, UsageError } from '../errors.js';
import { lockWaitNotice, type LockWait } from '../db/lockWaits.js';
import { createProgress, progressMode } from './progress.js';
import { debugPauses, PHASE_POINTS } from './debugPause.js';
import { colorFor, colorStatus, databaseNotice, formatCount, formatDuration, globalOptions, printable, printableLines, printJson, settingsFor, tableRef, withCancelOnSignal } from './shared.js';
import type { ImportFlags } from './importFlags.js';
import { importOptionsFromFlags } from './importOptions.js';


export async function runImportCommand(sources: string[], flags: ImportFlags, cmd: Command): Promise<void> {
  if (isBatchInvocation(sources, flags)) {
    if (flags.replaceImport !== undefined) throw new UsageError('--replace-import replaces one import with one file; give a single file');
    if (flags.name !== undefined) throw new UsageError('--name names the one file being imported (standard input\'s); a batch records each file by its own name', { hint: 'leave out --name, or import one file' });
    const { runBatchImportCommand } = await import('./importBatch.js');
    return runBatchImportCommand(sources, flags, cmd);
  }
  const source = sources[0]!;
  const settings = settingsFor(cmd, flags);
  const g = globalOptions(cmd);
  const fileOptions = importOptionsFromFlags(flags, settings);
  const result: ImportResult | DryRunResult = await withCancelOnSignal('cancelling: rolling back the import...', async (signal) => {
    const pauses = debugPauses(process.env);
    const mode = progressMode(process.stderr, { quiet: g.quiet === true, progress: flags.progress === true });
    const reporter = createProgress(mode);
    try {
      const run = flags.dryRun ? dryRunImport : importFile;
      return await run(settings, {
        ...fileOptions,
        source,
        signal,
        onDatabase: databaseNotice(cmd),
        onPhase: async (p) => {
          reporter.phase(p);
          await pauses.at(PHASE_POINTS[p], signal);
        },
        onProgress: async (p) => {
          reporter.progress(p);
          await pauses.at('copy', signal);
        },
        // Said also under cron (no progress shown): a log must show why nothing happens; --quiet silences it.
        ...(g.quiet === true ? {} : { onLockWait: (wait: LockWait) => reporter.notice(printable(lockWaitNotice(wait))) }),
        // The estimate costs a query on the history: only asked for when progress is shown.
        ...(mode === 'off' ? {} : { onInsert: (estimate: InsertEstimate) => reporter.inserting(estimate) }),
      });
    } finally {
      // A pause whose import failed under it (the connection was cut mid-COPY) must not keep the process alive.
      pauses.end();
      reporter.stop();
    }
  });
  if ('dry_run' in result) {
    if (g.json) printJson({ success: true, ...result });
    else if (!g.quiet) process.stdout.write(renderDryRun(result, colorFor(cmd)));
    // As the import itself would end, as a batch's dry run does: 1 when it would fail.
    if (result.would_fail) process.exitCode = ExitCode.failed;
    return;
  }
  process.exitCode = result.status === 'partial' ? ExitCode.partial : ExitCode.success;
  if (g.json) {
    printJson({ success: true, ...result });
    return;
  }
  if (g.quiet) return;
  const c = colorFor(cmd);
  const lines = [
    `${colorStatus(c, result.status)}: imported ${formatCount(result.rows_inserted)} of ${formatCount(result.total_rows_in_file)} rows from ${printable(result.file_name ?? 'stdin')} into ${tableRef(result.schema, result.table_name)} (${result.import_strategy}) in ${formatDuration(result.duration_seconds)}`,
  ];
  lines.push(
    c.dim(
      `  time: reading and staging ${formatDuration(result.parsing_time_seconds)}, duplicate check ${formatDuration(result.duplicate_check_time_seconds)}, insert ${formatDuration(result.insert_time_seconds)}`,
    ),
  );
  if (result.import_mode !== 'append') {
    const changed = [`${formatCount(result.rows_updated)} updated`, `${formatCount(result.rows_unchanged)} unchanged`, `${formatCount(result.rows_deleted)} deleted`];
    const replaced = result.replaces_import_id === null ? '' : ` (the rows of import ${result.replaces_import_id})`;
    lines.push(`  ${result.import_mode.replace('_', ' ')}: ${formatCount(result.rows_inserted)} inserted, ${changed.join(', ')}${replaced}; undo restores every row: atlas undo ${result.import_id.slice(0, 8)}`);
  }
  if (result.duplicates_found > 0) lines.push(`  skipped ${formatCount(result.duplicates_found)} duplicate row(s) (see: atlas errors ${result.import_id} --duplicates)`);
  if (result.mapping_errors_count > 0) lines.push(`  ${formatCount(result.mapping_errors_count)} mapping error(s) kept ${formatCount(result.rows_skipped - result.duplicates_found)} row(s) out (see: atlas errors ${result.import_id})`);
  const nulled = Object.entries(result.null_values_applied);
  if (nulled.length > 0) lines.push(`  stored as NULL (null values, recorded in _corrections_applied): ${nulled.map(([column, n]) => `${printable(column)} ${formatCount(n)}`).join(', ')}`);
  for (const w of result.warnings) lines.push(c.yellow(`  warning: ${printable(w)}`));
  lines.push(`  import id ${c.bold(result.import_id)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function renderDryRun(r: DryRunResult, c: ReturnType<typeof colorFor>): string {
  const out = [
    c.bold(`dry run: nothing was written`),
    // A file that would fail is said to in the first line, not only below its columns.
    r.would_fail
      ? c.red(`would fail: ${printable((r.failure ?? 'see the mapping errors below').replace(/; nothing was imported$/, ''))}; no row of the ${formatCount(r.total_rows_in_file)} would go into ${tableRef(r.schema, r.table_name)}`)
      : `would import ${formatCount(r.total_rows_in_file)} rows into ${tableRef(r.schema, r.table_name)} (${r.import_strategy})${r.mapping_errors_count > 0 ? c.yellow(`, less the rows of ${formatCount(r.mapping_errors_count)} mapping error(s)`) : ''}`,
    '',
    c.bold('columns'),
    ...r.columns.map(
      (col) =>
        `  ${printable(col.source === col.target ? col.target : `${col.source} -> ${col.target}`)}  ${c.cyan(printable(col.type))}${col.new ? c.dim(' (new)') : ''}${col.notes.length ? c.yellow(`  ${printable(col.notes.join('; '))}`) : ''}`,
    ),
    ...r.columns_left_out.map((l) => c.yellow(`  ${printable(l.source)}  left out: ${printable(l.reason)}`)),
  ];
  if (r.already_imported_by !== null) {
    out.splice(2, 0, c.yellow(`already imported by ${r.already_imported_by.import_id} (${r.already_imported_by.import_timestamp}): the import would be refused (--allow-same-file imports it again)`));
  }
  const p = r.predicted;
  if (p !== null) {
    // An append changes no row: only what it inserts is said.
    const changes = r.import_mode === 'append' ? [`${formatCount(p.rows_inserted)} inserted`] : [`${formatCount(p.rows_inserted)} inserted`, `${formatCount(p.rows_updated)} updated`, `${formatCount(p.rows_unchanged)} unchanged`, `${formatCount(p.rows_deleted)} deleted`];
    const skipped = [p.duplicates_found > 0 ? `${formatCount(p.duplicates_found)} duplicate(s) skipped` : null, p.key_conflicts > 0 ? `${formatCount(p.key_conflicts)} record(s) sharing a key left out` : null].filter((x) => x !== null);
    const replaced = r.replaces_import_id === null ? '' : ` (the rows of import ${r.replaces_import_id})`;
    out.splice(2, 0, `would ${r.import_mode.replace('_', ' ')}: ${changes.join(', ')}${replaced}${skipped.length > 0 ? `; ${skipped.join(', ')}` : ''}`);
  }
  if (r.mapping_errors_count > 0) {
    out.push('', c.bold(`mapping errors: ${formatCount(r.mapping_errors_count)}${r.failure !== null ? c.red(` (the import would fail: ${printable(r.failure)})`) : ''}`));
    for (const e of r.first_errors) out.push(`  row ${String(e.record_number)}${printable(e.source_field ? `, ${String(e.source_field)}` : '')}: ${printable(String(e.error_message))}`);
    if (r.mapping_errors_count > r.first_errors.length) out.push(c.dim(`  ... and ${formatCount(r.mapping_errors_count - r.first_errors.length)} more`));
  }
  for (const w of r.warnings) out.push(c.yellow(`warning: ${printable(w)}`));
  out.push('', c.bold('effective mapping (usable as --mapping):'), printableLines(JSON.stringify(r.mapping_config, null, 2)));
  return `${out.join('\n')}\n`;
}
