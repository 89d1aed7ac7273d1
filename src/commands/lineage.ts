import type { Command } from 'commander';
import { traceLineage, traceRow, type RowLineage, type TableLineage } from '../core/lineage.js';
import { colorFor, colorStatus, databaseNotice, formatAbsoluteTime, formatCount, formatRelativeTime, formatTime, globalOptions, newTable, printJson, renderDetail, settingsFor, cellWriter } from './shared.js';

interface LineageFlags {
  row?: string;
}

export async function runLineageCommand(table: string, flags: LineageFlags, cmd: Command): Promise<void> {
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  const c = colorFor(cmd);
  if (flags.row !== undefined) {
    const row = await traceRow(settings, table, flags.row, databaseNotice(cmd));
    if (g.json) printJson({ success: true, ...row });
    else process.stdout.write(renderRow(row, c));
    return;
  }
  const lineage = await traceLineage(settings, table, databaseNotice(cmd));
  if (g.json) {
    printJson({ success: true, ...lineage });
    return;
  }
  process.stdout.write(renderLineage(lineage, c));
}

function renderLineage(l: TableLineage, c: ReturnType<typeof colorFor>): string {
  if (l.imports.length === 0) return `${l.table_name} holds no rows from any import\n`;
  const t = newTable(['import id', 'when', 'file', 'status', 'rows now', 'inserted then'], c);
  for (const i of l.imports) {
    const changed = i.rows_inserted !== null && i.rows_contributed !== i.rows_inserted;
    t.push([
      i.import_id.slice(0, 8),
      `${formatAbsoluteTime(i.import_timestamp).slice(0, 16)} ${c.dim(formatRelativeTime(i.import_timestamp))}`,
      cellWriter()(i.file_name ?? '(stdin)', 32),
      colorStatus(c, i.status),
      { hAlign: 'right', content: changed ? c.yellow(formatCount(i.rows_contributed)) : formatCount(i.rows_contributed) },
      { hAlign: 'right', content: formatCount(i.rows_inserted) },
    ]);
  }
  return `${t.toString()}\n${formatCount(l.total_imports)} import(s) contributed the ${formatCount(l.total_rows_contributed)} row(s) now in ${l.table_name}\n`;
}

function renderRow(r: RowLineage, c: ReturnType<typeof colorFor>): string {
  const corrections = Object.entries(r.corrections_applied ?? {}).map(([column, fix]) => {
    const f = fix as { before?: unknown; after?: unknown; correction_type?: unknown };
    return `${column}: ${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)} (${String(f.correction_type ?? 'correction')})`;
  });
  return renderDetail(
    [
      ['row', [['table', r.table_name], ['row id', r.row_id], ['imported at', formatTime(r.imported_at)]]],
      [
        'came from',
        [
          ['import id', r.import_id],
          ['status', colorStatus(c, r.import_record.status)],
          ['when', formatTime(r.import_timestamp)],
          ['user', r.import_record.user_id],
          ['file', r.file_name ?? '(stdin)'],
          ['path', r.import_record.source_path],
          ['sha-256', r.import_record.file_hash],
          ['source row', r.source_row_number === null ? null : `${formatCount(r.source_row_number)} (data record number, 1 = first after the header)`],
        ],
      ],
      ['corrections', corrections.length ? [['applied', corrections.join('\n')]] : [['applied', 'none: every value is stored as it was in the file']]],
      ['values', Object.entries(r.values).map(([k, v]) => [k, v === null ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v)])],
    ],
    c,
  );
}
