/** S3 arguments: a named object, the objects under a prefix (`s3://bucket/dir/`), or a glob in the key. */
import { NotFoundError, UsageError } from '../errors.js';
import { compileGlob, expandBraces, firstMagicIndex, isGlobArgument, literalPrefix, matchesGlob } from './glob.js';
import { isHiddenName, selectByName, type ListingRules, type ListingSink } from './listing.js';
import { describeEndpoint, headS3Object, listS3Pages, splitS3Url, type S3Connection, type S3ListingPage } from './s3.js';

/** How an S3 listing pages, and what its errors name. */
export interface S3ListOptions {
  /** Keys per ListObjectsV2 request (tests lower it to see several pages). */
  pageSize: number;
  /** The argument as typed. */
  url: string;
}

const urlOf = (bucket: string, key: string): string => `s3://${bucket}/${key}`;
const nameOf = (key: string): string => key.slice(key.lastIndexOf('/') + 1);

/**
 * The listing's pages, with a bucket that does not exist reported as a usage error: like a
 * missing local directory, it is a mistake in what was typed, found before anything is imported.
 */
async function* pagesOf(s3: S3Connection, bucket: string, prefix: string, delimiter: string | null, options: S3ListOptions): AsyncGenerator<S3ListingPage> {
  try {
    yield* listS3Pages(s3, bucket, prefix, { delimiter, ...options });
  } catch (err) {
    if (err instanceof NotFoundError) throw new UsageError(err.message, { hint: err.hint, cause: err });
    throw err;
  }
}

function takeObject(bucket: string, key: string, sizeBytes: number | null, sink: ListingSink): void {
  const url = urlOf(bucket, key);
  sink.take({ source: url, displayName: url, fileName: nameOf(key), sizeBytes, identity: url });
}

/** The objects under a prefix: its direct ones, or (recursive) all; `key/` folder markers are not files. */
async function listPrefix(bucket: string, prefix: string, rules: ListingRules, s3: S3Connection, sink: ListingSink, options: S3ListOptions): Promise<void> {
  for await (const page of pagesOf(s3, bucket, prefix, rules.recursive ? null : '/', options)) {
    for (const sub of page.prefixes) sink.skip(urlOf(bucket, sub), isHiddenName(sub.slice(prefix.length)) ? 'hidden' : 'directory');
    for (const object of page.objects) {
      if (object.key.endsWith('/')) continue;
      const names = object.key.slice(prefix.length).split('/');
      // An object under a hidden "directory" is reported once, as that directory.
      const hidden = names.findIndex((name, i) => i < names.length - 1 && isHiddenName(name));
      if (hidden !== -1) {
        sink.skip(urlOf(bucket, `${prefix}${names.slice(0, hidden + 1).join('/')}/`), 'hidden');
        continue;
      }
      const choice = selectByName(names[names.length - 1] as string, rules, false);
      if (choice === 'take') takeObject(bucket, object.key, object.sizeBytes, sink);
      else if (choice !== 'ignore') sink.skip(urlOf(bucket, object.key), choice);
    }
  }
}

/** The objects whose keys a glob matches, listed from the literal part of each brace alternative. */
async function listGlob(bucket: string, keyGlob: string, rules: ListingRules, s3: S3Connection, sink: ListingSink, options: S3ListOptions): Promise<void> {
  for (const alternative of expandBraces(keyGlob)) {
    const prefix = literalPrefix(alternative);
    const glob = compileGlob(alternative);
    // When no `/` follows the magic, deeper keys cannot match: let S3 roll them up instead of listing them.
    const magic = firstMagicIndex(alternative);
    const delimiter = magic !== -1 && alternative.slice(magic).includes('/') ? null : '/';
    for await (const page of pagesOf(s3, bucket, prefix, delimiter, options)) {
      for (const object of page.objects) {
        if (object.key.endsWith('/') || !matchesGlob(glob, object.key)) continue;
        const choice = selectByName(nameOf(object.key), rules, true);
        if (choice === 'take') takeObject(bucket, object.key, object.sizeBytes, sink);
        else if (choice !== 'ignore') sink.skip(urlOf(bucket, object.key), choice);
      }
    }
  }
}

/**
 * Lists one s3:// argument into the sink. A key ending in `/` (or empty) is a prefix; a key naming
 * an object is taken literally (even with glob characters in it); else a key holding * ? [ or { is
 * a glob.
 */
export async function listS3Argument(url: string, rules: ListingRules, s3: S3Connection, sink: ListingSink, options: Omit<S3ListOptions, 'url'>): Promise<'s3-object' | 's3-prefix' | 's3-glob'> {
  const { bucket, key } = splitS3Url(url);
  const listOptions = { ...options, url };
  if (key === '' || key.endsWith('/')) {
    await listPrefix(bucket, key, rules, s3, sink, listOptions);
    return 's3-prefix';
  }
  const head = await headS3Object(s3, { bucket, key });
  if (head !== null) {
    takeObject(bucket, key, head.sizeBytes, sink);
    return 's3-object';
  }
  if (isGlobArgument(key)) {
    await listGlob(bucket, key, rules, s3, sink, listOptions);
    return 's3-glob';
  }
  // HEAD cannot tell a missing key from a missing bucket; one listing can (and sees a folder).
  for await (const page of pagesOf(s3, bucket, `${key}/`, '/', { pageSize: 1, url })) {
    if (page.objects.length > 0 || page.prefixes.length > 0) throw new UsageError(`${url} is a folder, not a file`, { hint: `write ${url}/ to import the files in it` });
    break;
  }
  throw new UsageError(`${url}: no such file in the bucket (at ${describeEndpoint(s3.settings.endpoint)})`, { hint: 'check the path: keys are case-sensitive' });
}
