/**
 * atlas load benchmark: `atlas import` of a generated CSV against a plain `psql \copy` of the same
 * file into a table of exactly the shape atlas creates, plus atlas's start-up overhead.
 *
 *   npm run bench                       (1,000,000 rows, 3 runs)
 *   npm run bench -- --rows 200000 --runs 1
 *
 * Database: ATLAS_BENCH_DATABASE_URL when set, else atlas's embedded server with its data under
 * bench/data/home (started if needed and left running; `ATLAS_HOME=bench/data/home atlas server stop`
 * stops it). Every run uses a fresh schema, dropped afterwards. Writes bench/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { DATA_DIR, DEFAULT_ROWS, ensureBenchCsv, generateCsv } from './generate.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ATLAS_BIN = join(ROOT, 'bin', 'atlas.js');
const EMBEDDED_HOME = join(DATA_DIR, 'home');
const RESULTS_PATH = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const HELP_SAMPLES = 5;

/** Targets: atlas may take at most this much longer than psql \copy, etc. */
const TARGET_RATIO = 1.5;
const TARGET_RSS_MB = 200;
const TARGET_HELP_MS = 150;

/** Columns of the reference table, in file order: atlas renames the file's `id` to `id_2` (`id` is its own key). */
const REFERENCE_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['id_2', 'integer'],
  ['name', 'text'],
  ['email', 'text'],
  ['signup_date', 'date'],
  ['amount', 'numeric'],
  ['active', 'boolean'],
  ['category', 'text'],
  ['city', 'text'],
  ['notes', 'text'],
  ['created_at', 'timestamp'],
];

// ---------------------------------------------------------------------------------------------
// small helpers

interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion, timing it from spawn to exit (wall clock). */
function exec(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Exec> {
  return new Promise((resolveExec, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', reject);
    child.once('close', (code) => {
      resolveExec({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: performance.now() - started });
    });
  });
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;
const fmt = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Never print a connection string with its password. */
function redact(text: string, url: string): string {
  let out = text.split(url).join('<database-url>');
  try {
    const pw = decodeURIComponent(new URL(url).password);
    if (pw !== '') out = out.split(pw).join('<password>');
  } catch {
    /* not a URL: nothing more to hide */
  }
  return out;
}

function fail(message: string): never {
  throw new Error(message);
}

function parsePositive(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) fail(`--${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// database

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'atlas-bench' });
  client.on('error', () => {
    /* surfaced through the failing query */
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function scalar<T>(url: string, sql: string): Promise<T> {
  return withClient(url, async (c) => {
    const res = await c.query<Record<string, T>>(sql);
    const row = res.rows[0];
    if (row === undefined) fail(`no row from: ${sql}`);
    return Object.values(row)[0] as T;
  });
}

/**
 * Flushes dirty buffers before a timed step so that neither load pays for the other's checkpoint.
 * Needs superuser or pg_checkpoint; skipped silently when not allowed.
 */
async function checkpoint(url: string): Promise<void> {
  await withClient(url, (c) => c.query('checkpoint')).catch(() => undefined);
}

async function rowCount(url: string, schema: string, table: string): Promise<number> {
  return Number(await scalar<string>(url, `select count(*) from ${quoteIdent(schema)}.${quoteIdent(table)}`));
}

/** `name type` of every column of a table, in order, for comparing the reference with atlas's table. */
async function tableShape(url: string, schema: string, table: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const res = await c.query<{ name: string; type: string; notnull: boolean }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull
         from pg_attribute a join pg_class k on k.oid = a.attrelid join pg_namespace n on n.oid = k.relnamespace
        where n.nspname = $1 and k.relname = $2 and a.attnum > 0 and not a.attisdropped
        order by a.attnum`,
      [schema, table],
    );
    return res.rows.map((r) => `${r.name} ${r.type}${r.notnull ? ' not null' : ''}`);
  });
}

/** Rows whose user columns differ between the reference and atlas's table (matched on the file's id). */
async function differingRows(url: string, schema: string): Promise<number> {
  const s = quoteIdent(schema);
  const cols = REFERENCE_COLUMNS.map(([n]) => n).filter((n) => n !== 'id_2');
  const row = (alias: string): string => `(${cols.map((c) => `${alias}.${quoteIdent(c)}`).join(', ')})`;
  return Number(
    await scalar<string>(
      url,
      `select count(*) from ${s}.ref r full join ${s}.bench_t b on b.id_2 = r.id_2 where r.id_2 is null or b.id_2 is null or ${row('r')} is distinct from ${row('b')}`,
    ),
  );
}

async function resolveDatabase(): Promise<{ url: string; label: string }> {
  const fromEnv = process.env.ATLAS_BENCH_DATABASE_URL;
  if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, label: 'ATLAS_BENCH_DATABASE_URL' };
  const { ensureEmbeddedServer } = await import('../src/db/embedded.ts');
  const started = performance.now();
  const info = await ensureEmbeddedServer(EMBEDDED_HOME);
  const how = info.started ? `started in ${fmt((performance.now() - started) / 1000, 1)} s` : 'already running';
  process.stdout.write(`database: atlas's embedded PostgreSQL on port ${info.port} (${how}, data in ${info.dataDir})\n`);
  return { url: info.url, label: `atlas embedded server (port ${info.port})` };
}

// ---------------------------------------------------------------------------------------------
// the timed steps

/** The DDL atlas's createTableSql() produces for the bench file, with a default for `_import_id`. */
function referenceDdl(schema: string, importId: string): string[] {
  const s = quoteIdent(schema);
  const cols = [
    'id bigint generated always as identity primary key',
    ...REFERENCE_COLUMNS.map(([name, type]) => `${quoteIdent(name)} ${type}`),
    `_import_id uuid not null default ${quoteLiteral(importId)} references ${s}.import_history (import_id) on delete cascade`,
    '_imported_at timestamp default now()',
    '_source_row_number integer',
    '_corrections_applied jsonb',
  ];
  return [
    `insert into ${s}.import_history (import_id, source_type, table_name, status) values (${quoteLiteral(importId)}, 'local_upload', 'ref', 'success')`,
    `create table ${s}.ref (\n  ${cols.join(',\n  ')}\n)`,
    `create index on ${s}.ref (_import_id)`,
  ];
}

async function timePsqlCopy(url: string, schema: string, file: string, rows: number): Promise<number> {
  await withClient(url, async (c) => {
    for (const sql of referenceDdl(schema, randomUUID())) await c.query(sql);
  });
  await checkpoint(url);
  const target = `${quoteIdent(schema)}.ref(${REFERENCE_COLUMNS.map(([n]) => n).join(',')})`;
  const copy = `\\copy ${target} from ${quoteLiteral(file)} with (format csv, header true)`;
  const res = await exec('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', "set datestyle to 'ISO, MDY'", '-c', copy]);
  if (res.code !== 0) fail(`psql \\copy failed (exit ${res.code}): ${redact(res.stderr.trim(), url)}`);
  const n = await rowCount(url, schema, 'ref');
  if (n !== rows) fail(`psql \\copy loaded ${n} rows, expected ${rows}`);
  return res.ms / 1000;
}

interface AtlasJson {
  success?: boolean;
  status?: string;
  rows_inserted?: number;
  total_rows_in_file?: number;
  import_id?: string;
  error?: string;
  hint?: string;
  warnings?: string[];
  columns?: Array<{ source: string; target: string; type: string }>;
}

function parseAtlasJson(stdout: string): AtlasJson | null {
  try {
    const value: unknown = JSON.parse(stdout);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as AtlasJson) : null;
  } catch {
    return null;
  }
}

function atlasImportArgs(file: string, table: string, schema: string, url: string): string[] {
  return [ATLAS_BIN, 'import', file, '--table', table, '--schema', schema, '--database-url', url, '--json'];
}

/** One untimed import of a tiny file: migrates the schema, so that import_history exists for the reference. */
async function warmUp(url: string, schema: string, file: string): Promise<void> {
  const res = await exec(process.execPath, atlasImportArgs(file, 'warmup', schema, url));
  const json = parseAtlasJson(res.stdout);
  if (res.code !== 0 || json?.status !== 'success') {
    fail(`atlas warm-up import failed (exit ${res.code}): ${redact(json?.error ?? (res.stderr.trim() || res.stdout.trim()), url)}`);
  }
}

interface AtlasRun {
  seconds: number;
  peakRssMb: number;
  /** atlas's own phase timings from import_history (null when atlas did not record one). */
  phases: { staging: number | null; duplicates: number | null; insert: number | null };
  warnings: string[];
  columns: string[];
}

async function timeAtlas(url: string, schema: string, file: string, rows: number): Promise<AtlasRun> {
  await checkpoint(url);
  const res = await exec('/usr/bin/time', ['-f', '%M', process.execPath, ...atlasImportArgs(file, 'bench_t', schema, url)]);
  const stderrLines = res.stderr.trim().split('\n');
  const rssKb = Number(stderrLines.at(-1));
  const json = parseAtlasJson(res.stdout);
  if (json === null || res.code !== 0 || json.status !== 'success') {
    const said = stderrLines.slice(0, -1).join('\n').trim();
    const error = json?.error !== undefined ? `${json.error}${json.hint !== undefined ? ` (hint: ${json.hint})` : ''}` : res.stdout.trim();
    fail(redact(`atlas import failed (exit ${res.code}, status ${json?.status ?? 'none'}): ${error}${said !== '' ? `\natlas stderr: ${said}` : ''}`, url));
  }
  if (json.rows_inserted !== rows) fail(`atlas reported rows_inserted ${json.rows_inserted}, expected ${rows}`);
  if (!Number.isFinite(rssKb)) fail(`could not read the peak RSS from /usr/bin/time: ${JSON.stringify(stderrLines.at(-1))}`);
  const n = await rowCount(url, schema, 'bench_t');
  if (n !== rows) fail(`atlas's table holds ${n} rows, expected ${rows}`);
  const phases = await withClient(url, async (c) => {
    const r = await c.query<{ staging: string | null; duplicates: string | null; insert: string | null }>(
      `select parsing_time_seconds as staging, duplicate_check_time_seconds as duplicates, insert_time_seconds as insert
         from ${quoteIdent(schema)}.import_history where import_id = $1`,
      [json.import_id],
    );
    return r.rows[0];
  });
  const num = (v: string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    seconds: res.ms / 1000,
    peakRssMb: rssKb / 1024,
    phases: { staging: num(phases?.staging), duplicates: num(phases?.duplicates), insert: num(phases?.insert) },
    warnings: json.warnings ?? [],
    columns: (json.columns ?? []).map((c) => `${c.target} ${c.type}`),
  };
}

interface HelpOverhead {
  helpMs: number[];
  nodeMs: number[];
  overheadMs: number;
}

/** `atlas --help` against `node -e 0`, interleaved, after one untimed run of each. */
async function timeHelp(): Promise<HelpOverhead> {
  const helpMs: number[] = [];
  const nodeMs: number[] = [];
  for (let i = 0; i <= HELP_SAMPLES; i++) {
    const bare = await exec(process.execPath, ['-e', '0']);
    const help = await exec(process.execPath, [ATLAS_BIN, '--help']);
    if (help.code !== 0) fail(`atlas --help failed (exit ${help.code}): ${help.stderr.trim()}`);
    if (i === 0) continue;
    nodeMs.push(bare.ms);
    helpMs.push(help.ms);
  }
  return { helpMs, nodeMs, overheadMs: median(helpMs) - median(nodeMs) };
}

// ---------------------------------------------------------------------------------------------
// report

interface RunResult {
  psqlSeconds: number;
  atlas: AtlasRun;
}

function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function resultsTable(rows: number, runs: RunResult[], help: HelpOverhead): { text: string; allMet: boolean } {
  const psql = runs.map((r) => r.psqlSeconds);
  const atlas = runs.map((r) => r.atlas.seconds);
  const ratio = runs.map((r) => r.atlas.seconds / r.psqlSeconds);
  const rate = runs.map((r) => rows / r.atlas.seconds);
  const rss = runs.map((r) => r.atlas.peakRssMb);
  const staging = runs.map((r) => r.atlas.phases.staging ?? Number.NaN);
  const dups = runs.map((r) => r.atlas.phases.duplicates ?? Number.NaN);
  const insert = runs.map((r) => r.atlas.phases.insert ?? Number.NaN);
  const other = runs.map((r) => r.atlas.seconds - (r.atlas.phases.staging ?? 0) - (r.atlas.phases.duplicates ?? 0) - (r.atlas.phases.insert ?? 0));
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const mRatio = median(ratio);
  const mRss = median(rss);
  const perRun = (values: number[], digits: number, f: (n: number, d: number) => string = fmt): string[] => values.map((v) => f(v, digits));
  const none = runs.map(() => '');
  const header = ['metric', 'median', ...runs.map((_, i) => `run ${i + 1}`), 'target', 'result'];
  const body: string[][] = [
    ['psql \\copy (s)', fmt(median(psql), 2), ...perRun(psql, 2), '', ''],
    ['atlas import (s)', fmt(median(atlas), 2), ...perRun(atlas, 2), '', ''],
    ['  phase: staging (s)', fmt(median(staging), 2), ...perRun(staging, 2), '', ''],
    ['  phase: duplicate check (s)', fmt(median(dups), 2), ...perRun(dups, 2), '', ''],
    ['  phase: insert (s)', fmt(median(insert), 2), ...perRun(insert, 2), '', ''],
    ['  rest: start-up, types, commit (s)', fmt(median(other), 2), ...perRun(other, 2), '', ''],
    ['ratio atlas / psql', fmt(mRatio, 2), ...perRun(ratio, 2), `<= ${TARGET_RATIO}`, verdict(mRatio <= TARGET_RATIO)],
    ['atlas rows/s', count(median(rate)), ...perRun(rate, 0, (n) => count(n)), '', ''],
    ['atlas peak RSS (MB)', fmt(mRss, 0), ...perRun(rss, 0), `<= ${TARGET_RSS_MB}`, verdict(mRss <= TARGET_RSS_MB)],
    ['atlas --help overhead (ms)', fmt(help.overheadMs, 0), ...none, `<= ${TARGET_HELP_MS}`, verdict(help.overheadMs <= TARGET_HELP_MS)],
  ];
  const helpLine = `--help: atlas --help median ${fmt(median(help.helpMs), 0)} ms [${help.helpMs.map((v) => fmt(v, 0)).join(', ')}], node -e 0 median ${fmt(median(help.nodeMs), 0)} ms [${help.nodeMs.map((v) => fmt(v, 0)).join(', ')}]`;
  const allMet = mRatio <= TARGET_RATIO && mRss <= TARGET_RSS_MB && help.overheadMs <= TARGET_HELP_MS;
  return { text: `${renderTable(header, body)}\n\n${helpLine}`, allMet };
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line !== undefined) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** Which atlas was measured: the commit, whether src/ or sql/ differ from it, and when dist/ was built. */
async function atlasVersion(): Promise<string> {
  const head = await exec('git', ['rev-parse', '--short', 'HEAD']).catch(() => null);
  const dirty = await exec('git', ['status', '--porcelain', '--', 'src', 'sql']).catch(() => null);
  const built = existsSync(join(ROOT, 'dist', 'cli.js')) ? statSync(join(ROOT, 'dist', 'cli.js')).mtime.toISOString() : 'unknown';
  if (head?.code !== 0) return `dist/ built ${built}`;
  const changed = dirty?.code === 0 ? dirty.stdout.split('\n').filter((l) => l.trim() !== '').length : 0;
  return `commit ${head.stdout.trim()}${changed > 0 ? ` + ${changed} uncommitted file(s) in src/ and sql/` : ''}, dist/ built ${built}`;
}

async function nproc(): Promise<string> {
  const res = await exec('nproc', []).catch(() => null);
  return res?.code === 0 ? res.stdout.trim() : String(cpus().length);
}

// ---------------------------------------------------------------------------------------------
// main

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, runs: { type: 'string' } } });
  const rows = parsePositive('rows', values.rows, DEFAULT_ROWS);
  const runCount = parsePositive('runs', values.runs, 3);
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) fail('dist/cli.js is missing: run `npm run build` first (npm run bench does)');
  const psqlVersion = await exec('psql', ['--version']).catch(() => null);
  if (psqlVersion?.code !== 0) fail('psql is not on PATH; the reference load needs it');

  const started = performance.now();
  const csv = await ensureBenchCsv(rows);
  const mb = csv.bytes / 1024 / 1024;
  const genSecs = fmt((performance.now() - started) / 1000, 1);
  process.stdout.write(`data: ${csv.path} (${count(rows)} rows, ${fmt(mb, 1)} MB, ${csv.reused ? 'reused' : `generated in ${genSecs} s`})\n`);
  const tiny = join(DATA_DIR, 'warmup.csv');
  if (!existsSync(tiny)) await generateCsv(tiny, 3);

  const db = await resolveDatabase();
  const serverVersion = await scalar<string>(db.url, 'select version()');
  process.stdout.write(`server: ${serverVersion}\n`);

  const runs: RunResult[] = [];
  const notes: string[] = [];
  for (let run = 1; run <= runCount; run++) {
    const schema = `bench_${run}_${randomBytes(4).toString('hex')}`;
    process.stdout.write(`run ${run}/${runCount} (schema ${schema}): `);
    try {
      await withClient(db.url, (c) => c.query(`create schema ${quoteIdent(schema)}`));
      await warmUp(db.url, schema, tiny);
      const psqlSeconds = await timePsqlCopy(db.url, schema, csv.path, rows);
      process.stdout.write(`psql \\copy ${fmt(psqlSeconds, 2)} s, `);
      const atlas = await timeAtlas(db.url, schema, csv.path, rows);
      process.stdout.write(`atlas ${fmt(atlas.seconds, 2)} s (${fmt(atlas.seconds / psqlSeconds, 2)}x, peak RSS ${fmt(atlas.peakRssMb, 0)} MB)\n`);
      if (run === 1) {
        const [ref, got] = await Promise.all([tableShape(db.url, schema, 'ref'), tableShape(db.url, schema, 'bench_t')]);
        if (ref.join('\n') !== got.join('\n')) {
          notes.push(`atlas's table differs in shape from the reference:\n    atlas:     ${got.join(', ')}\n    reference: ${ref.join(', ')}`);
        }
        for (const w of atlas.warnings) notes.push(`atlas warning: ${w}`);
        const differing = await differingRows(db.url, schema);
        if (differing > 0) notes.push(`${count(differing)} row(s) hold different values in atlas's table than in the reference`);
        else notes.push("run 1: atlas's table holds exactly the reference's values (all ten columns compared row by row)");
      }
      runs.push({ psqlSeconds, atlas });
    } finally {
      await withClient(db.url, (c) => c.query(`drop schema if exists ${quoteIdent(schema)} cascade`)).catch((err: unknown) => {
        process.stderr.write(`\nbench: could not drop schema ${schema}: ${err instanceof Error ? err.message : String(err)}\n`);
      });
    }
  }

  process.stdout.write('start-up: timing atlas --help against node -e 0 ...\n');
  const help = await timeHelp();
  const table = resultsTable(rows, runs, help);
  process.stdout.write(`\n${table.text}\n`);
  for (const n of notes) process.stdout.write(`\nnote: ${n}\n`);

  const memGb = totalmem() / 1024 ** 3;
  const md = [
    '# atlas benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts). Regenerate with \`npm run bench\`; see bench/README.md.`,
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${await nproc()} CPUs (nproc), ${fmt(memGb, 1)} GiB memory, ${cpuModel()}`,
    `- atlas: ${await atlasVersion()}`,
    `- Node: ${process.version}`,
    `- PostgreSQL server: ${serverVersion}`,
    `- database: ${db.label}`,
    `- reference client: ${psqlVersion.stdout.trim()}`,
    `- rows: ${count(rows)} (+ header), 10 columns`,
    `- file: ${csv.path.slice(ROOT.length)} , ${count(csv.bytes)} bytes (${fmt(mb, 1)} MB, ${fmt(csv.bytes / rows, 1)} bytes/row)`,
    `- runs: ${runCount} (median shown; each run uses a fresh schema; a CHECKPOINT precedes each timed load)`,
    '',
    '```',
    table.text,
    '```',
    '',
    `Targets ${table.allMet ? 'all met' : 'not all met'}. Times are wall-clock seconds of the whole process (psql or node),`,
    'connection and start-up included. The phase lines are atlas\'s own timings from import_history',
    '(parsing_time_seconds, duplicate_check_time_seconds, insert_time_seconds; "-" when not recorded);',
    '"rest" is the process time outside them. Peak RSS is /usr/bin/time\'s %M of the',
    'atlas process (MB = 1024 KiB). The --help overhead is median(`atlas --help`) - median(`node -e 0`)',
    `over ${HELP_SAMPLES} interleaved runs each.`,
    '',
    'The machine is noisy (shared, few cores, other work running): absolute seconds vary from run to run,',
    'so read the ratio atlas/psql and the medians, not single figures.',
    ...(notes.length > 0 ? ['', 'Notes:', '', ...notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
  writeFileSync(RESULTS_PATH, md);
  process.stdout.write(`\nwrote ${RESULTS_PATH}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

