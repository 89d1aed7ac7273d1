/** The options of one file's import, from import's flags: shared by the single-file and batch commands. */
import type { ImportOptions } from '../core/import.js';
import { UsageError } from '../errors.js';
import { parseKeyList } from '../transform/mapping.js';
import type { Settings } from '../config.js';
import type { ImportFlags } from './importFlags.js';
import { tableFlag } from './shared.js';

/** What every file's import is asked to do, from the flags (checked here: a usage error before anything is read). */
export function importOptionsFromFlags(flags: ImportFlags, settings: Pick<Settings, 'schema' | 'schemaSource'>): Omit<ImportOptions, 'source'> {
  if (flags.headerRow !== undefined && !/^[1-9]\d*$/.test(flags.headerRow)) throw new UsageError('--header-row must be a row number (1 or more)');
  if (flags.skipLines !== undefined && !/^\d+$/.test(flags.skipLines)) throw new UsageError('--skip-lines must be a number of lines (0 or more)');
  if (flags.strict && flags.maxErrors !== undefined) throw new UsageError('--strict and --max-errors cannot be used together');
  const key = flags.key === undefined ? null : parseKeyList(flags.key);
  if (typeof key === 'string') throw new UsageError(key, { hint: 'name the uniqueness columns, comma-separated: --key id or --key email,date' });
  return {
    table: tableFlag(flags.table, settings),
    format: flags.format ?? null,
    strategy: flags.strategy ?? null,
    mappingFile: flags.mapping ?? null,
    maxErrors: flags.maxErrors ?? null,
    strict: flags.strict ?? false,
    dedupe: flags.dedupe,
    key,
    nullValues: flags.nullValue ?? null,
    allowSameFile: flags.allowSameFile ?? false,
    force: flags.force ?? false,
    mode: flags.mode,
    replaceImport: flags.replaceImport ?? null,
    delimiter: flags.delimiter === undefined ? null : flags.delimiter === '\\t' || flags.delimiter === 'tab' ? '\t' : flags.delimiter,
    comment: flags.comment ?? null,
    fillShortRows: flags.fillShortRows ?? false,
    skipLines: flags.skipLines === undefined ? 0 : Number(flags.skipLines),
    header: flags.header,
    encoding: flags.encoding ?? null,
    sheet: flags.sheet ?? null,
    headerRow: flags.headerRow === undefined ? null : Number(flags.headerRow),
    range: flags.range ?? null,
    recordPath: flags.recordPath ?? null,
    entry: flags.entry ?? null,
    name: flags.name ?? null,
  };
}
