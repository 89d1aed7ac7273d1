import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { formatBytes } from '../../src/commands/progress.ts';
import { BIN, FIXTURES, runAtlas, useTempDir, useTestDb } from '../helpers.ts';

/** Runs the binary with a resolve hook that lists every module it loads. */
function modulesLoaded(args: string[], logFile: string, env: Record<string, string>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', join(FIXTURES, 'record-loads.mjs'), BIN, ...args], {
      env: { ...process.env, ...env, ATLAS_LOAD_LOG: logFile, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && code !== 3) reject(new Error(`atlas ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve(readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== ''));
    });
  });
}

const HEAVY = /[/\\]node_modules[/\\](exceljs|sax|@aws-sdk)[/\\]/;

describe('start-up stays light; output without a terminal stays plain', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('atlas --help and atlas history load neither exceljs, sax nor the AWS SDK; an XLSX import does', async () => {
    const env = { ATLAS_DATABASE_URL: db.url, ATLAS_SCHEMA: db.schema };
    const help = await modulesLoaded(['--help'], join(files.dir, 'help.log'), env);
    assert.ok(help.length > 0, 'the hook recorded modules');
    assert.deepEqual(help.filter((u) => HEAVY.test(u)), []);
    const history = await modulesLoaded(['history', '--json'], join(files.dir, 'history.log'), env);
    assert.ok(history.some((u) => /[/\\]pg[/\\]/.test(u)), 'history did reach the database');
    assert.deepEqual(history.filter((u) => HEAVY.test(u)), []);

    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('s').addRows([['a'], [1]]);
    const xlsx = files.write('t.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
    const imported = await modulesLoaded(['import', xlsx, '--table', 'lazy_xlsx'], join(files.dir, 'import.log'), env);
    assert.ok(imported.some((u) => /[/\\]exceljs[/\\]/.test(u)), 'the hook sees exceljs when it is needed');
  });

  it('with no terminal, import writes no control characters, and progress only with --progress', async () => {
    const lines = ['n,when'];
    for (let i = 0; i < 50_000; i++) lines.push(`${i},2024-01-${String((i % 28) + 1).padStart(2, '0')}`);
    const path = files.write('plain.csv', `${lines.join('\n')}\n`);
    const conn = ['--database-url', db.url, '--schema', db.schema];
    const quietRun = await runAtlas(['import', path, '--table', 'plain1', ...conn]);
    assert.equal(quietRun.code, 0, quietRun.stderr);
    const withProgress = await runAtlas(['import', path, '--table', 'plain2', '--progress', ...conn]);
    assert.equal(withProgress.code, 0, withProgress.stderr);
    for (const r of [quietRun, withProgress]) {
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(r.stdout + r.stderr, /[\u0000-\u0008\u000b-\u001f\u007f]/, 'no escape sequences, carriage returns or other control characters');
    }
    assert.doesNotMatch(quietRun.stderr, /staging|inserting/);
    // The lines carry the figures the spinner shows: the staging's bytes of the total, rows and rate, however short it was.
    const size = formatBytes(statSync(path).size);
    assert.match(withProgress.stderr, new RegExp(`^atlas: staging, ${size} of ${size} \\(100%\\), 50,000 rows, [\\d,]+ rows/s, [\\d.]+ m?s$`, 'm'));
    assert.match(withProgress.stderr, /^atlas: inserting, about \d+% of 50,000 rows \(estimated at the (staging rate|rate of earlier imports), [\d,]+ rows\/s\), /m);
    assert.match(withProgress.stderr, /atlas: committing/);
    const json = await runAtlas(['import', path, '--table', 'plain3', '--progress', '--json', ...conn]);
    assert.equal(JSON.parse(json.stdout).rows_inserted, 50_000, 'stdout holds only the JSON document');
    const quiet = await runAtlas(['import', path, '--table', 'plain4', '--quiet', ...conn]);
    assert.equal(quiet.stdout + quiet.stderr, '');
  });
});
