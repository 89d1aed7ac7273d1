/** CSV records one field wider than their header: a delimiter at the end of each data line (dropped when empty), or R's row names without a name (said). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openCsv } from '../../src/formats/csv/csv.ts';
import { chunked, readRows } from './readerHelpers.ts';

async function read(text: string, size = 64 * 1024) {
  const table = await openCsv(chunked(text, size), { delimiter: null, header: true, encoding: null });
  const rows = (await readRows(table)).map((r) => r.fields);
  return { header: table.header, rows, details: table.details, warnings: table.warnings ?? [] };
}

describe('CSV records one field wider than the header', () => {
  it('a delimiter at the end of the data lines (not of the header, nor of every line): the empty field is dropped, counted and said', async () => {
    // data.table's tests/iterations.txt: the first data line has none, the others end in a tab.
    const text = 'Iteration\tLL\tChange\n1\t-668.7\t-\n2\t-327.4\t635.3\t\n3\t-300.1\t27.3\t\n';
    for (let size = 1; size <= text.length; size += 2) {
      const r = await read(text, size);
      assert.deepEqual(r.rows, [['1', '-668.7', '-'], ['2', '-327.4', '635.3'], ['3', '-300.1', '27.3']], `piece size ${size}`);
      assert.equal(r.details.trailing_empty_fields_dropped, 2);
      assert.deepEqual(r.warnings, ['2 record(s) end in an empty field the header has no name for (a delimiter at the end of the line): that empty field dropped from each']);
    }
  });

  it('decided on the first 20 records: a value in that field later is never dropped, the record stays ragged, and is said', async () => {
    const first = Array.from({ length: 20 }, (_, i) => `${i},x,\n`).join('');
    for (const size of [7, 64 * 1024]) {
      const r = await read(`a,b\n${first}5,6,7\n8,9,""\n10,11,\n`, size);
      assert.deepEqual(r.rows.slice(19), [['19', 'x'], ['5', '6', '7'], ['8', '9', ''], ['10', '11']], `piece size ${size}`);
      assert.equal(r.details.trailing_empty_fields_dropped, 21);
      assert.match(r.warnings[0]!, /^21 record\(s\) end in an empty field .*; 2 record\(s\) have a value there \(the first: data record 21\) and are kept out as mapping errors\. If the header instead lacks its first name \(R's row names\), import with --skip-lines 1 --no-header$/);
    }
    // A value there among the first 20: nothing is dropped.
    const kept = await read('a,b\n1,2,\n3,4,5\n');
    assert.deepEqual([kept.rows, kept.details.trailing_empty_fields_dropped], [[['1', '2', null], ['3', '4', '5']], undefined]);
  });

  it("R's write.table output, whose header has no name above the row names: nothing dropped, the header said to be one name short, with what to do", async () => {
    const r = await read('"Weight","Feed"\n"1",26.5,NA\n"2",27.6,5.2\n');
    assert.deepEqual(r.rows, [['1', '26.5', 'NA'], ['2', '27.6', '5.2']]);
    assert.equal(r.details.trailing_empty_fields_dropped, undefined);
    assert.deepEqual(r.warnings, [
      "2 of the first 2 records have one field more than the header (3, not 2): the header is one name short, as R's write.table writes no name above its row names; import with --skip-lines 1 --no-header (columns column_1, column_2, ..., which --mapping can rename), or add the missing name to the header line; if that first line is data, not names (a last field only some records have), import with --no-header --fill-short-rows",
    ]);
  });

  it("R's row names numbered 1, 2, 3 above an empty last column (na = \"\") are not taken for a delimiter at the line ends: nothing dropped, nothing shifted", async () => {
    const r = await read('"Weight","Note"\n"1",26.5,\n"2",27.6,\n"3",28.1,\n');
    assert.deepEqual(r.rows, [['1', '26.5', null], ['2', '27.6', null], ['3', '28.1', null]]);
    assert.equal(r.details.trailing_empty_fields_dropped, undefined);
    assert.match(r.warnings.join('\n'), /the header is one name short, as R's write\.table writes no name above its row names/);
  });

  it('records of the header width, with a stray wider one, are left as they are', async () => {
    const r = await read('a,b\n1,2\n3,4,5\n6,7\n');
    assert.deepEqual(r.rows, [['1', '2'], ['3', '4', '5'], ['6', '7']]);
    assert.deepEqual([r.details.trailing_empty_fields_dropped, r.warnings], [undefined, []]);
  });
});

describe('CSV separated by spaces', () => {
  it("read as one column (spaces are not sniffed), with a warning naming --delimiter ' ' (statsmodels' spector.csv); a one-column file of phrases gets none", async () => {
    const r = await read('OBS  GPA  TUCE  PSI  GRADE\n1  2.66  20  0  0\n2  2.89  22  0  0\n3  3.28  24  0  0\n');
    assert.deepEqual(r.header, ['OBS  GPA  TUCE  PSI  GRADE']);
    assert.deepEqual(r.warnings, ["the file was read as one column, but its header and 3 of its first 3 records split at spaces into 5 fields each: if it is separated by spaces, import it with --delimiter ' '"]);
    assert.deepEqual((await read('title\nGone with the wind\nAnnie Hall\n')).warnings, []);
    assert.deepEqual((await read('full name\nAnn Lee\nBo Ek\n')).warnings, []);
    const given = await openCsv(chunked('a b\n1 2\n', 64), { delimiter: ',', header: true, encoding: null });
    assert.deepEqual(given.warnings, []);
  });
  it("a first line of numbers or dates read as the header is said (papaparse's long-sample.csv has no header: its first record named the columns); a header of names is not", async () => {
    const r = await read('2013-11-23T02:30:31-08:00,42,ann@example.com,-1.5e3\n2013-11-24T02:30:31-08:00,43,bob@example.com,7\n');
    assert.deepEqual(r.warnings, [
      'the first line, read as the header, holds 3 value(s) shaped like data (2013-11-23T02:30:31-08:00, 42, -1.5e3) that name columns and are not imported as data: if it is data, import with --no-header (columns column_1, column_2, ...)',
    ]);
    assert.deepEqual((await read('id,name,born\n1,ann,1990-01-01\n')).warnings, []);
  });
});
