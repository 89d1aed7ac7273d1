/**
 * Refusals with the right exit code and one line (issue 25.12): flags out of range and an unknown
 * encoding are usage errors before any database work; output that cannot be written; imports into
 * what is not a table; undo on a table that lost atlas's id column.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { qualify } from '../../src/transform/naming.ts';
import { errorLines } from '../guarantees/helpers.ts';
import { BIN, csv, runAtlas, useTempDir, useTestDb } from '../helpers.ts';

/** Nothing listens here: a command that reached for the database would fail with exit 1, not 2. */
const NOWHERE = ['--database-url', 'postgresql://nobody@127.0.0.1:9/none'];

describe('refusals: exit codes and one line', () => {
  const db = useTestDb();
  let conn: string[];
  const files = useTempDir();
  before(async () => {
    conn = ['--database-url', db.url, '--schema', db.schema];
  });

  it('--limit, --offset, --days, --row, --since and --older-than out of range: usage errors (exit 2) before any query', async () => {
    const huge = '99999999999999999999';
    const cases: Array<[string[], RegExp]> = [
      [['history', '--limit', huge], /--limit must be a whole number from 1 to 9007199254740991/],
      [['history', '--offset', huge], /--offset must be a whole number from 0 to 9007199254740991/],
      [['history', '--offset', '9007199254740993'], /--offset must be a whole number/],
      [['errors', '1f0c2a9e', '--limit', huge], /--limit must be/],
      [['errors', '1f0c2a9e', '--duplicates', '--offset', huge], /--offset must be/],
      [['stats', '--days', huge], /--days must be a whole number from 1 to 1000000/],
      [['stats', '--days', '1000001'], /--days must be/],
      [['lineage', 'things', '--row', huge], /--row must be a row id, a whole number from 0 to 9223372036854775807/],
      [['lineage', 'things', '--row', '9223372036854775808'], /--row must be a row id/],
      [['history', '--since', `${huge}d`], /--since must reach back at most 1000000 days/],
      [['history', 'prune', '--older-than', `${huge}d`, '--dry-run'], /--older-than must be at most 1000000d/],
    ];
    for (const [args, message] of cases) {
      const r = await runAtlas([...args, ...NOWHERE]);
      assert.equal(r.code, 2, `atlas ${args.join(' ')}: ${r.stderr}`);
      assert.equal(errorLines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /SQLSTATE/);
    }
  });

  it('--row beyond an integer id column is "no such row", not an error from the server', async () => {
    await db.client.query(`create table ${qualify(db.schema, 'small_ids')} (id integer primary key, _import_id uuid, v text)`);
    const r = await runAtlas(['lineage', 'small_ids', '--row', '3000000000', ...conn]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^atlas: no row with id 3000000000 in /m);
  });

  it('--encoding bogus: a usage error before anything is read, and no record', async () => {
    const path = files.write('enc.csv', csv([['a'], [1]]));
    const offline = await runAtlas(['import', path, '--encoding', 'bogus', ...NOWHERE]);
    assert.equal(offline.code, 2, offline.stderr);
    assert.match(offline.stderr, /^atlas: --encoding bogus is not an encoding atlas knows$/m);
    const r = await runAtlas(['import', path, '--encoding', 'bogus', '--json', ...conn]);
    assert.equal(r.code, 2, r.stderr);
    const t = (await db.rows<{ t: string | null }>(`select to_regclass($1)::text as t`, [qualify(db.schema, 'import_history')]))[0]!.t;
    if (t !== null) assert.deepEqual(await db.rows(`select import_id from ${t} where table_name = 'enc'`), [], 'nothing was recorded');
    const ok = await runAtlas(['import', path, '--encoding', 'LATIN1', ...conn]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('--table schema.name: the schema atlas works in is taken off, another is refused before anything is read, "a.b" in quotes is a name', async () => {
    const path = files.write('dotted.csv', csv([['a'], [1], [2]]));
    for (const args of [['import', path, '--table', 'elsewhere.orders'], ['history', '--table', 'elsewhere.orders'], ['stats', '--table', 'elsewhere.orders'], ['lineage', 'elsewhere.orders']]) {
      const r = await runAtlas([...args, ...NOWHERE, '--schema', db.schema]);
      assert.equal(r.code, 2, `atlas ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^atlas: (--table|the table) "elsewhere\\.orders" names a table in schema elsewhere, but atlas works in the schema set by --schema, ${db.schema}, beside its tracking tables$`, 'm'));
      assert.match(r.stderr, /hint: pass --schema elsewhere and name the table orders/);
    }
    const r = await runAtlas(['import', path, '--table', 'a.b.c', ...NOWHERE]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^atlas: --table "a\.b\.c" is not a name atlas can take/m);
    const qualified = await runAtlas(['import', path, '--table', `${db.schema}.orders`, '--json', ...conn]);
    assert.equal(qualified.code, 0, qualified.stderr);
    assert.equal((JSON.parse(qualified.stdout) as { table_name: string }).table_name, 'orders');
    assert.deepEqual(await db.rows(`select a from ${qualify(db.schema, 'orders')} order by a`), [{ a: 1 }, { a: 2 }]);
    assert.equal((await db.rows<{ n: number }>(`select count(*)::int as n from pg_class where relname like '%.orders' and relnamespace = $1::regnamespace`, [db.schema]))[0]!.n, 0, 'no table named after the dotted text');
    const lineage = await runAtlas(['lineage', `${db.schema}.orders`, '--json', ...conn]);
    assert.equal(lineage.code, 0, lineage.stderr);
    assert.equal((JSON.parse(lineage.stdout) as { rows_now_in_table: number }).rows_now_in_table, 2);
    const quoted = await runAtlas(['import', path, '--table', '"x.y"', '--json', ...conn]);
    assert.equal(quoted.code, 0, quoted.stderr);
    assert.deepEqual(await db.rows(`select a from ${qualify(db.schema, 'x.y')} order by a`), [{ a: 1 }, { a: 2 }]);
  });

  it('a read-only session (default_transaction_read_only on, as for a role set so) is one line before anything is written, not an INSERT refused and a record that could not be marked failed', async () => {
    const path = files.write('ro.csv', csv([['a'], [1]]));
    const url = new URL(db.url);
    url.searchParams.set('options', '-c default_transaction_read_only=on');
    for (const schema of [db.schema, `${db.schema}_ro`]) {
      const r = await runAtlas(['import', path, '--database-url', url.toString(), '--schema', schema]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(errorLines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /^atlas: the session is read-only \(default_transaction_read_only is on for role .*\): (an import|making atlas's tables in schema .*) cannot write there$/m);
      assert.match(r.stderr, /hint: connect as a role that may write, or: ALTER ROLE .* SET default_transaction_read_only = off;/);
      assert.doesNotMatch(r.stderr, /could not be marked|SQLSTATE/);
    }
    const imported = await runAtlas(['import', path, '--json', ...conn]);
    assert.equal(imported.code, 0, imported.stderr);
    const id = (JSON.parse(imported.stdout) as { import_id: string }).import_id;
    const readOnly = ['--database-url', url.toString(), '--schema', db.schema];
    for (const [args, what] of [[['undo', id, '--yes'], 'an undo'], [['history', 'prune', '--older-than', '1m', '--yes'], 'history prune'], [['history', 'compact', '--older-than', '1m', '--yes'], 'history compact']] as const) {
      const r = await runAtlas([...args, ...readOnly]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^atlas: the session is read-only .*: ${what} cannot write there$`, 'm'));
      assert.doesNotMatch(r.stderr, /SQLSTATE/);
    }
    // Reading works there, also while an import runs elsewhere (a standby shows the primary's as in_progress).
    const running = `${id.slice(0, 24)}000000000000`;
    await db.client.query(`insert into ${qualify(db.schema, 'import_history')} (import_id, file_name, table_name, status, source_type) values ($1, 'running.csv', 'ro', 'in_progress', 'local_upload')`, [running]);
    try {
      const history = await runAtlas(['history', '--json', ...readOnly]);
      assert.equal(history.code, 0, history.stderr);
      assert.ok((JSON.parse(history.stdout) as { imports: Array<{ import_id: string; status: string }> }).imports.some((i) => i.import_id === running && i.status === 'in_progress'));
    } finally {
      await db.client.query(`delete from ${qualify(db.schema, 'import_history')} where import_id = $1`, [running]);
    }
  });

  it('a mapping file\'s "table" is named as --table is: schema.name in the schema atlas works in, another schema refused, "a.b" in quotes a name', async () => {
    const path = files.write('mapped.csv', csv([['a'], [1], [2]]));
    const mapping = (table: string): string => files.write(`map-${Math.random().toString(36).slice(2)}.json`, JSON.stringify({ table }));
    const elsewhere = mapping('elsewhere.orders');
    for (const args of [['import', path], ['import', files.dir, '--pattern', 'mapped.csv']]) {
      const r = await runAtlas([...args, '--mapping', elsewhere, ...NOWHERE, '--schema', db.schema]);
      assert.equal(r.code, 2, `atlas ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^atlas: mapping file .*: "table" "elsewhere\\.orders" names a table in schema elsewhere, but atlas works in the schema set by --schema, ${db.schema}`, 'm'));
    }
    const three = await runAtlas(['import', path, '--mapping', mapping('a.b.c'), ...NOWHERE]);
    assert.equal(three.code, 2, three.stderr);
    assert.match(three.stderr, /"table" "a\.b\.c" is not a name atlas can take/);
    const qualified = await runAtlas(['import', path, '--mapping', mapping(`${db.schema}.mapped_orders`), '--json', ...conn]);
    assert.equal(qualified.code, 0, qualified.stderr);
    assert.equal((JSON.parse(qualified.stdout) as { table_name: string }).table_name, 'mapped_orders');
    assert.deepEqual(await db.rows(`select a from ${qualify(db.schema, 'mapped_orders')} order by a`), [{ a: 1 }, { a: 2 }]);
    const quoted = await runAtlas(['import', path, '--mapping', mapping('"m.n"'), '--json', ...conn]);
    assert.equal(quoted.code, 0, quoted.stderr);
    assert.deepEqual(await db.rows(`select a from ${qualify(db.schema, 'm.n')} order by a`), [{ a: 1 }, { a: 2 }]);
    assert.equal((await db.rows<{ n: number }>(`select count(*)::int as n from pg_class where relname like '%.%orders' and relnamespace = $1::regnamespace`, [db.schema]))[0]!.n, 0, 'no table named after the dotted text');
  });

  it('a role without the privileges a read or an undo needs is told what to grant, not only "permission denied for table ..."', async () => {
    const path = files.write('grants.csv', csv([['a'], [1]]));
    const imported = await runAtlas(['import', path, '--json', ...conn]);
    assert.equal(imported.code, 0, imported.stderr);
    const id = (JSON.parse(imported.stdout) as { import_id: string }).import_id;
    const role = `atlas_nogrant_${db.schema.slice(-8)}`;
    await db.rows(`create role ${role} nologin`);
    try {
      await db.rows(`grant usage on schema ${db.schema} to ${role}`);
      // atlas connects as the test's user and acts as the role (SET ROLE through the connection's options, as no new login is needed).
      const url = new URL(db.url);
      url.searchParams.set('options', `-c role=${role}`);
      for (const args of [['history'], ['lineage', 'grants'], ['undo', id, '--yes']]) {
        const r = await runAtlas([...args, '--database-url', url.toString(), '--schema', db.schema]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /^atlas: .*permission denied for table /m);
        assert.match(r.stderr, /hint: the role atlas connects as lacks a privilege on table .*GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA/, args.join(' '));
      }
    } finally {
      await db.rows(`drop owned by ${role}`);
      await db.rows(`drop role ${role}`);
    }
  });

  it('stdout on a full device: one line and exit 1; a reader that went away (EPIPE): silence', async () => {
    const full = openSync('/dev/full', 'w');
    const run = (stdout: number | 'pipe', onSpawn: (child: ReturnType<typeof spawn>) => void = () => undefined): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'history', ...conn], { stdio: ['ignore', stdout, 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stderr }));
        onSpawn(child);
      });
    try {
      const r = await run(full);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'atlas: cannot write the output: no space left on device (ENOSPC)\n');
    } finally {
      closeSync(full);
    }
    // The reading end is closed before atlas writes (it connects to the database first).
    const gone = await run('pipe', (child) => child.stdout!.destroy());
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal(gone.stderr, '');
  });

  it('an import into a view, a materialized view or a foreign table says what it is', async () => {
    const s = db.schema;
    const server = `atlas_test_${s}`;
    await db.client.query(`create extension if not exists file_fdw`);
    await db.client.query(`create view ${qualify(s, 'a_view')} as select 1 as a`);
    await db.client.query(`create materialized view ${qualify(s, 'a_matview')} as select 1 as a`);
    await db.client.query(`create server ${server} foreign data wrapper file_fdw`);
    try {
      await db.client.query(`create foreign table ${qualify(s, 'a_foreign')} (a text) server ${server} options (filename '/dev/null')`);
      const path = files.write('into.csv', csv([['a'], [1]]));
      for (const [table, what] of [['a_view', 'a view'], ['a_matview', 'a materialized view'], ['a_foreign', 'a foreign table']]) {
        const r = await runAtlas(['import', path, '--table', table!, ...conn]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(errorLines(r.stderr).length, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`failed: ${s}\\.${table} is ${what}, not a table: atlas imports only into tables$`, 'm'));
        assert.doesNotMatch(r.stderr, /_import_id/);
      }
    } finally {
      await db.client.query(`drop foreign table if exists ${qualify(s, 'a_foreign')}`);
      await db.client.query(`drop server if exists ${server}`);
    }
  });

  it('undo on a table without its id column fails, even with --force, saying what is wrong and what to do', async () => {
    const path = files.write('noid.csv', csv([['a'], [1], [2]]));
    const imported = await runAtlas(['import', path, '--json', ...conn]);
    assert.equal(imported.code, 0, imported.stderr);
    const id = (JSON.parse(imported.stdout) as { import_id: string }).import_id;
    await db.client.query(`alter table ${qualify(db.schema, 'noid')} drop column id`);
    for (const flags of [['--yes'], ['--yes', '--force'], ['--dry-run']]) {
      const r = await runAtlas(['undo', id, ...flags, ...conn]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^atlas: cannot undo import .*: table .*noid has no id column any more/m);
      assert.match(r.stderr, /hint: restore the table as atlas made it; or delete the rows yourself \(delete from .* where _import_id = '.*'\), then atlas undo .* --force marks the import undone/);
      assert.doesNotMatch(r.stderr, /does not exist|SQLSTATE/);
    }
    assert.deepEqual(await db.rows(`select count(*)::int as n from ${qualify(db.schema, 'noid')}`), [{ n: 2 }], 'nothing was removed');
    // What the hint says works.
    await db.client.query(`delete from ${qualify(db.schema, 'noid')} where _import_id = $1`, [id]);
    const forced = await runAtlas(['undo', id, '--yes', '--force', '--json', ...conn]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await db.rows(`select status from ${qualify(db.schema, 'import_history')} where import_id = $1`, [id]), [{ status: 'undone' }]);
  });
});
