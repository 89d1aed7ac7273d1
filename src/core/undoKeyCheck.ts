/**
 * Before undo puts pre-images back: the rows that would come back whose key a row that stays in
 * the table already holds. Such a key was free when a later import wrote it (an append of a key a
 * replace had deleted), and no pre-image of that import says so: listLaterChanges cannot see it.
 * Keys are the table's unique indexes on plain columns and the keys upserts into it were run on.
 */
import type { Client } from '../db/connection.js';
import { preImageValuesSql } from '../db/preImages.js';
import { findTypesWithoutHash, getExistingTable, listUniqueIndexes } from '../db/tables.js';
import { qualify, quoteIdent } from '../transform/naming.js';
import { isoTime } from '../transform/time.js';
import { keyLabel, keyTextSql, upsertMatchSql, type KeyColumn } from './upsert.js';

/** Rows that would come back holding a key that rows staying in the table hold. */
export interface KeyConflict {
  /** The key, as `k` or `(a, b)`. */
  key: string;
  /** What keeps it unique: `unique index NAME`, or `the key of upsert(s)` (no index: atlas's upserts need it unique). */
  kept_by: string;
  /** Rows that would come back with a key already held. */
  rows: number;
  /** The first of those keys, as text (`'a'`). */
  values: string[];
  /** The imports whose rows hold those keys now, latest first (import_id null: rows without one). */
  owners: Array<{ import_id: string | null; file_name: string | null; import_mode: string | null; import_timestamp: string | null; rows: number }>;
}

/** How many key values a conflict shows. */
const SHOWN_VALUES = 5;

interface KeyToCheck {
  key: KeyColumn[];
  keptBy: string;
  /** NULL matches NULL (an index NULLS NOT DISTINCT, or an upsert's key). */
  nullsMatch: boolean;
  /** Only a key that rows staying hold once each is refused on (an upsert's key without an index). */
  onlyIfUnique: boolean;
}

/** The unique indexes on plain user columns (not `id`: undo never puts back an id the table has), with their NULL semantics. */
async function listUniqueKeys(client: Client, schema: string, table: string): Promise<Array<{ name: string; columns: string[]; nulls_match: boolean }>> {
  return (await listUniqueIndexes(client, schema, table)).filter((r) => !r.columns.includes('id')).map((r) => ({ name: r.name, columns: r.columns, nulls_match: r.nulls_equal }));
}

/** The keys upserts into the table (not undone) and the undone import were run on, as table columns (the mapping's key may name source columns). */
async function listRecordedKeys(client: Client, schema: string, table: string, importId: string): Promise<string[][]> {
  const res = await client.query<{ key: unknown; columns: unknown }>(
    `select distinct mapping_config -> 'key' as key, mapping_config -> 'columns' as columns from ${qualify(schema, 'import_history')}
      where table_name = $1 and jsonb_typeof(mapping_config -> 'key') = 'array'
        and ((import_mode = 'upsert' and status in ('success', 'partial')) or (import_id = $2 and import_mode in ('upsert', 'replace')))`,
    [table, importId],
  );
  return res.rows.map((r) => {
    const columns = (r.columns !== null && typeof r.columns === 'object' ? r.columns : {}) as Record<string, { target?: unknown }>;
    return (r.key as unknown[]).map((k) => String(k)).map((k) => (Object.hasOwn(columns, k) && typeof columns[k]?.target === 'string' ? (columns[k].target as string) : k));
  });
}

/** The keys to check: unique indexes, then the upsert keys no index covers. */
async function listKeysToCheck(client: Client, schema: string, table: string, importId: string): Promise<KeyToCheck[]> {
  const existing = await getExistingTable(client, schema, table);
  if (existing === null) return [];
  const typeOf = new Map(existing.columns.map((c) => [c.name, c.type]));
  const toKey = (names: readonly string[]): KeyColumn[] | null => (names.every((n) => typeOf.has(n)) ? names.map((n) => ({ name: n, type: typeOf.get(n)! })) : null);
  const keys: KeyToCheck[] = [];
  const seen = new Set<string>();
  for (const u of await listUniqueKeys(client, schema, table)) {
    const key = toKey(u.columns);
    if (key === null) continue;
    seen.add(JSON.stringify([...u.columns].sort()));
    keys.push({ key, keptBy: `unique index ${u.name}`, nullsMatch: u.nulls_match, onlyIfUnique: false });
  }
  for (const names of await listRecordedKeys(client, schema, table, importId)) {
    const key = toKey(names);
    const id = JSON.stringify([...names].sort());
    if (key === null || seen.has(id)) continue;
    seen.add(id);
    keys.push({ key, keptBy: 'the key upserts into the table ran on', nullsMatch: true, onlyIfUnique: true });
  }
  await findTypesWithoutHash(client, keys.flatMap((k) => k.key));
  return keys;
}

/**
 * The pre-images of `importId` that its undo would put back (all but those of `skipRowIds`, and
 * those whose id a row that stays has) whose key rows that stay in the table (not the import's
 * own, which undo deletes) hold, per key. Empty when none do.
 */
export async function findRestoreKeyConflicts(client: Client, schema: string, table: string, importId: string, skipRowIds: readonly string[]): Promise<KeyConflict[]> {
  const target = qualify(schema, table);
  const conflicts: KeyConflict[] = [];
  for (const k of await listKeysToCheck(client, schema, table, importId)) {
    const params: unknown[] = [importId, table, skipRowIds];
    const names = k.key.map((c) => c.name);
    const values = await preImageValuesSql(client, schema, table, names, params);
    // A unique index whose NULLs are distinct never holds a key with a NULL twice.
    const notNull = k.nullsMatch ? '' : ` where ${names.map((n) => `b.${quoteIdent(n)} is not null`).join(' and ')}`;
    const { on } = upsertMatchSql(k.key, [], !k.nullsMatch && k.key.every((c) => c.type.hashAs === null));
    const res = await client.query<{ owner: string | null; file_name: string | null; import_mode: string | null; import_timestamp: Date | null; rows: number; kv: string[] }>(
      `with back as materialized (
         select p.row_id, ${values.map((v, i) => `${v} as ${quoteIdent(names[i]!)}`).join(', ')}
           from ${qualify(schema, 'import_preimages')} p
           cross join lateral json_populate_record(null::${target}, p.row_data) r
          where p.import_id = $1 and p.table_name = $2 and not (p.row_id = any($3::bigint[]))
            and not exists (select 1 from ${target} x where x.id = p.row_id and x._import_id is distinct from $1)
       ), c as (select * from back b${notNull})
       select t._import_id::text as owner, h.file_name, h.import_mode, h.import_timestamp, count(distinct c.row_id)::int as rows,
              (array_agg(${keyTextSql(names.map((n) => `c.${quoteIdent(n)}`))} order by c.row_id))[1:${SHOWN_VALUES}] as kv
         from c join ${target} t on ${on}
         left join ${qualify(schema, 'import_history')} h on h.import_id = t._import_id
        where t._import_id is distinct from $1
        group by t._import_id, h.file_name, h.import_mode, h.import_timestamp
        order by h.import_timestamp desc nulls last, t._import_id`,
      params,
    );
    if (res.rows.length === 0) continue;
    if (k.onlyIfUnique && !(await isUniqueAmongStaying(client, target, importId, k.key))) continue;
    conflicts.push({
      key: keyLabel(k.key),
      kept_by: k.keptBy,
      rows: res.rows.reduce((n, r) => n + r.rows, 0),
      values: [...new Set(res.rows.flatMap((r) => r.kv))].slice(0, SHOWN_VALUES),
      owners: res.rows.map((r) => ({ import_id: r.owner, file_name: r.file_name, import_mode: r.import_mode, import_timestamp: isoTime(r.import_timestamp), rows: r.rows })),
    });
  }
  return conflicts;
}

/** Whether the rows that stay (not the import's) hold each value of the key once: a key already shared refuses upserts anyway. */
async function isUniqueAmongStaying(client: Client, target: string, importId: string, key: readonly KeyColumn[]): Promise<boolean> {
  const cols = key.map((k) => (k.type.hashAs === null ? `t.${quoteIdent(k.name)}` : `(t.${quoteIdent(k.name)})::${k.type.hashAs}`));
  const res = await client.query<{ shared: boolean }>(
    `select exists (select 1 from ${target} t where t._import_id is distinct from $1 group by ${cols.join(', ')} having count(*) > 1) as shared`,
    [importId],
  );
  return !res.rows[0]!.shared;
}

/** `k = 'a'; 'b' (unique index x; 2 row(s) to put back), held by 5e1f... (append, c.csv, 2 row(s))`. */
export function keyConflictText(c: KeyConflict): string {
  const owners = c.owners.map((o) => (o.import_id === null ? `${o.rows} row(s) without an import id` : `${o.import_id} (${o.import_mode ?? '?'}, ${o.file_name ?? 'stdin'}, ${o.rows} row(s))`));
  return `${c.key} = ${c.values.join('; ')}${c.rows > c.values.length ? '; ...' : ''} (${c.kept_by}; ${c.rows} row(s) to put back), held by ${owners.join(', ')}`;
}
