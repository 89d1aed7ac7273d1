/**
 * A table's enabled row triggers and rules on some events: what may change, or keep out, the rows
 * a statement writes (a BEFORE trigger returning NULL or setting `updated_at`, an INSTEAD rule).
 */
import { qualify, quoteIdent } from '../transform/naming.js';
import type { Client } from './connection.js';

export interface TriggerOrRule {
  what: 'trigger' | 'rule';
  name: string;
}

export type RowEvent = 'insert' | 'update' | 'delete';

/** pg_trigger.tgtype's event bits and pg_rewrite.ev_type's codes (pg_trigger.h, pg_rewrite.h). */
const TRIGGER_BITS: Record<RowEvent, number> = { insert: 4, delete: 8, update: 16 };
const RULE_TYPES: Record<RowEvent, string> = { update: '2', insert: '3', delete: '4' };

/** Those of `table` on any of `events`: row triggers (BEFORE ones only, with `beforeOnly`) and rules (INSTEAD ones only, with `insteadRulesOnly`); rules first, then by name. */
export async function listRowTriggersAndRules(
  client: Client,
  schema: string,
  table: string,
  o: { events: readonly RowEvent[]; beforeOnly: boolean; insteadRulesOnly: boolean },
): Promise<TriggerOrRule[]> {
  // tgtype bits 1 row, 2 before.
  const timing = o.beforeOnly ? 3 : 1;
  const res = await client.query<TriggerOrRule>(
    `select 'trigger' as what, tgname as name from pg_trigger
      where tgrelid = to_regclass($1) and not tgisinternal and tgenabled in ('O', 'A') and tgtype & $2::int = $2::int and tgtype & $3::int <> 0
     union all
     select 'rule', rulename from pg_rewrite
      where ev_class = to_regclass($1) and ev_type::text = any($4::text[]) and (is_instead or not $5::boolean) and ev_enabled in ('O', 'A')
     order by 1, 2`,
    [qualify(schema, table), timing, o.events.reduce((bits, e) => bits | TRIGGER_BITS[e], 0), o.events.map((e) => RULE_TYPES[e]), o.insteadRulesOnly],
  );
  return res.rows;
}

/** The statement that turns one off: `alter table "s"."t" disable trigger "x"` (or rule). */
export function disableSql(schema: string, table: string, t: TriggerOrRule): string {
  return `alter table ${qualify(schema, table)} disable ${t.what} ${quoteIdent(t.name)}`;
}
