/**
 * Hostile and broken input (the corpus of test/fixtures/hostile/, listed with expected outcomes in
 * its README.md, plus large and binary inputs made here at test time). Each file must end in its
 * expected outcome - a clear error, or rows with mapping errors and corrections - with atlas's heap
 * capped at 256 MB, within a time limit, with the promise holding over every history record.
 *
 * "No SQL ever runs from file content" is proved on the wire: atlas talks to the server through a
 * proxy that keeps the text of every statement it sends (Query and Parse messages). The hostile
 * payloads reach the server only as COPY data or bound parameters (the proxy sees them there, so
 * the check is not vacuous) and never in any statement's text; a canary table survives. Text read
 * from the catalog (type, schema, column and constraint names made beforehand, one of them a
 * function call in quotes' clothing) appears in statements only as the quoted identifier it is.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../../src/db/migrate.ts';
import { qualify } from '../../src/transform/naming.ts';
import { FIXTURES, openTestDb, useTempDir, useTestDb } from '../helpers.ts';
import { assertCleanStderr, assertPromiseHolds, CAPPED_HEAP, errorLines, historyOf, runAtlasWith, SLOW, tableExists, type AtlasRun } from './helpers.ts';
import { CASES, catalogTextOutsideIdentifiers, type ImportOut } from './hostileCorpus.ts';
import { startWireRecorder, type WireRecorder } from './wireRecorder.ts';

const HOSTILE = join(FIXTURES, 'hostile');

/** Payloads the corpus carries (in values, headers, keys, attributes, file names): data, never SQL. */
const PAYLOADS = ['DROP TABLE canary', 'pg_sleep(10)', 'atlas_pwned', 'file:///etc/passwd'] as const;
/** Of those, the ones that must have reached the server as data (proof that the proxy saw the data). */
const PAYLOADS_SENT_AS_DATA = ['DROP TABLE canary', 'pg_sleep(10)', 'atlas_pwned'] as const;

describe('hostile and broken input (atlas heap capped at 256 MB)', { timeout: 900_000 }, () => {
  const db = useTestDb();
  let wire: WireRecorder;
  const made = useTempDir('atlas-hostile-');
  let conn: string[];

  before(async () => {
    await db.client.query(`create table ${qualify(db.schema, 'canary')} (alive boolean); insert into ${qualify(db.schema, 'canary')} values (true)`);
    wire = await startWireRecorder(db.url, PAYLOADS);
    conn = ['--database-url', wire.url, '--schema', db.schema];
  });
  after(() => wire.close());

  /** Imports `path` as a user would (table named after the file), capped and timed. */
  async function importHostile(path: string, args: string[], timeLimitMs: number): Promise<AtlasRun> {
    const run = await runAtlasWith(['import', path, '--json', ...args, ...conn], { nodeArgs: CAPPED_HEAP, timeoutMs: timeLimitMs });
    assert.equal(run.timedOut, false, `over the ${timeLimitMs} ms limit`);
    assertCleanStderr(run.stderr);
    return run;
  }

  for (const c of CASES) {
    const skip = c.slow && !SLOW ? 'a large input: set ATLAS_SLOW_TESTS=1' : false;
    it(`${c.file}: ${c.outcome}`, { skip, todo: c.todo }, async (t) => {
      let path = join(HOSTILE, c.file);
      if (c.make) {
        path = join(made.dir, c.file);
        await c.make(path);
      }
      await c.setup?.(db);
      const before = new Set((await historyOf(db.client, db.schema)).map((r) => r.import_id));
      const sent = wire.statements.length;
      let run: AtlasRun;
      try {
        run = await importHostile(path, c.args ?? [], c.timeLimitMs ?? 60_000);
      } finally {
        if (c.make) rmSync(path, { force: true }); // up to 100 MB each: not kept until the end
      }
      t.diagnostic(`exit ${run.code} in ${Math.round(run.ms)} ms: ${errorLines(run.stderr)[0] ?? (run.stdout.match(/"status": "\w+"/)?.[0] ?? '')}`);
      const failedInstead = c.orError !== undefined && run.code === 1;
      const exit = failedInstead ? 1 : c.exit;
      const error = failedInstead ? c.orError : c.error;
      assert.equal(run.code, exit, run.stderr);
      const fresh = (await historyOf(db.client, db.schema)).filter((r) => !before.has(r.import_id));
      let out: ImportOut | null = null;
      if (exit === 0 || exit === 3) {
        out = JSON.parse(run.stdout) as ImportOut;
        assert.equal(out.status, exit === 0 ? 'success' : 'partial');
        assert.equal(fresh.length, 1);
        assert.equal(fresh[0]!.status, out.status);
      } else if (exit === 1) {
        assert.equal(fresh.length, 1, 'a failed import is recorded');
        const rec = fresh[0]!;
        assert.equal(rec.status, 'failed');
        const lines = errorLines(run.stderr);
        assert.equal(lines.length, 1, run.stderr);
        const prefix = `atlas: import ${rec.import_id} into ${rec.table_name} failed: `;
        assert.ok(lines[0]!.startsWith(prefix), lines[0]);
        if (error) assert.match(lines[0]!.slice(prefix.length), error);
        assert.equal(rec.error_message, lines[0]!.slice(prefix.length), 'the record says what the user was told');
        assert.equal(await tableExists(db.client, db.schema, rec.table_name), false, 'a failed import leaves no table');
      } else {
        assert.equal(fresh.length, 0, 'a usage error touches nothing');
      }
      if (!failedInstead) await c.check?.({ db, run, out, record: fresh[0], statements: wire.statements.slice(sent) });
      await assertPromiseHolds(db.client, db.schema);
    });
  }

  describe('table names from hostile file names and --table', () => {
    it('quotes, dots and spaces in a file name: sanitised; in --table: kept exactly, quoted in every statement', async () => {
      const weird = join(made.dir, 'we"ird.na me.csv');
      writeFileSync(weird, 'a\n1\n2\n3\n');
      const fromFile = await importHostile(weird, [], 60_000);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.equal((JSON.parse(fromFile.stdout) as ImportOut).table_name, 'we_ird_na_me');

      const exact = 'we"ird.na me';
      // A name holding a dot is written in double quotes, as in SQL (else schema.name).
      const quoted = `"${exact.replaceAll('"', '""')}"`;
      const given = await importHostile(weird, ['--table', quoted], 60_000);
      assert.equal(given.code, 0, given.stderr);
      const out = JSON.parse(given.stdout) as ImportOut;
      assert.equal(out.table_name, exact);
      assert.deepEqual(await db.rows(`select count(*)::int as n from ${qualify(db.schema, exact)}`), [{ n: 3 }]);
      const lineage = await runAtlasWith(['lineage', quoted, '--json', ...conn]);
      assert.equal(lineage.code, 0, lineage.stderr);
      const undo = await runAtlasWith(['undo', out.import_id, '--yes', '--json', ...conn]);
      assert.equal(undo.code, 0, undo.stderr);
      assert.deepEqual(await db.rows(`select count(*)::int as n from ${qualify(db.schema, exact)}`), [{ n: 0 }]);
    });

    it('an injection in a file name becomes a sanitised table name', async () => {
      const path = join(made.dir, '"; DROP TABLE canary; --.csv');
      writeFileSync(path, 'a\n1\n2\n');
      const run = await importHostile(path, [], 60_000);
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as ImportOut).table_name, 'drop_table_canary');
    });

    it('a 200-character file name: the table name is cut to 63 bytes, with a warning; a 200-character --table is refused', async () => {
      const path = join(made.dir, `${'t'.repeat(200)}.csv`);
      writeFileSync(path, 'a\n1\n2\n');
      const run = await importHostile(path, [], 60_000);
      assert.equal(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as ImportOut & { warnings: string[] };
      assert.equal(out.table_name, 't'.repeat(63));
      assert.deepEqual(out.warnings, [`the table's name, made from the file's name, was cut to PostgreSQL's 63 bytes: ${'t'.repeat(63)} (files whose names begin alike go into this one table; --table names another)`]);
      // A name of exactly 63 bytes is not cut, and not warned of.
      const whole = join(made.dir, `${'u'.repeat(63)}.csv`);
      writeFileSync(whole, 'a\n1\n');
      const fits = await importHostile(whole, [], 60_000);
      assert.equal(fits.code, 0, fits.stderr);
      assert.deepEqual((JSON.parse(fits.stdout) as { warnings: string[] }).warnings, []);

      const before = (await historyOf(db.client, db.schema)).length;
      const refused = await importHostile(path, ['--table', 'x'.repeat(200)], 60_000);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /longer than PostgreSQL's 63-byte limit/);
      assert.equal((await historyOf(db.client, db.schema)).length, before, 'nothing recorded');
    });
  });

  it('no SQL ran from file content: no payload in any statement atlas sent, all of them in its data; the canary lives', async (t) => {
    // Control: a name the user gives (not file content) is an identifier, so it does show in statements.
    const control = join(made.dir, 'control.csv');
    writeFileSync(control, 'a\n1\n');
    const run = await importHostile(control, ['--table', 'atlas_control_table'], 60_000);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(wire.statements.some((s) => s.includes('"atlas_control_table"')), 'the proxy sees identifiers in statement text');

    await assertPromiseHolds(db.client, db.schema);
    t.diagnostic(`${wire.statements.length} statements recorded on the wire`);
    assert.ok(wire.statements.length > 100, 'the proxy saw the statements');
    for (const payload of PAYLOADS) {
      const hits = wire.statements.filter((s) => s.includes(payload));
      assert.deepEqual(hits, [], `"${payload}" appears in statement text`);
    }
    for (const payload of PAYLOADS_SENT_AS_DATA) assert.ok(wire.seenInData.has(payload), `"${payload}" reached the server as data`);
    assert.deepEqual(catalogTextOutsideIdentifiers(db.schema, wire.statements), [], 'text from the catalog outside a quoted identifier');
    assert.deepEqual(await db.rows(`select alive from ${qualify(db.schema, 'canary')}`), [{ alive: true }]);
    // The statements are atlas's own: identifiers from files appear only sanitised and quoted.
    assert.ok(wire.statements.some((s) => s.includes('"drop_table_canary"')));
    assert.ok(!readFileSync(join(HOSTILE, 'hostile_headers.csv'), 'utf8').includes('"drop_table_canary"'));
  });
});

describe('history lists stay small whatever a record holds (atlas heap capped at 64 MB)', () => {
  it('history, its JSON and history prune list records of 16 MB mapping_config, metadata, warnings, error_message and source_path each; history <id> shows one whole', async () => {
    const db = await openTestDb();
    try {
      await migrate(db.client, db.schema);
      const history = qualify(db.schema, 'import_history');
      const big = 16 * 1024 * 1024;
      // Made by the server (repeat), so that only atlas holds these values in Node.
      await db.client.query(
        `insert into ${history} (import_id, user_id, source_type, source_path, file_name, table_name, status, error_message, warnings, mapping_config, metadata, import_timestamp)
         select gen_random_uuid(), 'tester', 'local_upload', repeat('p', $1), 'big.csv', 'big_' || g, 'failed', repeat('e', $1),
                array[repeat('w', $1), 'short'], jsonb_build_object('table', repeat('m', $1)), jsonb_build_object('note', repeat('n', $1)), now() - interval '400 days'
           from generate_series(1, 10) g`,
        [big],
      );
      const conn = ['--database-url', db.url, '--schema', db.schema];
      const capped = { nodeArgs: ['--max-old-space-size=64'], timeoutMs: 60_000 };

      const listed = await runAtlasWith(['history', '--json', ...conn], capped);
      assertCleanStderr(listed.stderr);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(listed.stdout.length < 100_000, `${listed.stdout.length} characters listed`);
      const page = JSON.parse(listed.stdout) as { imports: Array<Record<string, unknown>> };
      assert.equal(page.imports.length, 10);
      for (const r of page.imports) {
        assert.equal(r.error_message, `${'e'.repeat(999)}…`);
        assert.equal(r.source_path, `${'p'.repeat(999)}…`);
        assert.equal(r.warnings_count, 2);
        for (const unbounded of ['mapping_config', 'metadata', 'warnings']) assert.ok(!(unbounded in r), unbounded);
      }

      const text = await runAtlasWith(['history', ...conn], capped);
      assertCleanStderr(text.stderr);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /showing 1-10 of 10 imports/);

      const prune = await runAtlasWith(['history', 'prune', '--older-than', '365d', '--dry-run', '--json', ...conn], capped);
      assertCleanStderr(prune.stderr);
      assert.equal(prune.code, 0, prune.stderr);
      assert.equal((JSON.parse(prune.stdout) as { pruned_count: number }).pruned_count, 10);

      // One record is shown whole.
      const [{ id }] = (await db.client.query<{ id: string }>(`select import_id::text as id from ${history} limit 1`)).rows as [{ id: string }];
      await db.client.query(`update ${history} set error_message = repeat('e', 5000), mapping_config = '{"table": "t"}', warnings = array['w'], metadata = '{}' where import_id = $1`, [id]);
      const one = await runAtlasWith(['history', id, '--json', ...conn], capped);
      assert.equal(one.code, 0, one.stderr);
      const record = (JSON.parse(one.stdout) as { import_record: Record<string, unknown> }).import_record;
      assert.equal(record.error_message, 'e'.repeat(5000));
      assert.deepEqual(record.mapping_config, { table: 't' });
    } finally {
      await db.close();
    }
  });
});

describe('files given to --mapping and --config: regular files only, up to a size, never quoted', () => {
  const made = useTempDir('atlas-hostile-flags-');
  const csvPath = (): string => made.write('data.csv', 'a,b\n1,2\n');

  /** Runs atlas (heap capped, killed if it hangs) and checks it refused in one line, exit 2, before touching any database. */
  async function refused(args: string[], message: RegExp): Promise<AtlasRun> {
    // An unreachable server: a usage error must come before any connection.
    const run = await runAtlasWith([...args, '--database-url', 'postgresql://nobody@127.0.0.1:9/none'], { nodeArgs: CAPPED_HEAP, timeoutMs: 30_000 });
    assert.equal(run.timedOut, false, 'atlas hung');
    assertCleanStderr(run.stderr);
    assert.equal(run.code, 2, run.stderr);
    const lines = errorLines(run.stderr);
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, message);
    return run;
  }

  it('/dev/zero as --mapping or --config: refused at once (it grew to 16.8 GB and aborted)', async () => {
    await refused(['import', csvPath(), '--mapping', '/dev/zero'], /^atlas: mapping file \/dev\/zero is a character device: atlas reads only a regular file$/);
    await refused(['history', '--config', '/dev/zero'], /^atlas: config file \/dev\/zero is a character device: atlas reads only a regular file$/);
  });

  it('a FIFO as --mapping or --config: refused without waiting for a writer (it blocked forever, deaf to Ctrl-C)', async () => {
    const fifo = join(made.dir, 'mapping.fifo');
    execFileSync('mkfifo', [fifo]);
    await refused(['import', csvPath(), '--mapping', fifo], /is a FIFO \(named pipe\): atlas reads only a regular file$/);
    await refused(['stats', '--config', fifo], /^atlas: config file .*mapping\.fifo is a FIFO \(named pipe\)/);
    // The config file atlas looks for by itself is not opened when it is not a regular file.
    const dir = join(made.dir, 'cwd');
    mkdirSync(dir);
    execFileSync('mkfifo', [join(dir, 'atlas.config.json')]);
    const run = await runAtlasWith(['history', '--database-url', 'postgresql://nobody@127.0.0.1:9/none'], { cwd: dir, timeoutMs: 30_000 });
    assert.equal(run.timedOut, false, 'atlas hung');
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /atlas\.config\.json is a FIFO/);
  });

  it('a mapping file over 4 MiB or a config file over 1 MiB: refused with the limit', async () => {
    const mapping = made.write('big.mapping.json', `{"//": "${'x'.repeat(4 * 1024 * 1024)}"}`);
    await refused(['import', csvPath(), '--mapping', mapping], /^atlas: mapping file .* is larger than 4 MiB: atlas refuses it/);
    const config = made.write('big.config.json', `{"//": "${'x'.repeat(1024 * 1024)}"}`);
    await refused(['history', '--config', config], /^atlas: config file .* is larger than 1 MiB: atlas refuses it/);
  });

  it('a malformed config file: where it stops, never its text (it printed the start of a secret key)', async () => {
    const secret = 'AKIAZZSECRETKEY0123456789';
    const cases = [
      `{\n  "s3": {\n    "secretAccessKey": "${secret}" oops\n  }\n}\n`,
      `secretAccessKey=${secret}\n`, // not JSON at all: V8's message quotes the text
      `{"s3": {"secretAccessKey": "${secret}`, // cut short
    ];
    const where = [/ \(at line 3, column 52\)$/, / \(at line 1, column 1\)$/, / \(at the end: it stops too early\)$/];
    for (const [i, text] of cases.entries()) {
      const config = made.write(`broken${i}.config.json`, text);
      const run = await refused(['history', '--config', config], /^atlas: config file .* is not valid JSON/);
      assert.match(errorLines(run.stderr)[0]!, where[i]!);
      // --verbose adds the stack trace: still not the text.
      const verbose = await runAtlasWith(['history', '--config', config, '--verbose'], { timeoutMs: 30_000 });
      assert.equal(verbose.code, 2, verbose.stderr);
      for (const out of [run.stderr, verbose.stderr, verbose.stdout]) {
        for (const part of [secret, secret.slice(0, 4), 'SECRET']) assert.ok(!out.includes(part), `the config file's text was printed: ${out}`);
      }
    }
  });
});

describe('escape sequences from files, file names and the database: escaped in text output and messages, exact in JSON', () => {
  const db = useTestDb();
  const made = useTempDir('atlas-hostile-escapes-');

  const ESC = '\u001b';
  const BEL = '\u0007';
  /** Retitles the terminal, then clears it. */
  const ATTACK = `${ESC}]0;pwned${BEL}${ESC}[2J`;
  /** Raw control characters a terminal would act on (C0 but line ends, DEL, C1, bidi overrides). */
  const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it('errors, history, lineage, undo and failures print them escaped; --json gives them exactly', async () => {
    const name = `report${ESC}[31m${BEL}.csv`;
    const path = made.write(name, `id,day,note\n1,2024-01-01,"${ATTACK}"\n2,${ATTACK},x\n3,2024-01-03,"\u009b2J \u202eevil"\n`);
    const conn = ['--database-url', db.url, '--schema', db.schema];
    const run = async (args: string[], code = 0): Promise<AtlasRun> => {
      const r = await runAtlasWith([...args, ...conn], { timeoutMs: 60_000 });
      assert.equal(r.code, code, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, RAW, `raw control characters from: atlas ${args.join(' ')}`);
      return r;
    };

    const mapping = made.write('escapes.mapping.json', JSON.stringify({ columns: { day: { type: 'date' } } }));
    const imported = await run(['import', path, '--table', 'escapes', '--mapping', mapping], 3);
    assert.match(imported.stdout, /from report\\x1b\[31m\\x07\.csv into /);
    const importId = /import id (\S+)/.exec(imported.stdout)![1]!;

    const errors = await run(['errors', importId]);
    assert.match(errors.stdout, /\\x1b\]0;pwned\\x07\\x1b\[2J/, 'the value, in the message, escaped');
    const errorsJson = JSON.parse((await run(['errors', importId, '--json'])).stdout) as { errors: Array<{ source_value: string; error_message: string }> };
    assert.equal(errorsJson.errors[0]!.source_value, ATTACK, 'JSON stays exact');
    assert.ok(errorsJson.errors[0]!.error_message.includes(ATTACK));

    const record = await run(['history', importId]);
    assert.match(record.stdout, /file +report\\x1b\[31m\\x07\.csv/);
    assert.equal((JSON.parse((await run(['history', importId, '--json'])).stdout) as { import_record: { file_name: string } }).import_record.file_name, name);
    await run(['history']);

    await run(['lineage', 'escapes']);
    const row = await run(['lineage', 'escapes', '--row', '1']);
    assert.match(row.stdout, /note +\\x1b\]0;pwned\\x07\\x1b\[2J/);
    const twoRow = await run(['lineage', 'escapes', '--row', '2']);
    assert.match(twoRow.stdout, /\\x9b2J \\u202eevil/);
    assert.equal((JSON.parse((await run(['lineage', 'escapes', '--row', '1', '--json'])).stdout) as { values: { note: string } }).values.note, ATTACK);

    await run(['undo', importId, '--dry-run']);

    // Errors on stderr, with --verbose too: a file name in "file not found", a table name given by hand.
    const missing = await run(['import', join(made.dir, `gone${ATTACK}.csv`), '--verbose'], 2);
    assert.match(missing.stderr, /^atlas: file not found: .*gone\\x1b\]0;pwned\\x07\\x1b\[2J\.csv$/m);
    const noTable = await run(['lineage', `t${ATTACK}`], 1);
    assert.match(noTable.stderr, /no table .*t\\x1b\]0;pwned/);
  });
});
