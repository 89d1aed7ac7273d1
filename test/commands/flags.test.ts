import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { addFlags, bool, choice, flagsGiven, negated, readFlags, repeatable, text } from '../../src/commands/flags.ts';

const set = {
  byUser: text('--user <name>', 'a filter'),
  limit: text('--limit <n>', 'page size', { default: '100' }),
  mode: choice('--mode <mode>', 'how', ['append', 'upsert'], { default: 'append' }),
  nullValue: repeatable('--null-value <value>', 'repeatable'),
  dedupe: negated('--no-dedupe', 'a negated switch'),
  dryRun: bool('--dry-run', 'a switch'),
};

function parse(args: string[]): Command {
  const cmd = addFlags(new Command('t').exitOverride().configureOutput({ writeErr: () => undefined }), set);
  cmd.parse(args, { from: 'user' });
  return cmd;
}

describe('flag sets (commands/flags.ts)', () => {
  it('reads each flag by its key in the set, whatever commander names it, with defaults', () => {
    assert.deepEqual(readFlags(parse([]), set), { byUser: undefined, limit: '100', mode: 'append', nullValue: undefined, dedupe: true, dryRun: undefined });
    const given = parse(['--user', 'alice', '--null-value', 'NA', '--null-value', '', '--no-dedupe', '--dry-run', '--mode', 'upsert']);
    assert.deepEqual(readFlags(given, set), { byUser: 'alice', limit: '100', mode: 'upsert', nullValue: ['NA', ''], dedupe: false, dryRun: true });
    assert.deepEqual(flagsGiven(given, set), ['--user', '--mode', '--null-value', '--no-dedupe', '--dry-run']);
  });

  it('refuses a value outside the choices, and a flag whose text does not fit its kind', () => {
    assert.throws(() => parse(['--mode', 'sideways']), /argument 'sideways' is invalid/);
    assert.throws(() => bool('--table <name>', 'x'), /a switch takes no <value>/);
    assert.throws(() => text('--strict', 'x'), /a value flag needs <value>/);
    assert.throws(() => bool('--no-dedupe', 'x'), /negated/);
  });
});
