/**
 * Case 9: what users would otherwise pick to load the N-row CSV, each into a plain typed table
 * (the file's ten columns, no key, no index, no tracking), against `psql \copy` into such a table
 * in the same run, without targets: a hand-written Node loader (bench/handwritten.ts:
 * csv-parse + pg-copy-streams) and pgloader (Debian package `pgloader`, skipped with a note when
 * not installed). atlas's case 1 is shown beside them, so the report says what its guarantees
 * cost and what they save.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseContext } from './context.ts';
import { csvFile } from './csvCases.ts';
import { createPlainTable, differingRows, FILE_COLUMNS, rowCount, settle, timePsqlCopy } from './db.ts';
import { DATA_DIR } from './generate.ts';
import { mbFmt, ratioFmt, secondsFmt } from './report.ts';
import { count, type Exec, exec, execMeasured, fail, fmt, log, redact, ROOT, seconds } from './util.ts';

const PGLOADER_INSTALL_HINT = 'apt-get install pgloader';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const section = (rows: number): string => `9. other ways to load the CSV (${count(rows)} rows), into a plain typed table, no tracking; no targets`;

/** `psql \copy` into plain_psql, once per run and server: the figure the other loaders are compared with. */
async function plainPsqlSeconds(ctx: CaseContext): Promise<number> {
  if (ctx.state.plainPsql !== null) return ctx.state.plainPsql;
  const { url, schema, rows } = ctx;
  await createPlainTable(url, schema, 'plain_psql');
  const psql = await timePsqlCopy(url, schema, 'plain_psql', ctx.files.path(csvFile(rows)), rows, FILE_COLUMNS);
  log(`  9 psql \\copy into a plain table ${fmt(psql, 2)} s\n`);
  await settle(url, schema);
  ctx.state.plainPsql = psql;
  ctx.add(section(rows), 'psql \\copy into a plain typed table (s)', psql, secondsFmt);
  const import1 = ctx.state.import1;
  if (import1 !== null) {
    ctx.add(section(rows), 'atlas import, case 1: new table, dedupe, tracking (s)', import1.seconds, secondsFmt);
    ctx.add(section(rows), '  ratio atlas case 1 / this psql', import1.seconds / psql, ratioFmt);
  }
  return psql;
}

/** Records a loader's figures, checks its row count and (run 1) that it loaded the values psql did. */
async function recordLoader(ctx: CaseContext, name: string, table: string, res: { ms: number; peakRssMb: number }): Promise<void> {
  const { url, schema, rows } = ctx;
  const psql = await plainPsqlSeconds(ctx);
  const took = seconds(res.ms);
  log(`  9 ${name}: ${fmt(took, 2)} s (${fmt(took / psql, 2)}x psql), ${fmt(res.peakRssMb, 0)} MB\n`);
  ctx.add(section(rows), `${name} (s)`, took, secondsFmt);
  ctx.add(section(rows), `  ratio ${name} / psql`, took / psql, ratioFmt);
  ctx.add(section(rows), `  ${name} peak RSS (MB)`, res.peakRssMb, mbFmt);
  const n = await rowCount(url, schema, table);
  ctx.findings.check(n === rows, `${ctx.server.name} run ${ctx.run} ${name}: table holds ${n} rows (expected ${rows})`);
  if (ctx.run === 1 && n === rows) {
    const differing = await differingRows(url, schema, 'plain_psql', table, FILE_COLUMNS);
    ctx.findings.check(differing === 0, `${ctx.server.name} run 1 ${name}: ${differing === 0 ? "holds exactly psql's values" : `${count(differing)} row(s) differ from psql's`} (all ten columns compared row by row)`);
  }
  await settle(url, schema);
}

function failed(name: string, res: Exec, url: string): never {
  fail(redact(`${name} failed (exit ${res.code}): ${(res.stderr.trim() || res.stdout.trim()).split('\n').slice(-5).join('\n')}`, url));
}

let handwrittenJs: string | null = null;

/**
 * bench/handwritten.ts as plain JavaScript (TypeScript's transpileModule), made once per bench
 * run: through tsx, tsx's start-up (0.5-1 s on our machine) would be charged to the loader.
 */
async function handwrittenScript(): Promise<string> {
  if (handwrittenJs !== null) return handwrittenJs;
  const { default: ts } = await import('typescript');
  const source = readFileSync(join(ROOT, 'bench', 'handwritten.ts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  handwrittenJs = join(DATA_DIR, 'handwritten.mjs');
  writeFileSync(handwrittenJs, js);
  return handwrittenJs;
}

/** The hand-written loader, run as its own Node process. */
export async function runHandwrittenCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  await plainPsqlSeconds(ctx);
  await createPlainTable(url, schema, 'plain_handwritten');
  const args = [await handwrittenScript(), schema, 'plain_handwritten', ctx.files.path(csvFile(rows)), FILE_COLUMNS.map(([n]) => n).join(',')];
  const res = await execMeasured(process.execPath, args, { ...process.env, DATABASE_URL: url });
  if (res.code !== 0) failed('hand-written loader', res, url);
  await recordLoader(ctx, 'hand-written Node loader', 'plain_handwritten', res);
}

/** The pgloader binary, or null (with a note saying how to install it) when it is not on PATH. */
async function findPgloader(ctx: CaseContext): Promise<string | null> {
  const res = await exec('pgloader', ['--version']).catch(() => null);
  if (res?.code === 0) return 'pgloader';
  ctx.findings.noteOnce(`pgloader is not installed, so its row is left out (${PGLOADER_INSTALL_HINT})`);
  return null;
}

/** A name pgloader's command language takes as it is, unquoted (the bench's own schema and table names). */
const plainName = (name: string): string => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : fail(`pgloader: the bench does not quote ${JSON.stringify(name)} for pgloader`));

/**
 * pgloader's command file: the CSV as COPY reads it (header skipped, `"` quoting), into the plain
 * table over loopback TCP. The password goes in PGPASSWORD, not in the file.
 */
function pgloaderCommand(file: string, target: URL, schema: string, table: string): string {
  if (/['\n]/.test(file)) fail(`pgloader: the bench does not quote the path ${JSON.stringify(file)}`);
  const db = `postgresql://${plainName(decodeURIComponent(target.username))}@${target.hostname}:${target.port || '5432'}${target.pathname}?sslmode=disable`;
  return [
    'LOAD CSV',
    `  FROM '${file}' (${FILE_COLUMNS.map(([n]) => n).join(', ')})`,
    `  INTO ${db}`,
    `  TARGET TABLE ${plainName(schema)}.${plainName(table)}`,
    "  WITH skip header = 1, fields optionally enclosed by '\"', fields escaped by double-quote, fields terminated by ','",
    "  SET datestyle to 'ISO, MDY';",
    '',
  ].join('\n');
}

export async function runPgloaderCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const pgloader = await findPgloader(ctx);
  if (pgloader === null) return;
  const target = new URL(url);
  if (!LOOPBACK_HOSTS.has(target.hostname)) {
    ctx.findings.noteOnce(`${ctx.server.name}: pgloader is only pointed at a loopback server, and this one is on ${target.hostname}: its row is left out`);
    return;
  }
  await plainPsqlSeconds(ctx);
  await createPlainTable(url, schema, 'plain_pgloader');
  // Its command file, logs and reject files stay in a directory of the bench's own, removed afterwards.
  const dir = join(DATA_DIR, `pgloader-${process.pid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    const command = join(dir, 'load.pgloader');
    writeFileSync(command, pgloaderCommand(ctx.files.path(csvFile(rows)), target, schema, 'plain_pgloader'), { mode: 0o600 });
    const env = { ...process.env, PGPASSWORD: decodeURIComponent(target.password) };
    const res = await execMeasured(pgloader, ['--root-dir', dir, '--logfile', join(dir, 'pgloader.log'), command], env);
    if (res.code !== 0) failed('pgloader', res, url);
    await recordLoader(ctx, 'pgloader', 'plain_pgloader', res);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
