import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstInvalidUtf8, StrictDecoder } from '../../src/formats/shared/decode.ts';

describe('StrictDecoder', () => {
  it('finds the first byte that starts no valid UTF-8 sequence, as the WHATWG decoder judges it', () => {
    const cases: Array<[number[], number]> = [
      [[0x61, 0x62], -1],
      [[0x63, 0x61, 0x66, 0xc3, 0xa9], -1], // é
      [[0x63, 0x61, 0x66, 0xe9, 0x0a], 3], // latin-1 é
      [[0xc0, 0x80], 0], // overlong
      [[0x61, 0xed, 0xa0, 0x80], 1], // a surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // past U+10FFFF
      [[0xf0, 0x9f, 0x98, 0x80, 0xff], 4], // 😀 then 0xFF
      [[0x61, 0xe2, 0x82], -1], // cut at the end: the next bytes may complete it
      [[0xe2, 0x82, 0x61], 0],
    ];
    for (const [bytes, at] of cases) {
      const b = Buffer.from(bytes);
      assert.equal(firstInvalidUtf8(b), at, `${b.toString('hex')}`);
      const fatal = (() => {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(b, { stream: true });
          return false;
        } catch {
          return true;
        }
      })();
      assert.equal(fatal, at >= 0, `the decoder on ${b.toString('hex')}`);
    }
  });

  it('names the offset of the invalid byte in the whole input, the byte, and the text before it on its line', () => {
    const d = new StrictDecoder('utf-8');
    d.decode(Buffer.from('a,b\n1,x\n'));
    assert.throws(() => d.decode(Buffer.from([0x32, 0x2c, 0x63, 0x61, 0x66, 0xe9, 0x0a])), { message: 'the input is not valid utf-8 at byte offset 13 (0xE9, after "2,caf" on its line)' });
  });
});
