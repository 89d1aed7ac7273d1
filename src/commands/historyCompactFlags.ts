/** `atlas history compact`'s flags, typed once: src/cli.ts adds them, commands/historyCompact.ts reads CompactFlags. */
import { confirmationFlags, text, type FlagValues } from './flags.js';

export const historyCompactFlags = {
  olderThan: text('--older-than <age>', 'only imports made longer ago than this age: 30m (minutes), 12h, 365d, 52w (required)', { required: true }),
  ...confirmationFlags('dropped'),
};

export type CompactFlags = FlagValues<typeof historyCompactFlags>;
