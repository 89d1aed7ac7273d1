/**
 * `--dry-run`: what the import would do to the table's rows, counted with
 * SELECTs over the staged file and the table, inside the dry run's transaction (rolled back).
 * Only temp tables are written; the table, its history and the pre-images are not.
 */
import type { Client } from '../db/connection.js';
import { plannedRawSql } from '../db/staging/index.js';
import { listUniqueIndexes } from '../db/tables.js';
import { qualify, quoteIdent } from '../transform/naming.js';
import { castSql, validSql } from '../transform/typeSql.js';
import type { ImportPlan } from './plan.js';
import type { TypeRef } from '../transform/typeRef.js';
import { rowHashSql, rowSql } from './sql/rowHash.js';
import { DUPLICATE_KEY_ERROR, keyConflictErrorsSql, keysArePlain, upsertMatchSql, type ImportMode, type KeyColumn } from './upsert.js';

/** What an import would do (the names of the history record's columns). */
export interface PredictedChanges {
  rows_inserted: number;
  rows_updated: number;
  rows_unchanged: number;
  rows_deleted: number;
  /** Records the row-level duplicate check would skip: repeated within the file, or equal to a row that stays (an append's: any row of the table). */
  duplicates_found: number;
  /** Records of an upsert sharing a key within the file: mapping errors, none of them written (counted in mapping_errors_count too). */
  key_conflicts: number;
}

export interface PredictArgs {
  client: Client;
  schema: string;
  table: string;
  stage: string;
  mode: ImportMode;
  /** --replace-import: the import whose rows would go. */
  replaces: string | null;
  plan: ImportPlan;
  /** The table's user columns now (null: a new table). */
  existingColumns: ReadonlySet<string> | null;
  upsertKey: KeyColumn[] | null;
  /** The row-level duplicate check's key (target names), or null when it is off (--no-dedupe, --force). */
  dedupeKey: readonly string[] | null;
  /** A full replace that keeps in place the table rows the file repeats (the import's comparesWholeRows). */
  keepsInPlace: boolean;
  hasPgInputIsValid: boolean;
}

/**
 * The duplicate check's key as values of the table (`t`; NULL in a column it does not have yet, as
 * after the DDL that adds it) or of the file's converted rows (`c`), for rowSql and rowHashSql.
 */
function dedupeKeyValues(a: PredictArgs, alias: 't' | 'c'): Array<{ expr: string | null; type: TypeRef }> {
  const types = new Map(a.plan.columns.map((c) => [c.targetName, c.type]));
  const inTable = (k: string): boolean => a.existingColumns === null || a.existingColumns.has(k);
  return a.dedupeKey!.map((k) => ({ expr: alias === 't' && !inTable(k) ? null : `${alias}.${quoteIdent(k)}`, type: types.get(k)! }));
}

/** The counts the import would end with. */
export async function predictChanges(a: PredictArgs): Promise<PredictedChanges> {
  const { client } = a;
  const out: PredictedChanges = { rows_inserted: 0, rows_updated: 0, rows_unchanged: 0, rows_deleted: 0, duplicates_found: 0, key_conflicts: 0 };
  if (a.upsertKey) {
    // Records sharing a key stay out, as the import's mapping errors keep them out (markKeyConflicts).
    const params: unknown[] = [];
    const sql = keyConflictErrorsSql({ schema: a.schema, stage: a.stage, plan: a.plan, key: a.upsertKey, hasPgInputIsValid: a.hasPgInputIsValid, params });
    const marked = await client.query(`update ${quoteIdent(a.stage)} s set _err = '${DUPLICATE_KEY_ERROR}' from (${sql}) k where k.record_number = s._rn`, params);
    out.key_conflicts = marked.rowCount ?? 0;
  }
  // Every valid record as the import would store it, columns named as in the table.
  const conv = quoteIdent(`${a.stage}_pred`);
  const validity = a.plan.columns.filter((p) => p.checkValidity).map((p) => validSql(p, plannedRawSql(p), quoteIdent(a.schema), a.hasPgInputIsValid));
  const casts = a.plan.columns.map((p) => `${castSql(p, plannedRawSql(p))} as ${quoteIdent(p.targetName)}`);
  const valid =
    (
      await client.query(
        `create temp table ${conv} on commit drop as
         select ${['s._rn', ...casts].join(', ')} from ${quoteIdent(a.stage)} s
          where s._err is null${validity.map((v) => `\n            and ${v}`).join('')}`,
      )
    ).rowCount ?? 0;
  await client.query(`analyze ${conv}`);
  const target = qualify(a.schema, a.table);
  const existing = a.existingColumns;

  if (a.upsertKey) {
    if (existing === null) {
      out.rows_inserted = valid;
      return out;
    }
    // As applyUpsert decides: a match whose values differ is updated, one whose do not is unchanged, no match is inserted (the key is unique in the table: checked before).
    const { on, differs } = await upsertMatch(a, a.upsertKey);
    const res = await client.query<{ inserted: number; updated: number; unchanged: number }>(
      `select count(*) filter (where not m.found)::int as inserted,
              count(*) filter (where m.found and m.differs)::int as updated,
              count(*) filter (where m.found and not m.differs)::int as unchanged
         from (select t.id is not null as found, coalesce(${differs}, false) as differs from ${conv} c left join ${target} t on ${on}) m`,
    );
    Object.assign(out, { rows_inserted: res.rows[0]!.inserted, rows_updated: res.rows[0]!.updated, rows_unchanged: res.rows[0]!.unchanged });
    return out;
  }

  if (a.keepsInPlace && a.dedupeKey !== null && existing !== null) {
    // As the import decides: a table row equal to a distinct record of the file stays (the first
    // such record), records repeated in the file are duplicates, every other table row goes.
    const keyOf = (alias: 't' | 'c') => dedupeKeyValues(a, alias);
    const res = await client.query<{ repeated: number; unchanged: number; total: number }>(
      `with x as (
         select c._rn, ${rowHashSql(keyOf('c'))} as h, ${rowSql(keyOf('c'))} as r,
                row_number() over (partition by ${rowHashSql(keyOf('c'))}, ${rowSql(keyOf('c'))} order by c._rn) as k
           from ${conv} c
       ), m as (
         select x._rn from x join ${target} t on ${rowHashSql(keyOf('t'))} = x.h and ${rowSql(keyOf('t'))} is not distinct from x.r
          where x.k = 1 group by x._rn
       )
       select (select count(*) from x where x.k > 1)::int as repeated, (select count(*) from m)::int as unchanged, (select count(*) from ${target})::int as total`,
    );
    const r = res.rows[0]!;
    Object.assign(out, { duplicates_found: r.repeated, rows_unchanged: r.unchanged, rows_deleted: r.total - r.unchanged, rows_inserted: valid - r.repeated - r.unchanged });
    return out;
  }

  // Replace: the rows that would go, then the records the duplicate check would skip among the
  // file and the rows that stay (none for a full replace that deletes every row first; other
  // imports' for --replace-import; every row for an append, which deletes none).
  const append = a.mode === 'append';
  const params: unknown[] = [];
  if (existing !== null && !append) {
    if (a.replaces !== null) params.push(a.replaces);
    const gone = await client.query<{ n: number }>(`select count(*)::int as n from ${target} t${a.replaces === null ? '' : ' where t._import_id = $1'}`, params);
    out.rows_deleted = gone.rows[0]!.n;
  }
  if (a.dedupeKey !== null) {
    const keyOf = (alias: 't' | 'c') => dedupeKeyValues(a, alias);
    const stays = existing !== null && (append || a.replaces !== null);
    const others = append ? '' : 't._import_id is distinct from $1 and ';
    // Per distinct record: its repeats, and its first one too when a row that stays equals it
    // (grouped, not numbered by a window: a hash, where the window sorted the whole file). The
    // table side is a semi-join in WHERE (one scan of the table, hashed), not an EXISTS per
    // record in the select list, which PostgreSQL runs as a subplan scanning the table per record.
    const inTable = stays
      ? `(select count(*) from x where exists (select 1 from ${target} t where ${others}${rowHashSql(keyOf('t'))} = x.h and ${rowSql(keyOf('t'))} is not distinct from x.r))`
      : '0';
    const res = await client.query<{ n: number }>(
      `with x as materialized (
         select ${rowHashSql(keyOf('c'))} as h, ${rowSql(keyOf('c'))} as r, count(*) as n
           from ${conv} c group by 1, 2)
       select (coalesce((select sum(x.n - 1) from x), 0) + ${inTable})::int as n`,
      stays && !append ? params : [],
    );
    out.duplicates_found = res.rows[0]!.n;
  }
  out.rows_inserted = valid - out.duplicates_found;
  return out;
}

/** How a record of the file (`c`) matches a table row (`t`) on an upsert's key, and differs from it, as applyUpsert decides. */
async function upsertMatch(a: PredictArgs, key: KeyColumn[]): Promise<{ on: string; differs: string }> {
  const missing = new Set(a.plan.columns.map((c) => c.targetName).filter((n) => a.existingColumns !== null && !a.existingColumns.has(n)));
  const columns = a.plan.columns.map((c) => ({ name: c.targetName, type: c.type }));
  return upsertMatchSql(key, columns, await keysArePlain(a.client, `${a.stage}_pred`, key), missing);
}

/**
 * Why the rows the import would write would break one of the table's unique indexes (a user's
 * primary key, or the index `--key` made), as the run would fail on it; null when none would.
 * Checked on the indexes whose columns the file brings: among the rows it would insert, and
 * between them and the table's rows that stay (an append's: all; a `--replace-import`'s: the
 * other imports'; a full replace keeps only rows equal to the file's; an upsert's: those whose key no
 * record has). An upsert's records sharing its key are mapping errors, out already.
 */
export async function predictUniqueViolation(a: PredictArgs): Promise<string | null> {
  if (a.existingColumns === null) return null;
  const { client } = a;
  const target = qualify(a.schema, a.table);
  const planned = new Map(a.plan.columns.map((c) => [c.targetName, c]));
  const indexes = (await listUniqueIndexes(client, a.schema, a.table))
    .filter((ix) => ix.valid && ix.columns.length > 0 && ix.columns.every((n) => planned.has(n) && a.existingColumns!.has(n)));
  if (indexes.length === 0) return null;

  const conv = quoteIdent(`${a.stage}_pred`);
  // An upsert's rows stay where no record of the file has their key (a record with it writes its values there).
  const stays = a.upsertKey ? `not exists (select 1 from ${conv} c where ${(await upsertMatch(a, a.upsertKey)).on})` : a.mode === 'append' ? 'true' : a.mode === 'replace_import' ? 't._import_id is distinct from $1' : null;
  const params = a.mode === 'replace_import' ? [a.replaces] : [];
  // The rows it would insert: the first record of each distinct row (the duplicate check's key),
  // less those equal to a row that stays; an upsert's: every record (their keys differ: conflicts are out).
  let rows = `select c.* from ${conv} c`;
  if (a.dedupeKey !== null && !a.upsertKey) {
    const keyOf = (alias: 't' | 'c') => dedupeKeyValues(a, alias);
    rows += ` join (select min(c._rn) as _rn from ${conv} c group by ${rowHashSql(keyOf('c'))}, ${rowSql(keyOf('c'))}) d on d._rn = c._rn`;
    if (stays !== null && a.dedupeKey.every((k) => a.existingColumns!.has(k))) {
      rows += ` where not exists (select 1 from ${target} t where ${stays} and ${rowHashSql(keyOf('t'))} = ${rowHashSql(keyOf('c'))} and ${rowSql(keyOf('t'))} is not distinct from ${rowSql(keyOf('c'))})`;
    }
  }
  for (const ix of indexes) {
    const cols = ix.columns.map(quoteIdent);
    const shown = cols.map((c) => `r.${c}::text`).join(', ');
    const notNull = ix.nulls_equal ? '' : ` where ${cols.map((c) => `r.${c} is not null`).join(' and ')}`;
    const equal = cols.map((c) => (ix.nulls_equal ? `t.${c} is not distinct from r.${c}` : `t.${c} = r.${c}`)).join(' and ');
    await client.query('savepoint atlas_predict_unique');
    let found: { side: string; k: string[] } | undefined;
    try {
      found = (
        await client.query<{ side: string; k: string[] }>(
          `with r as materialized (${rows})
           (select 'file' as side, array[${shown}] as k from r${notNull} group by ${cols.map((c) => `r.${c}`).join(', ')} having count(*) > 1 limit 1)
           ${stays === null ? '' : `union all (select 'table', array[${shown}] from r join ${target} t on ${equal} where ${stays} limit 1)`}`,
          params,
        )
      ).rows[0];
      await client.query('release savepoint atlas_predict_unique');
    } catch {
      // A comparison the server cannot make (types without equality): no prediction, as before.
      await client.query('rollback to savepoint atlas_predict_unique');
      continue;
    }
    if (found === undefined) continue;
    const key = `(${ix.columns.join(', ')})=(${found.k.map((v) => v ?? 'NULL').join(', ')})`;
    return found.side === 'file'
      ? `unique index ${ix.name} on ${a.table}: the file holds more than one row with ${key}${a.dedupeKey === null ? '' : ' (not duplicates of each other)'}`
      : `unique index ${ix.name} on ${a.table}: a row of the file has ${key}, which a row ${a.mode === 'append' ? 'of the table' : a.upsertKey ? `of the table with another ${a.upsertKey.length > 1 ? 'key' : a.upsertKey[0]!.name}` : 'of another import'} already has`;
  }
  return null;
}
