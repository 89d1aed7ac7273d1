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

  it('keeps as text a column whose every value is written with a plus sign (world-countries\' idd.root "+2"); a sign on some values only is a number', () => {
    const plus = infer(['+2', '+44', '', '+1']);
    assert.equal(plus.type, 'text');
    assert.deepEqual(plus.notes, ['kept as text: every value starts with + (codes such as +44, whose sign a number would drop); the values are otherwise integer']);
    assert.equal(infer(['+1.5', '+2']).type, 'text');
    assert.equal(infer(['+5', '-3', '+1']).type, 'integer');
    assert.equal(infer(['+5', '3']).type, 'integer');
  });

  it('keeps codes with leading zeros as text', () => {
    assert.equal(infer(['00123', '00456']).type, 'text');
    assert.equal(infer(['0', '10', '0.5']).type, 'numeric');
  });

  it('warns of leading zeros only where every value is digits, whatever the order of the values', () => {
    // The example is one of the file's values, the same in any order.
    const note = 'kept as text: every value is digits and 2 have leading zeros (codes such as 0042, whose zeros a number would lose)';
    for (const values of [['0042', '456', '007'], ['456', '007', '0042'], ['007', '', null, '456', '0042']]) assert.deepEqual(infer(values).notes, [note], values.join());
    // Codes that were never numbers (airport codes), before or after other text, and a sign or a decimal: no warning.
    for (const values of [['00A', 'ABQ'], ['ABQ', '00A'], ['0123', 'ABQ'], ['ABQ', '0123'], ['-0123', '12'], ['00.5', '1']]) assert.deepEqual(infer(values).notes, [], values.join());
    assert.deepEqual(infer(['0', '10']).notes, [], 'a lone 0 is no leading zero');
  });

  it('a placeholder for a missing value keeps a column text, and the note names it and --null-value', () => {
    const t = infer(['39.1', 'NA', '40.3', 'NA', '']);
    assert.equal(t.type, 'text');
    assert.deepEqual(t.notes, ['kept as text because of the placeholder "NA" (2 values); the other values are numeric. To store missing values as NULL: --null-value NA']);
    assert.deepEqual(infer(['2024-01-01', '\\N', '-']).notes, [
      `kept as text because of the placeholders "\\N" (1 value), "-" (1 value); the other values are date. To store missing values as NULL: --null-value '\\N' --null-value -`,
    ]);
    assert.deepEqual(infer(['#N/A', '1']).notes, [`kept as text because of the placeholder "#N/A" (1 value); the other values are integer. To store missing values as NULL: --null-value '#N/A'`]);
    // A text column stays text without a word; a column of placeholders only has no other type to name.
    assert.deepEqual(infer(['Adelie', 'NA']).notes, []);
    assert.deepEqual(infer(['NA', 'NA']).notes, []);
    // A column's own null value reaches inference only when quoted in a CSV: that is said instead.
    const s = new ColumnStats(new Set(['NA']));
    for (const v of ['0.606', 'NA']) s.observe(v);
    assert.deepEqual(s.decide().notes, ['kept as text because of "NA" (1 value) in quotes, which make a value text rather than a null value; the other values are numeric.']);
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

  it('notes a number column whose every dotted value could be thousands grouped with a dot (1.500), whatever the order of the values', () => {
    assert.equal(infer(['1.500', '2.000', '750']).thousandsDots, '1.500');
    assert.equal(infer(['750', '12.000', '3.000']).thousandsDots, '12.000', 'an integer column written 12.000 too');
    assert.equal(infer(['-1.500', '750']).thousandsDots, '-1.500');
    for (const values of [['1.500', '2.25'], ['2.25', '1.500'], ['0.125', '1.500'], ['1234.500'], ['1.5', '750'], ['750', '800'], ['1.500', 'x']]) {
      assert.equal(infer(values).thousandsDots, undefined, values.join(' '));
    }
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

  it('dates and timestamps written year first with slashes (2024/01/15): stored as dates, each value a correction; mixed with dashes, text', () => {
    const d = infer(['2024/01/15', '2024/1/5', '1999/12/31']);
    assert.deepEqual([d.type, d.format, d.mayNeedCorrection, d.invalidValues], ['date', { kind: 'date', order: 'ymd', separator: '/' }, true, 0]);
    const ts = infer(['2024/01/15 10:30', '2024/02/29 23:59:59', '2024/03/01T08:00:00.5']);
    assert.deepEqual([ts.type, ts.format], ['timestamp', { kind: 'timestamp', order: 'ymd', separator: '/', zone: false }]);
    assert.equal(infer(['2024/02/30', '2024/02/28', '2024/03/01']).invalidValues, 1);
    assert.equal(infer(['2024/01/15', '2024-01-16']).type, 'text');
    assert.equal(infer(['1234/56/78', '2222/99/99']).type, 'text');
  });

  it('dates written in more than one form: text, with the day/month order of each separator\'s dates from the whole column, whatever the order of the values', () => {
    const values = ['2026-03-05', '03/04/2026', '13/04/2026', '01.02.2026', '2026/03/01'];
    const mixed = infer(values);
    assert.deepEqual([mixed.type, mixed.format], ['text', { kind: 'text', dayMonth: { slash: 'dmy', dot: 'dmy' } }]);
    assert.deepEqual(infer([...values].reverse()).notes, mixed.notes);
    assert.match(mixed.notes.join(), /^kept as text: its dates are written in more than one form: 2026-03-05, 2026\/03\/01, 13\/04\/2026, 01\.02\.2026;/);
    assert.deepEqual(infer(['2026-03-05', '04/13/2026 10:00', '03.14.2026']).format, { kind: 'text', dayMonth: { slash: 'mdy', dot: 'mdy' } });
    assert.deepEqual(infer(['2026-03-05', '04/13/2026', '13/04/2026']).format, { kind: 'text', dayMonth: {} });
    // A value that is no date at all: not a column of dates.
    assert.deepEqual(infer(['2026-03-05', '03/04/2026', 'soon']).format, { kind: 'text' });
    assert.deepEqual(infer(['soon', '2026-03-05', '03/04/2026']).notes, []);
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
