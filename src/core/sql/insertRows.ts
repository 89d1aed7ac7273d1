/** The INSERT ... SELECT of an import: every staged row without a mapping error and not a duplicate, with its metadata columns. */
import { plannedRawSql } from '../../db/staging/index.js';
import { qualify, quoteIdent } from '../../transform/naming.js';
import { castSql, correctionSql, recordsCorrections, validSql, type Correction } from '../../transform/typeSql.js';
import { lookupJoinSql, type ValueLookups } from '../valueLookups.js';
import type { ImportPlan } from '../plan.js';
import type { SqlArgs } from './args.js';
import { correctionTexts, rawTexts } from './rawTexts.js';
import { rowHashSql, type TableColumn } from './rowHash.js';

/**
 * `_corrections_applied`: NULL when nothing changed. Built per row, so its shape is chosen for
 * cost: one correctable column needs a single object, several need NULLs stripped, and the
 * reader's own corrections are merged only when there are any.
 */
function correctionsSql(all: ReadonlyArray<Correction & { key: string }>, lookedUp: readonly string[], readerFixes: boolean): string {
  // A correction that may hold `"after": null` comes whole, as a lookup's does: jsonb_strip_nulls would remove it.
  const corrections = all.filter((c) => c.nullAfter !== true);
  lookedUp = [...lookedUp, ...all.filter((c) => c.nullAfter === true).map((c) => `case when ${c.condition} then jsonb_build_object(${c.key}, ${c.value}) end`)];
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

/** The duplicate check's converted rows, for the INSERT to read (insertRowsSql's `fromConverted`). */
export interface ConvertedRows {
  table: string;
  /** A temp table of duplicates (`_rn`) to leave out, or null (none, or deleted from `table`). */
  found: string | null;
  /** The key hash `h` is the row's `_row_hash` (the key is the whole row, in table order). */
  hash: boolean;
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
    /** Columns whose converted values and corrections are looked up (valueLookups.ts). */
    lookups: ValueLookups;
    /** Another table to insert into, qualified (an upsert's temp table of converted rows). @default the target table */
    into?: string;
    /**
     * Read the rows from the duplicate check's converted table (duplicateCheckSql with
     * `forInsert`) instead of converting the staged rows again: its valid rows, less the
     * duplicates in `found` when it is given. Lookups are not used. @default null
     */
    fromConverted?: ConvertedRows | null;
  },
): { sql: string; params: unknown[] } {
  const { schema, plan, tableName } = args;
  const source = args.fromConverted ? convertedRows(plan, args.fromConverted) : stagedRows(args);
  const params: unknown[] = [args.importId];
  const corrections: Array<Correction & { key: string }> = [];
  for (const p of plan.columns) {
    const raw = source.rawRefs.get(p.targetName);
    if (raw === undefined) continue;
    const c = correctionSql(p, raw, source.converted.get(p.targetName))!;
    params.push(p.targetName);
    corrections.push({ key: `$${params.length}::text`, ...c });
  }
  const targets = plan.columns.map((p) => quoteIdent(p.targetName));
  const values = plan.columns.map((p) => source.converted.get(p.targetName)!);
  const meta = ['_import_id', '_source_row_number', '_corrections_applied'];
  const metaValues = ['$1::uuid', 'v._rn', correctionsSql(corrections, source.lookedUp, args.readerFixes)];
  if (args.rowHashColumns !== null) {
    meta.push('_row_hash');
    metaValues.push(source.rowHash ?? rowHashSql(args.rowHashColumns.map((c) => ({ expr: source.converted.get(c.name) ?? null, type: c.type }))));
  }
  const sql = `insert into ${args.into ?? qualify(schema, tableName)} (${[...targets, ...meta].join(', ')})
     select ${[...values, ...metaValues].join(', ')}
       from ${source.from}`;
  return { sql, params };
}

/**
 * Where the INSERT reads its rows, as `v`: each column's converted value, the file's text of the
 * columns whose corrections are computed per row, the lookups' corrections, and the row's
 * `_row_hash` when the source has it already (else it is computed from the converted values).
 */
interface RowSource {
  from: string;
  converted: Map<string, string>;
  rawRefs: Map<string, string>;
  lookedUp: string[];
  rowHash: string | null;
}

/** The staged rows without a mapping error, each value converted once (or looked up). */
function stagedRows(args: Parameters<typeof insertRowsSql>[0]): RowSource {
  const { schema, stage, plan } = args;
  // The inner query converts each value once (OFFSET 0 keeps it from being flattened into the
  // outer one, which would repeat every conversion for the hash and the corrections: 25% slower).
  const inner: string[] = ['s._rn', 's._fix'];
  const converted = new Map<string, string>();
  const rawRefs = new Map<string, string>();
  const joins: string[] = [];
  const lookedUp: string[] = [];
  const texts = rawTexts(plan, (i) => args.lookups.has(plan.columns[i]!.targetName) || recordsCorrections(plan.columns[i]!));
  plan.columns.forEach((p, i) => {
    const lookup = args.lookups.get(p.targetName);
    if (lookup !== undefined) {
      joins.push(lookupJoinSql(lookup, texts.refs.get(i)!, `l${i}`));
      converted.set(p.targetName, `l${i}.v`);
      lookedUp.push(`l${i}.j`);
      return;
    }
    inner.push(`${castSql(p, plannedRawSql(p))} as v${i}`);
    converted.set(p.targetName, `v.v${i}`);
    if (recordsCorrections(p)) rawRefs.set(p.targetName, texts.refs.get(i)!);
  });
  inner.push(...texts.select);
  const validity = plan.columns.filter((p) => p.checkValidity).map((p) => validSql(p, plannedRawSql(p), quoteIdent(schema), args.hasPgInputIsValid));
  const from = `(select ${inner.join(', ')}
               from ${quoteIdent(stage)} s
              where s._err is null${validity.map((v) => `\n                and ${v}`).join('')}
             offset 0) v${joins.map((j) => `\n       ${j}`).join('')}`;
  return { from, converted, rawRefs, lookedUp, rowHash: null };
}

/** The duplicate check's table of converted rows (c0, c1, ..., r0, ..., `_fix`, `h`), less the duplicates. */
function convertedRows(plan: ImportPlan, rows: ConvertedRows): RowSource {
  const converted = new Map(plan.columns.map((p, i) => [p.targetName, `v.c${i}`]));
  const texts = correctionTexts(plan);
  const rawRefs = new Map([...texts.refs].map(([i, ref]) => [plan.columns[i]!.targetName, ref]));
  // Sorted back into file order only after an anti-join (which may not keep it).
  const rest = rows.found === null ? '' : `
      where not exists (select 1 from ${quoteIdent(rows.found)} d where d._rn = v._rn)
      order by v._rn`;
  return { from: `${quoteIdent(rows.table)} v${rest}`, converted, rawRefs, lookedUp: [], rowHash: rows.hash ? 'v.h' : null };
}
