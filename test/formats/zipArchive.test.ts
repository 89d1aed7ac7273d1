import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AtlasError } from '../../src/errors.ts';
import { openXlsx, openXlsxArchive } from '../../src/formats/xlsx/xlsx.ts';
import { isDataEntry, openZipArchive } from '../../src/formats/zip/zipArchive.ts';
import { chunked, handMadeXlsx, makeZip, readRows } from './readerHelpers.ts';

async function text(bytes: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of bytes) parts.push(b);
  return Buffer.concat(parts).toString();
}

describe('zip archives of data files', () => {
  it('takes files in the formats atlas reads as data, not folders, macOS extras, documentation or Office package parts', () => {
    for (const name of ['a.csv', 'dir/b.TSV', 'c.json', 'd.ndjson', 'e.jsonl', 'f.xml', 'g.xlsx', 'h.txt', 'tab.tab']) assert.equal(isDataEntry(name), true, name);
    for (const name of ['dir/', '__MACOSX/._a.csv', '.hidden.csv', 'README.txt', 'docs/LICENSE.csv', 'notes.pdf', 'noext', '[Content_Types].xml', '_rels/.rels', 'docProps/app.xml', 'xl/workbook.xml']) {
      assert.equal(isDataEntry(name), false, name);
    }
  });

  it('refuses an OpenDocument file (.ods) in one line, not as a zip of two data files whose content.xml --entry would import', async () => {
    const ods = makeZip([{ name: 'mimetype', data: 'application/vnd.oasis.opendocument.spreadsheet', stored: true }, { name: 'META-INF/manifest.xml', data: '<m/>' }, { name: 'content.xml', data: '<c/>' }]);
    await assert.rejects(openZipArchive(chunked(ods, 64), null), (err: Error) => {
      assert.ok(err instanceof AtlasError);
      assert.equal(err.message, 'this is an OpenDocument file (.ods, its first entry is "mimetype"), which atlas does not read');
      assert.match(err.hint ?? '', /save it as \.xlsx or CSV/);
      return true;
    });
  });

  it('gives the entry inflated, whatever the chunks, stored or deflated, and reads to the end of the archive', async () => {
    const csv = 'a,b\n1,2\n';
    for (const stored of [false, true]) {
      const bytes = makeZip([{ name: 'notes.md', data: '# notes' }, { name: 'data.csv', data: csv, stored }, { name: 'LICENSE', data: 'MIT' }]);
      for (const size of [1, 7, 64 * 1024]) {
        let read = 0;
        const source = (async function* () {
          for await (const c of chunked(bytes, size)) {
            read += c.length;
            yield c;
          }
        })();
        const content = await openZipArchive(source, null);
        assert.equal(content.kind, 'entry');
        if (content.kind !== 'entry') continue;
        assert.equal(content.name, 'data.csv');
        assert.equal(await text(content.bytes), csv);
        assert.equal(read, bytes.length, 'every byte read (the file hash covers them all)');
      }
    }
  });

  it('hands a workbook (parts under xl/) to the XLSX reader, which reads it as it reads an .xlsx', async () => {
    const bytes = handMadeXlsx([{ name: 'S', rows: '<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c><c r="B1" t="inlineStr"><is><t>y</t></is></c></row><row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>2</v></c></row>' }]);
    const content = await openZipArchive(chunked(bytes, 5), null);
    assert.equal(content.kind, 'workbook');
    if (content.kind !== 'workbook') return;
    const viaArchive = await openXlsxArchive(content.zip, { sheet: null, headerRow: null });
    const direct = await openXlsx(chunked(bytes), { sheet: null, headerRow: null });
    assert.deepEqual(viaArchive.header, direct.header);
    assert.deepEqual(await readRows(viaArchive), await readRows(direct));
  });

  it('says what is wrong with a truncated archive or one without data, as a zip archive (not an .xlsx)', async () => {
    const bytes = makeZip([{ name: 'data.csv', data: 'a,b\n'.repeat(1000), stored: true }]);
    await assert.rejects(async () => {
      const content = await openZipArchive(chunked(bytes.subarray(0, 200)), null);
      if (content.kind === 'entry') await text(content.bytes);
    }, /^AtlasError: not a valid zip archive: the archive ends early \(is the file truncated\?\)$/);
    await assert.rejects(
      openZipArchive(chunked(makeZip([{ name: 'a.pdf', data: 'x' }, { name: 'README', data: 'y' }])), null),
      (err: unknown) => err instanceof AtlasError && err.message === 'the zip archive holds no file atlas reads (CSV, TSV, JSON, NDJSON, XML, XLSX): it holds a.pdf, README',
    );
  });

  it('refuses an --entry that matches several entries, naming their full paths, and never suggests a name that matches more than one', async () => {
    const read = async (entries: Array<{ name: string; data: string }>, wanted: string | null): Promise<string> => {
      const content = await openZipArchive(chunked(makeZip(entries)), wanted);
      assert.equal(content.kind, 'entry');
      return content.kind === 'entry' ? `${content.name}: ${await text(content.bytes)}` : '';
    };
    const refusal = (pattern: string, hint: string) => (err: unknown) => err instanceof AtlasError && err.message.startsWith(pattern) && err.hint === hint;
    const years = [{ name: '2023/data.csv', data: 'y\n2023\n' }, { name: '2024/data.csv', data: 'y\n2024\n' }];
    await assert.rejects(read(years, 'data.csv'), refusal('--entry "data.csv" matches 2 entries of the zip archive (2023/data.csv, 2024/data.csv): atlas does not guess', 'name it by its full path, e.g. --entry "2023/data.csv"'));
    assert.equal(await read(years, '2024/data.csv'), '2024/data.csv: y\n2024\n');
    // An exact full path is not ambiguous when it comes first; after an entry of that base name it is too late to take.
    const rootFirst = [{ name: 'data.csv', data: 'y\nroot\n' }, ...years];
    assert.equal(await read(rootFirst, 'data.csv'), 'data.csv: y\nroot\n');
    await assert.rejects(read([...years, { name: 'data.csv', data: 'y\nroot\n' }], 'data.csv'), refusal('--entry "data.csv" names the entry data.csv, but the zip archive holds 2023/data.csv before it', 'extract it on the way in: unzip -p ARCHIVE.zip "data.csv" | atlas import - --table TABLE --name "data.csv"'));
    // Without --entry, the hint names a file its full path picks alone.
    await assert.rejects(read(rootFirst, null), refusal('the zip archive holds 3 data files', 'name it with --entry, e.g. --entry "2023/data.csv"'));
    // Two entries of one name: no --entry tells them apart, so none is suggested.
    const twins = [{ name: 'data.csv', data: 'a\n1\n' }, { name: 'data.csv', data: 'a\n2\n' }];
    const sameNames = 'the archive holds entries of the same name, which --entry cannot tell apart: extract it (unzip) and import the file you mean';
    await assert.rejects(read(twins, null), refusal('the zip archive holds 2 data files (data.csv, data.csv)', sameNames));
    await assert.rejects(read(twins, 'data.csv'), refusal('--entry "data.csv" matches 2 entries of the zip archive (data.csv, data.csv)', sameNames));
  });
});
