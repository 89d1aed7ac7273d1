import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printable, printableLines } from '../../src/transform/printable.ts';

describe('printable', () => {
  it('escapes C0 and C1 controls, DEL, and bidi overrides and isolates', () => {
    assert.equal(printable('\u001b]0;title\u0007\u001b[2J'), '\\x1b]0;title\\x07\\x1b[2J');
    assert.equal(printable('a\tb\nc\rd\u0000e\u007ff\u009bg'), 'a\\tb\\nc\\rd\\x00e\\x7ff\\x9bg');
    assert.equal(printable('invoice\u202eexe.pdf'), 'invoice\\u202eexe.pdf');
    assert.equal(printable('\u2066x\u2069\u200f\u061c\u2028'), '\\u2066x\\u2069\\u200f\\u061c\\u2028');
  });

  it('leaves other text as it is: letters of every script, emoji, backslashes', () => {
    for (const text of ['José Ünïcødé 東京 مرحبا 😀', 'C:\\data\\file.csv', '', 'plain']) assert.equal(printable(text), text);
  });

  it('printableLines keeps the line ends atlas laid out', () => {
    assert.equal(printableLines('{\n  "a": "\u009b"\n}'), '{\n  "a": "\\x9b"\n}');
  });
});
