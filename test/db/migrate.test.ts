import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';
import { listMigrations, migrate } from '../../src/db/migrate.ts';
import { testDatabaseUrl } from '../helpers.ts';

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
      assert.deepEqual(tables.rows.map((r: { tablename: string }) => r.tablename), ['atlas_migrations', 'import_duplicates', 'import_history', 'mapping_errors']);
    } finally {
      await clients[0]!.query(`drop schema if exists ${schema} cascade`);
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('numbers the sql/ files without gaps', () => {
    const versions = listMigrations().map((m) => m.version);
    assert.deepEqual(versions, versions.map((_, i) => i + 1));
  });
});
