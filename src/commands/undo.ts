import type { Command } from 'commander';
import { laterChangeText, plannedRows, undoImport, undoRefusal, type UndoOptions, type UndoResult } from '../core/undo.js';
import { blockingReferenceText } from '../core/undoReferenceCheck.js';
import { keyConflictText } from '../core/undoKeyCheck.js';
import { CancelledError, ExitCode } from '../errors.js';
import { colorFor, confirm, databaseNotice, formatCount, formatTime, globalOptions, lockWaitNotices, needsConfirmation, printable, printJson, settingsFor, tableRef, withCancelOnSignal } from './shared.js';
import type { UndoFlags } from './undoFlags.js';


export async function runUndoCommand(importId: string, flags: UndoFlags, cmd: Command): Promise<void> {
  // settings.user (--user as actingUser, else ATLAS_USER, the config file, the OS user) is recorded as undone_by.
  const settings = settingsFor(cmd, flags);
  const g = globalOptions(cmd);
  const ask = needsConfirmation(flags, 'undo');
  const options = { dryRun: flags.dryRun === true, force: flags.force === true, purge: flags.purge === true, reassign: flags.reassign === true, ...lockWaitNotices(cmd, 'the undo') };

  let result: UndoResult;
  // Ctrl-C or a kill cancels the statement running, so the undo rolls back at once (it ran on until the server noticed the connection gone).
  const undoing = (more: Partial<UndoOptions>) => withCancelOnSignal('cancelling: rolling back the undo...', (signal) => undoImport(settings, importId, { ...options, ...more, signal }));
  if (!ask) {
    result = await undoing({ onDatabase: databaseNotice(cmd) });
  } else {
    // Show the plan, ask, then undo exactly what was shown (refused if the row count moved meanwhile).
    const plan = await undoImport(settings, importId, { ...options, dryRun: true, onDatabase: databaseNotice(cmd) });
    const refusal = undoRefusal(plan, options.force);
    if (refusal !== null) throw refusal;
    process.stderr.write(render(plan, colorFor(cmd, process.stderr), { asking: true, force: options.force }));
    if (!(await confirm('Go ahead?'))) throw new CancelledError('undo cancelled; nothing was changed');
    result = await undoing({ expectedRows: plan.rows_to_remove });
  }

  // As the undo itself would end, as import's dry run does: 1 when it would be refused.
  if (result.would_refuse !== null) process.exitCode = ExitCode.failed;
  if (g.json) {
    printJson({ success: true, ...result });
    return;
  }
  if (g.quiet) return;
  process.stdout.write(render(result, colorFor(cmd), { force: options.force }));
}

/**
 * `asking`: the plan shown before the question, which is not a dry run the user asked for: it does
 * not say "nothing was changed". `force`: --force was given, so what needs it is gone past, not asked for.
 */
function render(r: UndoResult, c: ReturnType<typeof colorFor>, { asking = false, force = false } = {}): string {
  const where = tableRef(r.schema, r.table_name);
  const what = `import ${r.import_id} (${printable(r.file_name ?? 'stdin')}, ${formatTime(r.import_timestamp)})`;
  const lines: string[] = [];
  const noRows = r.previous_status !== 'success' && r.previous_status !== 'partial';
  const { removing, restoring } = plannedRows(r);
  const handedOver = `${formatCount(r.rows_handed_over)} row(s) it updated or deleted as the later imports that changed them since left them, not put back`;
  if (r.dry_run) {
    lines.push(asking ? `Undoing ${what} will:` : `${c.bold('dry run')}: nothing was changed. Undoing ${what} would:`);
    const split = r.dependents === 'reassigned' ? `: ${formatCount(r.rows_to_remove - r.dependent_rows)} deleted, ${formatCount(r.dependent_rows)} kept as rows of later imports` : '';
    if (!noRows) lines.push(`  remove ${c.bold(formatCount(removing))} row(s) from ${where}${r.rows_recorded !== removing ? ` (it inserted ${formatCount(r.rows_recorded)})` : ''}${split}`);
    if (restoring > 0) lines.push(`  put back ${c.bold(formatCount(restoring))} row(s) it updated or deleted (${MODE_WORDS[r.import_mode] ?? printable(r.import_mode)}), ${asWere(r)}`);
    if (r.rows_handed_over > 0) lines.push(c.yellow(`  leave ${handedOver}`));
    if (r.restore_changers.length > 0) lines.push(c.yellow(`  check the rows it puts back against their previous versions: ${printable(r.restore_changers.join(', '))} of the table may change them, and then it is refused unless --force`));
    if (r.later_imports.length > 0) lines.push(c.yellow(`  ${force ? 'go past, as --force: ' : ''}${laterImportsText(r, !force)}`));
    if (r.key_conflicts.length > 0) lines.push(c.yellow(`  refused, --force too: rows it would put back hold keys that other rows in the table hold now: ${printable(r.key_conflicts.map(keyConflictText).join('; '))}; undo those imports first`));
    if (r.blocking_references.length > 0) lines.push(c.yellow(`  refused, --force too: rows it inserted, which undo deletes, are referenced by ${printable(r.blocking_references.map(blockingReferenceText).join(', '))}; delete or change those rows first`));
    lines.push(r.purged ? `  delete its history record and its ${formatCount(r.mapping_errors_removed)} mapping error(s)` : '  keep its history record, marked undone');
    const needs = force ? 'go past, as --force' : 'need --force';
    if (r.force_reason !== null) lines.push(c.yellow(`  ${needs}: ${printable(r.force_reason)}`));
    if (r.references_changed.length > 0) lines.push(c.yellow(`  ${needs}: rows it inserted are referenced by ${printable(r.references_changed.map(blockingReferenceText).join(', '))}`));
    const dependents = renderDependents(r, c);
    if (dependents !== null) lines.push(dependents);
    return `${lines.join('\n')}\n`;
  }
  if (noRows) {
    lines.push(`deleted the history record of ${r.previous_status} ${what} and its ${formatCount(r.mapping_errors_removed)} mapping error(s); it had no rows`);
  } else {
    const kept = r.rows_reassigned ? `: ${formatCount((r.rows_removed ?? 0) - r.rows_reassigned)} deleted, ${formatCount(r.rows_reassigned)} kept as rows of later imports` : '';
    lines.push(`${c.green('undone')}: removed ${formatCount(r.rows_removed ?? 0)} row(s) of ${what} from ${where}${kept}`);
    if ((r.rows_restored ?? 0) > 0) {
      const altered = r.rows_altered_on_restore;
      lines.push(`  put back ${formatCount(r.rows_restored)} row(s) it had updated or deleted, ${altered === 0 ? asWere(r) : `${formatCount((r.rows_restored ?? 0) - altered)} of them ${asWere(r)}`}`);
      if (altered > 0) lines.push(c.yellow(`  forced: ${formatCount(altered)} row(s) put back as ${printable(r.restore_changers.join(', '))} changed them (column(s) ${printable(r.columns_altered_on_restore.join(', '))}), not as they were`));
    }
    if (r.rows_handed_over > 0) lines.push(c.yellow(`  left ${handedOver}`));
    if (r.later_imports.length > 0) lines.push(c.yellow(`  forced: ${laterImportsText(r, false)}`));
    if (r.purged) lines.push(`  deleted its history record and its ${formatCount(r.mapping_errors_removed)} mapping error(s)`);
    else lines.push(`  its history record stays, marked undone by ${printable(r.undone_by ?? '?')} at ${formatTime(r.undone_at)}`);
    if (r.force_reason !== null) lines.push(c.yellow(`  forced: ${printable(r.force_reason)}`));
    if (r.references_changed.length > 0) lines.push(c.yellow(`  forced: rows of other tables that referenced its rows: ${printable(r.references_changed.map(blockingReferenceText).join(', '))}`));
    const dependents = renderDependents(r, c);
    if (dependents !== null) lines.push(dependents);
  }
  return `${lines.join('\n')}\n`;
}

/** An import's mode in words (replace_import is its flag). */
const MODE_WORDS: Record<string, string> = { upsert: 'upsert', replace: 'replace', replace_import: '--replace-import' };

/** How rows are put back: as they were, or without the values of columns the table no longer has. */
function asWere(r: UndoResult): string {
  return r.columns_not_restored.length === 0 ? 'exactly as they were' : `as they were but for their ${printable(r.columns_not_restored.join(', '))}, which the table no longer has`;
}

/** The later imports that changed the import's rows, and what --force does with those rows. */
function laterImportsText(r: UndoResult, asking: boolean): string {
  // As the refusal names them: rows kept in place too, which are all a replace has once history compact dropped its pre-images.
  const list = printable(r.later_imports.map(laterChangeText).join(', '));
  const kept = r.later_imports.some((l) => l.kept > 0) ? ', the rows kept in place go with it' : '';
  return `later import(s) changed its rows or kept them in place: ${list}; the rows they changed stay as they left them${kept}${asking ? ' (undo those first, latest first, or --force)' : ''}`;
}

/** What happens (or would) to the rows later imports rely on, naming them; null when there are none. */
function renderDependents(r: UndoResult, c: ReturnType<typeof colorFor>): string | null {
  if (r.dependents === 'none') return null;
  const who = (d: UndoResult['dependent_imports'][number], n: number): string => `${d.import_id} (${printable(d.file_name ?? 'stdin')}): ${formatCount(n)}`;
  const rows = formatCount(r.dependent_rows);
  switch (r.dependents) {
    case 'refused':
      return c.yellow(
        `  refused: ${rows} of its rows are the data of later imports too, which skipped their copies as duplicates of them (records per import: ${r.dependent_imports.map((d) => who(d, d.records)).join(', ')}); --reassign keeps them for those imports, --force deletes them${r.dependent_rows_put_back > 0 ? ` (puts back the ${formatCount(r.dependent_rows_put_back)} it updated to their versions before it)` : ''}`,
      );
    case 'reassigned':
      return `  ${r.dry_run ? 'keep' : 'kept'} ${rows} of them, which later imports rely on, as rows of the earliest import that skipped each (rows per import: ${r.dependent_imports.filter((d) => d.rows > 0).map((d) => who(d, d.rows)).join(', ')}); their records count them as inserted`;
    case 'deleted': {
      // Rows it updated come back as their previous versions: what the later records matched goes all the same.
      const putBack = r.dependent_rows_put_back;
      const gone = r.dependent_rows - putBack;
      const what = [
        gone > 0 ? `${r.dry_run ? 'delete' : 'deleted'} with them ${formatCount(gone)} row(s)` : '',
        putBack > 0 ? `put back ${formatCount(putBack)} row(s) to their versions before it` : '',
      ].filter((s) => s !== '').join(' and ');
      return c.yellow(`  ${what} that later imports rely on (--force; records per import: ${r.dependent_imports.map((d) => who(d, d.records)).join(', ')}): the data those records matched is no longer in the table`);
    }
  }
}
