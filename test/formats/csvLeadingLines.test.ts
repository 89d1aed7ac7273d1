/** CSV lines above the header: --skip-lines, Excel's `sep=` first line, and the warning when a title line was read as the header. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openCsv, type CsvOptions } from '../../src/formats/csv/csv.ts';
import { chunked, readRows } from './readerHelpers.ts';

const options: CsvOptions = { delimiter: null, header: true, encoding: null };

async function read(text: string, size: number, more: Partial<CsvOptions> = {}) {
  const table = await openCsv(chunked(text, size), { ...options, ...more });
  const rows = (await readRows(table)).map((r) => r.fields);
  return { header: table.header, rows, details: table.details, warnings: table.warnings ?? [] };
}

describe('CSV lines above the header', () => {
  const titled = 'Tabelle 1: Erwerbstätige\r\n\r\nObs;TOTEMP;GNPDEFL\r\n1;60323;83\r\n2;61122;88,5\r\n';

  it('--skip-lines N skips the first N lines (CRLF, CR or LF), whatever the pieces the input comes in, counted in the details', async () => {
    for (const text of [titled, titled.replaceAll('\r\n', '\n'), titled.replaceAll('\r\n', '\r')]) {
      for (let size = 1; size <= text.length; size += 3) {
        const r = await read(text, size, { skipLines: 2 });
        assert.deepEqual(r.header, ['Obs', 'TOTEMP', 'GNPDEFL'], `piece size ${size}`);
        assert.deepEqual(r.rows, [['1', '60323', '83'], ['2', '61122', '88,5']], `piece size ${size}`);
        assert.equal(r.details.delimiter, ';');
        assert.equal(r.details.skipped_lines, 2);
        assert.deepEqual(r.warnings, []);
      }
    }
  });

  it('without it, the title read as the header is warned of, naming the --skip-lines that starts at the real header', async () => {
    const r = await read(titled, 64 * 1024);
    assert.deepEqual(r.header, ['Tabelle 1: Erwerbstätige']);
    assert.equal(r.details.delimiter, ';');
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /^the header has 1 field\(s\) but 3 of the first 3 records have more \(most 3\): .* --skip-lines 2 \(line 3, 3 fields, becomes the header\)$/);
    // A header one field short (a trailing delimiter, R's row names) is not a title line.
    assert.deepEqual((await read('a,b\n1,2,3\n4,5,6\n', 100)).warnings.filter((w) => w.startsWith('the header has')), []);
  });

  it("Excel's sep= first line names the delimiter and is skipped, recorded; a line past it is not one", async () => {
    for (let size = 1; size <= 20; size++) {
      const r = await read('sep=;\r\na;b\r\n1,5;2\r\n', size);
      assert.deepEqual([r.header, r.rows, r.details.excel_sep_line, r.details.skipped_lines], [['a', 'b'], [['1,5', '2']], ';', 1], `piece size ${size}`);
    }
    const tab = await read('sep=\t\na\tb\n1\t2\n', 100);
    assert.deepEqual([tab.details.delimiter, tab.header], ['\t', ['a', 'b']]);
    const data = await read('name\nsep=;\n', 100, { delimiter: ',' });
    assert.deepEqual([data.header, data.rows, data.details.excel_sep_line], [['name'], [['sep=;']], undefined]);
  });

  it('--skip-lines past the end of the input says so', async () => {
    await assert.rejects(read('title\n', 100, { skipLines: 3 }), /no header row found after the 1 line\(s\) skipped \(--skip-lines\)/);
  });
});
