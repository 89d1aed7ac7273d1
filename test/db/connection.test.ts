import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import pg from 'pg';
import { cancelRunningQuery, connectTimeoutSeconds, DEFAULT_CONNECT_TIMEOUT_SECONDS, openClient } from '../../src/db/connection.ts';
import { CancelledError, DatabaseError, UsageError } from '../../src/errors.ts';
import { listenWithoutAnswering, waitFor } from '../guarantees/helpers.ts';
import { testDatabaseUrl } from '../helpers.ts';

describe('cancelRunningQuery', () => {
  it('cancels the statement its client runs (a CancelRequest with the key pg received), not another session\'s', async () => {
    const url = testDatabaseUrl();
    const client = await openClient(url);
    const bystander = await openClient(url);
    const observer = new pg.Client(url);
    await observer.connect();
    try {
      const marker = `cancel-me-${process.pid}-${Date.now()}`;
      // Settled at once: its rejection may arrive before the cancel request's socket closes.
      const sleeping = client.query(`select pg_sleep(60), $1::text as marker`, [marker]).then(() => null, (err: Error & { code?: string }) => err);
      const waiting = bystander.query(`select pg_sleep(1) as slept, $1::text as marker`, [`${marker}-bystander`]);
      await waitFor('the statement to run', async () => {
        const r = await observer.query(`select count(*)::int as n from pg_stat_activity where state = 'active' and query like 'select pg_sleep(%'`);
        return r.rows[0].n >= 2;
      });
      await cancelRunningQuery(client);
      // Fails by this name if pg stops emitting backendKeyData on client.connection (pg's version is pinned in package.json).
      assert.equal((await sleeping)?.code, '57014', 'the statement was cancelled: pg still hands atlas the BackendKeyData of its connection');
      assert.deepEqual((await waiting).rows, [{ slept: '', marker: `${marker}-bystander` }], 'the other session\'s statement ran to its end');
      assert.deepEqual((await client.query('select 1 as one')).rows, [{ one: 1 }], 'the connection stays usable');
    } finally {
      await client.end();
      await bystander.end();
      await observer.end();
    }
  });
});

describe('pg internals (pg pinned in package.json)', () => {
  it('pg internal client.connection still emits backendKeyData with the processID and secretKey of the session', async () => {
    const client = new pg.Client(testDatabaseUrl());
    const keys: Array<{ processID?: unknown; secretKey?: unknown }> = [];
    client.connection.on('backendKeyData', (msg: { processID?: unknown; secretKey?: unknown }) => keys.push(msg));
    await client.connect();
    try {
      const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      assert.equal(keys.length, 1);
      assert.equal(keys[0]?.processID, pid);
      assert.equal(typeof keys[0]?.secretKey, 'number');
    } finally {
      await client.end();
    }
  });
});

describe('openClient', () => {
  it('a TLS file the URL names that cannot be read: said as such, not as a malformed URL', async () => {
    await assert.rejects(
      openClient('postgresql://loader:secret@127.0.0.1:5432/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem'),
      (err: unknown) => err instanceof UsageError && err.message === 'cannot read /nonexistent/ca.pem, named in the database URL (sslrootcert, sslcert or sslkey): ENOENT',
    );
  });
});

describe('openClient against a server that accepts the connection and never answers', { timeout: 120_000 }, () => {
  it('gives up past the URL\'s connect_timeout: one line naming the server, a hint saying how to wait longer', async () => {
    const server = await listenWithoutAnswering();
    try {
      await assert.rejects(openClient(server.url('?connect_timeout=1')), (err: unknown) => {
        assert.ok(err instanceof DatabaseError, String(err));
        assert.equal(err.message, `cannot connect to PostgreSQL: 127.0.0.1:${server.port} did not answer within 1 s (a frozen server, a firewall that drops the packets, or a proxy whose server is gone?)`);
        assert.match(err.hint ?? '', /connect_timeout=N in the URL or PGCONNECT_TIMEOUT sets how long to wait \(default 30 s\)$/);
        return true;
      });
    } finally {
      await server.close();
    }
  });

  it('an abort while it waits (Ctrl-C, SIGTERM) ends the attempt: cancelled, nothing written', async () => {
    const server = await listenWithoutAnswering();
    try {
      const controller = new AbortController();
      // No connect_timeout: only the abort can end it before the default's 30 s.
      const opening = openClient(server.url(), { signal: controller.signal });
      await server.connected;
      controller.abort();
      await assert.rejects(opening, (err: unknown) => err instanceof CancelledError && err.message === `cancelled while connecting to PostgreSQL at 127.0.0.1:${server.port}; nothing was written`);
    } finally {
      await server.close();
    }
  });
});

describe('connectTimeoutSeconds', () => {
  const url = 'postgresql://u:p@db.example:5432/db';
  it('turns TCP keepalive on, so that a server host gone without a word ends a wait instead of hanging it', async (t) => {
    const client = await openClient(testDatabaseUrl());
    try {
      const socket = (client as unknown as { connection: { stream: { localPort?: number; remotePort?: number } } }).connection.stream;
      if (socket.localPort === undefined) return t.skip('connected through a Unix socket');
      const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
      const entry = ['/proc/net/tcp', '/proc/net/tcp6']
        .flatMap((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n') : []))
        .map((line) => line.trim().split(/\s+/))
        .find((fields) => fields[1]?.endsWith(`:${hex(socket.localPort!)}`) && fields[2]?.endsWith(`:${hex(socket.remotePort!)}`));
      if (entry === undefined) return t.skip('no /proc/net/tcp entry for the connection (not Linux?)');
      // Field 5 is `timer:when`; timer 2 is the keepalive timer, armed on an idle connection only when SO_KEEPALIVE is set.
      assert.equal(entry[5]!.split(':')[0], '02', entry.join(' '));
    } finally {
      await client.end();
    }
  });

  it('the URL\'s connect_timeout, else PGCONNECT_TIMEOUT, else 30 s; 0 waits without a limit, as in libpq', () => {
    assert.equal(connectTimeoutSeconds(`${url}?sslmode=verify-full&connect_timeout=7`, { PGCONNECT_TIMEOUT: '9' }), 7);
    assert.equal(connectTimeoutSeconds(url, { PGCONNECT_TIMEOUT: '9' }), 9);
    assert.equal(connectTimeoutSeconds(url, {}), DEFAULT_CONNECT_TIMEOUT_SECONDS);
    assert.equal(DEFAULT_CONNECT_TIMEOUT_SECONDS, 30);
    assert.equal(connectTimeoutSeconds(`${url}?connect_timeout=0`, {}), 0);
  });
  it('a value that is not a whole number is a usage error naming where it was set', () => {
    assert.throws(() => connectTimeoutSeconds(`${url}?connect_timeout=3s`, {}), (err: unknown) => err instanceof UsageError && err.message === 'connect_timeout in the database URL must be a whole number of seconds, not "3s"');
    assert.throws(() => connectTimeoutSeconds(url, { PGCONNECT_TIMEOUT: 'soon' }), (err: unknown) => err instanceof UsageError && err.message === 'PGCONNECT_TIMEOUT must be a whole number of seconds, not "soon"');
  });
});
