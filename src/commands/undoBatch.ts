/** `atlas undo --batch ID`: every import of a batch, in one transaction (issue 21). */
import type { Command } from 'commander';
import { undoBatch, type BatchUndoResult } from '../core/undoBatch.js';
import { CancelledError, UsageError } from '../errors.js';
import { colorFor, confirm, databaseNotice, formatCount, globalOptions, lockWaitNotices, needsConfirmation, printable, printJson, settingsFor, tableRef, withCancelOnSignal } from './shared.js';
import type { UndoFlags } from './undoFlags.js';


export async function runUndoBatchCommand(importId: string | undefined, flags: UndoFlags & { batch: string }, cmd: Command): Promise<void> {
  if (importId !== undefined) throw new UsageError('give an import id or --batch ID, not both');
  const settings = settingsFor(cmd, flags);
  const g = globalOptions(cmd);
  const options = { dryRun: flags.dryRun === true, force: flags.force === true, purge: flags.purge === true, reassign: flags.reassign === true, onDatabase: databaseNotice(cmd), ...lockWaitNotices(cmd, 'the undo') };
  let result: BatchUndoResult;
  // As undo of one import: Ctrl-C cancels the statement running, the whole batch's undo rolls back.
  const undoing = (more: { expectedRows?: Record<string, number> }) => withCancelOnSignal('cancelling: rolling back the undo of the batch...', (signal) => undoBatch(settings, flags.batch, { ...options, ...more, signal }));
  if (!needsConfirmation(flags, 'undo')) {
    result = await undoing({});
  } else {
    // Show the plan, ask, then undo exactly what was shown (refused if a row count moved meanwhile).
    const plan = await undoBatch(settings, flags.batch, { ...options, dryRun: true });
    process.stderr.write(render(plan, colorFor(cmd, process.stderr), true));
    if (!(await confirm('Go ahead?'))) throw new CancelledError('undo cancelled; nothing was changed');
    result = await undoing({ expectedRows: Object.fromEntries(plan.imports.map((r) => [r.import_id, r.rows_to_remove])) });
  }
  if (g.json) {
    printJson({ success: true, ...result });
    return;
  }
  if (!g.quiet) process.stdout.write(render(result, colorFor(cmd), false));
}

function render(r: BatchUndoResult, c: ReturnType<typeof colorFor>, asking: boolean): string {
  const lines: string[] = [];
  const head = r.dry_run ? (asking ? `Undoing batch ${r.batch_id} will:` : `${c.bold('dry run')}: nothing was changed. Undoing batch ${r.batch_id} would:`) : `${c.green('undone')}: batch ${r.batch_id}`;
  lines.push(head);
  // A dry run undoes the batch in a transaction it rolls back: its rows_removed and rows_restored
  // are what the undo does, an upsert's updated rows put back rather than removed (as undo of one import says).
  for (const u of r.imports) {
    const restored = u.rows_restored ?? 0;
    lines.push(`  ${r.dry_run ? 'remove' : 'removed'} ${formatCount(u.rows_removed)} row(s) of import ${u.import_id} (${printable(u.file_name ?? 'stdin')}) from ${tableRef(u.schema, u.table_name)}${restored > 0 ? `, put back ${formatCount(restored)} it updated or deleted` : ''}`);
    if (u.rows_altered_on_restore > 0) lines.push(c.yellow(`    forced: ${formatCount(u.rows_altered_on_restore)} of them put back as ${printable(u.restore_changers.join(', '))} changed them (column(s) ${printable(u.columns_altered_on_restore.join(', '))}), not as they were`));
  }
  for (const l of r.left_alone) lines.push(c.dim(`  left alone: import ${l.import_id} (${l.status}, no rows)`));
  const restored = r.imports.reduce((n, u) => n + (u.rows_restored ?? 0), 0);
  lines.push(`${formatCount(r.imports.length)} import(s), ${formatCount(r.rows_removed)} row(s) ${r.dry_run ? 'to remove' : 'removed'}${restored > 0 ? `, ${formatCount(restored)} ${r.dry_run ? 'to put back' : 'put back'}` : ''}${r.dry_run ? '' : '; their history records stay, marked undone'}`);
  return `${lines.join('\n')}\n`;
}
