/**
 * openS3Source against a real S3-protocol server (s3rver) on loopback, through the real AWS SDK
 * client: no mocks. s3rver accepts only its own key id (S3RVER) but does not verify SigV4
 * signatures, so a wrong key id is refused while a wrong secret is not: the secret-mismatch
 * path (SignatureDoesNotMatch) is covered by describeS3Error's unit test only.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { before, describe, it } from 'node:test';
import type { S3Settings } from '../../src/config.ts';
import { AtlasError, CancelledError, UsageError } from '../../src/errors.ts';
import { describeS3Error, openS3Source, parseS3Url, resolveS3Settings } from '../../src/sources/s3.ts';
import { listSources } from '../../src/sources/listSources.ts';
import { S3RVER_KEY as KEY, S3RVER_SECRET as SECRET, useS3rver } from './s3rverHelper.ts';

const NO_SETTINGS: S3Settings = { endpoint: null, region: null, accessKeyId: null, secretAccessKey: null, forcePathStyle: null };

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('openS3Source (s3rver on loopback)', () => {
  const s3 = useS3rver(['data']);
  const body = randomBytes(3 * 1024 * 1024 + 17);
  let endpoint = '';
  let settings: S3Settings;

  before(async () => {
    ({ endpoint, settings } = s3);
    await s3.put('data', { 'exports/2024/orders.csv': body });
  });

  it('streams an object: bytes, size, name and ETag', async () => {
    const url = 's3://data/exports/2024/orders.csv';
    const source = await openS3Source(url, settings, {});
    assert.equal(source.stream.readableEnded, false, 'the body is read as a stream, not fetched before');
    const chunks: Buffer[] = [];
    for await (const chunk of source.stream) chunks.push(chunk as Buffer);
    assert.ok(chunks.length > 1, 'the body arrived in several chunks');
    assert.ok(Buffer.concat(chunks).equals(body));
    assert.equal(source.sourceType, 'b2_storage');
    assert.equal(source.sourcePath, url);
    assert.equal(source.fileName, 'orders.csv');
    assert.equal(source.sizeBytes, body.length);
    assert.deepEqual(source.metadata, { etag: createHash('md5').update(body).digest('hex'), s3_endpoint: endpoint, s3_region: 'us-east-1' });
  });

  it('takes endpoint, region and keys from the environment when the config file has none', async () => {
    const env = { ATLAS_S3_ENDPOINT: endpoint, AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET };
    const source = await openS3Source('s3://data/exports/2024/orders.csv', NO_SETTINGS, env);
    source.stream.destroy();
    assert.equal(source.metadata.s3_region, 'eu-west-3');
    assert.equal(source.sizeBytes, body.length);
  });

  it('reports a missing file or bucket as a missing local file is (exit 2)', async () => {
    await assert.rejects(openS3Source('s3://data/exports/missing.csv', settings, {}), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.exitCode, 2);
      assert.equal(err.message, `s3://data/exports/missing.csv: no such file in the bucket (at ${endpoint})`);
      assert.match(err.hint ?? '', /keys are case-sensitive/);
      return true;
    });
    await assert.rejects(openS3Source('s3://nobucket/a.csv', settings, {}), (err: Error) => err instanceof UsageError && err.message === `s3://nobucket/a.csv: the bucket does not exist at ${endpoint}`);
    // A folder named without its slash is said to be one, as a batch's listing says it.
    await assert.rejects(openS3Source('s3://data/exports/2024', settings, {}), (err: Error) => {
      assert.ok(err instanceof UsageError, String(err));
      assert.equal(err.message, 's3://data/exports/2024 is a folder, not a file');
      assert.equal(err.hint, 'write s3://data/exports/2024/ to import the files in it');
      return true;
    });
  });

  it('reports refused credentials without showing the secret', async () => {
    const wrong = { ...settings, accessKeyId: 'AKIAWRONGKEY', secretAccessKey: 'wrong-secret-value-123' };
    await assert.rejects(openS3Source('s3://data/exports/2024/orders.csv', wrong, {}), (err: Error) => {
      assert.ok(err instanceof AtlasError);
      assert.equal(err.exitCode, 1);
      assert.equal(err.message, 'access to s3://data/exports/2024/orders.csv was refused (InvalidAccessKeyId)');
      assert.match(err.hint ?? '', /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
      assert.doesNotMatch(`${err.message} ${err.hint}`, /wrong-secret-value-123/);
      return true;
    });
  });

  it('gives up quickly on an unreachable endpoint', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    await assert.rejects(openS3Source('s3://data/a.csv', { ...settings, endpoint: dead, secretAccessKey: 'do-not-print-me' }, {}), (err: Error) => {
      assert.ok(err instanceof AtlasError);
      assert.equal(err.message, `cannot reach the S3 endpoint ${dead} (ECONNREFUSED)`);
      assert.doesNotMatch(`${err.message} ${(err as AtlasError).hint}`, /do-not-print-me/);
      return true;
    });
    assert.ok(Date.now() - started < 15_000);
  });
});

/** Starts a loopback TCP server; closed with its connections by the returned function. */
async function listen(onConnection: (socket: Socket) => void): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close };
}

/** Reads a stream to its end, returning the error it ended with. */
async function readError(stream: NodeJS.ReadableStream): Promise<Error> {
  try {
    for await (const _ of stream) continue;
  } catch (err) {
    return err as Error;
  }
  throw new Error('the stream ended without an error');
}

describe('openS3Source on a stalled or dropped connection', () => {
  const s3 = useS3rver(['data']);
  const body = randomBytes(3 * 1024 * 1024 + 17);
  const url = 's3://data/big.csv';
  /** Short, so that a stall ends the test soon; how long it takes is not what is tested. */
  const env = { ATLAS_S3_TIMEOUT_MS: '500' };

  before(() => s3.put('data', { 'big.csv': body }));

  /** A proxy to s3rver passing the first 64 KiB of each answer (headers and some body), then stalling or closing. */
  const cutProxy = (then: 'stall' | 'close') =>
    listen((client) => {
      const upstream = connect(Number(new URL(s3.endpoint).port), '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.pipe(upstream);
      let passed = 0;
      upstream.on('data', (chunk: Buffer) => {
        const room = 64 * 1024 - passed;
        if (room <= 0) return;
        client.write(chunk.subarray(0, room));
        passed += Math.min(room, chunk.length);
        if (passed >= 64 * 1024 && then === 'close') client.destroy();
      });
    });

  it('fails a request that the server takes but never answers', async () => {
    const blackhole = await listen(() => undefined);
    try {
      await assert.rejects(openS3Source(url, { ...s3.settings, endpoint: blackhole.endpoint }, env), (err: Error) => {
        assert.ok(err instanceof AtlasError);
        assert.equal(err.message, `the S3 endpoint ${blackhole.endpoint} did not answer for ${url} within 0.5 s`);
        return true;
      });
    } finally {
      await blackhole.close();
    }
  });

  it('Ctrl-C while the server has not answered cancels at once', async () => {
    const controller = new AbortController();
    const blackhole = await listen(() => controller.abort());
    try {
      // The default timeout (120 s), so that only the cancel can end it.
      await assert.rejects(openS3Source(url, { ...s3.settings, endpoint: blackhole.endpoint }, {}, controller.signal), CancelledError);
    } finally {
      await blackhole.close();
    }
  });

  it('Ctrl-C while a batch lists a prefix or looks up an object cancels at once', async () => {
    for (const argument of ['s3://data/', url]) {
      const controller = new AbortController();
      const blackhole = await listen(() => controller.abort());
      try {
        // The default timeout (120 s), so that only the cancel can end it.
        const listing = listSources([argument], { recursive: false, pattern: null, s3: { ...s3.settings, endpoint: blackhole.endpoint }, env: {}, cwd: process.cwd(), signal: controller.signal });
        await assert.rejects(listing, CancelledError, argument);
      } finally {
        await blackhole.close();
      }
    }
  });

  it('ends a download that stops sending with one line naming the endpoint, the object and the bytes read', async () => {
    const proxy = await cutProxy('stall');
    try {
      const source = await openS3Source(url, { ...s3.settings, endpoint: proxy.endpoint }, env);
      const err = await readError(source.stream);
      assert.ok(err instanceof AtlasError);
      assert.match(err.message, new RegExp(`^the S3 endpoint ${proxy.endpoint} sent nothing for 0\\.5 s after \\d+ of ${body.length} bytes of s3://data/big\\.csv$`));
    } finally {
      await proxy.close();
    }
  });

  it('says the connection closed, and after how many bytes, when it drops mid-download', async () => {
    const proxy = await cutProxy('close');
    try {
      const source = await openS3Source(url, { ...s3.settings, endpoint: proxy.endpoint }, env);
      const err = await readError(source.stream);
      assert.ok(err instanceof AtlasError);
      assert.match(err.message, new RegExp(`^the connection to ${proxy.endpoint} closed after \\d+ of ${body.length} bytes of s3://data/big\\.csv$`));
    } finally {
      await proxy.close();
    }
  });
});

describe('S3 URLs and settings', () => {
  it('parses s3://bucket/key and refuses anything else with a usage error', () => {
    assert.deepEqual(parseS3Url('s3://b/dir/my file.csv'), { bucket: 'b', key: 'dir/my file.csv' });
    for (const bad of ['http://b/k', 's3://b', 's3://b/', 's3:///k', 's3://b/dir/']) assert.throws(() => parseS3Url(bad), UsageError, bad);
    assert.throws(() => parseS3Url('s3://AKIA:supersecret@b/k'), (err: Error) => err instanceof UsageError && !err.message.includes('supersecret'));
  });

  it('ATLAS_S3_ENDPOINT, then the config file, then AWS_* to fill gaps; path style for a custom endpoint', () => {
    const env = { ATLAS_S3_ENDPOINT: 'http://env:9000', AWS_ENDPOINT_URL: 'http://other:1', AWS_DEFAULT_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: 'envkey', AWS_SECRET_ACCESS_KEY: 'envsecret' };
    assert.deepEqual(resolveS3Settings(NO_SETTINGS, env), {
      endpoint: 'http://env:9000',
      region: 'eu-central-1',
      credentials: { accessKeyId: 'envkey', secretAccessKey: 'envsecret' },
      forcePathStyle: true,
      timeoutMs: 120_000,
    });
    const file: S3Settings = { endpoint: 'https://s3.example.com', region: 'us-west-2', accessKeyId: 'filekey', secretAccessKey: 'filesecret', forcePathStyle: false };
    assert.deepEqual(resolveS3Settings(file, env), {
      endpoint: 'http://env:9000',
      region: 'us-west-2',
      credentials: { accessKeyId: 'filekey', secretAccessKey: 'filesecret' },
      forcePathStyle: false,
      timeoutMs: 120_000,
    });
    const { ATLAS_S3_ENDPOINT: _, ...awsOnly } = env;
    assert.deepEqual(resolveS3Settings(file, awsOnly), {
      endpoint: 'https://s3.example.com',
      region: 'us-west-2',
      credentials: { accessKeyId: 'filekey', secretAccessKey: 'filesecret' },
      forcePathStyle: false,
      timeoutMs: 120_000,
    });
    assert.deepEqual(resolveS3Settings(NO_SETTINGS, {}), { endpoint: null, region: 'us-east-1', credentials: null, forcePathStyle: false, timeoutMs: 120_000 });
    assert.equal(resolveS3Settings(NO_SETTINGS, { ATLAS_S3_TIMEOUT_MS: '500' }).timeoutMs, 500);
    assert.throws(() => resolveS3Settings(NO_SETTINGS, { ATLAS_S3_TIMEOUT_MS: '2m' }), /ATLAS_S3_TIMEOUT_MS must be a whole number of milliseconds/);
    assert.throws(() => resolveS3Settings(NO_SETTINGS, { AWS_ACCESS_KEY_ID: 'k' }), /AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/);
    assert.throws(() => resolveS3Settings({ ...NO_SETTINGS, endpoint: 'not a url' }, {}), UsageError);
    // `localhost:9000` parses as a URL of scheme `localhost:` (the SDK then said "Custom endpoint `localhost://9000` was not a valid URI", exit 1).
    for (const endpoint of ['localhost:9000', 'ftp://files.example.com']) {
      assert.throws(() => resolveS3Settings({ ...NO_SETTINGS, endpoint }, {}), (err: Error) => err instanceof UsageError && /is not an http:\/\/ or https:\/\/ URL/.test(err.message), endpoint);
    }
  });

  it('maps SDK errors to one line without secrets', () => {
    const resolved = resolveS3Settings({ ...NO_SETTINGS, endpoint: 'http://user:pw@host:9000', accessKeyId: 'k', secretAccessKey: 'sekrit' }, {});
    const sig = describeS3Error({ name: 'SignatureDoesNotMatch', message: 'signature for sekrit\nmismatch', $metadata: { httpStatusCode: 403 } }, 's3://b/k', resolved);
    assert.equal(sig.message, 'access to s3://b/k was refused (SignatureDoesNotMatch)');
    const other = describeS3Error({ name: 'InternalError', message: 'boom with sekrit\ninside' }, 's3://b/k', resolved);
    assert.equal(other.message, 'cannot read s3://b/k from http://host:9000: InternalError: boom with *** inside');
    const region = describeS3Error({ name: 'PermanentRedirect', $metadata: { httpStatusCode: 301 } }, 's3://b/k', resolved);
    assert.match(region.hint ?? '', /AWS_REGION/);
  });
});
