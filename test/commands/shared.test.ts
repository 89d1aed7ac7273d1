import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { describePage, formatCount, formatDuration, formatRelativeTime, parseAge, parseSince, parseWholeNumber, renderDetail, shortIds, tableRef, truncate } from '../../src/commands/shared.ts';
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
    assert.equal(parseAge('10x'), null);
    assert.equal(parseAge('d'), null);
    const tz = process.env.TZ;
    try {
      // Dates and times without a zone are local, as history shows them; a written zone is honoured.
      process.env.TZ = 'America/New_York';
      assert.equal(parseSince('2025-01-31')?.toISOString(), '2025-01-31T05:00:00.000Z');
      assert.equal(parseSince('2025-07-31 14:30')?.toISOString(), '2025-07-31T18:30:00.000Z');
      assert.equal(parseSince('2025-07-31T14:30:05')?.toISOString(), '2025-07-31T18:30:05.000Z');
      assert.equal(parseSince('2026-12-02T12:59:51.435Z')?.toISOString(), '2026-12-02T12:59:51.435Z');
      assert.equal(parseSince('2025-01-31T10:00+01:00')?.toISOString(), '2025-01-31T09:00:00.000Z');
      assert.equal(parseSince('2025-01-31 10:00-0230')?.toISOString(), '2025-01-31T12:30:00.000Z');
      process.env.TZ = 'UTC';
      assert.equal(parseSince('2025-01-31')?.toISOString(), '2025-01-31T00:00:00.000Z');
      for (const typo of ['2025-02-30', '2025-13-01', '2025-01-31 24:00', '2025-1-31', '2025-01-31T10:00+1']) assert.throws(() => parseSince(typo), UsageError, typo);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
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
    assert.equal(truncate('ab😀😀😀😀', 4), 'ab😀…', 'an emoji is kept whole or left out, never halved');
    assert.equal(truncate('ab😀😀', 4), 'ab😀😀');
    const c = new Chalk({ level: 0 });
    const long = 'x'.repeat(300);
    const out = renderDetail([['group', [['value', long], ['multi', 'a\nb'], ['empty', null]]]], c);
    assert.ok(out.includes(long));
    assert.match(out, /multi {2}a\n {9}b/);
    assert.doesNotMatch(out, /empty/);
  });

  it('writes a table as SQL names it, quoting only what needs quotes (into public.Mixed Case could not be pasted into psql)', () => {
    assert.equal(tableRef('public', 'orders_2024'), 'public.orders_2024');
    assert.equal(tableRef('public', 'Mixed Case'), 'public."Mixed Case"');
    assert.equal(tableRef('Sales', 'a.b'), '"Sales"."a.b"');
    assert.equal(tableRef('public', 'say "hi"'), 'public."say ""hi"""');
  });

  it('describes a page, or why it is empty', () => {
    assert.equal(describePage('imports', { total_count: 57, limit: 20, offset: 20 }, 20), 'showing 21-40 of 57 imports; next page: --offset 40');
    assert.equal(describePage('imports', { total_count: 57, limit: 20, offset: 40 }, 17), 'showing 41-57 of 57 imports');
    assert.match(describePage('imports', { total_count: 57, limit: 20, offset: 60 }, 0), /--offset 60 is past the end/);
  });
  it('lists import ids by 8 characters, more where two listed ids share them (history 53f69e51 was ambiguous), never ending at a dash', () => {
    const a = '53f69e51-1111-4000-8000-000000000001';
    const e = '7777aaaa-0000-4000-8000-000000000005';
    const f = '7777aaaa-1000-4000-8000-000000000006';
    const b = '53f69e51-1122-4000-8000-000000000002';
    const c = '0badc0de-0000-4000-8000-000000000003';
    const d = '53f69e52-0000-4000-8000-000000000004';
    const short = shortIds([a, b, c, d]);
    assert.deepEqual([a, b, c, d].map(short), ['53f69e51-111', '53f69e51-112', '0badc0de', '53f69e52']);
    assert.equal(shortIds([a])(a), '53f69e51');
    assert.deepEqual([e, f].map(shortIds([e, f])), ['7777aaaa-0', '7777aaaa-1'], 'one past the dash');
  });
});
