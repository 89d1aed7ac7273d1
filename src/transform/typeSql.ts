/**
 * SQL that turns a staged text value into its column's type, tells whether it can, and records
 * how it changed. Every piece here is built from atlas's own constants and quoted identifiers;
 * file content only ever reaches these expressions as column values.
 */
import type { DateOrder, SqlType, ValueFormat } from './infer.js';

/** A column of the target table and how to fill it from a staged text column. */
export interface ColumnPlan {
  /** Header text as found in the file. */
  sourceName: string;
  /** Column in the staging table (`c1`, `c2`, ...). */
  stageColumn: string;
  /** Column in the target table. */
  targetName: string;
  /** SQL type of the target column, as PostgreSQL's format_type() spells it for existing columns. */
  sqlType: string;
  format: ValueFormat;
  /** Some values cannot become `sqlType`: a validity check runs and failures become mapping errors. */
  checkValidity: boolean;
  /** Some values change form on the way in: corrections are recorded. */
  recordCorrections: boolean;
}

/** Upper-case SQL type names as the spec writes them in `target_type`. */
export function specTypeName(sqlType: string): string {
  return sqlType === 'timestamptz' ? 'TIMESTAMP WITH TIME ZONE' : sqlType.toUpperCase();
}

/** PostgreSQL's canonical name for a type (what format_type() returns), used with pg_input_is_valid. */
export function canonicalTypeName(sqlType: string): string {
  switch (sqlType) {
    case 'timestamp':
      return 'timestamp without time zone';
    case 'timestamptz':
      return 'timestamp with time zone';
    default:
      return sqlType;
  }
}

/** SQL type atlas declares for an inferred type. */
export function declaredType(type: SqlType): string {
  return type;
}

/** The staged value with surrounding whitespace removed and '' as NULL. */
export function trimmedSql(raw: string): string {
  return `nullif(btrim(${raw}, E' \\t\\r\\n'), '')`;
}

function datePrefixPattern(separator: string): string {
  const sep = separator === '.' ? '\\.' : separator;
  return `^(\\d{1,2})${sep}(\\d{1,2})${sep}(\\d{4})`;
}

function reorderDateSql(t: string, order: DateOrder, separator: string): string {
  if (order === 'ymd') return t;
  const replacement = order === 'mdy' ? '\\3-\\1-\\2' : '\\3-\\2-\\1';
  return `regexp_replace(${t}, '${datePrefixPattern(separator)}', '${replacement}')`;
}

/** Text in a form PostgreSQL's input function for the column type accepts. */
export function normalizedSql(plan: Pick<ColumnPlan, 'format' | 'sqlType'>, raw: string): string {
  const f = plan.format;
  if (f.kind === 'text') return isTextType(plan.sqlType) ? raw : trimmedSql(raw);
  const t = trimmedSql(raw);
  switch (f.kind) {
    case 'boolean':
      return t;
    case 'integer':
      return f.dotZero ? `regexp_replace(${t}, '\\.0+$', '')` : t;
    case 'numeric':
      if (f.currency !== null) return `regexp_replace(${t}, '[$€£¥,[:space:]]', '', 'g')`;
      return f.grouping ? `replace(${t}, ',', '')` : t;
    case 'date':
    case 'timestamp':
      return reorderDateSql(t, f.order, f.separator);
  }
}

export function isTextType(sqlType: string): boolean {
  return sqlType === 'text' || sqlType.startsWith('character varying') || sqlType.startsWith('varchar') || sqlType.startsWith('character');
}

/** The converted value. */
export function castSql(plan: Pick<ColumnPlan, 'format' | 'sqlType'>, raw: string): string {
  if (isTextType(plan.sqlType)) return plan.sqlType === 'text' ? raw : `${raw}::${plan.sqlType}`;
  return `(${normalizedSql(plan, raw)})::${plan.sqlType}`;
}

/**
 * True when the value can be stored (or is empty). On PostgreSQL 16+ pg_input_is_valid() checks it
 * without a subtransaction; older servers use atlas's own function from sql/001.
 */
export function validSql(plan: Pick<ColumnPlan, 'format' | 'sqlType'>, raw: string, schemaQuoted: string, hasPgInputIsValid: boolean): string {
  const n = normalizedSql(plan, raw);
  const type = `'${canonicalTypeName(plan.sqlType).replace(/'/g, "''")}'`;
  const check = hasPgInputIsValid ? `pg_input_is_valid(${n}, ${type})` : `${schemaQuoted}.atlas_input_is_valid(${n}, ${type})`;
  return `(${n} is null or ${check})`;
}

/** mapping_errors.error_type for a value that failed `plan`'s check. */
export function errorTypeSql(plan: Pick<ColumnPlan, 'sqlType'>, raw: string): string {
  const t = plan.sqlType;
  if (t === 'date' || t.startsWith('timestamp')) return `'datetime_conversion'`;
  if (['integer', 'bigint', 'smallint', 'numeric'].includes(t)) {
    return `case when ${trimmedSql(raw)} ~ '^[+-]?[0-9.,]+([eE][+-]?[0-9]+)?$' then 'numeric_overflow' else 'type_mismatch' end`;
  }
  return `'type_mismatch'`;
}

const CANONICAL_SQL_PATTERN: Partial<Record<ValueFormat['kind'], string>> = {
  integer: '^-?(0|[1-9][0-9]*)$',
  numeric: '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$',
  date: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
  timestamp: '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$',
};

function strftimeDate(order: DateOrder, separator: string): string {
  const parts = order === 'ymd' ? ['%Y', '%m', '%d'] : order === 'mdy' ? ['%m', '%d', '%Y'] : ['%d', '%m', '%Y'];
  return parts.join(separator);
}

/**
 * A jsonb correction for this column when the stored value differs in form from the file's text,
 * else NULL. Shapes are the spec's: type_coercion with target_type, datetime_standardization with
 * source_format (strftime-style).
 */
export function correctionSql(plan: ColumnPlan, raw: string): string | null {
  if (!plan.recordCorrections || isTextType(plan.sqlType)) return null;
  const f = plan.format;
  const t = trimmedSql(raw);
  const cast = castSql(plan, raw);
  const pattern = CANONICAL_SQL_PATTERN[f.kind];
  // Text read into a typed column: a correction only where the stored value's text differs.
  const canonical = f.kind === 'boolean' ? `${raw} in ('true', 'false')` : pattern ? `${raw} ~ '${pattern}'` : `${raw} = (${cast})::text`;
  const condition = `${t} is not null and not (${canonical})`;
  if (f.kind === 'date' || f.kind === 'timestamp') {
    const datePart = `'${strftimeDate(f.order, f.separator)}'`;
    const timePart =
      f.kind === 'date'
        ? `''`
        : `case when ${t} ~ '[0-9]:[0-9]{2}' then concat(case when ${t} ~ 'T' then 'T' else ' ' end, case when ${t} ~* '[ap]m$' then '%I' else '%H' end, ':%M', case when ${t} ~ ':[0-9]{2}:[0-9]{2}' then ':%S' else '' end, case when ${t} ~* '[ap]m$' then ' %p' else '' end) else '' end`;
    return `case when ${condition} then jsonb_build_object('before', ${raw}, 'after', to_jsonb(${cast}), 'correction_type', 'datetime_standardization', 'source_format', concat(${datePart}, ${timePart})) end`;
  }
  return `case when ${condition} then jsonb_build_object('before', ${raw}, 'after', to_jsonb(${cast}), 'correction_type', 'type_coercion', 'target_type', '${specTypeName(plan.sqlType)}') end`;
}
