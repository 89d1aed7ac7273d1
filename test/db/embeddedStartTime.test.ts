/** Starting the embedded server (seconds on first use) is not part of an import's duration: it is recorded apart. */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { destroyEmbeddedServer } from '../../src/db/embedded.ts';
import { csv, runAtlas, tempDir } from '../helpers.ts';

/** How long the test keeps atlas waiting for the server, on top of creating and starting it. */
const HOLD_MS = 3000;

describe('the embedded server and the duration of an import', () => {
  it('the first import starts the server: metadata says how long that took, and duration_seconds leaves it out', async () => {
    const home = tempDir('atlas-home-');
    const env = { ATLAS_HOME: home.dir };
    try {
      // As if another atlas process were starting the server: this one waits, which is part of reaching the server too.
      const lock = join(home.dir, 'server.lock');
      writeFileSync(lock, String(process.pid));
      const began = performance.now();
      const running = runAtlas(['import', home.write('first.csv', csv([['n'], [1], [2]])), '--json'], { env });
      await sleep(HOLD_MS);
      rmSync(lock);
      const r = await running;
      const wallSeconds = (performance.now() - began) / 1000;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /started the embedded PostgreSQL/);

      const h = await runAtlas(['history', (JSON.parse(r.stdout) as { import_id: string }).import_id, '--json'], { env });
      assert.equal(h.code, 0, h.stderr);
      const record = (JSON.parse(h.stdout) as { import_record: { duration_seconds: number; metadata: Record<string, unknown> } }).import_record;
      assert.equal(record.metadata.embedded_server_started, true);
      const serverSeconds = record.metadata.embedded_server_seconds as number;
      assert.ok(serverSeconds > 0, 'the time to reach the server is recorded');
      // Disjoint parts of one run: together no longer than the run (counted in, the server's time would make them longer).
      assert.ok(record.duration_seconds + serverSeconds <= wallSeconds, `import ${record.duration_seconds} s + server ${serverSeconds} s within the run's ${wallSeconds} s`);

      // Once it runs, reaching it takes no start.
      const second = await runAtlas(['import', home.write('second.csv', csv([['n'], [3]])), '--json'], { env });
      const again = await runAtlas(['history', (JSON.parse(second.stdout) as { import_id: string }).import_id, '--json'], { env });
      assert.equal((JSON.parse(again.stdout) as { import_record: { metadata: Record<string, unknown> } }).import_record.metadata.embedded_server_started, false);
    } finally {
      await destroyEmbeddedServer(home.dir);
      home.cleanup();
    }
  });
});
