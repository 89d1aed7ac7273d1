/** The duplicate check, undo and history prune as a role that row-level security policies hide rows from: refused in one line, rows left as they were. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { after, describe, it } from 'node:test';
import { resolveSettings } from '../../src/config.ts';
import { pruneHistory } from '../../src/core/history.ts';
import { importFile } from '../../src/core/import.ts';
import { traceLineage } from '../../src/core/lineage.ts';
import { undoImport } from '../../src/core/undo.ts';
import { AtlasError } from '../../src/errors.ts';
import { useTempDir, useTestDb } from '../helpers.ts';

describe('row-level security', () => {
  // Generated hex: safe in the statements below, which take no parameters.
  const role = `atlas_rls_${randomBytes(5).toString('hex')}`;
  // Registered before useTestDb's, so that it runs before the test schema and its client go.
  after(async () => {
    await db.rows(`drop owned by ${role}`);
    await db.rows(`drop role ${role}`);
  });
  const db = useTestDb();
  const files = useTempDir();

  it('the duplicate check, undo (dry run and --force) and prune refuse, naming the table, where a policy hides rows; nothing is deleted', async () => {
    const s = db.schema;
    await db.rows(`create role ${role} nologin`);
    await db.rows(`grant usage, create on schema ${s} to ${role}`);
    await db.rows(`select format('grant temporary on database %I to ${role}', current_database())`).then(([r]) => db.rows((r as { format: string }).format));
    // atlas connects as the test's superuser and acts as the role (SET ROLE through the connection's options).
    const url = new URL(db.url);
    url.searchParams.set('options', `-c role=${role}`);
    const settings = resolveSettings({ databaseUrl: url.toString(), schema: s }, {}, tmpdir());
    const load = (name: string, text: string, dedupe = true) => importFile(settings, { table: 'acct', source: files.write(name, text), dedupe });
    await load('acct0.csv', 'owner,amt\nalice,1\nbob,2\n');
    await db.rows(`alter table ${s}.acct enable row level security`);
    await db.rows(`alter table ${s}.acct force row level security`);
    await db.rows(`create policy p_sel on ${s}.acct for select using (owner = 'alice')`);
    await db.rows(`create policy p_ins on ${s}.acct for insert with check (true)`);
    await db.rows(`create policy p_del on ${s}.acct for delete using (owner = 'alice')`);
    // The duplicate check cannot see bob's row: it is refused rather than letting its copy in.
    await assert.rejects(load('acct_again.csv', 'owner,amt\nbob,2\n'), (err: unknown) => {
      assert.match(String((err as Error).message), / into acct failed: cannot check acct_again\.csv for duplicates: row-level security policies on table acct/);
      return true;
    });
    const mixed = await load('acct1.csv', 'owner,amt\nalice,3\nbob,4\ncarol,5\n', false);
    const hidden = await load('acct2.csv', 'owner,amt\nbob,6\n', false);
    const refused = (err: unknown) => {
      assert.ok(err instanceof AtlasError, String(err));
      assert.match(err.message, /row-level security policies on table acct may hide some of its rows from this role.*nothing was changed$/);
      return true;
    };
    await assert.rejects(undoImport(settings, mixed.import_id, { dryRun: true, force: false, purge: false }), refused);
    // Lineage said the hidden rows were changed outside atlas ("rows now 4 (5 expected)").
    await assert.rejects(traceLineage(settings, 'acct'), (err: unknown) => {
      assert.ok(err instanceof AtlasError, String(err));
      assert.match(err.message, /^cannot trace the lineage of .*\.acct: row-level security policies on table acct may hide some of its rows from this role/);
      return true;
    });
    await assert.rejects(undoImport(settings, mixed.import_id, { dryRun: false, force: true, purge: false }), refused);
    // A record marked undone while rows that the role cannot see still carry its id: deleting it would cascade to them.
    await db.rows(`update ${s}.import_history set status = 'undone' where import_id = $1`, [hidden.import_id]);
    await assert.rejects(pruneHistory(settings, { olderThanSeconds: 0, dryRun: false }), (err: unknown) => {
      assert.ok(err instanceof AtlasError, String(err));
      assert.match(err.message, /^cannot prune the history: row-level security policies on table acct/);
      return true;
    });
    assert.deepEqual(await db.rows(`select owner, amt from ${s}.acct order by id`), [
      { owner: 'alice', amt: 1 }, { owner: 'bob', amt: 2 }, { owner: 'alice', amt: 3 }, { owner: 'bob', amt: 4 }, { owner: 'carol', amt: 5 }, { owner: 'bob', amt: 6 },
    ]);
    assert.deepEqual(await db.rows(`select status from ${s}.import_history where import_id = $1`, [mixed.import_id]), [{ status: 'success' }]);
  });
});
