/**
 * atlas as a library: the same use cases the CLI runs, returning data instead of printing.
 * Every function takes fully resolved Settings (see resolveSettings) and throws the errors of
 * ./errors.js (each carries the CLI's exit code and a hint).
 */
export { resolveSettings, type Settings } from './config.js';
export { AlreadyImportedError, AtlasError, CancelledError, DatabaseError, ExitCode, ImportFailedError, NotFoundError, UsageError } from './errors.js';
export { dryRunImport, importFile, type DryRunResult, type ImportOptions, type ImportPhase, type ImportProgress, type ImportResult } from './core/import.js';
export { getImport, listHistory, pruneHistory, type HistoryFilter, type HistoryPage, type ImportRecord, type PruneOptions, type PruneResult } from './core/history.js';
export { getStats, type ImportStatistics, type StatsOptions } from './core/stats.js';
export { traceLineage, traceRow, type LineageImport, type RowLineage, type TableLineage } from './core/lineage.js';
export { listImportErrors, listSkippedDuplicates, type DuplicatesPage, type ImportErrorsOptions, type ImportErrorsPage, type MappingError } from './core/importErrors.js';
export { undoImport, type UndoOptions, type UndoResult } from './core/undo.js';
export { compactHistory, type CompactOptions, type CompactResult } from './core/compact.js';
export type { ImportMode } from './core/upsert.js';
export type { RowVersion } from './core/lineage.js';
