/** The two set-based statements of an import: the mapping errors, and the INSERT ... SELECT. */
import { rawSql } from '../db/staging.js';
import { SPREADSHEET_ERROR } from '../formats/types.js';
import { qualify, quoteIdent } from '../transform/naming.js';
import type { TypeRef } from '../transform/typeRef.js';
import { castSql, correctionSql, errorSql, recordsCorrections, validSql } from '../transform/typeSql.js';
import type { ImportPlan } from './plan.js';
import { lookupJoinSql, type ValueLookups } from './valueLookups.js';

interface SqlArgs {
  schema: string;
  stage: string;
  plan: ImportPlan;
  hasPgInputIsValid: boolean;
}

/** What the error query needs to know about the staged rows. */
interface StagedShape {
  /** Rows with too few or too many fields were staged. */
  raggedRows: number;
  /** Fields per record of a fixed-width input. */
  width: number;
  /** Spreadsheet error cells are mapping errors (--strict) rather than NULLs with a correction. */
  errorCellsAreErrors: boolean;
}

/** A SELECT of every mapping error (record_number, source_field, target_field, error_type, error_message, source_value), or null when none can exist. */
export function errorRowsSql(args: SqlArgs & StagedShape): { sql: string; params: unknown[] } | null {
  const { stage, plan } = args;
  const st = quoteIdent(stage);
  const params: unknown[] = [];
  const parts: string[] = [];
  if (args.raggedRows > 0) {
    params.push(args.width);
    parts.push(
      `select s._rn as record_number, null::text as source_field, null::text as target_field, 'field_count_mismatch'::text as error_type,
              format('record has %s field(s), the header has %s', split_part(s._err, ':', 2), $${params.length}::int) as error_message, null::text as source_value
         from ${st} s where s._err is not null`,
    );
  }
  if (args.errorCellsAreErrors) {
    for (const c of plan.columns.filter((p) => p.staged.errorCells !== null)) {
      params.push(c.sourceName, c.targetName);
      const [src, tgt] = [params.length - 1, params.length];
      parts.push(
        `select s._rn as record_number, $${src}::text as source_field, $${tgt}::text as target_field, '${SPREADSHEET_ERROR}'::text as error_type,
                format('the cell holds the spreadsheet error %s', f.before) as error_message, f.before as source_value
           from ${st} s cross join lateral (select s._fix -> $${tgt}::text ->> 'before' as before) f
          where s._err is null and s._fix -> $${tgt}::text ->> 'correction_type' = '${SPREADSHEET_ERROR}'`,
      );
    }
  }
  const schemaQuoted = quoteIdent(args.schema);
  for (const c of plan.columns.filter((p) => p.checkValidity)) {
    const raw = rawSql(c.staged);
    params.push(c.sourceName, c.targetName, c.sqlType);
    const [src, tgt, typ] = [params.length - 2, params.length - 1, params.length];
    const error = errorSql(c, raw, `$${tgt}::text`, `$${typ}::text`, { schemaQuoted, hasPgInputIsValid: args.hasPgInputIsValid });
    parts.push(
      `select s._rn as record_number, $${src}::text as source_field, $${tgt}::text as target_field, ${error.type} as error_type,
              ${error.message} as error_message, left(${raw}, 500) as source_value
         from ${st} s where s._err is null and not ${validSql(c, raw, schemaQuoted, args.hasPgInputIsValid)}`,
    );
  }
  if (parts.length === 0) return null;
  return { sql: parts.join('\nunion all\n'), params };
}

/**
 * `_corrections_applied`: NULL when nothing changed. Built per row, so its shape is chosen for
 * cost: one correctable column needs a single object, several need NULLs stripped, and the
 * reader's own corrections are merged only when there are any.
 */
function correctionsSql(corrections: ReadonlyArray<{ key: string; condition: string; value: string }>, lookedUp: readonly string[], readerFixes: boolean): string {
  let computed: string;
  if (corrections.length === 0) computed = 'null::jsonb';
  else if (corrections.length === 1) {
    const c = corrections[0]!;
    computed = `case when ${c.condition} then jsonb_build_object(${c.key}, ${c.value}) end`;
  } else {
    // jsonb_build_object takes at most 100 arguments: build per 50 columns and concatenate.
    const groups: string[] = [];
    for (let i = 0; i < corrections.length; i += 50) {
      groups.push(`jsonb_build_object(${corrections.slice(i, i + 50).map((c) => `${c.key}, case when ${c.condition} then ${c.value} end`).join(', ')})`);
    }
    computed = `nullif(jsonb_strip_nulls(${groups.join(' || ')}), '{}'::jsonb)`;
  }
  // Corrections from lookups (see valueLookups.ts) come whole, one object per column or NULL.
  const terms = corrections.length === 0 ? [...lookedUp] : [...lookedUp, computed];
  if (terms.length > 1) computed = `nullif(${terms.map((t) => `coalesce(${t}, '{}'::jsonb)`).join(' || ')}, '{}'::jsonb)`;
  else if (terms.length === 1) computed = terms[0]!;
  if (!readerFixes) return computed;
  return terms.length === 0 ? 'v._fix' : `case when v._fix is null then ${computed} else nullif(v._fix || coalesce(${computed}, '{}'::jsonb), '{}'::jsonb) end`;
}

/**
 * INSERT ... SELECT of every staged row without a mapping error and not a duplicate, with the
 * metadata columns (and `_row_hash` when the table has it).
 */
export function insertRowsSql(
  args: SqlArgs & {
    tableName: string;
    importId: string;
    rowHashColumns: ReadonlyArray<TableColumn> | null;
    /** Some staged rows carry corrections the reader made (`_fix`). */
    readerFixes: boolean;
    /** A temp table of duplicates to leave out (rows are then sorted back into file order). */
    excludeDups: string | null;
    /** Columns whose converted values and corrections are looked up (valueLookups.ts). */
    lookups: ValueLookups;
  },
): { sql: string; params: unknown[] } {
  const { schema, stage, plan, tableName } = args;
  const params: unknown[] = [args.importId];
  // The inner query converts each value once (OFFSET 0 keeps it from being flattened into the
  // outer one, which would repeat every conversion for the hash and the corrections: 25% slower).
  const inner: string[] = ['s._rn', 's._fix'];
  const converted = new Map<string, string>();
  const rawRefs = new Map<string, string>();
  const joins: string[] = [];
  const lookedUp: string[] = [];
  plan.columns.forEach((p, i) => {
    const raw = rawSql(p.staged);
    const lookup = args.lookups.get(p.targetName);
    if (lookup !== undefined) {
      inner.push(`${raw} as r${i}`);
      joins.push(lookupJoinSql(lookup, `v.r${i}`, `l${i}`));
      converted.set(p.targetName, `l${i}.v`);
      lookedUp.push(`l${i}.j`);
      return;
    }
    inner.push(`${castSql(p, raw)} as v${i}`);
    converted.set(p.targetName, `v.v${i}`);
    if (recordsCorrections(p)) {
      inner.push(`${raw} as r${i}`);
      rawRefs.set(p.targetName, `v.r${i}`);
    }
  });
  const validity = plan.columns.filter((p) => p.checkValidity).map((p) => validSql(p, rawSql(p.staged), quoteIdent(schema), args.hasPgInputIsValid));
  const corrections: Array<{ key: string; condition: string; value: string }> = [];
  for (const p of plan.columns) {
    const raw = rawRefs.get(p.targetName);
    if (raw === undefined) continue;
    const c = correctionSql(p, raw, converted.get(p.targetName))!;
    params.push(p.targetName);
    corrections.push({ key: `$${params.length}::text`, ...c });
  }
  const targets = plan.columns.map((p) => quoteIdent(p.targetName));
  const values = plan.columns.map((p) => converted.get(p.targetName)!);
  const meta = ['_import_id', '_source_row_number', '_corrections_applied'];
  const metaValues = ['$1::uuid', 'v._rn', correctionsSql(corrections, lookedUp, args.readerFixes)];
  if (args.rowHashColumns !== null) {
    meta.push('_row_hash');
    metaValues.push(rowHashSql(args.rowHashColumns.map((c) => ({ expr: converted.get(c.name) ?? null, type: c.type }))));
  }
  const sql = `insert into ${qualify(schema, tableName)} (${[...targets, ...meta].join(', ')})
     select ${[...values, ...metaValues].join(', ')}
       from (select ${inner.join(', ')}
               from ${quoteIdent(stage)} s
              where s._err is null${validity.map((v) => `\n                and ${v}`).join('')}${
                args.excludeDups === null ? '' : `\n                and not exists (select 1 from ${quoteIdent(args.excludeDups)} d where d._rn = s._rn)\n              order by s._rn`
              }
             offset 0) v${joins.map((j) => `\n       ${j}`).join('')}`;
  return { sql, params };
}

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
  return `hash_record_extended(${rowSql(values)}, 0)`;
}

/**
 * A row constructor of typed values (NULLs typed too, so records compare column by column). A
 * type without an extended hash (json, xml, money, point, ...) goes in as the type it hashes as
 * (jsonb, text), which has one, and equality too: in the stored `_row_hash` and in every
 * comparison alike.
 */
function rowSql(values: ReadonlyArray<{ expr: string | null; type: TypeRef }>): string {
  if (values.length === 0) return 'row()';
  const value = (v: { expr: string | null; type: TypeRef }): string => {
    const typed = v.expr === null ? `null::${v.type.sql}` : v.expr;
    return v.type.hashAs === null ? typed : `(${typed})::${v.type.hashAs}`;
  };
  return `row(${values.map(value).join(', ')})`;
}

/** The user columns of the target table after this import's DDL, in table order. */
export function tableColumnOrder(plan: ImportPlan, existing: ReadonlyArray<TableColumn> | null): TableColumn[] {
  const added = (existing === null ? plan.columns : plan.newColumns).map((c) => ({ name: c.targetName, type: c.type }));
  return existing === null ? added : [...existing.map((c) => ({ name: c.name, type: c.type })), ...added];
}

/** The columns of the table aliased `t`, typed, for rowSql and rowHashSql. */
function tableValues(columns: ReadonlyArray<TableColumn>): Array<{ expr: string; type: TypeRef }> {
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
}

/**
 * Five statements, run in order: `source` makes a temp table of every valid staged row with each
 * column's converted value (c0, c1, ...) and the key's hash `h` (its row count is the number of
 * valid rows); `analyze` gives the planner its statistics; `find` makes the temp table `found`
 * of every row (`_rn`) whose key equals an earlier record of the same file or a row already in the
 * table, with that row's id or the earlier record's number (its row count is the number of
 * duplicates); `analyzeFound` counts it; `keep` then writes each found record to import_duplicates
 * (the record as it would have been stored; its row count must equal `find`'s). Comparison is of
 * converted values and NULL-safe. `found` stays to the commit: the INSERT leaves its rows out.
 *
 * Both are analysed temp tables, not CTEs, so that the planner knows their sizes: that the
 * computed hashes are distinct (a hash join for a file about the table's size, index lookups for
 * a small one) and how many duplicates there are (the narrow `found` is the side hashed). The
 * plans it chose without them, and the timings: docs/decisions.md.
 */
export function duplicateCheckSql(args: DedupeArgs): { source: string; analyze: string; find: string; analyzeFound: string; keep: string; params: unknown[] } {
  const { plan, schema, stage, tableName } = args;
  const index = new Map(plan.columns.map((c, i) => [c.targetName, i]));
  const types = new Map(args.tableColumns.map((c) => [c.name, c.type]));
  const keyColumns = args.useStoredHash ? args.tableColumns : args.key.map((k) => ({ name: k, type: types.get(k) ?? plan.columns[index.get(k)!]!.type }));
  // Every column's converted value, computed once per row (c0, c1, ...): the key is compared on
  // them and the kept record is built from them, with no second join to the staging table.
  const casts = plan.columns.map((p, i) => `${castSql(p, rawSql(p.staged))} as c${i}`);
  const keyRow = (alias: string): string =>
    rowSql(keyColumns.map((k) => ({ expr: index.has(k.name) ? `${alias}.c${index.get(k.name)}` : null, type: k.type })));
  const validity = plan.columns.filter((p) => p.checkValidity).map((p) => validSql(p, rawSql(p.staged), quoteIdent(schema), args.hasPgInputIsValid));
  const st = quoteIdent(stage);
  const src = quoteIdent(args.converted);
  const found = quoteIdent(args.found);
  const where = `s._err is null${validity.map((v) => `\n         and ${v}`).join('')}`;
  const source = `create temp table ${src} on commit drop as
      select v.*, hash_record_extended(${keyRow('v')}, 0) as h
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
  const keep = `insert into ${qualify(schema, 'import_duplicates')} (import_id, record_number, record, matched_row_id, matched_record_number)
      select $1::uuid, d._rn, ${record}, d.matched_row_id, d.matched_record_number
        from ${found} d join ${src} v on v._rn = d._rn${named.length === 0 ? '' : `\n        cross join lateral (select ${named.join(', ')}) x`}`;
  return { source, analyze: `analyze ${src} (_rn, h)`, find, analyzeFound: `analyze ${found}`, keep, params: [args.importId] };
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
 * Marks the duplicates in the staging table, so the INSERT's scan of it stays a plain scan in file
 * order (ids follow the file; an anti-join could be planned as a hash join that reorders rows).
 */
export function markDuplicatesSql(stage: string, dups: string): string {
  return `update ${quoteIdent(stage)} s set _err = 'duplicate' from ${quoteIdent(dups)} d where d._rn = s._rn`;
}
