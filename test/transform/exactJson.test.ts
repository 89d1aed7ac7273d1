import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJsonExact } from '../../src/transform/exactJson.ts';

describe('parseJsonExact', () => {
  it('keeps as text every number a double does not give back as written', () => {
    assert.deepEqual(parseJsonExact('{"big":9007199254740993,"n":12345678901234567.89,"p":0.1000000000000000055511151231257827,"s":1.50,"neg":-1234567890123456789}'), {
      big: '9007199254740993',
      n: '12345678901234567.89',
      p: '0.1000000000000000055511151231257827',
      s: '1.50',
      neg: '-1234567890123456789',
    });
  });

  it('parses everything else as JSON.parse does: small numbers, strings that look like numbers, escapes, nesting', () => {
    const text = '{"a":42,"b":-0.5,"c":2.5,"d":1e+100,"e":"9007199254740993","f":"say \\"1.50\\"\\\\","g":[1,{"h":null,"i":true}],"j":"\\\\"}';
    assert.deepEqual(parseJsonExact(text), JSON.parse(text));
    assert.deepEqual(parseJsonExact('[3, 9007199254740993 , "x"]'), [3, '9007199254740993', 'x']);
  });
});
