/**
 * `atlas undo --reassign`: keeps the rows of the import being undone that later imports rely on
 * (they skipped their own copies of them as duplicates), giving each to the earliest of those
 * imports, as if that import had inserted its record itself:
 *
 * - the row's values become that record's (as kept in import_duplicates; equal to the row's on
 *   the duplicate check's key, which may not be every column), and the table's columns that
 *   import did not bring get their default, as its INSERT gave them; `id` stays, so other
 *   records that point at the row still do;
 * - `_import_id` is that import, `_source_row_number` its record's number, `_imported_at` the time
 *   of its other rows (or of its record), `_corrections_applied` NULL: the corrections of a skipped
 *   record are not kept, only its converted values; `_row_hash` is recomputed;
 * - that import's record counts the rows as inserted, no longer as skipped duplicates, and its
 *   import_duplicates rows for them are deleted; its metadata says from which import, how many,
 *   when and by whom (see recordReassignment), so its own undo later removes exactly them too.
 */
import type { Client } from '../db/connection.js';
import { recordReassignment } from '../db/history.js';
import { dependentRecordsSql, IMPORT_DUPLICATES_TABLE } from '../db/importDuplicates.js';
import { findTypesWithoutHash, getDataTable, getExistingTable } from '../db/tables.js';
import { AtlasError } from '../errors.js';
import { importTempTable, qualify, quoteIdent } from '../transform/naming.js';
import { rehashTableSql } from './sql/rowHash.js';

/** Rows given to one later import. */
export interface Reassigned {
  import_id: string;
  rows: number;
}

/** Re-attributes the rows of `importId` in `table` that later imports rely on; returns how many went to which. Runs in the undo's transaction, under its table lock. */
export async function reassignDependentRows(client: Client, args: { schema: string; table: string; importId: string; user: string }): Promise<Reassigned[]> {
  const { schema, table, importId } = args;
  const target = qualify(schema, table);
  const existing = await getExistingTable(client, schema, table);
  const info = await getDataTable(client, schema, table);
  if (existing === null || info === null) throw new AtlasError(`table ${schema}.${table} is gone`);
  const claims = importTempTable(importId, 'reassign');
  await client.query(
    `create temp table ${quoteIdent(claims)} on commit drop as
       with ${dependentRecordsSql(schema, table)}
       select dup_id, import_id, matched_row_id as row_id, record_number, record, import_timestamp from firsts`,
    [importId, table],
  );
  const groups = await client.query<{ import_id: string; rows: number; sample: string | null }>(
    `select import_id::text, count(*)::int as rows, (array_agg(record::text))[1] as sample
       from ${quoteIdent(claims)} group by import_id order by min(import_timestamp), import_id`,
  );
  const done: Reassigned[] = [];
  for (const g of groups.rows) {
    // Every record of one import has the keys of the columns it brought (target names).
    const brought = new Set(Object.keys((g.sample === null ? null : (JSON.parse(g.sample) as Record<string, unknown> | null)) ?? {}));
    const sets = existing.columns.filter((c) => !c.generated).map((c) => `${quoteIdent(c.name)} = ${brought.has(c.name) ? `r.${quoteIdent(c.name)}` : 'default'}`);
    sets.push('_import_id = $1::uuid', '_source_row_number = x.record_number', '_corrections_applied = null');
    if (info.columns.has('_imported_at')) {
      sets.push(
        // Else its record's time, in the TimeZone its rows would have been written in (not this session's).
        `_imported_at = coalesce((select min(o._imported_at) from ${target} o where o._import_id = $1::uuid),
                                 (select h.import_timestamp at time zone coalesce(h.metadata->>'time_zone', current_setting('TimeZone')) from ${qualify(schema, 'import_history')} h where h.import_id = $1::uuid))`,
      );
    }
    const res = await client.query(
      `update ${target} t set ${sets.join(', ')}
         from ${quoteIdent(claims)} x cross join lateral json_populate_record(null::${target}, x.record) r
        where t.id = x.row_id and x.import_id = $1::uuid`,
      [g.import_id],
    );
    if (res.rowCount !== g.rows) throw new AtlasError(`internal error: ${g.rows} row(s) to give to import ${g.import_id}, ${res.rowCount ?? 0} updated; rolled back, nothing was changed`);
    await recordReassignment(client, schema, { to: g.import_id, from: importId, rows: g.rows, by: args.user });
    done.push({ import_id: g.import_id, rows: g.rows });
  }
  if (existing.hasRowHash && done.length > 0) {
    await findTypesWithoutHash(client, existing.columns);
    await client.query(rehashTableSql(schema, table, existing.columns, claims));
  }
  await client.query(`delete from ${qualify(schema, IMPORT_DUPLICATES_TABLE)} where id in (select dup_id from ${quoteIdent(claims)})`);
  return done;
}
