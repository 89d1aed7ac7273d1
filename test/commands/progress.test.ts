import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { progressMode } from '../../src/commands/progress.ts';
import { ROOT, tempDir } from '../helpers.ts';

describe('import progress', () => {
  it('a spinner only on a terminal with a width where ora animates; plain lines on other terminals and with --progress; nothing with --quiet', () => {
    const off = { quiet: false, progress: false };
    const term = { isTTY: true, columns: 100 };
    const env = { TERM: 'xterm-256color' };
    assert.equal(progressMode(term, off, env), 'spinner');
    assert.equal(progressMode({ isTTY: true, columns: 0 }, off, env), 'lines', 'a terminal of no width');
    assert.equal(progressMode({ isTTY: true }, off, env), 'lines', 'a terminal that does not say its width');
    assert.equal(progressMode(term, off, { TERM: 'dumb' }), 'lines', 'TERM=dumb');
    assert.equal(progressMode(term, off, { ...env, CI: '' }), 'lines', 'CI set, even empty');
    assert.equal(progressMode(term, { quiet: true, progress: true }, env), 'off', '--quiet wins');
    assert.equal(progressMode({ isTTY: false, columns: 100 }, off, env), 'off', 'no terminal');
    assert.equal(progressMode({}, { quiet: false, progress: true }, env), 'lines', '--progress without a terminal');
  });

  it('plain lines keep coming every 5 s through a phase that reports nothing until it ends', () => {
    const files = tempDir();
    try {
      const script = files.write(
        'beat.mts',
        `import { createProgress } from ${JSON.stringify(join(ROOT, 'src/commands/progress.ts'))};
const reporter = createProgress('lines');
reporter.phase('inserting');
await new Promise((done) => setTimeout(done, 6500));
reporter.stop();
`,
      );
      const res = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
      assert.equal(res.status, 0, res.stderr);
      // One line when the phase starts, one 5 s later (the next would be due at 10 s).
      const lines = res.stderr.split('\n').filter((l) => l.startsWith('atlas: inserting, '));
      assert.equal(lines.length, 2, res.stderr);
      assert.match(lines[1]!, /^atlas: inserting, [56](\.\d+)? s$/, 'the second says how long it has been');
    } finally {
      files.cleanup();
    }
  });

  it('the INSERT, which reports nothing until it ends, shows an estimate from the expected rate that moves, and never says 100%', () => {
    const files = tempDir();
    try {
      const script = files.write(
        'insert.mts',
        `import { createProgress } from ${JSON.stringify(join(ROOT, 'src/commands/progress.ts'))};
const reporter = createProgress('lines');
reporter.inserting({ rows: 1000, rowsPerSecond: 100, basis: 'earlier imports' });
reporter.phase('inserting');
await new Promise((done) => setTimeout(done, 6500));
reporter.stop();
const late = createProgress('lines');
late.inserting({ rows: 10, rowsPerSecond: 1000, basis: 'staging' });
late.phase('inserting');
await new Promise((done) => setTimeout(done, 5500));
late.stop();
`,
      );
      const res = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
      assert.equal(res.status, 0, res.stderr);
      const percents = [...res.stderr.matchAll(/^atlas: inserting, about (\d+)% of ([\d,]+) rows \(estimated at the (.+?), ([\d,]+) rows\/s\), /gm)].map((m) => [Number(m[1]), m[2], m[3], m[4]] as const);
      assert.equal(percents.length, 4, res.stderr);
      const [first, second, quick, overdue] = percents;
      assert.deepEqual([first![1], first![2], first![3]], ['1,000', 'rate of earlier imports', '100']);
      assert.ok(second![0] > first![0], `the estimate moves: ${first![0]}% then ${second![0]}%`);
      assert.deepEqual([quick![0], overdue![0], overdue![2]], [0, 99, 'staging rate'], 'past its expected end it stays below 100%');
    } finally {
      files.cleanup();
    }
  });
});
