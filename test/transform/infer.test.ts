import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ColumnStats, type ColumnType } from '../../src/transform/infer.ts';

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
