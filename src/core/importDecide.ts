/**
 * An import's second phase: the column types from every staged value, then, under the table's
 * lock, the strategy and column plan against the table as it is, with what they note (type
 * inference's notes, spreadsheet error cells, JSON stored as text) and what they refuse before
 * anything is written. In a batch, the duplicate check's converted rows made before the file's turn.
 */
import { lockForTransaction, tableLockKey, type Client } from '../db/connection.js';
import { countJsonValues, countNonArrays, type StagedColumn, type StageResult } from '../db/staging/index.js';
import { countTableColumns, findArrayColumns, findTypesWithoutHash, getExistingTable, tableFingerprint, type ExistingTable } from '../db/tables.js';
import { AtlasError } from '../errors.js';
import { EXCEL_PHANTOM_DATE, FORMULA_NOT_CALCULATED } from '../formats/shared/index.js';
import type { ColumnType } from '../transform/infer.js';
import { PG_MAX_COLUMNS } from '../transform/naming.js';
import { planImport, type ImportPlan, type PlannedColumn } from './plan.js';
import { duplicateCheckSql } from './sql/duplicates.js';
import { findEarlierImport } from './fileDuplicates.js';
import { analyzeLookupCandidatesSql, analyzeStageRowsSql } from './valueLookups.js';
import { isTextType } from '../transform/typeSql.js';
import { checkKeyUniqueInTable, checkReplaceTarget, checkTableHasId, type KeyColumn } from './upsert.js';
import { alreadyImported, checksRows, resolveKey, type Decision, type EarlyConversion, type ErrorCells, type ImportRun, type Staging } from './importRun.js';
import { duplicateCheckFor } from './rowDuplicates.js';

/** Refuses, before any DDL, new columns that would take an existing table past PostgreSQL's limit. */
async function checkRoomForColumns(client: Client, schema: string, tableName: string, adding: number): Promise<void> {
  const { total, dropped } = await countTableColumns(client, schema, tableName);
  if (total + adding <= PG_MAX_COLUMNS) return;
  const counted = dropped > 0 ? ` (${dropped} of them dropped, which PostgreSQL still counts)` : '';
  throw new AtlasError(`table ${tableName} has ${total} columns${counted}; the ${adding} new column(s) this file brings would take it past PostgreSQL's limit of ${PG_MAX_COLUMNS}`, {
    hint: `import into a new table with --table NAME, or leave columns out with "ignore": true in a --mapping file${dropped > 0 ? '; a copy of the table (create table ... as select) has no dropped columns' : ''}`,
  });
}

/**
 * Decides the column types from every staged value, then the strategy and column plan against the
 * table. From here one import at a time decides the shape of, and writes into, a given table; the
 * file-level duplicate check is repeated under that lock.
 */
export async function decideTypesAndPlan(run: ImportRun, { staged }: Staging): Promise<Decision> {
  const { client, schema, options, tableName, warnings, prepared, trace } = run;
  await options.onPhase?.('checking types');
  // The staging table's row count for the planner (not a dry run's: it runs none of the statements it serves).
  if (!options.dryRun) for (const sql of analyzeStageRowsSql(run.stage)) await client.query(sql);
  const decided: ColumnType[] = staged.columns.map((c) => c.stats.decide());
  const early = run.waitTurn !== null && !options.dryRun && checksRows(run) ? await convertEarly(run, staged, decided) : null;
  await run.waitTurn?.();
  run.checkCancelled();
  await lockForTransaction(client, tableLockKey(schema, tableName));
  let alreadyImportedBy = null;
  if (!options.force && !options.allowSameFile) {
    const sheetRead = prepared.input.table.details.sheet;
    const part = { ...options, sheetRead: typeof sheetRead === 'string' ? sheetRead : null };
    alreadyImportedBy = await findEarlierImport(client, schema, tableName, { hash: prepared.input.reader.digest() }, [run.importId, ...(run.replaces === null ? [] : [run.replaces])], part);
    if (alreadyImportedBy && !options.dryRun) throw alreadyImported(tableName, alreadyImportedBy);
  }
  const fingerprint = early !== null ? await tableFingerprint(client, schema, tableName) : null;
  const existing = early !== null && fingerprint === early.fingerprint ? early.existing : await getExistingTable(client, schema, tableName);
  if (existing !== null && existing !== early?.existing) await findTypesWithoutHash(client, existing.columns);
  // Read again under the lock: rows may have come since the early conversion's reading (which is reused only for the same statement: checkDuplicates).
  if (existing !== null && prepared.input.table.kind === 'keyed') await findArrayColumns(client, schema, tableName, existing.columns);
  const plan = planFor(run, staged, decided, existing);
  warnings.push(...inferenceNotes(run, staged, decided, plan));
  Object.assign(trace, { strategy: plan.strategy, mappingConfig: plan.mapping });
  warnings.push(...plan.warnings);
  const jsonAsText = await noteJsonAsText(run, plan);
  const valuesMadeArrays = await noteValuesMadeArrays(run, plan);
  const errorCells = countErrorCells(plan.columns.map((c) => c.staged), options.strict === true);
  warnings.push(...errorCells.warnings);
  // Upsert, replace: refused before anything is written when the table cannot take them (core/upsert.ts).
  const upsertKey: KeyColumn[] | null = run.mode === 'upsert' ? resolveKey(prepared.key, plan).map((name) => ({ name, type: plan.columns.find((c) => c.targetName === name)!.type })) : null;
  if (run.mode !== 'append' && existing) await checkTableHasId(client, schema, tableName, run.mode);
  if (upsertKey && existing) await checkKeyUniqueInTable(client, schema, tableName, upsertKey);
  if (run.replaces !== null) await checkReplaceTarget(client, schema, tableName, run.replaces);
  if (plan.missingRequired.length > 0) {
    throw new AtlasError(`table ${tableName} requires column(s) the file does not have: ${plan.missingRequired.join(', ')} (NOT NULL without a default)`);
  }
  if (existing && plan.newColumns.length > 0) await checkRoomForColumns(client, schema, tableName, plan.newColumns.length);
  // The distinct values of the columns that might get a value lookup (createValueLookups): not
  // where the INSERT reads the duplicate check's converted rows (an existing table, rows checked).
  const lookupsPossible = !options.dryRun && !(existing !== null && checksRows(run));
  const analyzeCandidates = lookupsPossible ? analyzeLookupCandidatesSql(run.stage, plan, staged.rows) : null;
  if (analyzeCandidates !== null) await client.query(analyzeCandidates);
  run.checkCancelled();
  return { decided, existing, plan, errorCells, upsertKey, alreadyImportedBy, early, fingerprint, jsonAsText, valuesMadeArrays };
}

/**
 * JSON going into an existing text column (one key, one shape makes a new column jsonb): a
 * string is its text, and an array or object its JSON text, said once per column and counted.
 */
export async function noteJsonAsText(run: ImportRun, plan: ImportPlan): Promise<Record<string, number>> {
  const columns = plan.columns.filter((c) => c.jsonAsText && c.type.base !== null && isTextType(c.type.base));
  const counts = await countJsonValues(run.client, run.stage, columns.map((c) => c.staged));
  return noteCounts(run, columns, counts, (n, c) => `${n} value(s) of ${c.sourceName} are JSON arrays or objects, stored as their JSON text: column ${c.targetName} of ${run.tableName} is ${c.type.base}, not jsonb (counted in metadata.json_as_text)`);
}

/** The columns whose count is above 0, by target name, each said once in a warning. */
function noteCounts(run: ImportRun, columns: readonly PlannedColumn[], counts: readonly number[], say: (n: number, c: PlannedColumn) => string): Record<string, number> {
  const found = Object.create(null) as Record<string, number>;
  columns.forEach((c, i) => {
    const n = counts[i]!;
    if (n === 0) return;
    found[c.targetName] = n;
    run.warnings.push(say(n, c));
  });
  return found;
}

/**
 * A reader's values stored as arrays of one, each said once per column and counted
 * (`metadata.values_made_arrays`): going into an existing column of JSON arrays where this file's
 * key held none, or, in JSON, where the key is an array in some records and a scalar or object in
 * others (one key, one shape: docs/decisions.md). (XML has no arrays: a repeated element is one.)
 */
export async function noteValuesMadeArrays(run: ImportRun, plan: ImportPlan): Promise<Record<string, number>> {
  const json = run.prepared.input.format === 'json' || run.prepared.input.format === 'ndjson';
  const columns = plan.columns.filter((c) => c.readerArrays && (!c.staged.arrays || json));
  const counts = await countNonArrays(run.client, run.stage, columns.map((c) => c.staged));
  return noteCounts(run, columns, counts, (n, c) =>
    c.staged.arrays
      ? `${n} value(s) of ${c.sourceName} are not arrays, each stored as an array of one: the key is an array in other records of the file, and its column ${c.targetName} holds JSON arrays (counted in metadata.values_made_arrays)`
      : `${n} value(s) of ${c.sourceName} are not arrays, each stored as an array of one: column ${c.targetName} of ${run.tableName} holds JSON arrays (counted in metadata.values_made_arrays)`,
  );
}

/** The plan of the staged columns against the table (a NULL its NOT NULL column would refuse is a mapping error). */
function planFor(run: ImportRun, staged: StageResult, decided: ColumnType[], existing: ExistingTable | null): ImportPlan {
  // The key given by --key is the mapping's too: mapping_config, a valid mapping file, keeps it.
  const mapping = run.prepared.key === null ? run.prepared.mapping : { ...run.prepared.mapping, key: run.prepared.key };
  const rowIds = ({ upsert: 'an upsert', replace: 'a replace', replace_import: '--replace-import', append: checksRows(run) ? 'the duplicate check' : null } as const)[run.mode];
  const plan = planImport({ tableName: run.tableName, staged: staged.columns, decided, existing, mapping, forced: run.options.strategy ?? null, upsert: run.mode === 'upsert', rowIds });
  if (existing) {
    // NOT NULL with a default too: the default fills a column the file lacks, not a NULL it brings.
    const required = new Set(existing.columns.filter((c) => c.notNull).map((c) => c.name));
    for (const c of plan.columns) if (required.has(c.targetName)) Object.assign(c, { required: true, checkValidity: true });
  }
  return plan;
}

/**
 * In a batch, makes the duplicate check's converted rows while the file before this one writes,
 * from the table as it is then (read without its lock). checkDuplicates uses them when the plan
 * made under the lock gives the same statement, else makes them again. Null when the table does
 * not exist yet, gets new columns, or anything is in the way (the import then finds it under the lock).
 */
export async function convertEarly(run: ImportRun, staged: StageResult, decided: ColumnType[]): Promise<EarlyConversion | null> {
  const { client, schema, tableName } = run;
  let check: ReturnType<typeof duplicateCheckSql>;
  let existing: ExistingTable | null;
  let fingerprint: string | null;
  try {
    // The fingerprint first: a change between the two reads then shows as a different one under the lock.
    fingerprint = await tableFingerprint(client, schema, tableName);
    existing = await getExistingTable(client, schema, tableName);
    if (existing === null || fingerprint === null) return null;
    await findTypesWithoutHash(client, existing.columns);
    if (run.prepared.input.table.kind === 'keyed') await findArrayColumns(client, schema, tableName, existing.columns);
    const plan = planFor(run, staged, decided, existing);
    if (plan.newColumns.length > 0) return null;
    check = duplicateCheckFor(run, staged, plan, existing, resolveKey(run.prepared.key, plan)).check;
  } catch (err) {
    if (err instanceof AtlasError) return null;
    throw err;
  }
  await client.query('savepoint atlas_convert_early');
  try {
    const validRows = (await client.query(check.source)).rowCount ?? 0;
    await client.query(check.analyze);
    await client.query('release savepoint atlas_convert_early');
    return { source: check.source, validRows, existing, fingerprint };
  } catch (err) {
    if (run.options.signal?.aborted) throw err;
    await client.query('rollback to savepoint atlas_convert_early');
    return null;
  }
}

/**
 * What type inference noticed, by column. A column it would have kept as text that goes into an
 * existing column of another type is read as that type: said so, rather than "kept as text"
 * (country-json's iso codes with leading zeros into an integer column lose the zeros).
 */
function inferenceNotes(run: ImportRun, staged: Staging['staged'], decided: readonly ColumnType[], plan: ImportPlan): string[] {
  const planned = new Map(plan.columns.map((c) => [c.staged, c]));
  const semicolons = run.prepared.input.table.details['delimiter'] === ';';
  return decided.flatMap((d, i) => {
    const column = staged.columns[i]!;
    const p = planned.get(column);
    const intoOther = p !== undefined && d.type === 'text' && !isTextType(p.sqlType) && p.sqlType !== 'jsonb';
    const notes = d.notes.map((note) =>
      intoOther && note.startsWith('kept as text')
        ? `${column.targetName}: not kept as text: the table's column ${p.targetName} is ${p.sqlType}, so its values are read as ${p.sqlType} (${note.replace(/^kept as text: /, '')}); those that change are recorded in _corrections_applied, those it cannot hold are mapping errors`
        : `${column.targetName}: ${note}`,
    );
    const thousands = semicolons && p !== undefined ? thousandsDotNote(run, d, p) : null;
    return thousands === null ? notes : [...notes, thousands];
  });
}

/**
 * A number column of a semicolon-separated file whose every dotted value could be thousands
 * grouped with a dot (1.500): read with the dot as a decimal point, as everywhere, but such files
 * come from where the comma is the decimal mark and 1.500 may mean fifteen hundred. Said, with the
 * mapping that reads it so; not when a mapping gives the column a format.
 */
function thousandsDotNote(run: ImportRun, d: ColumnType, p: PlannedColumn): string | null {
  if (d.thousandsDots === undefined || run.prepared.mapping.columns?.[p.sourceName]?.format !== undefined) return null;
  if (p.type.base === null || isTextType(p.type.base) || p.sqlType === 'jsonb' || p.sqlType === 'boolean') return null;
  const example = d.thousandsDots;
  return `${p.targetName}: ${example} and the column's other numbers with a dot are read with the dot as the decimal point (${example} is ${Number(example)}); the file is separated by semicolons, as files that write ${example} for ${Number(example.replace('.', ''))} are: if the dot groups thousands here, import it with --mapping FILE holding {"columns": {${JSON.stringify(p.sourceName)}: {"type": "numeric", "format": "1.234,56"}}}`;
}

/**
 * Spreadsheet error cells (`#DIV/0!`, `#N/A`, ...) and formula cells without a calculated value,
 * by column: one warning per column saying how many and which, and the counts for the history
 * record's metadata.
 */
export function countErrorCells(
  columns: readonly StagedColumn[],
  strict: boolean,
): ErrorCells {
  const warnings: string[] = [];
  const byColumn = Object.create(null) as Record<string, number>; // keys are column names: `__proto__` is one too
  const unread: Record<string, Record<string, number>> = {};
  let total = 0;
  for (const c of columns) {
    for (const [type, { count, first }] of c.unreadCells ?? []) {
      const kind = UNREAD_CELLS[type];
      if (kind === undefined) continue;
      (unread[kind.metadata] ??= Object.create(null) as Record<string, number>)[c.targetName] = count;
      const what = `${c.targetName}: ${count} ${kind.what(first)}`;
      warnings.push(strict ? `${what}: mapping errors under --strict${kind.fix}` : `${what} stored as NULL; each cell's ${kind.kept} is in its row's _corrections_applied${kind.fix}`);
    }
    if (c.errorCells === null) continue;
    const counts = [...c.errorCells];
    const n = counts.reduce((sum, [, k]) => sum + k, 0);
    byColumn[c.targetName] = n;
    total += n;
    const which = counts.map(([text, k]) => `${text} ${k}`).join(', ');
    warnings.push(
      strict
        ? `${c.targetName}: ${n} spreadsheet error cell(s) (${which}): mapping errors under --strict`
        : `${c.targetName}: ${n} spreadsheet error cell(s) (${which}) stored as NULL; each cell's error is in its row's _corrections_applied`,
    );
  }
  return { warnings, byColumn, total, unread };
}

/** Each kind of unread cell: its metadata key, its warning's words (given the first cell's `before`), what its correction keeps, and what to do. */
const UNREAD_CELLS: Record<string, { metadata: string; what: (first: string) => string; kept: string; fix: string }> = {
  [FORMULA_NOT_CALCULATED]: {
    metadata: 'formulas_not_calculated',
    what: (first) => `formula cell(s) without a calculated value (the file holds the formula alone, the first ${first})`,
    kept: 'formula',
    fix: '; open the workbook in a spreadsheet program (Excel, LibreOffice) and save it, so that their values are calculated, then import it again',
  },
  [EXCEL_PHANTOM_DATE]: {
    metadata: 'phantom_dates',
    what: () => "cell(s) holding Excel's date serial 60, which it shows as 1900-02-29, a day that never was (kept for Lotus 1-2-3)",
    kept: 'serial',
    fix: '',
  },
};
