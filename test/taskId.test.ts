import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CI_SYSTEMS, detectCi, resolveTask, taskUuid, uuidV5 } from '../src/taskId.ts';
import { UsageError } from '../src/errors.ts';

/** RFC 9562's DNS namespace. */
const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

describe('task ids', () => {
  it('name-based UUIDs (version 5) match the published ones', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org'); RFC 9562 appendix A.4: www.example.com.
    assert.equal(uuidV5('python.org', DNS), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
    assert.equal(uuidV5('www.example.com', DNS), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('a UUID is stored as it is (as PostgreSQL would read it), any other id as its version 5 UUID', () => {
    assert.equal(taskUuid('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    assert.equal(taskUuid('{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    assert.equal(taskUuid('a0eebc999c0b4ef8bb6d6bb9bd380a11'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    const run = taskUuid('1234567');
    assert.match(run, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(taskUuid('1234567'), run, 'the same id, the same task');
    assert.notEqual(taskUuid('1234568'), run);
  });

  it('--task-id, else ATLAS_TASK_ID, else the CI run or job id; none outside CI', () => {
    const ci = { GITHUB_ACTIONS: 'true', GITHUB_RUN_ID: '987' };
    assert.deepEqual(resolveTask('nightly-42', { ...ci, ATLAS_TASK_ID: 'env-id' }), { id: taskUuid('nightly-42'), ref: 'nightly-42', source: '--task-id' });
    assert.deepEqual(resolveTask(undefined, { ...ci, ATLAS_TASK_ID: 'env-id' }), { id: taskUuid('env-id'), ref: 'env-id', source: 'ATLAS_TASK_ID' });
    assert.deepEqual(resolveTask('', ci), { id: taskUuid('987'), ref: '987', source: 'GITHUB_RUN_ID' });
    assert.equal(resolveTask(undefined, { GITHUB_RUN_ID: '987' }), null, 'a run id without the CI marker is not trusted');
    assert.equal(resolveTask(undefined, {}), null);
    assert.throws(() => resolveTask('x'.repeat(256), {}), UsageError);
  });

  it('knows the common CI systems by their own variables', () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ GITHUB_ACTIONS: 'true', GITHUB_RUN_ID: '1234567' }, 'github_actions', '1234567'],
      [{ GITLAB_CI: 'true', CI_JOB_ID: '555' }, 'gitlab_ci', '555'],
      [{ JENKINS_URL: 'https://ci.example/', BUILD_TAG: 'jenkins-etl-nightly-42' }, 'jenkins', 'jenkins-etl-nightly-42'],
      [{ CIRCLECI: 'true', CIRCLE_WORKFLOW_JOB_ID: 'b9f2c6a4-3f55-4a4e-9d6c-2d8a1c9e2f11', CIRCLE_BUILD_NUM: '7' }, 'circleci', 'b9f2c6a4-3f55-4a4e-9d6c-2d8a1c9e2f11'],
      [{ CIRCLECI: 'true', CIRCLE_BUILD_NUM: '7' }, 'circleci', '7'],
      [{ BUILDKITE: 'true', BUILDKITE_JOB_ID: '0190a6e2-7c11-4c3b-9b6e-0d4c2f7b8a90' }, 'buildkite', '0190a6e2-7c11-4c3b-9b6e-0d4c2f7b8a90'],
      [{ TF_BUILD: 'True', BUILD_BUILDID: '8812' }, 'azure_pipelines', '8812'],
      [{ TRAVIS: 'true', TRAVIS_JOB_ID: '31337' }, 'travis_ci', '31337'],
      [{ BITBUCKET_BUILD_NUMBER: '12', BITBUCKET_PIPELINE_UUID: '{5b1c8d2e-0f3a-4c6b-8e9d-1a2b3c4d5e6f}' }, 'bitbucket_pipelines', '{5b1c8d2e-0f3a-4c6b-8e9d-1a2b3c4d5e6f}'],
      [{ CODEBUILD_BUILD_ID: 'etl:0f6b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d' }, 'aws_codebuild', 'etl:0f6b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d'],
    ];
    assert.deepEqual(new Set(cases.map(([, name]) => name)), new Set(CI_SYSTEMS.map((s) => s.name)), 'every system is covered here');
    for (const [env, name, ref] of cases) {
      assert.equal(detectCi(env), name);
      const task = resolveTask(undefined, env);
      assert.equal(task?.ref, ref, name);
      assert.equal(task?.id, taskUuid(ref), name);
    }
    assert.equal(resolveTask(undefined, { BITBUCKET_BUILD_NUMBER: '12', BITBUCKET_PIPELINE_UUID: '{5b1c8d2e-0f3a-4c6b-8e9d-1a2b3c4d5e6f}' })?.id, '5b1c8d2e-0f3a-4c6b-8e9d-1a2b3c4d5e6f', "a CI id that is a UUID is kept");
    assert.equal(detectCi({}), null);
  });
});
