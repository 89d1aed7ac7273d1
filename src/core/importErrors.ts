/** `atlas errors`: the mapping errors of one import (and the rows it skipped as duplicates). */
import type { Settings } from '../config.js';
import { IMPORT_DUPLICATES_TABLE, listImportDuplicates, type DuplicateRow } from '../db/importDuplicates.js';
import { listMappingErrors, type MappingError } from '../db/mappingErrors.js';
import { AtlasError } from '../errors.js';
import { withExistingSchema, type DatabaseListener } from './database.js';
import { checkImportId, checkPage, noImportWithId, resolveImport } from './history.js';

export type { DuplicateRow, MappingError };

/** Which errors to list. */
export interface ImportErrorsOptions {
  /** Only this error_type (type_mismatch, datetime_conversion, numeric_overflow, field_count_mismatch, ...). @default null */
  type: string | null;
  /** Only errors in this source or target field. @default null */
  field: string | null;
  /** @default 100 */
  limit: number;
  /** @default 0 */
  offset: number;
  onDatabase?: DatabaseListener | undefined;
}

/** The spec's mapping-errors shape, with the full import id the prefix resolved to. */
export interface ImportErrorsPage {
  import_id: string;
  errors: MappingError[];
  total_count: number;
  limit: number;
  offset: number;
}

/** One page of an import's mapping errors, in file order. */
export async function listImportErrors(settings: Settings, idOrPrefix: string, options: ImportErrorsOptions): Promise<ImportErrorsPage> {
  checkImportId(idOrPrefix);
  checkPage(options.limit, options.offset);
  const none = (): Promise<never> => Promise.reject(noImportWithId(idOrPrefix));
  return withExistingSchema(settings, options, async (client) => {
    const record = await resolveImport(client, settings.schema, idOrPrefix);
    const { rows, total } = await listMappingErrors(client, settings.schema, {
      importId: record.import_id,
      type: options.type,
      field: options.field,
      limit: options.limit,
      offset: options.offset,
    });
    return { import_id: record.import_id, errors: rows, total_count: total, limit: options.limit, offset: options.offset };
  }, none);
}

/** One page of the rows an import skipped as duplicates. */
export interface DuplicatesPage {
  import_id: string;
  /** The import's status: a failed one's duplicates are counted in `duplicates_found`, not kept. */
  status: string;
  /** The duplicates its record counts; null when the check did not run. */
  duplicates_found: number | null;
  duplicates: DuplicateRow[];
  total_count: number;
  limit: number;
  offset: number;
}

/**
 * The rows an import skipped as duplicates, in file order. In a schema without the
 * import_duplicates table (not migrated yet), an import that found none gets an empty, exact
 * answer, and one that found some gets an error rather than a misleading empty list.
 */
export async function listSkippedDuplicates(settings: Settings, idOrPrefix: string, options: Pick<ImportErrorsOptions, 'limit' | 'offset' | 'onDatabase'>): Promise<DuplicatesPage> {
  checkImportId(idOrPrefix);
  checkPage(options.limit, options.offset);
  const none = (): Promise<never> => Promise.reject(noImportWithId(idOrPrefix));
  return withExistingSchema(settings, options, async (client) => {
    const record = await resolveImport(client, settings.schema, idOrPrefix);
    const page = await listImportDuplicates(client, settings.schema, record.import_id, options.limit, options.offset);
    const of = { import_id: record.import_id, status: record.status, duplicates_found: record.duplicates_found };
    if (page === null) {
      if ((record.duplicates_found ?? 0) > 0) {
        throw new AtlasError(`import ${record.import_id} found ${record.duplicates_found} duplicate(s), but this schema has no ${IMPORT_DUPLICATES_TABLE} table to list them from`);
      }
      return { ...of, duplicates: [], total_count: 0, limit: options.limit, offset: options.offset };
    }
    return { ...of, duplicates: page.rows, total_count: page.total, limit: options.limit, offset: options.offset };
  }, none);
}
