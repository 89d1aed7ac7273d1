import type { Command } from 'commander';
import { compactHistory, type CompactResult } from '../core/compact.js';
import { CancelledError, UsageError } from '../errors.js';
import { colorFor, confirm, databaseNotice, formatAbsoluteTime, formatCount, globalOptions, lockWaitNotices, needsConfirmation, parseAge, printable, printJson, settingsFor, shortIds } from './shared.js';
import type { CompactFlags } from './historyCompactFlags.js';
import { rejectHistoryFilters } from './historyFlags.js';


export async function runHistoryCompactCommand(flags: CompactFlags, cmd: Command): Promise<void> {
  rejectHistoryFilters(cmd, 'compact', 'it drops the pre-images of imports by age: --older-than 90d');
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  const olderThanSeconds = parseAge(flags.olderThan);
  if (olderThanSeconds === null) throw new UsageError(`--older-than must be an age like 365d, 52w, 12h or 30m (minutes), not "${flags.olderThan}"`);
  const onDatabase = databaseNotice(cmd);
  const waits = lockWaitNotices(cmd, 'the compact');
  let result: CompactResult;
  if (!needsConfirmation(flags, 'history compact')) {
    result = await compactHistory(settings, { olderThanSeconds, dryRun: flags.dryRun === true, onDatabase, ...waits });
  } else {
    const plan = await compactHistory(settings, { olderThanSeconds, dryRun: true, onDatabase, ...waits });
    if (plan.imports.length === 0) {
      result = { ...plan, dry_run: false };
    } else {
      process.stderr.write(render(plan, colorFor(cmd, process.stderr)));
      if (!(await confirm(`Drop them? Those ${formatCount(plan.imports.length)} import(s) can then no longer be undone`))) throw new CancelledError('compact cancelled; nothing was dropped');
      result = await compactHistory(settings, { olderThanSeconds, dryRun: false, ...waits });
    }
  }
  if (g.json) {
    printJson({ success: true, ...result });
    return;
  }
  if (g.quiet) return;
  process.stdout.write(render(result, colorFor(cmd)));
}

function render(r: CompactResult, c: ReturnType<typeof colorFor>): string {
  const verb = r.dry_run ? 'would drop' : 'dropped';
  const lines = [
    `${verb} ${formatCount(r.preimages_dropped)} pre-image(s) (previous versions of rows updated or deleted) of ${formatCount(r.imports.length)} import(s) older than ${formatAbsoluteTime(r.cutoff)}`,
  ];
  const shortId = shortIds(r.imports.slice(0, 20).map((i) => i.import_id));
  for (const i of r.imports.slice(0, 20)) lines.push(`  ${shortId(i.import_id)}  ${printable(i.table_name)}  ${formatCount(i.preimages)}`);
  if (r.imports.length > 20) lines.push(c.dim(`  ... and ${formatCount(r.imports.length - 20)} more (--json lists all)`));
  // An undone import's kept versions serve no undo: only the others are said to lose it.
  const undoable = r.imports.filter((i) => i.status === 'success' || i.status === 'partial').length;
  const others = r.imports.length - undoable;
  const already = others > 0 ? `; ${formatCount(others)} ${r.dry_run ? 'are' : 'were'} undone already` : '';
  if (undoable > 0) lines.push(c.yellow(r.dry_run ? `${formatCount(undoable)} of those imports could then no longer be undone${already}` : `${formatCount(undoable)} of those imports can no longer be undone (atlas history <id> says so)${already}`));
  else if (others > 0) lines.push(`those imports are undone already: dropping their previous versions takes no undo away`);
  return `${lines.join('\n')}\n`;
}
