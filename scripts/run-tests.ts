/**
 * `npm test`: runs every test file under test/ against a real PostgreSQL. Uses
 * ATLAS_TEST_DATABASE_URL when set; otherwise starts atlas's embedded server in a temporary
 * ATLAS_HOME for this run and stops it afterwards. (Node 20 does not expand globs in
 * `node --test`, so the files are listed here.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { destroyEmbeddedServer, ensureEmbeddedServer } from '../src/db/embedded.ts';

function listTests(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : listTests(path);
      return name.endsWith('.test.ts') ? [path] : [];
    })
    .sort();
}

const root = new URL('..', import.meta.url).pathname;
const filter = process.argv.slice(2);
const files = listTests(join(root, 'test')).filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));

let home: string | null = null;
const env = { ...process.env };
if (!env.ATLAS_TEST_DATABASE_URL) {
  home = mkdtempSync(join(tmpdir(), 'atlas-test-pg-'));
  const t = Date.now();
  const info = await ensureEmbeddedServer(home);
  env.ATLAS_TEST_DATABASE_URL = info.url;
  process.stdout.write(`test database: embedded PostgreSQL on port ${info.port} (started in ${Date.now() - t} ms)\n`);
} else {
  process.stdout.write('test database: ATLAS_TEST_DATABASE_URL\n');
}

// A test that hangs fails after 10 minutes (the longest suite takes under a minute), and a file whose
// tests are done exits even if a connection was left open: a failure instead of a stalled CI
// (Node 20.14+ has both flags; older Node 20 runs without them).
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const noStall = major > 20 || (major === 20 && minor >= 14) ? ['--test-timeout=600000', '--test-force-exit'] : [];

const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', ...noStall, '--test-reporter=spec', ...files.map((f) => relative(root, f))],
    { cwd: root, env, stdio: 'inherit' },
  );
  child.on('close', (c) => resolve(c ?? 1));
});

if (home !== null) {
  // Stops the server and deletes its cluster (under /var/lib/atlas when running as root).
  await destroyEmbeddedServer(home).catch((err: unknown) => process.stderr.write(`could not stop the test server: ${String(err)}\n`));
  rmSync(home, { recursive: true, force: true });
}
process.exit(code);
