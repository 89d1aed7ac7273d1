import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFromMapping, formatToMapping, mappingColumnsProblem, overBudget, parseErrorBudget, parseKeyList, validateMapping, type Mapping } from '../../src/transform/mapping.ts';

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

  it('per-column null_values: a list of non-empty strings, trimmed; [] is allowed', () => {
    const { mapping, problems } = validateMapping({ columns: { a: { null_values: [' NA ', '\\N'] }, b: { null_values: [] } } });
    assert.deepEqual(problems, []);
    assert.deepEqual(mapping.columns?.a?.null_values, ['NA', '\\N']);
    assert.deepEqual(validateMapping({ columns: { a: { null_values: 'NA' }, b: { null_values: ['NA', ''] } } }).problems, [
      'columns["a"].null_values must be a list of strings',
      'columns["b"].null_values has an empty value (empty fields are already NULL; was it given an unset variable?)',
    ]);
  });

  it('--key lists: names trimmed; an empty or blank name anywhere is refused', () => {
    assert.deepEqual(parseKeyList('email'), ['email']);
    assert.deepEqual(parseKeyList(' email , date '), ['email', 'date']);
    for (const bad of ['', '  ', ',', 'a,,b', 'a,', ',a']) assert.equal(typeof parseKeyList(bad), 'string', JSON.stringify(bad));
    assert.match(String(parseKeyList('')), /at least one column/);
    assert.deepEqual(validateMapping({ key: ['a', ' '] }).problems, ['"key" must be a non-empty list of column names, none of them blank']);
    // A column named twice was kept twice in mapping_config (world-countries: --key cca3,cca3).
    assert.equal(parseKeyList('cca3, cca3'), '--key "cca3, cca3" names cca3 twice');
    assert.deepEqual(validateMapping({ key: ['a', 'a'] }).problems, ['"key" names a column twice']);
  });

  it('refuses a time in the format of type date (its time was dropped without a word), two columns with one target, and a target the file\'s own column goes into by its name (palmerpenguins: species into island put island into island_2)', () => {
    assert.deepEqual(validateMapping({ columns: { d: { type: 'date', format: '%Y-%m-%d %H:%M' }, t: { type: 'timestamp', format: '%Y-%m-%d %H:%M' } } }).problems, [
      'columns["d"].format "%Y-%m-%d %H:%M" holds a time, which type date would drop: give type timestamp (or timestamptz) to keep it',
    ]);
    assert.deepEqual(validateMapping({ columns: { species: { target: 'x' }, island: { target: 'x' }, sex: { target: 'x', ignore: true } } }).problems, ['columns "species" and "island" all have target "x": a column holds one of them']);
    const header = ['species', 'island', 'Bill Length'];
    const problem = mappingColumnsProblem('m.json', { columns: { species: { target: 'island' } } }, header);
    assert.deepEqual(problem, { message: 'mapping file m.json: column "species" has target "island", the column the file\'s own "island" goes into', hint: 'give "island" a target of its own, or "ignore": true to leave it out' });
    assert.equal(mappingColumnsProblem('m.json', { columns: { species: { target: 'bill_length' } } }, header)?.message, 'mapping file m.json: column "species" has target "bill_length", the column the file\'s own "Bill Length" goes into');
    // The other column sent elsewhere or left out, or a column named as it is: no clash (a stored mapping_config names every column).
    for (const columns of [{ species: { target: 'island' }, island: { target: 'island_2' } }, { species: { target: 'island' }, island: { ignore: true } }, { island: { target: 'island' } }] as Array<NonNullable<Mapping['columns']>>) {
      assert.equal(mappingColumnsProblem('m.json', { columns }, header), null, JSON.stringify(columns));
    }
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

  it('"table" as SQL writes a table: name, schema.name (each part up to 63 bytes), "a.b" in double quotes; more dots outside quotes are refused', () => {
    for (const table of ['orders', 'public.orders', `public.${'t'.repeat(63)}`, '"a.b"', '"s"."a.b"', '"we""ird"']) assert.deepEqual(validateMapping({ table }).problems, [], table);
    assert.deepEqual(validateMapping({ table: 'a.b.c' }).problems, ['"table" "a.b.c" is not a name atlas can take: write name, schema.name, or \\"name\\" in double quotes for one that holds a dot']);
    assert.deepEqual(validateMapping({ table: `public.${'t'.repeat(64)}` }).problems, ['"table" must be a name of 1 to 63 bytes']);
  });

  it('names: a table or target of 1 to 63 bytes without NUL; a source column of at most 255 characters (what atlas keeps of a header cell)', () => {
    const { problems } = validateMapping({ table: 't'.repeat(64), columns: { a: { target: 'x\0y' }, ['q'.repeat(300)]: { type: 'date' }, ['r'.repeat(255)]: { type: 'date' } } });
    assert.deepEqual(problems, [
      '"table" must be a name of 1 to 63 bytes',
      'columns["a"].target must be a name of 1 to 63 bytes',
      'a column of 300 characters in "columns": atlas keeps the first 255 characters of a header cell or key, so name the column by those',
    ]);
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
