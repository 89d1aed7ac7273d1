/**
 * The few named errors atlas throws. Core code throws them; src/cli.ts alone maps them to
 * exit codes and prints message + hint.
 */
import { formatAbsoluteTime } from './transform/time.js';

/** Exit codes, documented in the README. */
export const ExitCode = {
  success: 0,
  failed: 1,
  usage: 2,
  partial: 3,
  alreadyImported: 4,
} as const;

export class AtlasError extends Error {
  /** Process exit code the CLI uses for this error. @default 1 */
  readonly exitCode: number;
  /** One line telling the user what to do next, or null. */
  readonly hint: string | null;

  constructor(message: string, options: { exitCode?: number; hint?: string | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? ExitCode.failed;
    this.hint = options.hint ?? null;
  }
}

/** Bad flags, bad config file, bad mapping: nothing was touched. Exit 2. */
export class UsageError extends AtlasError {
  constructor(message: string, options: { hint?: string | null; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.usage });
  }
}

/** The database could not be reached or refused us. Exit 1. */
export class DatabaseError extends AtlasError {}

/** An import that ran and failed; its `failed` history record names `importId`. Exit 1. */
export class ImportFailedError extends AtlasError {
  readonly importId: string | null;
  /** What the import noticed before it failed (also in its record's warnings). */
  readonly warnings: readonly string[];
  constructor(message: string, importId: string | null, options: { hint?: string | null; cause?: unknown; warnings?: readonly string[] } = {}) {
    super(message, { hint: options.hint, cause: options.cause, exitCode: ExitCode.failed });
    this.importId = importId;
    this.warnings = options.warnings ?? [];
  }
}

/** The same bytes were already imported into the same table. Exit 4. Nothing is recorded: history records imports, not attempts to repeat one. */
export class AlreadyImportedError extends AtlasError {
  readonly previousImportId: string;
  /** When the earlier import ran, ISO 8601 (UTC). */
  readonly previousImportTimestamp: string;
  readonly tableName: string;
  /** The message with the time as JSON output writes times (the message itself says it in local time). */
  readonly jsonMessage: string;
  constructor(previous: { importId: string; importTimestamp: string; tableName: string }, hint: string) {
    const say = (time: string): string => `already imported: this file went into ${previous.tableName} by import ${previous.importId} at ${time}`;
    super(say(formatAbsoluteTime(previous.importTimestamp)), { exitCode: ExitCode.alreadyImported, hint });
    this.previousImportId = previous.importId;
    this.previousImportTimestamp = previous.importTimestamp;
    this.tableName = previous.tableName;
    this.jsonMessage = say(previous.importTimestamp);
  }
}

/** Something the user asked for does not exist (an import id, a table). Exit 1. */
export class NotFoundError extends AtlasError {}

/** The import was cancelled by SIGINT/SIGTERM. Exit 1. */
export class CancelledError extends AtlasError {
  constructor(message = 'cancelled') {
    super(message, { exitCode: ExitCode.failed });
  }
}

interface PgErrorFields {
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
}

/**
 * One line describing any error, with PostgreSQL's SQLSTATE, detail and hint when present.
 * Never includes a connection string.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return redactSecrets(String(err));
  const pg = err as Error & PgErrorFields;
  let text = err.message;
  if (typeof pg.code === 'string' && /^[0-9A-Z]{5}$/.test(pg.code)) {
    text += ` (SQLSTATE ${pg.code})`;
    if (pg.detail) text += `; detail: ${pg.detail}`;
    if (pg.hint) text += `; hint: ${pg.hint}`;
  }
  return redactSecrets(text.replace(/\s*\n\s*/g, ' '));
}

/**
 * What to grant, for PostgreSQL's "permission denied for table x" (42501) that a command met on
 * atlas's tables or a data table (imports check their privileges first and name the GRANT; reads
 * and undo met the server's bare message, one table at a time); null for any other error.
 */
export function permissionHint(err: unknown): string | null {
  const pg = err as Error & PgErrorFields;
  if (!(err instanceof Error) || pg.code !== '42501') return null;
  const m = /^permission denied for (table|schema|sequence|view) (.+)$/.exec(err.message);
  if (m === null) return null;
  const [, kind, name] = m as unknown as [string, string, string];
  if (kind === 'schema') return `the role atlas connects as needs USAGE on schema ${name}: GRANT USAGE ON SCHEMA ${name} TO <that role>;`;
  return `the role atlas connects as lacks a privilege on ${kind} ${name}: reading (history, stats, lineage, errors) needs SELECT on atlas's tables and the imported ones, undo, history prune and compact also UPDATE and DELETE (GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA <schema> TO <that role>;)`;
}

/**
 * Removes passwords from anything that looks like a connection URL (`scheme://user:password@`,
 * up to the last `@` so that an unencoded `@` in the password does not leave its end showing)
 * or a `password=` parameter (`?password=...`, `password=... host=...`).
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)\S*@/gi, '$1***@')
    .replace(/(\b(?:ssl)?password=)(?:'[^']*'|"[^"]*"|[^&\s'"]*)/gi, '$1***');
}
