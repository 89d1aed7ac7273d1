import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { listMigrations, migrate } from '../../src/db/migrate.ts';
import { AtlasError } from '../../src/errors.ts';
import { testDatabaseUrl } from '../helpers.ts';

/** A schema as atlas's migrations up to `version` left it. */
async function createSchemaAtVersion(client: pg.Client, schema: string, version: number): Promise<void> {
  await client.query(`create schema ${schema}`);
  await client.query(`create table ${schema}.atlas_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())`);
  for (const m of listMigrations().filter((m) => m.version <= version)) {
    await client.query(`set search_path to ${schema}`);
    await client.query(m.sql);
    await client.query(`insert into ${schema}.atlas_migrations (version, name) values ($1, $2)`, [m.version, m.name]);
  }
  await client.query('reset search_path');
}

/** Runs `fn` on a fresh schema as the migrations up to `version` left it, then drops it. */
async function withSchemaAtVersion(version: number, fn: (client: pg.Client, schema: string) => Promise<void>): Promise<void> {
  const client = new pg.Client(testDatabaseUrl());
  await client.connect();
  const schema = `mig_${randomBytes(5).toString('hex')}`;
  try {
    await createSchemaAtVersion(client, schema, version);
    await fn(client, schema);
  } finally {
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  }
}

describe('migrations', () => {
  it('two concurrent first runs migrate exactly once', async () => {
    const url = testDatabaseUrl();
    const schema = `mig_${randomBytes(5).toString('hex')}`;
    const clients = [new pg.Client(url), new pg.Client(url), new pg.Client(url)];
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const applied = await Promise.all(clients.map((c) => migrate(c, schema)));
      const all = applied.flat().sort();
      assert.deepEqual(all, listMigrations().map((m) => m.version), 'each migration applied by exactly one process');
      const rows = await clients[0]!.query(`select version from ${schema}.atlas_migrations order by version`);
      assert.deepEqual(rows.rows.map((r: { version: number }) => r.version), listMigrations().map((m) => m.version));
      assert.deepEqual(await migrate(clients[0]!, schema), [], 'a later run has nothing to do');
      const tables = await clients[0]!.query(`select tablename from pg_tables where schemaname = $1 order by 1`, [schema]);
      assert.deepEqual(tables.rows.map((r: { tablename: string }) => r.tablename), ['atlas_migrations', 'import_duplicates', 'import_history', 'import_preimages', 'mapping_errors']);
    } finally {
      await clients[0]!.query(`drop schema if exists ${schema} cascade`);
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('version 4 keeps the records a version-3 schema holds, as json', async () => {
    // A schema as version 3 left it, holding two kept records (jsonb then).
    await withSchemaAtVersion(3, async (client, schema) => {
      const id = randomUUID();
      await client.query(`insert into ${schema}.import_history (import_id, source_type, table_name, file_name, status) values ($1, 'local_upload', 't', 'f.csv', 'success')`, [id]);
      await client.query(
        `insert into ${schema}.import_duplicates (import_id, record_number, record, matched_record_number) values ($1, 3, '{"bb": 2, "a": "x"}', 1), ($1, 5, null, 2)`,
        [id],
      );
      assert.deepEqual(await migrate(client, schema), listMigrations().filter((m) => m.version > 3).map((m) => m.version));
      const kept = await client.query(`select record_number, record, pg_typeof(record)::text as type, matched_record_number from ${schema}.import_duplicates order by id`);
      assert.deepEqual(kept.rows, [
        { record_number: 3, record: { a: 'x', bb: 2 }, type: 'json', matched_record_number: 1 },
        { record_number: 5, record: null, type: 'json', matched_record_number: 2 },
      ]);
    });
  });

  it('version 5 upgrades a version-4 schema in place: its records become appends that updated nothing', async () => {
    await withSchemaAtVersion(4, async (client, schema) => {
      const id = randomUUID();
      await client.query(`insert into ${schema}.import_history (import_id, source_type, table_name, file_name, status, rows_inserted) values ($1, 'local_upload', 't', 'f.csv', 'success', 7)`, [id]);
      assert.deepEqual(await migrate(client, schema), listMigrations().filter((m) => m.version > 4).map((m) => m.version));
      const rec = await client.query(
        `select import_mode, rows_inserted, rows_updated, rows_unchanged, rows_deleted, replaces_import_id, replaced_by, preimages_pruned_at from ${schema}.import_history`,
      );
      assert.deepEqual(rec.rows, [
        { import_mode: 'append', rows_inserted: 7, rows_updated: 0, rows_unchanged: 0, rows_deleted: 0, replaces_import_id: null, replaced_by: null, preimages_pruned_at: null },
      ]);
      // Pre-images go with their import's record.
      await client.query(`insert into ${schema}.import_preimages (import_id, table_name, row_id, action, row_data) values ($1, 't', 1, 'updated', '{"id": 1}')`, [id]);
      await client.query(`delete from ${schema}.import_history where import_id = $1`, [id]);
      assert.equal((await client.query(`select count(*)::int as n from ${schema}.import_preimages`)).rows[0].n, 0);
    });
  });

  it("version 7 keeps each committed record's transaction id in metadata.import_xmin, as the record's xmin was before anyone edits it", async () => {
    await withSchemaAtVersion(6, async (client, schema) => {
      const [ok, failed, kept] = [randomUUID(), randomUUID(), randomUUID()];
      const insert = (id: string, status: string, metadata: string) =>
        client.query(`insert into ${schema}.import_history (import_id, source_type, table_name, file_name, status, metadata) values ($1, 'local_upload', 't', 'f.csv', $2, $3::jsonb)`, [id, status, metadata]);
      await insert(ok, 'success', '{"format": "csv"}');
      await insert(failed, 'failed', '{}');
      await insert(kept, 'partial', '{"import_xmin": "42"}');
      const before = (await client.query(`select xmin::text as x from ${schema}.import_history where import_id = $1`, [ok])).rows[0].x;
      assert.deepEqual(await migrate(client, schema), listMigrations().filter((m) => m.version > 6).map((m) => m.version));
      const rows = await client.query(`select import_id, metadata from ${schema}.import_history`);
      const meta = new Map(rows.rows.map((r: { import_id: string; metadata: unknown }) => [r.import_id, r.metadata]));
      assert.deepEqual(meta.get(ok), { format: 'csv', import_xmin: before });
      assert.deepEqual(meta.get(failed), {}, 'a failed import wrote no rows');
      assert.deepEqual(meta.get(kept), { import_xmin: '42' }, 'one atlas already kept stays');
    });
  });

  it('tables a newer atlas made (a version this one does not know) are refused, changing nothing: an older atlas undid an upsert by deleting the rows it had only updated', async () => {
    const latest = listMigrations().at(-1)!.version;
    await withSchemaAtVersion(latest, async (client, schema) => {
      await client.query(`insert into ${schema}.atlas_migrations (version, name) values ($1, 'from_a_newer_atlas')`, [latest + 1]);
      await assert.rejects(migrate(client, schema), (err: unknown) => err instanceof AtlasError && err.message === `atlas's tables in schema ${schema} are at version ${latest + 1}, made by a newer atlas than this one, which knows versions up to ${latest}: it would misread their records and could undo imports wrongly, so it reads and changes nothing`);
      const versions = await client.query<{ version: number }>(`select version from ${schema}.atlas_migrations order by version`);
      assert.equal(versions.rows.at(-1)!.version, latest + 1);
    });
  });

  it('numbers the sql/ files without gaps', () => {
    const versions = listMigrations().map((m) => m.version);
    assert.deepEqual(versions, versions.map((_, i) => i + 1));
  });
});
