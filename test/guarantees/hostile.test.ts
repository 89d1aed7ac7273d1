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
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { qualify } from '../../src/transform/naming.ts';
import { FIXTURES, openTestDb, tempDir, type TestDb } from '../helpers.ts';
import { assertCleanStderr, assertPromiseHolds, CAPPED_HEAP, errorLines, historyOf, runAtlasWith, SLOW, tableExists, type AtlasRun } from './helpers.ts';
import { CASES, catalogTextOutsideIdentifiers, type ImportOut } from './hostileCorpus.ts';
import { startWireRecorder, type WireRecorder } from './wireRecorder.ts';

const HOSTILE = join(FIXTURES, 'hostile');

/** Payloads the corpus carries (in values, headers, keys, attributes, file names): data, never SQL. */
const PAYLOADS = ['DROP TABLE canary', 'pg_sleep(10)', 'atlas_pwned', 'file:///etc/passwd'] as const;
/** Of those, the ones that must have reached the server as data (proof that the proxy saw the data). */
const PAYLOADS_SENT_AS_DATA = ['DROP TABLE canary', 'pg_sleep(10)', 'atlas_pwned'] as const;

describe('hostile and broken input (atlas heap capped at 256 MB)', { timeout: 900_000 }, () => {
  let db: TestDb;
  let wire: WireRecorder;
  const made = tempDir('atlas-hostile-');
  let conn: string[];

  before(async () => {
    db = await openTestDb();
    await db.client.query(`create table ${qualify(db.schema, 'canary')} (alive boolean); insert into ${qualify(db.schema, 'canary')} values (true)`);
    wire = await startWireRecorder(db.url, PAYLOADS);
    conn = ['--database-url', wire.url, '--schema', db.schema];
  });
  after(async () => {
    await wire.close();
    await db.close();
    made.cleanup();
  });

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
      const given = await importHostile(weird, ['--table', exact], 60_000);
      assert.equal(given.code, 0, given.stderr);
      const out = JSON.parse(given.stdout) as ImportOut;
      assert.equal(out.table_name, exact);
      assert.deepEqual(await db.rows(`select count(*)::int as n from ${qualify(db.schema, exact)}`), [{ n: 3 }]);
      const lineage = await runAtlasWith(['lineage', exact, '--json', ...conn]);
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

    it('a 200-character file name: the table name is cut to 63 bytes; a 200-character --table is refused', async () => {
      const path = join(made.dir, `${'t'.repeat(200)}.csv`);
      writeFileSync(path, 'a\n1\n2\n');
      const run = await importHostile(path, [], 60_000);
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as ImportOut).table_name, 't'.repeat(63));

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
