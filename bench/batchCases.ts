/**
 * Case 10, many files in one command (issue 21): rows 1..N as N/1,000 CSV files of 1,000 rows
 * (1,000 files for the default N), imported by one `atlas import <dir> --table bench_batch`,
 * against case 1's import of the N-row file holding the same rows (same run, same server, new
 * table, dedupe on: the same settings), and, in run 1 only, against separate `atlas import`
 * processes, one per file, as a shell loop would run them: a sample of the first 100 files,
 * measured, and scaled to every file.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { timeAtlasBatch, timeSeparateImports } from './atlas.ts';
import { T, type CaseContext, type FileSpec } from './context.ts';
import { RSS_SECTION } from './csvCases.ts';
import { qualified, rowCount, scalar, settle, withClient } from './db.ts';
import { mbFmt, msFmt, ratioFmt, secondsFmt } from './report.ts';
import { count, fmt, log, median } from './util.ts';

/** Rows per file: issue 21's 1,000 files of 1,000 rows at the default N. */
export const ROWS_PER_FILE = 1000;
/** Separate processes measured (run 1): about 1 s each, so all 1,000 would add some 15 minutes per server. */
const SEPARATE_SAMPLE = 100;

/** Rows 1..N, as a directory of files of ROWS_PER_FILE rows (the last one holds what is left). */
export const batchFiles = (rows: number): FileSpec => ({ format: 'csv', rows, perFile: ROWS_PER_FILE });

const mean = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length);

export async function runBatchCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const dir = ctx.files.path(batchFiles(rows));
  const names = readdirSync(dir).sort();
  const single = ctx.state.import1!;
  const section = `10. batch: ${count(names.length)} files of ${count(Math.min(ROWS_PER_FILE, rows))} rows in one command, against one ${count(rows)}-row file`;
  const batch = await timeAtlasBatch(url, schema, 'bench_batch', dir);
  const files = batch.json.files;
  const phases = files.map((f) => (f.result?.parsing_time_seconds ?? 0) + (f.result?.duplicate_check_time_seconds ?? 0) + (f.result?.insert_time_seconds ?? 0));
  const durations = files.map((f) => f.duration_seconds);
  const tenth = Math.max(1, Math.floor(files.length / 10));
  log(`  10 batch: ${fmt(batch.seconds, 2)} s for ${names.length} files (${fmt((1000 * batch.seconds) / names.length, 0)} ms a file; ${fmt(batch.seconds / single.seconds, 2)}x case 1's ${fmt(single.seconds, 2)} s), ${fmt(batch.peakRssMb, 0)} MB\n`);
  ctx.add(section, 'atlas import of the directory, one command (s)', batch.seconds, secondsFmt);
  ctx.add(section, `one ${count(rows)}-row file, case 1 (s)`, single.seconds, secondsFmt);
  ctx.add(section, 'ratio batch / one file', batch.seconds / single.seconds, ratioFmt, T.batchRatio);
  ctx.add(section, '  per file: wall time of the batch / files (ms)', (1000 * batch.seconds) / names.length, msFmt);
  ctx.add(section, '  per file: its phases (staging, duplicate check, insert) (ms)', 1000 * mean(phases), msFmt);
  ctx.add(section, "  per file: the rest of its import (record, checks, its turn, commit) (ms)", 1000 * (mean(durations) - mean(phases)), msFmt);
  ctx.add(section, `  per file, first ${tenth} files: import (ms)`, 1000 * mean(durations.slice(0, tenth)), msFmt);
  ctx.add(section, `  per file, last ${tenth} files: import (ms)`, 1000 * mean(durations.slice(-tenth)), msFmt);
  // Two lanes overlap the files (one stages while the one before it writes): their durations add up to more than the wall time.
  ctx.add(section, '  files in flight at once, mean (their durations / the batch\'s own time)', durations.reduce((a, b) => a + b, 0) / batch.json.summary.duration_seconds, ratioFmt);
  ctx.add(section, "  outside the batch's own clock: process start-up, output (s)", batch.seconds - batch.json.summary.duration_seconds, secondsFmt);
  ctx.add(RSS_SECTION, `batch of ${count(names.length)} files, case 10 (MB)`, batch.peakRssMb, mbFmt, T.rssMb);

  const s = batch.json.summary;
  const n = await rowCount(url, schema, 'bench_batch');
  const distinct = Number(await scalar<string>(url, `select count(distinct id_2) from ${qualified(schema, 'bench_batch')}`));
  ctx.findings.check(
    s.files === names.length && s.imported === names.length && s.failed + s.partial + s.skipped + s.not_run === 0 && s.rows_inserted === rows && n === rows && distinct === rows,
    `${ctx.server.name} run ${ctx.run} case 10: ${s.imported} of ${s.files} files imported (${s.failed} failed, ${s.partial} partial, ${s.skipped} skipped, ${s.not_run} not run), rows_inserted ${s.rows_inserted}, table holds ${n} rows, ${distinct} distinct ids (expected ${names.length} files, ${rows} rows)`,
  );
  await withClient(url, (c) => c.query(`drop table ${qualified(schema, 'bench_batch')}`));
  await settle(url, schema);
  if (ctx.run === 1) await runSeparateProcesses(ctx, section, names.map((name) => join(dir, name)), batch.seconds);
}

/** Run 1: the first SEPARATE_SAMPLE files, each by its own `atlas import` process, scaled to every file. */
async function runSeparateProcesses(ctx: CaseContext, section: string, paths: readonly string[], batchSeconds: number): Promise<void> {
  const { url, schema } = ctx;
  const sample = paths.slice(0, SEPARATE_SAMPLE);
  const scale = paths.length / sample.length;
  const separate = await timeSeparateImports(url, schema, 'bench_separate', sample);
  const estimated = separate.seconds * scale;
  log(`  10 batch: ${sample.length} separate processes ${fmt(separate.seconds, 2)} s (${fmt(median(separate.perFileMs), 0)} ms each), all ${paths.length} about ${fmt(estimated, 0)} s\n`);
  const single = (label: string, value: number, show: (n: number) => string): void => ctx.fig.addSingle(ctx.server.name, section, label, value, show);
  single(`run 1: ${sample.length} separate atlas import processes, measured (s)`, separate.seconds, secondsFmt);
  single('run 1:   per process, median (ms)', median(separate.perFileMs), msFmt);
  single(`run 1: ${count(paths.length)} separate processes, estimated: measured x ${fmt(scale, scale % 1 === 0 ? 0 : 2)} (s)`, estimated, secondsFmt);
  single('run 1: ratio batch / separate processes', batchSeconds / estimated, ratioFmt);
  const n = await rowCount(url, schema, 'bench_separate');
  const want = Math.min(sample.length * ROWS_PER_FILE, ctx.rows);
  ctx.findings.check(n === want, `${ctx.server.name} run 1 case 10: ${sample.length} separate imports left ${n} rows in bench_separate (expected ${want})`);
  await withClient(url, (c) => c.query(`drop table ${qualified(schema, 'bench_separate')}`));
  await settle(url, schema);
}
