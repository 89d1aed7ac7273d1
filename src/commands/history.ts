import type { Command } from 'commander';
import { getImport, isInterrupted, listHistory, type ImportRecord } from '../core/history.js';
import { cellWriter, colorFor, colorStatus, databaseNotice, describePage, type DetailGroup, formatAbsoluteTime, formatCount, formatDuration, formatRelativeTime, formatTime, globalOptions, newTable, parseSince, parseWholeNumber, printable, printableLines, printableOrNull, printJson, renderDetail, settingsFor, shortIds, statusLabel, tableFlag } from './shared.js';
import { UsageError } from '../errors.js';
import { flagsGiven } from './flags.js';
import { historyFlags, type HistoryFlags } from './historyFlags.js';


export async function runHistoryCommand(importId: string | undefined, flags: HistoryFlags, cmd: Command): Promise<void> {
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  const c = colorFor(cmd);
  if (importId !== undefined) {
    const given = flagsGiven(cmd, historyFlags);
    if (given.length > 0) throw new UsageError(`history ${importId} shows that one import: ${given.join(', ')} filter or page the list of imports`, { hint: 'leave out the import id to list imports' });
    const record = await getImport(settings, importId, { onDatabase: databaseNotice(cmd) });
    // `interrupted` as the list gives it (its metadata says so too, which not every reader looks in).
    if (g.json) printJson({ success: true, import_record: { ...record, interrupted: isInterrupted(record) } });
    else process.stdout.write(renderRecord(record, c));
    return;
  }
  const filtered = flags.table !== undefined || flags.byUser !== undefined || flags.status !== undefined || flags.since !== undefined || flags.batch !== undefined;
  const result = await listHistory(settings, {
    table: tableFlag(flags.table, settings),
    user: flags.byUser ?? null,
    status: flags.status ?? null,
    since: parseSince(flags.since),
    batch: flags.batch ?? null,
    limit: parseWholeNumber('--limit', flags.limit),
    offset: parseWholeNumber('--offset', flags.offset),
    onDatabase: databaseNotice(cmd),
  });
  if (g.json) {
    printJson({ success: true, ...result });
    return;
  }
  if (result.total_count === 0) {
    process.stdout.write(filtered ? 'No imports match these filters.\n' : 'No imports yet. Start with: atlas import FILE\n');
    return;
  }
  if (result.imports.length === 0) {
    process.stdout.write(`${describePage('imports', result, 0)}\n`);
    return;
  }
  const cell = cellWriter();
  const table = newTable(['import id', 'when', 'user', 'file', 'table', 'status', 'rows', 'changed', 'time'], c);
  const shortId = shortIds(result.imports.map((r) => r.import_id));
  for (const r of result.imports) {
    table.push([
      shortId(r.import_id),
      `${formatAbsoluteTime(r.import_timestamp).slice(0, 16)} ${c.dim(formatRelativeTime(r.import_timestamp))}`,
      cell(r.user_id ?? '-', 12),
      cell(r.file_name ?? '(stdin)', 28),
      cell(r.table_name, 24),
      colorStatus(c, statusLabel(r)),
      { hAlign: 'right', content: formatCount(r.rows_inserted) },
      describeChanges(r, c),
      { hAlign: 'right', content: formatDuration(r.duration_seconds) },
    ]);
  }
  process.stdout.write(`${table.toString()}\n${c.dim(`${describePage('imports', result, result.imports.length)}, newest first`)}\n`);
}

/**
 * What an import did to rows already in the table, for the list: its mode and the rows it
 * updated, found unchanged or kept, deleted ("upsert 2 upd 1 same", "replace 3 same 5 del"); "-" for an append.
 */
function describeChanges(r: Pick<ImportRecord, 'import_mode' | 'rows_updated' | 'rows_unchanged' | 'rows_deleted' | 'preimages_pruned_at' | 'replaced_by'>, c: ReturnType<typeof colorFor>): string {
  // Its rows are no longer in the table: said where its status and counts are read.
  const replaced = r.replaced_by === null ? null : c.yellow(`replaced by ${r.replaced_by.slice(0, 8)}`);
  if (r.import_mode === 'append' || r.import_mode === undefined) return replaced ?? c.dim('-');
  const parts = [r.import_mode.replace('_', ' ')];
  if (r.import_mode === 'upsert') parts.push(`${formatCount(r.rows_updated)} upd`, `${formatCount(r.rows_unchanged)} same`);
  else {
    if (r.rows_unchanged > 0) parts.push(`${formatCount(r.rows_unchanged)} same`);
    parts.push(`${formatCount(r.rows_deleted)} del`);
  }
  if (r.preimages_pruned_at !== null) parts.push(c.yellow('(no undo)'));
  if (replaced !== null) parts.push(replaced);
  return parts.join(' ');
}

const seconds = (s: number | null): string | null => (s === null ? null : formatDuration(s));

const shown = printableOrNull;
const shownJson = (value: unknown): string => printableLines(JSON.stringify(value, null, 2));

/** One record, whole, grouped: source, destination, outcome, statistics, timings, mapping. Every text from the record escaped. */
function renderRecord(r: ImportRecord, c: ReturnType<typeof colorFor>): string {
  const groups: DetailGroup[] = [
    ['import', [['import id', r.import_id], ['when', formatTime(r.import_timestamp)], ['user', shown(r.user_id)], ['email', shown(r.user_email)]]],
    [
      'source',
      [
        ['type', shown(r.source_type)],
        ['path', shown(r.source_path)],
        ['file', shown(r.file_name)],
        ['size', r.file_size_bytes === null ? null : `${formatCount(r.file_size_bytes)} bytes`],
        ['format', shown(r.file_type)],
        ['sha-256', shown(r.file_hash)],
      ],
    ],
    ['destination', [['table', shown(r.table_name)], ['strategy', shown(r.import_strategy)], ['duplicate check', r.duplicate_check_enabled === null ? null : r.duplicate_check_enabled ? 'on' : 'off']]],
    [
      'outcome',
      [
        ['status', colorStatus(c, statusLabel(r))],
        ['error', shown(r.error_message)],
        ['warnings', r.warnings.length ? r.warnings.map(printable).join('\n') : null],
        ['undone', r.undone_at ? `${formatTime(r.undone_at)} by ${printable(r.undone_by ?? '?')}` : null],
        ['replaces', r.replaces_import_id === null ? null : `import ${r.replaces_import_id}`],
        ['replaced by', r.replaced_by === null ? null : `import ${r.replaced_by}`],
        [
          'undo',
          r.preimages_pruned_at === null
            ? null
            : r.rows_updated > 0 || r.rows_deleted > 0
              ? c.yellow(`not possible: the previous versions of the rows it changed were dropped by history compact at ${formatTime(r.preimages_pruned_at)}`)
              : `pre-images dropped at ${formatTime(r.preimages_pruned_at)} (it had none to restore)`,
        ],
        ['rows removed', r.rows_removed === null ? null : formatCount(r.rows_removed)],
      ],
    ],
    [
      'statistics',
      [
        ['rows in file', formatCount(r.total_rows_in_file)],
        ['processed', formatCount(r.rows_processed)],
        ['mode', shown(r.import_mode)],
        ['inserted', formatCount(r.rows_inserted)],
        ['updated', formatCount(r.rows_updated)],
        ['unchanged', formatCount(r.rows_unchanged)],
        ['deleted', formatCount(r.rows_deleted)],
        ['skipped', formatCount(r.rows_skipped)],
        ['duplicates', formatCount(r.duplicates_found)],
        ['validation errors', formatCount(r.validation_errors)],
      ],
    ],
    [
      'timings',
      [
        ['total', seconds(r.duration_seconds)],
        ['parsing', seconds(r.parsing_time_seconds)],
        ['duplicate check', seconds(r.duplicate_check_time_seconds)],
        ['insert', seconds(r.insert_time_seconds)],
        ['created', formatAbsoluteTime(r.created_at)],
        ['updated', formatAbsoluteTime(r.updated_at)],
      ],
    ],
    [
      'mapping',
      [
        ['status', shown(r.mapping_status)],
        ['errors', formatCount(r.mapping_errors_count)],
        ['duration', seconds(r.mapping_duration_seconds)],
        ['config', r.mapping_config === null || r.mapping_config === undefined ? null : shownJson(r.mapping_config)],
      ],
    ],
    ['context', [['analysis id', shown(r.analysis_id)], ['task id', shown(r.task_id)], ['metadata', Object.keys(r.metadata).length ? shownJson(r.metadata) : null]]],
  ];
  const next: string[] = [];
  if ((r.mapping_errors_count ?? 0) > 0) next.push(`atlas errors ${r.import_id.slice(0, 8)}`);
  if (r.status === 'success' || r.status === 'partial') next.push(`atlas lineage ${printable(r.table_name)}`);
  // An import whose previous versions history compact dropped, having updated or deleted rows, cannot be undone: not offered.
  const undoable = r.preimages_pruned_at === null || ((r.rows_updated ?? 0) === 0 && (r.rows_deleted ?? 0) === 0);
  if ((r.status === 'success' || r.status === 'partial') && undoable) next.push(`atlas undo ${r.import_id.slice(0, 8)} --dry-run`);
  return renderDetail(groups, c) + (next.length ? c.dim(`\nnext: ${next.join('  |  ')}\n`) : '');
}
