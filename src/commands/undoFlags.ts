/** `atlas undo`'s flags, typed once: src/cli.ts adds them, commands/undo.ts and commands/undoBatch.ts read UndoFlags. */
import { bool, confirmationFlags, text, type FlagValues } from './flags.js';

export const undoFlags = {
  batch: text('--batch <id>', 'undo every import of this batch, in one transaction, newest first (instead of one import id)'),
  ...confirmationFlags('removed'),
  force: bool(
    '--force',
    "undo even if the import's rows changed since it ran (updated, deleted, added), or its table is gone; also delete rows later imports rely on (unless --reassign); undo even if later imports (upsert, replace) changed its rows: those stay as they left them, and undoing those imports later puts back what was there before this one; keep rows it puts back as the table's triggers change them (refused otherwise); never puts back a row whose key (a unique index's, an upsert's --key) another row holds now",
  ),
  reassign: bool('--reassign', 'keep the rows later imports rely on (they skipped their own copies as duplicates): each becomes a row of the earliest such import, whose record is updated'),
  purge: bool('--purge', 'also delete the history record and its mapping errors: no audit trail is left (also for failed or undone imports)'),
  actingUser: text('--user <name>', 'who undoes it, recorded as undone_by (default: ATLAS_USER, the config file\'s "user", else the OS user)'),
};

export type UndoFlags = FlagValues<typeof undoFlags>;
