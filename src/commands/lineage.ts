import type { Command } from 'commander';
import { traceLineage, traceRow, type RowLineage, type TableLineage } from '../core/lineage.js';
import { tableNamed } from '../core/tableName.js';
import { cellWriter, colorFor, colorStatus, databaseNotice, type DetailGroup, formatAbsoluteTime, formatCount, formatRelativeTime, formatTime, globalOptions, newTable, printable, printableOrNull, printJson, renderDetail, settingsFor, shortIds } from './shared.js';
import type { LineageFlags } from './lineageFlags.js';


export async function runLineageCommand(given: string, flags: LineageFlags, cmd: Command): Promise<void> {
  const settings = settingsFor(cmd);
  const table = tableNamed(given, settings, 'the table');
  const g = globalOptions(cmd);
  const c = colorFor(cmd);
  if (flags.row !== undefined) {
    const row = await traceRow(settings, table, flags.row, { onDatabase: databaseNotice(cmd) });
    if (g.json) printJson({ success: true, ...row });
    else process.stdout.write(renderRow(row, c));
    return;
  }
  const lineage = await traceLineage(settings, table, { onDatabase: databaseNotice(cmd) });
  if (g.json) {
    printJson({ success: true, ...lineage });
    return;
  }
  process.stdout.write(renderLineage(lineage, c));
}

function renderLineage(l: TableLineage, c: ReturnType<typeof colorFor>): string {
  const table = printable(l.table_name);
  const now = `${table} holds ${formatCount(l.rows_now_in_table)} row(s) now`;
  if (l.imports.length === 0) return `no import into ${table} succeeded or was partial (undone and failed ones contributed nothing); ${now}\n`;
  const cell = cellWriter();
  const t = newTable(['import id', 'when', 'file', 'status', 'inserted', 'rows now'], c);
  let anyChanged = false;
  const shortId = shortIds(l.imports.map((i) => i.import_id));
  for (const i of l.imports) {
    // Rows changed outside atlas (atlas's own upserts, replaces and --reassign are accounted for):
    // said in words beside the colour, which a pipe or --no-color does not show.
    const changed = i.rows_inserted !== null && i.rows_now !== i.rows_expected_now;
    anyChanged ||= changed;
    t.push([
      shortId(i.import_id),
      `${formatAbsoluteTime(i.import_timestamp).slice(0, 16)} ${c.dim(formatRelativeTime(i.import_timestamp))}`,
      cell(i.file_name ?? '(stdin)', 32),
      colorStatus(c, i.status),
      { hAlign: 'right', content: formatCount(i.rows_inserted) },
      { hAlign: 'right', content: changed ? c.yellow(`${formatCount(i.rows_now)} (${formatCount(i.rows_expected_now)} expected)`) : formatCount(i.rows_now) },
    ]);
  }
  const note = anyChanged ? `${c.yellow("(N expected): the rows atlas's own imports would leave it; the rows now differ, changed outside atlas (or by an import whose previous versions history compact dropped)")}\n` : '';
  return `${t.toString()}\n${note}${formatCount(l.total_imports)} import(s) succeeded or were partial into ${table}, inserting ${formatCount(l.total_rows_contributed)} row(s); ${now}\n`;
}

/** The row's versions, oldest first: who wrote each, what it held, who changed it. */
function renderVersions(r: RowLineage): DetailGroup {
  return [
    'versions',
    r.versions.map((v, i) => {
      const values = Object.entries(v.values).map(([k, x]) => `${k}=${x === null ? 'NULL' : typeof x === 'string' ? x : JSON.stringify(x)}`).join(', ');
      const by = v.changed_by === null ? 'now' : `then ${v.change ?? 'updated'} by ${v.changed_by}`;
      return [`${i + 1}`, printable(`import ${v.import_id ?? '?'} (${v.file_name ?? 'stdin'}, ${v.import_timestamp === null ? '?' : formatAbsoluteTime(v.import_timestamp)}), row ${v.source_row_number ?? '?'}: ${values}; ${by}`)];
    }),
  ];
}

function renderRow(r: RowLineage, c: ReturnType<typeof colorFor>): string {
  const corrections = Object.entries(r.corrections_applied ?? {}).map(([column, fix]) => {
    const f = fix as { before?: unknown; after?: unknown; correction_type?: unknown };
    return printable(`${column}: ${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)} (${String(f.correction_type ?? 'correction')})`);
  });
  return renderDetail(
    [
      ['row', [['table', printable(r.table_name)], ['row id', r.row_id], ['imported at', formatTime(r.imported_at)], ['deleted', r.deleted_by === null ? null : c.yellow(`by import ${r.deleted_by} (a replace; its last version below, kept to be put back by undo)`)], ['earlier versions', r.earlier_versions_dropped === null ? null : c.yellow(`may have been dropped: import ${r.earlier_versions_dropped.import_id} updated rows, and history compact dropped their previous versions at ${formatTime(r.earlier_versions_dropped.preimages_pruned_at)}`)]]],
      [
        'came from',
        [
          ['import id', r.import_id],
          ['status', colorStatus(c, r.import_record.status)],
          ['when', formatTime(r.import_timestamp)],
          ['user', printableOrNull(r.import_record.user_id)],
          ['file', r.file_name === null ? '(stdin)' : printable(r.file_name)],
          ['path', printableOrNull(r.import_record.source_path)],
          ['sha-256', printableOrNull(r.import_record.file_hash)],
          ['source row', r.source_row_number === null ? null : `${formatCount(r.source_row_number)} (${r.source_row_meaning})`],
        ],
      ],
      ['corrections', corrections.length ? [['applied', corrections.join('\n')]] : [['applied', 'none: every value is stored as it was in the file']]],
      ['values', Object.entries(r.values).map(([k, v]) => [printable(k), v === null ? 'NULL' : printable(typeof v === 'string' ? v : JSON.stringify(v))])],
      ...(r.versions.length > 1 || r.deleted_by !== null ? [renderVersions(r)] : []),
    ],
    c,
  );
}
