/**
 * atlas as it runs against production servers (README "Running against a production server"): as
 * a role with exactly the privileges it needs (USAGE and CREATE on its schema, TEMPORARY on the
 * database), connected directly and through PgBouncer in transaction pooling mode. Import,
 * concurrent overlapping imports, Ctrl-C, kill -9 and undo behave the same both ways; a missing
 * privilege is one line naming the GRANT that gives it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { ImportRecord } from '../../src/db/history.ts';
import { qualify, quoteIdent } from '../../src/transform/naming.ts';
import { csv, runAtlas, tempDir, testDatabaseUrl } from '../helpers.ts';
import {
  assertCleanStderr,
  assertPromiseHolds,
  backendOfImport,
  CANCEL_EXIT_MS,
  countImportRows,
  countRows,
  errorLines,
  inProgressImport,
  numberedCsv,
  raceOverlappingImports,
  signalWhileBlocked,
  startAtlas,
  waitFor,
  type ImportOut,
} from './helpers.ts';
import { createRestrictedSetup, findPgBouncer, PGBOUNCER_MISSING, startPgBouncer, type PgBouncer, type RestrictedSetup } from './setups.ts';

const pgbouncer = findPgBouncer();
const PARALLEL = 8;

describe('atlas as a role with only the privileges it needs', { timeout: 900_000 }, () => {
  let setup: RestrictedSetup;
  let bouncer: PgBouncer | null = null;
  const files = tempDir('atlas-production-');

  before(async () => {
    setup = await createRestrictedSetup(testDatabaseUrl());
    if (pgbouncer !== null) bouncer = await startPgBouncer(pgbouncer, setup.url, [{ user: setup.role, password: setup.password }]);
  });
  after(async () => {
    await bouncer?.stop();
    await setup?.drop();
    files.cleanup();
  });

  const as = (schema: string, url = setup.url): string[] => ['--database-url', url, '--schema', schema];
  const historyCount = async (schema: string): Promise<number> => Number((await setup.admin.query(`select count(*) as n from ${qualify(schema, 'import_history')}`)).rows[0].n);

  describe('privileges', () => {
    it('its first run migrates in a schema it may use but not own, without the right to create schemas; it imports, extends its tables and undoes', async () => {
      const conn = as(setup.schema);
      const first = await runAtlas(['history', '--json', ...conn]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal((JSON.parse(first.stdout) as { total_count: number }).total_count, 0);
      const tables = async () => (await setup.admin.query(`select tablename, tableowner from pg_tables where schemaname = $1 order by 1`, [setup.schema])).rows as Array<{ tablename: string; tableowner: string }>;
      assert.deepEqual(await tables(), [], 'a read creates nothing');

      const a = await runAtlas(['import', files.write('people.csv', csv([['name', 'age'], ['ann', 31], ['bob', 42]])), '--json', ...conn]);
      assert.equal(a.code, 0, a.stderr);
      assert.deepEqual(
        (await tables()).filter((t) => t.tableowner === setup.role).map((t) => t.tablename),
        ['atlas_migrations', 'import_duplicates', 'import_history', 'import_preimages', 'mapping_errors', 'people'],
        'atlas\'s tables are the role\'s own',
      );
      const b = await runAtlas(['import', files.write('people2.csv', csv([['name', 'age', 'city'], ['cy', 25, 'Oslo']])), '--table', 'people', '--json', ...conn]);
      assert.equal(b.code, 0, b.stderr);
      assert.equal((JSON.parse(b.stdout) as { import_strategy: string }).import_strategy, 'extend_table');
      const undo = await runAtlas(['undo', (JSON.parse(b.stdout) as ImportOut).import_id, '--yes', '--json', ...conn]);
      assert.equal(undo.code, 0, undo.stderr);
      assert.equal(await countRows(setup.admin, setup.schema, 'people'), 2);
      for (const cmd of [['stats', '--json'], ['lineage', 'people', '--json']]) {
        const r = await runAtlas([...cmd, ...conn]);
        assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`);
      }
    });

    /** Runs atlas expecting it to stop at a missing privilege: exit 1, exactly these two lines. */
    async function refused(args: string[], message: string, hint: string): Promise<void> {
      const r = await runAtlas(args);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `atlas: ${message}\n  hint: ${hint}\n`);
    }
    const role = (): string => quoteIdent(setup.role);
    const database = (): string => quoteIdent(setup.database);

    it('no TEMPORARY on the database: the import stops before recording anything, naming the GRANT; with it granted, it runs', async () => {
      const conn = as(setup.schema);
      const file = files.write('temp.csv', csv([['n'], [1]]));
      // atlas's tables, made by a first import.
      assert.equal((await runAtlas(['import', files.write('temp_first.csv', csv([['n'], [0]])), ...conn])).code, 0);
      const records = await historyCount(setup.schema);
      await setup.admin.query(`revoke temporary on database ${database()} from ${role()}`);
      try {
        await refused(['import', file, ...conn], `role ${role()} may not create temporary tables in database ${database()}, where every import stages its rows`, `GRANT TEMPORARY ON DATABASE ${database()} TO ${role()};`);
        assert.equal(await historyCount(setup.schema), records, 'no history record');
      } finally {
        await setup.admin.query(`grant temporary on database ${database()} to ${role()}`);
      }
      assert.equal((await runAtlas(['import', file, ...conn])).code, 0);
    });

    it('a schema that does not exist, one without CREATE, one without USAGE: each names the statement that fixes it, which does', async () => {
      const file = files.write('first.csv', csv([['n'], [1]]));
      await refused(
        ['import', file, ...as('not_yet')],
        `schema "not_yet" does not exist, and role ${role()} may not create schemas in database ${database()}`,
        `as the database owner: CREATE SCHEMA "not_yet" AUTHORIZATION ${role()}; (or GRANT CREATE ON DATABASE ${database()} TO ${role()};)`,
      );
      // A read never creates a schema: it says this one is not there.
      await refused(['history', ...as('not_yet')], `schema "not_yet" does not exist in database ${database()}: no import ran there`, 'check the name given with --schema (without it: ATLAS_SCHEMA, the config file, else public)');
      await setup.admin.query(`create schema not_yet authorization ${role()}`);
      assert.equal((await runAtlas(['history', ...as('not_yet')])).code, 0);
      assert.equal((await runAtlas(['import', file, ...as('not_yet')])).code, 0);

      await setup.admin.query('create schema usage_only');
      await setup.admin.query(`grant usage on schema usage_only to ${role()}`);
      assert.equal((await runAtlas(['history', ...as('usage_only')])).code, 0, 'reading needs no CREATE');
      await refused(['import', file, ...as('usage_only')], `role ${role()} may not create atlas's tables in schema "usage_only" (no CREATE privilege on it)`, `GRANT CREATE ON SCHEMA "usage_only" TO ${role()};`);
      await setup.admin.query(`grant create on schema usage_only to ${role()}`);
      assert.equal((await runAtlas(['import', file, ...as('usage_only')])).code, 0);

      await setup.admin.query('create schema no_usage');
      await refused(['history', ...as('no_usage')], `role ${role()} has no USAGE privilege on schema "no_usage"`, `GRANT USAGE, CREATE ON SCHEMA "no_usage" TO ${role()};`);
      await setup.admin.query(`grant usage, create on schema no_usage to ${role()}`);
      assert.equal((await runAtlas(['history', ...as('no_usage')])).code, 0);
    });

    it('a role that may only read the history: atlas history and stats work, and leave an in_progress record for the loading role to settle', async () => {
      const schema = 'read_only';
      await setup.addSchema(schema);
      assert.equal((await runAtlas(['import', files.write('read_only_first.csv', csv([['n'], [1]])), ...as(schema)])).code, 0);
      const reader = await setup.addRole();
      await setup.admin.query(`grant usage on schema ${schema} to ${quoteIdent(reader.role)}`);
      await setup.admin.query(`grant select on all tables in schema ${schema} to ${quoteIdent(reader.role)}`);
      // A record left by a process that is gone: nobody holds its lock.
      const inserted = await setup.admin.query<{ id: string }>(
        `insert into ${qualify(schema, 'import_history')} (import_id, source_type, table_name, status) values (gen_random_uuid(), 'local_upload', 'gone', 'in_progress') returning import_id as id`,
      );
      const id = inserted.rows[0]!.id;
      for (const cmd of [['history', '--json'], ['stats', '--json']]) {
        const r = await runAtlas([...cmd, ...as(schema, reader.url)]);
        assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`);
      }
      const status = async () => (await setup.admin.query(`select status from ${qualify(schema, 'import_history')} where import_id = $1`, [id])).rows[0].status as string;
      assert.equal(await status(), 'in_progress', 'as SQL shows it: the reader may not change it');
      assert.equal((await runAtlas(['history', ...as(schema)])).code, 0);
      assert.equal(await status(), 'failed', 'the loading role stores it');
    });

    it('a table of another role: without SELECT and INSERT on it, or to extend it without owning it, the GRANT or ALTER that fixes it', async () => {
      const schema = 'shared_tables';
      await setup.addSchema(schema);
      const conn = as(schema);
      assert.equal((await runAtlas(['import', files.write('mine.csv', csv([['n'], [1]])), ...conn])).code, 0, 'atlas\'s tables, the role\'s own');
      // Made by atlas as the superuser, so the superuser owns it.
      const made = await runAtlas(['import', files.write('theirs.csv', csv([['code', 'qty'], ['a', 1]])), '--table', 'theirs', ...as(schema, setup.adminUrl)]);
      assert.equal(made.code, 0, made.stderr);
      const table = `${quoteIdent(schema)}.${quoteIdent('theirs')}`;
      const same = files.write('theirs_more.csv', csv([['code', 'qty'], ['b', 2]]));
      await refused(['import', same, '--table', 'theirs', ...conn], `role ${role()} may not read and insert into table ${table}`, `GRANT SELECT, INSERT ON TABLE ${table} TO ${role()};`);
      await setup.admin.query(`grant select, insert on ${table} to ${role()}`);
      const merged = await runAtlas(['import', same, '--table', 'theirs', ...conn]);
      assert.equal(merged.code, 0, merged.stderr);

      const wider = files.write('theirs_wider.csv', csv([['code', 'qty', 'note'], ['c', 3, 'new']]));
      const r = await runAtlas(['import', wider, '--table', 'theirs', '--json', ...conn]);
      assert.equal(r.code, 1, r.stderr);
      const admin = (await setup.admin.query<{ u: string }>('select current_user as u')).rows[0]!.u;
      const { import_id: id } = JSON.parse(r.stdout) as { import_id: string };
      assert.deepEqual(errorLines(r.stderr), [`atlas: import ${id} into theirs failed: role ${role()} may not add the file's new columns to table ${table}, which belongs to ${quoteIdent(admin)}`]);
      assert.ok(r.stderr.endsWith(`\n  hint: ALTER TABLE ${table} OWNER TO ${role()}; (or GRANT ${quoteIdent(admin)} TO ${role()};)\n`), r.stderr);
      const [rec] = (await setup.admin.query(`select status from ${qualify(schema, 'import_history')} where import_id = $1`, [id])).rows as Array<{ status: string }>;
      assert.equal(rec?.status, 'failed', 'recorded as failed');
      const columns = await setup.admin.query(`select 1 from information_schema.columns where table_schema = $1 and table_name = 'theirs' and column_name = 'note'`, [schema]);
      assert.equal(columns.rowCount, 0, 'the table is unchanged');
      await setup.admin.query(`alter table ${table} owner to ${role()}`);
      assert.equal((await runAtlas(['import', wider, '--table', 'theirs', ...conn])).code, 0);
    });
  });

  for (const via of ['directly', 'through PgBouncer in transaction pooling mode'] as const) {
    const pooled = via !== 'directly';
    describe(via, { skip: pooled && pgbouncer === null ? PGBOUNCER_MISSING : false }, () => {
      const schema = pooled ? 'pooled' : 'direct';
      let url: string;
      let conn: string[];
      before(async () => {
        await setup.addSchema(schema);
        url = pooled ? bouncer!.through(setup.url) : setup.url;
        conn = as(schema, url);
      });
      after(async () => {
        await assertPromiseHolds(setup.admin, schema);
      });

      it(`${PARALLEL} first runs at once with half-overlapping files: atlas's tables made once, every distinct row in the table once`, async () => {
        const expected = await raceOverlappingImports({ client: setup.admin, schema, conn, write: files.write, table: 'race', parallel: PARALLEL, rows: 1000, base: 0 });
        const [counts] = (await setup.admin.query(`select count(*) as n, count(distinct id_2) as d from ${qualify(schema, 'race')}`)).rows as Array<{ n: string; d: string }>;
        assert.deepEqual([Number(counts!.n), Number(counts!.d)], [expected, expected]);
        const versions = await setup.admin.query(`select count(*) as n from ${qualify(schema, 'atlas_migrations')}`);
        assert.ok(Number(versions.rows[0].n) > 0);
      });

      it('an import that extends the table, then its undo: exactly its rows go', async () => {
        const lines = ['id,name,amount,day,batch', ...Array.from({ length: 300 }, (_, i) => `${5_000_000 + i},n ${i},1.5,2024-02-01,b1`)];
        const r = await runAtlas(['import', files.write(`${schema}_extend.csv`, `${lines.join('\n')}\n`), '--table', 'race', '--json', ...conn]);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as ImportOut & { import_strategy: string };
        assert.deepEqual([out.import_strategy, out.rows_inserted], ['extend_table', 300]);
        const before = await countRows(setup.admin, schema, 'race');
        const undo = await runAtlas(['undo', out.import_id, '--yes', '--json', ...conn]);
        assert.equal(undo.code, 0, undo.stderr);
        assert.equal((JSON.parse(undo.stdout) as { rows_removed: number }).rows_removed, 300);
        assert.equal(await countRows(setup.admin, schema, 'race'), before - 300);
        assert.equal(await countImportRows(setup.admin, schema, 'race', out.import_id), 0);
      });

      it('Ctrl-C while a statement waits on a lock: that statement is cancelled on the server, the import recorded failed: cancelled', async () => {
        const file = files.write(`${schema}_blocked.csv`, numberedCsv(0, 500));
        const { id, run, exitMs } = await signalWhileBlocked({ client: setup.admin, url: setup.adminUrl, schema, table: 'blocked', file, conn, signal: 'SIGINT' });
        assert.ok(exitMs < CANCEL_EXIT_MS, `exited ${Math.round(exitMs)} ms after SIGINT`);
        assert.equal(run.code, 1, run.stderr);
        assertCleanStderr(run.stderr);
        assert.deepEqual(errorLines(run.stderr), [`atlas: import ${id} cancelled; nothing was written`]);
        const [rec] = (await setup.admin.query(`select status, error_message from ${qualify(schema, 'import_history')} where import_id = $1`, [id])).rows;
        assert.deepEqual(rec, { status: 'failed', error_message: 'cancelled' });
      });

      it('kill -9 mid-INSERT: in_progress for history and SQL while it runs, nothing written, then failed (interrupted) at the next connect', async () => {
        const before = await countRows(setup.admin, schema, 'race');
        const atlas = startAtlas(['import', files.write(`${schema}_killed.csv`, numberedCsv(9_000_000, 2000)), '--table', 'race', ...conn], { pause: 'insert' });
        await atlas.paused('insert');
        const id = await inProgressImport(setup.admin, schema, 'race');
        // Another atlas, through the same connections, sees it running: its lock holds.
        const running = await runAtlas(['history', '--status', 'in_progress', '--json', ...conn]);
        assert.deepEqual((JSON.parse(running.stdout) as { imports: ImportRecord[] }).imports.map((r) => r.import_id), [id]);
        atlas.child.kill('SIGKILL');
        await atlas.done;
        await waitFor('the import\'s transaction to end', async () => (await backendOfImport(setup.admin, id)) === null);
        const shown = await runAtlas(['history', id, '--json', ...conn]);
        const rec = (JSON.parse(shown.stdout) as { import_record: ImportRecord }).import_record;
        assert.deepEqual([rec.status, rec.metadata.interrupted], ['failed', true]);
        const [row] = (await setup.admin.query(`select status, error_message from ${qualify(schema, 'import_history')} where import_id = $1`, [id])).rows;
        assert.deepEqual(row, { status: 'failed', error_message: rec.error_message }, 'SQL says what atlas says');
        assert.equal(await countRows(setup.admin, schema, 'race'), before);
      });

      if (pooled) {
        it('on server connections where other clients used temporary tables, imports run as well', async () => {
          // Every server connection of the pool opened and made to use a temporary table (then
          // PostgreSQL refuses a new temp_buffers in that session).
          const clients = await Promise.all(Array.from({ length: 24 }, async () => {
            const c = new pg.Client(url);
            await c.connect();
            await c.query('begin');
            await c.query('create temp table other_client (n int) on commit drop');
            await c.query('insert into other_client values (1)');
            return c;
          }));
          for (const c of clients) {
            await c.query('commit');
            await c.end();
          }
          const r = await runAtlas(['import', files.write('after_temp.csv', numberedCsv(7_000_000, 100)), '--table', 'after_temp', '--json', ...conn]);
          assert.equal(r.code, 0, r.stderr);
        });
      }
    });
  }
});
