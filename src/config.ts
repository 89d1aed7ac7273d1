import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { readJsonFile } from './sources/jsonFile.js';
import { checkNullValues } from './transform/mapping.js';
import { MAX_IDENTIFIER_BYTES } from './transform/naming.js';
import { detectCi, resolveTask, type TaskIdentity } from './taskId.js';

/** Where the database URL came from; `embedded` means atlas's own PostgreSQL under ATLAS_HOME. */
export type DatabaseSource = '--database-url' | 'ATLAS_DATABASE_URL' | 'DATABASE_URL' | 'config file' | 'embedded';

/** Where the schema name came from; `default` means public. */
export type SchemaSource = '--schema' | 'ATLAS_SCHEMA' | 'config file' | 'default';

/** Fully resolved settings: every field decided, nothing optional. */
export interface Settings {
  /** Connection string, or null for the embedded default server. */
  databaseUrl: string | null;
  /** Which rule picked the database. */
  databaseSource: DatabaseSource;
  /** Schema holding the tracking tables and the target tables. @default "public" */
  schema: string;
  /** Which rule picked the schema. */
  schemaSource: SchemaSource;
  /** atlas's home directory (embedded server data). @default "~/.atlas" */
  atlasHome: string;
  /** Who is running atlas: recorded as user_id and undone_by. @default the OS user name */
  user: string;
  /** Their email, recorded as user_email. @default null */
  userEmail: string | null;
  /** What ran the import (recorded as task_id): --task-id, ATLAS_TASK_ID, or the CI system's run or job id. @default null */
  task: TaskIdentity | null;
  /** The CI system atlas runs in (recorded in metadata.ci), or null. */
  ci: string | null;
  /** The config file that was read, or null. */
  configPath: string | null;
  /** S3-compatible storage settings from the config file (environment fills the gaps at use). */
  s3: S3Settings;
  /** Values that stand for "missing" and are imported as NULL, in every column (`--null-value` replaces them). @default [] */
  nullValues: string[];
}

/** The `s3` section of the config file. */
export interface S3Settings {
  endpoint: string | null;
  region: string | null;
  accessKeyId: string | null;
  secretAccessKey: string | null;
  forcePathStyle: boolean | null;
}

/** What the global flags said; undefined means "not given". */
export interface GlobalFlags {
  databaseUrl?: string | undefined;
  schema?: string | undefined;
  config?: string | undefined;
  user?: string | undefined;
  userEmail?: string | undefined;
  taskId?: string | undefined;
}

interface RawConfig {
  database?: { url?: unknown; schema?: unknown };
  user?: unknown;
  user_email?: unknown;
  s3?: Record<string, unknown>;
  null_values?: string[];
}

/** Each key: the names of its section's keys, 'string', or 'strings' (a list of strings). */
const CONFIG_SHAPE: Record<string, readonly string[] | 'string' | 'strings'> = {
  database: ['url', 'schema'],
  user: 'string',
  user_email: 'string',
  s3: ['endpoint', 'region', 'accessKeyId', 'secretAccessKey', 'forcePathStyle'],
  null_values: 'strings',
};

const isComment = (key: string): boolean => key.startsWith('//');

/** A config file larger than this is refused: it holds a few settings (and reading a device such as /dev/zero whole would exhaust memory). */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** Reads and validates a config file, reporting every problem at once. */
export function loadConfigFile(path: string): RawConfig {
  // Errors never quote the file: it holds secrets.
  const parsed = readJsonFile(path, 'config file', MAX_CONFIG_FILE_BYTES);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`config file ${path} must hold a JSON object`);
  }
  const problems: string[] = [];
  const obj = parsed as Record<string, unknown>;
  for (const [key, value] of Object.entries(obj)) {
    if (isComment(key)) continue;
    if (!(key in CONFIG_SHAPE)) {
      problems.push(`unknown key "${key}"`);
      continue;
    }
    const allowed = CONFIG_SHAPE[key];
    if (allowed === 'string' || allowed === undefined) {
      if (typeof value !== 'string') problems.push(`"${key}" must be a string`);
      continue;
    }
    if (allowed === 'strings') {
      const checked = checkNullValues(value, `"${key}"`);
      if (typeof checked === 'string') problems.push(checked);
      else obj[key] = checked;
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`"${key}" must be an object`);
      continue;
    }
    for (const [sub, subValue] of Object.entries(value as Record<string, unknown>)) {
      if (isComment(sub)) continue;
      if (!allowed.includes(sub)) problems.push(`unknown key "${key}.${sub}"`);
      else if (sub === 'forcePathStyle' ? typeof subValue !== 'boolean' : typeof subValue !== 'string') {
        problems.push(`"${key}.${sub}" must be a ${sub === 'forcePathStyle' ? 'boolean' : 'string'}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new UsageError(`config file ${path}: ${problems.join('; ')}`, { hint: 'see atlas.config.example.json for every key' });
  }
  return obj as RawConfig;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Default OS user name, or "unknown" when the OS cannot tell. */
export function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/**
 * The one place settings are decided. Precedence: flag > environment > config file > default.
 * Config file: `--config FILE`, else `./atlas.config.json` when it exists.
 */
/**
 * Schemas PostgreSQL keeps for itself: `pg_` names are refused by CREATE SCHEMA (pg_catalog,
 * pg_toast, pg_temp_N), and a superuser may still create tables in them or in information_schema.
 */
export function isSystemSchema(schema: string): boolean {
  return schema.startsWith('pg_') || schema === 'information_schema';
}

export function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Settings {
  let configPath: string | null = null;
  let raw: RawConfig = {};
  if (flags.config !== undefined) {
    configPath = resolve(cwd, flags.config);
    raw = loadConfigFile(configPath);
  } else {
    const candidate = join(cwd, 'atlas.config.json');
    // Only looked at, not opened: a FIFO of that name would block an open (loadConfigFile refuses it).
    if (existsSync(candidate)) {
      configPath = candidate;
      raw = loadConfigFile(candidate);
    }
  }

  let databaseUrl: string | null = null;
  let databaseSource: DatabaseSource = 'embedded';
  const candidates: Array<[DatabaseSource, string | undefined]> = [
    ['--database-url', nonEmpty(flags.databaseUrl)],
    ['ATLAS_DATABASE_URL', nonEmpty(env.ATLAS_DATABASE_URL)],
    ['DATABASE_URL', nonEmpty(env.DATABASE_URL)],
    ['config file', str(raw.database?.url) ?? undefined],
  ];
  for (const [source, url] of candidates) {
    if (url !== undefined) {
      databaseUrl = url;
      databaseSource = source;
      break;
    }
  }
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//i.test(databaseUrl)) {
    throw new UsageError(`the database URL from ${databaseSource} must start with postgres:// or postgresql://`);
  }

  const schemaCandidates: Array<[SchemaSource, string | null | undefined]> = [
    ['--schema', nonEmpty(flags.schema)],
    ['ATLAS_SCHEMA', nonEmpty(env.ATLAS_SCHEMA)],
    ['config file', str(raw.database?.schema)],
  ];
  const [schemaSource, schema] = (schemaCandidates.find(([, name]) => name != null) ?? ['default', 'public']) as [SchemaSource, string];
  if (Buffer.byteLength(schema, 'utf8') > MAX_IDENTIFIER_BYTES) throw new UsageError(`schema name "${schema}" is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  if (isSystemSchema(schema)) {
    const from = schemaSource === 'config file' ? 'database.schema in the config file' : schemaSource;
    throw new UsageError(`schema "${schema}" (${from}) is PostgreSQL's own (pg_* and information_schema hold the system catalogs), not a place for atlas's tables or yours: choose another ${from} (default public)`);
  }

  const userEmail = nonEmpty(flags.userEmail) ?? nonEmpty(env.ATLAS_USER_EMAIL) ?? str(raw.user_email);
  // user_email is varchar(255), as in the spec.
  if (userEmail !== undefined && userEmail !== null && (!/^[^\s@]+@[^\s@]+$/.test(userEmail) || userEmail.length > 255)) {
    throw new UsageError(`"${userEmail}" is not an email address (from --user-email, ATLAS_USER_EMAIL or the config file's "user_email")`);
  }

  const s3 = raw.s3 ?? {};
  return {
    databaseUrl,
    databaseSource,
    schema,
    schemaSource,
    atlasHome: resolve(nonEmpty(env.ATLAS_HOME) ?? join(homedir(), '.atlas')),
    user: nonEmpty(flags.user) ?? nonEmpty(env.ATLAS_USER) ?? str(raw.user) ?? osUserName(),
    userEmail: userEmail ?? null,
    task: resolveTask(flags.taskId, env),
    ci: detectCi(env),
    configPath,
    s3: {
      endpoint: str(s3.endpoint),
      region: str(s3.region),
      accessKeyId: str(s3.accessKeyId),
      secretAccessKey: str(s3.secretAccessKey),
      forcePathStyle: typeof s3.forcePathStyle === 'boolean' ? s3.forcePathStyle : null,
    },
    nullValues: raw.null_values ?? [],
  };
}
