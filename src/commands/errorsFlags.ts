/** `atlas errors`'s flags, typed once: src/cli.ts adds them, commands/errors.ts reads ErrorsFlags. */
import { bool, paginationFlags, text, type FlagValues } from './flags.js';

export const errorsFlags = {
  type: text('--type <type>', 'only errors of this type: type_mismatch, datetime_conversion, numeric_overflow, field_count_mismatch, ... (default: all)'),
  field: text('--field <name>', 'only errors in this source or target field (default: all)'),
  duplicates: bool('--duplicates', 'list the rows it skipped as duplicates instead (record number, the record, the row or record it equals)'),
  ...paginationFlags('errors'),
};

export type ErrorsFlags = FlagValues<typeof errorsFlags>;
