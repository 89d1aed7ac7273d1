/** `atlas history prune`'s flags, typed once: src/cli.ts adds them, commands/historyPrune.ts reads PruneFlags. */
import { confirmationFlags, text, type FlagValues } from './flags.js';

export const historyPruneFlags = {
  olderThan: text('--older-than <age>', 'only records imported longer ago than this age, in the units of history --since: 30m (minutes), 12h, 365d, 52w (required)', { required: true }),
  ...confirmationFlags('deleted'),
};

export type PruneFlags = FlagValues<typeof historyPruneFlags>;
