import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { describePage, formatCount, formatDuration, formatRelativeTime, parseAge, parseSince, parseWholeNumber, renderDetail, truncate } from '../../src/commands/shared.ts';
import { UsageError } from '../../src/errors.ts';

describe('command output helpers', () => {
  it('formats counts and durations for people', () => {
    assert.equal(formatCount(1_500_000), '1,500,000');
    assert.equal(formatCount(null), '-');
    assert.equal(formatDuration(2.5), '2.5 s');
    assert.equal(formatDuration(0.1234), '0.123 s');
    assert.equal(formatDuration(12.34), '12.3 s');
    assert.equal(formatDuration(3), '3 s');
    assert.equal(formatDuration(65), '1 min 5 s');
    assert.equal(formatDuration(null), '-');
  });

  it('says how long ago', () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    const ago = (s: number) => formatRelativeTime(new Date(now - s * 1000).toISOString(), now);
    assert.equal(ago(10), 'just now');
    assert.equal(ago(5 * 60), '5 min ago');
    assert.equal(ago(3 * 3600), '3 h ago');
    assert.equal(ago(86_400), 'yesterday');
    assert.equal(ago(10 * 86_400), '10 days ago');
    assert.equal(ago(120 * 86_400), '4 months ago');
    assert.equal(ago(800 * 86_400), '2 years ago');
  });

  it('parses ages, dates and whole numbers, rejecting the rest', () => {
    assert.equal(parseAge('365d'), 365 * 86_400);
    assert.equal(parseAge('12h'), 12 * 3_600);
    assert.equal(parseAge('52w'), 52 * 604_800);
    assert.equal(parseAge('30m'), 1_800);
    assert.equal(parseAge('30m', 'hdw'), null, 'no minutes where m could be read as months');
    assert.equal(parseAge('10x'), null);
    assert.equal(parseAge('d'), null);
    assert.equal(parseSince('2025-01-31')?.toISOString(), '2025-01-31T00:00:00.000Z');
    assert.ok(Math.abs(Date.now() - 7 * 86_400_000 - parseSince('7d')!.getTime()) < 5_000);
    assert.equal(parseSince(undefined), null);
    assert.throws(() => parseSince('yesterday'), UsageError);
    assert.throws(() => parseSince('5'), UsageError);
    assert.equal(parseWholeNumber('--limit', '0'), 0);
    assert.throws(() => parseWholeNumber('--limit', '-1'), UsageError);
    assert.throws(() => parseWholeNumber('--limit', '1.5'), UsageError);
  });

  it('cuts list values to one line and keeps detail values whole', () => {
    assert.equal(truncate('short', 10), 'short');
    assert.equal(truncate('a much longer value', 10), 'a much lo…');
    assert.equal(truncate('two\nlines', 20), 'two lines');
    const c = new Chalk({ level: 0 });
    const long = 'x'.repeat(300);
    const out = renderDetail([['group', [['value', long], ['multi', 'a\nb'], ['empty', null]]]], c);
    assert.ok(out.includes(long));
    assert.match(out, /multi {2}a\n {9}b/);
    assert.doesNotMatch(out, /empty/);
  });

  it('describes a page, or why it is empty', () => {
    assert.equal(describePage('imports', { total_count: 57, limit: 20, offset: 20 }, 20), 'showing 21-40 of 57 imports; next page: --offset 40');
    assert.equal(describePage('imports', { total_count: 57, limit: 20, offset: 40 }, 17), 'showing 41-57 of 57 imports');
    assert.match(describePage('imports', { total_count: 57, limit: 20, offset: 60 }, 0), /--offset 60 is past the end/);
  });
});
