import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { openXlsx } from '../../src/formats/xlsx/xlsx.ts';
import { openZipArchive } from '../../src/formats/zip/zipArchive.ts';
import { crc32, tableCrc32 } from '../../src/formats/zip/zipInput.ts';
import { mulberry32 } from '../../bench/generate.ts';
import { FIXTURES } from '../helpers.ts';
import { chunked, handMadeXlsx, readRows } from './readerHelpers.ts';

/** Archives written by Python's zipfile (test/fixtures/zip/make.py). */
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, 'zip', name));
const CSV = 'id,name,amount\n1,Ann,12.50\n2,Bo,3\n3,Zoë,0.1\n';

/** The data entry of a zip archive read in chunks of `size` bytes, inflated. */
async function entryText(bytes: Buffer, size: number): Promise<string> {
  const content = await openZipArchive(chunked(bytes, size), null);
  assert.equal(content.kind, 'entry');
  if (content.kind !== 'entry') return '';
  assert.equal(content.name, 'data.csv');
  const parts: Buffer[] = [];
  for await (const b of content.bytes) parts.push(b);
  return Buffer.concat(parts).toString();
}

describe('zip archives: zip64, data descriptors and CRC-32', () => {
  it('reads a zip64 archive, its sizes in the local header\'s zip64 field (Python\'s force_zip64)', async () => {
    const bytes = fixture('zip64.zip');
    assert.equal(bytes.readUInt32LE(18), 0xffffffff, 'the fixture is zip64: the local header defers its sizes to the zip64 field');
    for (const size of [1, 5, 64 * 1024]) assert.equal(await entryText(bytes, size), CSV, `chunks of ${size}`);
  });

  it('reads archives streamed with data descriptors (sizes and CRC-32 after the data), plain and zip64', async () => {
    for (const name of ['descriptor.zip', 'descriptor-zip64.zip']) {
      const bytes = fixture(name);
      assert.equal(bytes.readUInt16LE(6) & 0x8, 0x8, `${name}: the fixture's entries have data descriptors`);
      for (const size of [1, 5, 64 * 1024]) assert.equal(await entryText(bytes, size), CSV, `${name} in chunks of ${size}`);
    }
  });

  it('fails with one clear line when an entry does not match its CRC-32, from the local header or the data descriptor', async () => {
    for (const name of ['crc-mismatch.zip', 'crc-mismatch-descriptor.zip']) {
      for (const size of [1, 64 * 1024]) {
        await assert.rejects(
          entryText(fixture(name), size),
          /^AtlasError: not a valid zip archive: part data\.csv is damaged \(its CRC-32 is [0-9a-f]{8}, the archive recorded [0-9a-f]{8}\): get the file again$/,
          `${name} in chunks of ${size}`,
        );
      }
    }
  });

  it('fails on a workbook whose sheet does not match its CRC-32, read straight through or parked', async () => {
    const rows = '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c></row>';
    for (const sharedStringsFirst of [true, false]) {
      const good = handMadeXlsx([{ name: 'S', rows }], { stored: true, sharedStringsFirst });
      assert.deepEqual((await readRows(await openXlsx(chunked(good), { sheet: null, headerRow: null }))).map((r) => r.fields), [['2']]);
      const damaged = Buffer.from(good);
      damaged.write('7', damaged.indexOf('<v>2</v>') + 3);
      await assert.rejects(
        (async () => readRows(await openXlsx(chunked(damaged), { sheet: null, headerRow: null })))(),
        /^AtlasError: not a valid \.xlsx file: part xl\/worksheets\/sheet1\.xml is damaged \(its CRC-32 is [0-9a-f]{8}, the archive recorded [0-9a-f]{8}\): get the file again$/,
      );
    }
  });

  it('computes CRC-32 the same with zlib and with the table of Node before 20.15, whole or in pieces', () => {
    const random = mulberry32(23);
    const data = Buffer.from(Array.from({ length: 100_000 }, () => Math.floor(random() * 256)));
    const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
    for (const piece of [data.subarray(0, 0), data.subarray(0, 1), data]) {
      const expected = native ? native(piece) : zlib.crc32(piece);
      assert.equal(tableCrc32(piece), expected);
      assert.equal(crc32(piece), expected);
    }
    assert.equal(tableCrc32(data.subarray(777), tableCrc32(data.subarray(0, 777))), tableCrc32(data));
    assert.equal(tableCrc32(Buffer.from('123456789')), 0xcbf43926, 'the CRC-32 check value');
  });
});
