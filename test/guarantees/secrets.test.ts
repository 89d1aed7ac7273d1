/**
 * No credential in any output, error, --verbose stack trace or history column: a database password
 * given by --database-url, DATABASE_URL, ATLAS_DATABASE_URL or the config file, and S3 keys given
 * by the config file or the environment, through successful runs, failing imports, refused
 * connections, unparsable URLs and mistyped flags. Every byte atlas printed and every history
 * record is searched for every secret.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { qualify } from '../../src/transform/naming.ts';
import { FIXTURES, runAtlas, type RunResult, useTempDir, useTestDb } from '../helpers.ts';
import { numberedCsv } from './helpers.ts';

/** s3rver accepts only this key id (and does not check signatures, so any secret works). */
const S3RVER_KEY = 'S3RVER';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs the tasks, `width` at a time. */
async function inBatches(tasks: Array<() => Promise<unknown>>, width = 4): Promise<void> {
  for (let i = 0; i < tasks.length; i += width) await Promise.all(tasks.slice(i, i + width).map((t) => t()));
}

/** `url` with its password replaced. */
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

describe('secrets never appear in output, errors, --verbose or history', { timeout: 240_000 }, () => {
  const db = useTestDb();
  const dir = useTempDir('atlas-secrets-');
  let s3: S3rver;
  let endpoint = '';
  const tag = randomBytes(6).toString('hex');
  /** Every secret of this test, by what it is. */
  const secrets: Record<string, string> = {
    wrongPassword: `wrongPw${tag}`,
    s3Secret: `s3Secret${tag}`,
    s3WrongKeyId: `AKIA${tag.toUpperCase()}WRONG`,
    endpointPassword: `endpointPw${tag}`,
  };
  type Runs = Array<{ what: string; r: RunResult }>;

  /** Runs atlas and keeps what it printed in `runs`, for the test's own search. */
  async function run(runs: Runs, what: string, args: string[], env: Record<string, string | undefined> = {}, expectCode?: number): Promise<RunResult> {
    const r = await runAtlas(args, { env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, ...env }, cwd: dir.dir });
    runs.push({ what, r });
    if (expectCode !== undefined) assert.equal(r.code, expectCode, `${what}: ${r.stdout}${r.stderr}`);
    return r;
  }

  /** No secret in anything these runs printed, nor in any column of the tracking tables; and --verbose did print stack traces to search. */
  async function assertNoSecrets(runs: Runs): Promise<Array<{ t: string; status: string }>> {
    for (const [name, secret] of Object.entries(secrets)) {
      for (const { what, r } of runs) {
        assert.ok(!r.stdout.includes(secret), `${name} in the stdout of "${what}": ${r.stdout}`);
        assert.ok(!r.stderr.includes(secret), `${name} in the stderr of "${what}": ${r.stderr}`);
      }
    }
    const rows = await db.rows<{ t: string; status: string }>(`select h::text as t, status from ${qualify(db.schema, 'import_history')} h`);
    const everything = [
      ...rows.map((r) => r.t),
      ...(await db.rows<{ t: string }>(`select m::text as t from ${qualify(db.schema, 'mapping_errors')} m`)).map((r) => r.t),
      ...(await db.rows<{ t: string }>(`select d::text as t from ${qualify(db.schema, 'import_duplicates')} d`)).map((r) => r.t),
    ];
    for (const [name, secret] of Object.entries(secrets)) {
      for (const t of everything) assert.ok(!t.includes(secret), `${name} in a tracking table: ${t}`);
    }
    assert.ok(runs.some(({ r }) => /^\s+at /m.test(r.stderr)), '--verbose printed stack traces');
    return rows;
  }

  before(async () => {
    const real = new URL(db.url).password;
    if (real !== '') secrets.realPassword = decodeURIComponent(real);
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir.dir, 's3'), configureBuckets: [{ name: 'data', configs: [] }] });
    const { port } = await s3.run();
    endpoint = `http://127.0.0.1:${port}`;
    const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: secrets.s3Secret! } });
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'in/orders.csv', Body: numberedCsv(0, 50) }));
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'in/other.csv', Body: numberedCsv(100, 50) }));
    client.destroy();
  });
  after(() => s3.close());

  it('the database password, from each place a URL can come from', async () => {
    const runs: Runs = [];
    const schema = ['--schema', db.schema];
    const good = dir.write('good.csv', numberedCsv(0, 20));
    const bad = join(FIXTURES, 'hostile', 'invalid_utf8.csv');
    const cfg = dir.write('atlas.config.json', JSON.stringify({ database: { url: db.url, schema: db.schema } }));
    const wrongCfg = dir.write('wrong.config.json', JSON.stringify({ database: { url: withPassword(db.url, secrets.wrongPassword!) } }));
    const v = ['--verbose'];

    // Working URLs: successes and a failing import, with stack traces on.
    await run(runs, 'import, --database-url', ['import', good, '--table', 'via_flag', '--database-url', db.url, ...schema, ...v, '--json'], {}, 0);
    const wrong = withPassword(db.url, secrets.wrongPassword!);
    const port = await closedPort();
    // Independent of each other: four at a time.
    await inBatches([
      () => run(runs, 'import, DATABASE_URL', ['import', good, '--table', 'via_env', ...schema, ...v], { DATABASE_URL: db.url }, 0),
      () => run(runs, 'import, ATLAS_DATABASE_URL', ['import', good, '--table', 'via_atlas_env', ...schema, ...v, '--progress'], { ATLAS_DATABASE_URL: db.url }, 0),
      () => run(runs, 'import, config file', ['import', good, '--table', 'via_config', '--config', cfg, ...v], {}, 0),
      () => run(runs, 'failing import', ['import', bad, '--database-url', db.url, ...schema, ...v], {}, 1),
      () => run(runs, 'failing import, --json', ['import', bad, '--table', 'bad_json', '--database-url', db.url, ...schema, ...v, '--json'], {}, 1),
      () => run(runs, 'already imported', ['import', good, '--table', 'via_flag', '--database-url', db.url, ...schema, ...v], {}, 4),
      ...[['history'], ['stats'], ['lineage', 'via_flag'], ['history', 'prune', '--older-than', '1d', '--dry-run']].flatMap((cmd) => [
        () => run(runs, cmd.join(' '), [...cmd, '--database-url', db.url, ...schema, ...v, '--json'], {}, 0),
        () => run(runs, `${cmd.join(' ')} (human)`, [...cmd, ...schema, ...v], { DATABASE_URL: db.url }, 0),
      ]),
      // Refused, unreachable, unparsable.
      () => run(runs, 'wrong password, --database-url', ['history', '--database-url', wrong, ...v], {}, 1),
      () => run(runs, 'wrong password, DATABASE_URL', ['import', good, ...v, '--json'], { DATABASE_URL: wrong }, 1),
      () => run(runs, 'wrong password, config file', ['import', good, '--config', wrongCfg, ...v], {}, 1),
      () => run(runs, 'wrong password, ?password=', ['history', '--database-url', `postgresql://127.0.0.1:${new URL(db.url).port || 5432}/x?user=nobody&password=${secrets.wrongPassword}`, ...v], {}, 1),
      () => run(runs, 'nothing listening', ['history', '--database-url', `postgresql://u:${secrets.wrongPassword}@127.0.0.1:${port}/x`, ...v, '--json'], {}, 1),
      () => run(runs, 'unparsable URL (port)', ['history', '--database-url', `postgresql://u:${secrets.wrongPassword}@127.0.0.1:99999/x`, ...v], {}, 2),
      () => run(runs, 'unparsable URL (a / in the password)', ['history', '--database-url', `postgresql://u:a/${secrets.wrongPassword}@127.0.0.1/x`, ...v, '--json'], {}, 2),
      () => run(runs, 'unparsable URL (an @ in the password)', ['history', '--database-url', `postgresql://u:a@${secrets.wrongPassword}@127.0.0.1:${port}/x`, ...v], {}, 1),
      () => run(runs, 'not a postgres URL', ['history', '--database-url', `mysql://u:${secrets.wrongPassword}@h/x`, ...v], {}, 2),
      // Commander echoes what it cannot parse.
      () => run(runs, 'mistyped flag with =', ['history', `--databse-url=postgresql://u:${secrets.wrongPassword}@h/x`, '--json'], {}, 2),
      () => run(runs, 'URL given to a flag with choices', ['history', '--status', `postgresql://u:${secrets.wrongPassword}@h/x`], {}, 2),
      () => run(runs, 'URL given to a number flag', ['history', '--limit', `postgresql://u:${secrets.wrongPassword}@h/x`, '--database-url', db.url], {}, 2),
    ]);
    assert.ok(runs.length > 20);
    // The runs reached the database: successes and failures were recorded, and searched.
    const rows = await assertNoSecrets(runs);
    assert.ok(rows.some((r) => r.t.includes('via_config') && r.status === 'success'));
    assert.ok(rows.some((r) => r.status === 'failed'));
  });

  it('S3 keys, from the config file and from the environment', async () => {
    const runs: Runs = [];
    const schema = ['--schema', db.schema, '--database-url', db.url];
    const s3cfg = (extra: Record<string, unknown>): string =>
      dir.write(`s3-${Object.keys(extra).join('-')}-${randomBytes(3).toString('hex')}.json`, JSON.stringify({ s3: { endpoint, accessKeyId: S3RVER_KEY, secretAccessKey: secrets.s3Secret, ...extra } }));
    const v = ['--verbose'];
    const env = { ATLAS_S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: secrets.s3Secret };
    const dead = `http://u:${secrets.endpointPassword}@127.0.0.1:${await closedPort()}`;
    await inBatches([
      () => run(runs, 'S3 import, keys in the config file', ['import', 's3://data/in/orders.csv', '--table', 's3_cfg', '--config', s3cfg({}), ...schema, ...v, '--json'], {}, 0),
      () => run(runs, 'S3 import, keys in the environment', ['import', 's3://data/in/other.csv', '--table', 's3_env', ...schema, ...v], env, 0),
      () => run(runs, 'S3, no such key', ['import', 's3://data/in/missing.csv', '--table', 's3_missing', ...schema, ...v], env, 2),
      () => run(runs, 'S3, wrong key id (config)', ['import', 's3://data/in/orders.csv', '--table', 's3_wrong', '--config', s3cfg({ accessKeyId: secrets.s3WrongKeyId }), ...schema, ...v, '--json'], {}, 1),
      () => run(runs, 'S3, wrong key id (env)', ['import', 's3://data/in/orders.csv', '--table', 's3_wrong2', ...schema, ...v], { ...env, AWS_ACCESS_KEY_ID: secrets.s3WrongKeyId }, 1),
      () => run(runs, 'S3, only a secret', ['import', 's3://data/in/orders.csv', '--table', 's3_half', ...schema, ...v], { AWS_SECRET_ACCESS_KEY: secrets.s3Secret }, 2),
      () => run(runs, 'S3, unreachable endpoint with a password in it', ['import', 's3://data/in/orders.csv', '--table', 's3_dead', ...schema, ...v], { ...env, ATLAS_S3_ENDPOINT: dead }, 1),
      () => run(runs, 'S3, credentials in the s3:// URL', ['import', `s3://${S3RVER_KEY}:${secrets.s3Secret}@data/in/orders.csv`, '--table', 's3_url', ...schema, ...v], env, 2),
    ]);
    const rows = await assertNoSecrets(runs);
    assert.ok(rows.some((r) => r.t.includes('s3://data/in/orders.csv') && r.status === 'success'));
    assert.ok(rows.some((r) => r.t.includes('s3://data/in/other.csv') && r.status === 'success'));
  });
});
