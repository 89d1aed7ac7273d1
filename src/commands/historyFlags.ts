/** `atlas history`'s flags, typed once: src/cli.ts adds them, commands/history.ts reads HistoryFlags (and prune and compact refuse them). */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { choice, flagsGiven, paginationFlags, text, type FlagValues } from './flags.js';

export const historyFlags = {
  table: text('--table <name>', 'only imports into this table (default: all tables)'),
  byUser: text('--user <name>', 'only imports by this user (default: all users)'),
  status: choice(
    '--status <status>',
    'only imports with this status (default: all); interrupted: the failed imports whose process ended before they committed',
    ['in_progress', 'interrupted', 'success', 'failed', 'partial', 'undone'],
  ),
  since: text('--since <date>', 'only imports since a local date or time (2025-01-31, "2025-01-31 14:00") or an age (30m, 12h, 7d, 2w) (default: all time)'),
  batch: text('--batch <id>', 'only the imports of this batch (the whole id a batch import prints; default: all)'),
  ...paginationFlags('imports'),
};

export type HistoryFlags = FlagValues<typeof historyFlags>;

/** history's filters and paging mean nothing to its subcommand `sub`; refuse them rather than ignore them. */
export function rejectHistoryFilters(cmd: Command, sub: string, hint: string): void {
  const history = cmd.parent;
  if (!history) return;
  const given = flagsGiven(history, historyFlags);
  if (given.length > 0) throw new UsageError(`history ${sub} does not take ${given.join(', ')}`, { hint });
}
