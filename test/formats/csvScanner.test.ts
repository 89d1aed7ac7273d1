import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsvScanner, sniffDelimiter } from '../../src/formats/csv/csvScanner.ts';

function scan(text: string, delimiter = ',', chunkSize = text.length || 1): Array<Array<string | null>> {
  const out: Array<Array<string | null>> = [];
  const s = new CsvScanner(delimiter, (fields) => out.push(fields));
  for (let i = 0; i < text.length; i += chunkSize) s.push(text.slice(i, i + chunkSize));
  s.end();
  return out;
}

describe('CsvScanner', () => {
  const sample = 'a,b,c\r\n1,"x, ""y""",\n2,"multi\nline",""\r3,,z';
  const expected = [
    ['a', 'b', 'c'],
    ['1', 'x, "y"', null],
    ['2', 'multi\nline', ''],
    ['3', null, 'z'],
  ];

  it('splits quoted fields, doubled quotes, CRLF, lone CR and quoted newlines', () => {
    assert.deepEqual(scan(sample), expected);
  });

  it('gives the same records whatever the chunk boundaries', () => {
    for (let size = 1; size <= sample.length; size++) assert.deepEqual(scan(sample, ',', size), expected, `chunk size ${size}`);
  });

  it('reports blank lines as empty records and handles a missing final newline', () => {
    assert.deepEqual(scan('a\n\nb'), [['a'], [], ['b']]);
  });

  it('knows when input ends inside quotes', () => {
    const s = new CsvScanner(',', () => undefined);
    s.push('a,"unterminated\n');
    assert.equal(s.insideQuotes, true);
  });

  it('reads a quote after text in an unquoted field as itself, whatever the chunk boundaries; at a field start (after spaces too) it still opens a quoted field', () => {
    const text = 'name,height\nBob,5\'11"\nAnn,6\'0"\nab"c"d,  "x,y"\n"q""",z\n';
    const want = [
      ['name', 'height'],
      ['Bob', '5\'11"'],
      ['Ann', '6\'0"'],
      ['ab"c"d', '  x,y'],
      ['q"', 'z'],
    ];
    for (let size = 1; size <= text.length; size++) assert.deepEqual(scan(text, ',', size), want, `chunk size ${size}`);
    const s = new CsvScanner(',', () => undefined);
    s.push(text);
    assert.equal(s.literalQuotes, 4);
    assert.equal(s.firstLiteralQuote, 2);
  });

  it('counts fields with text after their closing quote (data.table\'s unescaped.csv: "he said:"wonderful.""), read as COPY reads them, whatever the chunk boundaries', () => {
    const text = 'a,b\n"0","he said:"wonderful.""\n"x" ,"y"\n"q""r",s\n';
    for (let size = 1; size <= text.length; size++) {
      const records: Array<Array<string | null>> = [];
      const s = new CsvScanner(',', (fields) => records.push(fields));
      for (let i = 0; i < text.length; i += size) s.push(text.slice(i, i + size));
      s.end();
      assert.deepEqual(records, [['a', 'b'], ['0', 'he said:wonderful.'], ['x ', 'y'], ['q"r', 's']], `chunk size ${size}`);
      assert.deepEqual([s.textAfterQuote, s.firstTextAfterQuote], [2, 2], `chunk size ${size}`);
    }
  });

  it('skips comment lines where a record starts (LF, CRLF, lone CR, the first line, one after a blank line), never inside quotes or mid-line, whatever the chunk boundaries', () => {
    const text = '# head\r\na,b\n#x,y\r1,"#not\n# a comment",2 # not\n\n# after blank\n3,4\n#last';
    const want = [['a', 'b'], ['1', '#not\n# a comment', '2 # not'], [], ['3', '4']];
    for (let size = 1; size <= text.length; size++) {
      const records: Array<Array<string | null>> = [];
      const s = new CsvScanner(',', (fields) => records.push(fields), '"', null, '#');
      for (let i = 0; i < text.length; i += size) s.push(text.slice(i, i + size));
      s.end();
      assert.deepEqual(records, want, `chunk size ${size}`);
      assert.equal(s.commentLines, 4, `chunk size ${size}`);
    }
  });

  it('sniffs the delimiter', () => {
    assert.equal(sniffDelimiter('a;b;c\n1;2;3\n'), ';');
    assert.equal(sniffDelimiter('a\tb\n1\t2\n'), '\t');
    assert.equal(sniffDelimiter('a|b\n1|2\n'), '|');
    assert.equal(sniffDelimiter('name,note\n"x","a;b;c;d"\n'), ',');
  });

  it('sniffs the delimiter below title lines that do not hold it, a decimal comma not taken for it', () => {
    assert.equal(sniffDelimiter('Tabelle 1: Erwerbstätige (Quelle: longley)\n\nObs;TOTEMP;GNPDEFL\n1;60323;83\n2;61122;88,5\n3;60171;88,2\n'), ';');
    assert.equal(sniffDelimiter('Report\nFilters: none\nid\tname\tnote\n1\tAnn\ta, b\n2\tBob\tc, d\n'), '\t');
    // A comma in a text field of each data line does not outweigh the header's delimiter.
    assert.equal(sniffDelimiter('a\tb\n1\tx,y\n2\tz,w\n'), '\t');
    assert.equal(sniffDelimiter('one column\nno delimiter\n'), ',');
  });
});
