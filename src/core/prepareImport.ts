/** Everything about an import that can be checked before the database is touched: flags, the mapping file, the input's header, the key. */
import { randomUUID } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { Settings } from '../config.js';
import { insertInProgress, markFailed } from '../db/history.js';
import { AtlasError, describeError, ImportFailedError, UsageError } from '../errors.js';
import { baseFileName, isKnownEncoding, tableNameFromFileName, type FileFormat } from '../formats/shared/index.js';
import type { NullValuesOf } from '../db/staging/index.js';
import { checkNullValues, mappingColumnsProblem, parseErrorBudget, validateMapping, type ErrorBudget, type Mapping } from '../transform/mapping.js';
import { columnNamesFromHeader, mappingKeysOf, MAX_IDENTIFIER_BYTES, sanitizeIdentifier, truncateUtf8 } from '../transform/naming.js';
import { parseSheetRange } from '../formats/xlsx/index.js';
import type { Client, DatabaseTarget } from '../db/connection.js';
import { withDatabase } from './database.js';
import { tableNamed } from './tableName.js';
import type { ImportSession } from './importSession.js';
import { openSource, readInput, type InputOptions, type OpenedInput } from './input.js';
import { readJsonFile } from '../sources/jsonFile.js';
import type { OpenedSource } from '../sources/source.js';
import type { RunOptions } from './importTypes.js';
import { fileTypeOf, newImportRecord, type ImportTrace } from './importTrace.js';
import { recordModeStarted } from './upsert.js';

export interface Prepared {
  input: OpenedInput;
  tableName: string;
  mapping: Mapping;
  budget: ErrorBudget;
  /** Uniqueness columns as the user named them, or null for all. */
  key: string[] | null;
  /** Each source column's null values. */
  nullValuesOf: NullValuesOf;
}

/**
 * A mapping file larger than this is refused: the stored mapping of any import fits (1594 columns
 * of 255-character source names take about 600 KB), and reading a device whole would exhaust memory.
 */
export const MAX_MAPPING_FILE_BYTES = 4 * 1024 * 1024;

/** The mapping file, checked; its "table" as the table's own name (tableNamed: `public.orders` is orders, `"a.b"` is a.b). */
function readMappingFile(path: string, settings: Pick<Settings, 'schema' | 'schemaSource'>): Mapping {
  const parsed = readJsonFile(path, 'mapping file', MAX_MAPPING_FILE_BYTES);
  const { mapping, problems } = validateMapping(parsed);
  if (problems.length > 0) throw new UsageError(`mapping file ${path}: ${problems.join('; ')}`);
  return mapping.table === undefined ? mapping : { ...mapping, table: tableNamed(mapping.table, settings, `mapping file ${path}: "table"`) };
}

/** Everything that can be checked before the database is touched. `trace` learns the input as it is opened. */
export async function prepare(settings: Settings, options: RunOptions, trace: ImportTrace, session: ImportSession | null = null): Promise<Prepared> {
  if (options.delimiter != null && [...options.delimiter].length !== 1) throw new UsageError('--delimiter must be one character');
  if (options.skipLines !== undefined && !(Number.isSafeInteger(options.skipLines) && options.skipLines >= 0)) throw new UsageError('--skip-lines must be a number of lines (0 or more)');
  if (options.comment != null && (options.comment.length !== 1 || /["\r\n]/.test(options.comment) || options.comment === options.delimiter)) {
    throw new UsageError('--comment must be one character, not a quote, a line end or the delimiter', { hint: 'e.g. --comment "#"' });
  }
  if (options.encoding != null && !isKnownEncoding(options.encoding)) {
    throw new UsageError(`--encoding ${options.encoding} is not an encoding atlas knows`, { hint: 'use utf8, utf16le, utf16be or latin1 (windows-1252)' });
  }
  // Library callers too (the CLI checks --key as it parses it): an empty key makes every row a duplicate of every other.
  if (options.key != null && (options.key.length === 0 || options.key.some((k) => k.trim() === ''))) throw new UsageError('the key must name at least one column, none of them blank');
  let budget: ErrorBudget = null;
  if (options.strict) budget = { kind: 'count', value: 0 };
  else if (options.maxErrors != null) {
    const parsed = parseErrorBudget(options.maxErrors);
    if (typeof parsed === 'string') throw new UsageError(parsed);
    budget = parsed;
  }
  if (options.range != null) {
    parseSheetRange(options.range); // a usage error now, before anything is read
    if (options.headerRow != null) throw new UsageError('--range and --header-row cannot be used together: the first row of the range is the header', { hint: 'start the range at the header row (--range A5:F15), or pass --no-header when it has none' });
  }
  const mapping = options.mappingFile ? readMappingFile(options.mappingFile, settings) : {};
  const nullValues = resolveNullValues(options.nullValues ?? null, settings.nullValues, mapping);
  if (options.table != null) {
    if (options.table.trim() === '') throw new UsageError('--table must not be empty');
    if (Buffer.byteLength(options.table, 'utf8') > MAX_IDENTIFIER_BYTES) {
      throw new UsageError(`table name "${truncateUtf8(options.table, 40)}..." is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit`);
    }
  }
  const inputOptions: InputOptions = {
    source: options.source,
    format: (options.format ?? null) as FileFormat | null,
    delimiter: options.delimiter ?? null,
    comment: options.comment ?? null,
    fillShortRows: options.fillShortRows === true,
    skipLines: options.skipLines ?? 0,
    header: options.header ?? true,
    encoding: options.encoding ?? null,
    name: options.name ?? null,
    sheet: options.sheet ?? null,
    headerRow: options.headerRow ?? null,
    recordPath: options.recordPath ?? null,
    range: options.range ?? null,
    entry: options.entry ?? null,
    table: options.table ?? mapping.table ?? null,
    nullValues: nullValues.all,
    stdin: options.stdin,
  };
  let opened: OpenedSource;
  try {
    opened = await openSource(settings, inputOptions, options.signal);
  } catch (err) {
    // A file of a batch that could not be opened (removed or renamed since the listing, not
    // readable) fails as a file with its record, as one whose bytes cannot be read does.
    const named = session !== null && !options.dryRun && err instanceof UsageError && !options.source.startsWith('s3://') ? chooseTableName(options, mapping, basename(options.source), null) : null;
    if (named !== null) throw await recordUnreadable(settings, options, unopenedSource(options.source), named, err, trace, session);
    throw err;
  }
  trace.sizeBytes = opened.sizeBytes;
  // Before the input is read, a sheet is known only as it was asked for (a name or a number).
  const fallbackTable = chooseTableName(options, mapping, opened.fileName, inputOptions.sheet ?? (inputOptions.entry ? baseFileName(inputOptions.entry) : null));
  let input: OpenedInput;
  try {
    input = await readInput(opened, inputOptions, trace);
  } catch (err) {
    opened.stream.destroy();
    // The data itself is unreadable (encoding, empty, corrupt, a read error, more than V8 can
    // hold): still an import attempt worth recording. Only a usage error touches nothing.
    if (!(err instanceof UsageError) && fallbackTable !== null && !options.dryRun) {
      throw await recordUnreadable(settings, options, opened, fallbackTable, err, trace, session);
    }
    throw err;
  }
  // (A keyed table's columns are known once it is staged: stageRows checks them there.)
  if (input.table.kind === 'fixed') {
    try {
      checkMappingColumns(options.mappingFile, mapping, mappingKeysOf(input.table.header));
    } catch (err) {
      input.opened.stream.destroy();
      throw err;
    }
  }
  const key = options.key ?? mapping.key ?? null;
  if (key !== null && input.table.kind === 'fixed') {
    // A key names a column by its header text, the name atlas makes of it, or the target a mapping gives it.
    const targets = input.table.header.flatMap((h) => mapping.columns?.[h]?.target ?? []);
    const names = new Set([...input.table.header, ...columnNamesFromHeader(input.table.header), ...targets]);
    const lacking = key.filter((k) => !names.has(k));
    if (lacking.length > 0) {
      input.opened.stream.destroy();
      throw new UsageError(`key column(s) not in the file: ${lacking.join(', ')}`, { hint: `the file's columns are: ${input.table.header.join(', ')}` });
    }
  }
  const sheet = inputOptions.sheet === null ? null : sheetPart(String(input.table.details.sheet ?? inputOptions.sheet), input.table.details.sheet_position);
  const entry = inputOptions.entry == null || input.entry === null ? null : baseFileName(input.entry);
  const tableName = chooseTableName(options, mapping, input.opened.fileName, sheet ?? entry);
  if (tableName === null) {
    input.opened.stream.destroy();
    throw new UsageError('reading stdin needs --table NAME (or --name FILE, or a mapping file with "table")');
  }
  const cut = options.table == null && mapping.table === undefined && input.opened.fileName !== null ? tableNameCutNote(input.opened.fileName, sheet ?? entry, tableName) : null;
  if (cut !== null) input.notes.push(cut);
  return { input, tableName, mapping, budget, key, nullValuesOf: nullValues.of };
}

/** Refuses a mapping that names columns the file does not have. */
export function checkMappingColumns(mappingFile: string | null | undefined, mapping: Mapping, fileColumns: readonly string[]): void {
  const problem = mappingColumnsProblem(mappingFile, mapping, fileColumns);
  if (problem !== null) throw new UsageError(problem.message, { hint: problem.hint });
}

/** Each column's null values (the mapping's for that column, else --null-value's, else the config's), and all of them together, or null for none. */
function resolveNullValues(flag: string[] | null, configured: string[], mapping: Mapping): { of: NullValuesOf; all: ReadonlySet<string> | null } {
  let everywhere = configured;
  if (flag !== null) {
    const checked = checkNullValues(flag, '--null-value');
    if (typeof checked === 'string') throw new UsageError(checked, { hint: "give the text that stands for a missing value, e.g. --null-value NA --null-value '\\N'" });
    everywhere = checked;
  }
  const all = everywhere.length > 0 ? new Set(everywhere) : null;
  const own = new Map(Object.entries(mapping.columns ?? {}).flatMap(([source, spec]) => (spec.null_values === undefined ? [] : [[source, new Set(spec.null_values)] as const])));
  const every = new Set([...(all ?? []), ...[...own.values()].flatMap((set) => [...set])]);
  return { of: (source) => own.get(source) ?? all, all: every.size > 0 ? every : null };
}

/** A sheet's part of its table's name: its name, or its position where nothing of the name is left in a table name (sheets `µ`, `∂` went into the first sheet's table). */
function sheetPart(name: string, position: unknown): string {
  return sanitizeIdentifier(name) === '' && typeof position === 'number' ? `sheet ${position}` : name;
}

/**
 * The import's table: --table, else the mapping's, else the file's name plus the sheet or archive
 * entry when one was asked for (each sheet of a workbook, each file of a zip, is a table of its
 * own); null for stdin without --name.
 */
function chooseTableName(options: Pick<RunOptions, 'table'>, mapping: Mapping, fileName: string | null, part: string | null): string | null {
  const named = options.table ?? mapping.table ?? null;
  if (named !== null || fileName === null) return named;
  return tableNameFromFileName(fileName, part ?? undefined);
}

/**
 * A warning when the table name made from a file name was cut to PostgreSQL's 63 bytes: files
 * whose names differ only after the cut go into one table, which the user should hear of.
 */
function tableNameCutNote(fileName: string, part: string | null, tableName: string): string | null {
  const whole = baseFileName(fileName) + (part === null ? '' : ` ${part}`);
  if (Buffer.byteLength(sanitizeIdentifier(whole, Infinity), 'utf8') <= MAX_IDENTIFIER_BYTES) return null;
  return `the table's name, made from the file's name, was cut to PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes: ${tableName} (files whose names begin alike go into this one table; --table names another)`;
}

/**
 * The tables a batch's files go into, named before any file is read (a batch's --dry-run, a file
 * that failed before it was opened): as a single import names them, the sheet or archive entry
 * as it was asked for.
 */
export function tableNamerFor(settings: Pick<Settings, 'schema' | 'schemaSource'>, options: Pick<RunOptions, 'table' | 'mappingFile' | 'sheet' | 'entry'>): (fileName: string) => string {
  const mapping = options.mappingFile ? readMappingFile(options.mappingFile, settings) : {};
  const part = options.sheet ?? (options.entry ? baseFileName(options.entry) : null);
  return (fileName) => chooseTableName(options, mapping, fileName, part)!;
}

/** What the user is told when the failure record of an import could not be written: without it, the reason would be lost without a word. */
export function unrecordedWarning(importId: string, err: unknown, written = true): string {
  if (!written) return `no history record of import ${importId} could be written (${describeError(err)}): nothing but this message says it ran and why it failed`;
  return `the history record of import ${importId} could not be marked failed (${describeError(err)}): the record does not say why the import failed; this message does`;
}

/** A local file of a batch that could not be opened, as its failed record names it. */
function unopenedSource(source: string): OpenedSource {
  return { sourceType: 'local_upload', sourcePath: resolve(source), fileName: basename(source), sizeBytes: null, stream: Readable.from([]), metadata: {} };
}

/** Records a failed import for input that could not be read at all, with what was read of it, and returns the error to throw. */
async function recordUnreadable(settings: Settings, options: RunOptions, opened: OpenedSource, tableName: string, err: unknown, trace: ImportTrace, session: ImportSession | null): Promise<ImportFailedError> {
  const importId = randomUUID();
  const { facts, metadata } = trace.failure();
  let inserted = false;
  const write = async (client: Client, target: DatabaseTarget): Promise<void> => {
    trace.serverSeconds = target.embedded?.seconds ?? 0;
    const fileType = trace.format !== null ? fileTypeOf(trace.format) : options.format ? fileTypeOf(options.format) : null;
    await insertInProgress(client, settings.schema, newImportRecord(settings, options, { importId, opened, tableName, fileType, target, metadata: session !== null ? { batch_id: session.batchId } : {} }));
    inserted = true;
    // The mode asked for (importModeOf's checks come later, once the input is read).
    await recordModeStarted(client, settings.schema, importId, options.replaceImport != null ? 'replace_import' : (options.mode ?? 'append'));
    await markFailed(client, settings.schema, importId, describeError(err), trace.durationSeconds(), { error_class: err instanceof Error ? err.name : 'Error', ...metadata }, facts);
  };
  // In a batch, through its record connection: committed at once, even inside an atomic batch's transaction;
  // after the record of the file before it, as every file's, so records keep the batch's order.
  // A record that cannot be written (the server gone, refused) must not hide why the input was unreadable.
  const writeInTurn = async (s: ImportSession): Promise<void> => {
    await s.turn?.beforeRecord();
    await write(s.recorder, s.target);
    s.turn?.recorded();
  };
  const unrecorded = await (session !== null ? writeInTurn(session) : withDatabase(settings, options, (client, _url, target) => write(client, target))).then(
    () => null,
    (writeErr: unknown) => unrecordedWarning(importId, writeErr),
  );
  return new ImportFailedError(`import ${importId} into ${tableName} failed: ${describeError(err)}`, inserted ? importId : null, {
    hint: err instanceof AtlasError ? err.hint : null,
    cause: err,
    warnings: unrecorded === null ? [] : [unrecorded],
  });
}
