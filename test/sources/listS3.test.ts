/** listSources on s3:// arguments against a real S3-protocol server (s3rver) on loopback: prefixes of several pages, globs, named objects, errors. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AtlasError, UsageError } from '../../src/errors.ts';
import { listSources, type ListSourcesOptions, type SourceList } from '../../src/sources/listSources.ts';
import { connectS3, listS3Pages } from '../../src/sources/s3.ts';
import { tempDir } from '../helpers.ts';
import { useS3rver } from './s3rverHelper.ts';

describe('listSources on S3 (s3rver on loopback)', () => {
  const s3 = useS3rver(['drop', 'empty']);
  const local = tempDir('atlas-list-s3-');
  const objects: Record<string, string> = {
    'exports/2026-12/a.csv.gz': 'aa',
    'exports/2026-12/b.csv.gz': 'bbb',
    'exports/2026-12/c.csv.gz': 'c',
    'exports/2026-12/d.json': 'dddd',
    'exports/2026-12/e.csv.gz': 'eeeee',
    'exports/2026-12/README.md': 'r',
    'exports/2026-12/.manifest': 'm',
    'exports/2026-12/f.csv.part': 'p',
    'exports/2026-12/late/g.csv': 'g',
    'exports/2026-12/.staging/h.csv': 'h',
    'exports/2026-12/.staging/i.csv': 'i',
    'exports/2026-11/x.csv.gz': 'x',
    // Not 2026-12-old.csv: s3rver pages in file-system walk order, where the 2026-12/ directory
    // comes before it though S3's key order puts '-' before '/', and a page boundary loses it.
    'exports/2026-12_old.csv': 'o',
    'exports/folder/': '',
    'exports/report[1].csv': 'r1',
    'five/1.csv': '1',
    'five/2.csv': '2',
    'five/3.csv': '3',
    'five/4.csv': '4',
    'five/5.csv': '5',
  };

  after(() => local.cleanup());

  before(async () => {
    await s3.put('drop', objects);
    local.write('local.csv', 'x\n');
  });

  /** Lists with a page size of 2, so that five objects take three pages. */
  function list(args: string[], options: Partial<ListSourcesOptions> = {}): Promise<SourceList> {
    return listSources(args, { recursive: false, pattern: null, s3: s3.settings, env: {}, cwd: local.dir, s3PageSize: 2, ...options });
  }
  const names = (l: SourceList): string[] => l.files.map((f) => f.displayName);
  const skips = (l: SourceList): string[] => l.skipped.map((s) => `${s.path}: ${s.reason}`);

  it('follows continuation tokens to the last page: 5 objects, 2 a page, 3 pages', async () => {
    const conn = await connectS3(s3.settings, {});
    try {
      const pages: string[][] = [];
      for await (const page of listS3Pages(conn, 'drop', 'five/', { delimiter: null, pageSize: 2 })) pages.push(page.objects.map((o) => o.key));
      assert.deepEqual(pages, [['five/1.csv', 'five/2.csv'], ['five/3.csv', 'five/4.csv'], ['five/5.csv']]);
    } finally {
      conn.client.destroy();
    }
  });

  it('takes the data files under a prefix, with sizes, over several pages', async () => {
    const listed = await list(['s3://drop/exports/2026-12/']);
    assert.deepEqual(
      listed.files.map((f) => [f.source, f.fileName, f.sizeBytes]),
      [
        ['s3://drop/exports/2026-12/a.csv.gz', 'a.csv.gz', 2],
        ['s3://drop/exports/2026-12/b.csv.gz', 'b.csv.gz', 3],
        ['s3://drop/exports/2026-12/c.csv.gz', 'c.csv.gz', 1],
        ['s3://drop/exports/2026-12/d.json', 'd.json', 4],
        ['s3://drop/exports/2026-12/e.csv.gz', 'e.csv.gz', 5],
      ],
    );
    assert.deepEqual(skips(listed), [
      's3://drop/exports/2026-12/.manifest: hidden',
      's3://drop/exports/2026-12/.staging/: hidden',
      's3://drop/exports/2026-12/README.md: not-data',
      's3://drop/exports/2026-12/f.csv.part: temporary',
      's3://drop/exports/2026-12/late/: directory',
    ]);
    assert.deepEqual(listed.arguments, [{ argument: 's3://drop/exports/2026-12/', kind: 's3-prefix', files: 5 }]);
  });

  it('descends with recursive (never below a hidden prefix); --pattern filters by name', async () => {
    const deep = await list(['s3://drop/exports/'], { recursive: true });
    assert.deepEqual(names(deep), [
      's3://drop/exports/2026-11/x.csv.gz',
      's3://drop/exports/2026-12/a.csv.gz',
      's3://drop/exports/2026-12/b.csv.gz',
      's3://drop/exports/2026-12/c.csv.gz',
      's3://drop/exports/2026-12/d.json',
      's3://drop/exports/2026-12/e.csv.gz',
      's3://drop/exports/2026-12/late/g.csv',
      's3://drop/exports/2026-12_old.csv',
      's3://drop/exports/report[1].csv',
    ]);
    assert.ok(skips(deep).includes('s3://drop/exports/2026-12/.staging/: hidden'));
    assert.equal(skips(deep).filter((s) => s.includes('.staging')).length, 1, 'a hidden prefix is reported once');
    assert.ok(!skips(deep).some((s) => s.includes('folder')), 'a folder marker is no file');
    const gz = await list(['s3://drop/exports/'], { recursive: true, pattern: '*.csv.gz' });
    assert.deepEqual(names(gz), ['s3://drop/exports/2026-11/x.csv.gz', 's3://drop/exports/2026-12/a.csv.gz', 's3://drop/exports/2026-12/b.csv.gz', 's3://drop/exports/2026-12/c.csv.gz', 's3://drop/exports/2026-12/e.csv.gz']);
  });

  it('expands a glob in the key', async () => {
    const listed = await list(['s3://drop/exports/2026-12/*.csv.gz']);
    assert.deepEqual(names(listed), ['s3://drop/exports/2026-12/a.csv.gz', 's3://drop/exports/2026-12/b.csv.gz', 's3://drop/exports/2026-12/c.csv.gz', 's3://drop/exports/2026-12/e.csv.gz']);
    assert.deepEqual(listed.arguments, [{ argument: 's3://drop/exports/2026-12/*.csv.gz', kind: 's3-glob', files: 4 }]);
    assert.deepEqual(names(await list(['s3://drop/exports/**/*.csv'])), ['s3://drop/exports/2026-12/late/g.csv', 's3://drop/exports/2026-12_old.csv', 's3://drop/exports/report[1].csv']);
    assert.deepEqual(names(await list(['s3://drop/exports/2026-1{1,2}/[ab]*'])), ['s3://drop/exports/2026-12/a.csv.gz', 's3://drop/exports/2026-12/b.csv.gz']);
    assert.deepEqual(names(await list(['s3://drop/exports/2026-12*'])), ['s3://drop/exports/2026-12_old.csv'], 'a prefix that ends mid-name');
    assert.deepEqual(skips(await list(['s3://drop/exports/2026-12/*.part'])), ['s3://drop/exports/2026-12/f.csv.part: temporary']);
    assert.deepEqual(names(await list(['s3://drop/exports/report\\[1\\].csv'])), ['s3://drop/exports/report[1].csv']);
    assert.deepEqual((await list(['s3://drop/exports/*.parquet'])).arguments, [{ argument: 's3://drop/exports/*.parquet', kind: 's3-glob', files: 0 }]);
  });

  it('lists a glob from its literal prefix, and below it only where the glob can reach', async () => {
    /** The prefix and delimiter of each listing (its pages count once). */
    const listRequests = async (url: string): Promise<Record<string, string>[]> => {
      s3.requests.length = 0;
      await list([url]);
      const listings = s3.requests
        .filter((r) => r.includes('list-type=2'))
        .map((r) => JSON.stringify(Object.fromEntries([...new URL(r.split(' ')[1] as string, 'http://x').searchParams].filter(([k]) => k === 'prefix' || k === 'delimiter'))));
      return [...new Set(listings)].map((l) => JSON.parse(l) as Record<string, string>);
    };
    // One segment of glob: deeper keys are rolled up by S3 (a bucket-wide *.csv must not list the whole bucket).
    assert.deepEqual(await listRequests('s3://drop/exports/2026-12/*.csv.gz'), [{ prefix: 'exports/2026-12/', delimiter: '/' }]);
    assert.deepEqual(await listRequests('s3://drop/exports/2026-1?/a.csv.gz'), [{ prefix: 'exports/2026-1' }]);
    assert.deepEqual(await listRequests('s3://drop/exports/**/x.csv.gz'), [{ prefix: 'exports/' }]);
  });

  it('takes a named object as it is (even with glob characters), with its size', async () => {
    const listed = await list(['s3://drop/exports/report[1].csv', 's3://drop/exports/2026-12/README.md'], { pattern: '*.csv.gz' });
    assert.deepEqual(listed.files.map((f) => [f.source, f.sizeBytes, f.argument]), [
      ['s3://drop/exports/2026-12/README.md', 1, 's3://drop/exports/2026-12/README.md'],
      ['s3://drop/exports/report[1].csv', 2, 's3://drop/exports/report[1].csv'],
    ]);
    assert.deepEqual(listed.arguments.map((a) => a.kind), ['s3-object', 's3-object']);
  });

  it('orders local files and objects together, and takes an object once', async () => {
    const listed = await list(['s3://drop/exports/2026-12/a.csv.gz', 'local.csv', 's3://drop/exports/2026-12/a*', 's3://drop/exports/2026-12/']);
    assert.deepEqual(names(listed).slice(0, 2), ['local.csv', 's3://drop/exports/2026-12/a.csv.gz']);
    assert.equal(names(listed).filter((n) => n.endsWith('a.csv.gz')).length, 1);
  });

  it('an empty prefix is nothing to import; a missing object, a folder named without / or a missing bucket is a usage error', async () => {
    assert.deepEqual(await list(['s3://empty/']), { stdin: false, files: [], skipped: [], arguments: [{ argument: 's3://empty/', kind: 's3-prefix', files: 0 }] });
    assert.deepEqual((await list(['s3://drop/nothing/here/'])).files, []);
    const usage = async (args: string[], message: string, hint?: RegExp): Promise<void> => {
      await assert.rejects(list(args), (err: Error) => {
        assert.ok(err instanceof UsageError, `${err.name}: ${err.message}`);
        assert.equal(err.exitCode, 2);
        assert.equal(err.message, message);
        if (hint) assert.match(err.hint ?? '', hint);
        return true;
      });
    };
    await usage(['s3://drop/exports/missing.csv'], `s3://drop/exports/missing.csv: no such file in the bucket (at ${s3.endpoint})`, /case-sensitive/);
    await usage(['s3://drop/exports/2026-12'], 's3://drop/exports/2026-12 is a folder, not a file', /s3:\/\/drop\/exports\/2026-12\/ to import/);
    await usage(['s3://nobucket/exports/'], `s3://nobucket/exports/: the bucket does not exist at ${s3.endpoint}`);
    await usage(['s3://nobucket/exports/a.csv'], `s3://nobucket/exports/a.csv: the bucket does not exist at ${s3.endpoint}`);
    await usage(['s3://nobucket/*.csv'], `s3://nobucket/*.csv: the bucket does not exist at ${s3.endpoint}`);
    await usage(['s3://drop'], 's3://drop names no file: write s3://bucket/path/to/file, or s3://bucket/ for the whole bucket');
  });

  it('reports refused credentials as a failure (exit 1), not a usage error', async () => {
    await assert.rejects(listSources(['s3://drop/exports/'], { recursive: false, pattern: null, s3: { ...s3.settings, accessKeyId: 'AKIAWRONG' }, env: {}, cwd: local.dir }), (err: Error) => {
      assert.ok(err instanceof AtlasError && !(err instanceof UsageError));
      assert.equal(err.message, 'access to s3://drop/exports/ was refused (InvalidAccessKeyId)');
      return true;
    });
  });
});
