import { createHash } from 'node:crypto';

/** PostgreSQL truncates identifiers to NAMEDATALEN-1 bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

/** Column names atlas owns in every data table; a user column may never take one. */
export const RESERVED_COLUMNS = ['id', '_import_id', '_imported_at', '_source_row_number', '_corrections_applied', '_row_hash'] as const;

/**
 * PostgreSQL's system columns, which no user column may be called either (`oid` stopped being one
 * in PostgreSQL 12). Bounding-box data brings xmin and xmax.
 */
export const SYSTEM_COLUMNS = ['tableoid', 'xmin', 'cmin', 'xmax', 'cmax', 'ctid'] as const;

/** Who reserves a column name: atlas (its own columns), PostgreSQL (system columns), or nobody. */
export function reservedBy(name: string): 'atlas' | 'PostgreSQL' | null {
  if ((RESERVED_COLUMNS as readonly string[]).includes(name)) return 'atlas';
  return (SYSTEM_COLUMNS as readonly string[]).includes(name) ? 'PostgreSQL' : null;
}

/** Columns a PostgreSQL table may have (MaxHeapAttributeNumber), dropped ones included. */
export const PG_MAX_COLUMNS = 1600;
/** Columns of a file atlas can put in one table: PostgreSQL's limit less atlas's own. */
export const MAX_USER_COLUMNS = PG_MAX_COLUMNS - RESERVED_COLUMNS.length;
/** Why MAX_USER_COLUMNS, for error messages. */
export const COLUMN_LIMIT_REASON = `a PostgreSQL table holds at most ${PG_MAX_COLUMNS} columns, ${RESERVED_COLUMNS.length} of them atlas's own`;

/**
 * The longest header cell or key atlas keeps as a column's source name (in mapping_config and in
 * mapping_errors.source_field, which holds 255 characters); a longer one is cut, with a warning.
 * The column's own name keeps only its first 63 bytes anyway.
 */
export const MAX_SOURCE_NAME_CHARS = 255;

/**
 * A header cell or key as a column's source name: cut to MAX_SOURCE_NAME_CHARS (a surrogate pair
 * kept whole); null when it holds a NUL byte, which PostgreSQL text cannot hold.
 */
export function sourceNameOf(raw: string): string | null {
  if (raw.includes('\0')) return null;
  if (raw.length <= MAX_SOURCE_NAME_CHARS) return raw;
  const last = raw.charCodeAt(MAX_SOURCE_NAME_CHARS - 1);
  return raw.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_SOURCE_NAME_CHARS - 1 : MAX_SOURCE_NAME_CHARS);
}

/** The warning for a source name sourceNameOf cut; `where` names the column ("column 7 of the header"). */
export function cutSourceNameNote(where: string, length: number): string {
  return `${where} is ${length.toLocaleString('en-US')} characters long: atlas keeps its first ${MAX_SOURCE_NAME_CHARS} as the column's source name (its name keeps ${MAX_IDENTIFIER_BYTES} bytes)`;
}

/** The error for a source name holding a NUL byte; `where` names the column. */
export function nulSourceNameProblem(where: string): string {
  return `${where} holds a NUL byte, which PostgreSQL cannot store in a name or text`;
}

/** Cuts a string to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (used + size > maxBytes) break;
    out += ch;
    used += size;
  }
  return out;
}

const NOT_WORD_EDGES = /^[^\p{L}\p{M}\p{N}_]+|[^\p{L}\p{M}\p{N}_]+$/gu;
const NOT_WORD_RUN = /[^\p{L}\p{M}\p{N}_]+/gu;

/**
 * Lower case; punctuation at either end dropped; every inner run of characters other than
 * letters (with their combining marks: vowel signs, viramas), digits and `_` becomes one `_`; cut to 63 bytes. Empty when nothing is left.
 */
export function sanitizeIdentifier(raw: string, maxBytes = MAX_IDENTIFIER_BYTES): string {
  const lowered = raw.normalize('NFC').toLowerCase();
  const name = lowered.replace(NOT_WORD_EDGES, '').replace(NOT_WORD_RUN, '_');
  return maxBytes === Infinity ? name : truncateUtf8(name, maxBytes);
}

/** Appends `suffix` to `name`, cutting `name` so the result stays within 63 bytes. */
function withSuffix(name: string, suffix: string): string {
  return truncateUtf8(name, MAX_IDENTIFIER_BYTES - Buffer.byteLength(suffix, 'utf8')) + suffix;
}

/**
 * Column names for a header row: sanitised, empty ones named `column_N`, names atlas or
 * PostgreSQL reserves and duplicates (also those equal only after sanitising or after the 63-byte
 * cut) made unique with `_2`, `_3`, ...
 */
export function columnNamesFromHeader(header: readonly string[]): string[] {
  const namer = new ColumnNamer();
  return header.map((raw) => namer.next(raw));
}

/** Assigns column names one at a time (for inputs whose columns appear while reading), as columnNamesFromHeader does. */
export class ColumnNamer {
  private readonly taken = new Set<string>([...RESERVED_COLUMNS, ...SYSTEM_COLUMNS]);
  private count = 0;

  /** The name for the next column; `preferred` (a mapping's target) is used as given when free. */
  next(raw: string, preferred?: string): string {
    this.count++;
    const base = preferredColumnName(raw, preferred) || `column_${this.count}`;
    let name = base;
    for (let n = 2; this.taken.has(name); n++) name = withSuffix(base, `_${n}`);
    this.taken.add(name);
    return name;
  }
}

/**
 * Names columns in a mapping (`mapping_config.columns`) one at a time: by their source name, and a
 * name the file repeats (`a,b,a`, empty header cells) as `a#2`, `a#3` for its later columns, so that
 * the stored mapping names every column once and replays each onto the same one.
 */
export class MappingKeys {
  private readonly used = new Set<string>();

  next(sourceName: string): string {
    let key = sourceName;
    for (let n = 2; this.used.has(key); n++) key = `${sourceName}#${n}`;
    this.used.add(key);
    return key;
  }
}

/** The mapping keys of a header's columns (see MappingKeys). */
export function mappingKeysOf(names: readonly string[]): string[] {
  const keys = new MappingKeys();
  return names.map((n) => keys.next(n));
}

/** The name a column would get before it is made unique: the mapping's target, else the sanitised header ('' when nothing is left). */
function preferredColumnName(raw: string, preferred?: string): string {
  return preferred ?? sanitizeIdentifier(raw);
}

/**
 * The columns whose name was taken by atlas or PostgreSQL and got a suffix instead (`id` ->
 * `id_2`, `xmin` -> `xmin_2`), as a warning, or null when none was. `targets` are a mapping's.
 */
export function reservedRenamesWarning(columns: ReadonlyArray<{ sourceName: string; targetName: string }>, targets: ReadonlyMap<string, string>): string | null {
  const renamed = columns.flatMap((c) => {
    const wanted = preferredColumnName(c.sourceName, targets.get(c.sourceName));
    const by = reservedBy(wanted);
    return by === null ? [] : [`${c.sourceName} -> ${c.targetName} (${by === 'atlas' ? "atlas's own column" : 'a PostgreSQL system column'})`];
  });
  return renamed.length === 0 ? null : `column(s) renamed because their names are reserved: ${renamed.join(', ')}`;
}

/** Name of an index of a table atlas creates: readable, unique per table, always within 63 bytes. */
function indexName(tableName: string, what: string): string {
  const hash = createHash('sha256').update(tableName).digest('hex').slice(0, 8);
  return withSuffix(`idx_${sanitizeIdentifier(tableName) || 't'}`, `_${hash}_${what}`);
}

export const importIdIndexName = (tableName: string): string => indexName(tableName, 'import_id');
export const rowHashIndexName = (tableName: string): string => indexName(tableName, 'row_hash');
/** The unique index on an upsert's key, of a table that upsert created. */
export const keyIndexName = (tableName: string): string => indexName(tableName, 'key');

/** Quotes an identifier for SQL (doubling embedded quotes). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The name of one of an import's temp tables (`kind`: stage, dups, ...), unique to the import. */
export function importTempTable(importId: string, kind: string): string {
  return `_atlas_${kind}_${importId.replace(/-/g, '').slice(0, 16)}`;
}

/** `"schema"."name"` */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * A table name as PostgreSQL users write it: `orders`, `schema.orders` (either part may be in
 * double quotes), or `"a.b"` for a name that holds a dot; null when it is none of these (a dot
 * outside quotes in a name of more than two parts).
 */
export function parseTableName(given: string): { schema: string | null; table: string } | null {
  const unquote = (part: string): string => (part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part);
  const quoted = /^"((?:[^"]|"")+)"$/.exec(given);
  if (quoted) return { schema: null, table: unquote(given) };
  const dot = /^("(?:[^"]|"")+"|[^".]+)\.("(?:[^"]|"")+"|[^".]+)$/.exec(given);
  // A quote that opens a name and never closes it is a typo, not part of a name (`"orders`).
  if (dot === null) return given.includes('.') || given.startsWith('"') ? null : { schema: null, table: given };
  return { schema: unquote(dot[1]!), table: unquote(dot[2]!) };
}
