/**
 * One key, one shape, in the staging table: records read before a key's first array are rewritten
 * to hold it as JSON (see reshapeLateArrays).
 */
import type { TableStream } from '../../formats/shared/index.js';
import { quoteIdent } from '../../transform/naming.js';
import { JSON_LITERAL } from '../../transform/typeSql.js';
import type { Client } from '../connection.js';
import type { StagedColumn, StageResult } from './columns.js';

/**
 * One key, one shape (formats/shared/lateArrays.ts): a key (an XML element, a JSON key) held once in
 * some records and as an array in later ones is a jsonb array in every record. The readers
 * stream, so the records staged before its first array hold it as read (its text or scalar in
 * its column, or flattened into `key_member` columns); here those rows are rewritten to hold it as
 * JSON (an XML element as xmlToJson makes it, a JSON object or scalar as it was), and the columns
 * its single occurrences were flattened into leave the import. Every other column of JSON is made
 * JSON text in the rows read before its first JSON value, so that a string there stays a JSON
 * string whatever it starts with (jsonColumnSql casts as it is); a scalar's JSON text keeps its
 * form (`1e3`), so that one going into an existing text column is its text again. A value that
 * is not an array is made an array of one where the column is jsonb (castSql), so a key's columns
 * are marked `arrays`. Costs one UPDATE of the rows before that point per such key, then the
 * staging table written again in file order (an UPDATE moves rows), nothing when every key keeps
 * one shape. A key whose flattened columns also hold values of another origin after its first
 * array is left as read; a column of scalars is marked with how they read as JSON (`scalars`),
 * for an existing jsonb column. Returns the records rewritten, by key.
 */
export async function reshapeLateArrays(client: Client, stage: string, result: StageResult, table: Extract<TableStream, { kind: 'keyed' }>): Promise<Record<string, number>> {
  const rewritten = Object.create(null) as Record<string, number>;
  let touched = false;
  const found = table.lateShapes();
  const byKey = new Map(result.columns.map((c) => [c.sourceName, c]));
  const dropped = new Set<string>();
  /** Columns whose every staged value is JSON text once rewritten. */
  const done = new Set<string>();
  const ref = (c: StagedColumn): string => `s.${quoteIdent(c.ref.name)}`;
  /** A value staged as read (before its key was written as JSON) as JSON text: a string, or a JSON literal as written where its key had numbers or booleans. */
  const readAsJsonText = (c: StagedColumn, params: unknown[]): string => {
    if (!found.literals.has(c.sourceName)) return `to_jsonb(${ref(c)})::text`;
    params.push(JSON_LITERAL);
    return `case when ${ref(c)} ~ $${params.length}::text then ${ref(c)} else to_jsonb(${ref(c)})::text end`;
  };
  /** A staged value as JSON text, wherever it was read. */
  const asJsonText = (c: StagedColumn, params: unknown[]): string => {
    const early = readAsJsonText(c, params);
    const since = found.jsonSince.get(c.sourceName);
    if (since === undefined) return early;
    params.push(since);
    return `case when s._rn >= $${params.length}::int then ${ref(c)} else ${early} end`;
  };
  // Keys with flattened members first: a member that is itself an array later is folded into its key.
  for (const late of [...found.arrays].sort((a, b) => b.members.length - a.members.length)) {
    const column = byKey.get(late.key);
    if (column === undefined || dropped.has(late.key)) continue;
    const members = late.members.flatMap((m) => {
      const c = byKey.get(m.column);
      return c === undefined || dropped.has(m.column) ? [] : [{ member: m.member, column: c }];
    });
    const params: unknown[] = [late.since];
    if (members.length > 0) {
      const other = await client.query<{ clash: boolean }>(
        `select exists (select 1 from ${quoteIdent(stage)} s where s._rn >= $1 and (${members.map((m) => `${ref(m.column)} is not null`).join(' or ')})) as clash`,
        params,
      );
      if (other.rows[0]!.clash) continue;
    }
    // Each member present as a one-key object, concatenated (no subquery per row: 150k rows in a third of the time).
    const member = (key: string, c: StagedColumn): string => {
      params.push(key);
      return `case when ${ref(c)} is not null then jsonb_build_object($${params.length}::text, (${asJsonText(c, params)})::jsonb) else '{}'::jsonb end`;
    };
    const own = asJsonText(column, params);
    const anyMember = members.length === 0 ? 'false' : members.map((m) => `${ref(m.column)} is not null`).join(' or ');
    // The key's JSON: an object of its members (and, XML, its own text as "#text"), or, with none, its text or JSON.
    const parts = (): string[] => [...members.map((m) => member(m.member, m.column)), ...(found.textMember === null ? [] : [member(found.textMember, column)])];
    const element = members.length === 0 ? own : `case when ${anyMember} then (${parts().join(' || ')})::text else ${own} end`;
    const res = await client.query(
      `update ${quoteIdent(stage)} s set ${quoteIdent(column.ref.name)} = ${element}
        where s._rn < $1 and (${ref(column)} is not null or ${anyMember})`,
      params,
    );
    // A key absent from every earlier record (first met as an array) has nothing rewritten, and is not counted.
    if (res.rowCount) {
      rewritten[late.key] = res.rowCount;
      touched = true;
    }
    done.add(late.key);
    for (const m of members) dropped.add(m.column.sourceName);
  }
  result.columns = result.columns.filter((c) => !dropped.has(c.sourceName));
  for (const c of result.columns) {
    if (c.json && found.repeated.has(c.sourceName)) c.arrays = true;
    if (!c.json) c.scalars = found.literals.has(c.sourceName) ? 'literals' : 'strings';
    const since = found.jsonSince.get(c.sourceName);
    if (!c.json || done.has(c.sourceName) || since === undefined || since <= 1) continue;
    const params: unknown[] = [since];
    const early = readAsJsonText(c, params);
    const res = await client.query(`update ${quoteIdent(stage)} s set ${quoteIdent(c.ref.name)} = ${early} where s._rn < $1 and ${ref(c)} is not null`, params);
    if (res.rowCount) touched = true;
  }
  if (touched) await restoreFileOrder(client, stage);
  return rewritten;
}

/**
 * An UPDATE writes the rows it changes at the end of the table: the staging table is written
 * again in file order, so that the table's ids follow the file (the INSERT reads it in order).
 */
async function restoreFileOrder(client: Client, stage: string): Promise<void> {
  const sorted = quoteIdent(`${stage}_sorted`);
  await client.query(`create temp table ${sorted} on commit drop as select * from ${quoteIdent(stage)} order by _rn`);
  await client.query(`truncate ${quoteIdent(stage)}`);
  await client.query(`insert into ${quoteIdent(stage)} select * from ${sorted}`);
  await client.query(`drop table ${sorted}`);
}

/**
 * How many values of each column are JSON arrays or objects, in the rows without a mapping error:
 * JSON going into a column that is not JSON (an existing text column) is stored as its JSON text.
 */
export async function countJsonValues(client: Client, stage: string, columns: StagedColumn[]): Promise<number[]> {
  return countInRows(client, stage, columns.map((c) => `count(*) filter (where left(s.${quoteIdent(c.ref.name)}, 1) in ('[', '{'))`));
}

/** Each of `counts` (aggregates over the staging table aliased `s`) in the rows without a mapping error, in one statement. */
async function countInRows(client: Client, stage: string, counts: string[]): Promise<number[]> {
  if (counts.length === 0) return [];
  const res = await client.query<Record<string, string>>(`select ${counts.map((c, i) => `${c} as c${i}`).join(', ')} from ${quoteIdent(stage)} s where s._err is null`);
  return counts.map((_, i) => Number(res.rows[0]![`c${i}`]));
}

/**
 * How many values of each column are not JSON arrays, in the rows without a mapping error: a
 * reader's values going into an existing jsonb column of arrays are each made an array of one.
 */
export async function countNonArrays(client: Client, stage: string, columns: StagedColumn[]): Promise<number[]> {
  // A column of scalars holds no array; in JSON text an array starts with `[` (a string with `"`).
  const counts = columns.map((c) => {
    const ref = `s.${quoteIdent(c.ref.name)}`;
    return c.json ? `count(*) filter (where left(${ref}, 1) <> '[')` : `count(${ref})`;
  });
  return countInRows(client, stage, counts);
}
