/**
 * atlas load benchmark. Each case runs `atlas import` (or `atlas undo`) against a `psql \copy` of
 * the same rows as CSV into a pre-created table of atlas's final shape, measured in the same run,
 * on two servers: `pg15`, production-shaped (Debian's PostgreSQL 15 with initdb's defaults, in
 * bench/data/pg15, or ATLAS_BENCH_DATABASE_URL), which the targets judge, and atlas's `embedded`
 * server, shown beside it. bench/README.md lists the cases and their targets (cases.ts holds them).
 *
 *   npm run bench                                   (N = 1,000,000 rows, 3 runs, every case, both servers)
 *   npm run bench -- --cases csv,dedupe,undo --runs 1 --servers pg15
 *   npm run bench -- --cases csv --rows-10m         (--rows-10m adds the 10M case to a selection)
 *   npm run bench -- --quick                        (20,000 rows, 1 run: every case but the 10M one, as a smoke test)
 *   node --import tsx bench/run.ts --stop           (stops the bench's two servers)
 *
 * Every run uses a fresh schema per server, dropped afterwards. A full run (every case, default size
 * and runs) that measured pg15 writes bench/RESULTS.md; any other run writes bench/data/last-results.md.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { filesOf, runEachRunCases, runOnceCases, runOncePerServerCases, selectCases, type BenchRun } from './cases.ts';
import { DataFiles, Findings } from './context.ts';
import { csvFile } from './csvCases.ts';
import { DATA_DIR, DEFAULT_ROWS, generateFile } from './generate.ts';
import { atlasVersion, cpuModel, distStamp, Figures, JUDGED_SERVER, nproc, type Verdict } from './report.ts';
import { type BenchServer, PG15_INSTALL_HINT, pg15Installed, SERVER_NAMES, type ServerName, startServers, stopServers } from './servers.ts';
import { count, exec, fail, fmt, loadAverage, log, ROOT, seconds } from './util.ts';

const RESULTS_PATH = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const PARTIAL_RESULTS_PATH = join(DATA_DIR, 'last-results.md');
const QUICK_ROWS = 20_000;

function parseCount(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < min) fail(`--${flag} must be an integer of ${min} or more, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * `--servers a,b`, else both. Without --servers, a missing PostgreSQL 15 (and no
 * ATLAS_BENCH_DATABASE_URL) leaves pg15 out with one line saying how to install it.
 */
function selectServers(text: string | undefined): Set<ServerName> {
  const names = new Set<ServerName>();
  for (const raw of (text ?? SERVER_NAMES.join(',')).split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')) {
    if (!(SERVER_NAMES as readonly string[]).includes(raw)) fail(`--servers: unknown server ${JSON.stringify(raw)}; servers: ${SERVER_NAMES.join(', ')}`);
    names.add(raw as ServerName);
  }
  if (names.size === 0) fail('--servers names no server');
  const viaUrl = (process.env.ATLAS_BENCH_DATABASE_URL ?? '') !== '';
  if (names.has('pg15') && !viaUrl && !pg15Installed()) {
    if (text !== undefined || names.size === 1) fail(`PostgreSQL 15 is not installed: ${PG15_INSTALL_HINT} (or set ATLAS_BENCH_DATABASE_URL)`);
    log(`PostgreSQL 15 is not installed (${PG15_INSTALL_HINT}): measuring the embedded server only, without the production-shaped reference\n`);
    names.delete('pg15');
  }
  return names;
}

async function firstLine(cmd: string, args: readonly string[]): Promise<string | null> {
  const res = await exec(cmd, args).catch(() => null);
  return res?.code === 0 ? (res.stdout.split('\n')[0] ?? '').trim() : null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      runs: { type: 'string' },
      cases: { type: 'string' },
      servers: { type: 'string' },
      quick: { type: 'boolean' },
      'rows-10m': { type: 'boolean' },
      stop: { type: 'boolean' },
    },
  });
  if (values.stop === true) return stopServers();
  const quick = values.quick === true;
  // Two rows at least: case 4 needs a file half of which overlaps the first.
  const rows = parseCount('rows', values.rows, quick ? QUICK_ROWS : DEFAULT_ROWS, 2);
  const runCount = parseCount('runs', values.runs, quick ? 1 : 3, 1);
  if (quick && values['rows-10m'] === true) fail('--quick is a smoke run: it does not take the 10M-row case');
  // The 10M case is part of the full default run, and of any run that asks for it.
  const fullSize = !quick && values.rows === undefined && values.cases === undefined;
  const { cases, added } = selectCases(values.cases, values['rows-10m'] === true || fullSize);
  if (quick && cases.some((c) => c.byDefault === 'full-size')) fail('--quick is a smoke run: it does not take the 10M-row case');
  const serverNames = selectServers(values.servers);
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) fail('dist/cli.js is missing: run `npm run build` first (npm run bench does)');
  const psqlVersion = await firstLine('psql', ['--version']);
  if (psqlVersion === null) fail('psql is not on PATH; the reference load needs it');
  const pgloaderVersion = cases.some((c) => c.name === 'pgloader') ? await firstLine('pgloader', ['--version']) : null;
  const caseList = cases.map((c) => c.name).join(', ');
  log(`cases: ${caseList}${added.length > 0 ? ` (added: ${added.join('; ')})` : ''}; ${count(rows)} rows; ${runCount} run(s); servers: ${[...serverNames].join(', ')}\n`);

  const started = performance.now();
  const builtAt = distStamp();
  const versionAtStart = await atlasVersion();
  const files = new DataFiles();
  await files.prepare(filesOf(cases, rows));
  const tiny = join(DATA_DIR, 'warmup.csv');
  if (!existsSync(tiny)) await generateFile(tiny, 'csv', 3);
  const servers = await startServers(serverNames);

  const fig = new Figures(runCount, servers.map((s) => s.name));
  const findings = new Findings();
  const bench: BenchRun = { rows, files, fig, findings, selected: new Set(cases.map((c) => c.name)), tiny };
  const runLog: string[] = [];
  // Servers alternate within each run, so that a busier spell of the shared machine falls on both.
  for (let run = 1; cases.some((c) => c.when === 'each-run') && run <= runCount; run++) {
    const load = loadAverage();
    const runStart = performance.now();
    for (const server of servers) await runEachRunCases(bench, cases, server, run, `run ${run}/${runCount} on ${server.name} (load average ${fmt(loadAverage(), 2)})`);
    const mins = fmt(seconds(performance.now() - runStart) / 60, 1);
    runLog.push(`run ${run}: ${mins} min, 1-minute load average ${fmt(load, 2)} at its start and ${fmt(loadAverage(), 2)} at its end`);
    log(`  run ${run} took ${mins} min\n`);
  }
  for (const server of servers) await runOncePerServerCases(bench, cases, server);
  await runOnceCases(bench, cases, servers[0]!);
  const totalMin = seconds(performance.now() - started) / 60;
  if (distStamp() !== builtAt) {
    findings.notes.push(`dist/ was rebuilt during this run (newest file ${new Date(distStamp()).toISOString()}, was ${new Date(builtAt).toISOString()}): later figures may come from another build than earlier ones; run again`);
  }

  const verdicts = fig.verdicts();
  const failedChecks = findings.checks.filter((c) => !c.ok);
  const summary = summaryLine(verdicts, findings, servers);
  log(`\n${fig.renderSummary()}\n\n${summary}\n${missedLines(verdicts).map((l) => `${l}\n`).join('')}`);
  for (const c of findings.checks) log(`${c.ok ? 'check ok' : 'CHECK FAILED'}: ${c.text}\n`);
  for (const n of findings.notes) log(`note: ${n}\n`);
  log(`total ${fmt(totalMin, 1)} min\n`);

  // Only a full run (every case, default size and runs) on the judged server replaces bench/RESULTS.md; a server left out is named there.
  const complete = fullSize && values.runs === undefined && servers.some((s) => s.name === JUDGED_SERVER);
  const versionAtEnd = await atlasVersion();
  const md = resultsMarkdown({
    totalMin,
    atlas: `${versionAtEnd}${versionAtEnd !== versionAtStart ? ` (at the start of the run: ${versionAtStart})` : ''}`,
    clients: [psqlVersion, ...(pgloaderVersion !== null ? [pgloaderVersion] : [])],
    servers,
    csv: files.find(csvFile(rows)),
    rows,
    caseList,
    runCount,
    runLog,
    fig,
    summary,
    verdicts,
    findings,
    machine: `${await nproc()} CPUs (nproc), ${fmt(totalmem() / 1024 ** 3, 1)} GiB memory, ${cpuModel()}`,
  });
  const out = complete ? RESULTS_PATH : PARTIAL_RESULTS_PATH;
  writeFileSync(out, md);
  log(`\nwrote ${out.slice(ROOT.length)}${complete ? '' : ' (not a full default run, so bench/RESULTS.md is left as it is)'}\n`);
  if (failedChecks.length > 0) process.exitCode = 1;
}

function summaryLine(verdicts: readonly Verdict[], findings: Findings, servers: readonly BenchServer[]): string {
  const met = verdicts.filter((v) => v.ok).length;
  const failed = findings.checks.filter((c) => !c.ok).length;
  const judged = servers.some((s) => s.name === JUDGED_SERVER) ? '' : ` (the targets are judged on ${JUDGED_SERVER}, which this run did not measure)`;
  return `${met} of ${verdicts.length} targets met${judged}, ${findings.checks.length - failed} of ${findings.checks.length} checks passed.`;
}

const missedLines = (verdicts: readonly Verdict[]): string[] =>
  verdicts.filter((v) => !v.ok).map((m) => `MISSED: ${m.section} / ${m.label.trim()}: ${m.shown}, target ${m.target.op} ${m.target.text ?? m.target.value}`);

interface ResultsInput {
  totalMin: number;
  atlas: string;
  clients: string[];
  servers: readonly BenchServer[];
  /** The N-row CSV, when a case read it. */
  csv: { path: string; bytes: number } | undefined;
  rows: number;
  caseList: string;
  runCount: number;
  runLog: string[];
  fig: Figures;
  summary: string;
  verdicts: readonly Verdict[];
  findings: Findings;
  machine: string;
}

function resultsMarkdown(r: ResultsInput): string {
  const role = (s: BenchServer): string =>
    s.name === JUDGED_SERVER ? 'production-shaped, the first column: the targets judge it' : 'the second column, beside it for comparison: not judged';
  const missed = missedLines(r.verdicts);
  return [
    '# atlas benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts). Regenerate with `npm run bench`; see bench/README.md.',
    '',
    `- date: ${new Date().toISOString()}; the whole run took ${fmt(r.totalMin, 1)} min`,
    `- machine: ${r.machine}`,
    `- atlas: ${r.atlas}`,
    `- Node: ${process.version}; ${r.clients.join('; ')}`,
    ...(r.csv === undefined ? [] : [`- CSV: ${r.csv.path.slice(ROOT.length)}, ${count(r.rows)} rows (+ header), 10 columns, ${count(r.csv.bytes)} bytes (${fmt(r.csv.bytes / r.rows, 1)} bytes/row)`]),
    `- cases: ${r.caseList}`,
    `- runs: ${r.runCount}, each in a fresh schema on each server (the servers take turns within a run); medians shown`,
    ...r.runLog.map((l) => `  - ${l}`),
    '',
    'Servers:',
    '',
    ...r.servers.flatMap((s) => [`- **${s.name}** (${role(s)}): ${s.label}`, `  - ${s.version}`, `  - settings: ${s.settings}`]),
    ...SERVER_NAMES.filter((name) => !r.servers.some((s) => s.name === name)).map((name) => `- **${name}**: not measured in this run (\`--servers\`); its column is absent`),
    '',
    '```',
    r.fig.renderSummary(),
    '```',
    '',
    r.summary,
    ...(missed.length > 0 ? ['', ...missed.map((l) => `- ${l}`)] : []),
    ...(r.runCount > 1 ? r.servers.flatMap((s) => ['', `Every run's figures on ${s.name}:`, '', '```', r.fig.renderRuns(s.name), '```']) : []),
    '',
    'Checks:',
    '',
    ...r.findings.checks.map((c) => `- ${c.ok ? 'ok' : '**FAILED**'}: ${c.text}`),
    ...(r.findings.notes.length > 0 ? ['', 'Notes:', '', ...r.findings.notes.map((n) => `- ${n}`)] : []),
    '',
    'How to read it: times are wall-clock seconds of the whole process (psql, node or pgloader),',
    'connection and start-up included. Each atlas step is compared with a `psql \\copy` of the same rows',
    "as CSV, in the same run on the same server, into a pre-created reference table of atlas's final",
    "shape (identity primary key, foreign key, indexes on `_import_id` and `_row_hash`) holding the same",
    "rows atlas's table holds before that step; `_row_hash` gets random values (psql cannot compute",
    "atlas's hash, and an index of NULLs would cost it almost nothing). Section 9 loads the CSV into a",
    'plain typed table (no key, index or tracking) with psql, a hand-written Node loader and pgloader.',
    "The phase lines are atlas's own timings from import_history; \"rest\" is the process time outside",
    'them. A CHECKPOINT precedes every timed step and an untimed VACUUM (ANALYZE) of the schema follows',
    "it. Peak RSS is /usr/bin/time's %M of the process (MB = 1024 KiB). The machine is shared and has",
    'few cores: read the ratios and the medians, not single figures.',
    '',
  ].join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
