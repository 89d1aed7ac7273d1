/**
 * Deciding how an import's columns land: the strategy (new_table, merge_exact, extend_table,
 * adapt_data), each target column's type and how its text is read, which columns are added, and
 * which values need checks and correction records. No I/O.
 */
import type { StagedColumn } from '../db/staging/index.js';
import type { ExistingColumn, ExistingTable } from '../db/tables.js';
import { AtlasError } from '../errors.js';
import type { ColumnType, SqlType, ValueFormat } from '../transform/infer.js';
import { formatFromMapping, formatToMapping, type Mapping, type Strategy } from '../transform/mapping.js';
import { atlasTypeRef, canonicalTypeName, type TypeRef } from '../transform/typeRef.js';
import { isTextType, type ColumnPlan } from '../transform/typeSql.js';

/** A plan column together with where its staged text is. */
export interface PlannedColumn extends ColumnPlan {
  staged: StagedColumn;
}

export interface ImportPlan {
  strategy: Strategy;
  /** Columns that receive values, in insert order. */
  columns: PlannedColumn[];
  /** Columns to create (new_table) or add (extend_table). */
  newColumns: PlannedColumn[];
  /** Existing NOT NULL columns without default that the input does not bring. */
  missingRequired: string[];
  /** Columns of the file that this import does not write, and why. */
  leftOut: LeftOutColumn[];
  warnings: string[];
  /** The effective mapping (inferred plus overridden), in the mapping file's shape. */
  mapping: Mapping & { table: string; strategy: Strategy; columns: NonNullable<Mapping['columns']> };
}

/** A column of the file that is not imported: a mapping's `"ignore": true`, or a column the table lacks under an explicit adapt_data. */
export interface LeftOutColumn {
  source: string;
  reason: 'ignored by the mapping' | 'not in the table (adapt_data adds no columns)';
}

/** Types whose values another type holds without loss, so inferred formats can be reused. */
const WIDENS: Record<string, string[]> = {
  integer: ['integer', 'bigint', 'numeric', 'double precision', 'real'],
  bigint: ['bigint', 'numeric', 'double precision'],
  numeric: ['numeric', 'double precision', 'real'],
  date: ['date', 'timestamp without time zone', 'timestamp with time zone'],
  timestamp: ['timestamp without time zone', 'timestamp with time zone'],
  timestamptz: ['timestamp with time zone'],
  boolean: ['boolean'],
};

const INTEGER_COLUMNS = ['smallint', 'integer', 'bigint'];
const NUMBER_TYPES: readonly SqlType[] = ['integer', 'bigint', 'numeric'];

function sameType(inferred: SqlType, existing: string): boolean {
  return canonicalTypeName(inferred) === existing;
}

function widens(inferred: SqlType, existing: string): boolean {
  return WIDENS[inferred]?.includes(existing) ?? false;
}

/** The name that classifies an existing column's type: its built-in base type (under domains, without modifier), '' for any other. */
const baseName = (type: TypeRef): string => type.base ?? '';

/** How to read a column into an existing column of type `type`. */
function planForExisting(d: ColumnType, type: TypeRef): Pick<ColumnPlan, 'format' | 'checkValidity' | 'recordCorrections' | 'trim'> {
  const sqlType = baseName(type);
  if (isTextType(sqlType)) return { format: { kind: 'text' }, checkValidity: type.sql !== 'text', recordCorrections: false };
  if (sameType(d.type, sqlType)) return { format: d.format, checkValidity: d.invalidValues > 0, recordCorrections: d.mayNeedCorrection, trim: d.untrimmed !== false };
  if (widens(d.type, sqlType)) return { format: d.format, checkValidity: true, recordCorrections: true };
  // Numbers into an integer column of another kind: read in the file's number format (1,600.00), whole ones go in, each value checked.
  if (INTEGER_COLUMNS.includes(sqlType) && NUMBER_TYPES.includes(d.type)) return { format: d.format, checkValidity: true, recordCorrections: true };
  // Dates of mixed forms keep how their day/month-first ones read into a date or timestamp column (normalizedSql); other text is read by the type's input.
  return { format: d.format.kind === 'text' && WIDENS.date!.includes(sqlType) ? d.format : { kind: 'text' }, checkValidity: true, recordCorrections: true };
}

/**
 * How a column from a JSON or XML reader goes into a column of type `base` (format_type's name).
 * Into json or jsonb as JSON: JSON text as it is, an array of one for a value that is not an array
 * where its key held arrays; into an existing column (`table`), also scalars staged as their text
 * (a key that held no JSON in this file) as the JSON values they were, and arrays of one where the
 * column holds arrays. JSON text into any other type as the value each stands for (jsonAsTextSql),
 * so that an existing text column gets a string as its text. CSV and XLSX columns: none of this.
 */
function readerJsonPlan(staged: StagedColumn, base: string, table: { arrays?: boolean } | null = null): Pick<ColumnPlan, 'readerJson' | 'readerArrays' | 'scalarsAsJson' | 'jsonAsText'> {
  if (base !== 'jsonb' && base !== 'json') return staged.json ? { jsonAsText: true } : {};
  if (staged.json) return { readerJson: true, ...(staged.arrays || table?.arrays === true ? { readerArrays: true } : {}) };
  if (staged.scalars === null || table === null) return {};
  return { readerJson: true, scalarsAsJson: staged.scalars, ...(table.arrays === true ? { readerArrays: true } : {}) };
}

/** The format for a type a mapping asked for: the mapping's, else the inferred one when it fits that type. */
function mappedFormat(type: string, format: string | undefined, d: ColumnType): ValueFormat {
  const fromMapping = formatFromMapping(type as never, format);
  if (format !== undefined && fromMapping) return fromMapping;
  if (sameType(d.type, canonicalTypeName(type)) || widens(d.type, canonicalTypeName(type))) return d.format;
  return fromMapping ?? { kind: 'text' };
}

export interface PlanInput {
  tableName: string;
  staged: StagedColumn[];
  decided: ColumnType[];
  existing: ExistingTable | null;
  mapping: Mapping;
  /** --strategy, or the mapping's. */
  forced: Strategy | null;
  /** An upsert: the rows it updates keep their values in columns the file lacks. @default false */
  upsert?: boolean;
  /** What of the import names an existing table's rows by their integer id ('the duplicate check', 'an upsert'), or null. @default null */
  rowIds?: string | null;
}

export function planImport(input: PlanInput): ImportPlan {
  const { existing, mapping, tableName } = input;
  const forced = input.forced ?? mapping.strategy ?? null;
  const warnings: string[] = [];
  const specs = mapping.columns ?? {};

  // Columns the input brings (ignored ones dropped).
  const brought: Array<{ staged: StagedColumn; decided: ColumnType }> = [];
  input.staged.forEach((staged, i) => {
    if (specs[staged.mappingKey]?.ignore) return;
    brought.push({ staged, decided: input.decided[i]! });
  });

  if (existing === null) {
    if (forced !== null && forced !== 'new_table') {
      throw new AtlasError(`strategy ${forced} needs an existing table, and ${tableName} does not exist`, { hint: input.forced != null ? 'leave out --strategy to create it' : 'leave "strategy" out of the mapping file to create it' });
    }
    const columns = brought.map(({ staged, decided }): PlannedColumn => {
      const spec = specs[staged.mappingKey];
      const sqlType = spec?.type ?? (staged.json ? 'jsonb' : decided.type);
      const explicit = spec?.type !== undefined;
      const format = explicit ? mappedFormat(sqlType, spec?.format, decided) : staged.json ? ({ kind: 'text' } as const) : decided.format;
      return {
        staged,
        sourceName: staged.sourceName,
        targetName: staged.targetName,
        sqlType,
        type: atlasTypeRef(sqlType),
        format,
        checkValidity: explicit || decided.invalidValues > 0,
        recordCorrections: explicit ? !isTextType(sqlType) : decided.mayNeedCorrection,
        trim: explicit || decided.untrimmed !== false,
        ...readerJsonPlan(staged, sqlType),
      };
    });
    return finish('new_table', columns, columns, [], warnings, input);
  }

  if (!existing.tracked) {
    throw new AtlasError(`table ${tableName} exists but was not created by atlas (it has no _import_id column)`, {
      hint: 'import into a new table with --table NAME',
    });
  }
  if (forced === 'new_table') throw new AtlasError(`strategy new_table cannot apply: table ${tableName} already exists`);
  if (input.rowIds) checkRowIds(existing, tableName, input.rowIds);

  const tableCols = new Map(existing.columns.map((c) => [c.name, c]));
  const present = brought.filter((b) => tableCols.has(b.staged.targetName));
  refuseServerOnly(present.map((b) => ({ source: b.staged.sourceName, key: b.staged.mappingKey, column: tableCols.get(b.staged.targetName)! })), tableName);
  const extra = brought.filter((b) => !tableCols.has(b.staged.targetName));
  const fileNames = new Set(brought.map((b) => b.staged.targetName));
  // A column the server fills for every row (generated, identity always) is not missing from a file.
  const missing = existing.columns.filter((c) => !fileNames.has(c.name) && c.serverOnly === null);
  const exactTypes = present.every((b) => {
    const t = baseName(tableCols.get(b.staged.targetName)!.type);
    const spec = specs[b.staged.mappingKey];
    // JSON the reader kept (arrays, deeper objects) goes into a jsonb column as it is, as into a new table.
    if (b.staged.json && t === 'jsonb') return true;
    return isTextType(t) || sameType(b.decided.type, t) || widens(b.decided.type, t) || (spec?.type !== undefined && canonicalTypeName(spec.type) === t);
  });

  // Chosen automatically, a strategy never leaves a column of the file out: new columns are added
  // (the table's columns the file lacks stay NULL for its rows). Only an explicit adapt_data does.
  let strategy: Strategy;
  if (forced !== null) strategy = forced;
  else if (extra.length === 0 && missing.length === 0 && exactTypes) strategy = 'merge_exact';
  else if (extra.length > 0) strategy = 'extend_table';
  else strategy = 'adapt_data';

  if (strategy === 'merge_exact' && (extra.length > 0 || missing.length > 0)) {
    const parts: string[] = [];
    if (extra.length > 0) parts.push(`the file has column(s) the table lacks: ${extra.map((b) => b.staged.targetName).join(', ')}`);
    if (missing.length > 0) parts.push(`the table has column(s) the file lacks: ${missing.map((c) => c.name).join(', ')}`);
    throw new AtlasError(`strategy merge_exact cannot apply to ${tableName}: ${parts.join('; ')}`, { hint: 'use --strategy extend_table or adapt_data, or leave --strategy out' });
  }

  const plannedExisting = present.map(({ staged, decided }): PlannedColumn => {
    const column = tableCols.get(staged.targetName)!;
    const { sqlType, type } = column;
    const base = baseName(type);
    const spec = specs[staged.mappingKey];
    const how = spec?.type !== undefined ? { format: mappedFormat(spec.type, spec.format, decided), checkValidity: type.sql !== 'text', recordCorrections: !isTextType(base) } : planForExisting(decided, type);
    const json = readerJsonPlan(staged, base, column);
    // A declared length, precision or scale can change a value silently: every value is checked against it.
    const lossy = type.lossy !== null ? { checkValidity: true, fitByCast: spec?.fit === 'cast' } : {};
    // A domain's CHECK or NOT NULL refuses values its base type takes: each is checked, a refusal a mapping error, not a failed import.
    const domain = type.domain ? { checkValidity: true } : {};
    return { staged, sourceName: staged.sourceName, targetName: staged.targetName, sqlType, type, ...how, ...json, ...(json.readerJson ? { checkValidity: false, recordCorrections: false } : {}), ...domain, ...lossy };
  });

  let added: PlannedColumn[] = [];
  const dropped: StagedColumn[] = [];
  if (strategy === 'extend_table') {
    added = extra.map(({ staged, decided }) => ({
      staged,
      sourceName: staged.sourceName,
      targetName: staged.targetName,
      sqlType: specs[staged.mappingKey]?.type ?? (staged.json ? 'jsonb' : decided.type),
      type: atlasTypeRef(specs[staged.mappingKey]?.type ?? (staged.json ? 'jsonb' : decided.type)),
      format: staged.json ? { kind: 'text' } : decided.format,
      checkValidity: !staged.json && decided.invalidValues > 0,
      recordCorrections: !staged.json && decided.mayNeedCorrection,
      trim: decided.untrimmed !== false,
      ...readerJsonPlan(staged, specs[staged.mappingKey]?.type ?? (staged.json ? 'jsonb' : decided.type)),
    }));
  } else {
    for (const b of extra) dropped.push(b.staged);
  }
  // A required column the file lacks fails the import on its own: the warning names only the others.
  const leftOut = missing.filter((c) => !c.required);
  if (leftOut.length > 0) {
    const names = leftOut.map((c) => c.name).join(', ');
    warnings.push(
      input.upsert === true
        ? `column(s) of ${tableName} missing from the file: ${names}; the rows it updates keep their values there, the rows it inserts get NULL (or the default)`
        : `column(s) of ${tableName} missing from the file are left NULL (or their default): ${names}`,
    );
  }
  const missingRequired = missing.filter((c) => c.required).map((c) => c.name);
  return finish(strategy, [...plannedExisting, ...added], added, missingRequired, warnings, input, dropped);
}

/**
 * A file column that lands in a column only the server may fill (generated, identity GENERATED
 * ALWAYS) would fail the INSERT (428C9) after the whole file was read and checked, and a dry run
 * would promise success: refused here, before anything is written, saying how to leave it out.
 */
function refuseServerOnly(present: ReadonlyArray<{ source: string; key: string; column: ExistingColumn }>, tableName: string): void {
  const found = present.filter((p) => p.column.serverOnly !== null);
  if (found.length === 0) return;
  const names = found.map((p) => (p.source === p.column.name ? p.column.name : `${p.column.name} (the file's ${p.source})`)).join(', ');
  const what =
    found.length === 1
      ? `column ${names} of table ${tableName} is ${found[0]!.column.serverOnly}: PostgreSQL computes its values and refuses the file's`
      : `columns ${names} of table ${tableName} are filled by the server (generated, or identity generated always): PostgreSQL computes their values and refuses the file's`;
  const ignored = found.map((p) => `${JSON.stringify(p.key)}: {"ignore": true}`).join(', ');
  throw new AtlasError(`${what}; nothing was written`, {
    hint: `leave the file's column${found.length === 1 ? '' : 's'} out with a --mapping file holding {"columns": {${ignored}}} (the import then says the values were not imported), or import into another table with --table NAME`,
  });
}

/** Refuses a table whose `id` is missing or not an integer before the duplicate check's or the pre-images' SQL fails on it. */
function checkRowIds(existing: ExistingTable, tableName: string, use: string): void {
  if (existing.idType !== null && INTEGER_COLUMNS.includes(existing.idType)) return;
  const what = existing.idType === null ? `table ${tableName} has no id column` : `the id column of table ${tableName} is ${existing.idType}, not an integer`;
  throw new AtlasError(`${what}: ${use} names the table's rows by an integer id`, {
    hint: use === 'the duplicate check' ? 'append without it (--no-dedupe), or import into a new table with --table NAME' : 'import into a new table with --table NAME',
  });
}

function finish(
  strategy: Strategy,
  columns: PlannedColumn[],
  newColumns: PlannedColumn[],
  missingRequired: string[],
  warnings: string[],
  input: PlanInput,
  droppedStaged: StagedColumn[] = [],
): ImportPlan {
  const specs = input.mapping.columns ?? {};
  const ignoredStaged = input.staged.filter((s) => specs[s.mappingKey]?.ignore);
  const ignored = ignoredStaged.map((s): LeftOutColumn => ({ source: s.sourceName, reason: 'ignored by the mapping' }));
  const dropped = droppedStaged.map((s): LeftOutColumn => ({ source: s.sourceName, reason: 'not in the table (adapt_data adds no columns)' }));
  const leftOut = [...ignored, ...dropped];
  if (leftOut.length > 0) {
    const parts: string[] = [];
    if (ignored.length > 0) parts.push(`${ignored.map((l) => l.source).join(', ')} ("ignore": true in the mapping)`);
    if (dropped.length > 0) parts.push(`${dropped.map((l) => l.source).join(', ')} (not in table ${input.tableName}; adapt_data adds no columns, extend_table would)`);
    warnings.push(`column(s) of the file left out, their values not imported: ${parts.join('; ')}`);
  }
  // The effective mapping names every column of the file, left-out ones as "ignore": true, so that
  // it shows what was not imported and repeats the import exactly: when any column had null
  // values, every column says its own (maybe none), so that no --null-value or config changes them.
  const mappedColumns: NonNullable<Mapping['columns']> = {};
  for (const s of [...ignoredStaged, ...droppedStaged]) mappedColumns[s.mappingKey] = { ignore: true };
  const anyNulls = columns.some((c) => c.staged.nulls !== null);
  for (const c of columns) {
    const format = formatToMapping(c.format);
    const nulls = anyNulls ? { null_values: [...(c.staged.nulls ?? [])] } : {};
    mappedColumns[c.staged.mappingKey] = { target: c.targetName, type: c.sqlType as never, ...(format === undefined ? {} : { format }), ...nulls, ...(c.fitByCast ? { fit: 'cast' as const } : {}) };
    if (input.mapping.columns?.[c.staged.mappingKey]?.fit === 'cast' && !c.fitByCast) {
      warnings.push(`mapping: "fit": "cast" for ${c.sourceName} has no effect: its column ${c.targetName} (${c.sqlType}) has no declared length, precision or scale that could change a value`);
    }
  }
  return {
    strategy,
    columns,
    newColumns,
    missingRequired,
    leftOut,
    warnings,
    mapping: { table: input.tableName, strategy, key: input.mapping.key ?? null, columns: mappedColumns },
  };
}
