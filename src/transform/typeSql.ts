/**
 * SQL that turns a staged text value into its column's type, tells whether it can, and records
 * how it changed. Every piece here is built from atlas's own constants and quoted identifiers;
 * file content only ever reaches these expressions as column values.
 */
import type { DateOrder, DayMonthOrders, SqlType, ValueFormat } from './infer.js';
import type { TypeRef } from './typeRef.js';

/** A column of the target table and how to fill it from a staged text column. */
export interface ColumnPlan {
  /** Header text as found in the file. */
  sourceName: string;
  /** Column in the target table. */
  targetName: string;
  /** SQL type of the target column, as PostgreSQL's format_type() spells it for existing columns: for messages and mapping_config, never pasted into SQL. */
  sqlType: string;
  /** The target column's type as SQL refers to it. */
  type: TypeRef;
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
  /** With readerJson: the key held an array in some record, or the existing column holds arrays, so a value that is not an array is stored as an array of one. */
  readerArrays?: boolean;
  /** With readerJson: the reader staged scalars as their text (StagedColumn.scalars), each made the JSON value it was (scalarsJsonSql). */
  scalarsAsJson?: 'strings' | 'literals';
  /** The reader delivers JSON text for a column that is not JSON (an existing text column): each value is read through jsonAsTextSql. */
  jsonAsText?: boolean;
  /**
   * A value that does not fit the column's declared length, precision or scale is stored as
   * PostgreSQL's cast makes it (cut, rounded), recorded as a correction, instead of being a
   * mapping error (the mapping's `"fit": "cast"`). @default false
   */
  fitByCast?: boolean;
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

/**
 * Dates of mixed forms (a text column) into a date or timestamp column: each day/month-first one
 * in the order inference found for its separator, as a column of that form alone is read; the
 * others as they are, read by the type's input (year first, ISO).
 */
function mixedDatesSql(t: string, orders: DayMonthOrders): string {
  const cases = (['slash', 'dot'] as const).flatMap((which) => {
    const order = orders[which];
    if (order === undefined) return [];
    const sep = which === 'slash' ? '/' : '\\.';
    return [`when ${t} ~ '^[0-9]{1,2}${sep}[0-9]{1,2}${sep}[0-9]{4}([ T]|$)' then ${reorderDateSql(t, order, which === 'slash' ? '/' : '.', true)}`];
  });
  return cases.length === 0 ? t : `case ${cases.join(' ')} else ${t} end`;
}

/** The strftime form of each value of a column of dates in more than one form, as mixedDatesSql reads it (PostgreSQL's month first where inference settled no order). */
function mixedDateFormatSql(t: string, orders: DayMonthOrders): string {
  const form = (which: 'slash' | 'dot', sep: string): string => `'${strftimeDate(orders[which] ?? 'mdy', sep)}'`;
  return `case when ${t} ~ '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}' then ${form('slash', '/')} when ${t} ~ '^[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{4}' then ${form('dot', '.')} when ${t} ~ '^[0-9]{4}/' then '%Y/%m/%d' else '%Y-%m-%d' end`;
}

/** The value without surrounding whitespace (unless the column has none) and with '' as NULL. */
function valueSql(plan: Pick<ColumnPlan, 'trim'>, raw: string): string {
  return plan.trim === false ? `nullif(${raw}, '')` : trimmedSql(raw);
}

/** The name that classifies a column's type: its built-in base type, '' for any other. */
function baseOf(plan: { type: TypeRef }): string {
  return plan.type.base ?? '';
}

/** Text in a form PostgreSQL's input function for the column type accepts. */
export function normalizedSql(plan: Pick<ColumnPlan, 'format' | 'type' | 'trim'>, raw: string): string {
  const f = plan.format;
  if (f.kind === 'text') {
    if (isTextType(baseOf(plan))) return raw;
    return f.dayMonth === undefined ? valueSql(plan, raw) : mixedDatesSql(valueSql(plan, raw), f.dayMonth);
  }
  const t = valueSql(plan, raw);
  switch (f.kind) {
    case 'boolean':
      return t;
    case 'integer':
      return f.dotZero ? `regexp_replace(${t}, '\\.0+$', '')` : t;
    case 'numeric': {
      const n = f.european
        ? `replace(regexp_replace(${t}, '[.[:space:]]', '', 'g'), ',', '.')`
        : f.currency !== null
          ? `regexp_replace(${t}, '[$€£¥,[:space:]]', '', 'g')`
          : f.grouping
            ? `replace(${t}, ',', '')`
            : t;
      // Into an existing integer column each whole number goes in as one (1600.00), as a file of whole numbers only would.
      return INTEGER_RANGES[baseOf(plan)] === undefined ? n : `regexp_replace(${n}, '\\.0+$', '')`;
    }
    case 'date':
    case 'timestamp':
      return reorderDateSql(t, f.order, f.separator, f.kind === 'timestamp');
  }
}

/** A character type (format_type's name, with or without its length): values are read as they are, untrimmed. */
export function isTextType(sqlType: string): boolean {
  return /^(text|character varying|varchar|character|bpchar)(\(\d+\))?$/.test(sqlType);
}

/**
 * A column of JSON text from a JSON or XML reader: every value staged is JSON text (the readers
 * write a JSON column's scalars as JSON from its first JSON value on, and staging rewrites the
 * rows before it: reshapeLateArrays), so it is cast as it is. Guessing by the first character
 * would make JSON of a string that merely starts with `[` or `{`.
 */
export function jsonColumnSql(raw: string, arrays = false): string {
  // JSON text starting with `[` is an array (a string starts with `"`): one cast either way; NULL stays NULL.
  return arrays ? `case when left(${raw}, 1) = '[' then ${raw}::jsonb when ${raw} is not null then jsonb_build_array(${raw}::jsonb) end` : `${raw}::jsonb`;
}

/** JSON's number grammar (RFC 8259), true and false: a reader's scalar staged as written is a JSON literal. */
export const JSON_LITERAL = '^(-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false)$';

/**
 * A reader's scalars staged as their text (a key that never held JSON in this file) as the JSON
 * values they were: each a string, or, where the key held numbers or booleans, a JSON literal
 * where it reads as one (as reshapeLateArrays reads them); an array of one each with `arrays`.
 */
export function scalarsJsonSql(raw: string, scalars: 'strings' | 'literals', arrays: boolean): string {
  const value = scalars === 'literals' ? `case when ${raw} ~ '${JSON_LITERAL}' then ${raw}::jsonb else to_jsonb(${raw}) end` : `to_jsonb(${raw})`;
  return arrays ? `case when ${raw} is not null then jsonb_build_array(${value}) end` : value;
}

/**
 * A column of JSON text read as a column that is not JSON reads it: a JSON string is its text, JSON
 * null is NULL, a number or boolean is as written, an array or object is its JSON text (counted:
 * countJsonValues).
 */
export function jsonAsTextSql(raw: string): string {
  return `case when left(${raw}, 1) = '"' or ${raw} = 'null' then ${raw}::jsonb #>> '{}' else ${raw} end`;
}

/** The converted value. */
export function castSql(plan: Pick<ColumnPlan, 'format' | 'type' | 'trim' | 'readerJson' | 'readerArrays' | 'scalarsAsJson'>, raw: string): string {
  if (plan.readerJson) {
    const arrays = plan.readerArrays === true;
    const json = plan.scalarsAsJson !== undefined ? scalarsJsonSql(raw, plan.scalarsAsJson, arrays) : jsonColumnSql(raw, arrays);
    return plan.type.base === 'json' ? `(${json})::${plan.type.sql}` : json;
  }
  if (isTextType(baseOf(plan))) return plan.type.sql === 'text' ? raw : `${raw}::${plan.type.sql}`;
  return `(${normalizedSql(plan, raw)})::${plan.type.sql}`;
}

/** Where validity is checked: how to call the server's input check. */
export interface ValidityCheck {
  /** The schema of atlas's tables, quoted (atlas_input_is_valid lives there). */
  schemaQuoted: string;
  /** PostgreSQL 16+: pg_input_is_valid() checks without a subtransaction. */
  hasPgInputIsValid: boolean;
}

/** True when text `n` is valid input for the type named by `typeName` (SQL giving its name). */
function inputValidSql(n: string, typeName: string, v: ValidityCheck): string {
  return v.hasPgInputIsValid ? `pg_input_is_valid(${n}, ${typeName})` : `${v.schemaQuoted}.atlas_input_is_valid(${n}, ${typeName})`;
}

type ValidityPlan = Pick<ColumnPlan, 'format' | 'type' | 'required' | 'trim' | 'fitByCast'>;

/**
 * The checks of a value for a column with a lossy modifier, in order, each evaluated only when
 * the ones before it held (so no cast below can fail): the text is valid for the type without the
 * modifier; a number's integer part fits numeric(p,s) (else the cast fails: numeric_overflow);
 * unless the column takes PostgreSQL's cast (`fitByCast`), the value as the modifier leaves it
 * equals the value itself; a domain's own checks pass on the value as stored. The same on every
 * server version: the modifier is applied by a cast, never by an input function (which on
 * PostgreSQL 16+ refuses a long varchar but rounds a numeric, and before 16 is not called).
 */
function lossyChecks(plan: ValidityPlan, raw: string, v: ValidityCheck): Array<{ kind: 'input' | 'overflow' | 'fit' | 'domain'; ok: string; errorType: string }> {
  const l = plan.type.lossy!;
  const n = normalizedSql(plan, raw);
  const full = `(${n})::${l.unconstrained}`;
  const fitted = `(${n})::${l.modified}`;
  const checks: Array<{ kind: 'input' | 'overflow' | 'fit' | 'domain'; ok: string; errorType: string }> = [];
  if (!l.anyText) checks.push({ kind: 'input', ok: inputValidSql(n, l.unconstrainedName, v), errorType: baseErrorTypeSql(plan, raw) });
  if (l.numeric !== null) {
    // numeric's own rule (apply_typmod): rounded to the scale, the value is below 10^(precision - scale); NaN always fits.
    const { precision, scale } = l.numeric;
    const fitsOne = (x: string): string => `(${x} = 'NaN' or abs(round(${x}, ${scale})) < 10::numeric ^ (${precision - scale}))`;
    checks.push({ kind: 'overflow', ok: l.array ? `not exists (select from unnest(${full}) e(x) where not ${fitsOne('e.x')})` : fitsOne(full), errorType: `'numeric_overflow'` });
  }
  if (!plan.fitByCast) checks.push({ kind: 'fit', ok: `(${fitted})::${l.unconstrained} = ${full}`, errorType: l.change === 'truncation' ? `'value_too_long'` : `'precision_loss'` });
  if (l.domain) checks.push({ kind: 'domain', ok: inputValidSql(`(${fitted})::text`, plan.type.nameSql, v), errorType: `'check_violation'` });
  return checks;
}

/**
 * True when the value can be stored (or is empty). On PostgreSQL 16+ pg_input_is_valid() checks it
 * without a subtransaction; older servers use atlas's own function from sql/001.
 */
export function validSql(plan: ValidityPlan, raw: string, schemaQuoted: string, hasPgInputIsValid: boolean): string {
  const v = { schemaQuoted, hasPgInputIsValid };
  const n = normalizedSql(plan, raw);
  if (plan.type.lossy !== null) {
    // CASE: each check runs only when those before it held (AND may be evaluated in any order).
    const checks = lossyChecks(plan, raw, v).map((c) => `when not ${c.ok} then false`);
    return `(case when ${n} is null then ${plan.required ? 'false' : 'true'} ${checks.join(' ')} else true end)`;
  }
  let check = inputValidSql(n, plan.type.nameSql, v);
  if (dropsTime(plan)) {
    // A date column reads '2010-01-01T01:00:00' as 2010-01-01: a time of day it would drop is a
    // mapping error, not a cut made without a word (midnight is none). CASE: the cast runs only on valid text.
    check = `(case when not ${check} then false when ${n} ~ '${TIME_OF_DAY}' and ${inputValidSql(n, `'timestamp'`, v)} then (${n})::timestamp::time = '00:00'::time else true end)`;
  }
  return plan.required ? `(${n} is not null and ${check})` : `(${n} is null or ${check})`;
}

/** A time of day after a date: `2010-01-01T01:00`, `2015/01/01 01:00:00`. */
const TIME_OF_DAY = '[0-9][T ]+[0-9]{1,2}:[0-9]{2}';

/** Text read into a date column (an existing one, from values that were not all dates): a time of day in it would be dropped. */
function dropsTime(plan: Pick<ColumnPlan, 'format' | 'type'>): boolean {
  return plan.format.kind === 'text' && baseOf(plan) === 'date';
}

/** mapping_errors.error_type for a value that failed `plan`'s check. */
export function errorTypeSql(plan: ValidityPlan, raw: string, schemaQuoted: string, hasPgInputIsValid: boolean): string {
  const missing = plan.required ? `when ${normalizedSql(plan, raw)} is null then 'missing_required' ` : '';
  if (plan.type.lossy !== null) {
    const checks = lossyChecks(plan, raw, { schemaQuoted, hasPgInputIsValid }).map((c) => `when not ${c.ok} then ${c.errorType} `);
    return missing === '' && checks.length === 0 ? `'type_mismatch'` : `case ${missing}${checks.join('')}else 'type_mismatch' end`;
  }
  return missing === '' ? baseErrorTypeSql(plan, raw) : `case ${missing}else ${baseErrorTypeSql(plan, raw)} end`;
}

/** The error type of a value its column's type cannot read. */
function baseErrorTypeSql(plan: Pick<ColumnPlan, 'type'>, raw: string): string {
  const t = baseOf(plan).replace(/\[\]$/, '');
  if (t === 'date' || t.startsWith('timestamp')) return `'datetime_conversion'`;
  if (['integer', 'bigint', 'smallint', 'numeric'].includes(t)) {
    return `case when ${trimmedSql(raw)} ~ '^[+-]?[0-9.,]+([eE][+-]?[0-9]+)?$' then 'numeric_overflow' else 'type_mismatch' end`;
  }
  return `'type_mismatch'`;
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
 * (`numeric_overflow`, naming the range and the type that holds it), a date or time that cannot be
 * read (`datetime_conversion`, with the form it was read in), a value that does not fit a declared
 * length, precision or scale (`value_too_long`, `precision_loss`, saying what PostgreSQL would
 * store), anything else (`type_mismatch`). `target` and `type` are SQL text expressions of the
 * column's name and type. Computed only for the values that failed.
 */
export function errorSql(plan: ValidityPlan & Pick<ColumnPlan, 'sqlType'>, raw: string, target: string, type: string, v: ValidityCheck): { type: string; message: string } {
  const causes = errorCausesSql(plan, raw, target, type, v);
  if (plan.type.lossy === null) return causes;
  // A column with a declared length, precision or scale: its checks say which one failed, and a value
  // that only does not fit is told what PostgreSQL would have stored.
  const fit = fitErrorMessageSql(plan, raw, v.schemaQuoted, v.hasPgInputIsValid, type);
  return { type: errorTypeSql(plan, raw, v.schemaQuoted, v.hasPgInputIsValid), message: fit === null ? causes.message : `coalesce(${fit}, ${causes.message})` };
}

/** A value in a message as the file has it, in quotes (not as an SQL literal: `C:\\temp`, `it's`), its first 100 characters and `…` when cut. */
function shownValueSql(value: string): string {
  return `format('''%s%s''', left(${value}, 100), case when length(${value}) > 100 then '…' end)`;
}

function errorCausesSql(plan: ValidityPlan & Pick<ColumnPlan, 'sqlType'>, raw: string, target: string, type: string, v: ValidityCheck): { type: string; message: string } {
  const n = normalizedSql(plan, raw);
  const shown = shownValueSql(trimmedSql(raw));
  const cases: Array<{ when: string; type: string; message: string }> = [];
  if (plan.required) cases.push({ when: `${n} is null`, type: 'missing_required', message: `format('Value is missing and column %s is required', ${target})` });
  const base = plan.type.base ?? '';
  if (plan.type.domain && plan.type.base !== null) {
    // A value its base type takes (modifier, dropped time of day and all) failed only the domain's own CHECK.
    const baseType = { ...plan.type, nameSql: `'${base}'`, domain: false, lossy: plan.type.lossy === null ? null : { ...plan.type.lossy, domain: false } };
    cases.push({
      when: validSql({ ...plan, type: baseType, required: false }, raw, v.schemaQuoted, v.hasPgInputIsValid),
      type: 'check_violation',
      message: `format('Value %s is refused by a CHECK of %s, the type of column %s', ${shown}, ${type}, ${target})`,
    });
  }
  const integer = INTEGER_RANGES[base];
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
  } else if (base === 'date' || base.startsWith('timestamp')) {
    if (dropsTime(plan)) {
      cases.push({
        // (Nested: a value that failed for another reason may not be a timestamp at all.)
        when: `(case when ${n} ~ '${TIME_OF_DAY}' and ${inputValidSql(n, `'timestamp'`, v)} then (${n})::timestamp::time <> '00:00'::time else false end)`,
        type: 'datetime_conversion',
        message: `format('Value %s has a time of day, which %s would drop; timestamp holds it', ${shown}, ${type})`,
      });
    }
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

/**
 * For a value that failed only because it does not fit its column's modifier: a message saying
 * what PostgreSQL would have stored (`typeName`: SQL giving the column's type name); else NULL.
 * Null when the column cannot have such values.
 */
export function fitErrorMessageSql(plan: ValidityPlan, raw: string, schemaQuoted: string, hasPgInputIsValid: boolean, typeName: string): string | null {
  const l = plan.type.lossy;
  if (l === null || plan.fitByCast) return null;
  const n = normalizedSql(plan, raw);
  const checks = lossyChecks(plan, raw, { schemaQuoted, hasPgInputIsValid });
  const before = checks.slice(0, checks.findIndex((c) => c.kind === 'fit'));
  const fit = checks.find((c) => c.kind === 'fit')!;
  const stored = `(${n})::${l.modified}`;
  const message = `format('Value %s does not fit %s: PostgreSQL would store %s', ${shownValueSql(n)}, ${typeName}, ${shownValueSql(`(${stored})::text`)})`;
  return `case when ${n} is null then null ${before.map((c) => `when not ${c.ok} then null`).join(' ')} when not ${fit.ok} then ${message} end`;
}

const CANONICAL_SQL_PATTERN: Partial<Record<ValueFormat['kind'], string>> = {
  integer: '^-?(0|[1-9][0-9]*)$',
  numeric: '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$',
  timestamp: '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$',
};

/** CANONICAL_SQL_PATTERN's timestamp with its zone required. */
const ZONED_TIMESTAMP_PATTERN = CANONICAL_SQL_PATTERN.timestamp!.replace(/\)\?\$$/, ')$');

/** A date's strftime form (`%d/%m/%Y`), as corrections' source_format and mapping formats write it. */
export function strftimeDate(order: DateOrder, separator: string): string {
  const parts = order === 'ymd' ? ['%Y', '%m', '%d'] : order === 'mdy' ? ['%m', '%d', '%Y'] : ['%d', '%m', '%Y'];
  return parts.join(separator);
}

/** True when values of this column may be stored in a form other than their text. */
export function recordsCorrections(plan: Pick<ColumnPlan, 'recordCorrections' | 'type' | 'fitByCast'>): boolean {
  return recordsCoercions(plan) || (plan.fitByCast === true && plan.type.lossy !== null) || isFloat(plan);
}

/** A column of real or double precision (or a domain over one): it keeps about 6-9 and 15-17 significant digits of a number. */
function isFloat(plan: { type: TypeRef }): boolean {
  return baseOf(plan) === 'real' || baseOf(plan) === 'double precision';
}

/**
 * A number a real or double precision column rounds (`16777217` into real is 16777216,
 * `0.1234567891` is 0.12345679): recorded as `rounding`, `after` as stored. Compared by the
 * stored value's shortest text, which is exactly the float (a cast to numeric keeps fewer digits).
 * Only valid values reach it, so both casts succeed.
 */
function floatRoundingSql(plan: ColumnPlan, raw: string, cast: string): Correction {
  const n = normalizedSql(plan, raw);
  return {
    condition: `${n} ~ ${NUMBER_SQL_PATTERN} and ((${cast})::text)::numeric <> (${n})::numeric`,
    value: `jsonb_build_object('before', ${raw}, 'after', to_jsonb(${cast}), 'correction_type', 'rounding', 'target_type', ${plan.type.targetTypeSql})`,
  };
}

/** Values of this column may be read from a form other than their text (a US date, "yes", "1,234.50"). */
function recordsCoercions(plan: Pick<ColumnPlan, 'recordCorrections' | 'type'>): boolean {
  return plan.recordCorrections && !isTextType(baseOf(plan)) && baseOf(plan) !== 'jsonb';
}

/** A column's correction: recorded where `condition` holds, as `value`. */
export interface Correction {
  condition: string;
  value: string;
  /** `value` may hold `"after": null` (a value read as NULL), which jsonb_strip_nulls would remove. */
  nullAfter?: boolean;
}

/**
 * A jsonb correction for this column when the stored value differs in form from the file's text,
 * else NULL. Shapes are the spec's: type_coercion with target_type, datetime_standardization with
 * source_format (strftime-style); and null_value for whitespace only, stored as NULL.
 */
export function correctionSql(plan: ColumnPlan, raw: string, converted?: string): Correction | null {
  if (!recordsCorrections(plan)) return null;
  const cast = converted ?? castSql(plan, raw);
  const coercion = recordsCoercions(plan) ? coercionSql(plan, raw, cast) : null;
  if (isFloat(plan)) return combined(floatRoundingSql(plan, raw, cast), coercion);
  const l = plan.type.lossy;
  if (!plan.fitByCast || l === null) return coercion;
  // The column takes PostgreSQL's cast (`"fit": "cast"`): a value it cut or rounded is recorded as
  // such (`before` the file's text, `after` as stored), in place of any other correction.
  const n = normalizedSql(plan, raw);
  const changed = `${n} is not null and (${cast})::${l.unconstrained} <> (${n})::${l.unconstrained}`;
  const lossy = `jsonb_build_object('before', ${raw}, 'after', to_jsonb(${cast}), 'correction_type', '${l.change}', 'target_type', ${plan.type.targetTypeSql})`;
  return combined({ condition: changed, value: lossy }, coercion);
}

/** A cut or rounding recorded in place of any other correction of the same value. */
function combined(change: Correction, coercion: Correction | null): Correction {
  if (coercion === null) return change;
  return { condition: `((${change.condition}) or (${coercion.condition}))`, value: `case when ${change.condition} then ${change.value} else ${coercion.value} end`, nullAfter: coercion.nullAfter };
}

const TIMESTAMP_BASES = ['timestamp without time zone', 'timestamp with time zone'];

/** The correction of a value read from a form other than its text, as correctionSql describes. */
function coercionSql(plan: ColumnPlan, raw: string, cast: string): Correction {
  const f = plan.format;
  const t = valueSql(plan, raw);
  // A number read into an integer column is its stored text only when written as an integer (1600.00 is a correction).
  // A time without a zone read into timestamptz takes the session's zone: a change of form, recorded (its `after` names the zone).
  const pattern =
    f.kind === 'numeric' && INTEGER_RANGES[baseOf(plan)] !== undefined
      ? CANONICAL_SQL_PATTERN.integer
      : f.kind === 'timestamp' && baseOf(plan) === 'timestamp with time zone'
        ? ZONED_TIMESTAMP_PATTERN
        : CANONICAL_SQL_PATTERN[f.kind];
  // A date's text as stored (its JSON, a string: `#>> '{}'` takes the text), recorded as `after`.
  const dateText = `to_jsonb(${cast}) #>> '{}'`;
  // Text read into a typed column: a correction only where the stored value's text differs. For a
  // year-first date that is the text compared with `after` (a regular expression match costs more
  // per row than computing it). A day/month-first date never reads like its stored text, which
  // starts with the year, so every value is one and no comparison is made (docs/decisions.md).
  const canonical =
    f.kind === 'boolean'
      ? `${raw} in ('true', 'false')`
      : f.kind === 'date'
        ? f.order === 'ymd'
          ? `${raw} = (${dateText})`
          : null
        : pattern
          ? `${raw} ~ '${pattern}'`
          : TIMESTAMP_BASES.includes(baseOf(plan))
            ? `(${raw} = (${cast})::text or ${raw} = (${dateText}))` // 2026-03-05T11:00:00 is as stored: `after` writes it so
            : `${raw} = (${cast})::text`;
  const typed = canonical === null ? `${t} is not null` : `${t} is not null and not (${canonical})`;
  // Whitespace only (trimmed to nothing) is stored as NULL: recorded as a value read as NULL, as
  // --null-value's are. Only where some value had whitespace around it (else nothing is trimmed).
  const blank = plan.trim === false ? null : `${t} is null and ${raw} <> ''`;
  const condition = blank === null ? typed : `(${typed}) or (${blank})`;
  const nulled = `jsonb_build_object('before', ${raw}, 'after', null, 'correction_type', 'null_value')`;
  const orNulled = (value: string): string => (blank === null ? value : `case when ${t} is null then ${nulled} else ${value} end`);
  // A column of dates in more than one form (text) into a date or timestamp column: each value's own form.
  const mixed = f.kind === 'text' && f.dayMonth !== undefined && (baseOf(plan) === 'date' || TIMESTAMP_BASES.includes(baseOf(plan)));
  if (f.kind === 'date' || f.kind === 'timestamp' || mixed) {
    const datePart = f.kind === 'text' ? mixedDateFormatSql(t, f.dayMonth ?? {}) : `'${strftimeDate(f.order, f.separator)}'`;
    const timePart =
      f.kind === 'date' || (f.kind === 'text' && baseOf(plan) === 'date')
        ? null
        : `case when ${t} ~ '[0-9]:[0-9]{2}' then concat(case when ${t} ~ 'T' then 'T' else ' ' end, case when ${t} ~* '[ap]m$' then '%I' else '%H' end, ':%M', case when ${t} ~ ':[0-9]{2}:[0-9]{2}' then ':%S' else '' end, case when ${t} ~* '[ap]m$' then ' %p' else '' end) else '' end`;
    const sourceFormat = timePart === null ? datePart : `concat(${datePart}, ${timePart})`;
    // Every member is a string, so the object is built from a text array: jsonb_build_object's
    // handling of its "any" arguments costs a third more per row (docs/decisions.md).
    return {
      condition,
      value: orNulled(`jsonb_object(array['before', ${raw}, 'after', ${dateText}, 'correction_type', 'datetime_standardization', 'source_format', ${sourceFormat}])`),
      nullAfter: blank !== null,
    };
  }
  return {
    condition,
    value: orNulled(`jsonb_build_object('before', ${raw}, 'after', to_jsonb(${cast}), 'correction_type', 'type_coercion', 'target_type', ${plan.type.targetTypeSql})`),
    nullAfter: blank !== null,
  };
}
