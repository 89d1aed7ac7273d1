import assert from 'node:assert/strict';
import { constants } from 'node:buffer';
import { describe, it } from 'node:test';
import { MAX_FIELD_CHARS } from '../../src/formats/csv/csvScanner.ts';
import { MAX_RECORD_CHARS } from '../../src/formats/json/jsonScanner.ts';
import { heapShare, MAX_TEXT_CHARS, MIB } from '../../src/formats/shared/limits.ts';
import { MAX_XML_RECORD_CHARS } from '../../src/formats/xml/xml.ts';

const GIB = 1024 * MIB;

describe('heap-derived limits', () => {
  it('are a share of the heap in whole MiB, at least 1 MiB', () => {
    assert.equal(heapShare(8, 256 * MIB), 32 * MIB);
    assert.equal(heapShare(32, 256 * MIB), 8 * MIB);
    assert.equal(heapShare(32, 16 * MIB), MIB);
  });

  it('never pass what V8 can hold in one string, however large the heap', () => {
    // A 4 GB heap made the CSV field limit 512 MiB, past V8's longest string: "Invalid string length".
    for (const heap of [4 * GIB, 8 * GIB, 64 * GIB]) {
      assert.equal(heapShare(8, heap), MAX_TEXT_CHARS, `${heap / GIB} GiB heap`);
      assert.ok(heapShare(32, heap) <= MAX_TEXT_CHARS);
    }
    // A value at the limit, one input piece (~1.3 MiB) past it, escaped for COPY (doubled) and
    // appended to a COPY chunk (256 Ki characters) still fits in one string.
    assert.ok(2 * (MAX_TEXT_CHARS + 2 * MIB) + 2 ** 18 < constants.MAX_STRING_LENGTH);
  });

  it('are what every reader uses', () => {
    for (const limit of [MAX_FIELD_CHARS, MAX_RECORD_CHARS, MAX_XML_RECORD_CHARS]) assert.ok(limit <= MAX_TEXT_CHARS);
    assert.equal(MAX_FIELD_CHARS, heapShare(8));
    assert.equal(MAX_RECORD_CHARS, heapShare(32));
    assert.equal(MAX_XML_RECORD_CHARS, heapShare(32));
  });
});
