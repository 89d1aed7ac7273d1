/**
 * Imports that change rows, not only append them (issue 22): `--mode upsert --key ...`,
 * `--mode replace` and `--replace-import ID`. Each keeps the previous version of every row it
 * updates or deletes (db/preImages.ts) before it does so, in the import's transaction, so that
 * `atlas undo` puts back exactly what was there. Every statement is set-based.
 */
import type { Client } from '../db/connection.js';
import { getImportsByIds } from '../db/history.js';
import { MAX_SOURCE_VALUE_CHARS } from '../db/mappingErrors.js';
import { dependentImportText, listDependentImports } from '../db/importDuplicates.js';
import { laterChangeText, listLaterChanges, savePreImages } from '../db/preImages.js';
import { plannedRawSql } from '../db/staging/index.js';
import { getDataTable, listUniqueIndexes, withImportIdCheckSkipped } from '../db/tables.js';
import { disableSql, listRowTriggersAndRules } from '../db/rowTriggers.js';
import { AtlasError, UsageError } from '../errors.js';
import { keyIndexName, qualify, quoteIdent } from '../transform/naming.js';
import type { TypeRef } from '../transform/typeRef.js';
import { castSql, validSql } from '../transform/typeSql.js';
import { comparedAsText, rowHashSql, type TableColumn } from './sql/rowHash.js';
import type { ImportPlan } from './plan.js';

/** How an import writes its rows (import_history.import_mode). */
export type ImportMode = 'append' | 'upsert' | 'replace' | 'replace_import';

/** The mode an import's options ask for; refuses combinations that mean nothing. */
export function importModeOf(options: { mode?: 'append' | 'upsert' | 'replace' | null | undefined; replaceImport?: string | null | undefined; key?: string[] | null | undefined }, mappingKey: string[] | null): ImportMode {
  const mode = options.mode ?? 'append';
  if (options.replaceImport != null) {
    if (mode !== 'append' && mode !== 'replace') throw new UsageError(`--replace-import cannot be combined with --mode ${mode}`, { hint: '--replace-import ID replaces the rows of that import; leave out --mode' });
    if (!/^[0-9a-f-]{8,36}$/i.test(options.replaceImport)) throw new UsageError(`--replace-import takes an import id (or its first 8+ characters), not "${options.replaceImport}"`);
    return 'replace_import';
  }
  if (mode === 'upsert' && (options.key ?? mappingKey) == null) {
    throw new UsageError('--mode upsert needs --key: the columns that identify a row', { hint: 'for example --key id, or --key email,date' });
  }
  return mode;
}

/** A key column with its type in the table. */
export interface KeyColumn {
  name: string;
  type: TypeRef;
}

/** A typed value that can be grouped and compared (types without equality compare as the type they hash as). */
function comparable(expr: string, type: TypeRef): string {
  return type.hashAs === null ? expr : `(${expr})::${type.hashAs}`;
}

/** The key's values as readable text: 'a@x.org', 2025-01-31 (quote_nullable: NULL shows as NULL). */
export function keyTextSql(exprs: readonly string[]): string {
  return `concat_ws(', ', ${exprs.map((e) => `quote_nullable((${e})::text)`).join(', ')})`;
}

/** `(email, date)` or `id`. */
export function keyLabel(key: readonly KeyColumn[]): string {
  return key.length === 1 ? key[0]!.name : `(${key.map((k) => k.name).join(', ')})`;
}

/** How many rows sharing a key the refusal shows. */
const SHOWN_KEYS = 5;

/**
 * Refuses an upsert whose key is not unique in the table (which row would a file row update?),
 * before anything is written, showing the first key values held by several rows.
 */
export async function checkKeyUniqueInTable(client: Client, schema: string, table: string, key: readonly KeyColumn[]): Promise<void> {
  const cols = key.map((k) => comparable(`t.${quoteIdent(k.name)}`, k.type));
  const res = await client.query<{ kv: string; n: number }>(
    `select ${keyTextSql(key.map((k) => `t.${quoteIdent(k.name)}`))} as kv, count(*)::int as n
       from ${qualify(schema, table)} t group by ${cols.join(', ')}, 1 having count(*) > 1 order by count(*) desc, 1 limit ${SHOWN_KEYS + 1}`,
  );
  if (res.rows.length === 0) return;
  const shown = res.rows.slice(0, SHOWN_KEYS).map((r) => `${r.kv} (${r.n} rows)`);
  if (res.rows.length > SHOWN_KEYS) shown.push('...');
  throw new AtlasError(`cannot upsert into ${table}: key ${keyLabel(key)} is not unique in the table: ${shown.join('; ')}; nothing was written`, {
    hint: 'upsert by a key that identifies one row (a unique index on it keeps it so), or remove the extra rows first',
  });
}

/** error_type of the mapping errors of records that share a key within the file. */
export const DUPLICATE_KEY_ERROR = 'duplicate_key';

/** Record numbers a duplicate-key error lists. */
const LISTED_RECORDS = 10;

/**
 * A SELECT of mapping errors (the shape of errorRowsSql's) for every record whose key another
 * record of the file shares: which one would win is not for atlas to guess, so none of them is
 * written. Only records that would otherwise be written count. Parameters continue `params`.
 */
export function keyConflictErrorsSql(args: { schema: string; stage: string; plan: ImportPlan; key: readonly KeyColumn[]; hasPgInputIsValid: boolean; params: unknown[] }): string {
  const { plan, key } = args;
  const casts = key.map((k) => {
    const p = plan.columns.find((c) => c.targetName === k.name)!;
    return castSql(p, plannedRawSql(p));
  });
  const validity = plan.columns.filter((p) => p.checkValidity).map((p) => validSql(p, plannedRawSql(p), quoteIdent(args.schema), args.hasPgInputIsValid));
  args.params.push(keyLabel(key));
  const label = `$${args.params.length}::text`;
  // A key of one column is that column's error, with its value as the file has it (as other mapping errors are); a composite key names no one field.
  const single = key.length === 1 ? plan.columns.find((c) => c.targetName === key[0]!.name)! : null;
  const param = (v: string): string => `$${args.params.push(v)}::text`;
  const [sourceField, targetField, value] =
    single === null ? ['null::text', 'null::text', `left(k.kv, ${MAX_SOURCE_VALUE_CHARS})`] : [param(single.sourceName), param(single.targetName), `left(k.raw, ${MAX_SOURCE_VALUE_CHARS})`];
  return `select k._rn as record_number, ${sourceField} as source_field, ${targetField} as target_field, '${DUPLICATE_KEY_ERROR}'::text as error_type,
          format('key %s = %s is shared by %s records of the file (%s%s); upsert takes one record per key, so none of them is written',
                 ${label}, k.kv, k.n, array_to_string(k.rns[1:${LISTED_RECORDS}], ', '), case when k.n > ${LISTED_RECORDS} then ', ...' else '' end) as error_message,
          ${value} as source_value
     from (select s._rn, count(*) over w as n, array_agg(s._rn) over w as rns, ${keyTextSql(casts)} as kv${single === null ? '' : `, ${plannedRawSql(single)} as raw`}
             from ${quoteIdent(args.stage)} s
            where s._err is null${validity.map((v) => `\n              and ${v}`).join('')}
           window w as (partition by ${casts.map((c, i) => comparable(c, key[i]!.type)).join(', ')} order by s._rn rows between unbounded preceding and unbounded following)) k
    where k.n > 1`;
}

/** Leaves the records with a duplicate-key error (just recorded) out of what the import writes. */
export async function markKeyConflicts(client: Client, schema: string, stage: string, importId: string): Promise<void> {
  await client.query(
    `update ${quoteIdent(stage)} s set _err = '${DUPLICATE_KEY_ERROR}'
       from ${qualify(schema, 'mapping_errors')} e where e.import_id = $1 and e.error_type = '${DUPLICATE_KEY_ERROR}' and e.record_number = s._rn`,
    [importId],
  );
}

/**
 * An updated row's corrections: the file's for the columns it brings (their names in `param`), and
 * the row's own for the columns it does not (their values stay, so the record of how they were stored stays too).
 */
function correctionsKept(param: string): string {
  return `_corrections_applied = nullif((coalesce(t._corrections_applied, '{}'::jsonb) - ${param}::text[]) || coalesce(c._corrections_applied, '{}'::jsonb), '{}'::jsonb)`;
}

/** The unique index an upsert creates on its key with a new table (NULLs equal where the server can say so, as upsert compares them). */
export function keyIndexSql(schema: string, table: string, key: readonly string[], serverVersion: number): string {
  const nulls = serverVersion >= 150000 ? ' nulls not distinct' : '';
  return `create unique index ${quoteIdent(keyIndexName(table))} on ${qualify(schema, table)} (${key.map(quoteIdent).join(', ')})${nulls}`;
}

/** A mode that changes rows needs the table's `id`, unique (pre-images are found and put back by it). */
export async function checkTableHasId(client: Client, schema: string, table: string, mode: ImportMode): Promise<void> {
  const info = await getDataTable(client, schema, table);
  if (info === null) return;
  const flag = `--mode ${mode === 'replace_import' ? 'replace (--replace-import)' : mode}`;
  if (!info.columns.has('id')) {
    throw new AtlasError(`${flag} needs table ${table}'s id column, which it does not have: undo puts rows back by it`, {
      hint: 'append to it, or import into a table atlas creates',
    });
  }
  // Two rows sharing an id would each take the other's previous version on undo, or lose it. A
  // partitioned table's unique indexes must hold its partition key, so there one holding id will do.
  const unique = (await listUniqueIndexes(client, schema, table)).some((i) => i.valid && i.columns.includes('id') && (i.columns.length === 1 || info.partitioned));
  if (!unique) {
    throw new AtlasError(`${flag} needs table ${table}'s id column to be unique (a primary key or unique index on id alone), which it is not: undo puts rows back by it`, {
      hint: `if its ids are unique, add one (alter table ${qualify(schema, table)} add primary key (id)); else append to it`,
    });
  }
  // Through a parent, UPDATE and DELETE reach its children's rows too, and undo would put them back into the parent, without the children's own columns.
  const children = await client.query<{ name: string }>(
    `select format('%I.%I', cn.nspname, c.relname) as name from pg_inherits i
       join pg_class c on c.oid = i.inhrelid join pg_namespace cn on cn.oid = c.relnamespace
      where i.inhparent = to_regclass($1) and c.relkind <> 'p' and not c.relispartition order by 1`,
    [qualify(schema, table)],
  );
  if (children.rows.length > 0) {
    throw new AtlasError(`${flag} cannot change table ${table}: it has inheritance children (${children.rows.map((r) => r.name).join(', ')}), whose rows it would change too, and undo could not put back where they were`, {
      hint: 'append to it, or import into each table by its own name',
    });
  }
}

/**
 * `--replace-import ID`: the import must have put rows into this table, not be undone or
 * replaced already, and no later import may have changed its rows (they would be left behind).
 */
export async function checkReplaceTarget(client: Client, schema: string, table: string, replaced: string): Promise<void> {
  const [rec] = await getImportsByIds(client, schema, [replaced]);
  if (rec === undefined) throw new AtlasError(`--replace-import: import ${replaced} was deleted meanwhile`);
  if (rec.table_name !== table) {
    throw new UsageError(`--replace-import: import ${replaced} went into table ${rec.table_name}, not ${table}`, { hint: `import into its table: --table ${rec.table_name}` });
  }
  if (rec.status !== 'success' && rec.status !== 'partial') {
    throw new AtlasError(`--replace-import: import ${replaced} is ${rec.status}: it has no rows to replace`, { hint: 'import the file without --replace-import' });
  }
  if (rec.replaced_by !== null) {
    throw new AtlasError(`--replace-import: import ${replaced} was already replaced by import ${rec.replaced_by}`, { hint: `replace that one: --replace-import ${rec.replaced_by}` });
  }
  // A full replace's file is the whole table, rows earlier imports wrote kept in place among it: replacing its own rows would leave those beside the correction.
  if (rec.import_mode === 'replace') {
    throw new AtlasError(`--replace-import: import ${replaced} is a full replace (--mode replace): the table holds its file's rows, some kept in place as rows of earlier imports, which replacing its own rows would leave beside the corrected file's; nothing was written`, {
      hint: `load the corrected file with --mode replace (its undo brings back what import ${replaced} left; atlas undo ${replaced} first if its record should say undone)`,
    });
  }
  // The rows an upsert updated carry its id, but their earlier versions are other imports' rows: deleting them would lose those.
  if ((rec.rows_updated ?? 0) > 0) {
    throw new AtlasError(`--replace-import: import ${replaced} is an upsert that updated ${rec.rows_updated} row(s) of earlier imports; replacing its rows would delete those rows, whose earlier versions are not its own; nothing was written`, {
      hint: `undo it (atlas undo ${replaced} puts those rows back as they were), then import the corrected file with --mode upsert and its --key`,
    });
  }
  const later = await listLaterChanges(client, schema, table, replaced);
  if (later.length > 0) {
    throw new AtlasError(
      `--replace-import: later import(s) changed rows of import ${replaced}: ${later.map(laterChangeText).join(', ')}; nothing was written`,
      { hint: 'undo those first, then replace it' },
    );
  }
  // Its rows that later imports skipped their own copies of, as duplicates, are their data too: deleting them would lose it, as an undo would.
  const dependents = (await getDataTable(client, schema, table))?.columns.has('id') === true ? await listDependentImports(client, schema, table, replaced) : [];
  const rows = dependents.reduce((n, d) => n + d.rows, 0);
  if (rows > 0) {
    const list = dependents.map(dependentImportText).join(', ');
    throw new AtlasError(`--replace-import: ${rows} of the rows of import ${replaced} are also the data of later imports, which skipped their own copies of them as duplicates: ${list}; nothing was written`, {
      hint: `undo those later imports first; or keep their rows with atlas undo ${replaced} --reassign, then import the corrected file`,
    });
  }
}

/**
 * The failure when a DELETE or UPDATE changed fewer rows than it kept pre-images of: a user's
 * BEFORE trigger returning NULL (a soft delete) or a rule skipped them, and undo could not
 * restore what was recorded. Names them, with how to load anyway.
 */
async function rowsNotChanged(client: Client, schema: string, table: string, action: 'deleted' | 'updated', kept: number, changed: number): Promise<AtlasError> {
  const found = await listRowTriggersAndRules(client, schema, table, { events: [action === 'deleted' ? 'delete' : 'update'], beforeOnly: true, insteadRulesOnly: true });
  const verb = action === 'deleted' ? 'delete' : 'update';
  if (found.length === 0 || changed > kept) return new AtlasError(`internal error: ${kept} pre-image(s) kept for ${changed} row(s) ${action}; nothing was written`);
  const names = found.map((r) => `${r.what} ${quoteIdent(r.name)}`).join(', ');
  const first = found[0]!;
  const off = first.what === 'trigger' ? `${disableSql(schema, table, first)}, and enable it after` : `drop or change rule ${quoteIdent(first.name)}`;
  return new AtlasError(`${kept - changed} of the ${kept} row(s) this import had to ${verb} in table ${table} were not ${action}: ${names} on the table kept them, so the import's record of what it changed would be false; nothing was written`, {
    hint: `load the file with --mode append, or ${off}`,
  });
}

/**
 * `--mode replace` (`only` null: every row) and `--replace-import` (`only`: that import's rows):
 * keeps each row's pre-image, then deletes it, in the import's transaction, before the INSERT.
 * With `unchanged` (a full replace keeping in place the rows the file repeats: the temp table of
 * their ids) every other row goes. Readers keep seeing the old rows until the import commits
 * (MVCC), never an empty table: DELETE, not TRUNCATE, which would also block them. Returns the
 * rows deleted.
 */
export async function clearForReplace(client: Client, p: { schema: string; table: string; importId: string; only: string | null; unchanged?: string }): Promise<number> {
  const target = qualify(p.schema, p.table);
  const params = p.only === null ? [] : [p.only];
  const where = (n: number): string =>
    p.only !== null ? ` where t._import_id = $${n}` : p.unchanged !== undefined ? ` where not exists (select 1 from pg_temp.${quoteIdent(p.unchanged)} u where u.id = t.id)` : '';
  const kept = await savePreImages(client, { schema: p.schema, table: p.table, importId: p.importId, action: 'deleted', from: `from ${target} t${where(4)}`, params });
  const deleted = await client.query(`delete from ${target} t${where(1)}`, params);
  const n = deleted.rowCount ?? 0;
  if (n !== kept) throw await rowsNotChanged(client, p.schema, p.table, 'deleted', kept, n);
  return n;
}

/**
 * After a replace kept rows in place: how many rows of each earlier import stay in the table
 * (before this import inserts its own). Kept in the record (`metadata.kept_in_place`), so that
 * undoing one of those imports first is refused as for rows a later import changed (db/preImages.ts).
 */
export async function countRowsByImport(client: Client, schema: string, table: string): Promise<Array<{ import_id: string; rows: number }>> {
  const res = await client.query<{ import_id: string; rows: number }>(
    `select t._import_id::text as import_id, count(*)::int as rows from ${qualify(schema, table)} t where t._import_id is not null group by t._import_id order by 1`,
  );
  return res.rows;
}

/**
 * Whether the key can be matched with plain equality: keys compare NULL-safe, as the duplicate
 * check compares (NULL equals NULL), but without NULLs among the file's keys (in temp table
 * `conv`) plain equality is the same and lets the planner use an index on the key.
 */
export async function keysArePlain(client: Client, conv: string, key: readonly KeyColumn[]): Promise<boolean> {
  if (!key.every((k) => k.type.hashAs === null)) return false;
  const res = await client.query<{ x: boolean }>(`select exists (select 1 from ${quoteIdent(conv)} c where ${key.map((k) => `c.${quoteIdent(k.name)} is null`).join(' or ')}) as x`);
  return !res.rows[0]!.x;
}

/**
 * The upsert's match of a table row `t` with a file row `c` on the key (`on`), and whether the
 * file's columns differ between them (`differs`). Columns named in `missing` are not in the table
 * yet (a dry run compares before the DDL that adds them): NULL on its side, as after the DDL.
 */
export function upsertMatchSql(key: readonly KeyColumn[], columns: readonly KeyColumn[], plain: boolean, missing: ReadonlySet<string> = new Set()): { on: string; differs: string } {
  const tableSide = (k: KeyColumn): string => (missing.has(k.name) ? `null::${k.type.sql}` : `t.${quoteIdent(k.name)}`);
  const side = (alias: 't' | 'c', k: KeyColumn): string => (alias === 't' ? tableSide(k) : `c.${quoteIdent(k.name)}`);
  const row = (alias: 't' | 'c', cols: readonly KeyColumn[]): string => `row(${cols.map((k) => (comparedAsText(k.type) ? `(${side(alias, k)})::text` : comparable(side(alias, k), k.type))).join(', ')})`;
  const on = plain
    ? key.map((k) => `${side('t', k)} = ${side('c', k)}`).join(' and ')
    : `${rowHashSql(key.map((k) => ({ expr: side('t', k), type: k.type })))} = ${rowHashSql(key.map((k) => ({ expr: side('c', k), type: k.type })))}
         and ${row('t', key)} is not distinct from ${row('c', key)}`;
  const differs = columns.length === 0 ? 'false' : `${row('t', columns)} is distinct from ${row('c', columns)}`;
  return { on, differs };
}

/** What an upsert did to the table. */
export interface UpsertCounts {
  /** Valid records of the file (without a mapping error). */
  valid: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** The unchanged rows by the earlier import that wrote them (`metadata.kept_in_place`, as a replace's). */
  kept: Array<{ import_id: string; rows: number }>;
  /** Rows of new keys the table did not store (a BEFORE INSERT trigger returned NULL for them): skipped, not unchanged. */
  notStored: number;
}

/**
 * The upsert's writes into an existing table, after the file's rows were converted into the
 * temp table `conv` (every valid record as it would be stored, by insertRowsSql): keep the
 * pre-images of the table's rows whose key a record matches and whose values differ, update
 * those (values and metadata: the rows are this import's now), and insert the records whose key
 * is new. UPDATE ... FROM and INSERT ... WHERE NOT EXISTS: see docs/decisions.md (MERGE).
 */
export async function applyUpsert(
  client: Client,
  a: {
    schema: string;
    table: string;
    importId: string;
    conv: string;
    /** Fills `conv` (insertRowsSql into it). */
    fill: { sql: string; params: unknown[] };
    /** The columns the file writes (target names) with their types. */
    columns: readonly KeyColumn[];
    /** Every user column of the table, in table order (for `_row_hash`). */
    tableColumns: readonly TableColumn[];
    key: readonly KeyColumn[];
    hasRowHash: boolean;
  },
): Promise<UpsertCounts> {
  const target = qualify(a.schema, a.table);
  const conv = quoteIdent(a.conv);
  const info = await getDataTable(client, a.schema, a.table);
  const meta = ['_import_id', '_source_row_number', '_corrections_applied', ...(a.hasRowHash ? ['_row_hash'] : [])];
  const fileCols = a.columns.map((c) => quoteIdent(c.name));
  await client.query(`create temp table ${conv} on commit drop as select ${[...fileCols, ...meta].map((c) => `t.${c}`).join(', ')} from ${target} t with no data`);
  const valid = (await client.query(a.fill.sql, a.fill.params)).rowCount ?? 0;
  await client.query(`analyze ${conv}`);

  const { on, differs } = upsertMatchSql(a.key, a.columns, await keysArePlain(client, a.conv, a.key));

  // Pre-images first, then the update: values, and the metadata that makes the rows this import's.
  // Three joins of the file with the table, no table of matches in between: measured as fast as
  // MERGE, which needs PostgreSQL 15 and cannot insert in file order (docs/decisions.md).
  const kept = await savePreImages(client, { schema: a.schema, table: a.table, importId: a.importId, action: 'updated', from: `from ${target} t join ${conv} c on ${on} where ${differs}` });
  const sets = [...a.columns.map((c) => `${quoteIdent(c.name)} = c.${quoteIdent(c.name)}`), '_import_id = c._import_id', '_source_row_number = c._source_row_number', correctionsKept('$1')];
  if (info?.columns.has('_imported_at')) sets.push('_imported_at = default');
  if (a.hasRowHash) {
    // The row's hash after the update: the file's values, and the row's own in columns the file does not bring.
    const brought = new Set(a.columns.map((c) => c.name));
    sets.push(`_row_hash = ${rowHashSql(a.tableColumns.map((col) => ({ expr: `${brought.has(col.name) ? 'c' : 't'}.${quoteIdent(col.name)}`, type: col.type })))}`);
  }
  const skipCheck = { schema: a.schema, table: a.table, fkColumn: '_import_id', importId: a.importId };
  const updated = await withImportIdCheckSkipped(client, skipCheck, () => client.query(`update ${target} t set ${sets.join(', ')} from ${conv} c where ${on} and ${differs}`, [a.columns.map((c) => c.name)]));
  if ((updated.rowCount ?? 0) !== kept) throw await rowsNotChanged(client, a.schema, a.table, 'updated', kept, updated.rowCount ?? 0);
  // New keys, in file order (ids follow the file, as an append's do).
  const newKeys = `from ${conv} c where not exists (select 1 from ${target} t where ${on})`;
  // A table that may leave rows out of an INSERT: the rows sent are counted first, or those left out would pass for unchanged.
  const sent = (await insertsMayBeLeftOut(client, a.schema, a.table)) ? (await client.query<{ n: number }>(`select count(*)::int as n ${newKeys}`)).rows[0]!.n : null;
  const inserted = await withImportIdCheckSkipped(client, skipCheck, () =>
    client.query(
      `insert into ${target} (${[...fileCols, ...meta].join(', ')})
       select ${[...fileCols, ...meta].map((c) => `c.${c}`).join(', ')} ${newKeys}
        order by c._source_row_number`,
    ),
  );
  const n = inserted.rowCount ?? 0;
  const notStored = sent === null ? 0 : sent - n;
  const unchanged = valid - kept - n - notStored;
  // Rows the file repeats stay rows of the imports that wrote them: counted per import, so that
  // undoing one of those first is refused naming this one, as for a replace's kept rows (db/preImages.ts).
  const byImport =
    unchanged === 0
      ? []
      : (
          await client.query<{ import_id: string; rows: number }>(
            `select t._import_id::text as import_id, count(*)::int as rows from ${target} t join ${conv} c on ${on}
              where t._import_id is distinct from $1::uuid and t._import_id is not null group by 1 order by 1`,
            [a.importId],
          )
        ).rows;
  return { valid, inserted: n, updated: kept, unchanged, kept: byImport, notStored };
}

/** An enabled row trigger BEFORE INSERT (which may return NULL) or an INSTEAD rule on INSERT: the INSERT's row count may then be short of the rows sent. */
async function insertsMayBeLeftOut(client: Client, schema: string, table: string): Promise<boolean> {
  return (await listRowTriggersAndRules(client, schema, table, { events: ['insert'], beforeOnly: true, insteadRulesOnly: true })).length > 0;
}

/** The mode's figures in the import's history record (written in its transaction, after completeImport). */
export async function recordModeOutcome(
  client: Client,
  schema: string,
  importId: string,
  o: { mode: ImportMode; updated: number; unchanged: number; deleted: number; replaces: string | null },
): Promise<void> {
  // An append's record holds these already (the columns' defaults): one statement fewer a file in a batch.
  if (o.mode === 'append' && o.replaces === null && o.updated === 0 && o.unchanged === 0 && o.deleted === 0) return;
  const h = qualify(schema, 'import_history');
  await client.query(
    `update ${h} set import_mode = $2, rows_updated = $3, rows_unchanged = $4, rows_deleted = $5, replaces_import_id = $6 where import_id = $1`,
    [importId, o.mode, o.updated, o.unchanged, o.deleted, o.replaces],
  );
  if (o.replaces !== null) await client.query(`update ${h} set replaced_by = $1, updated_at = clock_timestamp() where import_id = $2`, [importId, o.replaces]);
}

/** Sets the mode on the in_progress record, so that a failed import shows what it was asked to do. */
export async function recordModeStarted(client: Client, schema: string, importId: string, mode: ImportMode): Promise<void> {
  if (mode !== 'append') await client.query(`update ${qualify(schema, 'import_history')} set import_mode = $2 where import_id = $1`, [importId, mode]);
}
