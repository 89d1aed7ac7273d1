import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

  it('a cluster that lost its password file, or a data directory left half made: one clear line with what to do, and no data deleted', async () => {
    const home = tempDir('atlas-home-');
    const env = { ATLAS_HOME: home.dir };
    try {
      const file = home.write('kept.csv', csv([['n'], [1], [2]]));
      const first = await runAtlas(['import', file, '--json'], { env });
      assert.equal(first.code, 0, first.stderr);
      const { dataDir } = await getEmbeddedServerStatus(home.dir);
      const credentials = join(home.dir, 'embedded.json');
      const saved = readFileSync(credentials);

      // As if $ATLAS_HOME's password file were deleted while the cluster lives on (running or not).
      rmSync(credentials);
      for (const stop of [false, true]) {
        if (stop) assert.equal((await runAtlas(['server', 'stop'], { env })).code, 0);
        const refused = await runAtlas(['history'], { env });
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stderr, /^atlas: the embedded PostgreSQL in .+ has lost its password file .+embedded\.json, so atlas cannot log in to it\n  hint: restore that file; or, to start again with an empty database, run `atlas server stop` and delete /);
        assert.ok(existsSync(join(dataDir, 'PG_VERSION')), 'the cluster is still there');
        assert.equal(existsSync(credentials), false, 'no new password file for a cluster it does not open');
      }
      // Restored, the same data is back.
      writeFileSync(credentials, saved, { mode: 0o600 });
      const back = await runAtlas(['history', '--json'], { env });
      assert.equal(back.code, 0, back.stderr);
      assert.equal((JSON.parse(back.stdout) as { total_count: number }).total_count, 1);
      await destroyEmbeddedServer(home.dir);

      // A data directory holding files but no cluster (initdb cut short): refused, left as it is.
      mkdirSync(join(home.dir, 'pgdata'));
      home.write('pgdata/base', 'half made');
      const leftovers = await runAtlas(['history'], { env });
      assert.equal(leftovers.code, 1, leftovers.stderr);
      assert.match(leftovers.stderr, /^atlas: .+pgdata holds files but no PostgreSQL cluster \(an initialisation cut short\?\), so atlas cannot create its database there\n  hint: delete .+pgdata and run atlas again/);
      assert.equal(readFileSync(join(home.dir, 'pgdata', 'base'), 'utf8'), 'half made');
      // Once deleted, atlas creates a new database there.
      rmSync(join(home.dir, 'pgdata'), { recursive: true });
      const fresh = await runAtlas(['history', '--json'], { env });
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.equal((JSON.parse(fresh.stdout) as { total_count: number }).total_count, 0);
    } finally {
      await destroyEmbeddedServer(home.dir);
      home.cleanup();
    }
  });
});
