/**
 * A real S3-protocol server (s3rver) on loopback for the tests of a describe block. s3rver checks
 * the key id (S3RVER) but not SigV4 signatures. It runs in a child process started with
 * --openssl-legacy-provider: it encrypts ListObjectsV2 continuation tokens with DES, which
 * OpenSSL 3 (Node 20) has only in its legacy provider, so any listing of more than one page
 * fails in-process with ERR_OSSL_EVP_UNSUPPORTED. Clients reach it through a small proxy that
 * records each request's method and URL, so that tests can see what atlas asked for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { after, before } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '../../src/config.ts';
import { ROOT, tempDir } from '../helpers.ts';

export const S3RVER_KEY = 'S3RVER';
export const S3RVER_SECRET = 'S3RVER';

export interface TestS3 {
  /** http://127.0.0.1:<port> of the recording proxy, set once the server runs. */
  endpoint: string;
  /** `METHOD /path?query` of every request through the proxy, oldest first (tests may empty it). */
  requests: string[];
  /**
   * When set, an object's body (a GET other than a listing) stops after this many bytes, without
   * ending: what reads the whole object waits for the rest until its timeout. @default null
   */
  holdBodiesAfter: number | null;
  /** atlas's s3 settings for this server. */
  settings: S3Settings;
  /** Stores objects (key -> body) in a bucket. */
  put(bucket: string, objects: Record<string, string | Buffer>): Promise<void>;
}

/** Starts s3rver and prints its port; exits when its standard input closes (the test process ended). */
const SERVER_SCRIPT = `
const S3rver = require('s3rver');
const [directory, buckets] = process.argv.slice(1);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: JSON.parse(buckets).map((name) => ({ name, configs: [] })) });
server.run().then(({ port }) => process.stdout.write(port + '\\n'));
process.stdin.on('data', () => {}).on('end', () => server.close().then(() => process.exit(0)));
`;

/** Registers before/after hooks that run s3rver with the given buckets (created empty). */
export function useS3rver(buckets: string[]): TestS3 {
  const dir = tempDir('atlas-s3-');
  let child: ChildProcess | null = null;
  let proxy: Server | null = null;
  const s3: TestS3 = {
    endpoint: '',
    requests: [],
    holdBodiesAfter: null,
    settings: { endpoint: null, region: null, accessKeyId: null, secretAccessKey: null, forcePathStyle: null },
    put: async (bucket, objects) => {
      const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_SECRET } });
      try {
        for (const [key, body] of Object.entries(objects)) await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      } finally {
        client.destroy();
      }
    },
  };
  before(async () => {
    // The SDK's notice about Node versions is not these tests' business (atlas silences it too).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const server = spawn(process.execPath, ['--openssl-legacy-provider', '-e', SERVER_SCRIPT, dir.dir, JSON.stringify(buckets)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    child = server;
    const port = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      server.once('error', reject);
      server.once('exit', (code) => reject(new Error(`s3rver exited with code ${code} before listening`)));
    });
    proxy = createServer((req, res) => {
      s3.requests.push(`${req.method} ${req.url}`);
      const forward = request({ host: '127.0.0.1', port: Number(port), method: req.method, path: req.url, headers: req.headers }, (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        const hold = s3.holdBodiesAfter;
        if (hold === null || req.method !== 'GET' || (req.url ?? '').includes('list-type=')) {
          upstream.pipe(res);
          return;
        }
        let sent = 0;
        upstream.on('data', (chunk: Buffer) => {
          if (sent < hold) res.write(chunk.subarray(0, hold - sent));
          sent += chunk.length;
        });
      });
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
    const listening = proxy;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    s3.endpoint = `http://127.0.0.1:${(listening.address() as { port: number }).port}`;
    s3.settings = { endpoint: s3.endpoint, region: null, accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_SECRET, forcePathStyle: null };
  });
  after(async () => {
    const open = proxy;
    if (open !== null) {
      open.closeAllConnections();
      await new Promise((resolve) => open.close(resolve));
    }
    if (child !== null && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.stdin?.end();
      await exited;
    }
    dir.cleanup();
  });
  return s3;
}
