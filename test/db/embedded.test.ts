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
        assert.match(refused.stderr, /^atlas: the embedded PostgreSQL's data directory .+ has lost its password file .+embedded\.json, so atlas cannot log in to it\n  hint: restore that file; or, to start again with an empty database, run `atlas server stop` and delete /);
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
      assert.match(leftovers.stderr, /^atlas: the embedded PostgreSQL's data directory .+pgdata holds files but no PostgreSQL cluster \(an initialisation cut short\?\), so atlas cannot create its database there\n  hint: delete .+pgdata and run atlas again/);
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

  it('atlas server start, status and stop: the URL without its password, where the password is, the data directory; JSON in snake_case', async () => {
    const home = tempDir('atlas-home-');
    const env = { ATLAS_HOME: home.dir };
    try {
      const before = await runAtlas(['server', 'status', '--json'], { env });
      assert.equal(before.code, 0, before.stderr);
      assert.deepEqual(JSON.parse(before.stdout), {
        success: true,
        running: false,
        initialised: false,
        url: null,
        host: '127.0.0.1',
        port: null,
        user: null,
        database: 'postgres',
        password_file: join(home.dir, 'embedded.json'),
        data_directory: join(home.dir, 'pgdata'),
        atlas_home: home.dir,
      });

      const start = await runAtlas(['server', 'start', '--json'], { env });
      assert.equal(start.code, 0, start.stderr);
      const s = JSON.parse(start.stdout) as Record<string, unknown>;
      const { dataDir, port } = await getEmbeddedServerStatus(home.dir);
      assert.deepEqual(s, {
        success: true,
        started: true,
        running: true,
        initialised: true,
        url: `postgresql://atlas@127.0.0.1:${port}/postgres`,
        host: '127.0.0.1',
        port,
        user: 'atlas',
        database: 'postgres',
        password_file: join(home.dir, 'embedded.json'),
        data_directory: dataDir,
        atlas_home: home.dir,
      });
      // The URL and the password file are all a client needs.
      const url = new URL(String(s.url));
      url.password = (JSON.parse(readFileSync(String(s.password_file), 'utf8')) as { password: string }).password;
      const client = new pg.Client(url.toString());
      await client.connect();
      await client.end();

      const text = await runAtlas(['server', 'status'], { env });
      assert.equal(text.stdout, [
        `the embedded PostgreSQL is running on 127.0.0.1:${port}`,
        `  url             postgresql://atlas@127.0.0.1:${port}/postgres (password not shown)`,
        `  password        the "password" field of ${join(home.dir, 'embedded.json')}`,
        `  psql            PGPASSWORD=$(node -p 'require("${join(home.dir, 'embedded.json')}").password') psql postgresql://atlas@127.0.0.1:${port}/postgres`,
        `  data directory  ${dataDir}`,
        '',
      ].join('\n'));
      const again = await runAtlas(['server', 'start'], { env });
      assert.match(again.stdout, /^the embedded PostgreSQL was already running\n/);
      // Every message names the data directory the same way.
      const imported = await runAtlas(['import', home.write('n.csv', csv([['n'], [1]]))], { env });
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stderr, new RegExp(`^atlas: using the embedded PostgreSQL on 127\\.0\\.0\\.1:${port} \\(data directory ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`, 'm'));

      assert.deepEqual(JSON.parse((await runAtlas(['server', 'stop', '--json'], { env })).stdout), { success: true, stopped: true });
      const stopped = await runAtlas(['server', 'status'], { env });
      assert.equal(stopped.stdout, `the embedded PostgreSQL is not running; atlas starts it when needed (or: atlas server start)\n  data directory  ${dataDir}\n`);
    } finally {
      await destroyEmbeddedServer(home.dir);
      home.cleanup();
    }
  });

  it('a server that cannot start says what to do in one line', async () => {
    const home = tempDir('atlas-home-');
    try {
      // $ATLAS_HOME under a file: its data directory cannot be made.
      const file = home.write('not-a-directory', '');
      const r = await runAtlas(['history'], { env: { ATLAS_HOME: join(file, '.atlas') } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^atlas: could not start the embedded PostgreSQL: ENOTDIR: [^\n]+\n {2}hint: set ATLAS_HOME to a directory you can write \(now [^\n]+\), or set --database-url to use a PostgreSQL server of your own\n$/);
    } finally {
      home.cleanup();
    }
  });
});
