import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '../config.js';
import { AtlasError, CancelledError, NotFoundError, redactSecrets, UsageError } from '../errors.js';
import type { OpenedSource } from './source.js';

/** Attempts per request: one retry for a passing glitch, no long wait on a dead endpoint. */
const MAX_ATTEMPTS = 2;
/** Time allowed to open a connection (ms): an unreachable endpoint fails in seconds, not minutes. */
const CONNECTION_TIMEOUT_MS = 3000;
/**
 * Time (ms) an S3 request may wait for its answer, and a download for its next byte, before it
 * fails: a stalled server ends the import instead of hanging it. ATLAS_S3_TIMEOUT_MS overrides it.
 */
const IDLE_TIMEOUT_MS = 120_000;
/** Region used when none is configured (S3-compatible services accept any; AWS redirects). */
const DEFAULT_REGION = 'us-east-1';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** Where an s3:// URL points. */
export interface S3Location {
  bucket: string;
  key: string;
}

/** The S3 client settings that apply: the config file's first, then the environment's. */
export interface ResolvedS3 {
  endpoint: string | null;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
  forcePathStyle: boolean;
  /** How long (ms) a request waits for an answer and a download for its next byte. @default 120000 */
  timeoutMs: number;
}

/**
 * Splits `s3://bucket/key` (the key taken as written, not URL-decoded; it may be empty or end
 * in `/`, as a prefix does).
 */
export function splitS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/s.exec(url);
  if (m === null) throw new UsageError('an S3 source must look like s3://bucket/path/to/file');
  const bucket = m[1] as string;
  if (/[@:]/.test(bucket)) {
    // Never echo it: it may carry a key and secret.
    throw new UsageError('the s3:// URL must not hold credentials or a port', { hint: 'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or s3.* in the config file) and ATLAS_S3_ENDPOINT instead' });
  }
  if (bucket === '') throw new UsageError(`${url} names no bucket: write s3://bucket/path/to/file`);
  if (m[2] === undefined) throw new UsageError(`${url} names no file: write s3://bucket/path/to/file, or s3://bucket/ for the whole bucket`);
  return { bucket, key: m[2] };
}

/** Splits `s3://bucket/key` naming one object (not a prefix). */
export function parseS3Url(url: string): S3Location {
  const location = splitS3Url(url);
  if (location.key === '' || location.key.endsWith('/')) throw new UsageError(`${url} names a folder, not a file: write s3://bucket/path/to/file`);
  return location;
}

const nonEmpty = (v: string | null | undefined): string | null => (v === undefined || v === null || v === '' ? null : v);

/**
 * atlas's own variable (ATLAS_S3_ENDPOINT) beats the config file, as every ATLAS_* variable does;
 * the file's s3 section beats the AWS_* variables, which other tools share (a shell set up for
 * AWS must not send its keys to the B2 endpoint a project's config names), and those fill gaps.
 */
export function resolveS3Settings(s3: S3Settings, env: NodeJS.ProcessEnv): ResolvedS3 {
  const endpoint = nonEmpty(env.ATLAS_S3_ENDPOINT) ?? nonEmpty(s3.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const region = nonEmpty(s3.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? DEFAULT_REGION;
  const keyFromSettings = nonEmpty(s3.accessKeyId) !== null || nonEmpty(s3.secretAccessKey) !== null;
  const accessKeyId = keyFromSettings ? nonEmpty(s3.accessKeyId) : nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = keyFromSettings ? nonEmpty(s3.secretAccessKey) : nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if ((accessKeyId === null) !== (secretAccessKey === null)) {
    const [has, lacks] = keyFromSettings
      ? accessKeyId === null ? ['s3.secretAccessKey', 's3.accessKeyId'] : ['s3.accessKeyId', 's3.secretAccessKey']
      : accessKeyId === null ? ['AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID'] : ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
    throw new UsageError(`${has} is set but ${lacks} is not: S3 needs both`);
  }
  // `localhost:9000` parses as a URL of scheme `localhost:`: only http and https reach a server.
  if (endpoint !== null && !/^https?:$/.test(URL.canParse(endpoint) ? new URL(endpoint).protocol : '')) {
    throw new UsageError(`the S3 endpoint ${JSON.stringify(describeEndpoint(endpoint))} is not an http:// or https:// URL (expected e.g. http://localhost:9000)`, { hint: 'check s3.endpoint in the config file, or ATLAS_S3_ENDPOINT' });
  }
  const timeoutText = nonEmpty(env.ATLAS_S3_TIMEOUT_MS);
  const timeoutMs = timeoutText === null ? IDLE_TIMEOUT_MS : Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`ATLAS_S3_TIMEOUT_MS must be a whole number of milliseconds above 0, not ${timeoutText}`);
  return {
    endpoint,
    region,
    credentials: accessKeyId !== null && secretAccessKey !== null ? { accessKeyId, secretAccessKey } : null,
    forcePathStyle: s3.forcePathStyle ?? endpoint !== null,
    timeoutMs,
  };
}

/** The endpoint without any user:password part, for messages and metadata. */
export function describeEndpoint(endpoint: string | null): string {
  if (endpoint === null) return 'AWS S3';
  try {
    const u = new URL(endpoint);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return redactSecrets(endpoint);
  }
}

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** The network error code (ECONNREFUSED...) anywhere in an error's cause chain. */
function networkCode(err: unknown): string | null {
  for (let e = err as SdkError | undefined, i = 0; e && i < 5; e = e.cause as SdkError | undefined, i++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
    if (e.name === 'TimeoutError') return 'timed out';
    const inner = (e as { errors?: unknown[] }).errors; // AggregateError (IPv4 and IPv6 both refused)
    if (Array.isArray(inner)) for (const x of inner) if (NETWORK_CODES.has((x as SdkError).code ?? '')) return (x as SdkError).code as string;
  }
  return null;
}

/** One line for a failed GetObject; never includes a secret. */
export function describeS3Error(err: unknown, url: string, settings: ResolvedS3): AtlasError {
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? e.Code ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const endpoint = describeEndpoint(settings.endpoint);
  const scrub = (text: string): string => {
    let out = redactSecrets(text.replace(/\s*\n\s*/g, ' '));
    if (settings.credentials) out = out.split(settings.credentials.secretAccessKey).join('***');
    return out;
  };
  // The request timeout's error (the handler's, with throwOnRequestTimeout): the server took the
  // connection but never answered, so "cannot reach" would send the user to the wrong place.
  if (e.name === 'TimeoutError' && e.code === 'ETIMEDOUT') {
    return new AtlasError(scrub(`the S3 endpoint ${endpoint} did not answer for ${url} within ${formatSeconds(settings.timeoutMs)}`), {
      cause: err,
      hint: 'check that the endpoint is an S3 service and that it is not overloaded; ATLAS_S3_TIMEOUT_MS sets how long atlas waits',
    });
  }
  const net = networkCode(err);
  if (net !== null) {
    return new AtlasError(scrub(`cannot reach the S3 endpoint ${endpoint} (${net})`), {
      cause: err,
      hint: 'check s3.endpoint in the config file or ATLAS_S3_ENDPOINT / AWS_ENDPOINT_URL, and that the server is running',
    });
  }
  if (name === 'NoSuchBucket') {
    return new NotFoundError(scrub(`${url}: the bucket does not exist at ${endpoint}`), { cause: err, hint: 'check the bucket name and the endpoint' });
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new NotFoundError(scrub(`${url}: no such file in the bucket (at ${endpoint})`), { cause: err, hint: 'check the path: keys are case-sensitive' });
  }
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied' || name === 'InvalidToken' || name === 'ExpiredToken' || status === 403) {
    return new AtlasError(scrub(`access to ${url} was refused (${name})`), {
      cause: err,
      hint: 'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or s3.accessKeyId/s3.secretAccessKey in the config file) and what that key may read',
    });
  }
  if (name === 'CredentialsProviderError') {
    return new AtlasError('no S3 credentials found', { cause: err, hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or s3.accessKeyId/s3.secretAccessKey in the config file' });
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    return new AtlasError(scrub(`${url}: the bucket is in another region than ${settings.region} (${name})`), { cause: err, hint: 'set AWS_REGION or s3.region in the config file' });
  }
  return new AtlasError(scrub(`cannot read ${url} from ${endpoint}: ${name}${e.message ? `: ${e.message}` : ''}`), { cause: err });
}

/** An S3 client, the SDK it came from, and the settings it was made with (for messages). */
export interface S3Connection {
  client: S3Client;
  sdk: typeof import('@aws-sdk/client-s3');
  settings: ResolvedS3;
  /** Aborting it (Ctrl-C) ends a listing request at once, instead of after its timeout. */
  signal?: AbortSignal | undefined;
}

/** The SDK's options for a request that `s3.signal` may cancel. */
function cancellable(s3: S3Connection): { abortSignal?: AbortSignal } {
  return s3.signal ? { abortSignal: s3.signal } : {};
}

/**
 * A client for the settings that apply. Settings come from ATLAS_S3_ENDPOINT, the config file's
 * s3 section, then AWS_ENDPOINT_URL(_S3), AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY; without keys the SDK's own chain (profiles, instance roles) applies. A
 * custom endpoint uses path-style addressing unless s3.forcePathStyle is false. Call
 * `client.destroy()` when done.
 */
export async function connectS3(s3: S3Settings, env: NodeJS.ProcessEnv): Promise<S3Connection> {
  const settings = resolveS3Settings(s3, env);
  // Loaded here so that importing this module (and atlas --help) does not load the AWS SDK.
  const sdk = await import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    region: settings.region,
    ...(settings.endpoint !== null ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials !== null ? { credentials: settings.credentials } : {}),
    forcePathStyle: settings.forcePathStyle,
    maxAttempts: MAX_ATTEMPTS,
    // Without throwOnRequestTimeout the handler only logs a warning when requestTimeout passes.
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: settings.timeoutMs, throwOnRequestTimeout: true },
  });
  return { client, sdk, settings };
}

/**
 * Opens `s3://bucket/key` for streaming with GetObject (never downloaded whole); settings as
 * connectS3. Aborting `signal` (Ctrl-C) while the server has not answered ends it at once.
 */
export async function openS3Source(url: string, s3: S3Settings, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<OpenedSource> {
  const location = parseS3Url(url);
  const { client, sdk, settings } = await connectS3(s3, env);
  let response;
  try {
    response = await client.send(new sdk.GetObjectCommand({ Bucket: location.bucket, Key: location.key }), signal ? { abortSignal: signal } : {});
  } catch (err) {
    if (signal?.aborted) {
      client.destroy();
      throw new CancelledError();
    }
    const described = describeS3Error(err, url, settings);
    // A missing key that names a folder is a folder given without its slash, as a batch says it.
    const folder = described instanceof NotFoundError && location.key !== '' && !location.key.endsWith('/') && (await isS3Folder({ client, sdk, settings }, location.bucket, location.key));
    client.destroy();
    if (folder) throw new UsageError(`${url} is a folder, not a file`, { hint: `write ${url}/ to import the files in it` });
    // Exit 2, nothing recorded, as for a missing local file and a batch's missing object.
    if (described instanceof NotFoundError) throw new UsageError(described.message, { hint: described.hint, cause: err });
    throw described;
  }
  const body = response.Body;
  if (!(body instanceof Readable)) {
    client.destroy();
    throw new AtlasError(`cannot read ${url}: the S3 response has no readable body`);
  }
  body.once('close', () => client.destroy());
  const slash = location.key.lastIndexOf('/');
  const sizeBytes = typeof response.ContentLength === 'number' ? response.ContentLength : null;
  return {
    sourceType: 'b2_storage',
    sourcePath: url,
    fileName: location.key.slice(slash + 1),
    sizeBytes,
    stream: watchS3Body(body, url, sizeBytes, settings),
    metadata: {
      etag: typeof response.ETag === 'string' ? response.ETag.replace(/^"|"$/g, '') : null,
      s3_endpoint: describeEndpoint(settings.endpoint),
      s3_region: settings.region,
    },
  };
}

const formatSeconds = (ms: number): string => `${ms / 1000} s`;

/**
 * The object's body, ending with one clear error when the server sends nothing for the timeout
 * while atlas waits for a byte (a slow database, which pauses reading, does not count) or the
 * connection drops (the SDK's requestTimeout stops at the response headers).
 */
function watchS3Body(body: Readable, url: string, sizeBytes: number | null, settings: ResolvedS3): Readable {
  const endpoint = describeEndpoint(settings.endpoint);
  let bytes = 0;
  let timer: NodeJS.Timeout | null = null;
  const stopTimer = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  const read = (): string => `${bytes}${sizeBytes !== null ? ` of ${sizeBytes}` : ''} bytes of ${url}`;
  const startTimer = (): void => {
    timer ??= setTimeout(() => {
      out.destroy(new AtlasError(`the S3 endpoint ${endpoint} sent nothing for ${formatSeconds(settings.timeoutMs)} after ${read()}`, { hint: 'try again; ATLAS_S3_TIMEOUT_MS sets how long atlas waits' }));
    }, settings.timeoutMs);
  };
  const out = new Readable({
    read() {
      startTimer();
      body.resume();
    },
    destroy(err, callback) {
      stopTimer();
      body.destroy();
      callback(err);
    },
  });
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    stopTimer();
    if (out.push(chunk)) startTimer();
    else body.pause();
  });
  body.pause();
  body.once('end', () => {
    stopTimer();
    out.push(null);
  });
  body.once('error', (err: NodeJS.ErrnoException) => {
    const closed = err.message === 'aborted' || NETWORK_CODES.has(err.code ?? '') || err.code === 'ERR_STREAM_PREMATURE_CLOSE';
    const message = closed ? `the connection to ${endpoint} closed after ${read()}` : `reading ${url} from ${endpoint} failed after ${read()}: ${err.message}`;
    out.destroy(new AtlasError(redactSecrets(message), { cause: err, hint: 'try again' }));
  });
  return out;
}

/** Keys per ListObjectsV2 request: S3's maximum, so a 100,000-object prefix takes 100 requests. */
export const S3_LIST_PAGE_SIZE = 1000;

/** One object of a listing. */
export interface S3ListedObject {
  key: string;
  sizeBytes: number | null;
}

/** One page of a ListObjectsV2 listing: its objects, and the common prefixes when a delimiter was given. */
export interface S3ListingPage {
  objects: S3ListedObject[];
  prefixes: string[];
}

/**
 * Every object whose key starts with `prefix`, one page at a time (following continuation tokens
 * to the end), so that only one page's keys are held besides what the caller keeps. With a
 * delimiter, keys holding it after the prefix are rolled up into `prefixes` instead. Errors name
 * `options.url` (what the user typed), else the prefix's URL.
 */
/** Whether `key/` holds an object or a folder (false when the listing itself fails: the first error stands). */
async function isS3Folder(s3: S3Connection, bucket: string, key: string): Promise<boolean> {
  try {
    for await (const page of listS3Pages(s3, bucket, `${key}/`, { delimiter: '/', pageSize: 1 })) return page.objects.length > 0 || page.prefixes.length > 0;
  } catch {
    return false;
  }
  return false;
}

export async function* listS3Pages(s3: S3Connection, bucket: string, prefix: string, options: { delimiter: string | null; pageSize: number; url?: string }): AsyncGenerator<S3ListingPage> {
  let token: string | undefined;
  do {
    let page;
    try {
      page = await s3.client.send(
        new s3.sdk.ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          MaxKeys: options.pageSize,
          ...(options.delimiter !== null ? { Delimiter: options.delimiter } : {}),
          ...(token !== undefined ? { ContinuationToken: token } : {}),
        }),
        cancellable(s3),
      );
    } catch (err) {
      if (s3.signal?.aborted) throw new CancelledError();
      throw describeS3Error(err, options.url ?? `s3://${bucket}/${prefix}`, s3.settings);
    }
    yield {
      objects: (page.Contents ?? []).flatMap((o) => (typeof o.Key === 'string' ? [{ key: o.Key, sizeBytes: typeof o.Size === 'number' ? o.Size : null }] : [])),
      prefixes: (page.CommonPrefixes ?? []).flatMap((p) => (typeof p.Prefix === 'string' ? [p.Prefix] : [])),
    };
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/** The size of one object (HeadObject), or null when no object has that key (or the bucket does not exist: HEAD cannot tell). */
export async function headS3Object(s3: S3Connection, location: S3Location): Promise<{ sizeBytes: number | null } | null> {
  try {
    const head = await s3.client.send(new s3.sdk.HeadObjectCommand({ Bucket: location.bucket, Key: location.key }), cancellable(s3));
    return { sizeBytes: typeof head.ContentLength === 'number' ? head.ContentLength : null };
  } catch (err) {
    if (s3.signal?.aborted) throw new CancelledError();
    const e = err as SdkError;
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
    throw describeS3Error(err, `s3://${location.bucket}/${location.key}`, s3.settings);
  }
}
