/**
 * The benchmark's cases: the data files they need, one run of the per-run cases (1 to 5 and 7) in
 * a fresh schema, and the 10M-row case. Every figure goes into a Figures table, every correctness
 * check into Findings; see run.ts for what each case compares and its target.
 */
import { randomBytes } from 'node:crypto';
import { timeAtlasImport, timeAtlasUndo, warmUp, type AtlasImport } from './atlas.ts';
import { createReferenceTable, differingRows, dropSchema, qualified, rowCount, scalar, settle, tableShape, timePsqlCopy, timePsqlCopyIntoNewTable, withClient } from './db.ts';
import { ensureBenchFile, type BenchFormat } from './generate.ts';
import { Figures, mbFmt, rateFmt, ratioFmt, secondsFmt, type Target } from './report.ts';
import { count, fmt, log, quoteIdent, ROOT, seconds } from './util.ts';

export const ROWS_10M = 10_000_000;

export const CASES = ['csv', 'no-dedupe', 'same-file', 'overlap', 'undo', 'rss-10m', 'xlsx', 'json', 'ndjson', 'xml', 'startup'] as const;
export type CaseName = (typeof CASES)[number];
export const FORMAT_CASES = ['xlsx', 'json', 'ndjson', 'xml'] as const;
export const GROUPS: Record<string, readonly CaseName[]> = {
  dedupe: ['same-file', 'overlap'],
  formats: FORMAT_CASES,
  all: CASES,
};
/** Cases that load into, or undo, case 1's table: case 1 runs with them. */
export const NEEDS_CSV: readonly CaseName[] = ['same-file', 'overlap', 'undo'];

/** Targets (issue numbers as the issues give them). */
export const T = {
  csvRatio: { op: '<=', value: 1.5 },
  noDedupeRatio: { op: '<=', value: 1.3 },
  dupRatioIssue7: { op: '<=', value: 1.5 },
  dupRatioIssue5: { op: '<=', value: 2.5 },
  undoShare: { op: '<=', value: 1 / 3, text: '1/3 = 0.33' },
  rssMb: { op: '<=', value: 200 },
  formatRssMb: { op: '<', value: 250 },
  helpMs: { op: '<=', value: 150 },
} satisfies Record<string, Target>;

/** The format cases: rows as a share of N, and the rows/s target. */
const FORMAT_SPECS: Record<(typeof FORMAT_CASES)[number], { label: string; rows: (n: number) => number; rate: number }> = {
  xlsx: { label: 'XLSX', rows: (n) => Math.max(1, Math.round(n / 5)), rate: 40_000 },
  json: { label: 'JSON array', rows: (n) => n, rate: 150_000 },
  ndjson: { label: 'NDJSON', rows: (n) => n, rate: 150_000 },
  xml: { label: 'XML', rows: (n) => Math.max(1, Math.round(n / 2)), rate: 80_000 },
};

export interface Files {
  csv: string;
  csvBytes: number;
  overlap: string;
  overlapFirst: number;
  formats: Map<BenchFormat, { path: string; rows: number }>;
  csv10m: string | null;
}

/** Makes (or reuses) every data file the selected cases need, saying which were generated. */
export async function prepareFiles(rows: number, cases: Set<CaseName>): Promise<Files> {
  const ensure = async (format: BenchFormat, n: number, first = 1): Promise<{ path: string; bytes: number }> => {
    const started = performance.now();
    const f = await ensureBenchFile(format, n, first);
    const how = f.reused ? 'reused' : `generated in ${fmt(seconds(performance.now() - started), 1)} s`;
    log(`data: ${f.path.slice(ROOT.length)} (${count(n)} rows, ${fmt(f.bytes / 1024 / 1024, 1)} MB, ${how})\n`);
    return f;
  };
  const csv = await ensure('csv', rows);
  // Rows N/2+1 .. N/2+N of the same sequence: the first half equals the last half of the CSV above.
  const overlapFirst = Math.floor(rows / 2) + 1;
  const overlap = cases.has('overlap') ? (await ensure('csv', rows, overlapFirst)).path : '';
  const formats = new Map<BenchFormat, { path: string; rows: number }>();
  for (const name of FORMAT_CASES) {
    if (!cases.has(name)) continue;
    const n = FORMAT_SPECS[name].rows(rows);
    formats.set(name, { path: (await ensure(name, n)).path, rows: n });
  }
  const csv10m = cases.has('rss-10m') ? (await ensure('csv', ROWS_10M)).path : null;
  return { csv: csv.path, csvBytes: csv.bytes, overlap, overlapFirst, formats, csv10m };
}

/** The psql time, atlas's time with its phases, and atlas's rate, of one case. */
function recordImport(fig: Figures, section: string, run: number, rows: number, psqlSeconds: number, atlas: AtlasImport): void {
  const p = atlas.phases;
  fig.add(section, 'psql \\copy (s)', run, psqlSeconds, secondsFmt);
  fig.add(section, 'atlas import (s)', run, atlas.seconds, secondsFmt);
  fig.add(section, '  phase: staging (s)', run, p.staging ?? Number.NaN, secondsFmt);
  fig.add(section, '  phase: duplicate check (s)', run, p.duplicates ?? Number.NaN, secondsFmt);
  fig.add(section, '  phase: insert (s)', run, p.insert ?? Number.NaN, secondsFmt);
  fig.add(section, '  rest: start-up, types, commit (s)', run, atlas.seconds - (p.staging ?? 0) - (p.duplicates ?? 0) - (p.insert ?? 0), secondsFmt);
  fig.add(section, 'atlas rows/s (file rows)', run, rows / atlas.seconds, rateFmt);
}

/** What the cases found besides figures: correctness checks (a failed one fails the bench) and notes. */
export class Findings {
  readonly checks: Array<{ ok: boolean; text: string }> = [];
  readonly notes: string[] = [];

  check(ok: boolean, text: string): void {
    this.checks.push({ ok, text });
    if (!ok) log(`\n  CHECK FAILED: ${text}\n`);
  }
}

export interface RunContext {
  url: string;
  schema: string;
  run: number;
  rows: number;
  files: Files;
  cases: Set<CaseName>;
  fig: Figures;
  findings: Findings;
}

/** What one run's cases hand on to the next ones. */
interface RunState {
  /** Case 1's import into bench_t, which cases 3, 4 and 5 build on. */
  import1: AtlasImport | null;
  /** ref_b holds the CSV (case 2 ran). */
  refB: boolean;
  /** Records of later imports skipped as duplicates of import 1's rows (what undo reports). */
  laterDuplicates: number;
}

const sectionTitles = (rows: number, files: Files, cases: Set<CaseName>) => {
  const overlapRows = rows - files.overlapFirst + 1;
  const before = [cases.has('same-file') ? '3' : null, cases.has('overlap') ? '4' : null].filter((c) => c !== null);
  return {
    s1: `1. CSV ${count(rows)} rows, new table, row dedupe on`,
    s2: `2. CSV ${count(rows)} rows, new table, --no-dedupe`,
    s3: '3. the same CSV again into table 1, --allow-same-file (all rows duplicates)',
    s4: `4. CSV rows ${count(files.overlapFirst)}..${count(files.overlapFirst + rows - 1)} into table 1 (${count(overlapRows)} already there)`,
    s5: `5. atlas undo of import 1 (${count(rows)} rows)${before.length > 0 ? `, after case${before.length > 1 ? 's' : ''} ${before.join(' and ')}` : ''}`,
    s6: '6. peak RSS of atlas import',
    overlapRows,
  };
};

/** One run: every selected per-run case, in a fresh schema. A case that fails is recorded and the run goes on. */
export async function runOnce(ctx: RunContext): Promise<void> {
  const { url, schema, run, rows, files, cases, fig, findings } = ctx;
  const check = (ok: boolean, text: string): void => findings.check(ok, text);
  const step = (text: string): void => log(`  ${text}`);
  const loaded = async (table: string): Promise<number> => rowCount(url, schema, table);
  const { s1, s2, s3, s4, s5, s6, overlapRows } = sectionTitles(rows, files, cases);
  // Reference tables: ref_a follows table 1 (case 1, then the same file again); ref_b holds the
  // CSV from case 2 and then takes the overlapping file (the state table 1 is in before case 4).
  const state: RunState = { import1: null, refB: false, laterDuplicates: 0 };

  const attempt = async (name: CaseName, needsImport1: boolean, body: () => Promise<void>): Promise<void> => {
    if (!cases.has(name)) return;
    if (needsImport1 && state.import1 === null) {
      check(false, `run ${run} ${name}: not run, case 1 (whose table it works on) failed`);
      return;
    }
    try {
      await body();
    } catch (err) {
      check(false, `run ${run} ${name}: failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  await attempt('csv', false, async () => {
    await createReferenceTable(url, schema, 'ref_a');
    const psql = await timePsqlCopy(url, schema, 'ref_a', files.csv, rows);
    step(`1 csv: psql ${fmt(psql, 2)} s, `);
    await settle(url, schema);
    // The same load with the table created in psql's transaction, as atlas creates its own (no WAL
    // for it under wal_level=minimal): shown beside the issue's reference, without a target.
    const psqlNew = await timePsqlCopyIntoNewTable(url, schema, 'ref_c', files.csv, rows);
    step(`psql into a table made in its transaction ${fmt(psqlNew, 2)} s, `);
    await withClient(url, (c) => c.query(`drop table ${qualified(schema, 'ref_c')}`));
    await settle(url, schema);
    const atlas = await timeAtlasImport(url, schema, 'bench_t', files.csv);
    log(`atlas ${fmt(atlas.seconds, 2)} s (${fmt(atlas.seconds / psql, 2)}x, ${fmt(atlas.peakRssMb, 0)} MB)\n`);
    state.import1 = atlas;
    recordImport(fig, s1, run, rows, psql, atlas);
    fig.add(s1, 'ratio atlas / psql [issue 7]', run, atlas.seconds / psql, ratioFmt, T.csvRatio);
    fig.add(s1, 'ratio atlas / psql [issue 3: CSV path]', run, atlas.seconds / psql, ratioFmt, T.csvRatio);
    fig.add(s1, 'psql \\copy, table made in its transaction (s)', run, psqlNew, secondsFmt);
    fig.add(s1, 'ratio atlas / that psql (no target)', run, atlas.seconds / psqlNew, ratioFmt);
    fig.add(s6, `CSV ${count(rows)} rows, case 1 (MB)`, run, atlas.peakRssMb, mbFmt, T.rssMb);
    const n = await loaded('bench_t');
    check(
      atlas.json.rows_inserted === rows && n === rows && atlas.json.duplicates_found === 0,
      `run ${run} case 1: rows_inserted ${atlas.json.rows_inserted}, table holds ${n}, duplicates_found ${atlas.json.duplicates_found} (expected ${rows}, ${rows}, 0)`,
    );
    if (run === 1) {
      const [ref, got] = await Promise.all([tableShape(url, schema, 'ref_a'), tableShape(url, schema, 'bench_t')]);
      for (const part of ['columns', 'indexes', 'constraints'] as const) {
        const same = ref[part].join(', ') === got[part].join(', ');
        check(
          same,
          same
            ? `atlas's table has the reference's ${part}: ${got[part].join(', ')}`
            : `atlas's table differs from the reference in its ${part}:\n    atlas:     ${got[part].join(', ')}\n    reference: ${ref[part].join(', ')}`,
        );
      }
      const differing = await differingRows(url, schema, 'ref_a', 'bench_t');
      check(
        differing === 0,
        differing === 0
          ? "run 1: atlas's table holds exactly the reference's values (all ten columns compared row by row)"
          : `run 1: ${count(differing)} row(s) hold different values in atlas's table than in the reference`,
      );
      for (const w of atlas.json.warnings ?? []) findings.notes.push(`atlas warning (case 1): ${w}`);
    }
    await settle(url, schema);
  });

  await attempt('no-dedupe', false, async () => {
    await createReferenceTable(url, schema, 'ref_b');
    const psql = await timePsqlCopy(url, schema, 'ref_b', files.csv, rows);
    state.refB = true;
    step(`2 no-dedupe: psql ${fmt(psql, 2)} s, `);
    await settle(url, schema);
    const atlas = await timeAtlasImport(url, schema, 'bench_nd', files.csv, ['--no-dedupe']);
    log(`atlas ${fmt(atlas.seconds, 2)} s (${fmt(atlas.seconds / psql, 2)}x)\n`);
    recordImport(fig, s2, run, rows, psql, atlas);
    fig.add(s2, 'ratio atlas / psql', run, atlas.seconds / psql, ratioFmt, T.noDedupeRatio);
    fig.add(s6, `CSV ${count(rows)} rows, --no-dedupe, case 2 (MB)`, run, atlas.peakRssMb, mbFmt);
    const n = await loaded('bench_nd');
    check(
      atlas.json.rows_inserted === rows && n === rows && atlas.phases.duplicates === null,
      `run ${run} case 2: rows_inserted ${atlas.json.rows_inserted}, table holds ${n}, duplicate check ${atlas.phases.duplicates ?? 'not run'} (expected ${rows}, ${rows}, not run)`,
    );
    await withClient(url, (c) => c.query(`drop table ${qualified(schema, 'bench_nd')}`));
    await settle(url, schema);
  });

  await attempt('same-file', true, async () => {
    const psql = await timePsqlCopy(url, schema, 'ref_a', files.csv, rows);
    step(`3 same-file: psql ${fmt(psql, 2)} s, `);
    await settle(url, schema);
    const atlas = await timeAtlasImport(url, schema, 'bench_t', files.csv, ['--allow-same-file']);
    log(`atlas ${fmt(atlas.seconds, 2)} s (${fmt(atlas.seconds / psql, 2)}x)\n`);
    recordImport(fig, s3, run, rows, psql, atlas);
    fig.add(s3, 'ratio atlas / psql [issue 7]', run, atlas.seconds / psql, ratioFmt, T.dupRatioIssue7);
    fig.add(s3, 'ratio atlas / psql [issue 5]', run, atlas.seconds / psql, ratioFmt, T.dupRatioIssue5);
    fig.add(s6, `CSV ${count(rows)} rows, all duplicates, case 3 (MB)`, run, atlas.peakRssMb, mbFmt);
    const n = await loaded('bench_t');
    state.laterDuplicates += rows;
    check(
      atlas.json.rows_inserted === 0 && atlas.json.duplicates_found === rows && n === rows,
      `run ${run} case 3: rows_inserted ${atlas.json.rows_inserted}, duplicates_found ${atlas.json.duplicates_found}, table holds ${n} (expected 0, ${rows}, ${rows})`,
    );
    await settle(url, schema);
  });

  await attempt('overlap', true, async () => {
    if (!state.refB) {
      // Case 2 did not run: give ref_b the CSV untimed, so that it is in table 1's state.
      await createReferenceTable(url, schema, 'ref_b');
      await timePsqlCopy(url, schema, 'ref_b', files.csv, rows);
      await settle(url, schema);
    }
    const before = await loaded('bench_t');
    const psql = await timePsqlCopy(url, schema, 'ref_b', files.overlap, rows);
    step(`4 overlap: psql ${fmt(psql, 2)} s, `);
    await settle(url, schema);
    const atlas = await timeAtlasImport(url, schema, 'bench_t', files.overlap);
    log(`atlas ${fmt(atlas.seconds, 2)} s (${fmt(atlas.seconds / psql, 2)}x)\n`);
    recordImport(fig, s4, run, rows, psql, atlas);
    fig.add(s4, 'ratio atlas / psql [issue 5]', run, atlas.seconds / psql, ratioFmt, T.dupRatioIssue5);
    fig.add(s4, 'duplicates_found', run, atlas.json.duplicates_found ?? Number.NaN, rateFmt);
    fig.add(s6, `CSV ${count(rows)} rows, half duplicates, case 4 (MB)`, run, atlas.peakRssMb, mbFmt);
    state.laterDuplicates += overlapRows;
    const n = await loaded('bench_t');
    const repeated = Number(await scalar<string>(url, `select count(*) - count(distinct id_2) from ${qualified(schema, 'bench_t')}`));
    check(
      atlas.json.duplicates_found === overlapRows && atlas.json.rows_inserted === rows - overlapRows && n === before + rows - overlapRows && repeated === 0,
      `run ${run} case 4: duplicates_found ${atlas.json.duplicates_found} (true overlap ${overlapRows}), rows_inserted ${atlas.json.rows_inserted} (expected ${rows - overlapRows}), table holds ${n} (expected ${before + rows - overlapRows}), file ids stored twice: ${repeated}`,
    );
    await settle(url, schema);
  });

  await attempt('undo', true, async () => {
    const import1 = state.import1!;
    const before = await loaded('bench_t');
    const undo = await timeAtlasUndo(url, schema, import1.json.import_id);
    step(`5 undo: ${fmt(undo.seconds, 2)} s (${fmt(undo.seconds / import1.seconds, 2)} of import 1's ${fmt(import1.seconds, 2)} s)\n`);
    fig.add(s5, 'atlas undo (s)', run, undo.seconds, secondsFmt);
    fig.add(s5, 'atlas import 1, case 1 (s)', run, import1.seconds, secondsFmt);
    fig.add(s5, 'ratio undo / import 1 [issue 6]', run, undo.seconds / import1.seconds, ratioFmt, T.undoShare);
    fig.add(s5, 'rows removed', run, undo.json.rows_removed ?? Number.NaN, rateFmt);
    const after = await loaded('bench_t');
    const left = await rowCount(url, schema, 'bench_t', `_import_id = '${import1.json.import_id}'`);
    check(
      undo.json.rows_removed === rows && after === before - rows && left === 0 && (undo.json.force_reason ?? null) === null,
      `run ${run} case 5: rows_removed ${undo.json.rows_removed} (expected ${rows}), table ${count(before)} -> ${count(after)} rows, ${left} row(s) of import 1 left, force_reason ${JSON.stringify(undo.json.force_reason ?? null)}`,
    );
    check(
      undo.json.later_duplicates === state.laterDuplicates,
      `run ${run} case 5: later_duplicates ${undo.json.later_duplicates} (records of cases 3 and 4 skipped as duplicates of import 1's rows: ${state.laterDuplicates})`,
    );
    await settle(url, schema);
  });

  for (const name of FORMAT_CASES) {
    const file = files.formats.get(name);
    if (file === undefined) continue;
    await attempt(name, false, async () => {
      const spec = FORMAT_SPECS[name];
      const section = `7. formats: ${spec.label}, ${count(file.rows)} rows, new table`;
      const atlas = await timeAtlasImport(url, schema, `bench_${name}`, file.path);
      step(`7 ${name}: ${fmt(atlas.seconds, 2)} s, ${count(file.rows / atlas.seconds)} rows/s, ${fmt(atlas.peakRssMb, 0)} MB\n`);
      fig.add(section, 'atlas import (s)', run, atlas.seconds, secondsFmt);
      fig.add(section, '  phase: staging (s)', run, atlas.phases.staging ?? Number.NaN, secondsFmt);
      fig.add(section, '  phase: insert (s)', run, atlas.phases.insert ?? Number.NaN, secondsFmt);
      fig.add(section, 'atlas rows/s', run, file.rows / atlas.seconds, rateFmt, { op: '>=', value: spec.rate, text: count(spec.rate) });
      fig.add(section, 'atlas peak RSS (MB)', run, atlas.peakRssMb, mbFmt, T.formatRssMb);
      const n = await loaded(`bench_${name}`);
      check(atlas.json.rows_inserted === file.rows && n === file.rows, `run ${run} ${name}: rows_inserted ${atlas.json.rows_inserted}, table holds ${n} (expected ${file.rows})`);
      if (run === 1) {
        const types = (atlas.json.columns ?? []).map((c) => `${c.target} ${c.type}`).join(', ');
        const csvTypes = (state.import1?.json.columns ?? []).map((c) => `${c.target} ${c.type}`).join(', ');
        if (state.import1 !== null && types !== csvTypes) findings.notes.push(`${spec.label}: atlas's column types differ from the CSV's: ${types} (CSV: ${csvTypes})`);
        for (const w of atlas.json.warnings ?? []) findings.notes.push(`atlas warning (${spec.label}): ${w}`);
      }
      await withClient(url, (c) => c.query(`drop table ${qualified(schema, `bench_${name}`)}`));
    });
  }
}

/**
 * Runs `fn` in a new schema (named `prefix_<random>`) where a tiny untimed import has created
 * atlas's tracking tables; the schema is dropped afterwards, whatever happens.
 */
export async function inFreshSchema(url: string, prefix: string, tiny: string, fn: (schema: string) => Promise<void>): Promise<void> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  try {
    await withClient(url, (c) => c.query(`create schema ${quoteIdent(schema)}`));
    await warmUp(url, schema, tiny);
    await fn(schema);
  } finally {
    await dropSchema(url, schema);
  }
}

/** Case 6 at scale: one import of the 10M-row CSV, for its peak RSS (and time, for the record). */
export async function run10m(url: string, file: string, tiny: string, fig: Figures, findings: Findings): Promise<void> {
  await inFreshSchema(url, 'bench_10m', tiny, async (schema) => {
    log(`10M rows (schema ${schema}): `);
    const atlas = await timeAtlasImport(url, schema, 'bench_t', file);
    log(`atlas ${fmt(atlas.seconds, 1)} s, ${fmt(atlas.peakRssMb, 0)} MB\n`);
    const section = '6. peak RSS of atlas import';
    const what = `CSV ${count(ROWS_10M)} rows`;
    fig.addSingle(section, `${what}, new table (MB)`, atlas.peakRssMb, mbFmt, T.rssMb);
    fig.addSingle(section, `  ${what}: atlas import (s)`, atlas.seconds, secondsFmt);
    fig.addSingle(section, `  ${what}: atlas rows/s`, ROWS_10M / atlas.seconds, rateFmt);
    fig.addSingle(section, `  ${what}: phase staging (s)`, atlas.phases.staging ?? Number.NaN, secondsFmt);
    fig.addSingle(section, `  ${what}: phase duplicate check (s)`, atlas.phases.duplicates ?? Number.NaN, secondsFmt);
    fig.addSingle(section, `  ${what}: phase insert (s)`, atlas.phases.insert ?? Number.NaN, secondsFmt);
    const n = await rowCount(url, schema, 'bench_t');
    findings.check(atlas.json.rows_inserted === ROWS_10M && n === ROWS_10M, `10M: rows_inserted ${atlas.json.rows_inserted}, table holds ${n} (expected ${ROWS_10M})`);
  });
}
