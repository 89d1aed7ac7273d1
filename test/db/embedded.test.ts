import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import pg from 'pg';
import { destroyEmbeddedServer, EMBEDDED_PREFERRED_PORT, ensureEmbeddedServer, getEmbeddedServerStatus, SERVER_SETTINGS } from '../../src/db/embedded.ts';
import { csv, runAtlas, tempDir } from '../helpers.ts';

function occupy(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('embedded default database', () => {
  it('two atlas processes at once both work, on a free port when the usual one is taken, and the server outlives them', async () => {
    const home = tempDir('atlas-home-');
    // Whether the usual port is free or taken by someone else, it is taken now.
    const blocker = await occupy(EMBEDDED_PREFERRED_PORT);
    try {
      const a = home.write('a.csv', csv([['n'], [1], [2]]));
      const b = home.write('b.csv', csv([['n'], [3]]));
      const env = { ATLAS_HOME: home.dir };
      const [ra, rb] = await Promise.all([runAtlas(['import', a, '--json'], { env }), runAtlas(['import', b, '--json'], { env })]);
      assert.equal(ra.code, 0, ra.stderr);
      assert.equal(rb.code, 0, rb.stderr);
      assert.match(ra.stderr + rb.stderr, /embedded PostgreSQL/);

      const status = await getEmbeddedServerStatus(home.dir);
      assert.equal(status.running, true, 'the server keeps running after both processes exit');
      assert.notEqual(status.port, EMBEDDED_PREFERRED_PORT);

      // It runs with the load settings (wal_level=minimal and so on), whichever process started it.
      const client = new pg.Client((await ensureEmbeddedServer(home.dir)).url);
      await client.connect();
      try {
        for (const setting of SERVER_SETTINGS) {
          const [name, value] = setting.split('=') as [string, string];
          const shown = await client.query<{ v: string }>('select current_setting($1) as v', [name]);
          assert.equal(shown.rows[0]!.v, value, name);
        }
      } finally {
        await client.end();
      }

      const h = await runAtlas(['history', '--json'], { env });
      assert.equal(h.code, 0, h.stderr);
      const history = JSON.parse(h.stdout) as { total_count: number; imports: Array<{ status: string }> };
      assert.equal(history.total_count, 2);
      assert.ok(history.imports.every((i) => i.status === 'success'));

      const stop = await runAtlas(['server', 'stop'], { env });
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal((await getEmbeddedServerStatus(home.dir)).running, false);
    } finally {
      await destroyEmbeddedServer(home.dir);
      blocker?.close();
      home.cleanup();
    }
  });
});
