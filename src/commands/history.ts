import Table from 'cli-table3';
import type { Command } from 'commander';
import { getImport, listHistory, type ImportRecord } from '../core/history.js';
import { UsageError } from '../errors.js';
import { colorFor, colorStatus, databaseNotice, formatCount, formatDuration, globalOptions, printJson, settingsFor } from './shared.js';

interface HistoryFlags {
  table?: string;
  user?: string;
  status?: string;
  since?: string;
  limit: string;
  offset: string;
}

function parseIntFlag(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a whole number, not "${value}"`);
  return Number(value);
}

function parseSince(value: string | undefined): Date | null {
  if (value === undefined) return null;
  const rel = /^(\d+)([dhm])$/.exec(value);
  if (rel) {
    const unit = rel[2] === 'd' ? 86_400_000 : rel[2] === 'h' ? 3_600_000 : 60_000;
    return new Date(Date.now() - Number(rel[1]) * unit);
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since must be a date (2025-01-31) or an age (7d, 12h), not "${value}"`);
  return d;
}

export async function runHistoryCommand(importId: string | undefined, flags: HistoryFlags, cmd: Command): Promise<void> {
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  const c = colorFor(cmd);
  if (importId !== undefined) {
    const record = await getImport(settings, importId, databaseNotice(cmd));
    if (g.json) printJson({ success: true, import_record: record });
    else process.stdout.write(renderRecord(record, c));
    return;
  }
  const result = await listHistory(
    settings,
    {
      table: flags.table ?? null,
      user: flags.user ?? null,
      status: flags.status ?? null,
      since: parseSince(flags.since),
      limit: parseIntFlag('--limit', flags.limit),
      offset: parseIntFlag('--offset', flags.offset),
    },
    databaseNotice(cmd),
  );
  if (g.json) {
    printJson({ success: true, ...result });
    return;
  }
  if (result.imports.length === 0) {
    process.stdout.write(result.total_count === 0 ? 'No imports yet. Start with: atlas import FILE\n' : `No imports on this page (${result.total_count} in all).\n`);
    return;
  }
  const table = new Table({ head: ['import id', 'when', 'file', 'table', 'status', 'rows', 'time'], style: { head: [], border: [] } });
  for (const r of result.imports) {
    table.push([
      r.import_id.slice(0, 8),
      r.import_timestamp.replace('T', ' ').slice(0, 19),
      truncate(r.file_name ?? '(stdin)', 30),
      truncate(r.table_name, 30),
      colorStatus(c, r.status),
      { hAlign: 'right', content: formatCount(r.rows_inserted) },
      { hAlign: 'right', content: formatDuration(r.duration_seconds) },
    ]);
  }
  const shown = `${result.offset + 1}-${result.offset + result.imports.length} of ${result.total_count}`;
  process.stdout.write(`${table.toString()}\n${c.dim(`showing ${shown} imports, newest first`)}\n`);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function renderRecord(r: ImportRecord, c: ReturnType<typeof colorFor>): string {
  const groups: Array<[string, Array<[string, unknown]>]> = [
    ['import', [['import id', r.import_id], ['when', r.import_timestamp], ['user', r.user_id]]],
    ['source', [['type', r.source_type], ['path', r.source_path], ['file', r.file_name], ['size (bytes)', formatCount(r.file_size_bytes)], ['format', r.file_type], ['sha-256', r.file_hash]]],
    ['destination', [['table', r.table_name], ['strategy', r.import_strategy]]],
    ['outcome', [['status', colorStatus(c, r.status)], ['error', r.error_message], ['warnings', r.warnings.length ? r.warnings.join('\n') : null], ['undone at', r.undone_at], ['undone by', r.undone_by], ['rows removed', r.rows_removed]]],
    ['statistics', [['rows in file', formatCount(r.total_rows_in_file)], ['processed', formatCount(r.rows_processed)], ['inserted', formatCount(r.rows_inserted)], ['skipped', formatCount(r.rows_skipped)], ['duplicates', formatCount(r.duplicates_found)], ['validation errors', formatCount(r.validation_errors)]]],
    ['timings', [['total', formatDuration(r.duration_seconds)], ['parsing', formatDuration(r.parsing_time_seconds)], ['duplicate check', formatDuration(r.duplicate_check_time_seconds)], ['insert', formatDuration(r.insert_time_seconds)]]],
    ['mapping', [['status', r.mapping_status], ['errors', formatCount(r.mapping_errors_count)], ['duration', formatDuration(r.mapping_duration_seconds)], ['config', JSON.stringify(r.mapping_config, null, 2)]]],
  ];
  const out: string[] = [];
  for (const [title, fields] of groups) {
    out.push(c.bold(title));
    for (const [k, v] of fields) {
      if (v === null || v === undefined || v === '-') continue;
      const text = String(v).split('\n').join(`\n${' '.repeat(20)}`);
      out.push(`  ${k.padEnd(18)}${text}`);
    }
  }
  return `${out.join('\n')}\n`;
}
