/**
 * Importing into existing tables whose columns have types atlas never creates: declared lengths,
 * precisions and scales, which PostgreSQL's casts apply silently (issue 25.2); type and schema
 * names that are hostile text (25.4); types without an extended hash function (25.6). Runs on the
 * suite's server: `.ci/run` runs it on PostgreSQL 18 and on 15 (which has no pg_input_is_valid).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dryRunImport, importFile, type ImportOptions, type ImportResult } from '../../src/core/import.ts';
import { traceRow } from '../../src/core/lineage.ts';
import { undoImport } from '../../src/core/undo.ts';
import { getExistingTable } from '../../src/db/tables.ts';
import { AtlasError } from '../../src/errors.ts';
import { qualify, quoteIdent } from '../../src/transform/naming.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';
import { createTrackedTable, migrateTestDb } from '../importHelpers.ts';

const defaults: Omit<ImportOptions, 'source'> = { table: null };

/** The declared types of the fit tests, by column. */
const DECLARED: ReadonlyArray<[string, string]> = [
  ['k', 'integer'],
  ['s', 'varchar(8)'],
  ['c', 'char(3)'],
  ['n', 'numeric(10,2)'],
  ['b', 'bit(4)'],
  ['vb', 'bit varying(3)'],
  ['ts', 'timestamp(0)'],
  ['tz', 'timestamptz(2)'],
  ['t', 'time(1)'],
  ['iv', 'interval day'],
  ['d', 'short_text'],
  ['a', 'numeric(4,1)[]'],
];

/** One row per value that does not fit (k 2-15), with a row where everything fits (1) and one where a char(n) value has trailing spaces (16). */
const FIT_ROWS: ReadonlyArray<Record<string, string>> = [
  { k: '1', s: 'abcdefgh', c: 'ab', n: '12.30', b: '1010', vb: '101', ts: '2020-01-01 10:00:00', tz: '2020-01-01 10:00:00.12+00', t: '10:00:00.1', iv: '2 days', d: 'abcd', a: '{1.5}' },
  { k: '2', s: 'abcdefghijkl' },
  { k: '3', c: 'abcd' },
  { k: '4', n: '2.345' },
  { k: '5', n: '123456789012' },
  { k: '6', b: '10101' },
  { k: '7', b: '101' },
  { k: '8', vb: '1011' },
  { k: '9', ts: '2020-01-01 10:00:00.5' },
  { k: '10', tz: '2020-01-01 10:00:00.123+00' },
  { k: '11', t: '10:00:00.15' },
  { k: '12', iv: '1 day 3 hours' },
  { k: '13', d: 'abcde' },
  { k: '14', a: '{1.55}' },
  { k: '15', s: 'abcdefgh   ' },
  { k: '16', c: 'abc  ' },
];

describe('existing tables with declared lengths, hostile type names and unhashable types', () => {
  const db = useTestDb({ setup: migrateTestDb });
  const files = useTempDir();
  before(async () => {
    await db.client.query(`create domain ${qualify(db.schema, 'short_text')} as varchar(4)`);
  });

  const createTracked = (table: string, columns: ReadonlyArray<[string, string]>): Promise<void> => createTrackedTable(db, table, columns);

  const fitFile = (): string =>
    files.write('fit.csv', csv([DECLARED.map(([name]) => name), ...FIT_ROWS.map((r) => DECLARED.map(([name]) => r[name] ?? ''))]));

  const errorsOf = async (r: ImportResult): Promise<string[]> =>
    (
      await db.rows<{ e: string }>(`select record_number || ' ' || target_field || ' ' || error_type as e from ${db.schema}.mapping_errors where import_id = $1 order by record_number, target_field`, [
        r.import_id,
      ])
    ).map((x) => x.e);

  const storedOf = async (table: string): Promise<Array<Record<string, unknown>>> =>
    db.rows(
      `select k, s, c::text, n::text, b::text, vb::text, ts::text, to_char(tz at time zone 'UTC', 'HH24:MI:SS.US') as tz, t::text, iv::text, d, a::text, _corrections_applied as fixes
         from ${qualify(db.schema, table)} order by k`,
    );

  it('a value that does not fit its column\'s length, precision or scale is a mapping error, never stored changed', async () => {
    await createTracked('fits', DECLARED);
    const r = await importFile(db.settings, { ...defaults, source: fitFile(), table: 'fits' });
    assert.equal(r.status, 'partial');
    assert.deepEqual(await errorsOf(r), [
      '2 s value_too_long',
      '3 c value_too_long',
      '4 n precision_loss',
      '5 n numeric_overflow',
      '6 b value_too_long',
      '7 b value_too_long',
      '8 vb value_too_long',
      '9 ts precision_loss',
      '10 tz precision_loss',
      '11 t precision_loss',
      '12 iv precision_loss',
      '13 d value_too_long',
      '14 a precision_loss',
      '15 s value_too_long',
    ]);
    const messages = await db.rows<{ m: string }>(`select error_message as m from ${db.schema}.mapping_errors where import_id = $1 and record_number in (2, 4, 7, 13) order by record_number`, [r.import_id]);
    assert.deepEqual(messages.map((m) => m.m), [
      "Value 'abcdefghijkl' does not fit character varying(8): PostgreSQL would store 'abcdefgh'",
      "Value '2.345' does not fit numeric(10,2): PostgreSQL would store '2.35'",
      "Value '101' does not fit bit(4): PostgreSQL would store '1010'",
      `Value 'abcde' does not fit ${db.schema}.short_text: PostgreSQL would store 'abcd'`,
    ]);
    // Only the rows whose every value fits: a char(n) value's trailing spaces are not data.
    const stored = await storedOf('fits');
    assert.deepEqual(
      stored.map((row) => row.k),
      [1, 16],
    );
    assert.deepEqual(stored[0], {
      k: 1,
      s: 'abcdefgh',
      c: 'ab',
      n: '12.30',
      b: '1010',
      vb: '101',
      ts: '2020-01-01 10:00:00',
      tz: '10:00:00.120000',
      t: '10:00:00.1',
      iv: '2 days',
      d: 'abcd',
      a: '{1.5}',
      fixes: null,
    });
    assert.equal(stored[1]!.c, 'abc');
  });

  it('with "fit": "cast" a column takes what PostgreSQL\'s cast makes of a value, recorded in _corrections_applied', async () => {
    await createTracked('cast_fits', DECLARED);
    const columns = Object.fromEntries(DECLARED.map(([name]) => [name, { fit: 'cast' }]));
    const mappingFile = files.write('fit.mapping.json', JSON.stringify({ columns }));
    const r = await importFile(db.settings, { ...defaults, source: fitFile(), table: 'cast_fits', mappingFile });
    assert.equal(r.status, 'partial');
    // A number too large for numeric(10,2) cannot be rounded into it: still an error.
    assert.deepEqual(await errorsOf(r), ['5 n numeric_overflow']);
    assert.deepEqual(r.warnings.filter((w) => w.includes('"fit"')), ['mapping: "fit": "cast" for k has no effect: its column k (integer) has no declared length, precision or scale that could change a value']);
    const stored = new Map((await storedOf('cast_fits')).map((row) => [row.k, row]));
    assert.equal(stored.size, 15);
    const fix = (k: number, column: string): unknown => (stored.get(k)!.fixes as Record<string, unknown> | null)?.[column];
    assert.equal(stored.get(2)!.s, 'abcdefgh');
    assert.deepEqual(fix(2, 's'), { before: 'abcdefghijkl', after: 'abcdefgh', correction_type: 'truncation', target_type: 'CHARACTER VARYING(8)' });
    assert.equal(stored.get(4)!.n, '2.35');
    assert.deepEqual(fix(4, 'n'), { before: '2.345', after: 2.35, correction_type: 'rounding', target_type: 'NUMERIC(10,2)' });
    assert.equal(stored.get(7)!.b, '1010');
    assert.deepEqual(fix(7, 'b'), { before: '101', after: '1010', correction_type: 'truncation', target_type: 'BIT(4)' });
    assert.equal(stored.get(9)!.ts, '2020-01-01 10:00:01');
    assert.deepEqual(fix(9, 'ts'), { before: '2020-01-01 10:00:00.5', after: '2020-01-01T10:00:01', correction_type: 'rounding', target_type: 'TIMESTAMP(0) WITHOUT TIME ZONE' });
    assert.equal(stored.get(12)!.iv, '1 day');
    assert.equal(stored.get(13)!.d, 'abcd');
    assert.deepEqual(fix(13, 'd'), { before: 'abcde', after: 'abcd', correction_type: 'truncation', target_type: `${db.schema}.short_text` });
    assert.equal(stored.get(14)!.a, '{1.6}');
    // Values that fit carry no correction.
    assert.equal(stored.get(1)!.fixes, null);
    assert.equal(stored.get(16)!.fixes, null);
    const [rec] = await db.rows<{ s: unknown }>(`select mapping_config->'columns'->'s' as s from ${db.schema}.import_history where import_id = $1`, [r.import_id]);
    assert.deepEqual(rec!.s, { target: 's', type: 'character varying(8)', fit: 'cast' });

    // Many rows of few values take the per-value lookup (valueLookups.ts): the same values and corrections.
    const many = files.write('many.csv', csv([['k', 's'], ...Array.from({ length: 1200 }, (_, i) => [String(100 + i), i % 2 === 0 ? 'abcdefghijkl' : 'short'])]));
    const looked = await importFile(db.settings, { ...defaults, source: many, table: 'cast_fits', mappingFile: files.write('s.mapping.json', JSON.stringify({ columns: { s: { fit: 'cast' } } })) });
    assert.equal(looked.rows_inserted, 1200);
    assert.deepEqual(
      await db.rows(
        `select s, _corrections_applied->'s'->>'correction_type' as fix, count(*)::int as n from ${db.schema}.cast_fits where _import_id = $1 group by 1, 2 order by 1`,
        [looked.import_id],
      ),
      [
        { s: 'abcdefgh', fix: 'truncation', n: 600 },
        { s: 'short', fix: null, n: 600 },
      ],
    );
  });

  it('type and schema names read from the catalog are identifiers, never SQL: a quote in a domain\'s name, a function call in another\'s', async () => {
    const odd = `${db.schema}'s "odd" schema`;
    await db.client.query(`create schema ${quoteIdent(odd)}`);
    try {
      await db.client.query(`create table ${qualify(db.schema, 'pwned')} (called_at timestamptz default now())`);
      await db.client.query(`create function ${qualify(db.schema, 'atlas_pwn')}() returns text language sql as $$ insert into ${qualify(db.schema, 'pwned')} default values; select 'x' $$`);
      await db.client.query(`create domain ${qualify(odd, "customer's_amount")} as numeric(10,2)`);
      // What `a'||f()||'` would do pasted into a string literal: call the function.
      const injected = `a'||${db.schema}.atlas_pwn()||'`;
      await db.client.query(`create domain ${qualify(odd, injected)} as numeric`);
      await db.client.query(`create domain ${qualify(odd, `${injected}2`)} as text`);
      await createTracked('amounts', [
        ['amount', `${qualify(odd, "customer's_amount")}`],
        ['other', `${qualify(odd, injected)}`],
        ['note', `${qualify(odd, `${injected}2`)}`],
        ["it's \"quoted\"", 'integer'],
      ]);
      const path = files.write('amounts.csv', csv([['amount', 'other', 'note', 'q'], ['1,234.50', '1e3', 'a', '1'], ['2.345', '5', 'b', '2'], ['7', '1000', 'c', '3']]));
      const mappingFile = files.write('amounts.mapping.json', JSON.stringify({ columns: { q: { target: "it's \"quoted\"" } } }));
      const r = await importFile(db.settings, { ...defaults, source: path, table: 'amounts', mappingFile });
      assert.equal(r.status, 'partial');
      assert.deepEqual(await errorsOf(r), ['2 amount precision_loss']);
      const rows = await db.rows<Record<string, unknown>>(`select amount::text, other::text, note, "it's ""quoted""" as q, _corrections_applied as fixes from ${qualify(db.schema, 'amounts')} order by _source_row_number`);
      assert.deepEqual(
        rows.map((x) => [x.amount, x.other, x.note, x.q]),
        [
          ['1234.50', '1000', 'a', 1],
          ['7.00', '1000', 'c', 3],
        ],
      );
      const fixes = rows[0]!.fixes as Record<string, { target_type: string }>;
      assert.equal(fixes.amount!.target_type, `${quoteIdent(odd)}."customer's_amount"`);
      assert.equal(fixes.other!.target_type, `${quoteIdent(odd)}.${quoteIdent(injected)}`);
      assert.deepEqual(await db.rows(`select count(*)::int as n from ${qualify(db.schema, 'pwned')}`), [{ n: 0 }], 'no function named in a type name ran');
      // Its stored rows again, with one new: both found as duplicates through those types.
      const againPath = files.write('amounts_again.csv', csv([['amount', 'other', 'note', 'q'], ['1,234.50', '1e3', 'a', '1'], ['7', '1000', 'c', '3'], ['8', '1', 'd', '4']]));
      const again = await importFile(db.settings, { ...defaults, source: againPath, table: 'amounts', mappingFile });
      assert.equal(again.status, 'success');
      assert.equal(again.duplicates_found, 2);
      assert.deepEqual(await db.rows(`select count(*)::int as n from ${qualify(db.schema, 'pwned')}`), [{ n: 0 }]);
    } finally {
      await db.client.query(`drop schema ${quoteIdent(odd)} cascade`);
    }
  });

  /**
   * Built-in types a user may have created a table with, each with two distinct values as text.
   * Those without an extended hash function (json, xml, money, point, ...) made every import into
   * the table fail: "could not identify an extended hash function for type json".
   */
  const BUILT_IN: ReadonlyArray<[string, string, string]> = [
    ['smallint', '1', '2'],
    ['integer', '1', '2'],
    ['bigint', '1', '2'],
    ['numeric', '1.5', '2.5'],
    ['numeric(6,2)', '1.50', '2.50'],
    ['real', '1.5', '2.5'],
    ['double precision', '1.5', '2.5'],
    ['money', '1.50', '2.50'],
    ['boolean', 'true', 'false'],
    ['text', 'a', 'b'],
    ['varchar(5)', 'a', 'b'],
    ['char(2)', 'ab', 'cd'],
    ['"char"', 'a', 'b'],
    ['name', 'a', 'b'],
    ['bytea', '\\x01', '\\x02'],
    ['date', '2024-01-01', '2024-01-02'],
    ['time', '10:00:00', '11:00:00'],
    ['time with time zone', '10:00:00+02', '11:00:00+02'],
    ['timestamp', '2024-01-01 10:00:00', '2024-01-01 11:00:00'],
    ['timestamptz', '2024-01-01 10:00:00+00', '2024-01-01 11:00:00+00'],
    ['interval', '1 day', '2 days'],
    ['uuid', '6f1c8a7e-6b8a-4a53-9a4b-2f1d3c4b5a69', '7f1c8a7e-6b8a-4a53-9a4b-2f1d3c4b5a69'],
    ['json', '{"a": 1}', '{"a": 2}'],
    ['jsonb', '{"a": 1}', '{"a": 2}'],
    ['xml', '<a>1</a>', '<a>2</a>'],
    ['point', '(1,2)', '(2,3)'],
    ['line', '{1,-1,0}', '{1,-1,1}'],
    ['lseg', '[(0,0),(1,1)]', '[(0,0),(2,2)]'],
    ['box', '(1,1),(0,0)', '(2,2),(0,0)'],
    ['path', '((0,0),(1,1))', '((0,0),(2,2))'],
    ['polygon', '((0,0),(1,1),(1,0))', '((0,0),(2,2),(2,0))'],
    ['circle', '<(0,0),1>', '<(0,0),2>'],
    ['inet', '10.0.0.1', '10.0.0.2'],
    ['cidr', '10.0.0.0/8', '11.0.0.0/8'],
    ['macaddr', '08:00:2b:01:02:03', '08:00:2b:01:02:04'],
    ['macaddr8', '08:00:2b:01:02:03:04:05', '08:00:2b:01:02:03:04:06'],
    ['bit(3)', '101', '110'],
    ['bit varying(5)', '101', '1101'],
    ['tsvector', 'a b', 'c d'],
    ['tsquery', 'a & b', 'c & d'],
    ['int4range', '[1,2)', '[2,3)'],
    ['int8range', '[1,2)', '[2,3)'],
    ['numrange', '[1.5,2.5)', '[2.5,3.5)'],
    ['daterange', '[2024-01-01,2024-02-01)', '[2024-02-01,2024-03-01)'],
    ['tsrange', '[2024-01-01 10:00,2024-01-01 11:00)', '[2024-01-01 11:00,2024-01-01 12:00)'],
    ['tstzrange', '[2024-01-01 10:00+00,2024-01-01 11:00+00)', '[2024-01-01 11:00+00,2024-01-01 12:00+00)'],
    ['int4multirange', '{[1,2)}', '{[2,3)}'],
    ['oid', '1', '2'],
    ['regtype', 'integer', 'text'],
    ['pg_lsn', '0/16B3748', '0/16B3749'],
    ['pg_snapshot', '10:20:10,14,15', '10:21:10'],
    ['jsonpath', '$.a', '$.b'],
    ['tid', '(0,1)', '(0,2)'],
    ['xid', '1', '2'],
    ['xid8', '1', '2'],
    ['integer[]', '{1,2}', '{2,3}'],
    ['text[]', '{a,b}', '{c,d}'],
    ['json[]', '{"{\\"a\\": 1}"}', '{"{\\"a\\": 2}"}'],
    ['money[]', '{1.50}', '{2.50}'],
    ['point[]', '{"(1,2)"}', '{"(2,3)"}'],
    ['interval year to month', '1 year', '2 years'],
    ['interval day to second(3)', '1 day 00:00:01.5', '2 days'],
    ['interval(2)', '1.5 seconds', '2 seconds'],
    ['numeric(3,-1)', '120', '130'],
    ['timestamp(3)', '2024-01-01 10:00:00.123', '2024-01-01 10:00:00.124'],
    ['time(2) with time zone', '10:00:00.12+02', '10:00:00.13+02'],
    ['varchar(3)[]', '{ab,cd}', '{ef}'],
    ['bit(2)[]', '{10,01}', '{11}'],
    ['mood', 'sad', 'happy'],
    ['pair', '(1,"{""a"": 1}")', '(2,"{""a"": 2}")'],
    ['json_obj', '{"a": 1}', '{"a": 2}'],
  ];

  it('columns of every built-in type (json, xml, money, point, ranges, arrays, ...): an import, and the same rows found as duplicates', async () => {
    await db.client.query(`create type ${qualify(db.schema, 'mood')} as enum ('sad', 'happy')`);
    await db.client.query(`create type ${qualify(db.schema, 'pair')} as (n integer, j json)`);
    await db.client.query(`create domain ${qualify(db.schema, 'json_obj')} as json check (json_typeof(value) = 'object')`);
    const columns = BUILT_IN.map(([type], i) => [`v${i}`, type] as [string, string]);
    await createTracked('built_in', [['k', 'integer'], ...columns]);
    // Each column's type as atlas's SQL refers to it is the declared type, modifier included.
    const existing = await getExistingTable(db.client, db.schema, 'built_in');
    await db.client.query('begin');
    try {
      for (const c of existing!.columns) {
        await db.client.query(`create temp table ${quoteIdent(`probe_${c.name}`)} on commit drop as select null::${c.type.sql} as x`);
        const [probe] = await db.rows<{ t: string }>(`select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = $1::regclass and attname = 'x'`, [`pg_temp.probe_${c.name}`]);
        assert.equal(probe!.t, c.sqlType, `${c.name} (${c.sqlType}) is written ${c.type.sql}`);
      }
    } finally {
      await db.client.query('rollback');
    }
    const header = ['k', ...columns.map(([name]) => name)];
    const path = files.write('built_in.csv', csv([header, ['1', ...BUILT_IN.map(([, a]) => a)], ['2', ...BUILT_IN.map(([, , b]) => b)], ['3', ...BUILT_IN.map(() => '')]]));
    const first = await importFile(db.settings, { ...defaults, source: path, table: 'built_in' });
    assert.equal(first.status, 'success');
    assert.equal(first.rows_inserted, 3);
    const again = await importFile(db.settings, { ...defaults, source: path, table: 'built_in', allowSameFile: true });
    assert.equal(again.duplicates_found, 3, 'the same rows are duplicates (compared on the stored row hashes)');
    assert.equal(again.rows_inserted, 0);
    // The values swapped between k 1 and 2: duplicates on a key of every value column (hashed in the query), new rows on every column.
    const swapped = files.write('built_in_swapped.csv', csv([header, ['1', ...BUILT_IN.map(([, , b]) => b)], ['2', ...BUILT_IN.map(([, a]) => a)]]));
    const byValues = await importFile(db.settings, { ...defaults, source: swapped, table: 'built_in', key: columns.map(([name]) => name) });
    assert.equal(byValues.duplicates_found, 2);
    const byRow = await importFile(db.settings, { ...defaults, source: swapped, table: 'built_in', allowSameFile: true });
    assert.equal(byRow.duplicates_found, 0);
    assert.equal(byRow.rows_inserted, 2);
  });
});

/** Existing tables whose id is not atlas's integer (r7_id_shapes): refused in one line where rows are named by id, not with the SQL's error. */
describe('an existing table with real and double precision columns', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('a number they round is stored rounded and recorded as a rounding, with what was stored; numbers they hold exactly carry no correction; the same through the per-value lookup of many rows', async () => {
    await db.client.query(`create domain ${qualify(db.schema, 'ratio')} as real check (value >= 0)`);
    await createTrackedTable(db, 'floats', [['k', 'integer'], ['r', 'real'], ['d', 'double precision'], ['q', qualify(db.schema, 'ratio')]]);
    const file = files.write('floats.csv', csv([
      ['k', 'r', 'd', 'q'],
      ['1', '0.1', '0.1', '0.5'],
      ['2', '16777217', '9007199254740993', '0.1234567891'],
      ['3', '1.5e-3', '3.141592653589793238', '2'],
      ['4', '', '123456789.125', 'NaN'],
      ['5', '-0.25', '0.30000000000000004', '1.1'],
    ]));
    const r = await importFile(db.settings, { ...defaults, source: file, table: 'floats' });
    assert.deepEqual([r.status, r.rows_inserted], ['success', 5]);
    const rows = await db.rows<{ k: number; r: string | null; d: string; q: string; fixes: Record<string, unknown> | null }>(
      `select k, r::text, d::text, q::text, _corrections_applied as fixes from ${qualify(db.schema, 'floats')} order by k`,
    );
    const fixes = Object.fromEntries(rows.map((row) => [row.k, row.fixes]));
    assert.deepEqual([rows[1]!.r, rows[1]!.d, rows[1]!.q], ['1.6777216e+07', '9.007199254740992e+15', '0.12345679']);
    assert.deepEqual(fixes[2], {
      r: { before: '16777217', after: 16777216, correction_type: 'rounding', target_type: 'REAL' },
      d: { before: '9007199254740993', after: 9007199254740992, correction_type: 'rounding', target_type: 'DOUBLE PRECISION' },
      q: { before: '0.1234567891', after: 0.12345679, correction_type: 'rounding', target_type: `${db.schema}.ratio` },
    });
    // (1.5e-3 is held exactly, but not as written: the change of form is recorded, as for any number column.)
    assert.deepEqual(fixes[3], {
      r: { before: '1.5e-3', after: 0.0015, correction_type: 'type_coercion', target_type: 'REAL' },
      d: { before: '3.141592653589793238', after: 3.141592653589793, correction_type: 'rounding', target_type: 'DOUBLE PRECISION' },
    });
    // 0.1, 123456789.125, NaN, 1.1 and 0.30000000000000004 are the floats they say (their shortest text): no correction.
    assert.deepEqual([fixes[1], fixes[4], fixes[5]], [null, null, null]);

    // Many rows of few values take the per-value lookup (valueLookups.ts): the same values and corrections.
    const many = files.write('many.csv', csv([['k', 'r'], ...Array.from({ length: 1200 }, (_, i) => [String(100 + i), i % 2 === 0 ? '16777217' : '0.5'])]));
    const looked = await importFile(db.settings, { ...defaults, source: many, table: 'floats' });
    assert.equal(looked.rows_inserted, 1200);
    assert.deepEqual(
      await db.rows(`select r::text, _corrections_applied->'r' as fix, count(*)::int as n from ${qualify(db.schema, 'floats')} where _import_id = $1 group by 1, 2 order by 1`, [looked.import_id]),
      [
        { r: '0.5', fix: null, n: 600 },
        { r: '1.6777216e+07', fix: { before: '16777217', after: 16777216, correction_type: 'rounding', target_type: 'REAL' }, n: 600 },
      ],
    );
  });

  it('a role whose extra_float_digits is 0 (floats printed short) gets no false roundings, and undo of an upsert puts its floats back exactly', async () => {
    await createTrackedTable(db, 'short_floats', [['k', 'integer'], ['d', 'double precision']], ['unique (k)']);
    const url = new URL(db.settings.databaseUrl!);
    url.searchParams.set('options', '-c extra_float_digits=0');
    const settings = { ...db.settings, databaseUrl: url.toString() };
    const first = await importFile(settings, { ...defaults, source: files.write('s1.csv', csv([['k', 'd'], ['1', '0.30000000000000004'], ['2', '0.1']])), table: 'short_floats' });
    const table = qualify(db.schema, 'short_floats');
    assert.deepEqual(await db.rows(`select k, d::text, _corrections_applied as fix from ${table} where _import_id = $1 order by k`, [first.import_id]), [
      { k: 1, d: '0.30000000000000004', fix: null },
      { k: 2, d: '0.1', fix: null },
    ]);
    const before = await db.rows(`select t::text as r from ${table} t order by id`);
    const u = await importFile(settings, { ...defaults, source: files.write('s2.csv', csv([['k', 'd'], ['1', '0.5']])), table: 'short_floats', mode: 'upsert', key: ['k'] });
    assert.equal(u.rows_updated, 1);
    await undoImport(settings, u.import_id, { dryRun: false, force: false, purge: false });
    assert.deepEqual(await db.rows(`select t::text as r from ${table} t order by id`), before, 'every digit back');
  });
});

describe('an existing table with an interval column', () => {
  const db = useTestDb();
  const files = useTempDir();
  const file = (name: string, rows: string[][]): string => files.write(name, csv([['k', 'd'], ...rows]));
  const stored = async (table: string) => (await db.rows<{ k: string; d: string }>(`select k, d::text as d from ${qualify(db.schema, table)} order by id`)).map((r) => `${r.k} ${r.d}`);

  it("1 mon and 30 days, which interval's equality takes as equal, are different values: not a duplicate, an upsert's change, not a row a replace keeps in place", async () => {
    await createTrackedTable(db, 'spans', [['k', 'text'], ['d', 'interval']]);
    await importFile(db.settings, { ...defaults, source: file('s1.csv', [['a', '30 days']]), table: 'spans' });
    const again = await importFile(db.settings, { ...defaults, source: file('s2.csv', [['a', '1 mon'], ['a', '30 days'], ['b', '1 mon'], ['b', '30 days']]), table: 'spans' });
    assert.deepEqual([again.rows_inserted, again.duplicates_found], [3, 1]);
    assert.deepEqual(await stored('spans'), ['a 30 days', 'a 1 mon', 'b 1 mon', 'b 30 days']);

    await createTrackedTable(db, 'spans_u', [['k', 'text'], ['d', 'interval']], ['unique (k)']);
    await importFile(db.settings, { ...defaults, source: file('u1.csv', [['a', '30 days'], ['b', '2 days']]), table: 'spans_u' });
    const u = await importFile(db.settings, { ...defaults, source: file('u2.csv', [['a', '1 mon'], ['b', '48:00:00']]), table: 'spans_u', mode: 'upsert', key: ['k'] });
    assert.deepEqual([u.rows_updated, u.rows_unchanged], [2, 0]);
    assert.deepEqual(await stored('spans_u'), ['a 1 mon', 'b 48:00:00']);

    const r = await importFile(db.settings, { ...defaults, source: file('r1.csv', [['a', '30 days'], ['b', '48:00:00']]), table: 'spans_u', mode: 'replace' });
    assert.deepEqual([r.rows_deleted, r.rows_inserted, r.rows_unchanged], [1, 1, 1], 'b is kept in place, a is replaced');
    assert.deepEqual((await stored('spans_u')).sort(), ['a 30 days', 'b 48:00:00']);
  });
});

describe('an existing table whose id is not an integer, or that has none', () => {
  const db = useTestDb();
  const files = useTempDir();
  const rows = (): string => files.write('skus.csv', csv([['sku', 'qty'], ['a', '1'], ['b', '2']]));
  const refusal = (pattern: RegExp) => (err: unknown) => err instanceof AtlasError && pattern.test(err.message);

  it('refuses the duplicate check, upsert and replace naming the id column; appends without the check', async () => {
    await createTrackedTable(db, 'by_uuid', [['sku', 'text'], ['qty', 'integer']]);
    await db.client.query(`alter table ${qualify(db.schema, 'by_uuid')} alter column id drop identity`);
    await db.client.query(`alter table ${qualify(db.schema, 'by_uuid')} alter column id type uuid using gen_random_uuid(), alter column id set default gen_random_uuid()`);
    await assert.rejects(importFile(db.settings, { ...defaults, source: rows(), table: 'by_uuid' }), refusal(/: the id column of table by_uuid is uuid, not an integer: the duplicate check names/));
    await assert.rejects(importFile(db.settings, { ...defaults, source: rows(), table: 'by_uuid', mode: 'upsert', key: ['sku'] }), refusal(/is uuid, not an integer: an upsert names/));
    await assert.rejects(importFile(db.settings, { ...defaults, source: rows(), table: 'by_uuid', mode: 'replace' }), refusal(/is uuid, not an integer: a replace names/));
    const plain = await importFile(db.settings, { ...defaults, source: rows(), table: 'by_uuid', dedupe: false });
    assert.equal(plain.rows_inserted, 2);
    await assert.rejects(traceRow(db.settings, 'by_uuid', 1), refusal(/^the id column of table .*by_uuid is uuid, not an integer/));

    await createTrackedTable(db, 'no_id', [['sku', 'text'], ['qty', 'integer']]);
    await db.client.query(`alter table ${qualify(db.schema, 'no_id')} drop column id`);
    await assert.rejects(importFile(db.settings, { ...defaults, source: rows(), table: 'no_id' }), refusal(/: table no_id has no id column: the duplicate check names/));
    assert.equal((await importFile(db.settings, { ...defaults, source: rows(), table: 'no_id', dedupe: false })).rows_inserted, 2);
  });

  it('takes an id of any integer type, under a domain too', async () => {
    await createTrackedTable(db, 'int_id', [['sku', 'text'], ['qty', 'integer']]);
    await db.client.query(`create domain ${qualify(db.schema, 'row_number')} as integer`);
    await db.client.query(`create sequence ${qualify(db.schema, 'int_id_seq')}`);
    await db.client.query(`alter table ${qualify(db.schema, 'int_id')} alter column id drop identity`);
    await db.client.query(
      `alter table ${qualify(db.schema, 'int_id')} alter column id type ${qualify(db.schema, 'row_number')}, alter column id set default nextval('${db.schema}.int_id_seq')`,
    );
    assert.equal((await importFile(db.settings, { ...defaults, source: rows(), table: 'int_id' })).rows_inserted, 2);
    assert.equal((await importFile(db.settings, { ...defaults, source: rows(), table: 'int_id', allowSameFile: true })).duplicates_found, 2);
    assert.equal((await traceRow(db.settings, 'int_id', 1)).row_id, 1);
  });

  it('a header spelled exactly as a quoted column of the table ("Order Date") goes into it, with its declared type; a header only alike in letters is a new column', async () => {
    await createTrackedTable(db, 'Orders', [['Order Date', 'date'], ['Amount', 'numeric(8,2)']]);
    const file = files.write('orders.csv', csv([['Order Date', 'Amount', 'note'], ['2024-01-01', '1.505', 'x'], ['2024-01-02', '2.5', 'y']]));
    const r = await importFile(db.settings, { ...defaults, source: file, table: 'Orders' });
    assert.deepEqual([r.status, r.rows_inserted, r.mapping_errors_count], ['partial', 1, 1]);
    const columns = await db.rows<{ c: string }>(`select attname as c from pg_attribute where attrelid = to_regclass($1) and attnum > 0 and not attisdropped order by attnum`, [qualify(db.schema, 'Orders')]);
    assert.deepEqual(columns.map((c) => c.c).filter((c) => !c.startsWith('_') && c !== 'id'), ['Order Date', 'Amount', 'note']);
    assert.deepEqual(await db.rows(`select "Order Date"::text as d, "Amount"::text as a, note from ${qualify(db.schema, 'Orders')}`), [{ d: '2024-01-02', a: '2.50', note: 'y' }]);
    // The same letters in other case are another name: sanitised, a column of its own.
    const other = await importFile(db.settings, { ...defaults, source: files.write('orders2.csv', csv([['order date'], ['2024-02-01']])), table: 'Orders' });
    assert.equal(other.columns.find((c) => c.source === 'order date')?.target, 'order_date');
  });
});

describe('an existing table with columns the server fills (generated, identity generated always)', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('a file lacking them imports without calling them missing; a file bringing one is refused before anything is written, dry run too; "ignore": true leaves it out', async () => {
    await createTrackedTable(db, 'priced', [['qty', 'integer'], ['price', 'numeric']]);
    const table = qualify(db.schema, 'priced');
    await db.client.query(`alter table ${table} add column total numeric generated always as (qty * price) stored, add column code integer generated always as identity`);
    const lacking = await importFile(db.settings, { ...defaults, source: files.write('a.csv', csv([['qty', 'price'], ['2', '1.5']])), table: 'priced' });
    assert.equal(lacking.rows_inserted, 1);
    assert.equal(lacking.import_strategy, 'merge_exact');
    assert.deepEqual(lacking.warnings.filter((w) => /total|code/.test(w)), [], 'computed columns are not "left NULL"');
    assert.deepEqual(await db.rows(`select total::text as total, code from ${table}`), [{ total: '3.0', code: 1 }]);

    const bringing = files.write('b.csv', csv([['qty', 'price', 'total'], ['3', '2', '6']]));
    const refused = /^import [0-9a-f-]+ into priced failed: column total of table priced is a generated column: PostgreSQL computes its values and refuses the file's; nothing was written$/;
    await assert.rejects(importFile(db.settings, { ...defaults, source: bringing, table: 'priced' }), (err: unknown) => err instanceof AtlasError && refused.test(err.message) && /"ignore": true/.test(err.hint ?? ''));
    await assert.rejects(dryRunImport(db.settings, { ...defaults, source: bringing, table: 'priced' }), /column total of table priced is a generated column/);
    await assert.rejects(
      importFile(db.settings, { ...defaults, source: files.write('c.csv', csv([['qty', 'price', 'code'], ['3', '2', '7']])), table: 'priced' }),
      /column code of table priced is an identity column generated always/,
    );
    assert.equal((await db.rows(`select 1 from ${table}`)).length, 1, 'nothing written');

    const mappingFile = files.write('m.json', JSON.stringify({ columns: { total: { ignore: true } } }));
    const ignored = await importFile(db.settings, { ...defaults, source: bringing, table: 'priced', mappingFile });
    assert.equal(ignored.rows_inserted, 1);
    assert.deepEqual(ignored.columns_left_out, [{ source: 'total', reason: 'ignored by the mapping' }]);
    assert.deepEqual(await db.rows(`select total::text as total from ${table} where qty = 3`), [{ total: '6' }]);
  });
});

describe('an existing table whose columns are domains with CHECKs and NOT NULL', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('a value a domain refuses is a mapping error of its row, not a failed import; a NOT NULL domain with a default fills rows of a file lacking it, and its NULL is a mapping error', async () => {
    const d = (name: string): string => qualify(db.schema, name);
    await db.client.query(`create domain ${d('positive_int')} as integer check (value > 0)`);
    await db.client.query(`create domain ${d('recent_day')} as date check (value >= '2000-01-01')`);
    await db.client.query(`create domain ${d('code_nn')} as text not null default 'none'`);
    await createTrackedTable(db, 'stock', [['qty', d('positive_int')], ['day', d('recent_day')], ['code', d('code_nn')]]);
    const file = files.write('stock.csv', csv([['qty', 'day'], ['1', '2020-01-01'], ['-5', '2020-01-02'], ['3', '1999-01-01'], ['4', '2021-06-30']]));
    const r = await importFile(db.settings, { ...defaults, source: file, table: 'stock' });
    assert.deepEqual([r.status, r.rows_inserted, r.mapping_errors_count], ['partial', 2, 2]);
    const errors = await db.rows<{ record_number: number; source_field: string; error_type: string; error_message: string }>(
      `select record_number, source_field, error_type, error_message from ${d('mapping_errors')} where import_id = $1 order by record_number`,
      [r.import_id],
    );
    assert.deepEqual(errors.map((e) => [e.record_number, e.source_field, e.error_type]), [[2, 'qty', 'check_violation'], [3, 'day', 'check_violation']]);
    assert.match(errors[0]!.error_message, /^Value '-5' is refused by a CHECK of .*positive_int, the type of column qty$/);
    assert.deepEqual(await db.rows(`select qty, day::text as day, code from ${d('stock')} order by qty`), [{ qty: 1, day: '2020-01-01', code: 'none' }, { qty: 4, day: '2021-06-30', code: 'none' }]);
    // The stored rows' hashes are their values' (the domain's default included): the same rows, code and all, are duplicates.
    const whole = files.write('whole.csv', csv([['qty', 'day', 'code'], ['1', '2020-01-01', 'none'], ['4', '2021-06-30', 'none'], ['5', '2022-01-01', ''], ['6', '2023-01-01', 'x']]));
    const again = await importFile(db.settings, { ...defaults, source: whole, table: 'stock' });
    assert.deepEqual([again.rows_inserted, again.duplicates_found, again.mapping_errors_count], [1, 2, 1]);
    assert.deepEqual(again.warnings.filter((w) => /hash/.test(w)), []);
    // A NULL into the NOT NULL domain is its row's mapping error.
    assert.deepEqual(await db.rows(`select error_type, source_field from ${d('mapping_errors')} where import_id = $1`, [again.import_id]), [{ error_type: 'missing_required', source_field: 'code' }]);
  });

  it('a domain over a type with a modifier: a value it would round or cannot hold says so, a value only its CHECK refuses is a check_violation; a NOT NULL domain without a default is required of the file', async () => {
    const d = (name: string): string => qualify(db.schema, name);
    await db.client.query(`create domain ${d('small_price')} as numeric(6,2) check (value < 1000)`);
    await db.client.query(`create domain ${d('sku_nn')} as text not null`);
    await createTrackedTable(db, 'prices', [['price', d('small_price')], ['sku', d('sku_nn')]]);
    const file = files.write('prices.csv', csv([['price', 'sku'], ['10.50', 'a'], ['2000', 'b'], ['1.234', 'c'], ['123456', 'd'], ['x', 'e'], ['7', '']]));
    const r = await importFile(db.settings, { ...defaults, source: file, table: 'prices' });
    assert.deepEqual([r.status, r.rows_inserted, r.mapping_errors_count], ['partial', 1, 5]);
    const errors = await db.rows<{ record_number: number; error_type: string; error_message: string }>(
      `select record_number, error_type, error_message from ${d('mapping_errors')} where import_id = $1 order by record_number`,
      [r.import_id],
    );
    assert.deepEqual(
      errors.map((e) => [e.record_number, e.error_type]),
      [[2, 'check_violation'], [3, 'precision_loss'], [4, 'numeric_overflow'], [5, 'type_mismatch'], [6, 'missing_required']],
    );
    assert.match(errors[0]!.error_message, /^Value '2000' is refused by a CHECK of .*small_price/);
    assert.match(errors[1]!.error_message, /PostgreSQL would store '1\.23'/);

    const lacking = files.write('no_sku.csv', csv([['price'], ['1.00']]));
    await assert.rejects(importFile(db.settings, { ...defaults, source: lacking, table: 'prices' }), /requires column\(s\) the file does not have: sku \(NOT NULL without a default\)/);
    assert.equal((await db.rows(`select 1 from ${d('prices')}`)).length, 1, 'nothing written');
    // Its record does not also warn that the column it failed for is left NULL.
    const failed = await db.rows<{ warnings: string }>(`select coalesce(array_to_string(warnings, ' / '), '') as warnings from ${d('import_history')} where status = 'failed' and table_name = 'prices'`);
    assert.equal(failed.length, 1);
    assert.doesNotMatch(failed[0]!.warnings, /sku/);
  });
});

describe('an existing table whose identity is behind ids inserted by hand', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('the failure says so and gives the statement that moves the identity past them; after it the import goes in', async () => {
    await createTrackedTable(db, 'Hand Made', [['sku', 'text']]);
    const table = qualify(db.schema, 'Hand Made');
    const first = await importFile(db.settings, { ...defaults, source: files.write('a.csv', csv([['sku'], ['a']])), table: 'Hand Made' });
    await db.client.query(`insert into ${table} (id, sku, _import_id, _source_row_number) overriding system value values (2, 'by hand', $1, 99)`, [first.import_id]);
    const file = files.write('b.csv', csv([['sku'], ['b']]));
    let hint = '';
    await assert.rejects(importFile(db.settings, { ...defaults, source: file, table: 'Hand Made' }), (err: unknown) => {
      hint = err instanceof AtlasError ? (err.hint ?? '') : '';
      return /duplicate key value/.test(String((err as Error).message)) && !/--mode upsert/.test(hint);
    });
    const statement = /: (select setval\(.*\))$/.exec(hint)?.[1];
    assert.ok(statement !== undefined, hint);
    await db.client.query(statement);
    assert.equal((await importFile(db.settings, { ...defaults, source: file, table: 'Hand Made' })).rows_inserted, 1);
  });
});
