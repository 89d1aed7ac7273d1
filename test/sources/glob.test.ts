/** atlas's own glob matcher: syntax, the dot rule, `**`, escapes, braces; and bash as a second opinion. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import { compileGlob, compileNamePattern, expandBraces, isGlobArgument, literalPrefix, matchesGlob, splitGlobBase } from '../../src/sources/glob.ts';
import { listSources } from '../../src/sources/listSources.ts';
import { tempDir } from '../helpers.ts';

const S3_NONE = { endpoint: null, region: null, accessKeyId: null, secretAccessKey: null, forcePathStyle: null };

/** Whether the glob (braces expanded) matches the path. */
const matches = (glob: string, path: string): boolean => expandBraces(glob).some((g) => matchesGlob(compileGlob(g), path));

describe('glob syntax', () => {
  it('* and ? stay within one segment; [] sets, ranges and negation', () => {
    assert.ok(matches('*.csv', 'orders.csv'));
    assert.ok(matches('*.csv', '.csv') === false, 'a leading dot is never matched by *');
    assert.ok(!matches('*.csv', 'dir/orders.csv'));
    assert.ok(matches('dir/*.csv', 'dir/orders.csv'));
    assert.ok(matches('orders-??.csv', 'orders-12.csv'));
    assert.ok(!matches('orders-??.csv', 'orders-1.csv'));
    assert.ok(!matches('a?b', 'a/b'));
    assert.ok(matches('[abc].csv', 'b.csv'));
    assert.ok(!matches('[abc].csv', 'd.csv'));
    assert.ok(matches('[a-c]x', 'bx') && !matches('[a-c]x', 'dx'));
    assert.ok(matches('[!a-c]x', 'dx') && !matches('[!a-c]x', 'bx'));
    assert.ok(matches('[^a-c]x', 'dx') && !matches('[^a-c]x', 'ax'));
    assert.ok(matches('[]]x', ']x'), '] first in a set is literal');
    assert.ok(matches('[!]]x', 'ax') && !matches('[!]]x', ']x'));
    assert.ok(matches('[a-]x', '-x'), '- last in a set is literal');
    assert.ok(matches('a[b', 'a[b'), 'an unclosed [ is literal');
    assert.ok(matches('*.CSV', 'A.CSV') && !matches('*.CSV', 'a.csv'), 'case-sensitive');
  });

  it('counts characters, not UTF-16 units, and ranges by code point', () => {
    assert.ok(matches('?.csv', '😀.csv'), 'one character above U+FFFF is one ?');
    assert.ok(matches('[à-ÿ]*', 'élan.csv'));
    assert.ok(!matches('[à-ÿ]*', 'elan.csv'));
    assert.throws(() => compileGlob('[z-a].csv'), UsageError);
  });

  it('** matches zero or more directories, only as a whole segment', () => {
    assert.ok(matches('data/**/*.csv', 'data/a.csv'), 'zero directories');
    assert.ok(matches('data/**/*.csv', 'data/x/a.csv'));
    assert.ok(matches('data/**/*.csv', 'data/x/y/z/a.csv'));
    assert.ok(!matches('data/**/*.csv', 'other/a.csv'));
    assert.ok(matches('**/a.csv', 'a.csv') && matches('**/a.csv', 'x/y/a.csv'));
    assert.ok(matches('data/**', 'data/x/y.csv'));
    assert.ok(matches('a/**/b/**/c.csv', 'a/b/c.csv') && matches('a/**/b/**/c.csv', 'a/x/b/y/z/c.csv'));
    assert.ok(matches('a**b.csv', 'axyb.csv') && !matches('a**b.csv', 'ax/yb.csv'), 'inside a segment ** is *');
  });

  it('a dot at the start of a name is matched only by a literal dot', () => {
    assert.ok(!matches('*', '.env'));
    assert.ok(!matches('?env', '.env'));
    assert.ok(!matches('[.]env', '.env'));
    assert.ok(matches('.*', '.env'));
    assert.ok(matches('\\.env', '.env'));
    assert.ok(!matches('data/**/*.csv', 'data/.git/a.csv'), '** does not enter hidden directories');
    assert.ok(matches('data/.git/*.csv', 'data/.git/a.csv'));
    assert.ok(matches('data/**/.git/*.csv', 'data/x/.git/a.csv'));
    assert.ok(matches('*.csv', 'a.b.csv'), 'a dot elsewhere is an ordinary character');
  });

  it('a backslash makes the next character literal', () => {
    assert.ok(matches('report\\[1\\].csv', 'report[1].csv'));
    assert.ok(!matches('report[1].csv', 'report[1].csv'));
    assert.ok(matches('report[1].csv', 'report1.csv'));
    assert.ok(matches('a\\*.csv', 'a*.csv') && !matches('a\\*.csv', 'ab.csv'));
    assert.ok(matches('a\\?.csv', 'a?.csv') && !matches('a\\?.csv', 'ab.csv'));
    assert.ok(matches('\\{a,b\\}.csv', '{a,b}.csv') && !matches('\\{a,b\\}.csv', 'a.csv'));
    assert.ok(matches('a\\\\b', 'a\\b'));
    assert.ok(matches('[\\]]x', ']x'));
  });

  it('expands braces as bash does', () => {
    assert.deepEqual(expandBraces('a{b,c}d'), ['abd', 'acd']);
    assert.deepEqual(expandBraces('{a,b}{1,2}'), ['a1', 'a2', 'b1', 'b2']);
    assert.deepEqual(expandBraces('x{a,{b,c}}y'), ['xay', 'xby', 'xcy']);
    assert.deepEqual(expandBraces('data.csv{,.gz}'), ['data.csv', 'data.csv.gz']);
    assert.deepEqual(expandBraces('{a}'), ['{a}'], 'no comma: literal');
    assert.deepEqual(expandBraces('{a,b'), ['{a,b'], 'unclosed: literal');
    assert.deepEqual(expandBraces('\\{a,b}'), ['\\{a,b}']);
    assert.deepEqual(expandBraces('{a\\,b,c}'), ['a\\,b', 'c'], 'an escaped comma separates nothing');
    assert.deepEqual(expandBraces('{x}{a,b}'), ['{x}a', '{x}b']);
    assert.ok(matches('*.{csv,tsv}', 'a.tsv') && !matches('*.{csv,tsv}', 'a.json'));
    assert.ok(matches('{2025,2026}/**/*.csv', '2026/12/a.csv'));
    assert.throws(() => expandBraces('{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}'), (err: Error) => err instanceof UsageError && /more than 1024 alternatives/.test(err.message));
  });

  it('splits a glob into the literal directory to walk and the pattern below it', () => {
    assert.deepEqual(splitGlobBase('data/in/*.csv'), { base: 'data/in', rest: '*.csv' });
    assert.deepEqual(splitGlobBase('/data/*/x/*.csv'), { base: '/data', rest: '*/x/*.csv' });
    assert.deepEqual(splitGlobBase('/*.csv'), { base: '/', rest: '*.csv' });
    assert.deepEqual(splitGlobBase('*.csv'), { base: '', rest: '*.csv' });
    assert.deepEqual(splitGlobBase('my\\[dir\\]/*.csv'), { base: 'my[dir]', rest: '*.csv' });
    assert.deepEqual(splitGlobBase('data/a.csv'), { base: 'data', rest: 'a.csv' });
    assert.equal(literalPrefix('exports/2026-*/a.csv'), 'exports/2026-');
    assert.equal(literalPrefix('exports/a\\*b/*.csv'), 'exports/a*b/');
    assert.equal(literalPrefix('exports/a.csv'), 'exports/a.csv');
  });

  it('tells a glob argument from a path', () => {
    for (const g of ['*.csv', 'a?.csv', 'a[12].csv', 'a{1,2}.csv', 'report\\[1\\].csv']) assert.ok(isGlobArgument(g), g);
    for (const p of ['a.csv', 'dir/a b.csv', 'C:\\data\\x.csv', 'a]b.csv', 'a}b.csv']) assert.ok(!isGlobArgument(p), p);
  });

  it('--pattern matches names, with braces', () => {
    const match = compileNamePattern('*.{csv,tsv}.gz');
    assert.ok(match('a.csv.gz') && match('b.tsv.gz') && !match('a.csv') && !match('.a.csv.gz'));
  });
});

describe('glob expansion against bash', () => {
  // bash with globstar (and without dotglob) is the reference users know; nullglob drops words
  // that match nothing, and only regular files count (atlas imports files).
  const bashFiles = (cwd: string, glob: string): string[] => {
    const script = `shopt -s globstar nullglob; for f in ${glob}; do [ -f "$f" ] && [ ! -L "$f" ] && printf '%s\\0' "$f"; done; exit 0`;
    const out = spawnSync('bash', ['-c', script], { cwd, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout.split('\0').filter((f) => f !== '').sort();
  };

  it('lists the same files as bash for each glob', async () => {
    const t = tempDir('atlas-glob-');
    try {
      for (const d of ['in', 'in/2026', 'in/2026/12', 'in/.cache', 'in/.cache/x', 'in/a b', 'in/[x]', 'other']) mkdirSync(join(t.dir, d), { recursive: true });
      for (const f of ['in/a.csv', 'in/b.csv', 'in/.h.csv', 'in/c.tsv', 'in/r1.csv', 'in/r[1].csv', 'in/2026/d.csv', 'in/2026/12/e.csv', 'in/2026/12/f.json', 'in/.cache/g.csv', 'in/.cache/x/h.csv', 'in/a b/i.csv', 'in/[x]/j.csv', 'other/k.csv', 'l.csv', 'in/é.csv', 'in/Z.csv']) t.write(f, 'x\n');
      const globs = [
        'in/*.csv', 'in/**/*.csv', '**/*.csv', 'in/**', 'in/*/*.csv', 'in/?.csv', 'in/[a-c].*', 'in/[!a-c].csv', 'in/*.{csv,tsv}', '{in,other}/*.csv',
        'in/.*', 'in/.cache/**/*.csv', 'in/**/.cache/*', 'in/r\\[1\\].csv', 'in/r[12].csv', 'in/a\\ b/*', 'in/\\[x\\]/*', 'in/**/12/*', 'in/2026/**', 'in/[.]h.csv', 'in/.?.csv', 'in/?h.csv', 'in/**/*', '*/2026/*.csv', 'in/*.json',
      ];
      for (const glob of globs) {
        const listed = await listSources([glob], { recursive: false, pattern: null, s3: S3_NONE, env: {}, cwd: t.dir });
        assert.deepEqual(listed.files.map((f) => f.displayName).sort(), bashFiles(t.dir, glob), glob);
      }
    } finally {
      t.cleanup();
    }
  });
});
