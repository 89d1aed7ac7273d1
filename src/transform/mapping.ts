/**
 * The mapping file (`--mapping FILE`) and the effective mapping stored in
 * import_history.mapping_config share one shape, so any import can be repeated exactly by passing
 * its stored mapping back:
 *
 *   { "table": "customers", "strategy": "adapt_data", "key": ["email"],
 *     "columns": { "Signup Date": { "target": "signup_date", "type": "date", "format": "%d/%m/%Y", "null_values": ["NA"] },
 *                  "Internal": { "ignore": true } } }
 *
 * Pure code: validation reports every problem at once.
 */
import type { DateOrder, ValueFormat } from './infer.js';
import { MAX_IDENTIFIER_BYTES, MAX_SOURCE_NAME_CHARS, parseTableName, sanitizeIdentifier } from './naming.js';
import { strftimeDate } from './typeSql.js';

export const STRATEGIES = ['new_table', 'merge_exact', 'extend_table', 'adapt_data'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Types a mapping may ask for. */
export const MAPPING_TYPES = ['text', 'integer', 'bigint', 'smallint', 'numeric', 'real', 'double precision', 'boolean', 'date', 'timestamp', 'timestamptz', 'jsonb', 'uuid'] as const;
export type MappingType = (typeof MAPPING_TYPES)[number];

export interface ColumnMapping {
  /** Target column name (sanitised like a header when absent). */
  target?: string;
  type?: MappingType;
  /** Dates: strftime-style (`%d/%m/%Y`, `%m/%d/%Y %I:%M %p`). Numbers: `1234.56`, `1,234.56`, `$1,234.56`, `1.234,56`. */
  format?: string;
  ignore?: boolean;
  /** Values read as NULL in this column (replacing --null-value and the config's null_values for it; [] for none). */
  null_values?: string[];
  /**
   * A value that does not fit the existing column's declared length, precision or scale
   * (varchar(8), numeric(10,2), timestamp(0), ...): `error`, a mapping error; `cast`, stored as
   * PostgreSQL's cast makes it (cut, rounded), recorded in `_corrections_applied`. @default "error"
   */
  fit?: Fit;
}

export const FITS = ['error', 'cast'] as const;
export type Fit = (typeof FITS)[number];

export interface Mapping {
  table?: string;
  strategy?: Strategy;
  /** Uniqueness columns for duplicate checks (target names). */
  key?: string[] | null;
  columns?: Record<string, ColumnMapping>;
}

const TOP_KEYS = new Set(['table', 'strategy', 'key', 'columns']);
const COLUMN_KEYS = new Set(['target', 'type', 'format', 'ignore', 'null_values', 'fit']);

/**
 * `--key a,b`: the column names, trimmed. An empty or blank name (`--key ''` from an unset shell
 * variable, `--key ,`, `--key a,,b`) is an error: an empty key would make every row a duplicate.
 */
export function parseKeyList(text: string): string[] | string {
  const names = text.split(',').map((k) => k.trim());
  if (names.some((k) => k === '')) {
    return text.trim() === '' ? '--key needs at least one column name (was it given an unset variable?)' : `--key "${text}" has an empty column name`;
  }
  const twice = names.find((k, i) => names.indexOf(k) !== i);
  if (twice !== undefined) return `--key "${text}" names ${twice} twice`;
  return names;
}

/** A table or column name PostgreSQL keeps as it is: 1 to 63 bytes, no NUL. */
function isName(value: unknown): boolean {
  return typeof value === 'string' && value !== '' && !value.includes('\0') && Buffer.byteLength(value) <= MAX_IDENTIFIER_BYTES;
}

/**
 * A list of null values (the config's null_values, --null-value, a mapping's null_values): the
 * values trimmed, or a problem. An empty value is refused: empty fields are already NULL, and an
 * empty --null-value is more often an unset shell variable than a wish.
 */
export function checkNullValues(values: unknown, where: string): string[] | string {
  if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) return `${where} must be a list of strings`;
  const trimmed = values.map((v: string) => v.trim());
  if (trimmed.some((v) => v === '')) return `${where} has an empty value (empty fields are already NULL; was it given an unset variable?)`;
  return trimmed;
}

/** Validates a parsed mapping; returns the problems (empty when fine). `//` keys are comments. */
export function validateMapping(value: unknown): { mapping: Mapping; problems: string[] } {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { mapping: {}, problems: ['the mapping must be a JSON object'] };
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!k.startsWith('//') && !TOP_KEYS.has(k)) problems.push(`unknown key "${k}"`);
  if (obj.table !== undefined) {
    const parsed = typeof obj.table === 'string' ? parseTableName(obj.table) : null;
    if (parsed === null && typeof obj.table === 'string' && obj.table.includes('.')) problems.push(`"table" "${obj.table}" is not a name atlas can take: write name, schema.name, or \\"name\\" in double quotes for one that holds a dot`);
    else if (parsed === null || !isName(parsed.table)) problems.push(`"table" must be a name of 1 to ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  if (obj.strategy !== undefined && !STRATEGIES.includes(obj.strategy as Strategy)) problems.push(`"strategy" must be one of ${STRATEGIES.join(', ')}`);
  if (obj.key !== undefined && obj.key !== null && (!Array.isArray(obj.key) || obj.key.length === 0 || !obj.key.every((k) => typeof k === 'string' && k.trim() !== ''))) {
    problems.push('"key" must be a non-empty list of column names, none of them blank');
  } else if (Array.isArray(obj.key) && new Set(obj.key).size !== obj.key.length) problems.push('"key" names a column twice');
  if (obj.columns !== undefined) {
    if (typeof obj.columns !== 'object' || obj.columns === null || Array.isArray(obj.columns)) problems.push('"columns" must be an object keyed by source column');
    else {
      for (const [source, spec] of Object.entries(obj.columns as Record<string, unknown>)) {
        if (source.startsWith('//')) continue;
        if (source.length > MAX_SOURCE_NAME_CHARS) {
          problems.push(`a column of ${source.length} characters in "columns": atlas keeps the first ${MAX_SOURCE_NAME_CHARS} characters of a header cell or key, so name the column by those`);
          continue;
        }
        const where = `columns["${source}"]`;
        if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
          problems.push(`${where} must be an object`);
          continue;
        }
        const c = spec as Record<string, unknown>;
        for (const k of Object.keys(c)) if (!k.startsWith('//') && !COLUMN_KEYS.has(k)) problems.push(`${where}: unknown key "${k}"`);
        if (c.target !== undefined && !isName(c.target)) problems.push(`${where}.target must be a name of 1 to ${MAX_IDENTIFIER_BYTES} bytes`);
        if (c.ignore !== undefined && typeof c.ignore !== 'boolean') problems.push(`${where}.ignore must be true or false`);
        if (c.null_values !== undefined) {
          const checked = checkNullValues(c.null_values, `${where}.null_values`);
          if (typeof checked === 'string') problems.push(checked);
          else c.null_values = checked;
        }
        if (c.fit !== undefined && !FITS.includes(c.fit as Fit)) problems.push(`${where}.fit must be "error" (a value that does not fit the column is a mapping error) or "cast" (stored as PostgreSQL's cast makes it, recorded as a correction)`);
        if (c.type !== undefined && !MAPPING_TYPES.includes(c.type as MappingType)) problems.push(`${where}.type "${String(c.type)}" is not one of ${MAPPING_TYPES.join(', ')}`);
        if (c.format !== undefined) {
          if (typeof c.format !== 'string') problems.push(`${where}.format must be a string`);
          else if (c.type === undefined) problems.push(`${where}.format needs a "type"`);
          else if (c.type === 'date' && parseDateFormat(c.format)?.time === true) problems.push(`${where}.format "${c.format}" holds a time, which type date would drop: give type timestamp (or timestamptz) to keep it`);
          else if (formatFromMapping(c.type as MappingType, c.format) === null) problems.push(`${where}.format "${c.format}" cannot be used for type ${String(c.type)}`);
        }
      }
      // Two columns sent to one column: the second would go elsewhere (`x_2`), not where the mapping says.
      const byTarget = new Map<string, string[]>();
      for (const [source, spec] of Object.entries(obj.columns as Record<string, { target?: unknown; ignore?: unknown }>)) {
        if (source.startsWith('//') || typeof spec !== 'object' || spec === null || typeof spec.target !== 'string' || spec.ignore === true) continue;
        byTarget.set(spec.target, [...(byTarget.get(spec.target) ?? []), source]);
      }
      for (const [target, sources] of byTarget) if (sources.length > 1) problems.push(`columns ${sources.map((s) => `"${s}"`).join(' and ')} all have target "${target}": a column holds one of them`);
    }
  }
  return { mapping: obj as Mapping, problems };
}

/** Reads a strftime date part: order and separator, or null. */
function parseDateFormat(format: string): { order: DateOrder; separator: '-' | '/' | '.'; time: boolean } | null {
  const m = /^%([YmdD])([-/.])%([YmdD])\2%([YmdD])(.*)$/.exec(format.trim());
  if (!m) return null;
  const parts = `${m[1]}${m[3]}${m[4]}`;
  const order = parts === 'Ymd' ? 'ymd' : parts === 'mdY' ? 'mdy' : parts === 'dmY' ? 'dmy' : null;
  if (order === null) return null;
  const rest = m[5] ?? '';
  if (rest !== '' && !/^[ T]%[HI]:%M(:%S)?( ?%p)?$/.test(rest)) return null;
  return { order, separator: m[2] as '-' | '/' | '.', time: rest !== '' };
}

/**
 * Refuses a mapping that names columns the file does not have (a typo would otherwise leave a
 * column unmapped without a word), or sends a column into the one another column of the file goes
 * into by its own name (that one went into `name_2` without a word). `//` keys are comments.
 */
export function mappingColumnsProblem(mappingFile: string | null | undefined, mapping: Mapping, fileColumns: readonly string[]): { message: string; hint: string } | null {
  if (!mapping.columns) return null;
  const known = new Set(fileColumns);
  const unknown = Object.keys(mapping.columns).filter((c) => !c.startsWith('//') && !known.has(c));
  if (unknown.length > 0) return { message: `mapping file ${mappingFile}: column(s) not in the file: ${unknown.join(', ')}`, hint: `the file's columns are: ${fileColumns.join(', ')}` };
  const columns = mapping.columns;
  const named = new Map(fileColumns.filter((c) => columns[c]?.target === undefined && columns[c]?.ignore !== true).map((c) => [sanitizeIdentifier(c), c]));
  for (const [source, spec] of Object.entries(columns)) {
    const other = spec.target === undefined || spec.ignore === true ? undefined : named.get(spec.target);
    if (other === undefined || other === source || source.startsWith('//')) continue;
    return {
      message: `mapping file ${mappingFile}: column "${source}" has target "${spec.target}", the column the file's own "${other}" goes into`,
      hint: `give "${other}" a target of its own, or "ignore": true to leave it out`,
    };
  }
  return null;
}

/** A ValueFormat for a mapped type and optional format string, or null when they do not fit. */
export function formatFromMapping(type: MappingType, format: string | undefined): ValueFormat | null {
  if (type === 'date' || type === 'timestamp' || type === 'timestamptz') {
    if (format === undefined) return type === 'date' ? { kind: 'date', order: 'ymd', separator: '-' } : { kind: 'timestamp', order: 'ymd', separator: '-', zone: type === 'timestamptz' };
    const d = parseDateFormat(format);
    if (d === null) return null;
    return type === 'date' ? { kind: 'date', order: d.order, separator: d.separator } : { kind: 'timestamp', order: d.order, separator: d.separator, zone: type === 'timestamptz' };
  }
  if (['integer', 'bigint', 'smallint', 'numeric', 'real', 'double precision'].includes(type)) {
    switch (format ?? '1234.56') {
      case '1234.56':
      case '1234':
        return type === 'numeric' || type === 'real' || type === 'double precision' ? { kind: 'numeric', grouping: false, currency: null } : { kind: 'integer', dotZero: true };
      case '1,234.56':
      case '1,234':
        return { kind: 'numeric', grouping: true, currency: null };
      case '1.234,56':
        return { kind: 'numeric', grouping: true, currency: null, european: true };
      default: {
        const cur = /^([$€£¥])1,234(\.56)?$/.exec(format ?? '');
        return cur ? { kind: 'numeric', grouping: true, currency: cur[1]! } : null;
      }
    }
  }
  if (format !== undefined) return null;
  if (type === 'boolean') return { kind: 'boolean' };
  return { kind: 'text' };
}

/** The format string a ValueFormat is written as in a mapping (undefined when the type needs none). */
export function formatToMapping(format: ValueFormat): string | undefined {
  switch (format.kind) {
    case 'date':
      return strftimeDate(format.order, format.separator);
    case 'timestamp':
      return format.order === 'ymd' && format.separator === '-' ? undefined : strftimeDate(format.order, format.separator);
    case 'numeric':
      if (format.european) return '1.234,56';
      if (format.currency) return `${format.currency}1,234.56`;
      return format.grouping ? '1,234.56' : undefined;
    default:
      return undefined;
  }
}

/** `--max-errors N` or `N%`. */
export type ErrorBudget = { kind: 'count'; value: number } | { kind: 'percent'; value: number } | null;

export function parseErrorBudget(text: string): ErrorBudget | string {
  const m = /^(\d+(?:\.\d+)?)(%)?$/.exec(text.trim());
  if (!m) return `--max-errors must be a number (5) or a percentage (2%), not "${text}"`;
  const value = Number(m[1]);
  if (m[2]) return value > 100 ? '--max-errors percentage must be at most 100%' : { kind: 'percent', value };
  return Number.isInteger(value) ? { kind: 'count', value } : '--max-errors must be a whole number of errors';
}

/** True when `errors` exceed the budget for `rows` data rows (N errors are allowed, N+1 fail). */
export function overBudget(budget: ErrorBudget, errors: number, rows: number): boolean {
  if (budget === null) return false;
  if (budget.kind === 'count') return errors > budget.value;
  return errors > (budget.value / 100) * rows;
}
