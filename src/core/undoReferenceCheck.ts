/**
 * Before undo deletes the rows an import inserted: the rows of other tables that reference them
 * through a foreign key ON DELETE RESTRICT or NO ACTION, which would make the DELETE fail (the
 * dry run says so as the real undo's refusal, instead of promising an undo that cannot happen),
 * and those a foreign key ON DELETE CASCADE, SET NULL or SET DEFAULT would delete or change with
 * them: rows undo would otherwise take from other tables without a word (refused unless --force).
 */
import type { Client } from '../db/connection.js';
import { insertedRowsSql } from '../db/preImages.js';
import { qualify, quoteIdent } from '../transform/naming.js';

/** A foreign key of another table whose rows reference rows the undo would delete. */
export interface BlockingReference {
  /** The constraint's name. */
  constraint: string;
  /** The referencing table, `schema.table`. */
  table: string;
  /** Its rows referencing rows the undo would delete. */
  rows: number;
  /** Its ON DELETE action: `restrict` and `no action` refuse the DELETE; the others change those rows with it. */
  on_delete: 'restrict' | 'no action' | 'cascade' | 'set null' | 'set default';
}

const ON_DELETE: Record<string, BlockingReference['on_delete']> = { r: 'restrict', a: 'no action', c: 'cascade', n: 'set null', d: 'set default' };

/** Whether the DELETE fails on the reference (RESTRICT, NO ACTION), rather than changing the referencing rows with it. */
export const refusesDelete = (b: BlockingReference): boolean => b.on_delete === 'restrict' || b.on_delete === 'no action';

/** The foreign keys of other tables that hold references to rows undo of `importId` would delete from `table`, with their ON DELETE action. */
export async function findBlockingReferences(client: Client, schema: string, table: string, importId: string): Promise<BlockingReference[]> {
  const fks = await client.query<{ name: string; child_schema: string; child: string; cols: string[]; refcols: string[]; action: string }>(
    `select c.conname as name, n.nspname as child_schema, r.relname as child, c.confdeltype::text as action,
            array(select a.attname::text from unnest(c.conkey) with ordinality k(n, o) join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.o) as cols,
            array(select a.attname::text from unnest(c.confkey) with ordinality k(n, o) join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.o) as refcols
       from pg_constraint c join pg_class r on r.oid = c.conrelid join pg_namespace n on n.oid = r.relnamespace
      where c.contype = 'f' and c.confrelid = to_regclass($1) and c.conrelid <> c.confrelid
      order by c.conname`,
    [qualify(schema, table)],
  );
  const found: BlockingReference[] = [];
  for (const fk of fks.rows) {
    const on = fk.cols.map((c, i) => `x.${quoteIdent(c)} = d.${quoteIdent(fk.refcols[i]!)}`).join(' and ');
    const res = await client.query<{ n: number }>(
      `select count(*)::int as n from ${qualify(fk.child_schema, fk.child)} x where exists (select 1 from (${insertedRowsSql(schema, table)}) d where ${on})`,
      [importId, table, []],
    );
    const rows = res.rows[0]?.n ?? 0;
    if (rows > 0) found.push({ constraint: fk.name, table: `${fk.child_schema}.${fk.child}`, rows, on_delete: ON_DELETE[fk.action] ?? 'no action' });
  }
  return found;
}

/** `3 row(s) of s.inv (inv_cust_id_fkey)`; with what the DELETE does to them when it does not fail: `(inv_cust_id_fkey, ON DELETE CASCADE: deleted too)`. */
export function blockingReferenceText(b: BlockingReference): string {
  const done = { cascade: 'deleted too', 'set null': 'their reference set to NULL', 'set default': 'their reference set to its default' } as const;
  return refusesDelete(b) ? `${b.rows} row(s) of ${b.table} (${b.constraint})` : `${b.rows} row(s) of ${b.table} (${b.constraint}, ON DELETE ${b.on_delete.toUpperCase()}: ${done[b.on_delete as keyof typeof done]})`;
}
