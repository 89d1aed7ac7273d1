/**
 * What is known of an import while it runs. A failed import's record keeps all of it: how far the
 * reading came (and the file's hash once every byte was read), the rows read, the phase it failed
 * in and the time of each phase so far, the duplicates and mapping errors found, the plan.
 */
import type { Settings } from '../config.js';
import type { DatabaseTarget } from '../db/connection.js';
import type { FailureFacts, NewImport } from '../db/history.js';
import type { FileFormat } from '../formats/shared/index.js';
import type { HashingReader, OpenedSource } from '../sources/source.js';
import type { ImportOptions, ImportPhase } from './importTypes.js';
import { msToSeconds } from './importTypes.js';

/** import_history.file_type of an input format: the spec's names (csv, excel, json, xml). */
export function fileTypeOf(format: FileFormat): string {
  return format === 'tsv' ? 'csv' : format === 'ndjson' ? 'json' : format === 'xlsx' ? 'excel' : format;
}

/** The timing column each timed phase fills. */
const PHASE_COLUMN: Partial<Record<ImportPhase, 'parsingSeconds' | 'duplicateCheckSeconds' | 'insertSeconds'>> = {
  staging: 'parsingSeconds',
  'checking duplicates': 'duplicateCheckSeconds',
  inserting: 'insertSeconds',
};

export class ImportTrace {
  phase: ImportPhase = 'reading';
  private phaseStartedAt: number;
  /** Seconds spent reaching the embedded server (starting it, or waiting for another process to): not the import's time. */
  serverSeconds = 0;
  /** The input's bytes, once opened; the format, once detected; the size known before reading. */
  reader: HashingReader | null = null;
  format: FileFormat | null = null;
  sizeBytes: number | null = null;
  /** Rows the reader handed to staging so far (whole batches: rows of the batch a reader failed in are not among them). */
  rowsRead = 0;
  /** Set when every row was staged. */
  totalRows: number | null = null;
  parsingSeconds: number | null = null;
  duplicateCheckSeconds: number | null = null;
  insertSeconds: number | null = null;
  duplicatesFound: number | null = null;
  validationErrors: number | null = null;
  strategy: string | null = null;
  mappingConfig: unknown = null;
  warnings: string[] | null = null;

  /** `startedAt`: performance.now() when the import began. */
  constructor(readonly startedAt: number) {
    this.phaseStartedAt = startedAt;
  }

  enter(phase: ImportPhase): void {
    this.phase = phase;
    this.phaseStartedAt = performance.now();
  }

  /** The import's duration so far: since it began, less the time spent reaching the embedded server. */
  durationSeconds(): number {
    return msToSeconds(performance.now() - this.startedAt - this.serverSeconds * 1000);
  }

  /** Passes a reader's batches through, counting their rows. */
  countRows<T extends { length: number }>(batches: AsyncIterable<T>): AsyncIterable<T> {
    const trace = this;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const batch of batches) {
          trace.rowsRead += batch.length;
          yield batch;
        }
      },
    };
  }

  /** Every byte was read: the source ended, or as many bytes came as it said it had. */
  private allBytesRead(): boolean {
    const r = this.reader;
    return r !== null && (r.ended || (this.sizeBytes !== null && r.bytes === this.sizeBytes));
  }

  /** Everything known now, for the failed record; the phase it failed in gets its time so far. */
  failure(): { facts: FailureFacts; metadata: Record<string, unknown> } {
    const column = PHASE_COLUMN[this.phase];
    if (column !== undefined && this[column] === null) this[column] = msToSeconds(performance.now() - this.phaseStartedAt);
    const complete = this.allBytesRead();
    const metadata: Record<string, unknown> = { failed_phase: this.phase };
    if (this.reader !== null && !complete) metadata.bytes_read = this.reader.bytes;
    return {
      metadata,
      facts: {
        fileHash: complete ? this.reader!.digest() : null,
        fileSizeBytes: complete ? this.reader!.bytes : null,
        fileType: this.format === null ? null : fileTypeOf(this.format),
        totalRowsInFile: this.totalRows,
        rowsProcessed: this.rowsRead,
        duplicatesFound: this.duplicatesFound,
        validationErrors: this.validationErrors,
        parsingTimeSeconds: this.parsingSeconds,
        duplicateCheckTimeSeconds: this.duplicateCheckSeconds,
        insertTimeSeconds: this.insertSeconds,
        importStrategy: this.strategy,
        mappingConfig: this.mappingConfig,
        warnings: this.warnings,
      },
    };
  }
}

/** The options as the caller gave them (those left at their defaults left out): metadata.options of every import. */
export function givenOptions(o: ImportOptions): Record<string, unknown> {
  const given: Record<string, unknown> = {
    table: o.table,
    format: o.format,
    strategy: o.strategy,
    mapping: o.mappingFile,
    max_errors: o.maxErrors,
    strict: o.strict === true ? true : null,
    dedupe: o.dedupe === false ? false : null,
    key: o.key,
    allow_same_file: o.allowSameFile === true ? true : null,
    force: o.force === true ? true : null,
    delimiter: o.delimiter,
    comment: o.comment,
    fill_short_rows: o.fillShortRows === true ? true : null,
    skip_lines: (o.skipLines ?? 0) > 0 ? o.skipLines : null,
    header: o.header === false ? false : null,
    encoding: o.encoding,
    sheet: o.sheet,
    header_row: o.headerRow,
    range: o.range,
    entry: o.entry,
    record_path: o.recordPath,
    name: o.name,
  };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null && v !== undefined));
}

/**
 * The in_progress record of an import: who and what ran it (user, email, task and CI system),
 * the source, the options as given, and the time spent reaching the embedded server.
 */
export function newImportRecord(
  settings: Settings,
  options: ImportOptions,
  r: { importId: string; opened: OpenedSource; tableName: string; fileType: string | null; target: DatabaseTarget; metadata: Record<string, unknown> },
): NewImport {
  const server = r.target.embedded;
  return {
    importId: r.importId,
    userId: settings.user,
    userEmail: settings.userEmail,
    taskId: settings.task?.id ?? null,
    sourceType: r.opened.sourceType,
    sourcePath: r.opened.sourcePath,
    fileName: r.opened.fileName,
    fileSizeBytes: r.opened.sizeBytes,
    fileType: r.fileType,
    tableName: r.tableName,
    duplicateCheckEnabled: options.dedupe !== false && !options.force,
    metadata: {
      ...r.opened.metadata,
      ...r.metadata,
      options: givenOptions(options),
      ...(settings.task ? { task_ref: settings.task.ref, task_source: settings.task.source } : {}),
      ...(settings.ci !== null ? { ci: settings.ci } : {}),
      ...(server ? { embedded_server_seconds: server.seconds, embedded_server_started: server.started } : {}),
    },
  };
}
