/**
 * What atlas needs of the role it connects as: USAGE and CREATE on its schema, TEMPORARY on the
 * database, and ownership of a table it extends. Each is checked before the statement that needs
 * it, so a missing one is one line naming the GRANT that gives it, not a "permission denied" in
 * the middle of an import. (Catalog names appear in messages only, never in SQL atlas runs.)
 */
import { DatabaseError } from '../errors.js';
import { quoteIdent } from '../transform/naming.js';
import type { Client } from './connection.js';

/** The role's privileges on atlas's schema and on the database. */
export interface SchemaAccess {
  role: string;
  database: string;
  schemaExists: boolean;
  usage: boolean;
  create: boolean;
  /** CREATE on the database: the right to create schemas. */
  createSchemas: boolean;
  temporary: boolean;
  /** The session takes no writes: default_transaction_read_only, or a standby. */
  readOnly: boolean;
  standby: boolean;
}

export async function getSchemaAccess(client: Client, schema: string): Promise<SchemaAccess> {
  const res = await client.query<SchemaAccess>(
    `select current_user::text as role, current_database()::text as database, n.oid is not null as "schemaExists",
            coalesce(has_schema_privilege(n.oid, 'USAGE'), false) as usage,
            coalesce(has_schema_privilege(n.oid, 'CREATE'), false) as create,
            has_database_privilege(current_database(), 'CREATE') as "createSchemas",
            has_database_privilege(current_database(), 'TEMPORARY') as temporary,
            current_setting('transaction_read_only') = 'on' as "readOnly", pg_is_in_recovery() as standby
       from (values (1)) one left join pg_namespace n on n.nspname = $1`,
    [schema],
  );
  return res.rows[0]!;
}

const grantSchema = (a: SchemaAccess, schema: string, what: string): string => `GRANT ${what} ON SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(a.role)};`;

/** The schema's absence when the role may not create it, or a missing USAGE. */
export function checkSchemaUsable(a: SchemaAccess, schema: string): void {
  if (!a.schemaExists && !a.createSchemas) {
    throw new DatabaseError(`schema ${quoteIdent(schema)} does not exist, and role ${quoteIdent(a.role)} may not create schemas in database ${quoteIdent(a.database)}`, {
      hint: `as the database owner: CREATE SCHEMA ${quoteIdent(schema)} AUTHORIZATION ${quoteIdent(a.role)}; (or GRANT CREATE ON DATABASE ${quoteIdent(a.database)} TO ${quoteIdent(a.role)};)`,
    });
  }
  if (a.schemaExists && !a.usage) {
    throw new DatabaseError(`role ${quoteIdent(a.role)} has no USAGE privilege on schema ${quoteIdent(schema)}`, { hint: grantSchema(a, schema, 'USAGE, CREATE') });
  }
}

/** A session that takes no writes (a standby, default_transaction_read_only): one line before `what` tries one. */
export function checkWritable(a: SchemaAccess, what: string): void {
  if (a.standby) throw new DatabaseError(`the server is a standby (in recovery), which takes no writes: ${what} needs the primary`, { hint: 'point --database-url at the primary server' });
  if (a.readOnly) {
    throw new DatabaseError(`the session is read-only (default_transaction_read_only is on for role ${quoteIdent(a.role)}, database ${quoteIdent(a.database)} or the server): ${what} cannot write there`, {
      hint: `connect as a role that may write, or: ALTER ROLE ${quoteIdent(a.role)} SET default_transaction_read_only = off;`,
    });
  }
}

/** Creating atlas's own tables (a first run, an upgrade) needs CREATE on the schema, and a session that writes. */
export function checkCanMigrate(a: SchemaAccess, schema: string): void {
  checkWritable(a, `making atlas's tables in schema ${quoteIdent(schema)}`);
  if (a.schemaExists && !a.create) {
    throw new DatabaseError(`role ${quoteIdent(a.role)} may not create atlas's tables in schema ${quoteIdent(schema)} (no CREATE privilege on it)`, {
      hint: grantSchema(a, schema, 'CREATE'),
    });
  }
}

/**
 * Before an import records anything: TEMPORARY on the database (every import stages its rows in a
 * temporary table), and CREATE on the schema for a new table, or SELECT and INSERT on an existing
 * one (its duplicate check reads it).
 */
export async function checkImportPrivileges(client: Client, schema: string, table: string): Promise<void> {
  const a = await getSchemaAccess(client, schema);
  checkWritable(a, 'an import');
  if (!a.temporary) {
    throw new DatabaseError(`role ${quoteIdent(a.role)} may not create temporary tables in database ${quoteIdent(a.database)}, where every import stages its rows`, {
      hint: `GRANT TEMPORARY ON DATABASE ${quoteIdent(a.database)} TO ${quoteIdent(a.role)};`,
    });
  }
  const res = await client.query<{ exists: boolean; readable: boolean; insertable: boolean }>(
    `select t.oid is not null as exists,
            coalesce(has_table_privilege(t.oid, 'SELECT'), false) as readable,
            coalesce(has_table_privilege(t.oid, 'INSERT'), false) as insertable
       from (values (to_regclass(format('%I.%I', $1::text, $2::text)))) t(oid)`,
    [schema, table],
  );
  const t = res.rows[0]!;
  const qualified = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  if (!t.exists && !a.create) {
    throw new DatabaseError(`role ${quoteIdent(a.role)} may not create table ${qualified} (no CREATE privilege on schema ${quoteIdent(schema)})`, { hint: grantSchema(a, schema, 'CREATE') });
  }
  if (t.exists && !(t.readable && t.insertable)) {
    throw new DatabaseError(`role ${quoteIdent(a.role)} may not read and insert into table ${qualified}`, { hint: `GRANT SELECT, INSERT ON TABLE ${qualified} TO ${quoteIdent(a.role)};` });
  }
}

/** Adding columns to a table takes its ownership (or membership in its owner role). */
export async function checkCanAlterTable(client: Client, schema: string, table: string): Promise<void> {
  const res = await client.query<{ role: string; owner: string; ok: boolean }>(
    `select current_user::text as role, pg_get_userbyid(c.relowner)::text as owner, pg_has_role(c.relowner, 'USAGE') as ok
       from pg_class c where c.oid = to_regclass(format('%I.%I', $1::text, $2::text))`,
    [schema, table],
  );
  const r = res.rows[0];
  if (r === undefined || r.ok) return;
  const qualified = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  throw new DatabaseError(`role ${quoteIdent(r.role)} may not add the file's new columns to table ${qualified}, which belongs to ${quoteIdent(r.owner)}`, {
    hint: `ALTER TABLE ${qualified} OWNER TO ${quoteIdent(r.role)}; (or GRANT ${quoteIdent(r.owner)} TO ${quoteIdent(r.role)};)`,
  });
}
