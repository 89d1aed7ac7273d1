import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFromMapping, formatToMapping, overBudget, parseErrorBudget, parseKeyList, validateMapping } from '../../src/transform/mapping.ts';

describe('mapping files', () => {
  it('accepts a complete mapping and comment keys', () => {
    const { problems } = validateMapping({
      '//': 'comment',
      table: 't',
      strategy: 'adapt_data',
      key: ['email'],
      columns: { 'Signup Date': { target: 'signup', type: 'date', format: '%d/%m/%Y' }, Notes: { ignore: true }, Amount: { type: 'numeric', format: '1.234,56', fit: 'cast' }, Code: { fit: 'error' } },
    });
    assert.deepEqual(problems, []);
  });

  it('--key lists: names trimmed; an empty or blank name anywhere is refused', () => {
    assert.deepEqual(parseKeyList('email'), ['email']);
    assert.deepEqual(parseKeyList(' email , date '), ['email', 'date']);
    for (const bad of ['', '  ', ',', 'a,,b', 'a,', ',a']) assert.equal(typeof parseKeyList(bad), 'string', JSON.stringify(bad));
    assert.match(String(parseKeyList('')), /at least one column/);
    assert.deepEqual(validateMapping({ key: ['a', ' '] }).problems, ['"key" must be a non-empty list of column names, none of them blank']);
  });

  it('reports every problem at once', () => {
    const { problems } = validateMapping({
      tabel: 'x',
      strategy: 'replace',
      key: [],
      columns: { a: { type: 'integr' }, b: { target: '' }, c: { type: 'date', format: '%Q' }, d: { format: '%Y' }, e: { colour: 'red' }, f: { fit: 'round' } },
    });
    assert.equal(problems.length, 9, problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('columns["f"].fit must be "error"')));
    assert.ok(problems.some((p) => p.includes('unknown key "tabel"')));
    assert.ok(problems.some((p) => p.includes('"strategy" must be one of')));
    assert.ok(problems.some((p) => p.includes('columns["a"].type "integr"')));
    assert.ok(problems.some((p) => p.includes('columns["c"].format "%Q"')));
    assert.ok(problems.some((p) => p.includes('columns["d"].format needs a "type"')));
    assert.ok(problems.some((p) => p.includes('columns["e"]: unknown key "colour"')));
  });

  it('formats round-trip between mapping text and value formats', () => {
    for (const [type, format] of [
      ['date', '%d/%m/%Y'],
      ['date', '%m/%d/%Y'],
      ['date', '%d.%m.%Y'],
      ['timestamp', '%m/%d/%Y'],
      ['numeric', '1,234.56'],
      ['numeric', '$1,234.56'],
      ['numeric', '1.234,56'],
    ] as const) {
      const f = formatFromMapping(type, format);
      assert.ok(f, `${type} ${format}`);
      assert.equal(formatToMapping(f), format);
    }
    assert.deepEqual(formatFromMapping('timestamp', '%m/%d/%Y %I:%M %p'), { kind: 'timestamp', order: 'mdy', separator: '/', zone: false });
    assert.equal(formatFromMapping('boolean', '%Y-%m-%d'), null);
  });

  it('error budgets: N errors allowed, N+1 fail; percentages of data rows', () => {
    const n = parseErrorBudget('2');
    assert.deepEqual(n, { kind: 'count', value: 2 });
    assert.equal(overBudget(n as never, 2, 100), false);
    assert.equal(overBudget(n as never, 3, 100), true);
    const p = parseErrorBudget('5%');
    assert.equal(overBudget(p as never, 5, 100), false);
    assert.equal(overBudget(p as never, 6, 100), true);
    assert.equal(typeof parseErrorBudget('many'), 'string');
    assert.equal(typeof parseErrorBudget('150%'), 'string');
    assert.equal(overBudget(null, 1_000_000, 1), false);
  });
});
