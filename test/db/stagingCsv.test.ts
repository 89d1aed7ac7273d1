/**
 * CSV runs that the server parses from the input's own bytes (COPY FORMAT csv, see formats/csv/csv.ts
 * and db/staging/fixedRows.ts) must stage exactly what atlas's scanner read: the same rows, row numbers and
 * values as the COPY text lines everything else is sent as. Checked on generated files full of
 * what makes the two differ or fail (line ends of every kind, quotes, blank and ragged lines, NUL
 * bytes, `\.`, multi-byte characters), read in pieces of random sizes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyIntoStage, createStage, type StageResult } from '../../src/db/staging/index.ts';
import { openCsv } from '../../src/formats/csv/csv.ts';
import { MAX_SOURCE_VALUE_CHARS } from '../../src/db/mappingErrors.ts';
import { recordLine } from '../../src/db/recordText.ts';
import { mulberry32 } from '../../bench/generate.ts';
import { type TestDb, useTestDb } from '../helpers.ts';
import { chunked, readRows } from '../formats/readerHelpers.ts';

type Staged = Array<{ _rn: number; _err: string | null; values: Array<string | null> }>;

/** Stages `bytes` (read `size` bytes at a time) in a transaction that is rolled back; the staged rows in row order. */
async function stage(db: TestDb, bytes: Buffer, size: number, delimiter: string | null, width: number, header = true): Promise<{ rows: Staged; result: StageResult }> {
  await db.client.query('begin');
  try {
    const table = await openCsv(chunked(bytes, size), { delimiter, header, encoding: null });
    await createStage(db.client, 'stage_csv', table);
    const result = await copyIntoStage(db.client, 'stage_csv', table, new Map());
    const columns = Array.from({ length: width }, (_, i) => `c${i + 1}`).join(', ');
    const res = await db.client.query(`select _rn, _err, array[${columns}] as values from stage_csv order by _rn`);
    return { rows: res.rows as Staged, result };
  } finally {
    await db.client.query('rollback');
  }
}

/** What the scanner read, as staging writes it: ragged rows padded or cut and marked with their text, NUL bytes removed. */
async function expected(bytes: Buffer, size: number, delimiter: string | null, header = true): Promise<{ width: number; rows: Staged }> {
  const table = await openCsv(chunked(bytes, size), { delimiter, header, encoding: null });
  const width = table.header.length;
  const rows = (await readRows(table)).map((r) => ({
    _rn: r.rn,
    _err: r.fields.length === width ? null : `${r.fields.length < width ? 'too_few' : 'too_many'}_fields:${r.fields.length}:${recordLine(r.fields, table.details.delimiter as string, MAX_SOURCE_VALUE_CHARS)}`,
    values: Array.from({ length: width }, (_, i) => r.fields[i]?.replace(/\0/g, '') ?? null),
  }));
  return { width, rows };
}

function csvGenerator(rand: () => number) {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)] as T;
  const chance = (p: number): boolean => rand() < p;
  const PLAIN = ['1', 'Ann', '12.50', 'x y', 'Zoë', '東京', '😀', ' padded ', '2024-05-03', '08/06/2021', 'true', '\\N', 'a\\b', '\\.'];
  return (delimiter: string): { text: string; width: number } => {
    const width = 1 + Math.floor(rand() * 4);
    const ends = pick([['\n'], ['\r\n'], ['\n', '\r\n'], ['\n', '\r'], ['\n']]);
    const field = (): string => {
      if (chance(0.85)) return pick(PLAIN);
      return pick([
        '', // NULL
        '""', // empty string
        `"a${delimiter}b"`,
        '"say ""hi"""',
        '"line\nbreak"',
        '"line\r\nbreak"',
        '"\r"',
        'ab"c"d', // a quote after text in an unquoted field: a character to the scanner, so its run goes as text
        'nul\0byte',
        '"\\."',
      ]);
    };
    const lines: string[] = [Array.from({ length: width }, (_, i) => `h${i}`).join(delimiter)];
    const count = Math.floor(rand() * 80);
    for (let n = 0; n < count; n++) {
      if (chance(0.01)) lines.push(''); // blank line
      else if (chance(0.01)) lines.push('   '); // whitespace only: a record of one field
      else if (chance(0.01)) lines.push('\\.');
      else {
        const w = chance(0.02) ? Math.max(1, width + pick([-1, 1, 2])) : width;
        lines.push(Array.from({ length: w }, field).join(delimiter));
      }
    }
    let text = chance(0.05) ? '\uFEFF' : '';
    lines.forEach((line, i) => {
      text += line;
      if (i < lines.length - 1 || chance(0.8)) text += pick(ends);
    });
    return { text, width };
  };
}

describe('CSV bytes parsed by the server', () => {
  const db = useTestDb();

  it('stage exactly what the scanner read, on 400 generated files read in pieces of random sizes', async () => {
    const rand = mulberry32(20261203);
    const generate = csvGenerator(rand);
    let csvRows = 0;
    let textRows = 0;
    for (let n = 0; n < 400; n++) {
      const delimiter = [',', ';', '\t', '|', ':'][n % 5]!;
      const { text } = generate(delimiter);
      const bytes = Buffer.from(text);
      const size = 1 + Math.floor(rand() * 200);
      const given = delimiter === ',' ? null : delimiter;
      // Every seventh file is read without a header (its first line is data).
      const header = n % 7 !== 3;
      const what = `file ${n} (pieces of ${size} bytes${header ? '' : ', no header'}): ${JSON.stringify(text)}`;
      let want: Awaited<ReturnType<typeof expected>>;
      try {
        want = await expected(bytes, size, given, header);
      } catch (err) {
        // Input the reader refuses (a quote never closed, no record at all): staging refuses it the same way.
        await assert.rejects(stage(db, bytes, size, given, 1, header), { message: (err as Error).message }, what);
        continue;
      }
      const got = await stage(db, bytes, size, given, want.width, header);
      assert.deepEqual(got.rows, want.rows, what);
      csvRows += got.result.csvRows;
      textRows += got.result.rows - got.result.csvRows;
    }
    // Both kinds of COPY were exercised, the server's parsing for a good share of the rows.
    assert.ok(csvRows > 1000 && textRows > 1000, `rows staged from CSV bytes: ${csvRows}, as text lines: ${textRows}`);
  });

  it('a large plain file goes almost all as CSV bytes; its rows are numbered as read', async () => {
    const lines = ['id,name,note'];
    for (let i = 1; i <= 20_000; i++) lines.push(`${i},name ${i},"said ""${i}"", twice"`);
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const got = await stage(db, bytes, 16 * 1024, null, 3);
    assert.equal(got.result.rows, 20_000);
    // All but the first piece's rows (the header's run goes as text).
    assert.ok(got.result.csvRows > 19_500, `${got.result.csvRows} rows from CSV bytes`);
    assert.deepEqual(got.rows[19_999], { _rn: 20_000, _err: null, values: ['20000', 'name 20000', 'said "20000", twice'] });
    assert.ok(got.rows.every((r, i) => r._rn === i + 1 && r.values[0] === String(i + 1)));
  });
});
