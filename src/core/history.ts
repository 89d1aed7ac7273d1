import type { Settings } from '../config.js';
import { findImports, listImports, type HistoryFilter, type ImportRecord } from '../db/history.js';
import { NotFoundError, UsageError } from '../errors.js';
import { withDatabase, type DatabaseListener } from './database.js';

export type { HistoryFilter, ImportRecord };

/** `atlas history`: records newest first, with the total count of matching records. */
export async function listHistory(
  settings: Settings,
  filter: HistoryFilter,
  onDatabase?: DatabaseListener,
): Promise<{ imports: ImportRecord[]; total_count: number; limit: number; offset: number }> {
  if (!Number.isInteger(filter.limit) || filter.limit < 1) throw new UsageError('--limit must be a positive integer');
  if (!Number.isInteger(filter.offset) || filter.offset < 0) throw new UsageError('--offset must be zero or a positive integer');
  return withDatabase(settings, onDatabase, async (client) => {
    const { rows, total } = await listImports(client, settings.schema, filter);
    return { imports: rows, total_count: total, limit: filter.limit, offset: filter.offset };
  });
}

const ID_PREFIX_RE = /^[0-9a-f-]{8,36}$/i;

/** One record by id or unambiguous prefix (8+ characters). */
export async function getImport(settings: Settings, idOrPrefix: string, onDatabase?: DatabaseListener): Promise<ImportRecord> {
  if (!ID_PREFIX_RE.test(idOrPrefix)) {
    throw new UsageError(`"${idOrPrefix}" is not an import id (give the full id or at least its first 8 characters)`);
  }
  return withDatabase(settings, onDatabase, async (client) => {
    const found = await findImports(client, settings.schema, idOrPrefix);
    if (found.length === 0) throw new NotFoundError(`no import with id ${idOrPrefix}`, { hint: 'list imports with `atlas history`' });
    if (found.length > 1) throw new UsageError(`import id prefix ${idOrPrefix} is ambiguous`, { hint: 'give more characters of the id' });
    return found[0]!;
  });
}
