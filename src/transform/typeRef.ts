/**
 * How atlas's SQL refers to a column's type (TypeRef): by atlas's own name for a type it declares,
 * and for a column of an existing table from the catalog's parts, quoted, with the declared
 * modifier (length, precision, scale, fields) written back from its number. Pure code.
 */
import { quoteIdent } from './naming.js';

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

/**
 * A column's type as atlas's SQL refers to it. For a column atlas creates, its own type name; for a
 * column of an existing table, built from the catalog's parts: schema and type name quoted as
 * identifiers, the declared modifier as integers. Catalog text is never pasted into SQL, so a
 * domain named `customer's_amount` (or `a'||f()||'`) is just a name.
 */
export interface TypeRef {
  /** The type in SQL (casts, typed NULLs): `integer`, `"pg_catalog"."numeric"(10,2)`, `"public"."customer's_amount"`. */
  sql: string;
  /**
   * SQL giving the type's name as PostgreSQL spells it (for pg_input_is_valid): a literal of
   * atlas's own name, else the server's format_type() of the type's oid and modifier, computed
   * once per statement.
   */
  nameSql: string;
  /** SQL giving the name recorded as a correction's `target_type` (upper case, as the spec writes it). */
  targetTypeSql: string;
  /**
   * The built-in type under any domains, without modifier, as format_type() spells it (`numeric`,
   * `character varying`, `integer[]`): what decides how text is read into it. Null for a type
   * outside pg_catalog (an enum, an extension's type).
   */
  base: string | null;
  /**
   * The declared length, precision, scale or fields that PostgreSQL's cast applies silently (it
   * cuts text to varchar(n), rounds to numeric(p,s)), on the column's type or under its domain.
   * Null when it has none (see lossyChecks).
   */
  lossy: LossyModifier | null;
  /**
   * The type has no extended hash function (json, xml, money, point, ...): duplicate checks hash
   * and compare its values as this type instead (`jsonb` for json, else `text`). Null when it has one.
   */
  hashAs: 'jsonb' | 'text' | null;
  /** The type is a domain with a CHECK or NOT NULL (its own or a domain's under it): it can refuse a value its base type takes. */
  domain: boolean;
}

/** A built-in type's modifier that changes values silently: `abcdefghijkl` into varchar(8) is cut, 2.345 into numeric(10,2) rounded. */
export interface LossyModifier {
  /** The built-in type without its modifier (`"pg_catalog"."varchar"`): the value as the file says it. */
  unconstrained: string;
  /** SQL giving the name of `unconstrained` (format_type), for the validity check. */
  unconstrainedName: string;
  /** The built-in type with its modifier (`"pg_catalog"."varchar"(8)`): the value as PostgreSQL would store it. */
  modified: string;
  /** The column's type is a domain over `modified` (its own checks run on the value as stored). */
  domain: boolean;
  /** What the cast does to a value that does not fit: cut (or pad) text and bit strings, round numbers, times and intervals. */
  change: 'truncation' | 'rounding';
  /** An array of the modified type: every element is cast alike. */
  array: boolean;
  /** The type reads any text (character types): no input check is needed. */
  anyText: boolean;
  /** numeric(precision, scale): a value whose integer part is too long fails the cast instead. */
  numeric: { precision: number; scale: number } | null;
}

/** The TypeRef of a type atlas declares itself (inferred, or named in a mapping file). */
export function atlasTypeRef(sqlType: string): TypeRef {
  const name = canonicalTypeName(sqlType);
  return { sql: sqlType, nameSql: `'${name}'`, targetTypeSql: `'${specTypeName(sqlType)}'`, base: name, lossy: null, hashAs: null, domain: false };
}

/** A type as the catalog describes it (pg_type and pg_namespace rows; oids and modifiers are numbers). */
export interface CatalogType {
  oid: number;
  typmod: number;
  schema: string;
  name: string;
  /** For an array type, its element type's schema and name. */
  element: { schema: string; name: string } | null;
}

/** A column's type and, under its domains (if any), the type they are built on with its modifier. */
export interface CatalogColumnType {
  type: CatalogType;
  base: CatalogType;
  /** format_type() of the base type without modifier, used only to classify it (never in SQL). */
  baseName: string;
  /** The type is a domain (or a domain over one) with a CHECK or NOT NULL of its own. @default false */
  constrainedDomain?: boolean;
}

/** What the modifier of each built-in type that has one means, as the integers its typmodin takes back. */
const MODIFIERS: Record<string, { change: 'truncation' | 'rounding'; args: (typmod: number) => number[] }> = {
  bpchar: { change: 'truncation', args: (m) => [m - 4] },
  varchar: { change: 'truncation', args: (m) => [m - 4] },
  bit: { change: 'truncation', args: (m) => [m] },
  varbit: { change: 'truncation', args: (m) => [m] },
  // ((precision << 16) | (scale & 0x7ff)) + 4, the scale an 11-bit signed number (negative since PostgreSQL 15).
  numeric: { change: 'rounding', args: (m) => [((m - 4) >> 16) & 0xffff, (((m - 4) & 0x7ff) ^ 0x400) - 0x400] },
  time: { change: 'rounding', args: (m) => [m] },
  timetz: { change: 'rounding', args: (m) => [m] },
  timestamp: { change: 'rounding', args: (m) => [m] },
  timestamptz: { change: 'rounding', args: (m) => [m] },
  // (range << 16) | precision; intervaltypmodin takes (range) or (range, precision), 0xffff meaning none.
  interval: { change: 'rounding', args: (m) => ((m & 0xffff) === 0xffff ? [(m >> 16) & 0x7fff] : [(m >> 16) & 0x7fff, m & 0xffff]) },
};

/** The built-in type with a modifier that `t` is or is an array of, or null. */
function modifiedBuiltin(t: CatalogType): (typeof MODIFIERS)[string] | null {
  const own = t.element ?? t;
  return own.schema === 'pg_catalog' && Object.hasOwn(MODIFIERS, own.name) ? MODIFIERS[own.name]! : null;
}

/**
 * `t` in SQL: its quoted schema and name, then its modifier as integers when it is a built-in type
 * (or an array of one) that has one. Another type's modifier (an extension's, PostGIS's
 * geometry(Point,4326)) cannot be written back from its number: such a column is cast to the type
 * without it, and the INSERT applies it (values that break it are caught by the validity check,
 * which is given the full name).
 */
function typeSql(t: CatalogType, withModifier: boolean): string {
  const name = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
  const mod = modifiedBuiltin(t);
  return withModifier && mod !== null && t.typmod >= 0 ? `${name}(${mod.args(t.typmod).join(', ')})` : name;
}

/**
 * Names for types whose format_type() without a modifier reads back as a different type: SQL
 * takes "bit" and "character" without a length as bit(1) and char(1).
 */
const UNBOUNDED_NAMES: Record<string, string> = { bit: 'bit varying', bpchar: 'bpchar' };

/** The lossy modifier of a column's type, of the type under its domain, or of its array's elements. */
function lossyModifier(c: CatalogColumnType): LossyModifier | null {
  const base = c.base;
  const mod = modifiedBuiltin(base);
  if (mod === null || base.typmod < 0) return null;
  const name = (base.element ?? base).name;
  const args = mod.args(base.typmod);
  return {
    unconstrained: typeSql(base, false),
    unconstrainedName: Object.hasOwn(UNBOUNDED_NAMES, name) ? `'${UNBOUNDED_NAMES[name]}${base.element === null ? '' : '[]'}'` : `(select format_type(${integer(base.oid)}, null))`,
    modified: typeSql(base, true),
    domain: c.type.oid !== base.oid,
    change: mod.change,
    array: base.element !== null,
    anyText: base.element === null && (name === 'varchar' || name === 'bpchar'),
    numeric: name === 'numeric' ? { precision: args[0]!, scale: args[1]! } : null,
  };
}

/** A number from the catalog as SQL: an integer literal, whatever it was given as. */
function integer(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer from the catalog: ${String(n)}`);
  return String(n);
}

/**
 * Built-in types atlas itself creates columns with (and a few more), by pg_catalog name: an
 * existing column of one, without modifier, is referred to by atlas's own name for it, so its SQL
 * is the same as for a column atlas creates.
 */
const PLAIN_TYPES: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  numeric: 'numeric',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  date: 'date',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  text: 'text',
  jsonb: 'jsonb',
  uuid: 'uuid',
};

/** The TypeRef of an existing column's type (hashAs is decided by the server: see db/tables.ts). */
export function catalogTypeRef(c: CatalogColumnType): TypeRef {
  const plain = c.type.schema === 'pg_catalog' && c.type.typmod < 0 && Object.hasOwn(PLAIN_TYPES, c.type.name) ? PLAIN_TYPES[c.type.name] : undefined;
  if (plain !== undefined) return atlasTypeRef(plain);
  const formatType = `format_type(${integer(c.type.oid)}, ${integer(c.type.typmod)})`;
  return {
    sql: typeSql(c.type, true),
    nameSql: `(select ${formatType})`,
    // A built-in type's name in capitals, as the spec writes target_type; any other as it is named.
    targetTypeSql: c.type.schema === 'pg_catalog' ? `(select upper(${formatType}))` : `(select ${formatType})`,
    base: c.base.schema === 'pg_catalog' ? c.baseName : null,
    lossy: lossyModifier(c),
    hashAs: null,
    domain: c.constrainedDomain === true,
  };
}

/** A NULL of `type`; a domain's from an empty array of it, since `null::domain` runs the domain's NOT NULL and fails. */
export function typedNullSql(type: Pick<TypeRef, 'sql' | 'domain'>): string {
  return type.domain ? `('{}'::${type.sql}[])[1]` : `null::${type.sql}`;
}
