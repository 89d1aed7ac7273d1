import type { Command } from 'commander';
import { getStats } from '../core/stats.js';
import { colorFor, databaseNotice, formatAbsoluteTime, formatCount, formatDuration, globalOptions, parseWholeNumber, printable, printJson, renderDetail, settingsFor, tableFlag } from './shared.js';
import type { StatsFlags } from './statsFlags.js';


export async function runStatsCommand(flags: StatsFlags, cmd: Command): Promise<void> {
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  const s = await getStats(settings, { table: tableFlag(flags.table, settings), user: flags.byUser ?? null, days: parseWholeNumber('--days', flags.days), onDatabase: databaseNotice(cmd) });
  if (g.json) {
    printJson({ success: true, ...s });
    return;
  }
  const c = colorFor(cmd);
  const scope = printable([s.table_name ? `table ${s.table_name}` : 'all tables', s.user_id ? `user ${s.user_id}` : 'all users'].join(', '));
  const rate = s.success_rate === null ? '-' : `${(s.success_rate * 100).toFixed(1)} % (${formatCount(s.successful_imports)} successful of ${formatCount(s.total_imports)} imports)`;
  const byUndone = s.total_rows_inserted - s.total_rows_inserted_not_undone;
  process.stdout.write(
    renderDetail(
      [
        ['period', [['days', `${s.period_days} (${formatAbsoluteTime(s.period_start)} to now)`], ['scope', scope]]],
        [
          'imports',
          [
            ['total', formatCount(s.total_imports)],
            ['successful', c.green(formatCount(s.successful_imports))],
            ['partial', s.partial_imports ? c.yellow(formatCount(s.partial_imports)) : '0'],
            ['failed', s.failed_imports ? c.red(formatCount(s.failed_imports)) : '0'],
            ['undone', formatCount(s.undone_imports)],
            ['in progress', s.in_progress_imports ? formatCount(s.in_progress_imports) : null],
            ['success rate', rate],
          ],
        ],
        [
          'rows',
          [
            ['inserted', `${formatCount(s.total_rows_inserted)}${byUndone ? ` (${formatCount(byUndone)} of them by imports undone since)` : ''}`],
            ['by imports not undone', formatCount(s.total_rows_inserted_not_undone)],
            ['removed by undo', formatCount(s.total_rows_removed)],
            ['updated (upsert)', formatCount(s.total_rows_updated)],
            ['unchanged (upsert, replace)', formatCount(s.total_rows_unchanged)],
            ['deleted (replace)', formatCount(s.total_rows_deleted)],
            ['duplicates found', formatCount(s.total_duplicates_found)],
          ],
        ],
        ['other', [['average duration', formatDuration(s.avg_duration_seconds)], ['tables affected', formatCount(s.tables_affected)], ['unique users', formatCount(s.unique_users)]]],
      ],
      c,
    ),
  );
}
