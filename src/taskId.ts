/**
 * What ran an import, for import_history.task_id: `--task-id`, else ATLAS_TASK_ID, else the run or
 * job id of the CI system atlas runs in. The column is a uuid (the spec's type), and CI ids are
 * not (GitHub's run id is a number, Jenkins' BUILD_TAG a name): a UUID is stored as it is, any
 * other id as the name-based UUID (version 5) of its text in ATLAS_TASK_NAMESPACE, so every
 * import of one CI run gets the same task_id; the id as given goes into metadata.task_ref.
 */
import { createHash } from 'node:crypto';
import { UsageError } from './errors.js';

/** The namespace of atlas's name-based task ids (RFC 9562 version 5): task_id = uuid5(this, the id's text). */
export const ATLAS_TASK_NAMESPACE = 'd5ddf3ea-f685-4f93-b8ce-7d21e295dba6';

/** An import's task: the uuid stored in task_id, the id as given, and where it came from. */
export interface TaskIdentity {
  /** Stored in import_history.task_id. */
  id: string;
  /** The id as given (metadata.task_ref). */
  ref: string;
  /** `--task-id`, `ATLAS_TASK_ID`, or the CI variable it was read from (metadata.task_source). */
  source: string;
}

/**
 * CI systems by the variable that says atlas runs in one, and the variables holding its run or
 * job id (the first one set is used). Their names go into metadata.ci.
 */
export const CI_SYSTEMS: ReadonlyArray<{ name: string; marker: string; ids: readonly string[] }> = [
  { name: 'github_actions', marker: 'GITHUB_ACTIONS', ids: ['GITHUB_RUN_ID'] },
  { name: 'gitlab_ci', marker: 'GITLAB_CI', ids: ['CI_JOB_ID'] },
  { name: 'jenkins', marker: 'JENKINS_URL', ids: ['BUILD_TAG'] },
  { name: 'circleci', marker: 'CIRCLECI', ids: ['CIRCLE_WORKFLOW_JOB_ID', 'CIRCLE_BUILD_NUM'] },
  { name: 'buildkite', marker: 'BUILDKITE', ids: ['BUILDKITE_JOB_ID'] },
  { name: 'azure_pipelines', marker: 'TF_BUILD', ids: ['BUILD_BUILDID'] },
  { name: 'travis_ci', marker: 'TRAVIS', ids: ['TRAVIS_JOB_ID'] },
  { name: 'bitbucket_pipelines', marker: 'BITBUCKET_BUILD_NUMBER', ids: ['BITBUCKET_PIPELINE_UUID', 'BITBUCKET_BUILD_NUMBER'] },
  { name: 'aws_codebuild', marker: 'CODEBUILD_BUILD_ID', ids: ['CODEBUILD_BUILD_ID'] },
];

const UUID_RE = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/** RFC 9562 version 5: the SHA-1 of namespace and name, with the version and variant bits set. */
export function uuidV5(name: string, namespace: string): string {
  const ns = UUID_RE.exec(namespace);
  if (!ns) throw new Error(`not a UUID: ${namespace}`);
  const bytes = createHash('sha1').update(Buffer.from(ns.slice(1).join(''), 'hex')).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The uuid task_id stores for an id: the id itself when it is a UUID (as PostgreSQL reads one: any case, braces, no hyphens), else its version 5 UUID. */
export function taskUuid(ref: string): string {
  const m = UUID_RE.exec(ref.trim());
  return m ? m.slice(1).join('-').toLowerCase() : uuidV5(ref, ATLAS_TASK_NAMESPACE);
}

/** The CI system `env` says atlas runs in, or null. */
export function detectCi(env: NodeJS.ProcessEnv): string | null {
  return CI_SYSTEMS.find((s) => (env[s.marker] ?? '') !== '')?.name ?? null;
}

/** Longest id accepted from --task-id or ATLAS_TASK_ID (the user_id and user_email columns hold 255 characters too). */
const MAX_TASK_REF = 255;

/** The task of an import: the flag, else ATLAS_TASK_ID, else the detected CI system's run or job id, else null. */
export function resolveTask(flag: string | undefined, env: NodeJS.ProcessEnv): TaskIdentity | null {
  const given: Array<[string, string | undefined]> = [
    ['--task-id', flag],
    ['ATLAS_TASK_ID', env.ATLAS_TASK_ID],
  ];
  for (const [source, value] of given) {
    if (value === undefined || value.trim() === '') continue;
    if (value.length > MAX_TASK_REF) throw new UsageError(`${source} is longer than ${MAX_TASK_REF} characters`);
    return { id: taskUuid(value), ref: value, source };
  }
  const ci = CI_SYSTEMS.find((s) => s.name === detectCi(env));
  const variable = ci?.ids.find((v) => (env[v] ?? '') !== '');
  if (variable === undefined) return null;
  const ref = env[variable]!;
  return { id: taskUuid(ref), ref, source: variable };
}
