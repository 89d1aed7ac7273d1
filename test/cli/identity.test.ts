/** Who and what ran an import: user_email and task_id from flags, the environment, the config file or the CI system. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CI_SYSTEMS, uuidV5, ATLAS_TASK_NAMESPACE } from '../../src/taskId.ts';
import { csv, runAtlas, type RunResult, useTempDir, useTestDb } from '../helpers.ts';

/** Every variable that could make atlas think it runs in CI, or give it a task or an email: unset, whatever runs these tests. */
const CLEAN: Record<string, undefined> = Object.fromEntries(
  [...CI_SYSTEMS.flatMap((s) => [s.marker, ...s.ids]), 'ATLAS_TASK_ID', 'ATLAS_USER_EMAIL', 'ATLAS_USER'].map((v) => [v, undefined]),
);

describe('who and what ran an import', () => {
  const db = useTestDb();
  const files = useTempDir();
  let n = 0;

  /** Imports a new small file with these flags and environment; returns the record as SQL sees it. */
  async function importWith(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<Record<string, unknown> & { r: RunResult }> {
    n++;
    const path = files.write(`who_${n}.csv`, csv([['n'], [n]]));
    const r = await runAtlas(['import', path, '--json', '--database-url', db.url, '--schema', db.schema, ...args], { env: { ...CLEAN, ...env }, ...(cwd ? { cwd } : {}) });
    assert.equal(r.code, 0, r.stderr);
    const [h] = await db.rows<Record<string, unknown>>(`select user_id, user_email, task_id, analysis_id, metadata from ${db.schema}.import_history where import_id = $1`, [
      (JSON.parse(r.stdout) as { import_id: string }).import_id,
    ]);
    return { ...h!, r };
  }
  const meta = (h: Record<string, unknown>): Record<string, unknown> => h.metadata as Record<string, unknown>;

  it('outside CI and without flags: user_id is the OS user, no email, no task, no CI system', async () => {
    const h = await importWith([]);
    assert.equal(typeof h.user_id, 'string');
    assert.equal(h.user_email, null);
    assert.equal(h.task_id, null);
    assert.equal(h.analysis_id, null);
    for (const key of ['ci', 'task_ref', 'task_source']) assert.equal(meta(h)[key], undefined, key);
  });

  it('--user-email, else ATLAS_USER_EMAIL, else the config file; a malformed one is a usage error', async () => {
    assert.equal((await importWith(['--user-email', 'ada@example.com'], { ATLAS_USER_EMAIL: 'env@example.com' })).user_email, 'ada@example.com');
    assert.equal((await importWith([], { ATLAS_USER_EMAIL: 'env@example.com' })).user_email, 'env@example.com');
    const config = files.write('atlas.config.json', JSON.stringify({ user: 'etl-bot', user_email: 'etl@example.com' }));
    const fromFile = await importWith(['--config', config]);
    assert.equal(fromFile.user_email, 'etl@example.com');
    assert.equal(fromFile.user_id, 'etl-bot');
    const bad = await runAtlas(['import', files.write('bad_email.csv', 'n\n1\n'), '--user-email', 'not an email', '--database-url', db.url, '--schema', db.schema], { env: CLEAN });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"not an email" is not an email address/);
  });

  it('--task-id, else ATLAS_TASK_ID: a UUID as given, another id as its name-based UUID with the id in metadata', async () => {
    const given = await importWith(['--task-id', '3F2504E0-4F89-41D3-9A0C-0305E82C3301']);
    assert.equal(given.task_id, '3f2504e0-4f89-41d3-9a0c-0305e82c3301');
    assert.deepEqual([meta(given).task_ref, meta(given).task_source], ['3F2504E0-4F89-41D3-9A0C-0305E82C3301', '--task-id']);
    const named = await importWith([], { ATLAS_TASK_ID: 'nightly-2025-01-31' });
    assert.equal(named.task_id, uuidV5('nightly-2025-01-31', ATLAS_TASK_NAMESPACE));
    assert.deepEqual([meta(named).task_ref, meta(named).task_source], ['nightly-2025-01-31', 'ATLAS_TASK_ID']);
    // Every import of one task shares its task_id: the spec's column answers "what else did this run load".
    const same = await importWith(['--task-id', 'nightly-2025-01-31']);
    assert.equal(same.task_id, named.task_id);
  });

  it("in CI: the system's run or job id, with the system's name; a given task id still wins", async () => {
    const github = await importWith([], { GITHUB_ACTIONS: 'true', GITHUB_RUN_ID: '1234567' });
    assert.equal(github.task_id, uuidV5('1234567', ATLAS_TASK_NAMESPACE));
    assert.deepEqual([meta(github).ci, meta(github).task_ref, meta(github).task_source], ['github_actions', '1234567', 'GITHUB_RUN_ID']);
    const jenkins = await importWith([], { JENKINS_URL: 'https://ci.example/', BUILD_TAG: 'jenkins-etl-nightly-42' });
    assert.equal(jenkins.task_id, uuidV5('jenkins-etl-nightly-42', ATLAS_TASK_NAMESPACE));
    assert.deepEqual([meta(jenkins).ci, meta(jenkins).task_ref], ['jenkins', 'jenkins-etl-nightly-42']);
    const gitlab = await importWith(['--task-id', 'release-7'], { GITLAB_CI: 'true', CI_JOB_ID: '555' });
    assert.equal(gitlab.task_id, uuidV5('release-7', ATLAS_TASK_NAMESPACE));
    assert.deepEqual([meta(gitlab).ci, meta(gitlab).task_source], ['gitlab_ci', '--task-id']);
  });

  it('a failed import records them too', async () => {
    const path = files.write('who_failed.csv', Buffer.from('name\nJos\xe9\n', 'latin1'));
    const r = await runAtlas(['import', path, '--json', '--user-email', 'ada@example.com', '--database-url', db.url, '--schema', db.schema], {
      env: { ...CLEAN, GITHUB_ACTIONS: 'true', GITHUB_RUN_ID: '99' },
    });
    assert.equal(r.code, 1);
    const [h] = await db.rows<Record<string, unknown>>(`select status, user_email, task_id, metadata->>'ci' as ci from ${db.schema}.import_history where import_id = $1`, [
      (JSON.parse(r.stdout) as { import_id: string }).import_id,
    ]);
    assert.deepEqual(h, { status: 'failed', user_email: 'ada@example.com', task_id: uuidV5('99', ATLAS_TASK_NAMESPACE), ci: 'github_actions' });
  });
});
