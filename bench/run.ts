/**
 * atlas load benchmark. Each case runs `atlas import` (or `atlas undo`) against a `psql \copy` of
 * the same file into a pre-created table of atlas's final shape, measured in the same run:
 *
 *   1 csv        CSV, new table, row dedupe on                       atlas/psql <= 1.5 (issue 7, issue 3: CSV path)
 *   2 no-dedupe  the same file, new table, --no-dedupe               atlas/psql <= 1.3
 *   3 same-file  the same file again into table 1, --allow-same-file atlas/psql <= 1.5 (issue 7), <= 2.5 (issue 5)
 *   4 overlap    rows N/2+1..N/2+N (half already in table 1)         atlas/psql <= 2.5 (issue 5); duplicates_found = N/2
 *   5 undo       `atlas undo` of import 1, after 3 and 4             undo <= 1/3 of import 1 (issue 6)
 *   6 rss-10m    peak RSS of cases 1-4 and of a 10M-row CSV import  <= 200 MB (10M: full runs, or --rows-10m)
 *   7 xlsx json ndjson xml  N/5 XLSX, N JSON, N NDJSON, N/2 XML rows  rows/s >= 40k, 150k, 150k, 80k; RSS < 250 MB
 *   8 startup    `atlas --help` against `node -e 0`                  <= 150 ms
 *
 *   npm run bench                                   (N = 1,000,000 rows, 3 runs, every case: about 12 minutes)
 *   npm run bench -- --cases csv,dedupe,undo --runs 1
 *   npm run bench -- --cases csv --rows-10m         (--rows-10m adds the 10M case to a selection)
 *   npm run bench -- --quick                        (20,000 rows, 1 run: every case but the 10M one, as a smoke test)
 *
 * Database: ATLAS_BENCH_DATABASE_URL when set, else atlas's embedded server with its data under
 * bench/data/home (started if needed and left running; `ATLAS_HOME=bench/data/home atlas server stop`
 * stops it). Every run uses a fresh schema, dropped afterwards. A full default run writes
 * bench/RESULTS.md; any other run writes bench/data/last-results.md.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { timeHelp } from './atlas.ts';
import { CASES, Findings, GROUPS, inFreshSchema, NEEDS_CSV, prepareFiles, run10m, runOnce, T, type CaseName } from './cases.ts';
import { resolveDatabase, scalar } from './db.ts';
import { DATA_DIR, DEFAULT_ROWS, generateFile } from './generate.ts';
import { atlasVersion, cpuModel, distStamp, Figures, msFmt, nproc } from './report.ts';
import { count, exec, fail, fmt, loadAverage, log, median, ROOT, seconds } from './util.ts';

const RESULTS_PATH = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const PARTIAL_RESULTS_PATH = join(DATA_DIR, 'last-results.md');
const HELP_SAMPLES = 5;
const QUICK_ROWS = 20_000;

function parseCount(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < min) fail(`--${flag} must be an integer of ${min} or more, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * `--cases a,b,group`: the named cases and groups, plus what they depend on; without it every case,
 * the 10M one only when `with10m` (the caller's rule: a full-size, non-quick run).
 */
function selectCases(text: string | undefined, with10m: boolean): { cases: Set<CaseName>; added: string[] } {
  const cases = new Set<CaseName>();
  if (text === undefined) {
    for (const c of CASES) if (c !== 'rss-10m') cases.add(c);
  } else {
    for (const raw of text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')) {
      const group = GROUPS[raw];
      if (group !== undefined) group.forEach((c) => cases.add(c));
      else if ((CASES as readonly string[]).includes(raw)) cases.add(raw as CaseName);
      else fail(`--cases: unknown case ${JSON.stringify(raw)}; cases: ${CASES.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}`);
    }
    if (cases.size === 0) fail('--cases names no case');
  }
  if (with10m) cases.add('rss-10m');
  const added: string[] = [];
  if (!cases.has('csv') && NEEDS_CSV.some((c) => cases.has(c))) {
    cases.add('csv');
    added.push(`csv (its import is what ${NEEDS_CSV.filter((c) => cases.has(c)).join(', ')} build on)`);
  }
  return { cases, added };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rows: { type: 'string' }, runs: { type: 'string' }, cases: { type: 'string' }, quick: { type: 'boolean' }, 'rows-10m': { type: 'boolean' } },
  });
  const quick = values.quick === true;
  // Two rows at least: case 4 needs a file half of which overlaps the first.
  const rows = parseCount('rows', values.rows, quick ? QUICK_ROWS : DEFAULT_ROWS, 2);
  const runCount = parseCount('runs', values.runs, quick ? 1 : 3, 1);
  if (quick && values['rows-10m'] === true) fail('--quick is a smoke run: it does not take the 10M-row case');
  // The 10M case is part of the full default run (it fits in the time budget), and of any run that asks for it.
  const fullSize = !quick && values.rows === undefined && values.cases === undefined;
  const { cases, added } = selectCases(values.cases, values['rows-10m'] === true || fullSize);
  if (quick && cases.has('rss-10m')) fail('--quick is a smoke run: it does not take the 10M-row case');
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) fail('dist/cli.js is missing: run `npm run build` first (npm run bench does)');
  const psqlVersion = await exec('psql', ['--version']).catch(() => null);
  if (psqlVersion?.code !== 0) fail('psql is not on PATH; the reference load needs it');
  log(`cases: ${[...cases].join(', ')}${added.length > 0 ? ` (added: ${added.join('; ')})` : ''}; ${count(rows)} rows; ${runCount} run(s)\n`);

  const started = performance.now();
  const builtAt = distStamp();
  const versionAtStart = await atlasVersion();
  const files = await prepareFiles(rows, cases);
  const tiny = join(DATA_DIR, 'warmup.csv');
  if (!existsSync(tiny)) await generateFile(tiny, 'csv', 3);
  const db = await resolveDatabase();
  const serverVersion = await scalar<string>(db.url, 'select version()');
  log(`server: ${serverVersion}\n`);
  // The settings that shape load times, for the report (atlas's embedded server sets some, see SERVER_SETTINGS).
  const serverSettings = await scalar<string>(
    db.url,
    `select string_agg(name || '=' || current_setting(name), ', ' order by name) from pg_settings
      where name in ('wal_level', 'shared_buffers', 'wal_buffers', 'max_wal_size', 'work_mem', 'maintenance_work_mem', 'synchronous_commit', 'fsync')`,
  );
  log(`server settings: ${serverSettings}\n`);

  const fig = new Figures(runCount);
  const findings = new Findings();
  const { checks, notes } = findings;
  const perRunCases = [...cases].some((c) => c !== 'rss-10m' && c !== 'startup');
  const runLog: string[] = [];
  for (let run = 1; perRunCases && run <= runCount; run++) {
    const load = loadAverage();
    const runStart = performance.now();
    await inFreshSchema(db.url, `bench_${run}`, tiny, async (schema) => {
      log(`run ${run}/${runCount} (schema ${schema}, load average ${fmt(load, 2)}):\n`);
      await runOnce({ url: db.url, schema, run, rows, files, cases, fig, findings });
    });
    const mins = fmt(seconds(performance.now() - runStart) / 60, 1);
    runLog.push(`run ${run}: ${mins} min, 1-minute load average ${fmt(load, 2)} at its start and ${fmt(loadAverage(), 2)} at its end`);
    log(`  run ${run} took ${mins} min\n`);
  }
  if (files.csv10m !== null) await run10m(db.url, files.csv10m, tiny, fig, findings);

  let help: Awaited<ReturnType<typeof timeHelp>> | null = null;
  if (cases.has('startup')) {
    log('start-up: timing atlas --help against node -e 0 ...\n');
    help = await timeHelp(HELP_SAMPLES);
    fig.addSingle('8. start-up', 'atlas --help minus node -e 0 (ms)', help.overheadMs, msFmt, T.helpMs);
  }
  const totalMin = seconds(performance.now() - started) / 60;
  if (distStamp() !== builtAt) {
    notes.push(`dist/ was rebuilt during this run (newest file ${new Date(distStamp()).toISOString()}, was ${new Date(builtAt).toISOString()}): later figures may come from another build than earlier ones; run again`);
  }

  const table = fig.render();
  const verdicts = fig.verdicts();
  const missed = verdicts.filter((v) => !v.ok);
  const failedChecks = checks.filter((c) => !c.ok);
  const helpLine =
    help === null
      ? null
      : `--help: atlas --help median ${msFmt(median(help.helpMs))} ms [${help.helpMs.map(msFmt).join(', ')}], node -e 0 median ${msFmt(median(help.nodeMs))} ms [${help.nodeMs.map(msFmt).join(', ')}]`;
  const summary = `${verdicts.length - missed.length} of ${verdicts.length} targets met, ${checks.length - failedChecks.length} of ${checks.length} checks passed.`;
  const missedLines = missed.map((m) => `MISSED: ${m.section} / ${m.label.trim()}: ${m.shown}, target ${m.target.op} ${m.target.text ?? m.target.value}`);
  log(`\n${table}\n${helpLine !== null ? `\n${helpLine}\n` : ''}\n${summary}\n${missedLines.map((l) => `${l}\n`).join('')}`);
  for (const c of checks) log(`${c.ok ? 'check ok' : 'CHECK FAILED'}: ${c.text}\n`);
  for (const n of notes) log(`note: ${n}\n`);
  log(`total ${fmt(totalMin, 1)} min\n`);

  // Only the full default run replaces bench/RESULTS.md.
  const complete = fullSize && values.runs === undefined;
  const memGb = totalmem() / 1024 ** 3;
  const versionAtEnd = await atlasVersion();
  const md = [
    '# atlas benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts). Regenerate with `npm run bench`; see bench/README.md.',
    '',
    `- date: ${new Date().toISOString()}; the whole run took ${fmt(totalMin, 1)} min`,
    `- machine: ${await nproc()} CPUs (nproc), ${fmt(memGb, 1)} GiB memory, ${cpuModel()}`,
    `- atlas: ${versionAtEnd}${versionAtEnd !== versionAtStart ? ` (at the start of the run: ${versionAtStart})` : ''}`,
    `- Node: ${process.version}`,
    `- PostgreSQL server: ${serverVersion}`,
    `- database: ${db.label}`,
    `- server settings: ${serverSettings}`,
    `- reference client: ${psqlVersion.stdout.trim()}`,
    `- CSV: ${files.csv.slice(ROOT.length)}, ${count(rows)} rows (+ header), 10 columns, ${count(files.csvBytes)} bytes (${fmt(files.csvBytes / rows, 1)} bytes/row)`,
    `- cases: ${[...cases].join(', ')}`,
    `- runs: ${runCount}, each in a fresh schema; medians shown, with every run's figure beside them`,
    ...runLog.map((l) => `  - ${l}`),
    '',
    '```',
    table,
    ...(helpLine !== null ? ['', helpLine] : []),
    '```',
    '',
    summary,
    ...(missedLines.length > 0 ? ['', ...missedLines.map((l) => `- ${l}`)] : []),
    '',
    'Checks:',
    '',
    ...checks.map((c) => `- ${c.ok ? 'ok' : '**FAILED**'}: ${c.text}`),
    ...(notes.length > 0 ? ['', 'Notes:', '', ...notes.map((n) => `- ${n}`)] : []),
    '',
    'How to read it: times are wall-clock seconds of the whole process (psql or node), connection and',
    'start-up included. Each atlas step is compared with a `psql \\copy` of the same CSV, in the same run,',
    "into a pre-created reference table of atlas's final shape (identity primary key, foreign key,",
    "indexes on `_import_id` and `_row_hash`) holding the same rows atlas's table holds before that",
    "step. psql cannot compute atlas's row hash, so the reference fills `_row_hash` with random values:",
    'an index of NULLs would cost it almost nothing (measured once: about 3-4 s less per 1M rows, which',
    'would raise every ratio by roughly a third). The phase lines',
    "are atlas's own timings from import_history (parsing_time_seconds, duplicate_check_time_seconds,",
    'insert_time_seconds; "-" when not recorded); "rest" is the process time outside them. A CHECKPOINT',
    'precedes every timed step and an untimed VACUUM (ANALYZE) of the schema follows it. Peak RSS is',
    "/usr/bin/time's %M of the atlas process (MB = 1024 KiB). The start-up figure is",
    `median(\`atlas --help\`) - median(\`node -e 0\`) over ${HELP_SAMPLES} interleaved runs each.`,
    '',
    'The machine is shared and has few cores: absolute seconds vary from run to run (see the load',
    'averages above), so read the ratios and the medians, not single figures.',
    '',
  ].join('\n');
  const out = complete ? RESULTS_PATH : PARTIAL_RESULTS_PATH;
  writeFileSync(out, md);
  log(`\nwrote ${out.slice(ROOT.length)}${complete ? '' : ' (not a full default run, so bench/RESULTS.md is left as it is)'}\n`);
  if (failedChecks.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
