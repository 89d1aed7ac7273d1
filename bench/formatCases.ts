/**
 * Case 7, one per format: atlas imports an XLSX, JSON, NDJSON or XML file into a new table, against
 * `psql \copy` of the same rows as CSV (every format comes from the one seeded sequence) into a
 * reference table of atlas's final shape, in the same run (issue 24 restates issue 7's rows/s
 * targets as these ratios).
 */
import { timeAtlasImport } from './atlas.ts';
import { T, type CaseContext, type FileSpec } from './context.ts';
import { createReferenceTable, qualified, rowCount, settle, timePsqlCopy, withClient } from './db.ts';
import type { BenchFormat } from './generate.ts';
import { mbFmt, rateFmt, ratioFmt, secondsFmt } from './report.ts';
import { count, fmt, log } from './util.ts';

export const FORMAT_CASES = ['xlsx', 'json', 'ndjson', 'xml'] as const satisfies readonly BenchFormat[];
export type FormatCase = (typeof FORMAT_CASES)[number];

/** Each format's row count as a share of N (XLSX and XML are slower to make and read), and its ratio target. */
const FORMAT_SPECS: Record<FormatCase, { label: string; rows: (n: number) => number; ratio: number }> = {
  xlsx: { label: 'XLSX', rows: (n) => Math.max(1, Math.round(n / 5)), ratio: 2.0 },
  json: { label: 'JSON array', rows: (n) => n, ratio: 1.3 },
  ndjson: { label: 'NDJSON', rows: (n) => n, ratio: 1.3 },
  xml: { label: 'XML', rows: (n) => Math.max(1, Math.round(n / 2)), ratio: 1.5 },
};

/** The format's file and the CSV of the same rows. */
export function formatFiles(format: FormatCase, n: number): [FileSpec, FileSpec] {
  const rows = FORMAT_SPECS[format].rows(n);
  return [
    { format, rows },
    { format: 'csv', rows },
  ];
}

export async function runFormatCase(ctx: CaseContext, format: FormatCase): Promise<void> {
  const { url, schema } = ctx;
  const spec = FORMAT_SPECS[format];
  const [file, csv] = formatFiles(format, ctx.rows);
  const rows = file.rows;
  const section = `7. formats: ${spec.label}, ${count(rows)} rows, new table`;
  const ref = `ref_${format}`;
  const table = `bench_${format}`;
  await createReferenceTable(url, schema, ref);
  const psql = await timePsqlCopy(url, schema, ref, ctx.files.path(csv), rows);
  log(`  7 ${format}: psql (same rows as CSV) ${fmt(psql, 2)} s, `);
  await settle(url, schema);
  const atlas = await timeAtlasImport(url, schema, table, ctx.files.path(file));
  log(`atlas ${fmt(atlas.seconds, 2)} s (${fmt(atlas.seconds / psql, 2)}x), ${count(rows / atlas.seconds)} rows/s, ${fmt(atlas.peakRssMb, 0)} MB\n`);
  ctx.add(section, 'psql \\copy of the same rows as CSV (s)', psql, secondsFmt);
  ctx.add(section, 'atlas import (s)', atlas.seconds, secondsFmt);
  ctx.add(section, '  phase: staging (s)', atlas.phases.staging ?? Number.NaN, secondsFmt);
  ctx.add(section, '  phase: insert (s)', atlas.phases.insert ?? Number.NaN, secondsFmt);
  ctx.add(section, 'atlas rows/s', rows / atlas.seconds, rateFmt);
  ctx.add(section, 'ratio atlas / psql', atlas.seconds / psql, ratioFmt, { op: '<=', value: spec.ratio });
  ctx.add(section, 'atlas peak RSS (MB)', atlas.peakRssMb, mbFmt, T.formatRssMb);
  const n = await rowCount(url, schema, table);
  ctx.findings.check(atlas.json.rows_inserted === rows && n === rows, `${ctx.server.name} run ${ctx.run} ${format}: rows_inserted ${atlas.json.rows_inserted}, table holds ${n} (expected ${rows})`);
  if (ctx.run === 1) {
    const types = (atlas.json.columns ?? []).map((c) => `${c.target} ${c.type}`).join(', ');
    const csvTypes = (ctx.state.import1?.json.columns ?? []).map((c) => `${c.target} ${c.type}`).join(', ');
    if (ctx.state.import1 !== null && types !== csvTypes) ctx.findings.noteOnce(`${spec.label}: atlas's column types differ from the CSV's: ${types} (CSV: ${csvTypes})`);
    for (const w of atlas.json.warnings ?? []) ctx.findings.noteOnce(`atlas warning (${spec.label}): ${w}`);
  }
  await withClient(url, (c) => c.query(`drop table ${qualified(schema, table)}, ${qualified(schema, ref)}`));
  await settle(url, schema);
}
