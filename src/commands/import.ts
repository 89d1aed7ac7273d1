import type { Command } from 'commander';
import { dryRunImport, importFile, type DryRunResult, type ImportOptions, type ImportResult } from '../core/import.js';
import { isBatchInvocation } from '../core/importBatch.js';
import { ExitCode, UsageError } from '../errors.js';
import type { FileFormat } from '../formats/types.js';
import { parseKeyList, type Strategy } from '../transform/mapping.js';
import { createProgress, progressMode } from './progress.js';
import { debugPauses, PHASE_POINTS } from './debugPause.js';
import { colorFor, colorStatus, databaseNotice, formatCount, formatDuration, globalOptions, printable, printableLines, printJson, settingsFor } from './shared.js';

export interface ImportFlags {
  table?: string;
  format?: FileFormat;
  strategy?: Strategy;
  mapping?: string;
  maxErrors?: string;
  strict?: boolean;
  dryRun?: boolean;
  key?: string;
  nullValue?: string[];
  dedupe: boolean;
  allowSameFile?: boolean;
  force?: boolean;
  mode: 'append' | 'upsert' | 'replace';
  replaceImport?: string;
  delimiter?: string;
  header: boolean;
  encoding?: string;
  sheet?: string;
  headerRow?: string;
  range?: string;
  recordPath?: string;
  entry?: string;
  name?: string;
  progress?: boolean;
  // A batch's (commands/importBatch.ts).
  recursive?: boolean;
  pattern?: string;
  atomic?: boolean;
  stopOnError?: boolean;
}

/** What every file's import is asked to do, from the flags (checked here: a usage error before anything is read). */
export function importOptionsFromFlags(flags: ImportFlags): Omit<ImportOptions, 'source'> {
  if (flags.headerRow !== undefined && !/^[1-9]\d*$/.test(flags.headerRow)) throw new UsageError('--header-row must be a row number (1 or more)');
  if (flags.strict && flags.maxErrors !== undefined) throw new UsageError('--strict and --max-errors cannot be used together');
  const key = flags.key === undefined ? null : parseKeyList(flags.key);
  if (typeof key === 'string') throw new UsageError(key, { hint: 'name the uniqueness columns, comma-separated: --key id or --key email,date' });
  return {
    table: flags.table ?? null,
    format: flags.format ?? null,
    strategy: flags.strategy ?? null,
    mappingFile: flags.mapping ?? null,
    maxErrors: flags.maxErrors ?? null,
    strict: flags.strict ?? false,
    dedupe: flags.dedupe,
    key,
    nullValues: flags.nullValue ?? null,
    allowSameFile: flags.allowSameFile ?? false,
    force: flags.force ?? false,
    mode: flags.mode,
    replaceImport: flags.replaceImport ?? null,
    delimiter: flags.delimiter === undefined ? null : flags.delimiter === '\\t' || flags.delimiter === 'tab' ? '\t' : flags.delimiter,
    header: flags.header,
    encoding: flags.encoding ?? null,
    sheet: flags.sheet ?? null,
    headerRow: flags.headerRow === undefined ? null : Number(flags.headerRow),
    range: flags.range ?? null,
    recordPath: flags.recordPath ?? null,
    entry: flags.entry ?? null,
    name: flags.name ?? null,
  };
}

export async function runImportCommand(sources: string[], flags: ImportFlags, cmd: Command): Promise<void> {
  if (isBatchInvocation(sources, flags)) {
    if (flags.replaceImport !== undefined) throw new UsageError('--replace-import replaces one import with one file; give a single file');
    const { runBatchImportCommand } = await import('./importBatch.js');
    return runBatchImportCommand(sources, flags, cmd);
  }
  const source = sources[0]!;
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  const fileOptions = importOptionsFromFlags(flags);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130); // a second Ctrl-C: the user insists; the server rolls back on disconnect
    process.stderr.write('atlas: cancelling: rolling back the import...\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const pauses = debugPauses(process.env);
  const reporter = createProgress(progressMode(process.stderr, { quiet: g.quiet === true, progress: flags.progress === true }));
  let result: ImportResult | DryRunResult;
  try {
    const run = flags.dryRun ? dryRunImport : importFile;
    result = await run(settings, {
      ...fileOptions,
      source,
      signal: controller.signal,
      onDatabase: databaseNotice(cmd),
      onPhase: async (p) => {
        reporter.phase(p);
        await pauses.at(PHASE_POINTS[p], controller.signal);
      },
      onProgress: async (p) => {
        reporter.progress(p);
        await pauses.at('copy', controller.signal);
      },
      onInsert: (estimate) => reporter.inserting(estimate),
    });
  } finally {
    // A pause whose import failed under it (the connection was cut mid-COPY) must not keep the process alive.
    pauses.end();
    reporter.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if ('dry_run' in result) {
    if (g.json) printJson({ success: true, ...result });
    else if (!g.quiet) process.stdout.write(renderDryRun(result, colorFor(cmd)));
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
    `${colorStatus(c, result.status)}: imported ${formatCount(result.rows_inserted)} of ${formatCount(result.total_rows_in_file)} rows from ${printable(result.file_name ?? 'stdin')} into ${printable(`${result.schema}.${result.table_name}`)} (${result.import_strategy}) in ${formatDuration(result.duration_seconds)}`,
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
    `would import ${formatCount(r.total_rows_in_file)} rows into ${printable(`${r.schema}.${r.table_name}`)} (${r.import_strategy})`,
    '',
    c.bold('columns'),
    ...r.columns.map(
      (col) =>
        `  ${printable(col.source === col.target ? col.target : `${col.source} -> ${col.target}`)}  ${c.cyan(printable(col.type))}${col.new ? c.dim(' (new)') : ''}${col.notes.length ? c.yellow(`  ${printable(col.notes.join('; '))}`) : ''}`,
    ),
    ...r.columns_left_out.map((l) => c.yellow(`  ${printable(l.source)}  left out: ${printable(l.reason)}`)),
  ];
  const p = r.predicted;
  if (p !== null) {
    const changes = [`${formatCount(p.rows_inserted)} inserted`, `${formatCount(p.rows_updated)} updated`, `${formatCount(p.rows_unchanged)} unchanged`, `${formatCount(p.rows_deleted)} deleted`];
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
