/** `atlas stats`'s flags, typed once: src/cli.ts adds them, commands/stats.ts reads StatsFlags. */
import { text, type FlagValues } from './flags.js';

export const statsFlags = {
  table: text('--table <name>', 'only imports into this table (default: all tables)'),
  byUser: text('--user <name>', 'only imports by this user (default: all users)'),
  days: text('--days <n>', 'look back this many days, 1 or more', { default: '30' }),
};

export type StatsFlags = FlagValues<typeof statsFlags>;
