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
  /** Column in the target table. */
  targetName: string;
  /** SQL type of the target column, as PostgreSQL's format_type() spells it for existing columns. */
  sqlType: string;
  format: ValueFormat;
  /** Some values cannot become `sqlType`: a validity check runs and failures become mapping errors. */
  checkValidity: boolean;
  /** Some values change form on the way in: corrections are recorded. */
  recordCorrections: boolean;
  /** The target column is NOT NULL without a default: an empty value is a `missing_required` error. */
  required?: boolean;
  /** Some values carry surrounding whitespace to trim (when false, trimming is skipped: it costs per value). @default true */
  trim?: boolean;
  /** The reader delivers JSON text (arrays, nested objects) for this column. */
  readerJson?: boolean;
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

/**
 * Rewrites a day/month/year date (and any time after it) to ISO order. split_part and concat cost
 * a tenth of an equivalent regexp_replace per value, which matters at millions of rows.
 */
function reorderDateSql(t: string, order: DateOrder, separator: string, withTime: boolean): string {
  if (order === 'ymd') return t;
  const sep = `'${separator}'`;
  if (!withTime) {
    const [m, d] = order === 'mdy' ? [1, 2] : [2, 1];
    return `case when ${t} is not null then concat(split_part(${t}, ${sep}, 3), '-', split_part(${t}, ${sep}, ${m}), '-', split_part(${t}, ${sep}, ${d})) end`;
  }
  const spaced = `translate(${t}, 'T', ' ')`;
  const date = `split_part(${spaced}, ' ', 1)`;
  const [m, d] = order === 'mdy' ? [1, 2] : [2, 1];
  const time = `case when strpos(${spaced}, ' ') > 0 then substr(${spaced}, strpos(${spaced}, ' ')) else '' end`;
  return `case when ${t} is not null then concat(split_part(${date}, ${sep}, 3), '-', split_part(${date}, ${sep}, ${m}), '-', split_part(${date}, ${sep}, ${d}), ${time}) end`;
}

/** The value without surrounding whitespace (unless the column has none) and with '' as NULL. */
function valueSql(plan: Pick<ColumnPlan, 'trim'>, raw: string): string {
  return plan.trim === false ? `nullif(${raw}, '')` : trimmedSql(raw);
}

/** Text in a form PostgreSQL's input function for the column type accepts. */
export function normalizedSql(plan: Pick<ColumnPlan, 'format' | 'sqlType' | 'trim'>, raw: string): string {
  const f = plan.format;
  if (f.kind === 'text') return isTextType(plan.sqlType) ? raw : valueSql(plan, raw);
  const t = valueSql(plan, raw);
  switch (f.kind) {
    case 'boolean':
      return t;
    case 'integer':
      return f.dotZero ? `regexp_replace(${t}, '\\.0+$', '')` : t;
    case 'numeric':
      if (f.european) return `replace(regexp_replace(${t}, '[.[:space:]]', '', 'g'), ',', '.')`;
      if (f.currency !== null) return `regexp_replace(${t}, '[$€£¥,[:space:]]', '', 'g')`;
      return f.grouping ? `replace(${t}, ',', '')` : t;
    case 'date':
    case 'timestamp':
      return reorderDateSql(t, f.order, f.separator, f.kind === 'timestamp');
  }
}

export function isTextType(sqlType: string): boolean {
  return sqlType === 'text' || sqlType.startsWith('character varying') || sqlType.startsWith('varchar') || sqlType.startsWith('character');
}

/**
 * A column of JSON text from a JSON or XML reader: arrays and objects arrive as JSON text; a
 * scalar that shares the column (an XML element that repeats only in later records) is stored
 * as a JSON string rather than rejected.
 */
export function jsonColumnSql(raw: string): string {
  return `case when ${raw} is null then null when left(ltrim(${raw}), 1) in ('[', '{') then ${raw}::jsonb else to_jsonb(${raw}) end`;
}

/** The converted value. */
export function castSql(plan: Pick<ColumnPlan, 'format' | 'sqlType' | 'trim'> & { readerJson?: boolean }, raw: string): string {
  if (plan.readerJson) return jsonColumnSql(raw);
  if (isTextType(plan.sqlType)) return plan.sqlType === 'text' ? raw : `${raw}::${plan.sqlType}`;
  return `(${normalizedSql(plan, raw)})::${plan.sqlType}`;
}

/**
 * True when the value can be stored (or is empty). On PostgreSQL 16+ pg_input_is_valid() checks it
 * without a subtransaction; older servers use atlas's own function from sql/001.
 */
export function validSql(plan: Pick<ColumnPlan, 'format' | 'sqlType' | 'required' | 'trim'>, raw: string, schemaQuoted: string, hasPgInputIsValid: boolean): string {
  const n = normalizedSql(plan, raw);
  const type = `'${canonicalTypeName(plan.sqlType).replace(/'/g, "''")}'`;
  let check = hasPgInputIsValid ? `pg_input_is_valid(${n}, ${type})` : `${schemaQuoted}.atlas_input_is_valid(${n}, ${type})`;
  // atlas_input_is_valid casts, and a cast to varchar(n) cuts a longer value without an error.
  const length = maxLength(plan.sqlType);
  if (!hasPgInputIsValid && length !== null) check = `(${check} and not ${tooLongSql(n, length)})`;
  return plan.required ? `(${n} is not null and ${check})` : `(${n} is null or ${check})`;
}

/** The length limit of a character type (varchar(10), character(2)), else null. */
function maxLength(sqlType: string): number | null {
  const m = /^(?:character varying|varchar|character|char)\((\d+)\)$/.exec(sqlType);
  return m ? Number(m[1]) : null;
}

/** The value is longer than a column of `length` characters holds (trailing spaces past it are cut, as PostgreSQL does). */
function tooLongSql(value: string, length: number): string {
  return `char_length(rtrim(${value}, ' ')) > ${length}`;
}

/** The range of each integer type, and the type that holds a value past it. */
const INTEGER_RANGES: Record<string, { range: string; wider: string }> = {
  smallint: { range: '-32768 to 32767', wider: 'integer' },
  integer: { range: '-2147483648 to 2147483647', wider: 'bigint' },
  bigint: { range: '-9223372036854775808 to 9223372036854775807', wider: 'numeric' },
};
/** A number as text: digits with a decimal point or an exponent (what numeric reads). */
const NUMBER_SQL_PATTERN = `'^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$'`;

/**
 * mapping_errors.error_type and error_message for a value that failed `plan`'s check, each saying
 * the cause: a missing required value (`missing_required`), a number too large for its column
 * (`numeric_overflow`, naming the range and the type that holds it), text longer than its column
 * (`value_too_long`), a date or time that cannot be read (`datetime_conversion`, with the form it
 * was read in), anything else (`type_mismatch`). `target` and `type` are SQL text expressions of the
 * column's name and type. Computed only for the values that failed.
 */
export function errorSql(plan: Pick<ColumnPlan, 'sqlType' | 'format' | 'required' | 'trim'>, raw: string, target: string, type: string): { type: string; message: string } {
  const n = normalizedSql(plan, raw);
  const shown = `quote_literal(left(${trimmedSql(raw)}, 100))`;
  const cases: Array<{ when: string; type: string; message: string }> = [];
  if (plan.required) cases.push({ when: `${n} is null`, type: 'missing_required', message: `format('Value is missing and column %s is required', ${target})` });
  const base = plan.sqlType.replace(/\(.*\)$/, '');
  const integer = INTEGER_RANGES[base];
  const length = maxLength(plan.sqlType);
  let otherwise = { type: 'type_mismatch', message: `format('Value %s is not a valid %s', ${shown}, ${type})` };
  if (integer !== undefined) {
    cases.push({
      when: `${n} ~ '^[+-]?[0-9]+$'`,
      type: 'numeric_overflow',
      message: `format('Value %s is out of range for %s (${integer.range}); ${integer.wider} holds it ("type": "${integer.wider}" in a --mapping file, or for an existing table alter the column to ${integer.wider})', ${shown}, ${type})`,
    });
    cases.push({
      when: `${n} ~ ${NUMBER_SQL_PATTERN}`,
      type: 'type_mismatch',
      message: `format('Value %s has a decimal point or an exponent, which %s does not take; numeric holds it', ${shown}, ${type})`,
    });
  } else if (['numeric', 'real', 'double precision'].includes(base)) {
    cases.push({ when: `${n} ~ ${NUMBER_SQL_PATTERN}`, type: 'numeric_overflow', message: `format('Value %s is out of range for %s', ${shown}, ${type})` });
  } else if (length !== null) {
    cases.push({
      when: tooLongSql(raw, length),
      type: 'value_too_long',
      message: `format('Value %s is %s characters long, more than %s holds', ${shown}, length(${raw}), ${type})`,
    });
  } else if (base === 'date' || base.startsWith('timestamp')) {
    const f = plan.format;
    // (format() reads % itself: the strftime form's are doubled.)
    const form = f.kind === 'date' || f.kind === 'timestamp' ? ` (read as ${strftimeDate(f.order, f.separator).replace(/%/g, '%%')}${f.kind === 'timestamp' ? ' and a time' : ''})` : '';
    otherwise = { type: 'datetime_conversion', message: `format('Value %s is not a valid %s${form}', ${shown}, ${type})` };
  }
  const pick = (key: 'type' | 'message'): string => {
    const value = (c: { type: string; message: string }): string => (key === 'type' ? `'${c.type}'` : c.message);
    return cases.length === 0 ? value(otherwise) : `case ${cases.map((c) => `when ${c.when} then ${value(c)}`).join(' ')} else ${value(otherwise)} end`;
  };
  return { type: pick('type'), message: pick('message') };
}

const CANONICAL_SQL_PATTERN: Partial<Record<ValueFormat['kind'], string>> = {
  integer: '^-?(0|[1-9][0-9]*)$',
  numeric: '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$',
  timestamp: '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$',
};

function strftimeDate(order: DateOrder, separator: string): string {
  const parts = order === 'ymd' ? ['%Y', '%m', '%d'] : order === 'mdy' ? ['%m', '%d', '%Y'] : ['%d', '%m', '%Y'];
  return parts.join(separator);
}

/** True when values of this column may be stored in a form other than their text. */
export function recordsCorrections(plan: Pick<ColumnPlan, 'recordCorrections' | 'sqlType'>): boolean {
  return plan.recordCorrections && !isTextType(plan.sqlType) && plan.sqlType !== 'jsonb';
}

/**
 * A jsonb correction for this column when the stored value differs in form from the file's text,
 * else NULL. Shapes are the spec's: type_coercion with target_type, datetime_standardization with
 * source_format (strftime-style).
 */
export function correctionSql(plan: ColumnPlan, raw: string, converted?: string): { condition: string; value: string } | null {
  if (!recordsCorrections(plan)) return null;
  const f = plan.format;
  const t = valueSql(plan, raw);
  const cast = converted ?? castSql(plan, raw);
  const pattern = CANONICAL_SQL_PATTERN[f.kind];
  // A date's text as stored (its JSON, a string: `#>> '{}'` takes the text), recorded as `after`.
  const dateText = `to_jsonb(${cast}) #>> '{}'`;
  // Text read into a typed column: a correction only where the stored value's text differs. For a
  // year-first date that is the text compared with `after` (a regular expression match costs more
  // per row than computing it). A day/month-first date never reads like its stored text, which
  // starts with the year, so every value is one (no comparison: 1M rows, about 0.9 s less).
  const canonical =
    f.kind === 'boolean'
      ? `${raw} in ('true', 'false')`
      : f.kind === 'date'
        ? f.order === 'ymd'
          ? `${raw} = (${dateText})`
          : null
        : pattern
          ? `${raw} ~ '${pattern}'`
          : `${raw} = (${cast})::text`;
  const condition = canonical === null ? `${t} is not null` : `${t} is not null and not (${canonical})`;
  if (f.kind === 'date' || f.kind === 'timestamp') {
    const datePart = `'${strftimeDate(f.order, f.separator)}'`;
    const timePart =
      f.kind === 'date'
        ? null
        : `case when ${t} ~ '[0-9]:[0-9]{2}' then concat(case when ${t} ~ 'T' then 'T' else ' ' end, case when ${t} ~* '[ap]m$' then '%I' else '%H' end, ':%M', case when ${t} ~ ':[0-9]{2}:[0-9]{2}' then ':%S' else '' end, case when ${t} ~* '[ap]m$' then ' %p' else '' end) else '' end`;
    const sourceFormat = timePart === null ? datePart : `concat(${datePart}, ${timePart})`;
    // Every member is a string, so the object is built from a text array: jsonb_build_object's
    // per-call handling of its "any" arguments made this a third dearer per row (1M rows with a US
    // date each: about 2 s).
    return {
      condition,
      value: `jsonb_object(array['before', ${raw}, 'after', ${dateText}, 'correction_type', 'datetime_standardization', 'source_format', ${sourceFormat}])`,
    };
  }
  return { condition, value: `jsonb_build_object('before', ${raw}, 'after', to_jsonb(${cast}), 'correction_type', 'type_coercion', 'target_type', '${specTypeName(plan.sqlType)}')` };
}
