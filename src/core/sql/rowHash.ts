/** `_row_hash`: a row's values hashed, computed in an INSERT, recomputed after DDL, and checked for staleness. */
import { qualify, quoteIdent } from '../../transform/naming.js';
import { typedNullSql, type TypeRef } from '../../transform/typeRef.js';
import type { ImportPlan } from '../plan.js';

/** A user column of the target table and its type. */
export interface TableColumn {
  name: string;
  type: TypeRef;
}

/**
 * A 64-bit hash of a row's values (hash_record_extended: equal values hash alike, 1.50 = 1.5,
 * NULL-safe; a third of the cost of hashing the row's text). It only narrows the search: a match
 * is always confirmed by comparing the values themselves, so a collision can never drop a row.
 */
export function rowHashSql(values: ReadonlyArray<{ expr: string | null; type: TypeRef }>): string {
  return `hash_record_extended(${typedRowSql(values, false)}, 0)`;
}

/**
 * A row constructor of typed values (NULLs typed too, so records compare column by column), for
 * comparing rows. A type without an extended hash (json, xml, money, point, ...) goes in as the
 * type it hashes as (jsonb, text), which has one, and equality too: in the stored `_row_hash`
 * and in every comparison alike. An interval goes in as its text: its equality takes `1 mon` and
 * `30 days` as equal (and hashes them alike), which are not the same value.
 */
export function rowSql(values: ReadonlyArray<{ expr: string | null; type: TypeRef }>): string {
  return typedRowSql(values, true);
}

/** rowSql's row; for a hash (`identity` false), intervals as themselves, as `_row_hash` has always hashed them. */
function typedRowSql(values: ReadonlyArray<{ expr: string | null; type: TypeRef }>, identity: boolean): string {
  if (values.length === 0) return 'row()';
  const value = (v: { expr: string | null; type: TypeRef }): string => {
    const typed = v.expr ?? typedNullSql(v.type);
    if (v.type.hashAs !== null) return `(${typed})::${v.type.hashAs}`;
    return identity && comparedAsText(v.type) ? `(${typed})::text` : typed;
  };
  return `row(${values.map(value).join(', ')})`;
}

/** Types whose equality is coarser than identity, compared as their text: interval (and arrays of it, domains over it). */
export function comparedAsText(type: TypeRef): boolean {
  return type.base === 'interval' || type.base === 'interval[]';
}

/** The user columns of the target table after this import's DDL, in table order. */
export function tableColumnOrder(plan: ImportPlan, existing: ReadonlyArray<TableColumn> | null): TableColumn[] {
  const added = (existing === null ? plan.columns : plan.newColumns).map((c) => ({ name: c.targetName, type: c.type }));
  return existing === null ? added : [...existing.map((c) => ({ name: c.name, type: c.type })), ...added];
}

/** The columns of the table aliased `t`, typed, for rowSql and rowHashSql. */
export function tableValues(columns: ReadonlyArray<TableColumn>): Array<{ expr: string; type: TypeRef }> {
  return columns.map((c) => ({ expr: `t.${quoteIdent(c.name)}`, type: c.type }));
}

/**
 * Recomputes `_row_hash` of every row after columns were added (their NULLs are part of the hash
 * now), or of the rows whose ids are in the `row_id` column of table `rowIds`.
 */
export function rehashTableSql(schema: string, tableName: string, columns: ReadonlyArray<TableColumn>, rowIds: string | null = null): string {
  const only = rowIds === null ? '' : ` from ${quoteIdent(rowIds)} x where t.id = x.row_id`;
  return `update ${qualify(schema, tableName)} t set _row_hash = ${rowHashSql(tableValues(columns))}${only}`;
}

/**
 * Sets `_row_hash` of the rows of import `$1` to the hash of their values as stored, where it is
 * not: a default, an identity, a generated column or a BEFORE trigger filled what the INSERT hashed.
 */
export function rehashImportRowsSql(schema: string, tableName: string, columns: ReadonlyArray<TableColumn>): string {
  const hash = rowHashSql(tableValues(columns));
  return `update ${qualify(schema, tableName)} t set _row_hash = ${hash} where t._import_id = $1::uuid and t._row_hash is distinct from ${hash}`;
}

/**
 * Counts, among the table's first and last `sample` rows by id, those whose stored `_row_hash` is
 * not the hash of their values as the columns are now. A column dropped or retyped outside atlas
 * leaves every stored hash stale, and a duplicate check trusting them would find no duplicates
 * (the file loaded twice); these few index reads catch that before the check.
 */
export function staleRowHashesSql(schema: string, tableName: string, columns: ReadonlyArray<TableColumn>, sample: number): string {
  const t = qualify(schema, tableName);
  const hash = rowHashSql(tableValues(columns));
  const side = (order: string): string => `(select t._row_hash as stored, ${hash} as h from ${t} t order by t.id ${order} limit ${sample})`;
  return `select count(*)::int as stale from (${side('asc')} union all ${side('desc')}) s where s.stored is distinct from s.h`;
}
