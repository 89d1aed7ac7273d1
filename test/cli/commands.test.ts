/** history, stats, lineage, errors, undo and history prune through the real binary: output shapes, exit codes, terminals. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, csv, FIXTURES, runAtlas, type RunResult, useTempDir, useTestDb } from '../helpers.ts';
import { importInto, importWith, insertRecord } from '../importHelpers.ts';

interface Shapes {
  history_list: { top: string[]; import: string[] };
  import_record: { top: string[]; record: string[] };
  mapping_errors: { top: string[]; error: string[] };
  statistics: { top: string[] };
  lineage: { top: string[]; import: string[] };
  error: { top: string[] };
}
const SHAPES = JSON.parse(readFileSync(join(FIXTURES, 'spec-shapes.json'), 'utf8')) as Shapes;

/** Every field the spec names is present. */
function assertHasFields(obj: unknown, fields: string[], what: string): void {
  assert.ok(obj !== null && typeof obj === 'object', `${what} is an object`);
  const missing = fields.filter((f) => !(f in (obj as Record<string, unknown>)));
  assert.deepEqual(missing, [], `${what} lacks spec field(s)`);
}

/** stdout is exactly one JSON document and nothing else. */
function json(r: RunResult): Record<string, unknown> {
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

/**
 * Runs atlas on a pseudo-terminal (util-linux `script`), feeding `input` as typed keys. The
 * terminal is `columns` wide (0: its size unknown, as `script` makes it with no terminal of its
 * own); atlas is killed after `timeoutMs`.
 */
function runOnTerminal(args: string[], input: string, env: Record<string, string | undefined> = {}, terminal: { columns: number; timeoutMs?: number } = { columns: 100 }): Promise<RunResult> {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const atlas = [process.execPath, BIN, ...args].map(quote).join(' ');
  // coreutils `timeout` kills atlas itself: killing `script` would leave it running. --foreground
  // keeps atlas in the terminal's foreground process group: without it, timeout moves itself and
  // atlas to a group of their own, and a shell that forks rather than execs its last command (dash)
  // leaves that group in the background, where reading the terminal or setting its mode stops atlas.
  const seconds = Math.ceil((terminal.timeoutMs ?? 60_000) / 1000);
  const limited = `timeout --foreground -s KILL ${seconds} ${atlas}`;
  const command = terminal.columns > 0 ? `stty cols ${terminal.columns} rows 40 && ${limited}` : limited;
  // `script` runs the command with $SHELL: /bin/sh on every machine, whatever the caller's shell.
  const fullEnv: Record<string, string | undefined> = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, DATABASE_URL: undefined, ATLAS_DATABASE_URL: undefined, SHELL: '/bin/sh', ...env };
  for (const k of Object.keys(fullEnv)) if (fullEnv[k] === undefined) delete fullEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: fullEnv as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'], timeout: (seconds + 30) * 1000, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('tracking commands (spawned)', () => {
  const db = useTestDb();
  const files = useTempDir();
  let conn: string[];
  const longName = 'a_rather_long_file_name_that_the_list_must_cut.csv';
  let small: { import_id: string };
  let big: { import_id: string };
  let partial: { import_id: string };
  before(async () => {
    conn = ['--database-url', db.url, '--schema', db.schema];
    small = await importInto(db.settings, files.write('people_one.csv', csv([['name', 'n'], ['ada', 1], ['grace', 2], ['alan', 3]])), 'people');
    const rows: Array<Array<string | number>> = [['name', 'n']];
    for (let i = 0; i < 1_200; i++) rows.push([`person ${i}`, i]);
    big = await importInto(db.settings, files.write(longName, csv(rows)), 'people');
    partial = await importInto(db.settings, files.write('dates.csv', 'd,n\n2024-01-01,1\n2024-02-30,2\n2024-03-01,3\n'), 'dates');
  });

  it('--json: history, one record, stats, lineage and errors carry every field of the spec, and nothing else is on stdout', async () => {
    const h = await runAtlas(['history', '--json', ...conn]);
    assert.equal(h.code, 0, h.stderr);
    assert.equal(h.stderr, '');
    const list = json(h);
    assertHasFields(list, SHAPES.history_list.top, 'history');
    assert.equal(list.success, true);
    assert.equal(list.total_count, 3);
    for (const i of list.imports as unknown[]) assertHasFields(i, SHAPES.history_list.import, 'history import');

    const one = json(await runAtlas(['history', big.import_id.slice(0, 8), '--json', ...conn]));
    assertHasFields(one, SHAPES.import_record.top, 'record');
    const rec = one.import_record as Record<string, unknown>;
    assertHasFields(rec, SHAPES.import_record.record, 'import_record');
    assert.equal(rec.import_id, big.import_id);
    assert.equal(rec.file_name, longName);
    for (const f of ['file_size_bytes', 'rows_inserted', 'duration_seconds', 'data_validation_errors', 'mapping_errors_count']) assert.equal(typeof rec[f], 'number', f);
    assert.equal(rec.data_validation_errors, rec.validation_errors);
    assert.equal(rec.interrupted, false);
    // An interrupted import says so in one record's JSON as in the list's.
    const cut = await insertRecord(db, { status: 'failed', table_name: 'people' });
    await db.rows(`update ${db.schema}.import_history set metadata = '{"interrupted": true}' where import_id = $1`, [cut]);
    assert.equal((json(await runAtlas(['history', cut, '--json', ...conn])).import_record as Record<string, unknown>).interrupted, true);
    await db.rows(`delete from ${db.schema}.import_history where import_id = $1`, [cut]);

    const stats = json(await runAtlas(['stats', '--json', ...conn]));
    assertHasFields(stats, SHAPES.statistics.top, 'stats');
    assert.equal(stats.total_imports, 3);
    assert.equal(stats.total_rows_inserted, 3 + 1_200 + (await db.rows(`select 1 from ${db.schema}.dates`)).length);
    assert.equal(stats.period_days, 30);

    const lineage = json(await runAtlas(['lineage', 'people', '--json', ...conn]));
    assertHasFields(lineage, SHAPES.lineage.top, 'lineage');
    assert.equal(lineage.total_imports, 2);
    assert.equal(lineage.total_rows_contributed, 1_203);
    for (const i of lineage.imports as unknown[]) assertHasFields(i, SHAPES.lineage.import, 'lineage import');

    const errors = await runAtlas(['errors', partial.import_id.slice(0, 8), '--json', ...conn]);
    assert.equal(errors.code, 0, errors.stderr);
    const e = json(errors);
    assertHasFields(e, SHAPES.mapping_errors.top, 'errors');
    assert.ok((e.total_count as number) > 0);
    for (const x of e.errors as unknown[]) assertHasFields(x, SHAPES.mapping_errors.error, 'mapping error');

    const row = json(await runAtlas(['lineage', 'people', '--row', '2', '--json', ...conn]));
    assert.equal(row.success, true);
    assert.equal(row.import_id, small.import_id);
    assert.equal(row.source_row_number, 2);
  });

  it('errors under --json are {"success": false, "error"} with a non-zero exit code', async () => {
    const cases: Array<[string[], number]> = [
      [['history', '00000000-0000-4000-8000-000000000000'], 1],
      [['history', '--limit', '0'], 2],
      [['history', '--limit', 'ten'], 2],
      [['history', 'xyz'], 2],
      [['errors', '0000000'], 2],
      [['lineage', 'no_such_table'], 1],
      [['stats', '--days', '0'], 2],
      [['undo', '00000000-0000-4000-8000-000000000000', '--yes'], 1],
      [['history', '--status', 'bogus'], 2],
    ];
    for (const [args, code] of cases) {
      const r = await runAtlas([...args, '--json', ...conn]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      const body = json(r);
      assertHasFields(body, SHAPES.error.top, args.join(' '));
      assert.equal(body.success, false);
      assert.equal(typeof body.error, 'string');
    }
  });

  it('text output: aligned tables, human numbers and durations; piped, long values are whole in lists too', async () => {
    const h = await runAtlas(['history', ...conn]);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /1,200/);
    assert.match(h.stdout, /\d s\b/);
    assert.match(h.stdout, new RegExp(longName), 'not cut when piped');
    assert.doesNotMatch(h.stdout, /…/);
    const errorsPiped = await runAtlas(['errors', partial.import_id, ...conn]);
    assert.match(errorsPiped.stdout, /is not a valid date/);
    assert.doesNotMatch(errorsPiped.stdout, /…/);
    assert.match(h.stdout, /showing 1-3 of 3 imports/);
    assert.match(h.stdout, /just now|min ago/);
    const lines = h.stdout.split('\n').filter((l) => /^[0-9a-f]{8} /.test(l));
    assert.equal(lines.length, 3);
    assert.equal(new Set(lines.map((l) => l.search(/ (success|partial) /))).size, 1, 'the status column is aligned');

    const detail = await runAtlas(['history', big.import_id, ...conn]);
    assert.match(detail.stdout, new RegExp(longName));
    for (const group of ['source', 'destination', 'outcome', 'statistics', 'timings', 'mapping']) assert.match(detail.stdout, new RegExp(`^${group}$`, 'm'));
    // A list's filter beside an import id would be ignored: refused instead.
    const filtered = await runAtlas(['history', big.import_id, '--status', 'failed', '--limit', '5', ...conn]);
    assert.equal(filtered.code, 2, filtered.stdout);
    assert.match(filtered.stderr, /^atlas: history [0-9a-f-]{36} shows that one import: --status, --limit filter or page the list of imports$/m);

    const stats = await runAtlas(['stats', ...conn]);
    assert.match(stats.stdout, /inserted\s+1,20\d/);
    assert.match(stats.stdout, /success rate\s+\d+\.\d %/);

    const page = await runAtlas(['history', '--offset', '10', ...conn]);
    assert.equal(page.code, 0);
    assert.match(page.stdout, /3 imports in all, and --offset 10 is past the end/);
    const none = await runAtlas(['history', '--table', 'nope', ...conn]);
    assert.match(none.stdout, /No imports match/);
  });

  it('undo: needs --yes without a terminal; --dry-run --json gives the row count and changes nothing; then undoes', async () => {
    const t = await importInto(db.settings, files.write('undo_me.csv', csv([['name', 'n'], ['u1', 1], ['u2', 2]])), 'people');
    const count = async () => (await db.rows(`select 1 from ${db.schema}.people`)).length;
    const before = await count();

    const noYes = await runAtlas(['undo', t.import_id, ...conn]);
    assert.equal(noYes.code, 2);
    assert.match(noYes.stderr, /pass --yes/);
    assert.equal(await count(), before);

    const dry = await runAtlas(['undo', t.import_id.slice(0, 8), '--dry-run', '--json', ...conn]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = json(dry);
    assert.equal(plan.rows_to_remove, 2);
    assert.equal(plan.dry_run, true);
    assert.equal(await count(), before);
    const human = await runAtlas(['undo', t.import_id, '--dry-run', ...conn]);
    assert.match(human.stdout, /dry run: nothing was changed/);
    assert.match(human.stdout, /remove 2 row\(s\)/);

    const done = await runAtlas(['undo', t.import_id, '--yes', '--user', 'mallory', '--json', ...conn]);
    assert.equal(done.code, 0, done.stderr);
    const body = json(done);
    assert.equal(body.success, true);
    assert.equal(body.rows_removed, 2);
    assert.equal(body.undone_by, 'mallory');
    assert.equal(await count(), before - 2);
    const [h] = await db.rows<Record<string, unknown>>(`select status, undone_by, rows_removed from ${db.schema}.import_history where import_id = $1`, [t.import_id]);
    assert.deepEqual(h, { status: 'undone', undone_by: 'mallory', rows_removed: 2 });

    const again = await runAtlas(['undo', t.import_id, '--yes', ...conn]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already undone/);
    const statusFilter = json(await runAtlas(['history', '--status', 'undone', '--json', ...conn]));
    assert.deepEqual((statusFilter.imports as Array<{ import_id: string }>).map((i) => i.import_id), [t.import_id]);

    // ATLAS_USER is the default undone_by.
    const u = await importInto(db.settings, files.write('undo_env.csv', csv([['name', 'n'], ['e1', 1]])), 'people');
    const byEnv = await runAtlas(['undo', u.import_id, '--yes', '--json', ...conn], { env: { ATLAS_USER: 'trent' } });
    assert.equal(json(byEnv).undone_by, 'trent');
  });

  it('undo of rows later imports rely on: refused in one line naming them (exit 1); --dry-run says which of refuse, --reassign, --force happens', async () => {
    const a = await importInto(db.settings, files.write('relied_a.csv', csv([['name', 'n'], ['r1', 1], ['r2', 2]])), 'relied');
    const b = await importInto(db.settings, files.write('relied_b.csv', csv([['name', 'n'], ['r2', 2], ['r3', 3]])), 'relied');
    const refused = await runAtlas(['undo', a.import_id, '--yes', ...conn]);
    assert.equal(refused.code, 1);
    const [line, hint] = refused.stderr.trim().split('\n');
    assert.equal(line, `atlas: cannot undo import ${a.import_id}: 1 of its rows are also the data of later imports, which skipped their own copies of them as duplicates: ${b.import_id} (relied_b.csv, 1 record(s))`);
    assert.match(hint ?? '', /--reassign keeps those rows.*--force deletes them too/);
    const dry = async (...flags: string[]): Promise<string> => {
      const r = await runAtlas(['undo', a.import_id, '--dry-run', ...flags, ...conn]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    // The plan is shown, and the dry run ends as the undo would: exit 1, so `undo --dry-run && undo --yes` is safe in a script.
    const refusedPlan = await runAtlas(['undo', a.import_id, '--dry-run', ...conn]);
    assert.equal(refusedPlan.code, 1, refusedPlan.stderr);
    assert.match(refusedPlan.stdout, /refused: 1 of its rows are the data of later imports too.*--reassign keeps them for those imports, --force deletes them/);
    const refusedJson = await runAtlas(['undo', a.import_id, '--dry-run', '--json', ...conn]);
    assert.equal(refusedJson.code, 1);
    assert.equal(json(refusedJson).would_refuse, line!.replace(/^atlas: /, ''));
    assert.equal(json(await runAtlas(['undo', a.import_id, '--dry-run', '--force', '--json', ...conn])).would_refuse, null);
    assert.match(await dry('--reassign'), /remove 2 row\(s\) from .*\.relied: 1 deleted, 1 kept as rows of later imports/);
    assert.match(await dry('--reassign'), new RegExp(`keep 1 of them, which later imports rely on, as rows of the earliest import that skipped each \\(rows per import: ${b.import_id} \\(relied_b.csv\\): 1\\)`));
    assert.match(await dry('--force'), /delete with them 1 row\(s\) that later imports rely on/);
    const json1 = json(await runAtlas(['undo', a.import_id, '--dry-run', '--reassign', '--json', ...conn]));
    assert.equal(json1.dependents, 'reassigned');
    const deps = json1.dependent_imports as Array<Record<string, unknown>>;
    assert.deepEqual(deps.map((d) => [d.import_id, d.file_name, d.records, d.rows]), [[b.import_id, 'relied_b.csv', 1, 1]]);
    assert.match(String(deps[0]!.import_timestamp), /^\d{4}-\d\d-\d\dT/);
    const done = await runAtlas(['undo', a.import_id, '--yes', '--reassign', ...conn]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /removed 2 row\(s\) of import .* from .*\.relied: 1 deleted, 1 kept as rows of later imports/);
    assert.deepEqual(await db.rows(`select name, _import_id::text as i from ${db.schema}.relied order by name`), [
      { name: 'r2', i: b.import_id },
      { name: 'r3', i: b.import_id },
    ]);
  });

  it('undo --force of an upsert whose updated row a later import relies on says the row is put back, not deleted', async () => {
    await importInto(db.settings, files.write('put_a.csv', csv([['sku', 'n'], ['a', 1], ['b', 2]])), 'put_back');
    const u = await importWith(db.settings, files.write('put_u.csv', csv([['sku', 'n'], ['a', 10], ['c', 3]])), 'put_back', { mode: 'upsert', key: ['sku'] });
    const b = await importInto(db.settings, files.write('put_b.csv', csv([['sku', 'n'], ['a', 10], ['c', 3], ['d', 4]])), 'put_back');
    assert.equal(b.duplicates_found, 2);
    const refused = await runAtlas(['undo', u.import_id, '--dry-run', ...conn]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stdout, /--force deletes them \(puts back the 1 it updated to their versions before it\)/);
    const r = await runAtlas(['undo', u.import_id, '--dry-run', '--force', ...conn]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`delete with them 1 row\\(s\\) and put back 1 row\\(s\\) to their versions before it that later imports rely on \\(--force; records per import: ${b.import_id} \\(put_b.csv\\): 2\\)`));
  });

  it('undo of an import a later upsert changed: its dry run asks for --force, with --force it says it goes past it, and the forced undo does not tell to undo those first', async () => {
    const a = await importInto(db.settings, files.write('past_a.csv', csv([['sku', 'n'], ['a', 1], ['b', 2]])), 'go_past');
    await importWith(db.settings, files.write('past_u.csv', csv([['sku', 'n'], ['a', 10]])), 'go_past', { mode: 'upsert', key: ['sku'] });
    const asking = await runAtlas(['undo', a.import_id, '--dry-run', ...conn]);
    assert.equal(asking.code, 1, asking.stderr);
    assert.match(asking.stdout, /^ {2}later import\(s\) changed its rows .* \(undo those first, latest first, or --force\)$/m);
    const past = await runAtlas(['undo', a.import_id, '--dry-run', '--force', ...conn]);
    assert.equal(past.code, 0, past.stderr);
    assert.match(past.stdout, /^ {2}go past, as --force: later import\(s\) changed its rows .* stay as they left them$/m);
    assert.doesNotMatch(past.stdout, /need --force|undo those first/);
    const forced = await runAtlas(['undo', a.import_id, '--yes', '--force', ...conn]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^ {2}forced: later import\(s\) changed its rows .* stay as they left them$/m);
    assert.doesNotMatch(forced.stdout, /undo those first/);
  });

  it('history prune: a subcommand beside history <import_id>; --dry-run, --yes, and its refusals', async () => {
    const old = await insertRecord(db, { status: 'failed', age: '400 days', table_name: 'people' });
    const oldOk = await insertRecord(db, { status: 'success', age: '400 days', table_name: 'elsewhere', rows_inserted: 0 });

    const dry = await runAtlas(['history', 'prune', '--older-than', '365d', '--dry-run', '--json', ...conn]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = json(dry);
    assert.equal(plan.dry_run, true);
    assert.deepEqual((plan.imports as Array<{ import_id: string }>).map((i) => i.import_id), [old]);
    const human = await runAtlas(['history', 'prune', '--older-than', '52w', '--dry-run', ...conn]);
    assert.match(human.stdout, /would delete 1 history record/);
    // The units of history --since, minutes included (m, as --since reads it).
    const minutes = await runAtlas(['history', 'prune', '--older-than', `${365 * 24 * 60}m`, '--dry-run', '--json', ...conn]);
    assert.equal(minutes.code, 0, minutes.stderr);
    assert.deepEqual((json(minutes).imports as Array<{ import_id: string }>).map((i) => i.import_id), [old]);

    const refusals: Array<[string[], RegExp]> = [
      [['history', 'prune'], /--older-than/],
      [['history', 'prune', '--older-than', '10x', '--dry-run'], /must be an age/],
      [['history', 'prune', '--older-than', '365d'], /pass --yes/],
      [['history', 'prune', '--older-than', '365d', '--dry-run', '--table', 'people'], /does not take --table/],
      [['history', 'compact', '--older-than', '365d', '--dry-run', '--table', 'people'], /history compact does not take --table/],
      [['history', '--table', ''], /--table is empty: give a table name/],
      [['lineage', '"unterminated'], /the table ""unterminated" is not a name atlas can take/],
    ];
    for (const [args, message] of refusals) {
      const r = await runAtlas([...args, ...conn]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
    assert.equal((await db.rows(`select 1 from ${db.schema}.import_history where import_id = $1`, [old])).length, 1);

    const done = await runAtlas(['history', 'prune', '--older-than', '8760h', '--yes', '--json', ...conn]);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(json(done).pruned_count, 1);
    assert.equal((await db.rows(`select 1 from ${db.schema}.import_history where import_id = $1`, [old])).length, 0);
    assert.equal((await db.rows(`select 1 from ${db.schema}.import_history where import_id = $1`, [oldOk])).length, 1, 'a successful import is never pruned');
    // history <import_id> still works beside the subcommand.
    assert.equal(json(await runAtlas(['history', oldOk.slice(0, 8), '--json', ...conn])).success, true);
  });

  it('--help of the program and of each command lists every option with an example', async () => {
    const top = await runAtlas(['--help']);
    for (const cmd of ['import', 'history', 'stats', 'lineage', 'errors', 'undo', 'server']) assert.match(top.stdout, new RegExp(`^  ${cmd} `, 'm'), cmd);
    const expectations: Array<[string[], RegExp[]]> = [
      [['history'], [/--table <name>/, /--user <name>/, /--status <status>/, /--since <date>/, /--limit <n>.*\(default: "100"\)/s, /--offset <n>.*\(default: "0"\)/s, /prune/]],
      [['history', 'prune'], [/--older-than <age>/, /--dry-run/, /--yes/]],
      [['stats'], [/--table <name>/, /--user <name>/, /--days <n>.*\(default: "30"\)/s]],
      [['lineage'], [/<table>/, /--row <id>/]],
      [['errors'], [/--type <type>/, /--field <name>/, /--duplicates/, /--limit <n>.*\(default: "100"\)/s, /--offset <n>/]],
      [['undo'], [/--dry-run/, /-y, --yes/, /--force/, /--reassign/, /--purge/, /--user <name>/]],
    ];
    for (const [cmd, patterns] of expectations) {
      const r = await runAtlas([...cmd, '--help']);
      assert.equal(r.code, 0, cmd.join(' '));
      for (const p of patterns) assert.match(r.stdout, p, `${cmd.join(' ')} --help: ${p}`);
      assert.match(r.stdout, /Examples:\n  atlas /, `${cmd.join(' ')} has examples`);
      assert.match(r.stdout, /--json/, `${cmd.join(' ')} lists the global options`);
    }
  });

  it('on a terminal, long values are cut with … in lists and whole in details', { skip: HAS_SCRIPT ? false : 'util-linux `script` is not installed' }, async () => {
    const list = await runOnTerminal(['history', ...conn], '', {}, { columns: 200 });
    assert.equal(list.code, 0, list.stdout);
    assert.match(list.stdout, /a_rather_long_file_name\w*…/);
    assert.doesNotMatch(list.stdout, new RegExp(longName));
    const detail = await runOnTerminal(['history', big.import_id, ...conn], '', {}, { columns: 200 });
    assert.match(detail.stdout, new RegExp(longName));
  });

  it('on a terminal: colour unless NO_COLOR or --no-color; undo asks and does nothing on "n"', { skip: HAS_SCRIPT ? false : 'util-linux `script` is not installed' }, async () => {
    const coloured = await runOnTerminal(['history', ...conn], '');
    assert.equal(coloured.code, 0, coloured.stdout);
    assert.match(coloured.stdout, /\u001b\[32msuccess/, 'success in green');
    const noColor = await runOnTerminal(['history', ...conn], '', { NO_COLOR: '1' });
    assert.doesNotMatch(noColor.stdout, /\u001b\[3\dm/);
    const flag = await runOnTerminal(['history', '--no-color', ...conn], '');
    assert.doesNotMatch(flag.stdout, /\u001b\[3\dm/);

    const t = await importInto(db.settings, files.write('ask.csv', csv([['name', 'n'], ['q1', 1]])), 'people');
    const no = await runOnTerminal(['undo', t.import_id, ...conn], 'n\n');
    assert.equal(no.code, 1, no.stdout);
    // The terminal merges stdout and stderr; the plan and the question are on stderr, in colour.
    const plain = no.stdout.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
    assert.match(plain, /Undoing import [0-9a-f-]{36} \(ask\.csv, .*\) will:\r?\n\s*remove 1 row\(s\)/);
    assert.doesNotMatch(plain, /dry run/, 'the plan before the question does not say nothing was changed');
    assert.match(plain, /Go ahead\? \[y\/N\]/);
    assert.match(plain, /cancelled; nothing was changed/);
    assert.equal((await db.rows(`select 1 from ${db.schema}.people where _import_id = $1`, [t.import_id])).length, 1);
    const yes = await runOnTerminal(['undo', t.import_id, ...conn], 'y\n');
    assert.equal(yes.code, 0, yes.stdout);
    assert.match(yes.stdout, /undone/);
    assert.equal((await db.rows(`select 1 from ${db.schema}.people where _import_id = $1`, [t.import_id])).length, 0);
  });

  it('import on a terminal: a spinner with the phase, bytes, rows/s and time, then the summary; on a terminal of no width, plain lines', { skip: HAS_SCRIPT ? false : 'util-linux `script` is not installed' }, async () => {
    const rows: Array<Array<string | number>> = [['name', 'n']];
    for (let i = 0; i < 100_000; i++) rows.push([`p${i}`, i]);
    const file = files.write('on_terminal.csv', csv(rows));
    const plain = (text: string): string => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

    // ora animates only without CI in the environment and with a TERM other than dumb.
    const terminalEnv = { CI: undefined, TERM: 'xterm-256color' };
    const sized = await runOnTerminal(['import', file, '--table', 'on_terminal', ...conn], '', terminalEnv, { columns: 100 });
    assert.equal(sized.code, 0, plain(sized.stdout).slice(-2000));
    assert.match(sized.stdout, /\u001b\[\?25l/, 'the spinner hides the cursor');
    assert.match(sized.stdout, /\u001b\[\?25h/, 'and shows it again');
    const frames = plain(sized.stdout);
    assert.match(frames, /staging, [\d.]+ (KB|MB) of [\d.]+ (KB|MB) \(\d+%\), [\d,]+ rows, [\d,]+ rows\/s, [\d.]+ m?s/, 'bytes of the total, rows, rows/s, elapsed');
    assert.match(frames, /inserting, about \d+% of 100,000 rows \(estimated at the (staging rate|rate of earlier imports), [\d,]+ rows\/s\), [\d.]+ m?s/, 'the INSERT: an estimate');
    assert.match(frames, /success: imported 100,000 of 100,000 rows/);
    assert.match(frames, /time: reading and staging/);
    assert.match(frames, /import id [0-9a-f-]{36}/);

    // With 0 columns, ora divided by the width and cleared lines without end: the import never finished.
    const unsized = await runOnTerminal(['import', file, '--table', 'on_terminal_0', ...conn], '', terminalEnv, { columns: 0, timeoutMs: 60_000 });
    assert.notEqual(unsized.code, 128 + 9, 'atlas finished on its own (it was not killed after 60 s)');
    assert.equal(unsized.code, 0, plain(unsized.stdout).slice(-2000));
    assert.doesNotMatch(unsized.stdout, /\u001b\[1A/, 'no cursor movement');
    assert.match(unsized.stdout, /^atlas: staging, /m, 'phases as plain lines');
    assert.match(plain(unsized.stdout), /success: imported 100,000 of 100,000 rows/);
    assert.equal((await db.rows(`select 1 from ${db.schema}.on_terminal_0`)).length, 100_000);

    // In CI (CI set), where ora would write its first text once and stop: plain lines as well.
    const inCi = await runOnTerminal(['import', file, '--table', 'on_terminal_ci', ...conn], '', { ...terminalEnv, CI: 'true' }, { columns: 100 });
    assert.equal(inCi.code, 0, plain(inCi.stdout).slice(-2000));
    assert.doesNotMatch(inCi.stdout, /\u001b\[\?25l/, 'no spinner');
    assert.match(inCi.stdout, /^atlas: staging, /m, 'phases as plain lines');
    assert.match(inCi.stdout, /^atlas: committing, /m);
  });
});
