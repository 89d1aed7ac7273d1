/**
 * One key, one shape (issue 19.6), shared by the readers whose columns are discovered while
 * reading (XML, JSON, NDJSON) and by staging (reshapeLateArrays in db/staging/index.ts). A key that
 * holds an array in any record (an XML element repeated, a JSON array) is an array column in
 * every record. The readers stream, so the records staged before a key's first array hold it as
 * read: its text or scalar in its column, or, for an element or object met once, flattened into
 * `key_member` columns. What the readers remember here, one entry per key (memory stays flat
 * whatever the number of records), is enough for one UPDATE after staging to rewrite those
 * records as JSON. Readers and staging write each value as it was (an object, a scalar); the
 * array of one is made where the value goes into a jsonb column (castSql), so that a key going
 * into an existing text column can keep its scalars as their text.
 */

/** What a reader remembers across records about the shape of each key. */
export interface KeyShapes {
  /** Keys whose values are JSON text (arrays, deep objects): stored as jsonb. */
  jsonKeys: Set<string>;
  /** Record number from which each key in `jsonKeys` is written as JSON text (its text or scalar as read before). */
  jsonSince: Map<string, number>;
  /** Keys seen holding an array: written as JSON from then on, each value as it is (an array of one is made in SQL: castSql). */
  repeated: Set<string>;
  /** Record number at which each key in `repeated` first held an array. */
  repeatedSince: Map<string, number>;
  /**
   * Keys made by flattening a member met once (XML `child_attr`, `child_grandchild`; JSON
   * `key_inner`): the key flattened and the member's name in its JSON (`attr`, `inner`); null
   * where two keys' members share one column, or the record itself has a key of that name.
   */
  memberOf: Map<string, { element: string; member: string } | null>;
  /** Keys with a `_` written for the record itself: a flattened member's column may be one of them. */
  ownKeys: Set<string>;
  /**
   * JSON: keys that held a number or a boolean before their `jsonSince`, staged as written
   * (`1.50`, `true`): turned into JSON they are read as JSON literals, not as strings. Keys not
   * here held only strings there (XML: every key).
   */
  literals: Set<string>;
  /**
   * JSON: by position among a record's top-level members, the key last noted there as own and as
   * a literal. Records mostly repeat their keys, so a key noted already is passed over with one
   * comparison instead of a Set lookup per value (300k bench NDJSON records: the noting costs
   * ~10% of the reading without this).
   */
  notedAt: { own: string[]; literal: string[] };
}

/** An empty KeyShapes. */
export function newKeyShapes(): KeyShapes {
  return { jsonKeys: new Set(), jsonSince: new Map(), repeated: new Set(), repeatedSince: new Map(), memberOf: new Map(), ownKeys: new Set(), literals: new Set(), notedAt: { own: [], literal: [] } };
}

/** Notes that `key` is written as JSON text from record `rn` on. */
export function noteJson(shapes: KeyShapes, key: string, rn: number): void {
  if (shapes.jsonKeys.has(key)) return;
  shapes.jsonKeys.add(key);
  shapes.jsonSince.set(key, rn);
}

/** Notes that `key` held an array in record `rn`: an array (and JSON) from then on. */
export function noteRepeated(shapes: KeyShapes, key: string, rn: number): void {
  if (shapes.repeated.has(key)) return;
  shapes.repeated.add(key);
  shapes.repeatedSince.set(key, rn);
  noteJson(shapes, key, rn);
}

/** Remembers that column `key` is `member` of the flattened `element` (null when another origin had the column). */
export function noteMember(shapes: KeyShapes, key: string, element: string, member: string): void {
  const origin = shapes.memberOf.get(key);
  if (origin === undefined) shapes.memberOf.set(key, shapes.ownKeys.has(key) ? null : { element, member });
  else if (origin !== null && (origin.element !== element || origin.member !== member)) shapes.memberOf.set(key, null);
}

/** A key of the record itself: no member's column once it is one (only keys with `_` can be). */
export function noteOwn(shapes: KeyShapes, key: string): void {
  if (!key.includes('_') || shapes.ownKeys.has(key)) return;
  shapes.ownKeys.add(key);
  if (shapes.memberOf.get(key)) shapes.memberOf.set(key, null);
}

/**
 * A key held once (not as an array) in some records before `since` and as an array from there
 * on: those records are to hold it as an array of one, built from its own column (`key`) and its
 * flattened `members` (column -> member name).
 */
export interface LateArray {
  key: string;
  since: number;
  members: Array<{ column: string; member: string }>;
}

/** The keys that became arrays after records had held them otherwise, with what rewriting them needs. */
export function lateArrays(shapes: KeyShapes): LateArray[] {
  const out: LateArray[] = [];
  for (const [key, since] of shapes.repeatedSince) {
    if (since <= 1) continue;
    const members: LateArray['members'] = [];
    for (const [column, origin] of shapes.memberOf) if (origin?.element === key) members.push({ column, member: origin.member });
    out.push({ key, since, members });
  }
  return out;
}

/** What staging needs, after the last record, to give every key one shape. */
export interface LateShapes {
  arrays: LateArray[];
  /** Every key that held an array in some record: its column's one shape is an array (castSql makes its other values arrays of one). */
  repeated: ReadonlySet<string>;
  jsonSince: ReadonlyMap<string, number>;
  /** See KeyShapes.literals. */
  literals: ReadonlySet<string>;
  /** The member under which a flattened element's own text goes (XML `#text`); null when the key's column holds no text beside its members (JSON). */
  textMember: string | null;
}

/** The LateShapes of a reader's KeyShapes. */
export function lateShapes(shapes: KeyShapes, textMember: string | null): LateShapes {
  return { arrays: lateArrays(shapes), repeated: shapes.repeated, jsonSince: shapes.jsonSince, literals: shapes.literals, textMember };
}
