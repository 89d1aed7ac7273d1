/**
 * Faults of the database server itself, on a PostgreSQL of this test's own (atlas's embedded
 * server in a temporary ATLAS_HOME, never the shared test database): the server crashing
 * (`pg_ctl restart -m immediate`) mid-COPY and mid-INSERT, and the disk filling up (a tablespace
 * on a small tmpfs) during the COPY and during the INSERT.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { destroyEmbeddedServer, ensureEmbeddedServer, restartEmbeddedServer, stopEmbeddedServer } from '../../src/db/embedded.ts';
import { qualify } from '../../src/transform/naming.ts';
import { runAtlas, tempDir } from '../helpers.ts';
import {
  assertCleanStderr,
  assertPromiseHolds,
  backendOfImport,
  countImportRows,
  countRows,
  errorLines,
  historyOf,
  inProgressImport,
  numberedCsv,
  startAtlas,
  tableExists,
  waitFor,
  waitUntilBlocked,
} from './helpers.ts';

const SCHEMA = 'faults';
/** Over 1 MB of COPY text: the `copy` pause point is mid-COPY. */
const ROWS = 35_000;
/** ~2.5 MB of CSV: more than the 2 MB tmpfs holds, whichever of the staging or the new table lands on it. */
const FILLER_ROWS = 60_000;

/** A client that survives its server crashing (the error is expected; queries on it then fail). */
async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client(url);
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

describe('the database server fails under an import (own embedded PostgreSQL)', { timeout: 300_000 }, () => {
  const home = tempDir('atlas-fault-home-');
  const files = tempDir('atlas-fault-files-');
  let url = '';
  let db: pg.Client;
  let conn: string[];
  let big: string;

  before(async () => {
    url = (await ensureEmbeddedServer(home.dir)).url;
    db = await connect(url);
    await db.query(`create schema ${SCHEMA}`);
    conn = ['--database-url', url, '--schema', SCHEMA];
    big = files.write('big.csv', numberedCsv(0, ROWS));
  });
  after(async () => {
    await db.end().catch(() => undefined);
    await destroyEmbeddedServer(home.dir);
    home.cleanup();
    files.cleanup();
  });

  /** After a crash: a new session, and the import's record no longer in progress. */
  async function reconnect(): Promise<void> {
    await db.end().catch(() => undefined);
    db = await connect(url);
  }

  describe('the server crashes (restart in immediate mode)', () => {
    it('mid-COPY: one clear line naming the import, exit 1, nothing written; the same command then succeeds in full', async (t) => {
      const table = 'crash_copy';
      const args = ['import', big, '--table', table, ...conn];
      const atlas = startAtlas(args, { pause: 'copy' });
      await atlas.paused('copy');
      const id = await inProgressImport(db, SCHEMA, table);
      const restart = restartEmbeddedServer(home.dir, 'immediate');
      const run = await atlas.done;
      await restart;
      assert.equal(run.code, 1, run.stderr);
      assertCleanStderr(run.stderr);
      const lines = errorLines(run.stderr);
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, new RegExp(`^atlas: import ${id} into ${table} failed: \\S`));
      t.diagnostic(lines[0]!);

      await reconnect();
      assert.equal(await tableExists(db, SCHEMA, table), false);
      const rec = (await historyOf(db, SCHEMA)).find((r) => r.import_id === id);
      assert.equal(rec?.status, 'failed');

      const again = await runAtlas([...args, '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout) as { rows_inserted: number }).rows_inserted, ROWS);
      await assertPromiseHolds(db, SCHEMA);
    });

    it('mid-INSERT: same, and the rows of the earlier import survive the crash', async (t) => {
      const table = 'crash_insert';
      const first = await runAtlas(['import', files.write('first.csv', numberedCsv(ROWS, 500)), '--table', table, ...conn]);
      assert.equal(first.code, 0, first.stderr);
      const args = ['import', big, '--table', table, ...conn];
      // A session that lets atlas read the table but not insert into it (the crash ends it too).
      const holder = await connect(url);
      await holder.query('begin');
      await holder.query(`lock table ${qualify(SCHEMA, table)} in share mode`);
      const atlas = startAtlas(args);
      const id = await inProgressImport(db, SCHEMA, table);
      const pid = await waitFor('the import backend', () => backendOfImport(db, id));
      await waitUntilBlocked(db, pid, /^insert into/);
      const restart = restartEmbeddedServer(home.dir, 'immediate');
      const run = await atlas.done;
      await restart;
      await holder.end().catch(() => undefined);
      assert.equal(run.code, 1, run.stderr);
      assertCleanStderr(run.stderr);
      const lines = errorLines(run.stderr);
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, new RegExp(`^atlas: import ${id} into ${table} failed: \\S`));
      t.diagnostic(lines[0]!);

      await reconnect();
      assert.equal(await countImportRows(db, SCHEMA, table, id), 0);
      assert.equal(await countRows(db, SCHEMA, table), 500);
      const again = await runAtlas([...args, '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout) as { rows_inserted: number }).rows_inserted, ROWS);
      assert.equal(await countRows(db, SCHEMA, table), ROWS + 500);
      await assertPromiseHolds(db, SCHEMA);
    });
  });

  describe('the disk fills up (a tablespace on a 2 MB tmpfs)', () => {
    const mountDir = tempDir('atlas-fault-disk-');
    const mountPoint = join(mountDir.dir, 'small');
    let mounted = false;
    let why = '';
        let filler = '';

    before(async () => {
      filler = files.write('filler.csv', numberedCsv(0, FILLER_ROWS));
      if (process.getuid?.() !== 0) {
        why = 'mounting a size-limited tmpfs needs root';
        return;
      }
      const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      mkdirSync(mountPoint);
      chmodSync(mountDir.dir, 0o755); // the server (user postgres) must reach the mount point
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=2m,mode=0700,uid=${uid.stdout.trim()},gid=${gid.stdout.trim()}`, 'tmpfs', mountPoint], { encoding: 'utf8' });
      if (mount.status !== 0) {
        why = `cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || '').trim()})`;
        return;
      }
      mounted = true;
      await db.query(`create tablespace atlas_small location '${mountPoint}'`);
    });
    after(async () => {
      if (mounted) {
        await db.query('drop tablespace if exists atlas_small').catch(() => undefined);
        // The server may keep a file open until its sessions end: stop it before unmounting.
        await stopEmbeddedServer(home.dir);
        spawnSync('umount', [mountPoint]);
      }
      mountDir.cleanup();
    });

    /** Bytes in use on the tmpfs. */
    function usedBytes(): number {
      const df = spawnSync('df', ['-B1', '--output=used', mountPoint], { encoding: 'utf8' });
      return Number(df.stdout.trim().split('\n')[1]);
    }

    for (const [phase, setting] of [
      ['COPY into the staging table', 'temp_tablespaces'],
      ['INSERT into the new table', 'default_tablespace'],
    ] as const) {
      it(`during the ${phase}: failed with the server's reason, nothing left on the disk, then succeeds with space`, async (t) => {
        if (!mounted) {
          t.skip(`${why}; check by hand: put a tablespace on a small filesystem and import with ?options=-c ${setting}=<it>`);
          return;
        }
        const table = `full_${setting}`;
        const full = new URL(url);
        full.searchParams.set('options', `-c ${setting}=atlas_small`);
        const run = await runAtlas(['import', filler, '--table', table, '--database-url', full.toString(), '--schema', SCHEMA]);
        assert.equal(run.code, 1, run.stderr);
        assertCleanStderr(run.stderr);
        const lines = errorLines(run.stderr);
        assert.equal(lines.length, 1, run.stderr);
        assert.match(lines[0]!, new RegExp(`^atlas: import [0-9a-f-]{36} into ${table} failed: .*No space left on device.*\\(SQLSTATE 53100\\)`));
        t.diagnostic(lines[0]!);
        const rec = (await historyOf(db, SCHEMA)).find((r) => r.table_name === table);
        assert.equal(rec?.status, 'failed');
        assert.match(rec?.error_message ?? '', /No space left on device/);
        assert.equal(await tableExists(db, SCHEMA, table), false);
        // The rolled-back files are removed: the space is free again.
        await waitFor('the tablespace to be emptied', async () => usedBytes() < 256 * 1024);

        const again = await runAtlas(['import', filler, '--table', table, '--json', ...conn]);
        assert.equal(again.code, 0, again.stderr);
        assert.equal((JSON.parse(again.stdout) as { rows_inserted: number }).rows_inserted, FILLER_ROWS);
        await assertPromiseHolds(db, SCHEMA);
      });
    }
  });

  it('the embedded server\'s generated password never shows: server status, the embedded notice, history', async () => {
    const password = (JSON.parse(readFileSync(join(home.dir, 'embedded.json'), 'utf8')) as { password: string }).password;
    const env = { ATLAS_HOME: home.dir };
    await ensureEmbeddedServer(home.dir); // the disk-full cleanup may have stopped it
    const runs = [
      await runAtlas(['server', 'status'], { env }),
      await runAtlas(['server', 'status', '--json', '--verbose'], { env }),
      await runAtlas(['import', files.write('embedded.csv', numberedCsv(0, 10)), '--verbose', '--json'], { env }),
      await runAtlas(['history', '--json', '--verbose'], { env }),
      await runAtlas(['import', join(files.dir, 'missing.csv'), '--verbose'], { env }),
    ];
    for (const r of runs) {
      assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), `the password shows in: ${r.stdout}${r.stderr}`);
    }
    assert.match(runs[2]!.stderr, /embedded PostgreSQL/);
    const c = await connect((await ensureEmbeddedServer(home.dir)).url);
    try {
      const rows = await c.query(`select h::text as t from public.import_history h`);
      for (const row of rows.rows as Array<{ t: string }>) assert.ok(!row.t.includes(password));
    } finally {
      await c.end();
    }
  });
});
