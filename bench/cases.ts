/**
 * The benchmark's cases, in the order they run and are reported (CASE_TABLE), which of them a
 * `--cases` selection takes, and how they run: every each-run case in one fresh schema per run
 * and server, once-per-server cases in a schema of their own, `once` cases once.
 */
import { randomBytes } from 'node:crypto';
import { timeHelp, warmUp } from './atlas.ts';
import { batchFiles, runBatchCase } from './batchCases.ts';
import type { BenchCase, CaseContext, DataFiles, FileSpec, Findings, RunState } from './context.ts';
import { T } from './context.ts';
import { csvFile, overlapFile, ROWS_10M, run10mCase, runCsvCase, runNoDedupeCase, runOverlapCase, runSameFileCase, runUndoCase } from './csvCases.ts';
import { dropSchema, withClient } from './db.ts';
import { FORMAT_CASES, formatFiles, runFormatCase } from './formatCases.ts';
import { runReplaceCase, runUpsertCase, runUpsertUndoCase, upsertFile } from './modeCases.ts';
import { runHandwrittenCase, runPgloaderCase } from './otherLoaders.ts';
import { type Figures, msFmt, type Target } from './report.ts';
import type { BenchServer } from './servers.ts';
import { fail, log, median, quoteIdent } from './util.ts';

const HELP_SAMPLES = 5;

/** Case 8: `atlas --help` against `node -e 0` (no database). */
async function runStartupCase(ctx: CaseContext): Promise<void> {
  log('start-up: timing atlas --help against node -e 0 ...\n');
  const help = await timeHelp(HELP_SAMPLES);
  const section = '8. start-up (no database)';
  ctx.fig.addSingle(null, section, 'atlas --help minus node -e 0 (ms)', help.overheadMs, msFmt, T.helpMs);
  ctx.fig.addSingle(null, section, `  atlas --help, median of ${HELP_SAMPLES} (ms)`, median(help.helpMs), msFmt);
  ctx.fig.addSingle(null, section, `  node -e 0, median of ${HELP_SAMPLES} (ms)`, median(help.nodeMs), msFmt);
}

/** Every case, in run and report order. Adding a case: a function (ctx) => Promise<void> and an entry here. */
export const CASE_TABLE: readonly BenchCase[] = [
  { name: 'csv', when: 'each-run', files: (n) => [csvFile(n)], run: runCsvCase },
  { name: 'no-dedupe', when: 'each-run', files: (n) => [csvFile(n)], run: runNoDedupeCase },
  { name: 'same-file', when: 'each-run', groups: ['dedupe'], needs: ['csv'], files: (n) => [csvFile(n)], run: runSameFileCase },
  { name: 'overlap', when: 'each-run', groups: ['dedupe'], needs: ['csv'], files: (n) => [csvFile(n), overlapFile(n)], run: runOverlapCase },
  { name: 'undo', when: 'each-run', needs: ['csv'], run: runUndoCase },
  ...FORMAT_CASES.map((format): BenchCase => ({ name: format, when: 'each-run', groups: ['formats'], files: (n) => formatFiles(format, n), run: (ctx) => runFormatCase(ctx, format) })),
  { name: 'handwritten', when: 'each-run', groups: ['others'], files: (n) => [csvFile(n)], run: runHandwrittenCase },
  { name: 'pgloader', when: 'each-run', groups: ['others'], files: (n) => [csvFile(n)], run: runPgloaderCase },
  { name: 'batch', when: 'each-run', needs: ['csv'], files: (n) => [csvFile(n), batchFiles(n)], run: runBatchCase },
  { name: 'upsert', when: 'each-run', groups: ['modes'], files: (n) => [csvFile(n), upsertFile(n)], run: runUpsertCase },
  { name: 'upsert-undo', when: 'each-run', groups: ['modes'], needs: ['upsert'], run: runUpsertUndoCase },
  { name: 'replace', when: 'each-run', groups: ['modes'], needs: ['upsert', 'upsert-undo'], files: (n) => [upsertFile(n)], run: runReplaceCase },
  { name: 'rss-10m', when: 'once-per-server', byDefault: 'full-size', files: () => [csvFile(ROWS_10M)], run: run10mCase },
  { name: 'startup', when: 'once', run: runStartupCase },
];

const CASE_NAMES = CASE_TABLE.map((c) => c.name);
const GROUP_NAMES = [...new Set(CASE_TABLE.flatMap((c) => c.groups ?? [])), 'all'];

/**
 * `--cases a,b,group`: the named cases and groups, plus what they need (`added` says which were
 * added, and why); without it every case, the full-size ones (10M) only when `fullSize`.
 */
export function selectCases(text: string | undefined, fullSize: boolean): { cases: BenchCase[]; added: string[] } {
  const chosen = new Set<string>();
  if (text === undefined) {
    for (const c of CASE_TABLE) if ((c.byDefault ?? 'always') === 'always' || fullSize) chosen.add(c.name);
  } else {
    for (const raw of text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')) {
      const members = CASE_TABLE.filter((c) => c.name === raw || raw === 'all' || (c.groups ?? []).includes(raw));
      if (members.length === 0) fail(`--cases: unknown case ${JSON.stringify(raw)}; cases: ${CASE_NAMES.join(', ')}; groups: ${GROUP_NAMES.join(', ')}`);
      // `all` keeps the full-size rule: the 10M case comes with full-size runs or --rows-10m.
      for (const c of members) if (raw !== 'all' || (c.byDefault ?? 'always') === 'always' || fullSize) chosen.add(c.name);
    }
    if (chosen.size === 0) fail('--cases names no case');
    if (fullSize) for (const c of CASE_TABLE) if (c.byDefault === 'full-size') chosen.add(c.name);
  }
  const added: string[] = [];
  for (const c of CASE_TABLE) {
    for (const need of chosen.has(c.name) ? (c.needs ?? []) : []) {
      if (chosen.has(need)) continue;
      chosen.add(need);
      added.push(`${need} (${c.name} builds on it)`);
    }
  }
  return { cases: CASE_TABLE.filter((c) => chosen.has(c.name)), added };
}

/** Every data file the cases read, for N rows. */
export const filesOf = (cases: readonly BenchCase[], rows: number): FileSpec[] => cases.flatMap((c) => c.files?.(rows) ?? []);

/**
 * Runs `fn` in a new schema (named `prefix_<random>`) where a tiny untimed import has created
 * atlas's tracking tables; the schema is dropped afterwards, whatever happens.
 */
async function inFreshSchema(url: string, prefix: string, tiny: string, fn: (schema: string) => Promise<void>): Promise<void> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  try {
    await withClient(url, (c) => c.query(`create schema ${quoteIdent(schema)}`));
    await warmUp(url, schema, tiny);
    await fn(schema);
  } finally {
    await dropSchema(url, schema);
  }
}

/** What every case of a bench run shares. */
export interface BenchRun {
  rows: number;
  files: DataFiles;
  fig: Figures;
  findings: Findings;
  /** The selected cases' names. */
  selected: ReadonlySet<string>;
  /** A 3-row CSV for the untimed import that creates atlas's tables in a fresh schema. */
  tiny: string;
}

function contextFor(bench: BenchRun, server: BenchServer, schema: string, run: number): CaseContext {
  const state: RunState = { import1: null, refB: false, laterDuplicates: 0, plainPsql: null, upsert: null };
  return {
    server,
    url: server.url,
    schema,
    run,
    rows: bench.rows,
    files: bench.files,
    selected: bench.selected,
    state,
    findings: bench.findings,
    fig: bench.fig,
    add: (section: string, label: string, value: number, show: (n: number) => string, target: Target | null = null) =>
      bench.fig.add(server.name, section, label, run, value, show, target),
  };
}

/**
 * Runs one case; a case that fails is recorded as a failed check and the rest go on. A case whose
 * `needs` did not complete in this run is not run (it would work on a table that is not there).
 */
async function attempt(c: BenchCase, ctx: CaseContext, done: Set<string>): Promise<void> {
  const where = `${ctx.server.name}${c.when === 'each-run' ? ` run ${ctx.run}` : ''}`;
  const missing = (c.needs ?? []).filter((n) => !done.has(n));
  if (missing.length > 0) {
    ctx.findings.check(false, `${where} ${c.name}: not run, ${missing.join(', ')} (which it builds on) failed`);
    return;
  }
  try {
    await c.run(ctx);
    done.add(c.name);
  } catch (err) {
    ctx.findings.check(false, `${where} ${c.name}: failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One run of the each-run cases on one server, in a fresh schema. */
export async function runEachRunCases(bench: BenchRun, cases: readonly BenchCase[], server: BenchServer, run: number, heading: string): Promise<void> {
  const selected = cases.filter((c) => c.when === 'each-run');
  if (selected.length === 0) return;
  await inFreshSchema(server.url, `bench_${run}`, bench.tiny, async (schema) => {
    log(`${heading} (schema ${schema}):\n`);
    const ctx = contextFor(bench, server, schema, run);
    const done = new Set<string>();
    for (const c of selected) await attempt(c, ctx, done);
  });
}

/** The once-per-server cases on one server, each in a schema of its own. */
export async function runOncePerServerCases(bench: BenchRun, cases: readonly BenchCase[], server: BenchServer): Promise<void> {
  for (const c of cases.filter((k) => k.when === 'once-per-server')) {
    await inFreshSchema(server.url, `bench_${c.name.replace(/\W/g, '_')}`, bench.tiny, async (schema) => {
      log(`${server.name}, ${c.name} (schema ${schema}):\n`);
      await attempt(c, contextFor(bench, server, schema, 1), new Set());
    });
  }
}

/** The cases that need no database, once. */
export async function runOnceCases(bench: BenchRun, cases: readonly BenchCase[], anyServer: BenchServer): Promise<void> {
  for (const c of cases.filter((k) => k.when === 'once')) await attempt(c, contextFor(bench, anyServer, '', 1), new Set());
}
