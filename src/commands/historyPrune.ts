import type { Command } from 'commander';
import { pruneHistory, type PruneResult } from '../core/history.js';
import { CancelledError, UsageError } from '../errors.js';
import { cellWriter, type CellWriter, colorFor, confirm, databaseNotice, formatAbsoluteTime, formatCount, globalOptions, lockWaitNotices, needsConfirmation, parseAge, printable, printJson, settingsFor, shortIds } from './shared.js';
import { rejectHistoryFilters } from './historyFlags.js';
import type { PruneFlags } from './historyPruneFlags.js';


export async function runHistoryPruneCommand(flags: PruneFlags, cmd: Command): Promise<void> {
  rejectHistoryFilters(cmd, 'prune', 'it prunes by age and status: --older-than 365d');
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  const olderThanSeconds = parseAge(flags.olderThan);
  if (olderThanSeconds === null) throw new UsageError(`--older-than must be an age like 365d, 52w, 12h or 30m (minutes), not "${flags.olderThan}"`);
  const onDatabase = databaseNotice(cmd);
  const waits = lockWaitNotices(cmd, 'the prune');

  let result: PruneResult;
  if (!needsConfirmation(flags, 'history prune')) {
    result = await pruneHistory(settings, { olderThanSeconds, dryRun: flags.dryRun === true, onDatabase, ...waits });
  } else {
    // Show what would go, ask, then delete exactly those (if still eligible).
    const plan = await pruneHistory(settings, { olderThanSeconds, dryRun: true, onDatabase, ...waits });
    if (plan.pruned_count === 0) {
      result = { ...plan, dry_run: false }; // nothing to delete, nothing to ask
    } else {
      process.stderr.write(render(plan, colorFor(cmd, process.stderr), cellWriter(process.stderr)));
      if (!(await confirm(`Delete these ${formatCount(plan.pruned_count)} history record(s) and their mapping errors?`))) throw new CancelledError('prune cancelled; nothing was deleted');
      result = await pruneHistory(settings, { olderThanSeconds, dryRun: false, onlyIds: plan.imports.map((r) => r.import_id), ...waits });
    }
  }
  if (g.json) {
    printJson({ success: true, ...result });
    return;
  }
  if (g.quiet) return;
  process.stdout.write(render(result, colorFor(cmd), cellWriter(process.stdout)));
}

function render(r: PruneResult, c: ReturnType<typeof colorFor>, cell: CellWriter): string {
  const lines: string[] = [];
  const verb = r.dry_run ? 'would delete' : 'deleted';
  lines.push(`${verb} ${formatCount(r.pruned_count)} history record(s) older than ${formatAbsoluteTime(r.cutoff)} (statuses: ${r.statuses.join(', ')}); no data rows are touched`);
  const shown = r.imports.slice(0, 20);
  const shortId = shortIds(shown.map((i) => i.import_id));
  for (const i of shown) lines.push(`  ${shortId(i.import_id)}  ${formatAbsoluteTime(i.import_timestamp)}  ${printable(i.status).padEnd(11)}  ${cell(i.table_name, 24).padEnd(24)}  ${cell(i.file_name ?? '(stdin)', 30)}`);
  if (r.imports.length > shown.length) lines.push(c.dim(`  ... and ${formatCount(r.imports.length - shown.length)} more (--json lists all)`));
  for (const k of r.kept) lines.push(c.yellow(`  kept ${k.import_id}: ${formatCount(k.rows)} row(s) in ${printable(k.table)} still reference it`));
  if (r.dry_run && r.pruned_count > 0) lines.push(c.dim('run again without --dry-run to delete them'));
  return `${lines.join('\n')}\n`;
}
