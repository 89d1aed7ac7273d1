/**
 * The CSV cases: 1-5 on the N-row CSV (new table with and without dedupe, the same file again, a
 * half-overlapping file, undo), each against a `psql \copy` of the same file into a reference table
 * of atlas's final shape holding the same rows, and the 10M-row import for peak RSS. Reference
 * tables: ref_a follows table 1 (case 1, then the same file again); ref_b holds the CSV from case 2
 * and then takes the overlapping file (the state table 1 is in before case 4).
 */
import { timeAtlasImport, timeAtlasUndo, type AtlasImport } from './atlas.ts';
import type { CaseContext, FileSpec } from './context.ts';
import { T } from './context.ts';
import { createReferenceTable, differingRows, qualified, rowCount, scalar, settle, tableShape, timePsqlCopy, timePsqlCopyIntoNewTable, withClient } from './db.ts';
import { mbFmt, rateFmt, ratioFmt, secondsFmt, type Target } from './report.ts';
import { count, fmt, log } from './util.ts';

export const ROWS_10M = 10_000_000;
export const RSS_SECTION = '6. peak RSS of atlas import';

/** The N-row CSV every CSV case reads (and the format cases compare with). */
export const csvFile = (rows: number): FileSpec => ({ format: 'csv', rows });
/** Rows N/2+1 .. N/2+N of the same sequence: its first half equals the last half of the CSV. */
export const overlapFile = (rows: number): FileSpec => ({ format: 'csv', rows, first: Math.floor(rows / 2) + 1 });

const step = (text: string): void => log(`  ${text}`);

const tag = (ctx: CaseContext): string => `${ctx.server.name} run ${ctx.run}`;

interface Step {
  /** How the console names it ("1 csv"). */
  name: string;
  section: string;
  /** The CSV both load. */
  file: string;
  /** The reference table psql loads it into. */
  ref: string;
  /** The table atlas loads it into. */
  table: string;
  flags?: readonly string[];
  target: Target;
  /** How section 6 names atlas's peak RSS of this step. */
  rss: string;
}

/**
 * The core of cases 1-4: `psql \copy` into the reference, then the atlas import, each followed by
 * a settle; records psql's time, atlas's with its phases, their ratio (judged by `target`) and
 * atlas's peak RSS.
 */
async function timeBoth(ctx: CaseContext, s: Step): Promise<AtlasImport> {
  const { url, schema } = ctx;
  const psql = await timePsqlCopy(url, schema, s.ref, s.file, ctx.rows);
  step(`${s.name}: psql ${fmt(psql, 2)} s, `);
  await settle(url, schema);
  const atlas = await timeAtlasImport(url, schema, s.table, s.file, s.flags);
  log(`atlas ${fmt(atlas.seconds, 2)} s (${fmt(atlas.seconds / psql, 2)}x, ${fmt(atlas.peakRssMb, 0)} MB)\n`);
  const p = atlas.phases;
  ctx.add(s.section, 'psql \\copy (s)', psql, secondsFmt);
  ctx.add(s.section, 'atlas import (s)', atlas.seconds, secondsFmt);
  ctx.add(s.section, '  phase: staging (s)', p.staging ?? Number.NaN, secondsFmt);
  ctx.add(s.section, '  phase: duplicate check (s)', p.duplicates ?? Number.NaN, secondsFmt);
  ctx.add(s.section, '  phase: insert (s)', p.insert ?? Number.NaN, secondsFmt);
  ctx.add(s.section, '  rest: start-up, types, commit (s)', atlas.seconds - (p.staging ?? 0) - (p.duplicates ?? 0) - (p.insert ?? 0), secondsFmt);
  ctx.add(s.section, 'atlas rows/s (file rows)', ctx.rows / atlas.seconds, rateFmt);
  ctx.add(s.section, 'ratio atlas / psql', atlas.seconds / psql, ratioFmt, s.target);
  ctx.add(RSS_SECTION, `${s.rss} (MB)`, atlas.peakRssMb, mbFmt, T.rssMb);
  return atlas;
}

/** Case 1: CSV, new table, row dedupe on. Run 1 also checks atlas's table against the reference, shape and values. */
export async function runCsvCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const file = ctx.files.path(csvFile(rows));
  const section = `1. CSV ${count(rows)} rows, new table, row dedupe on`;
  // Under wal_level=minimal a table created in the loading transaction is written without WAL, as
  // atlas's is: this psql session does the same, shown without a target. Other servers write WAL either way.
  let psqlNew: number | null = null;
  if (ctx.server.walLevel === 'minimal') {
    psqlNew = await timePsqlCopyIntoNewTable(url, schema, 'ref_c', file, rows);
    step(`1 csv: psql into a table made in its transaction ${fmt(psqlNew, 2)} s\n`);
    await withClient(url, (c) => c.query(`drop table ${qualified(schema, 'ref_c')}`));
    await settle(url, schema);
  }
  await createReferenceTable(url, schema, 'ref_a');
  const atlas = await timeBoth(ctx, {
    name: '1 csv',
    section,
    ref: 'ref_a',
    table: 'bench_t',
    file,
    target: T.csvRatio,
    rss: `CSV ${count(rows)} rows, case 1`,
  });
  ctx.state.import1 = atlas;
  if (psqlNew !== null) {
    ctx.add(section, 'psql \\copy, table made in its transaction (s)', psqlNew, secondsFmt);
    ctx.add(section, 'ratio atlas / that psql (no target)', atlas.seconds / psqlNew, ratioFmt);
  }
  const n = await rowCount(url, schema, 'bench_t');
  ctx.findings.check(
    atlas.json.rows_inserted === rows && n === rows && atlas.json.duplicates_found === 0,
    `${tag(ctx)} case 1: rows_inserted ${atlas.json.rows_inserted}, table holds ${n}, duplicates_found ${atlas.json.duplicates_found} (expected ${rows}, ${rows}, 0)`,
  );
  if (ctx.run === 1) await checkAgainstReference(ctx, atlas);
  await settle(url, schema);
}

/** atlas's table has the reference's columns, indexes, constraints and values. */
async function checkAgainstReference(ctx: CaseContext, atlas: AtlasImport): Promise<void> {
  const { url, schema, findings } = ctx;
  const [ref, got] = await Promise.all([tableShape(url, schema, 'ref_a'), tableShape(url, schema, 'bench_t')]);
  for (const part of ['columns', 'indexes', 'constraints'] as const) {
    const same = ref[part].join(', ') === got[part].join(', ');
    findings.check(
      same,
      same
        ? `${ctx.server.name}: atlas's table has the reference's ${part}: ${got[part].join(', ')}`
        : `${ctx.server.name}: atlas's table differs from the reference in its ${part}:\n    atlas:     ${got[part].join(', ')}\n    reference: ${ref[part].join(', ')}`,
    );
  }
  const differing = await differingRows(url, schema, 'ref_a', 'bench_t');
  findings.check(
    differing === 0,
    differing === 0
      ? `${tag(ctx)}: atlas's table holds exactly the reference's values (all ten columns compared row by row)`
      : `${tag(ctx)}: ${count(differing)} row(s) hold different values in atlas's table than in the reference`,
  );
  for (const w of atlas.json.warnings ?? []) findings.noteOnce(`atlas warning (case 1): ${w}`);
}

/** Case 2: the same CSV, new table, --no-dedupe. */
export async function runNoDedupeCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const file = ctx.files.path(csvFile(rows));
  const section = `2. CSV ${count(rows)} rows, new table, --no-dedupe`;
  await createReferenceTable(url, schema, 'ref_b');
  ctx.state.refB = true;
  const atlas = await timeBoth(ctx, {
    name: '2 no-dedupe',
    section,
    ref: 'ref_b',
    table: 'bench_nd',
    file,
    flags: ['--no-dedupe'],
    target: T.noDedupeRatio,
    rss: `CSV ${count(rows)} rows, --no-dedupe, case 2`,
  });
  const n = await rowCount(url, schema, 'bench_nd');
  ctx.findings.check(
    atlas.json.rows_inserted === rows && n === rows && atlas.phases.duplicates === null,
    `${tag(ctx)} case 2: rows_inserted ${atlas.json.rows_inserted}, table holds ${n}, duplicate check ${atlas.phases.duplicates ?? 'not run'} (expected ${rows}, ${rows}, not run)`,
  );
  await withClient(url, (c) => c.query(`drop table ${qualified(schema, 'bench_nd')}`));
  await settle(url, schema);
}

/** Case 3: the same CSV again into table 1, every row a duplicate. */
export async function runSameFileCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const file = ctx.files.path(csvFile(rows));
  const section = '3. the same CSV again into table 1, --allow-same-file (all rows duplicates)';
  const atlas = await timeBoth(ctx, {
    name: '3 same-file',
    section,
    ref: 'ref_a',
    table: 'bench_t',
    file,
    flags: ['--allow-same-file'],
    target: T.sameFileRatio,
    rss: `CSV ${count(rows)} rows, all duplicates, case 3`,
  });
  const n = await rowCount(url, schema, 'bench_t');
  ctx.state.laterDuplicates += rows;
  ctx.findings.check(
    atlas.json.rows_inserted === 0 && atlas.json.duplicates_found === rows && n === rows,
    `${tag(ctx)} case 3: rows_inserted ${atlas.json.rows_inserted}, duplicates_found ${atlas.json.duplicates_found}, table holds ${n} (expected 0, ${rows}, ${rows})`,
  );
  await settle(url, schema);
}

/** Case 4: rows N/2+1 .. N/2+N into table 1, half of them already there. */
export async function runOverlapCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const spec = overlapFile(rows);
  const first = spec.first!;
  const overlapRows = rows - first + 1;
  const file = ctx.files.path(spec);
  const section = `4. CSV rows ${count(first)}..${count(first + rows - 1)} into table 1 (${count(overlapRows)} already there)`;
  if (!ctx.state.refB) {
    // Case 2 did not run: give ref_b the CSV untimed, so that it is in table 1's state.
    await createReferenceTable(url, schema, 'ref_b');
    await timePsqlCopy(url, schema, 'ref_b', ctx.files.path(csvFile(rows)), rows);
    await settle(url, schema);
  }
  const before = await rowCount(url, schema, 'bench_t');
  const atlas = await timeBoth(ctx, {
    name: '4 overlap',
    section,
    ref: 'ref_b',
    table: 'bench_t',
    file,
    target: T.overlapRatio,
    rss: `CSV ${count(rows)} rows, half duplicates, case 4`,
  });
  ctx.add(section, 'duplicates_found', atlas.json.duplicates_found ?? Number.NaN, rateFmt);
  ctx.state.laterDuplicates += overlapRows;
  const n = await rowCount(url, schema, 'bench_t');
  const repeated = Number(await scalar<string>(url, `select count(*) - count(distinct id_2) from ${qualified(schema, 'bench_t')}`));
  ctx.findings.check(
    atlas.json.duplicates_found === overlapRows && atlas.json.rows_inserted === rows - overlapRows && n === before + rows - overlapRows && repeated === 0,
    `${tag(ctx)} case 4: duplicates_found ${atlas.json.duplicates_found} (true overlap ${overlapRows}), rows_inserted ${atlas.json.rows_inserted} (expected ${rows - overlapRows}), table holds ${n} (expected ${before + rows - overlapRows}), file ids stored twice: ${repeated}`,
  );
  await settle(url, schema);
}

/** Case 5: `atlas undo` of import 1, after whichever of cases 3 and 4 ran. */
export async function runUndoCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const import1 = ctx.state.import1!;
  const after = ['same-file', 'overlap'].flatMap((c, i) => (ctx.selected.has(c) ? [String(i + 3)] : []));
  const section = `5. atlas undo of import 1 (${count(rows)} rows)${after.length > 0 ? `, after case${after.length > 1 ? 's' : ''} ${after.join(' and ')}` : ''}`;
  const before = await rowCount(url, schema, 'bench_t');
  // --force: cases 3 and 4 skipped rows of import 1 as duplicates, which undo refuses to take from them without it (issue 25).
  const undo = await timeAtlasUndo(url, schema, import1.json.import_id, ctx.state.laterDuplicates > 0 ? ['--force'] : []);
  step(`5 undo: ${fmt(undo.seconds, 2)} s (${fmt(undo.seconds / import1.seconds, 2)} of import 1's ${fmt(import1.seconds, 2)} s)\n`);
  ctx.add(section, 'atlas undo (s)', undo.seconds, secondsFmt);
  ctx.add(section, 'atlas import 1, case 1 (s)', import1.seconds, secondsFmt);
  ctx.add(section, 'ratio undo / import 1', undo.seconds / import1.seconds, ratioFmt, T.undoShare);
  ctx.add(section, 'rows removed', undo.json.rows_removed ?? Number.NaN, rateFmt);
  const afterUndo = await rowCount(url, schema, 'bench_t');
  const left = await rowCount(url, schema, 'bench_t', `_import_id = '${import1.json.import_id}'`);
  ctx.findings.check(
    undo.json.rows_removed === rows && afterUndo === before - rows && left === 0 && (undo.json.force_reason ?? null) === null,
    `${tag(ctx)} case 5: rows_removed ${undo.json.rows_removed} (expected ${rows}), table ${count(before)} -> ${count(afterUndo)} rows, ${left} row(s) of import 1 left, force_reason ${JSON.stringify(undo.json.force_reason ?? null)}`,
  );
  ctx.findings.check(
    undo.json.later_duplicates === ctx.state.laterDuplicates,
    `${tag(ctx)} case 5: later_duplicates ${undo.json.later_duplicates} (records of cases 3 and 4 skipped as duplicates of import 1's rows: ${ctx.state.laterDuplicates})`,
  );
  await settle(url, schema);
}

/** Case 6 at scale: one import of the 10M-row CSV, for its peak RSS (and time, for the record). */
export async function run10mCase(ctx: CaseContext): Promise<void> {
  const { url, schema } = ctx;
  step(`10M rows: `);
  const atlas = await timeAtlasImport(url, schema, 'bench_t', ctx.files.path(csvFile(ROWS_10M)));
  log(`atlas ${fmt(atlas.seconds, 1)} s, ${fmt(atlas.peakRssMb, 0)} MB\n`);
  const what = `CSV ${count(ROWS_10M)} rows`;
  const single = (label: string, value: number, show: (n: number) => string, target: Target | null = null): void =>
    ctx.fig.addSingle(ctx.server.name, RSS_SECTION, label, value, show, target);
  single(`${what}, new table (MB)`, atlas.peakRssMb, mbFmt, T.rssMb);
  single(`  ${what}: atlas import (s)`, atlas.seconds, secondsFmt);
  single(`  ${what}: atlas rows/s`, ROWS_10M / atlas.seconds, rateFmt);
  single(`  ${what}: phase staging (s)`, atlas.phases.staging ?? Number.NaN, secondsFmt);
  single(`  ${what}: phase duplicate check (s)`, atlas.phases.duplicates ?? Number.NaN, secondsFmt);
  single(`  ${what}: phase insert (s)`, atlas.phases.insert ?? Number.NaN, secondsFmt);
  const n = await rowCount(url, schema, 'bench_t');
  ctx.findings.check(atlas.json.rows_inserted === ROWS_10M && n === ROWS_10M, `${ctx.server.name} 10M: rows_inserted ${atlas.json.rows_inserted}, table holds ${n} (expected ${ROWS_10M})`);
}
