/**
 * kill -9 of the atlas process during an upsert, a replace and a --replace-import, after it
 * deleted or updated rows (the `insert` and `commit` pause points): the server rolls the whole
 * transaction back, so the table is exactly as it was (every column of every row), no pre-image
 * of the killed import is left, and the replaced import is not marked replaced.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, runAtlas, tempDir, type TestDb } from '../helpers.ts';
import { snapshotTable } from '../importHelpers.ts';
import { assertPromiseHolds, backendOfImport, historyOf, inProgressImport, startAtlas, waitFor } from './helpers.ts';

/** Rows keyed by `name`, with an amount that `shift` changes: files with the same names but another shift update every row they share. */
function pricesCsv(from: number, count: number, shift: number): string {
  const lines = ['name,amount'];
  for (let i = from; i < from + count; i++) lines.push(`item ${i},${i + shift}.5`);
  return `${lines.join('\n')}\n`;
}

describe('kill -9 of atlas during an upsert, a replace, a --replace-import', { timeout: 180_000 }, () => {
  let db: TestDb;
  const files = tempDir('atlas-killmodes-');
  let conn: string[];
  let baseId: string;

  before(async () => {
    db = await openTestDb();
    conn = ['--database-url', db.url, '--schema', db.schema];
    const r = await runAtlas(['import', files.write('base.csv', pricesCsv(0, 3000, 0)), '--table', 'stock', '--json', ...conn]);
    assert.equal(r.code, 0, r.stderr);
    baseId = (JSON.parse(r.stdout) as { import_id: string }).import_id;
  });
  after(async () => {
    await db.close();
    files.cleanup();
  });

  const cases: Array<[string, () => string[]]> = [
    ['upsert', () => ['--mode', 'upsert', '--key', 'name']],
    ['replace', () => ['--mode', 'replace']],
    ['--replace-import', () => ['--replace-import', baseId]],
  ];
  for (const [mode, flags] of cases) {
    for (const point of ['insert', 'commit'] as const) {
      it(`${mode}, killed at ${point}: the table is exactly as it was, no pre-image is left, nothing is marked replaced`, async () => {
        const before = await snapshotTable(db, 'stock');
        const known = new Set((await historyOf(db.client, db.schema)).map((r) => r.import_id));
        const file = files.write(`${mode.replace(/-/g, '')}_${point}.csv`, pricesCsv(1500, 3000, 7));
        const atlas = startAtlas(['import', file, '--table', 'stock', ...flags(), ...conn], { pause: point });
        await atlas.paused(point);
        if (point === 'commit') {
          // Paused with its writes done, uncommitted: its backend holds the table's write lock.
          const pid = await backendOfImport(db.client, await inProgressImport(db.client, db.schema, 'stock'));
          const locks = await db.rows(`select 1 from pg_locks where pid = $1 and relation = $2::regclass and mode = 'RowExclusiveLock'`, [pid, `${db.schema}.stock`]);
          assert.equal(locks.length, 1);
        }
        atlas.child.kill('SIGKILL');
        assert.equal((await atlas.done).signal, 'SIGKILL');
        const fresh = (await historyOf(db.client, db.schema)).filter((r) => !known.has(r.import_id));
        assert.equal(fresh.length, 1);
        const id = fresh[0]!.import_id;
        await waitFor("the import's lock to be released", async () => (await backendOfImport(db.client, id)) === null);
        const [rec] = (await historyOf(db.client, db.schema)).filter((r) => r.import_id === id);
        assert.equal(rec!.status, 'failed');
        assert.equal(rec!.interrupted, true);
        assert.deepEqual(await snapshotTable(db, 'stock'), before, 'every row as it was');
        const left = await db.rows<{ n: number }>(`select count(*)::int as n from ${db.schema}.import_preimages where import_id = $1`, [id]);
        assert.equal(left[0]!.n, 0);
        const [base] = await db.rows<{ replaced_by: string | null }>(`select replaced_by from ${db.schema}.import_history where import_id = $1`, [baseId]);
        assert.equal(base!.replaced_by, null);
        await assertPromiseHolds(db.client, db.schema);
      });
    }
  }

  it('after the kills, each mode completes', async () => {
    const up = await runAtlas(['import', files.write('up.csv', pricesCsv(1500, 3000, 7)), '--table', 'stock', '--mode', 'upsert', '--key', 'name', '--json', ...conn]);
    assert.equal(up.code, 0, up.stderr);
    const u = JSON.parse(up.stdout) as { rows_inserted: number; rows_updated: number };
    assert.deepEqual([u.rows_inserted, u.rows_updated], [1500, 1500]);
    await assertPromiseHolds(db.client, db.schema);
  });
});
