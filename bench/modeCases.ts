/**
 * Cases 11-13, the modes that change rows (issue 22), on one table per run, bench_up: atlas loads
 * the N-row CSV into it (`--mode upsert --key id_2`, so it gets the unique index on the key), then
 * case 11 upserts an N-row file of which 30% of rows changed, 60% are unchanged and 10% are new,
 * case 12 undoes that upsert (the table must be what it was, every column of every row), and
 * case 13 replaces the table's N rows with the same file's N rows (`--mode replace`: the 60% it
 * repeats stay in place, 40% of the table goes, 40% of the file comes in). Each against
 * one `psql \copy` of that file into an empty reference table (ref_up), measured in case 11.
 */
import { timeAtlasImport, timeAtlasUndo } from './atlas.ts';
import { T, type CaseContext, type FileSpec } from './context.ts';
import { createReferenceTable, differingRows, importCounts, qualified, REFERENCE_COLUMNS, rowCount, scalar, settle, tableChecksum, timePsqlCopy, withClient } from './db.ts';
import { RSS_SECTION, csvFile } from './csvCases.ts';
import { mbFmt, rateFmt, ratioFmt, secondsFmt } from './report.ts';
import { count, fmt, log, quoteIdent } from './util.ts';

/** The file's `id` is `id_2` in atlas's table (`id` is atlas's own key): the key the upserts name. */
const KEY = ['--key', 'id_2'];
const TABLE = 'bench_up';
const REF = 'ref_up';

/**
 * The upsert's file: rows N/10+1 .. N/10+N of the sequence, every third row up to row N changed
 * (another amount and notes). Against a table of rows 1..N: rows N+1.. are new (10%), a third of
 * the others changed (30% of the file), the rest unchanged (60%); rows 1..N/10 are not mentioned.
 */
export const upsertFile = (rows: number): FileSpec => ({ format: 'csv', rows, first: Math.floor(rows / 10) + 1, changed: { every: 3, upTo: rows } });

/** What the upsert of upsertFile(n) into rows 1..n must count. */
export function expectedUpsert(n: number): { inserted: number; updated: number; unchanged: number; untouched: number } {
  const first = upsertFile(n).first!;
  const mentioned = n - first + 1;
  const updated = Math.floor(n / 3) - Math.floor((first - 1) / 3);
  return { inserted: first - 1, updated, unchanged: mentioned - updated, untouched: first - 1 };
}

const tag = (ctx: CaseContext): string => `${ctx.server.name} run ${ctx.run}`;
const step = (text: string): void => log(`  ${text}`);
const pct = (part: number, n: number): string => `${fmt((100 * part) / n, 0)}%`;

/** Case 11: the table loaded by atlas, then the upsert of the changed file into it, against psql \copy of that file. */
export async function runUpsertCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const spec = upsertFile(rows);
  const file = ctx.files.path(spec);
  const want = expectedUpsert(rows);
  const section = `11. upsert: ${count(rows)}-row file (${pct(want.updated, rows)} changed, ${pct(want.inserted, rows)} new) into a ${count(rows)}-row table, --key`;

  await createReferenceTable(url, schema, REF);
  const psql = await timePsqlCopy(url, schema, REF, file, rows);
  step(`11 upsert: psql (the file into an empty reference) ${fmt(psql, 2)} s, `);
  await settle(url, schema);

  // The table the upsert changes, loaded by atlas as a user would (untimed against any target).
  const base = await timeAtlasImport(url, schema, TABLE, ctx.files.path(csvFile(rows)), ['--mode', 'upsert', ...KEY]);
  ctx.findings.check(base.json.rows_inserted === rows, `${tag(ctx)} case 11: the first load put ${base.json.rows_inserted} rows into ${TABLE} (expected ${rows})`);
  await settle(url, schema);
  const before = await tableChecksum(url, schema, TABLE);

  const up = await timeAtlasImport(url, schema, TABLE, file, ['--mode', 'upsert', ...KEY]);
  log(`first load ${fmt(base.seconds, 2)} s, atlas upsert ${fmt(up.seconds, 2)} s (${fmt(up.seconds / psql, 2)}x, ${fmt(up.peakRssMb, 0)} MB)\n`);
  ctx.state.upsert = { import: up, psql, before };
  const p = up.phases;
  ctx.add(section, 'psql \\copy of the file into an empty reference (s)', psql, secondsFmt);
  ctx.add(section, 'atlas import --mode upsert (s)', up.seconds, secondsFmt);
  ctx.add(section, '  phase: staging (s)', p.staging ?? Number.NaN, secondsFmt);
  ctx.add(section, '  phase: insert (update, insert, pre-images) (s)', p.insert ?? Number.NaN, secondsFmt);
  ctx.add(section, '  rest: start-up, types, key checks, commit (s)', up.seconds - (p.staging ?? 0) - (p.duplicates ?? 0) - (p.insert ?? 0), secondsFmt);
  ctx.add(section, 'ratio atlas upsert / psql', up.seconds / psql, ratioFmt, T.upsertRatio);
  ctx.add(section, 'first load of the table by atlas, no target (s)', base.seconds, secondsFmt);
  ctx.add(RSS_SECTION, `upsert of ${count(rows)} rows, case 11 (MB)`, up.peakRssMb, mbFmt, T.rssMb);

  const got = await importCounts(url, schema, up.json.import_id);
  const n = await rowCount(url, schema, TABLE);
  ctx.findings.check(
    got.inserted === want.inserted && got.updated === want.updated && got.unchanged === want.unchanged && got.deleted === 0 && n === rows + want.inserted,
    `${tag(ctx)} case 11: history rows_inserted ${got.inserted}, rows_updated ${got.updated}, rows_unchanged ${got.unchanged}, rows_deleted ${got.deleted}, table holds ${n} (expected ${want.inserted}, ${want.updated}, ${want.unchanged}, 0, ${rows + want.inserted})`,
  );
  if (ctx.run === 1) {
    // The rows the file names hold its values; the rows it does not name are still the first load's.
    const differing = await differingRowsOfFile(url, schema);
    const untouched = await rowCount(url, schema, TABLE, `_import_id = '${base.json.import_id}' and id_2 < ${spec.first!}`);
    ctx.findings.check(
      differing === 0 && untouched === want.untouched,
      `${tag(ctx)} case 11: ${differing} row(s) of the file hold other values in ${TABLE} than in psql's reference; ${untouched} row(s) the file does not name kept by the first load (expected 0, ${want.untouched})`,
    );
  }
  await settle(url, schema);
}

/** Rows of the reference (the file) whose row in bench_up, by key, is missing or holds other values. */
async function differingRowsOfFile(url: string, schema: string): Promise<number> {
  const cols = REFERENCE_COLUMNS.map(([name]) => quoteIdent(name)).filter((c) => c !== quoteIdent('id_2'));
  const row = (alias: string): string => `(${cols.map((c) => `${alias}.${c}`).join(', ')})`;
  return Number(
    await scalar<string>(
      url,
      `select count(*) from ${qualified(schema, REF)} r left join ${qualified(schema, TABLE)} t on t.id_2 = r.id_2
        where t.id_2 is null or ${row('r')} is distinct from ${row('t')}`,
    ),
  );
}

/** Case 12: `atlas undo` of the upsert; the table must be exactly what it was before it. */
export async function runUpsertUndoCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const up = ctx.state.upsert!;
  const want = expectedUpsert(rows);
  const section = `12. atlas undo of the upsert (${count(want.inserted)} rows inserted, ${count(want.updated)} updated)`;
  const undo = await timeAtlasUndo(url, schema, up.import.json.import_id);
  step(`12 upsert-undo: ${fmt(undo.seconds, 2)} s (${fmt(undo.seconds / up.import.seconds, 2)} of the upsert's ${fmt(up.import.seconds, 2)} s, ${fmt(undo.peakRssMb, 0)} MB)\n`);
  ctx.add(section, 'atlas undo (s)', undo.seconds, secondsFmt);
  ctx.add(section, 'atlas upsert, case 11 (s)', up.import.seconds, secondsFmt);
  ctx.add(section, 'ratio undo / upsert', undo.seconds / up.import.seconds, ratioFmt, T.upsertUndoShare);
  ctx.add(section, 'rows restored', undo.json.rows_restored ?? Number.NaN, rateFmt);
  ctx.add(RSS_SECTION, `undo of the upsert, case 12 (MB)`, undo.peakRssMb, mbFmt, T.rssMb);
  const after = await tableChecksum(url, schema, TABLE);
  ctx.findings.check(
    undo.json.rows_restored === want.updated && (undo.json.force_reason ?? null) === null,
    `${tag(ctx)} case 12: rows_restored ${undo.json.rows_restored} (expected ${want.updated}), rows_removed ${undo.json.rows_removed} (the rows carrying the upsert's id: ${want.inserted} inserted + ${want.updated} updated), force_reason ${JSON.stringify(undo.json.force_reason ?? null)}`,
  );
  ctx.findings.check(
    after.rows === up.before.rows && after.sum === up.before.sum,
    after.rows === up.before.rows && after.sum === up.before.sum
      ? `${tag(ctx)} case 12: after the undo ${TABLE} holds exactly its ${count(after.rows)} rows of before the upsert (count and a hash of every column of every row, id and metadata included)`
      : `${tag(ctx)} case 12: after the undo ${TABLE} is not what it was: ${after.rows} rows, hash sum ${after.sum} (before the upsert: ${up.before.rows}, ${up.before.sum})`,
  );
  await settle(url, schema);
}

/** Case 13: `--mode replace` of the table's N rows (back to the first load's after case 12) by the file's N rows. */
export async function runReplaceCase(ctx: CaseContext): Promise<void> {
  const { url, schema, rows } = ctx;
  const up = ctx.state.upsert!;
  const file = ctx.files.path(upsertFile(rows));
  const before = await rowCount(url, schema, TABLE);
  const section = `13. --mode replace: ${count(rows)} rows in place of a ${count(before)}-row table`;
  const rep = await timeAtlasImport(url, schema, TABLE, file, ['--mode', 'replace']);
  step(`13 replace: ${fmt(rep.seconds, 2)} s (${fmt(rep.seconds / up.psql, 2)}x psql's ${fmt(up.psql, 2)} s of case 11, ${fmt(rep.peakRssMb, 0)} MB)\n`);
  const p = rep.phases;
  ctx.add(section, 'psql \\copy of the file into an empty reference, case 11 (s)', up.psql, secondsFmt);
  ctx.add(section, 'atlas import --mode replace (s)', rep.seconds, secondsFmt);
  ctx.add(section, '  phase: staging (s)', p.staging ?? Number.NaN, secondsFmt);
  ctx.add(section, '  phase: duplicate check (the file against the table: rows kept in place) (s)', p.duplicates ?? Number.NaN, secondsFmt);
  ctx.add(section, '  phase: insert (s)', p.insert ?? Number.NaN, secondsFmt);
  ctx.add(section, '  rest: start-up, types, delete and pre-images, commit (s)', rep.seconds - (p.staging ?? 0) - (p.duplicates ?? 0) - (p.insert ?? 0), secondsFmt);
  ctx.add(section, 'ratio atlas replace / psql', rep.seconds / up.psql, ratioFmt, T.replaceRatio);
  ctx.add(RSS_SECTION, `replace of ${count(rows)} rows, case 13 (MB)`, rep.peakRssMb, mbFmt, T.rssMb);
  const got = await importCounts(url, schema, rep.json.import_id);
  const n = await rowCount(url, schema, TABLE);
  // The rows the file repeats stay in place (the upsert's unchanged ones); the others go, the file's others come in.
  const kept = expectedUpsert(rows).unchanged;
  ctx.findings.check(
    got.inserted === rows - kept && got.unchanged === kept && got.deleted === before - kept && got.updated === 0 && n === rows,
    `${tag(ctx)} case 13: history rows_inserted ${got.inserted}, rows_unchanged ${got.unchanged}, rows_deleted ${got.deleted}, rows_updated ${got.updated}, table holds ${n} (expected ${rows - kept}, ${kept}, ${before - kept}, 0, ${rows})`,
  );
  if (ctx.run === 1) {
    const differing = await differingRows(url, schema, REF, TABLE);
    ctx.findings.check(
      differing === 0,
      `${tag(ctx)} case 13: ${differing === 0 ? `${TABLE} holds exactly the file's rows, as psql's reference does` : `${count(differing)} row(s) differ between ${TABLE} and psql's reference`}`,
    );
  }
  await withClient(url, (c) => c.query(`drop table ${qualified(schema, TABLE)}, ${qualified(schema, REF)}`));
  await settle(url, schema);
}
