/**
 * The table a user named (--table, lineage's TABLE, a mapping file's "table"), as PostgreSQL users
 * write it: `orders`, `public.orders` (the schema before the dot must be the one atlas works in,
 * where its tracking tables are), or `"a.b"` for a name that holds a dot. Taken as a bare name,
 * `sales.orders` made a table called "sales.orders" in public and exited 0.
 */
import { isSystemSchema, type Settings } from '../config.js';
import { UsageError } from '../errors.js';
import { parseTableName } from '../transform/naming.js';

export function tableNamed(given: string, settings: Pick<Settings, 'schema' | 'schemaSource'>, what: string): string {
  // history --table '' matched nothing and said nothing of why.
  if (given.trim() === '') throw new UsageError(`${what} is empty: give a table name`);
  const parsed = parseTableName(given);
  if (parsed === null) throw new UsageError(`${what} "${given}" is not a name atlas can take: write name, schema.name, or "name" in double quotes for one that holds a dot`);
  const { schema, table } = parsed;
  if (schema === null || schema === settings.schema) return table;
  // A system schema is refused whatever names it (config.ts): --schema pg_catalog is no way out.
  if (isSystemSchema(schema)) throw new UsageError(`${what} "${given}" names a table in schema ${schema}, PostgreSQL's own (the system catalogs), not a place for atlas's tables or yours`, { hint: `name the table ${table} alone, in ${settings.schema}, or another schema with --schema` });
  const where = settings.schemaSource === 'default' ? 'the default schema' : `the schema set ${settings.schemaSource === 'config file' ? 'in the config file' : `by ${settings.schemaSource}`}`;
  throw new UsageError(`${what} "${given}" names a table in schema ${schema}, but atlas works in ${where}, ${settings.schema}, beside its tracking tables`, {
    hint: `pass --schema ${schema} and name the table ${table} (atlas keeps its tracking tables in that schema too), or write "${given.replaceAll('"', '""')}" in double quotes for a table whose name holds a dot`,
  });
}
