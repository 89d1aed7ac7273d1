import type { Command } from 'commander';
import { listImportErrors, listSkippedDuplicates } from '../core/importErrors.js';
import { UsageError } from '../errors.js';
import { colorFor, databaseNotice, describePage, formatCount, globalOptions, newTable, parseWholeNumber, printable, printJson, settingsFor, cellWriter } from './shared.js';
import type { ErrorsFlags } from './errorsFlags.js';


export async function runErrorsCommand(importId: string, flags: ErrorsFlags, cmd: Command): Promise<void> {
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  const c = colorFor(cmd);
  const cell = cellWriter();
  const limit = parseWholeNumber('--limit', flags.limit);
  const offset = parseWholeNumber('--offset', flags.offset);

  if (flags.duplicates) {
    if (flags.type !== undefined || flags.field !== undefined) throw new UsageError('--type and --field filter mapping errors; they do not apply to --duplicates');
    const page = await listSkippedDuplicates(settings, importId, { limit, offset, onDatabase: databaseNotice(cmd) });
    if (g.json) {
      printJson({ success: true, ...page });
      return;
    }
    if (page.total_count === 0) {
      const found = page.duplicates_found ?? 0;
      // A failed import's transaction took its kept duplicates with it; its record still counts them.
      const why = page.status === 'failed' ? 'a failed import keeps none to list' : 'none is kept to list';
      if (found > 0) process.stdout.write(`import ${page.import_id} ${page.status === 'failed' ? 'failed' : `(${page.status})`}: its record counts ${formatCount(found)} duplicate row(s) (duplicates_found), but ${why}\n`);
      else process.stdout.write(`import ${page.import_id} skipped no duplicate rows\n`);
      return;
    }
    if (page.duplicates.length === 0) {
      process.stdout.write(`${describePage('duplicate rows', page, 0)}\n`);
      return;
    }
    const t = newTable(['record', 'equals', 'values'], c);
    for (const d of page.duplicates) {
      const equals = d.matched_row_id !== null ? `row id ${d.matched_row_id}` : d.matched_record_number !== null ? `record ${d.matched_record_number} of the file` : '-';
      t.push([{ hAlign: 'right', content: formatCount(d.record_number) }, equals, cell(JSON.stringify(d.record), 70)]);
    }
    process.stdout.write(`${t.toString()}\n${c.dim(describePage('duplicate rows', page, page.duplicates.length))}\n`);
    return;
  }

  const page = await listImportErrors(settings, importId, { type: flags.type ?? null, field: flags.field ?? null, limit, offset, onDatabase: databaseNotice(cmd) });
  if (g.json) {
    printJson({ success: true, ...page });
    return;
  }
  if (page.total_count === 0) {
    const filtered = flags.type !== undefined || flags.field !== undefined;
    process.stdout.write(filtered ? `no mapping errors of import ${page.import_id} match these filters\n` : `import ${page.import_id} has no mapping errors\n`);
    return;
  }
  if (page.errors.length === 0) {
    process.stdout.write(`${describePage('mapping errors', page, 0)}\n`);
    return;
  }
  const t = newTable(['record', 'field', 'type', 'value', 'message'], c);
  for (const e of page.errors) {
    const field = e.source_field === null ? '-' : e.target_field && e.target_field !== e.source_field ? `${e.source_field} -> ${e.target_field}` : e.source_field;
    t.push([
      { hAlign: 'right', content: formatCount(e.record_number) },
      cell(field, 24),
      printable(e.error_type ?? '-'),
      e.source_value === null ? c.dim('-') : cell(JSON.stringify(e.source_value), 24),
      cell(e.error_message, 60),
    ]);
  }
  process.stdout.write(`${t.toString()}\n${c.dim(describePage('mapping errors', page, page.errors.length))}\n`);
}
