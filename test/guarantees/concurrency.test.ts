/**
 * Imports racing each other into one table: 8 at once with 50% overlapping rows, over several
 * rounds (the first round also races to create the table), and an undo racing an import. Every
 * one must finish (no deadlock), every row must be in the table exactly once, and every history
 * record must match the rows it owns.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { qualify } from '../../src/transform/naming.ts';
import { useTempDir, useTestDb } from '../helpers.ts';
import { assertPromiseHolds, countImportRows, countRows, numberedCsv, raceOverlappingImports, runAtlasWith, SLOW, type ImportOut } from './helpers.ts';

const PARALLEL = 8;
const ROWS_PER_FILE = 2000;
const ROUNDS = SLOW ? 4 : 2;

describe('concurrent imports into one table', { timeout: 300_000 }, () => {
  const db = useTestDb();
  const files = useTempDir('atlas-race-');
  let conn: string[];

  before(async () => {
    conn = ['--database-url', db.url, '--schema', db.schema];
  });

  it(`${PARALLEL} at once with 50% overlapping rows, ${ROUNDS} rounds: exact distinct totals, no deadlock`, async () => {
    const table = 'race';
    let expected = 0;
    for (let round = 0; round < ROUNDS; round++) {
      expected += await raceOverlappingImports({ ...db, conn, write: files.write, table, parallel: PARALLEL, rows: ROWS_PER_FILE, base: round * 1_000_000 });
      const [counts] = await db.rows<{ n: string; d: string }>(`select count(*) as n, count(distinct id_2) as d from ${qualify(db.schema, table)}`);
      assert.equal(Number(counts!.n), expected, `round ${round}: every distinct row once`);
      assert.equal(Number(counts!.d), expected, `round ${round}: no row twice`);
    }
    await assertPromiseHolds(db.client, db.schema);
  });

  it('an undo of one import while another imports into the same table: both correct', async () => {
    const table = 'undo_race';
    const n = 3000;
    for (let round = 0; round < (SLOW ? 4 : 2); round++) {
      const base = round * 1_000_000;
      const first = await runAtlasWith(['import', files.write(`u${round}_a.csv`, numberedCsv(base, n)), '--table', table, '--json', ...conn]);
      assert.equal(first.code, 0, first.stderr);
      const a = JSON.parse(first.stdout) as ImportOut;
      const before = await countRows(db.client, db.schema, table);
      // B overlaps A by half: what it skips depends on whether the undo went first.
      const [undo, second] = await Promise.all([
        runAtlasWith(['undo', a.import_id, '--yes', '--json', ...conn]),
        runAtlasWith(['import', files.write(`u${round}_b.csv`, numberedCsv(base + n / 2, n)), '--table', table, '--json', ...conn]),
      ]);
      assert.equal(second.code, 0, second.stderr);
      const b = JSON.parse(second.stdout) as ImportOut;
      if (undo.code !== 0) {
        // B committed first and skipped the overlap as duplicates of A's rows: the undo is refused, naming B, and A's rows all stay.
        assert.match(undo.stderr, new RegExp(`${n / 2} of its rows are also the data of later imports.*${b.import_id}`), undo.stderr);
        assert.equal(b.duplicates_found, n / 2);
        assert.equal(await countImportRows(db.client, db.schema, table, a.import_id), n);
        assert.equal(await countRows(db.client, db.schema, table), before + b.rows_inserted);
        continue;
      }
      const undone = JSON.parse(undo.stdout) as { rows_removed: number };
      assert.equal(undone.rows_removed, n, 'the undo removed exactly A\'s rows');
      assert.equal(await countImportRows(db.client, db.schema, table, a.import_id), 0);
      assert.equal(await countImportRows(db.client, db.schema, table, b.import_id), b.rows_inserted);
      assert.equal(b.duplicates_found, 0, 'the undo went first: B found none of A\'s rows');
      assert.equal(b.rows_inserted + b.duplicates_found, n);
      assert.equal(await countRows(db.client, db.schema, table), before - n + b.rows_inserted);
    }
    await assertPromiseHolds(db.client, db.schema);
  });
});
