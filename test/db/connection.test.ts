import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { cancelRunningQuery, openClient } from '../../src/db/connection.ts';
import { UsageError } from '../../src/errors.ts';
import { waitFor } from '../guarantees/helpers.ts';
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
