import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgress, progressMode, type ProgressEnv } from '../../src/commands/progress.ts';

/** A clock that moves only when told to, running the timers that fall due on the way, and the lines written. */
function fakeEnv(): ProgressEnv & { text: string; advance(ms: number): void } {
  let now = 0;
  const timers = new Set<{ every: number; fn: () => void; next: number }>();
  const env = {
    text: '',
    now: () => now,
    every: (ms: number, fn: () => void) => {
      const timer = { every: ms, fn, next: now + ms };
      timers.add(timer);
      return () => void timers.delete(timer);
    },
    write: (text: string) => {
      env.text += text;
    },
    advance: (ms: number) => {
      const end = now + ms;
      for (;;) {
        const due = [...timers].filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
        if (due === undefined) break;
        now = due.next;
        due.next += due.every;
        due.fn();
      }
      now = end;
    },
  };
  return env;
}

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
    const env = fakeEnv();
    const reporter = createProgress('lines', env);
    reporter.phase('inserting');
    env.advance(6500);
    reporter.stop();
    // One line when the phase starts, one 5 s later (the next would be due at 10 s).
    const lines = env.text.split('\n').filter((l) => l.startsWith('atlas: inserting, '));
    assert.equal(lines.length, 2, env.text);
    assert.match(lines[1]!, /^atlas: inserting, [56](\.\d+)? s$/, 'the second says how long it has been');
  });

  it('the INSERT, which reports nothing until it ends, shows an estimate from the expected rate that moves, and never says 100%', () => {
    const env = fakeEnv();
    const reporter = createProgress('lines', env);
    reporter.inserting({ rows: 1000, rowsPerSecond: 100, basis: 'earlier imports' });
    reporter.phase('inserting');
    env.advance(6500);
    reporter.stop();
    const late = createProgress('lines', env);
    late.inserting({ rows: 10, rowsPerSecond: 1000, basis: 'staging' });
    late.phase('inserting');
    env.advance(5500);
    late.stop();
    const percents = [...env.text.matchAll(/^atlas: inserting, about (\d+)% of ([\d,]+) rows \(estimated at the (.+?), ([\d,]+) rows\/s\), /gm)].map((m) => [Number(m[1]), m[2], m[3], m[4]] as const);
    assert.equal(percents.length, 4, env.text);
    const [first, second, quick, overdue] = percents;
    assert.deepEqual([first![1], first![2], first![3]], ['1,000', 'rate of earlier imports', '100']);
    assert.ok(second![0] > first![0], `the estimate moves: ${first![0]}% then ${second![0]}%`);
    assert.deepEqual([quick![0], overdue![0], overdue![2]], [0, 99, 'staging rate'], 'past its expected end it stays below 100%');
  });
});
