/**
 * The benchmark harness's own logic, without timing anything: which cases a `--cases` selection
 * runs, which server's figures the targets judge, and that the hand-written loader the bench
 * compares atlas with loads exactly what COPY's CSV parser would.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { selectCases } from '../../bench/cases.ts';
import { Figures, ratioFmt } from '../../bench/report.ts';
import { ROOT, useTempDir, useTestDb } from '../helpers.ts';

const names = (text: string | undefined, fullSize = false): string[] => selectCases(text, fullSize).cases.map((c) => c.name);

describe('bench: --cases selection', () => {
  it('adds the cases a selected case builds on, in table order, and says why', () => {
    const { cases, added } = selectCases('undo,json', false);
    assert.deepEqual(
      cases.map((c) => c.name),
      ['csv', 'undo', 'json'],
    );
    assert.deepEqual(added, ['csv (undo builds on it)']);
  });

  it('takes groups, and the 10M case only in full-size runs, also through `all`', () => {
    assert.deepEqual(names('others'), ['handwritten', 'pgloader']);
    assert.deepEqual(names('dedupe'), ['csv', 'same-file', 'overlap']);
    assert.ok(!names(undefined).includes('rss-10m'));
    assert.ok(names(undefined, true).includes('rss-10m'));
    assert.ok(!names('all').includes('rss-10m'));
    assert.ok(names('all', true).includes('rss-10m'));
    assert.deepEqual(names('rss-10m'), ['rss-10m']);
  });

  it('refuses an unknown name, listing the cases and groups', () => {
    assert.throws(() => selectCases('csv,nope', false), /unknown case "nope"; cases: csv, no-dedupe,.*; groups: dedupe, formats, others, modes, all/);
  });
});

describe('bench: figures on two servers', () => {
  const target = { op: '<=', value: 1.35 } as const;

  it('judges targets on the production-shaped server only, and shows it first', () => {
    const fig = new Figures(1, ['pg15', 'embedded']);
    fig.add('embedded', '1. csv', 'ratio atlas / psql', 1, 0.8, ratioFmt, target);
    fig.add('pg15', '1. csv', 'ratio atlas / psql', 1, 1.5, ratioFmt, target);
    assert.deepEqual(
      fig.verdicts().map((v) => [v.value, v.ok]),
      [[1.5, false]],
    );
    const [header, , , line] = fig.renderSummary().split('\n');
    assert.match(header!, /^metric +pg15 median +embedded median +target \(pg15\) +result$/);
    assert.match(line!, /ratio atlas \/ psql +1\.50 +0\.80 +<= 1\.35 +MISSED$/);
  });

  it('gives no verdict when the production-shaped server was not measured, but judges figures of no server', () => {
    const fig = new Figures(1, ['embedded']);
    fig.add('embedded', '1. csv', 'ratio atlas / psql', 1, 0.8, ratioFmt, target);
    fig.addSingle(null, '8. start-up', 'ms', 90, ratioFmt, { op: '<=', value: 150 });
    assert.deepEqual(
      fig.verdicts().map((v) => [v.label, v.ok]),
      [['ms', true]],
    );
  });
});

describe('bench: the hand-written loader', () => {
  const db = useTestDb();
  const tmp = useTempDir('atlas-bench-test-');

  it("loads what COPY's own CSV parser loads: quotes, delimiters, line breaks, tabs, backslashes, empty fields", async () => {
    const csv = ['id,note,day', '1,plain,01/02/2024', '2,"a, ""quoted"" one",', '3,"two\nlines\tand a tab",12/31/2023', '4,back\\slash \\N,', '5,,03/04/2024', '6,é ✓,05/06/2024', ''].join('\n');
    const file = tmp.write('tricky.csv', csv);
    for (const t of ['by_copy', 'by_script']) await db.client.query(`create table ${db.schema}.${t} (id integer, note text, day date)`);
    await db.client.query("set datestyle to 'ISO, MDY'");
    const { from } = await import('pg-copy-streams');
    const { pipeline } = await import('node:stream/promises');
    const { Readable } = await import('node:stream');
    await pipeline(Readable.from([csv]), db.client.query(from(`copy ${db.schema}.by_copy from stdin with (format csv, header true)`)));

    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'handwritten.ts'), db.schema, 'by_script', file, 'id,note,day'], {
        env: { ...process.env, DATABASE_URL: db.url },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(run.code, 0, run.stderr);
    const byCopy = await db.rows(`select id, note, day::text from ${db.schema}.by_copy order by id`);
    assert.equal(byCopy.length, 6);
    assert.deepEqual(JSON.parse(run.stdout), { rows: byCopy.length });
    assert.deepEqual(await db.rows(`select id, note, day::text from ${db.schema}.by_script order by id`), byCopy);
  });
});
