import type { Command } from 'commander';
import { forceRequiredError, undoImport, type UndoResult } from '../core/undo.js';
import { CancelledError } from '../errors.js';
import { colorFor, confirm, databaseNotice, formatCount, formatTime, globalOptions, needsConfirmation, printJson, settingsFor } from './shared.js';

interface UndoFlags {
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
  purge?: boolean;
}

export async function runUndoCommand(importId: string, flags: UndoFlags, cmd: Command): Promise<void> {
  // settings.user (--user, else ATLAS_USER, the config file, the OS user) is recorded as undone_by.
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  const ask = needsConfirmation(flags, 'undo');
  const options = { dryRun: flags.dryRun === true, force: flags.force === true, purge: flags.purge === true };

  let result: UndoResult;
  if (!ask) {
    result = await undoImport(settings, importId, { ...options, onDatabase: databaseNotice(cmd) });
  } else {
    // Show the plan, ask, then undo exactly what was shown (refused if the row count moved meanwhile).
    const plan = await undoImport(settings, importId, { ...options, dryRun: true, onDatabase: databaseNotice(cmd) });
    if (plan.force_reason !== null && !options.force) throw forceRequiredError(plan);
    process.stderr.write(render(plan, colorFor(cmd, process.stderr), { asking: true }));
    if (!(await confirm('Go ahead?'))) throw new CancelledError('undo cancelled; nothing was changed');
    result = await undoImport(settings, importId, { ...options, expectedRows: plan.rows_to_remove });
  }

  if (g.json) {
    printJson({ success: true, ...result });
    return;
  }
  if (g.quiet) return;
  process.stdout.write(render(result, colorFor(cmd)));
}

/** `asking`: the plan shown before the question, which is not a dry run the user asked for: it does not say "nothing was changed". */
function render(r: UndoResult, c: ReturnType<typeof colorFor>, { asking = false } = {}): string {
  const where = `${r.schema}.${r.table_name}`;
  const what = `import ${r.import_id} (${r.file_name ?? 'stdin'}, ${formatTime(r.import_timestamp)})`;
  const lines: string[] = [];
  const noRows = r.previous_status !== 'success' && r.previous_status !== 'partial';
  if (r.dry_run) {
    lines.push(asking ? `Undoing ${what} will:` : `${c.bold('dry run')}: nothing was changed. Undoing ${what} would:`);
    if (!noRows) lines.push(`  remove ${c.bold(formatCount(r.rows_to_remove))} row(s) from ${where}${r.rows_recorded !== r.rows_to_remove ? ` (it inserted ${formatCount(r.rows_recorded)})` : ''}`);
    lines.push(r.purged ? `  delete its history record and its ${formatCount(r.mapping_errors_removed)} mapping error(s)` : '  keep its history record, marked undone');
    if (r.force_reason !== null) lines.push(c.yellow(`  need --force: ${r.force_reason}`));
    if (r.later_duplicates > 0) lines.push(c.yellow(`  note: ${formatCount(r.later_duplicates)} record(s) of later imports were skipped as duplicates of these rows; their data goes too`));
    return `${lines.join('\n')}\n`;
  }
  if (noRows) {
    lines.push(`deleted the history record of ${r.previous_status} ${what} and its ${formatCount(r.mapping_errors_removed)} mapping error(s); it had no rows`);
  } else {
    lines.push(`${c.green('undone')}: removed ${formatCount(r.rows_removed)} row(s) of ${what} from ${where}`);
    if (r.purged) lines.push(`  deleted its history record and its ${formatCount(r.mapping_errors_removed)} mapping error(s)`);
    else lines.push(`  its history record stays, marked undone by ${r.undone_by ?? '?'} at ${formatTime(r.undone_at)}`);
    if (r.force_reason !== null) lines.push(c.yellow(`  forced: ${r.force_reason}`));
    if (r.later_duplicates > 0) lines.push(c.yellow(`  note: ${formatCount(r.later_duplicates)} record(s) of later imports had been skipped as duplicates of the removed rows`));
  }
  return `${lines.join('\n')}\n`;
}
