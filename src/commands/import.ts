import type { Command } from 'commander';
import { importFile, type ImportResult } from '../core/import.js';
import { ExitCode } from '../errors.js';
import type { FileFormat } from '../formats/types.js';
import { colorFor, colorStatus, databaseNotice, formatCount, formatDuration, globalOptions, printJson, settingsFor } from './shared.js';

interface ImportFlags {
  table?: string;
  format?: FileFormat;
  delimiter?: string;
  header: boolean;
  encoding?: string;
  name?: string;
}

export async function runImportCommand(source: string, flags: ImportFlags, cmd: Command): Promise<void> {
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
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
  let result: ImportResult;
  try {
    result = await importFile(settings, {
      source,
      table: flags.table ?? null,
      format: flags.format ?? null,
      delimiter: flags.delimiter === undefined ? null : flags.delimiter === '\\t' || flags.delimiter === 'tab' ? '\t' : flags.delimiter,
      header: flags.header,
      encoding: flags.encoding ?? null,
      name: flags.name ?? null,
      signal: controller.signal,
      onDatabase: databaseNotice(cmd),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.exitCode = result.status === 'partial' ? ExitCode.partial : ExitCode.success;
  if (g.json) {
    printJson({ success: true, ...result });
    return;
  }
  if (g.quiet) return;
  const c = colorFor(cmd);
  const lines = [
    `${colorStatus(c, result.status)}: imported ${formatCount(result.rows_inserted)} of ${formatCount(result.total_rows_in_file)} rows from ${result.file_name ?? 'stdin'} into ${result.schema}.${result.table_name} (${result.import_strategy}) in ${formatDuration(result.duration_seconds)}`,
  ];
  if (result.rows_skipped > 0) lines.push(`  skipped ${formatCount(result.rows_skipped)} row(s); mapping errors: ${formatCount(result.mapping_errors_count)} (see: atlas errors ${result.import_id})`);
  for (const w of result.warnings) lines.push(c.yellow(`  warning: ${w}`));
  lines.push(`  import id ${c.bold(result.import_id)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
