/** listSources on the real file system: order, de-duplication, recursion, --pattern, what is skipped, errors. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import { detectFormat } from '../../src/core/input.ts';
import { DATA_EXTENSIONS } from '../../src/sources/listing.ts';
import { codePointKey, listSources, type ListSourcesOptions, type SourceList } from '../../src/sources/listSources.ts';
import { ROOT, tempDir, useTempDir } from '../helpers.ts';

const S3_NONE = { endpoint: null, region: null, accessKeyId: null, secretAccessKey: null, forcePathStyle: null };

function list(cwd: string, args: string[], options: Partial<ListSourcesOptions> = {}): Promise<SourceList> {
  return listSources(args, { recursive: false, pattern: null, s3: S3_NONE, env: {}, cwd, ...options });
}

const names = (l: SourceList): string[] => l.files.map((f) => f.displayName);
const skips = (l: SourceList): string[] => l.skipped.map((s) => `${s.path}: ${s.reason}${s.detail === null ? '' : ` (${s.detail})`}`);

/** Asserts a usage error (exit 2) with this message. */
async function rejectsUsage(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof UsageError, `${err.name}: ${err.message}`);
    assert.equal(err.exitCode, 2);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('listSources: order and identity', () => {
  const t = useTempDir('atlas-list-');

  it('orders by code point (UTF-8 bytes), not by locale or by how the files were named', async () => {
    mkdirSync(join(t.dir, 'order'));
    const files = ['b.csv', 'B.csv', 'a.csv', 'a-b.csv', 'a_b.csv', 'a b.csv', 'Z.csv', 'é.csv', 'e.csv', '\uFF21.csv', '😀.csv', '10.csv', '9.csv'];
    for (const f of files) t.write(`order/${f}`, 'x\n');
    const byDirectory = await list(t.dir, ['order']);
    const byBytes = files.map((f) => `order/${f}`).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(names(byDirectory), byBytes);
    // The UTF-16 order of JavaScript's sort would put 😀 (surrogates D83D...) before U+FF21.
    assert.ok(names(byDirectory).indexOf('order/\uFF21.csv') < names(byDirectory).indexOf('order/😀.csv'));
    const sortC = spawnSync('sort', { input: files.map((f) => `order/${f}`).join('\n') + '\n', env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' });
    assert.deepEqual(names(byDirectory), sortC.stdout.trimEnd().split('\n'), 'the order of LC_ALL=C sort');
    const shellExpanded = await list(t.dir, [...files].reverse().map((f) => `order/${f}`));
    assert.deepEqual(names(shellExpanded), byBytes, 'files named one by one come in the same order');
    assert.deepEqual(names(await list(t.dir, ['order/*.csv'])), byBytes);
  });

  it('codePointKey orders as UTF-8 bytes do', () => {
    const words = ['\uE000', '\uFFFD', '😀', 'z', '\u00E9', '𝄞x', '\uD7FF'];
    const byKey = [...words].sort((a, b) => (codePointKey(a) < codePointKey(b) ? -1 : 1));
    assert.deepEqual(byKey, [...words].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('takes each file once: named twice, by a glob and a directory, or through a link', async () => {
    mkdirSync(join(t.dir, 'dup'));
    const a = t.write('dup/a.csv', 'a\n1\n');
    t.write('dup/b.csv', 'b\n');
    const listed = await list(t.dir, ['dup/a.csv', './dup/a.csv', a, 'dup/*.csv', 'dup', 'dup/']);
    assert.deepEqual(names(listed), ['dup/a.csv', 'dup/b.csv']);
    assert.deepEqual(listed.files[0], { source: a, displayName: 'dup/a.csv', fileName: 'a.csv', sizeBytes: 4, argument: 'dup/a.csv' });
    assert.equal(listed.files[1]?.argument, 'dup/*.csv', 'the first argument that reached it');
    assert.deepEqual(listed.skipped, []);
    assert.deepEqual(listed.arguments.map((x) => [x.argument, x.kind, x.files]), [
      ['dup/a.csv', 'file', 1], ['./dup/a.csv', 'file', 1], [a, 'file', 1], ['dup/*.csv', 'glob', 2], ['dup', 'directory', 2], ['dup/', 'directory', 2],
    ]);

    linkSync(a, join(t.dir, 'dup', 'hard.csv'));
    symlinkSync('a.csv', join(t.dir, 'dup', 'soft.csv'));
    const links = await list(t.dir, ['dup']);
    assert.deepEqual(names(links), ['dup/a.csv', 'dup/b.csv']);
    assert.deepEqual(skips(links), ['dup/hard.csv: same-file (dup/a.csv)', 'dup/soft.csv: same-file (dup/a.csv)']);
  });

  it('resolves relative paths from cwd and shows them as typed', async () => {
    mkdirSync(join(t.dir, 'rel', 'in'), { recursive: true });
    t.write('rel/in/x.csv', 'x\n');
    const listed = await list(join(t.dir, 'rel'), ['in', '../rel/in/x.csv']);
    assert.deepEqual(listed.files.map((f) => [f.displayName, f.source]), [['in/x.csv', join(t.dir, 'rel', 'in', 'x.csv')]]);
  });
});

describe('listSources: directories', () => {
  const t = tempDir('atlas-list-');
  let socket: Server;
  before(async () => {
    for (const d of ['drop/2026/12', 'drop/.git/objects', 'drop/empty']) mkdirSync(join(t.dir, d), { recursive: true });
    for (const f of ['a.csv', 'b.tsv.gz', 'c.XLSX', 'd.json', 'e.ndjson', 'f.jsonl', 'g.xml', 'h.tab', 'i.csv.gzip', 'README.md', 'notes.txt', 'Makefile', 'archive.csv.zip', 'export.ZIP', 'old.csv.bz2', 'old.csv.xz', '.DS_Store', '.atlas-lock', '~$budget.xlsx', 'upload.csv.part', 'x.csv.tmp', 'y.csv.crdownload', 'z.csv~', '2026/12/deep.csv', '2026/top.csv', '2026/.hidden.csv', '.git/objects/o.csv']) t.write(`drop/${f}`, 'x\n');
    const fifo = spawnSync('mkfifo', [join(t.dir, 'drop', 'pipe.csv')]);
    assert.equal(fifo.status, 0, 'mkfifo');
    socket = createServer();
    await new Promise<void>((resolve) => socket.listen(join(t.dir, 'drop', 'socket.csv'), resolve));
    symlinkSync('a.csv', join(t.dir, 'drop', 'link-to-a.csv'));
    symlinkSync('missing.csv', join(t.dir, 'drop', 'dangling.csv'));
    symlinkSync('.', join(t.dir, 'drop', '2026', 'loop'));
    symlinkSync('cycle2', join(t.dir, 'drop', 'cycle1.csv'));
    symlinkSync('cycle1.csv', join(t.dir, 'drop', 'cycle2'));
    symlinkSync(join(t.dir, 'drop', 'pipe.csv'), join(t.dir, 'drop', 'link-to-pipe.csv'));
  });
  after(async () => {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    t.cleanup();
  });

  it('takes the data files; skips hidden, temporary, special, non-data files and subdirectories, and says so', { timeout: 60_000 }, async () => {
    // A FIFO that were opened would block this test until its timeout.
    const listed = await list(t.dir, ['drop']);
    assert.deepEqual(names(listed), ['drop/a.csv', 'drop/archive.csv.zip', 'drop/b.tsv.gz', 'drop/c.XLSX', 'drop/d.json', 'drop/e.ndjson', 'drop/export.ZIP', 'drop/f.jsonl', 'drop/g.xml', 'drop/h.tab', 'drop/i.csv.gzip']);
    assert.deepEqual(skips(listed), [
      'drop/.DS_Store: hidden',
      'drop/.atlas-lock: hidden',
      'drop/.git: hidden',
      'drop/2026: directory',
      'drop/Makefile: not-data',
      'drop/README.md: not-data',
      'drop/cycle1.csv: broken-symlink',
      'drop/cycle2: broken-symlink',
      'drop/dangling.csv: broken-symlink',
      'drop/empty: directory',
      'drop/link-to-a.csv: same-file (drop/a.csv)',
      'drop/link-to-pipe.csv: special',
      'drop/notes.txt: not-data',
      'drop/old.csv.bz2: not-data',
      'drop/old.csv.xz: not-data',
      'drop/pipe.csv: special',
      'drop/socket.csv: special',
      'drop/upload.csv.part: temporary',
      'drop/x.csv.tmp: temporary',
      'drop/y.csv.crdownload: temporary',
      'drop/z.csv~: temporary',
      'drop/~$budget.xlsx: temporary',
    ]);
    assert.deepEqual(listed.arguments, [{ argument: 'drop', kind: 'directory', files: 12 }]);
  });

  it('every extension a listing takes is one the importer reads', () => {
    for (const ext of DATA_EXTENSIONS) assert.doesNotThrow(() => detectFormat(null, `x.${ext}`, Buffer.alloc(0)), ext);
  });

  it('a .txt file is read by its first character: JSON Lines (npm ndjson\'s test data.txt), JSON, XML, else CSV; other extensions decide alone', () => {
    const of = (name: string, text: string) => detectFormat(null, name, Buffer.from(text));
    assert.equal(of('data.txt', '{"foo": "bar"}\n{"hello": "world"}\n'), 'ndjson');
    assert.equal(of('data.txt', '\uFEFF [{"a": 1}]'), 'json');
    assert.equal(of('data.txt', '<?xml version="1.0"?><r/>'), 'xml');
    assert.equal(of('data.txt', 'a,b\n1,2\n'), 'csv');
    assert.equal(of('data.csv', '{"foo": "bar"}\n'), 'csv');
    assert.equal(detectFormat('csv', 'data.txt', Buffer.from('{"foo": 1}')), 'csv');
  });

  it('a binary file of an unknown extension is named as not text (Parquet by its name), not pointed at --format csv', () => {
    assert.throws(() => detectFormat(null, 'simple.parquet', Buffer.from('PAR1\x15\x04\x15', 'latin1')), /^UsageError: simple\.parquet is a Parquet file, which atlas does not read$/);
    assert.throws(() => detectFormat(null, 'test_py27.pkl', Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00])), /^UsageError: cannot tell the format of test_py27\.pkl: its first bytes are not text/);
    assert.throws(() => detectFormat(null, 'notes.dat', Buffer.from('plain words')), /^UsageError: cannot tell the format of notes\.dat from its extension \.dat$/);
  });

  it('GeoJSON is JSON by its extension; `{` first is a JSON document where --record-path is given, whatever the name, else NDJSON', () => {
    const collection = Buffer.from('{ "type": "FeatureCollection",\n  "features": [ { "type": "Feature" } ] }');
    assert.equal(detectFormat(null, 'countries.geojson', collection), 'json');
    assert.equal(detectFormat(null, 'countries.GEOJSON.gz', collection), 'json');
    assert.equal(detectFormat(null, 'countries.dat', collection, 'features'), 'json');
    assert.equal(detectFormat(null, null, collection, 'features'), 'json');
    assert.equal(detectFormat(null, 'countries.txt', collection, 'features'), 'json');
    assert.equal(detectFormat(null, null, collection), 'ndjson');
    assert.equal(detectFormat(null, 'rows.ndjson', collection, 'features'), 'ndjson', 'the extension decides: --record-path is then refused for NDJSON');
  });

  it('descends with recursive, never into hidden directories or through a directory link (a loop ends)', { timeout: 60_000 }, async () => {
    const listed = await list(t.dir, ['drop/2026'], { recursive: true });
    assert.deepEqual(names(listed), ['drop/2026/12/deep.csv', 'drop/2026/top.csv']);
    assert.deepEqual(skips(listed), ['drop/2026/.hidden.csv: hidden', 'drop/2026/loop: symlink-to-directory']);
    const all = await list(t.dir, ['drop'], { recursive: true });
    assert.ok(names(all).includes('drop/2026/12/deep.csv'));
    assert.ok(!names(all).some((n) => n.includes('.git')));
    assert.ok(skips(all).includes('drop/.git: hidden'));
    assert.ok(!skips(all).some((s) => s.startsWith('drop/empty')), 'an empty subdirectory is entered, not reported');
  });

  it('** stops at a directory link too', { timeout: 60_000 }, async () => {
    const listed = await list(t.dir, ['drop/**/*.csv']);
    assert.deepEqual(names(listed), ['drop/2026/12/deep.csv', 'drop/2026/top.csv', 'drop/a.csv']);
    assert.ok(skips(listed).includes('drop/2026/loop: symlink-to-directory'));
    assert.ok(skips(listed).includes('drop/pipe.csv: special'));
    assert.ok(skips(listed).includes('drop/upload.csv.part: temporary') === false, 'the glob did not match it: not reported');
    assert.deepEqual(names(await list(t.dir, ['drop/*.xlsx'])), [], '~$budget.xlsx is a lock file');
    assert.deepEqual(skips(await list(t.dir, ['drop/*.xlsx'])), ['drop/~$budget.xlsx: temporary']);
  });

  it('--pattern chooses the files of a directory or glob by name, never a file named explicitly', async () => {
    const txt = await list(t.dir, ['drop'], { pattern: '*.txt' });
    assert.deepEqual(names(txt), ['drop/notes.txt']);
    assert.ok(!skips(txt).some((s) => s.includes('not-data')), 'files that do not match the pattern are not reported');
    assert.ok(skips(txt).includes('drop/.DS_Store: hidden'));
    const gz = await list(t.dir, ['drop', 'drop/README.md'], { pattern: '*.{csv,tsv}.gz', recursive: true });
    assert.deepEqual(names(gz), ['drop/README.md', 'drop/b.tsv.gz']);
    const fromGlob = await list(t.dir, ['drop/**/*.csv'], { pattern: 'd*' });
    assert.deepEqual(names(fromGlob), ['drop/2026/12/deep.csv']);
    const upper = await list(t.dir, ['drop'], { pattern: '*.xlsx' });
    assert.deepEqual(names(upper), [], 'case-sensitive, and ~$ lock files stay skipped');
    await rejectsUsage(list(t.dir, ['drop'], { pattern: '2026/*.csv' }), '--pattern "2026/*.csv" must match file names, not paths');
    await rejectsUsage(list(t.dir, ['drop'], { pattern: '' }), '--pattern is empty');
  });

  it('an empty directory, or one with nothing to import, is not an error: nothing to import', async () => {
    const empty = await list(t.dir, ['drop/empty']);
    assert.deepEqual(empty, { stdin: false, files: [], skipped: [], arguments: [{ argument: 'drop/empty', kind: 'directory', files: 0 }] });
    const none = await list(t.dir, ['drop/*.parquet', 'drop'], { pattern: '*.parquet' });
    assert.deepEqual(none.files, []);
    assert.deepEqual(none.arguments.map((a) => a.files), [0, 0]);
  });

  it('skips a name that is not valid UTF-8 (it cannot be opened by name)', async () => {
    mkdirSync(join(t.dir, 'latin1'));
    writeFileSync(Buffer.concat([Buffer.from(join(t.dir, 'latin1', 'caf')), Buffer.from([0xe9]), Buffer.from('.csv')]), 'x\n');
    t.write('latin1/ok.csv', 'x\n');
    const listed = await list(t.dir, ['latin1']);
    assert.deepEqual(names(listed), ['latin1/ok.csv']);
    assert.deepEqual(skips(listed), ['latin1/caf\uFFFD.csv: bad-name']);
  });
});

describe('listSources: arguments and errors', () => {
  const t = useTempDir('atlas-list-');
  before(() => {
    mkdirSync(join(t.dir, 'in'));
    for (const f of ['in/r[1].csv', 'in/r1.csv', 'in/a*b.csv', 'in/a.csv']) t.write(f, 'x\n');
    spawnSync('mkfifo', [join(t.dir, 'in', 'named.pipe')]);
    symlinkSync('nowhere.csv', join(t.dir, 'in', 'dangling.csv'));
  });

  it('- is standard input, alone', async () => {
    assert.deepEqual(await list(t.dir, ['-']), { stdin: true, files: [], skipped: [], arguments: [{ argument: '-', kind: 'stdin', files: 1 }] });
    await rejectsUsage(list(t.dir, ['-', 'in/a.csv']), '- (standard input) cannot be combined with other sources');
    await rejectsUsage(list(t.dir, ['-', '-']), '- (standard input) cannot be combined with other sources');
    await rejectsUsage(list(t.dir, []), 'no source given');
  });

  it('a name that exists is taken literally even with glob characters; escapes name it in a glob', async () => {
    assert.deepEqual(names(await list(t.dir, ['in/r[1].csv'])), ['in/r[1].csv']);
    assert.deepEqual(names(await list(t.dir, ['in/a*b.csv'])), ['in/a*b.csv']);
    assert.deepEqual(names(await list(t.dir, ['in/r\\[1\\].csv'])), ['in/r[1].csv']);
    assert.deepEqual(names(await list(t.dir, ['in/r[12].csv'])), ['in/r1.csv']);
    assert.deepEqual(names(await list(t.dir, ['in/a\\*b.csv'])), ['in/a*b.csv']);
  });

  it('refuses a missing file and a glob whose directory does not exist; leaves out a named broken link, FIFO or device as a listing does (a shell\'s expansion names them)', { timeout: 60_000 }, async () => {
    await rejectsUsage(list(t.dir, ['in/a.csv', 'in/missing.csv']), 'file not found: in/missing.csv');
    await rejectsUsage(list(t.dir, ['nodir/a.csv']), 'file not found: nodir/a.csv');
    await rejectsUsage(list(t.dir, ['in/a.csv/x.csv']), 'file not found: in/a.csv/x.csv');
    const named = await list(t.dir, ['in/a.csv', 'in/dangling.csv', 'in/named.pipe', '/dev/null', 'in/bad\uFFFDname.csv']);
    assert.deepEqual(names(named), ['in/a.csv']);
    assert.deepEqual(
      named.skipped.map((k) => [k.path, k.reason]),
      [['/dev/null', 'special'], ['in/bad\uFFFDname.csv', 'bad-name'], ['in/dangling.csv', 'broken-symlink'], ['in/named.pipe', 'special']],
    );
    await rejectsUsage(list(t.dir, ['incoming/*.csv']), 'no such directory: incoming (in the glob incoming/*.csv)');
    await rejectsUsage(list(t.dir, ['in/a.csv/*.csv']), 'no such directory: in/a.csv (in the glob in/a.csv/*.csv)');
    await rejectsUsage(list(t.dir, ['{x,y}/*.csv']), 'no such directory: x, y (in the glob {x,y}/*.csv)');
  });

  it('a glob that matches nothing is not an error; one brace alternative missing is not either', async () => {
    const none = await list(t.dir, ['in/*.parquet']);
    assert.deepEqual(none, { stdin: false, files: [], skipped: [], arguments: [{ argument: 'in/*.parquet', kind: 'glob', files: 0 }] });
    assert.deepEqual(names(await list(t.dir, ['{in,out}/a.csv'])), ['in/a.csv']);
  });
});

describe('listSources: permissions', () => {
  // Root reads everything, so the check runs as `nobody` when the tests run as root.
  const t = tempDir('atlas-list-');
  before(() => {
    chmodSync(t.dir, 0o755);
    mkdirSync(join(t.dir, 'in', 'locked'), { recursive: true });
    t.write('in/ok.csv', 'x\n');
    t.write('in/secret.csv', 'x\n');
    t.write('in/locked/l.csv', 'x\n');
    chmodSync(join(t.dir, 'in', 'secret.csv'), 0o600);
    chmodSync(join(t.dir, 'in', 'locked'), 0o700);
    if (process.getuid?.() !== 0) {
      chmodSync(join(t.dir, 'in', 'secret.csv'), 0o000);
      chmodSync(join(t.dir, 'in', 'locked'), 0o000);
    }
  });
  after(() => {
    chmodSync(join(t.dir, 'in', 'locked'), 0o700);
    t.cleanup();
  });

  /** What listSources lists (or the message it throws) when run as a user that cannot read root's 0600 files. */
  function listAsOtherUser(args: string[], recursive: boolean): Promise<string> {
    const script = `
      import { listSources } from ${JSON.stringify(join(ROOT, 'src/sources/listSources.ts'))};
      const s3 = { endpoint: null, region: null, accessKeyId: null, secretAccessKey: null, forcePathStyle: null };
      try { const s = await listSources(${JSON.stringify(args)}, { recursive: ${recursive}, pattern: null, s3, env: {}, cwd: ${JSON.stringify(t.dir)} }); console.log([...s.files.map((f) => f.displayName), ...s.skipped.map((k) => k.path + ' ' + k.reason)].join(', ')); }
      catch (err) { console.log(err.exitCode + ' ' + err.message); }`;
    const asRoot = process.getuid?.() === 0;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, ...(asRoot ? { uid: 65534, gid: 65534 } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let errText = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
      child.on('error', reject);
      child.on('close', () => (out.trim() === '' ? reject(new Error(errText)) : resolve(out.trim())));
    });
  }

  it('takes an unreadable file (it fails on its own, as a file of the batch), reports an unreadable subdirectory, and refuses an unreadable directory named as the source', { timeout: 120_000 }, async (ctx) => {
    // As root the listing runs as nobody, who must reach this checkout's tsx and sources: not so
    // in a clone inside a private (0700) directory, where only this check can be skipped.
    if (process.getuid?.() === 0) {
      const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(join(ROOT, 'node_modules', 'tsx', 'package.json'))})`], { uid: 65534, gid: 65534 });
      if (probe.status !== 0) {
        ctx.skip(`user nobody cannot enter ${ROOT} (a private directory), so the listing cannot run as another user`);
        return;
      }
    }
    assert.equal(await listAsOtherUser(['in/ok.csv'], false), 'in/ok.csv');
    assert.equal(await listAsOtherUser(['in/ok.csv', 'in/secret.csv'], false), 'in/ok.csv, in/secret.csv');
    assert.equal(await listAsOtherUser(['in'], false), 'in/ok.csv, in/secret.csv, in/locked directory');
    assert.equal(await listAsOtherUser(['in'], true), 'in/ok.csv, in/secret.csv, in/locked unreadable-directory');
    assert.equal(await listAsOtherUser(['in/locked'], false), '2 cannot read in/locked: permission denied');
    assert.equal(await listAsOtherUser(['in/*.csv'], false), 'in/ok.csv, in/secret.csv');
  });
});
