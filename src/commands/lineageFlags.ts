/** `atlas lineage`'s flags, typed once: src/cli.ts adds them, commands/lineage.ts reads LineageFlags. */
import { text, type FlagValues } from './flags.js';

export const lineageFlags = {
  row: text('--row <id>', 'trace one row by its id column: import, file, source row number, corrections (default: the whole table)'),
};

export type LineageFlags = FlagValues<typeof lineageFlags>;
