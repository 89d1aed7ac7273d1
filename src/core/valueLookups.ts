/**
 * Conversions computed once per distinct value instead of once per row. A column whose values
 * are corrected on the way in (a US date, "yes"/"no", "30.0") costs, per row, its conversion and
 * the jsonb of its correction. Where the staged column holds few distinct values (dates, flags,
 * codes), a TEMP table of each distinct raw text with its converted value and correction is built
 * first, and the INSERT looks each row's value up in it (docs/decisions.md).
 *
 * Order: the INSERT joins a lookup as a LATERAL subquery that refers to the row (OFFSET 0 keeps
 * it from being pulled up into a plain join), which PostgreSQL can only run as a nested loop
 * driven by the staged rows, so rows are inserted in file order as before (ids follow the file);
 * a hash join could reorder them. The planner puts a Memoize node over the lookup's index scan,
 * so a repeated value is a hash probe.
 */
import { plannedRawSql } from '../db/staging/index.js';
import type { Client } from '../db/connection.js';
import { importTempTable, quoteIdent } from '../transform/naming.js';
import { castSql, correctionSql, recordsCorrections, validSql } from '../transform/typeSql.js';
import type { ImportPlan, PlannedColumn } from './plan.js';

/** A column gets a lookup when its estimated distinct values are at most this share of the rows. */
const MAX_DISTINCT_SHARE = 0.25;
/** Below this many staged rows the statements a lookup takes cost more than the rows would. */
const MIN_ROWS = 1000;

/** Lookups by target column: the TEMP table holding `raw`, `v` (the converted value) and `j` (the correction, or NULL). */
export type ValueLookups = ReadonlyMap<string, string>;

/** The columns a lookup could serve: their values are corrected in SQL on the way in. */
const lookupCandidates = (plan: ImportPlan): PlannedColumn[] => plan.columns.filter((p) => recordsCorrections(p) && !p.readerJson);

/**
 * ANALYZE of the staging table's `_rn`: the row count, and the joins on it. Other columns'
 * statistics serve no statement of the import but a lookup's (analyzeLookupCandidatesSql) and
 * were most of ANALYZE's cost; `_rn`, unique, needs no large sample (docs/decisions.md). Needs no
 * plan: run before the import waits for its table (in a batch, while the file before it writes).
 */
export function analyzeStageRowsSql(stage: string): string[] {
  return [`alter table ${quoteIdent(stage)} alter column _rn set statistics 10`, `analyze ${quoteIdent(stage)} (_rn)`];
}

/** ANALYZE of the lookup candidates' staged columns (their n_distinct), when a lookup may be made; else null. */
export function analyzeLookupCandidatesSql(stage: string, plan: ImportPlan, rows: number): string | null {
  if (rows < MIN_ROWS) return null;
  const columns = lookupCandidates(plan).map((p) => quoteIdent(p.staged.ref.name));
  return columns.length === 0 ? null : `analyze ${quoteIdent(stage)} (${[...new Set(columns)].join(', ')})`;
}

/**
 * The staged columns worth a lookup, from the staging table's statistics (analyzeLookupCandidatesSql ran):
 * n_distinct is a count, or minus a share of the rows when it grows with them.
 */
async function columnsWorthALookup(client: Client, stage: string, plan: ImportPlan, rows: number): Promise<PlannedColumn[]> {
  if (rows < MIN_ROWS) return [];
  const candidates = lookupCandidates(plan);
  if (candidates.length === 0) return [];
  const res = await client.query<{ attname: string; n_distinct: number }>(
    `select attname, n_distinct from pg_stats
      where schemaname = (select nspname from pg_namespace where oid = pg_my_temp_schema()) and tablename = $1`,
    [stage],
  );
  const distinct = new Map(res.rows.map((r) => [r.attname, r.n_distinct < 0 ? -r.n_distinct * rows : r.n_distinct]));
  return candidates.filter((p) => {
    const d = distinct.get(p.staged.ref.name);
    return d !== undefined && d <= rows * MAX_DISTINCT_SHARE;
  });
}

/**
 * Builds the lookups of the columns that are worth one (dropped at COMMIT), and returns them by
 * target column. Each holds the distinct raw texts of the rows the INSERT takes (valid for the
 * column: a text its type cannot hold is a mapping error, and its row stays out), each with the
 * same conversion and correction SQL the INSERT would compute per row, so results are equal.
 */
export async function createValueLookups(
  client: Client,
  args: { stage: string; plan: ImportPlan; rows: number; schema: string; hasPgInputIsValid: boolean; importId: string },
): Promise<ValueLookups> {
  const lookups = new Map<string, string>();
  const columns = await columnsWorthALookup(client, args.stage, args.plan, args.rows);
  for (const p of columns) {
    const name = importTempTable(args.importId, `lk${lookups.size + 1}`);
    const c = correctionSql(p, 'd.raw', 'd.v')!;
    // Each distinct text is tested for validity before it is converted (converting an invalid one
    // would fail the statement): OFFSET 0 under the test keeps it from being pushed down to every
    // staged row, OFFSET 0 above it converts each text once for the value and the correction.
    const valid = p.checkValidity ? `\n                  where ${validSql(p, 'r.raw', quoteIdent(args.schema), args.hasPgInputIsValid)}` : '';
    await client.query(
      `create temp table ${quoteIdent(name)} on commit drop as
         select d.raw, d.v, case when ${c.condition} then jsonb_build_object($1::text, ${c.value}) end as j
           from (select r.raw, ${castSql(p, 'r.raw')} as v
                   from (select distinct ${plannedRawSql(p)} as raw from ${quoteIdent(args.stage)} s where s._err is null offset 0) r${valid}
                 offset 0) d`,
      [p.targetName],
    );
    // A hash index: a btree refuses entries past ~2.7 kB, and a valid number can be longer than that.
    await client.query(`create index on ${quoteIdent(name)} using hash (raw)`);
    await client.query(`analyze ${quoteIdent(name)}`);
    lookups.set(p.targetName, name);
  }
  return lookups;
}

/** The INSERT's join of a lookup for the row `v`'s raw text `rawRef`, as alias `alias` (columns `v`, `j`). */
export function lookupJoinSql(table: string, rawRef: string, alias: string): string {
  return `left join lateral (select l.v, l.j from ${quoteIdent(table)} l where l.raw = ${rawRef} offset 0) ${alias} on true`;
}
