/** The row-level duplicate check: against the table and within the file, for an existing table before the INSERT and for a new one after it. */
import { plannedRawSql } from '../../db/staging/index.js';
import { qualify, quoteIdent } from '../../transform/naming.js';
import { castSql, validSql } from '../../transform/typeSql.js';
import type { TypeRef } from '../../transform/typeRef.js';
import type { ImportPlan } from '../plan.js';
import type { SqlArgs } from './args.js';
import { correctionTexts } from './rawTexts.js';
import { rowHashSql, rowSql, tableValues, type TableColumn } from './rowHash.js';

/**
 * CTEs over `repeated` (`_rn`, `h` the key's hash, `r` the key's values; the records whose hash
 * repeats in the file): `firsts`, the first record of each distinct key, and `in_file`, every
 * later record (`_rn`) with the first one's (`first_rn`) and the `carried` columns of `repeated`.
 */
function inFileSteps(carried: readonly string[] = []): string {
  return `firsts as (
      select h, r, min(_rn) as first_rn from repeated group by h, r
    ), in_file as (
      select p._rn, f.first_rn${carried.map((c) => `, p.${c}`).join('')} from repeated p join firsts f on f.h = p.h and f.r = p.r where p._rn <> f.first_rn
    )`;
}

export interface DedupeArgs extends SqlArgs {
  tableName: string;
  importId: string;
  /** The user columns of the table in table order (after this import's DDL). */
  tableColumns: ReadonlyArray<TableColumn>;
  /** The uniqueness columns (target names). */
  key: readonly string[];
  /** The table has `_row_hash` filled for every row and the key is all of its user columns. */
  useStoredHash: boolean;
  /** The name of the temp table of converted rows (`source`'s, dropped at commit). */
  converted: string;
  /** The name of the temp table of the duplicates found (`find`'s, dropped at commit). */
  found: string;
  /**
   * The converted table also carries what the INSERT needs to read from it instead of the staging
   * table (insertRowsSql's `fromConverted`): the reader's corrections `_fix`, and the file's text
   * (r0, r1, ...) of each column whose corrections are recorded. @default false
   */
  forInsert?: { readerFixes: boolean };
  /**
   * `--mode replace` keeping rows in place: the name of the temp table `unchanged` makes of the
   * table rows the file repeats (`id`, and `_rn` the first record equal to it); `keep` leaves those
   * records out of import_duplicates (they are the rows that stay, not duplicates skipped).
   */
  unchanged?: string;
}

/**
 * Five statements (six with `unchanged`), run in order: `source` makes a temp table of every
 * valid staged row with each column's converted value (c0, c1, ...) and the key's hash `h` (its
 * row count is the number of valid rows); `analyze` gives the planner its statistics; `find`
 * makes the temp table `found` of every row (`_rn`) whose key equals an earlier record of the
 * same file or a row already in the table, with that row's id or the earlier record's number (its
 * row count is the number of duplicates); `analyzeFound` counts it; `unchanged`, for a replace
 * keeping rows in place, makes the table of those rows; `keep` then writes each found record
 * (less those) to import_duplicates (the record as it would have been stored; its row count must
 * equal `find`'s, less `unchanged`'s). Comparison is of converted values and NULL-safe. The
 * tables stay to the commit: the INSERT reads the converted rows (with `forInsert`), less those in
 * `found`.
 *
 * Both are analysed temp tables, not CTEs, so that the planner knows their sizes: that the
 * computed hashes are distinct (a hash join for a file about the table's size, index lookups for
 * a small one) and how many duplicates there are (the narrow `found` is the side hashed). The
 * plans it chose without them, and the timings: docs/decisions.md.
 */
export function duplicateCheckSql(args: DedupeArgs): { source: string; analyze: string; find: string; analyzeFound: string; unchanged: string | null; keep: string; params: unknown[] } {
  const { plan, schema, stage, tableName } = args;
  const index = new Map(plan.columns.map((c, i) => [c.targetName, i]));
  const types = new Map(args.tableColumns.map((c) => [c.name, c.type]));
  const keyColumns = args.useStoredHash ? args.tableColumns : args.key.map((k) => ({ name: k, type: types.get(k) ?? plan.columns[index.get(k)!]!.type }));
  // Every column's converted value, computed once per row (c0, c1, ...): the key is compared on
  // them and the kept record is built from them, with no second join to the staging table.
  const casts = plan.columns.map((p, i) => `${castSql(p, plannedRawSql(p))} as c${i}`);
  if (args.forInsert) {
    if (args.forInsert.readerFixes) casts.push('s._fix');
    casts.push(...correctionTexts(plan).select);
  }
  const keyValues = (alias: string): Array<{ expr: string | null; type: TypeRef }> => keyColumns.map((k) => ({ expr: index.has(k.name) ? `${alias}.c${index.get(k.name)}` : null, type: k.type }));
  const keyRow = (alias: string): string => rowSql(keyValues(alias));
  const validity = plan.columns.filter((p) => p.checkValidity).map((p) => validSql(p, plannedRawSql(p), quoteIdent(schema), args.hasPgInputIsValid));
  const st = quoteIdent(stage);
  const src = quoteIdent(args.converted);
  const found = quoteIdent(args.found);
  const where = `s._err is null${validity.map((v) => `\n         and ${v}`).join('')}`;
  const source = `create temp table ${src} on commit drop as
      select v.*, ${rowHashSql(keyValues('v'))} as h
        from (select ${['s._rn', ...casts].join(', ')} from ${st} s where ${where} offset 0) v`;
  // Hashes narrow the search and values decide: a row is a duplicate only when its values equal
  // (IS NOT DISTINCT FROM, record equality: NULL equals NULL) those of an earlier record of the
  // file or of a row in the table. Values are compared only for rows whose hash repeats in the
  // file or is found in the table, so a file of new rows costs one hash per row. With the stored,
  // indexed `_row_hash` the table side is an index lookup or a hash join (the planner picks by
  // size); for a key subset the table's key values are hashed in one scan.
  const target = qualify(schema, tableName);
  const tableRow = rowSql(tableValues(keyColumns));
  const tableHash = rowHashSql(tableValues(keyColumns));
  const tableSide = args.useStoredHash ? `${target} t` : `(select t.*, ${tableHash} as _key_hash from ${target} t) t`;
  const tableHashColumn = args.useStoredHash ? 't._row_hash' : 't._key_hash';
  const find = `create temp table ${found} on commit drop as
    with repeated as (
      select src._rn, src.h, ${keyRow('src')} as r
        from ${src} src
       where src.h in (select h from ${src} group by h having count(*) > 1)
    ), ${inFileSteps()}, in_table as (
      select src._rn, min(t.id) as id
        from ${src} src join ${tableSide} on ${tableHashColumn} = src.h
       where ${tableRow} is not distinct from ${keyRow('src')}
       group by src._rn
    )
    select coalesce(m._rn, f._rn) as _rn, m.id as matched_row_id, case when m.id is null then f.first_rn end as matched_record_number
      from in_table m full join in_file f on f._rn = m._rn`;
  // row_to_json of a row whose columns carry the target names (quoted identifiers): the record
  // in column order, cheaper per row than to_jsonb or json_build_object (sql/004).
  const named = plan.columns.map((p, i) => `v.c${i} as ${quoteIdent(p.targetName)}`);
  const record = named.length === 0 ? `'{}'::json` : 'row_to_json(x.*)';
  // A table row several records equal stays once, as the first of them; the others are duplicates of it.
  const unchanged = args.unchanged === undefined ? null : `create temp table ${quoteIdent(args.unchanged)} on commit drop as
      select d.matched_row_id as id, min(d._rn) as _rn from ${found} d where d.matched_row_id is not null group by d.matched_row_id`;
  const notUnchanged = args.unchanged === undefined ? '' : `\n       where not exists (select 1 from ${quoteIdent(args.unchanged)} u where u._rn = d._rn)`;
  const keep = `insert into ${qualify(schema, 'import_duplicates')} (import_id, record_number, record, matched_row_id, matched_record_number)
      select $1::uuid, d._rn, ${record}, d.matched_row_id, d.matched_record_number
        from ${found} d join ${src} v on v._rn = d._rn${named.length === 0 ? '' : `\n        cross join lateral (select ${named.join(', ')}) x`}${notUnchanged}`;
  return { source, analyze: `analyze ${src} (_rn, h)`, find, analyzeFound: `analyze ${found}`, unchanged, keep, params: [args.importId] };
}

/**
 * For a table this import created, after its INSERT (and before its indexes and foreign key are
 * made): every row whose key equals that of an earlier record of the file is kept in
 * import_duplicates and deleted from the table. A new table holds only this file's rows, so this
 * is the whole check, and it reads typed values already stored with their `_row_hash` instead of
 * converting and hashing every staged row a second time before the INSERT.
 * The rows left keep their ids (in file order); the deleted ones are dead tuples until vacuumed.
 * Returns one row: `duplicates` (kept) and `removed` (deleted from the table; the same rows).
 */
export function newTableDuplicatesSql(args: {
  schema: string;
  tableName: string;
  importId: string;
  plan: ImportPlan;
  key: readonly string[];
  /** The key is every column: compare on the stored `_row_hash`. */
  useStoredHash: boolean;
}): { sql: string; params: unknown[] } {
  const { plan, schema } = args;
  const target = qualify(schema, args.tableName);
  const types = new Map(plan.columns.map((c) => [c.targetName, c.type]));
  const keyValues = args.key.map((k) => ({ expr: `t.${quoteIdent(k)}`, type: types.get(k)! }));
  const hash = args.useStoredHash ? 't._row_hash' : rowHashSql(keyValues);
  const columns = plan.columns.map((p) => `t.${quoteIdent(p.targetName)}`);
  // `x.*`: a user column may itself be called x.
  const record = columns.length === 0 ? `'{}'::json` : 'row_to_json(x.*)';
  const sql = `with repeated as (
      select t.ctid as tid, t._source_row_number as _rn, ${hash} as h, ${rowSql(keyValues)} as r, ${record} as record
        from ${target} t${columns.length === 0 ? '' : ` cross join lateral (select ${columns.join(', ')}) x`}
       where ${hash} in (select ${hash} from ${target} t group by 1 having count(*) > 1)
    ), ${inFileSteps(['tid', 'record'])}, kept as (
      insert into ${qualify(schema, 'import_duplicates')} (import_id, record_number, record, matched_record_number)
      select $1::uuid, d._rn, d.record, d.first_rn from in_file d
      returning 1
    ), removed as (
      delete from ${target} t where t.ctid = any (array(select d.tid from in_file d)) returning 1
    )
    select (select count(*) from kept)::int as duplicates, (select count(*) from removed)::int as removed`;
  return { sql, params: [args.importId] };
}

/**
 * Deletes the duplicates from the converted rows, so the INSERT's scan of them stays a plain scan
 * in file order (ids follow the file; an anti-join could be planned as a hash join that reorders rows).
 */
export function deleteDuplicatesSql(converted: string, dups: string): string {
  return `delete from ${quoteIdent(converted)} v using ${quoteIdent(dups)} d where d._rn = v._rn`;
}
