/** Text on its way into atlas's records: what PostgreSQL refuses in text and jsonb is written visibly instead. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordJson, recordLine, recordText, recordTexts } from '../../src/db/recordText.ts';

describe('recordText, recordJson', () => {
  it('a NUL in text is written \\0; text without one is the same string', () => {
    assert.equal(recordText('a\0b\0'), 'a\\0b\\0');
    assert.equal(recordText(null), null);
    assert.deepEqual(recordTexts(['x\0', 'y']), ['x\\0', 'y']);
  });

  it('jsonb gets \\0 for a NUL and U+FFFD for a lone surrogate, in keys and values, and a written \\u0000 stays text', () => {
    const json = recordJson({ 'k\0': ['x\0y', 'a\ud800b', 'c\udc00', '\ud83d\ude00', 'back\\u0000slash', '\u0001'] });
    assert.deepEqual(JSON.parse(json), { 'k\\0': ['x\\0y', 'a\ufffdb', 'c\ufffd', '\ud83d\ude00', 'back\\u0000slash', '\u0001'] });
    assert.ok(!/\\u0000|\\ud[89a-f]/.test(json.replaceAll('\\\\', '')), json);
  });

  it('recordLine writes a record as a CSV line COPY reads back alike, NULs as \\0, cut to its length', () => {
    assert.equal(recordLine(['a', null, '', 'b;c', 'say "hi"', 'x\ny', 'n\0'], ';', 100), 'a;;"";"b;c";"say ""hi""";"x\ny";n\\0');
    assert.equal(recordLine(['a,b', 'c'], '\t', 100), 'a,b\tc');
    assert.equal(recordLine(['x'.repeat(2000), 'y'], ',', 500), 'x'.repeat(500));
    assert.equal(recordLine(['ab', 'cd', 'ef'], ',', 4), 'ab,c');
    // Cut by characters, as PostgreSQL's left() counts them: an emoji (two UTF-16 units) is never halved.
    assert.equal(recordLine(['X' + '🎉'.repeat(300)], ',', 500), 'X' + '🎉'.repeat(300));
    assert.equal(recordLine(['X' + '🎉'.repeat(600)], ',', 500), 'X' + '🎉'.repeat(499));
    assert.equal(recordLine(['🎉🎉', '🎉'], ',', 4), '🎉🎉,🎉');
  });
});
