import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ColumnStats, DOT_DATE_RE, ISO_DATE_RE, ISO_TS_RE, QUICK, quickDate, SLASH_DATE_RE, type ColumnType } from '../../src/transform/infer.ts';

function infer(values: Array<string | null>): ColumnType {
  const s = new ColumnStats();
  for (const v of values) s.observe(v);
  return s.decide();
}

describe('type inference', () => {
  it('integer, bigint and numeric by range', () => {
    assert.equal(infer(['1', '-20', '300']).type, 'integer');
    assert.equal(infer(['1', '2147483648']).type, 'bigint');
    assert.equal(infer(['1', '99999999999999999999']).type, 'numeric');
    assert.equal(infer(['30.0', '25']).type, 'integer');
  });

  it('looks at every value: a late decimal makes the column numeric', () => {
    const values = Array.from({ length: 5000 }, (_, i) => String(i));
    values.push('3.5');
    assert.equal(infer(values).type, 'numeric');
  });

  it('keeps codes with leading zeros as text', () => {
    assert.equal(infer(['00123', '00456']).type, 'text');
    assert.equal(infer(['0', '10', '0.5']).type, 'numeric');
  });

  it('numeric forms: decimals, exponents, grouped thousands, currency', () => {
    assert.equal(infer(['-0.5', '1e3', '2.25']).type, 'numeric');
    const grouped = infer(['1,234.50', '999', '12,000']);
    assert.equal(grouped.type, 'numeric');
    assert.deepEqual(grouped.format, { kind: 'numeric', grouping: true, currency: null });
    const money = infer(['$1,234.50', '$3']);
    assert.deepEqual(money.format, { kind: 'numeric', grouping: true, currency: '$' });
    assert.equal(infer(['$1', '€2']).type, 'text');
  });

  it('booleans in every common spelling', () => {
    assert.equal(infer(['true', 'false', 'TRUE']).type, 'boolean');
    assert.equal(infer(['yes', 'no']).type, 'boolean');
    assert.equal(infer(['y', 'n', 'Y']).type, 'boolean');
    assert.equal(infer(['t', 'f']).type, 'boolean');
    assert.equal(infer(['1', '0', '1']).type, 'boolean');
    assert.equal(infer(['1', '0', '2']).type, 'integer');
    assert.equal(infer(['1', '1']).type, 'integer', 'only 1s: an id or a count, not a flag');
  });

  it('dates: ISO, US and European, with day/month order from the whole column', () => {
    assert.deepEqual(infer(['2024-12-25', '2025-01-01']).format, { kind: 'date', order: 'ymd', separator: '-' });
    assert.deepEqual(infer(['10/09/2025', '12/31/2024']).format, { kind: 'date', order: 'mdy', separator: '/' });
    assert.deepEqual(infer(['10/09/2025', '25/12/2024']).format, { kind: 'date', order: 'dmy', separator: '/' });
    assert.deepEqual(infer(['25.12.2024', '01.02.2023']).format, { kind: 'date', order: 'dmy', separator: '.' });
    const ambiguous = infer(['01/02/2024', '03/04/2024']);
    assert.equal(ambiguous.type, 'date');
    assert.match(ambiguous.notes.join(), /ambiguous/);
  });

  it('timestamps: ISO with zone, US with AM/PM', () => {
    assert.equal(infer(['2024-12-25T08:00:00Z', '2024-12-26T09:30:00+02:00']).type, 'timestamptz');
    assert.equal(infer(['2024-12-25 08:00:00', '2024-12-26T09:30']).type, 'timestamp');
    const us = infer(['10/09/2025 8:11 PM', '10/10/2025 9:00 AM']);
    assert.equal(us.type, 'timestamp');
    assert.deepEqual(us.format, { kind: 'timestamp', order: 'mdy', separator: '/', zone: false });
  });

  it('counts values shaped like dates that are not valid ones', () => {
    const t = infer(['2023-01-02', '2023-13-45', '2023-02-28']);
    assert.equal(t.type, 'date');
    assert.equal(t.invalidValues, 1);
    assert.equal(infer(['1234-56-78', '2222-99-99']).type, 'text');
  });

  it('empty values do not decide a type; all-empty is text', () => {
    assert.equal(infer(['', null, '42', ' ']).type, 'integer');
    assert.equal(infer(['', null]).type, 'text');
    assert.equal(infer(['abc', '1']).type, 'text');
  });
});

describe('quickDate (the fixed-width date forms read by position)', () => {
  it('reads exactly what the regular expressions capture, and declines what they would not match', () => {
    // Strings of the fixed widths over the characters those forms use, and some they do not.
    const alphabet = '0123456789-/.T :Z+x';
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const shapes = ['dddd-dd-dd', 'dddd-dd-ddTdd:dd:dd', 'dddd-dd-dd dd:dd:dd', 'dd/dd/dddd', 'dd.dd.dddd'];
    let read = 0;
    for (let i = 0; i < 60_000; i++) {
      // Mostly a shape with a character or two changed, so that both outcomes are common.
      const shape = shapes[random(shapes.length)] as string;
      let v = [...shape].map((ch) => (ch === 'd' ? String(random(10)) : ch)).join('');
      for (let k = random(3); k > 0; k--) {
        const at = random(v.length);
        v = v.slice(0, at) + alphabet[random(alphabet.length)] + v.slice(at + 1);
      }
      for (const [sep, ymd, dateRe] of [[0x2d, true, ISO_DATE_RE], [0x2f, false, SLASH_DATE_RE], [0x2e, false, DOT_DATE_RE]] as const) {
        const quick = quickDate(v, sep, ymd);
        const m = dateRe.exec(v) ?? (ymd ? ISO_TS_RE.exec(v) : null);
        if (quick === 0) continue;
        read++;
        assert.ok(m, `${v}: read by position but not matched`);
        assert.equal(quick === 2, !dateRe.test(v), v);
        const want = quick === 2 ? [m[1], m[2], m[3], m[4], m[5], m[6]] : [m[1], m[2], m[3]];
        assert.deepEqual([...QUICK.slice(0, want.length)], want.map(Number), v);
        if (quick === 2) assert.equal(m[7], undefined, v);
      }
    }
    assert.ok(read > 10_000, `only ${read} values were read by position`);
  });

  it('leaves the same decision as before for the forms it reads (US dates, ISO dates and timestamps)', () => {
    assert.deepEqual(infer(['08/06/2021', '12/31/1999', '02/29/2020']).format, { kind: 'date', order: 'mdy', separator: '/' });
    assert.equal(infer(['02/30/2021', '01/01/2021']).invalidValues, 1);
    const iso = infer(['2024-05-03T22:56:58', '2024-05-03 00:00:00']);
    assert.equal(iso.type, 'timestamp');
    assert.equal(iso.mayNeedCorrection, false);
    assert.equal(infer(['2024-05-03T24:00:00', '2024-05-03T23:00:00']).invalidValues, 1);
    assert.equal(infer(['2024-02-30', '2024-02-29']).invalidValues, 1);
  });
});
