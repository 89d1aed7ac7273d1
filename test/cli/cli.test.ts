import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { csv, ROOT, runAtlas, useTempDir, useTestDb } from '../helpers.ts';

describe('atlas CLI (spawned)', () => {
  const db = useTestDb();
  const files = useTempDir();
  let conn: string[];
  before(async () => {
    conn = ['--database-url', db.url, '--schema', db.schema];
  });

  it('imports the shipped example with --json, and history shows it with the file hash', async () => {
    const example = join(ROOT, 'examples', 'customers.csv');
    const r = await runAtlas(['import', example, ...conn, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.success, true);
    assert.equal(out.status, 'success');
    assert.equal(out.table_name, 'customers');
    const dataLines = readFileSync(example, 'utf8').trim().split('\n').length - 2; // header, and one quoted newline
    assert.equal(out.rows_inserted, dataLines);

    const h = await runAtlas(['history', '--json', ...conn]);
    assert.equal(h.code, 0, h.stderr);
    const history = JSON.parse(h.stdout) as { success: boolean; imports: Array<Record<string, unknown>>; total_count: number; limit: number; offset: number };
    assert.equal(history.success, true);
    assert.equal(history.total_count, 1);
    assert.equal(history.limit, 100);
    assert.equal(history.offset, 0);
    const rec = history.imports[0]!;
    assert.equal(rec.import_id, out.import_id);
    assert.equal(rec.status, 'success');
    assert.equal(rec.rows_inserted, dataLines);
    assert.equal(rec.file_hash, createHash('sha256').update(readFileSync(example)).digest('hex'));

    const one = await runAtlas(['history', String(out.import_id).slice(0, 8), '--json', ...conn]);
    assert.equal(one.code, 0, one.stderr);
    const detail = JSON.parse(one.stdout) as { success: boolean; import_record: Record<string, unknown> };
    assert.equal(detail.import_record.import_id, out.import_id);
    assert.equal(typeof detail.import_record.duration_seconds, 'number');

    const human = await runAtlas(['history', ...conn]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /customers\.csv/);
    assert.match(human.stdout, /success/);
  });

  it('atlas alone prints help on stderr and exits 2; --version and -V print the version in package.json', async () => {
    const bare = await runAtlas([]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /^Usage: atlas /m);
    assert.match(bare.stderr, /^Commands:/m);
    assert.equal(bare.stdout, '');
    const bareJson = await runAtlas(['--json']);
    assert.equal(bareJson.code, 2);
    assert.deepEqual(JSON.parse(bareJson.stdout), { success: false, error: 'no command given (atlas --help lists them)' });
    const help = await runAtlas(['help']);
    assert.equal(help.code, 0, 'asking for help is not an error');
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runAtlas([flag]);
      assert.equal(r.code, 0, flag);
      assert.equal(r.stdout, `${version}\n`, flag);
    }
  });

  it('global options work before and after the subcommand and its arguments', async () => {
    const path = files.write('order.csv', csv([['a'], [1]]));
    const before = await runAtlas([...conn, '--json', 'import', path, '--table', 'opt_before']);
    assert.equal(before.code, 0, before.stderr);
    const after = await runAtlas(['import', '--table', 'opt_after', path, '--json', ...conn]);
    assert.equal(after.code, 0, after.stderr);
    assert.equal((JSON.parse(after.stdout) as { table_name: string }).table_name, 'opt_after');
  });

  it('exit codes: 1 for a failed import, 2 for usage errors, 3 for partial', async () => {
    const bad = files.write('bad.csv', Buffer.concat([Buffer.from('a,b\n1,2\n'), Buffer.from([0xc3, 0x28, 0x0a])]));
    const failed = await runAtlas(['import', bad, ...conn]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^atlas: import [0-9a-f-]{36} into bad failed: .*not valid utf-8/im);
    assert.doesNotMatch(failed.stderr, /\n\s+at /, 'no stack trace without --verbose');
    const failedJson = await runAtlas(['import', bad, '--json', '--table', 'bad2', ...conn]);
    assert.equal(failedJson.code, 1);
    const body = JSON.parse(failedJson.stdout) as { success: boolean; error: string; import_id: string };
    assert.equal(body.success, false);
    assert.match(body.error, /utf-8/i);

    const missing = await runAtlas(['import', join(files.dir, 'nope.csv'), ...conn]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /file not found/);
    const unknown = await runAtlas(['import', '--bogus', ...conn]);
    assert.equal(unknown.code, 2);
    const badUrl = await runAtlas(['history', '--database-url', 'mysql://x']);
    assert.equal(badUrl.code, 2);

    const partial = files.write('partial.csv', 'd\n2024-01-01\n2024-02-30\n');
    const p = await runAtlas(['import', partial, ...conn]);
    assert.equal(p.code, 3, p.stderr);
    assert.match(p.stdout, /partial/);
  });

  it('an empty or blank --key is a usage error before anything is read: no rows lost as "duplicates", no record', async () => {
    const path = files.write('emptykey.csv', csv([['a', 'b'], [1, 'x'], [2, 'y'], [3, 'z']]));
    const loaded = await runAtlas(['import', path, '--table', 'emptykey', ...conn]);
    assert.equal(loaded.code, 0, loaded.stderr);
    const again = files.write('emptykey2.csv', csv([['a', 'b'], [4, 'p'], [5, 'q'], [6, 'r']]));
    for (const key of ['', ' ', ',', 'a,,b', 'a,']) {
      const r = await runAtlas(['import', again, '--table', 'emptykey', '--key', key, ...conn]);
      assert.equal(r.code, 2, `--key ${JSON.stringify(key)}: ${r.stderr}`);
      assert.match(r.stderr, /--key/);
    }
    const fresh = await runAtlas(['import', again, '--table', 'emptykey_new', '--key', '', ...conn, '--json']);
    assert.equal(fresh.code, 2);
    assert.equal((JSON.parse(fresh.stdout) as { success: boolean }).success, false);
    assert.deepEqual(await db.rows(`select count(*)::int as n from ${db.schema}.emptykey`), [{ n: 3 }]);
    assert.deepEqual(await db.rows(`select count(*)::int as n from ${db.schema}.import_history where table_name like 'emptykey%'`), [{ n: 1 }]);
    assert.deepEqual(await db.rows(`select to_regclass($1) as t`, [`${db.schema}.emptykey_new`]), [{ t: null }]);
    // A key that names real columns still works, with spaces around the names.
    const keyed = await runAtlas(['import', again, '--table', 'emptykey', '--key', ' a , b ', ...conn]);
    assert.equal(keyed.code, 0, keyed.stderr);
    assert.deepEqual(await db.rows(`select count(*)::int as n from ${db.schema}.emptykey`), [{ n: 6 }]);
  });

  it('database URL precedence: flag over ATLAS_DATABASE_URL over DATABASE_URL over config file', async () => {
    const broken = 'postgresql://nobody:secret@127.0.0.1:1/none';
    const path = files.write('prec.csv', csv([['a'], [1]]));
    // The flag wins over broken environment variables.
    const flag = await runAtlas(['import', path, '--table', 'prec1', ...conn], { env: { ATLAS_DATABASE_URL: broken, DATABASE_URL: broken } });
    assert.equal(flag.code, 0, flag.stderr);
    // ATLAS_DATABASE_URL wins over DATABASE_URL.
    const env1 = await runAtlas(['import', path, '--table', 'prec2', '--schema', db.schema], { env: { ATLAS_DATABASE_URL: db.url, DATABASE_URL: broken } });
    assert.equal(env1.code, 0, env1.stderr);
    // The config file is used when nothing else is set; a broken DATABASE_URL beats it.
    const cfg = files.write('atlas.config.json', JSON.stringify({ '//': 'test', database: { url: db.url, schema: db.schema } }));
    const fromFile = await runAtlas(['import', path, '--table', 'prec3', '--config', cfg]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const envBeatsFile = await runAtlas(['import', path, '--table', 'prec4', '--config', cfg], { env: { DATABASE_URL: broken } });
    assert.equal(envBeatsFile.code, 1);
    assert.doesNotMatch(envBeatsFile.stderr, /secret/, 'the password is never printed');
    const tables = await db.rows<{ tablename: string }>(`select tablename from pg_tables where schemaname = $1 and tablename like 'prec%' order by 1`, [db.schema]);
    assert.deepEqual(tables.map((t) => t.tablename), ['prec1', 'prec2', 'prec3']);
  });

  it('a URL that cannot be reached: the hint names where that URL was set (flag, ATLAS_DATABASE_URL, DATABASE_URL, config file)', async () => {
    const broken = 'postgresql://nobody:secret@127.0.0.1:1/none';
    const cfg = files.write('unreachable.config.json', JSON.stringify({ database: { url: broken } }));
    const hintOf = async (args: string[], env: Record<string, string>): Promise<string> => {
      const run = await runAtlas(['history', ...args], { env });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /^atlas: cannot connect to PostgreSQL: connect ECONNREFUSED 127\.0\.0\.1:1$/m);
      assert.doesNotMatch(run.stderr, /secret/, 'the password is never printed');
      return run.stderr.split('\n').find((l) => l.startsWith('  hint: ')) ?? '';
    };
    assert.equal(await hintOf(['--database-url', broken], {}), '  hint: check the URL given with --database-url');
    assert.equal(
      await hintOf([], { ATLAS_DATABASE_URL: broken }),
      '  hint: check the URL in ATLAS_DATABASE_URL (an environment variable), or unset it to use DATABASE_URL, the config file or the embedded server',
    );
    assert.equal(await hintOf([], { DATABASE_URL: broken }), '  hint: check the URL in DATABASE_URL (an environment variable), or unset it to use the config file or the embedded server');
    assert.equal(await hintOf(['--config', cfg], {}), `  hint: check database.url in the config file ${cfg}, or remove it to use the embedded server`);
  });

  it('a read command pointed at a schema that does not exist: exit 1, one line naming it and where the name was set; nothing created', async () => {
    const typo = `${db.schema}_typo`;
    const database = (await db.rows<{ d: string }>('select current_database() as d'))[0]!.d;
    const cfg = files.write('typo.config.json', JSON.stringify({ database: { url: db.url, schema: typo } }));
    const cases: Array<[string[], Record<string, string>, string]> = [
      [['history', '--schema', typo, '--database-url', db.url], {}, 'check the name given with --schema (without it: ATLAS_SCHEMA, the config file, else public)'],
      [['stats', '--database-url', db.url], { ATLAS_SCHEMA: typo }, "check ATLAS_SCHEMA (an environment variable), or unset it to use the config file's database.schema or public"],
      [['lineage', 'things', '--config', cfg], {}, `check database.schema in the config file ${cfg}`],
    ];
    try {
      for (const [args, env, hint] of cases) {
        const run = await runAtlas(args, { env });
        assert.equal(run.code, 1, run.stderr);
        assert.equal(run.stdout, '');
        assert.equal(run.stderr, `atlas: schema "${typo}" does not exist in database "${database}": no import ran there\n  hint: ${hint}\n`);
      }
      assert.deepEqual(await db.rows(`select 1 from pg_namespace where nspname = $1`, [typo]), [], 'no schema was created');
    } finally {
      await db.client.query(`drop schema if exists ${typo} cascade`); // left by a build that created it
    }
  });

  it('rejects a config file with unknown keys, listing every problem', async () => {
    const cfg = files.write('bad.config.json', JSON.stringify({ databse: {}, database: { url: 5, port: 1 } }));
    const r = await runAtlas(['history', '--config', cfg]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown key "databse"/);
    assert.match(r.stderr, /"database.url" must be a string/);
    assert.match(r.stderr, /unknown key "database.port"/);
  });

  it('a system schema (information_schema, pg_catalog, pg_toast, any pg_*) is refused in one line, from a flag, the environment or the config file', async () => {
    const path = files.write('sys.csv', csv([['a'], [1]]));
    const cfg = files.write('sys.config.json', JSON.stringify({ database: { url: db.url, schema: 'information_schema' } }));
    const runs = [
      ...['information_schema', 'pg_catalog', 'pg_toast', 'pg_temp_1', 'pg_atlas'].map((s) => runAtlas(['import', path, '--table', 'sys', '--database-url', db.url, '--schema', s])),
      runAtlas(['history', '--database-url', db.url], { env: { ATLAS_SCHEMA: 'pg_catalog' } }),
      runAtlas(['import', path, '--table', 'sys', '--config', cfg]),
    ];
    const said = await Promise.all(runs);
    for (const r of said) {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    // Each names where the schema came from (the config file's said "choose another --schema").
    for (const r of said.slice(0, 5)) assert.match(r.stderr, /\(--schema\) is PostgreSQL's own .* choose another --schema \(default public\)/);
    assert.match(said[5]!.stderr, /\(ATLAS_SCHEMA\) is PostgreSQL's own .* choose another ATLAS_SCHEMA/);
    assert.match(said[6]!.stderr, /\(database\.schema in the config file\) is PostgreSQL's own .* choose another database\.schema in the config file/);
    // A table named in a system schema: refused as such, not sent to --schema pg_catalog, refused in turn.
    const qualified = await runAtlas(['import', path, '--table', 'pg_catalog.x', '--database-url', db.url]);
    assert.equal(qualified.code, 2, qualified.stderr);
    assert.match(qualified.stderr, /"pg_catalog\.x" names a table in schema pg_catalog, PostgreSQL's own/);
    assert.doesNotMatch(qualified.stderr, /--schema pg_catalog/);
    // A superuser could have created atlas's tables there: nothing was.
    assert.deepEqual(await db.rows(`select to_regclass('information_schema.import_history') as t, to_regclass('information_schema.sys') as u`), [{ t: null, u: null }]);
    // Only the pg_ prefix is reserved: a schema merely containing it, or in capitals, is an ordinary one.
    const ok = await runAtlas(['import', path, '--table', 'sys', '--database-url', db.url, '--schema', `${db.schema}_pg_x`]);
    assert.equal(ok.code, 0, ok.stderr);
    await db.client.query(`drop schema "${db.schema}_pg_x" cascade`);
  });

  it('reads stdin with --table', async () => {
    const r = await runAtlas(['import', '-', '--table', 'from_stdin', '--json', ...conn], { input: 'x,y\n1,2\n3,4\n' });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { rows_inserted: number; file_name: string | null };
    assert.equal(out.rows_inserted, 2);
    assert.equal(out.file_name, null);
    const [h] = await db.rows<{ source_type: string }>(`select source_type from ${db.schema}.import_history where table_name = 'from_stdin'`);
    assert.equal(h?.source_type, 'api_direct');
    const noTable = await runAtlas(['import', '-', ...conn], { input: 'x\n1\n' });
    assert.equal(noTable.code, 2);
  });

  it('Ctrl-C rolls the import back and records it as failed: cancelled', async () => {
    const path = join(files.dir, 'big.csv');
    const lines = ['id,name,amount,when'];
    for (let i = 0; i < 400_000; i++) lines.push(`${i},name ${i},${i}.25,2024-01-${String((i % 28) + 1).padStart(2, '0')}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    const r = await runAtlas(['import', path, '--table', 'cancel_me', ...conn], {
      onSpawn: (child) => {
        void (async () => {
          for (let i = 0; i < 200; i++) {
            const rows = await db.rows(`select 1 from ${db.schema}.import_history where table_name = 'cancel_me' and status = 'in_progress'`).catch(() => []);
            if (rows.length > 0) break;
            await sleep(25);
          }
          await sleep(100);
          child.kill('SIGINT');
        })();
      },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cancel/);
    const [h] = await db.rows<Record<string, unknown>>(`select status, error_message from ${db.schema}.import_history where table_name = 'cancel_me'`);
    assert.equal(h?.status, 'failed');
    assert.equal(h?.error_message, 'cancelled');
    const exists = await db.rows(`select 1 from pg_tables where schemaname = $1 and tablename = 'cancel_me'`, [db.schema]);
    if (exists.length > 0) assert.equal((await db.rows(`select 1 from ${db.schema}.cancel_me`)).length, 0);
  });

  it('--help lists commands, options with defaults, and examples', async () => {
    const r = await runAtlas(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /import \[options\] <sources\.\.\.>/);
    assert.match(r.stdout, /Exit codes/);
    const h = await runAtlas(['history', '--help']);
    assert.match(h.stdout, /--limit <n>.*\(default: "100"\)/s);
    assert.match(h.stdout, /Examples:/);
  });
});
