/** What every command file shares: global flags -> Settings, the embedded-database notice, output helpers. */
import { createInterface } from 'node:readline/promises';
import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { resolveSettings, type Settings } from '../config.js';
import { globalFlags, readFlags, type FlagValues } from './flags.js';
import { UsageError } from '../errors.js';
import { isInterrupted, MAX_AGE_DAYS } from '../core/history.js';
import { tableNamed } from '../core/tableName.js';
import type { DatabaseTarget } from '../db/connection.js';
import { lockWaitNotice, type LockWaitOptions } from '../db/lockWaits.js';
import { firstChars } from '../transform/firstChars.js';
import { printable } from '../transform/printable.js';
import { formatAbsoluteTime } from '../transform/time.js';
import { quoteIdent } from '../transform/naming.js';

// Every string from a file, a file name or the database goes through these when text output is
// rendered (JSON output stays exact).
export { printable, printableLines } from '../transform/printable.js';

/** printable() of a value that may be absent (a detail view leaves null out). */
export function printableOrNull(text: string | null): string | null {
  return text === null ? null : printable(text);
}

/** `schema.table` as it is written in SQL: a part that is not a plain lower-case name is quoted (`public."Mixed Case"`), so that it can be pasted into psql. */
export function tableRef(schema: string, table: string): string {
  const part = (name: string): string => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name));
  return printable(`${part(schema)}.${part(table)}`);
}

/** The global flags (commands/flags.ts), wherever on the command line they were given. */
export type GlobalOptions = FlagValues<typeof globalFlags>;

export function globalOptions(cmd: Command): GlobalOptions {
  let program = cmd;
  while (program.parent) program = program.parent;
  return readFlags(program, globalFlags);
}

/**
 * Who runs a command that records it: import's and undo's --user (actingUser, recorded as user_id
 * or undone_by; history's and stats' --user is a filter, byUser), --user-email and --task-id, each
 * falling back to the environment and the config file.
 */
export interface Actor {
  actingUser?: string | undefined;
  userEmail?: string | undefined;
  taskId?: string | undefined;
}

/** The settings of a run: the global flags, and `actor` for the commands that record who ran them. */
export function settingsFor(cmd: Command, actor: Actor = {}): Settings {
  const g = globalOptions(cmd);
  return resolveSettings({ databaseUrl: g.databaseUrl, schema: g.schema, config: g.config, user: actor.actingUser, userEmail: actor.userEmail, taskId: actor.taskId });
}

/** Colour only on a terminal, and never with NO_COLOR or --no-color. */
export function colorFor(cmd: Command, stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  const g = globalOptions(cmd);
  const enabled = g.color !== false && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '') && stream.isTTY === true;
  return new Chalk({ level: enabled ? 1 : 0 });
}

/** Says on stderr which database is used when it is the embedded one. */
export function databaseNotice(cmd: Command): (target: DatabaseTarget) => void {
  return (target) => {
    if (!target.embedded || globalOptions(cmd).quiet) return;
    const verb = target.embedded.started ? 'started' : 'using';
    process.stderr.write(`atlas: ${verb} the embedded PostgreSQL on 127.0.0.1:${target.embedded.port} (data directory ${printable(target.embedded.dataDir)})\n`);
  };
}

/** Says on stderr, while it lasts, that `what` (`the undo`) waits for a lock another session holds; under cron too, not under --quiet. */
export function lockWaitNotices(cmd: Command, what: string): LockWaitOptions {
  if (globalOptions(cmd).quiet === true) return {};
  return { onLockWait: (wait) => process.stderr.write(`atlas: ${printable(lockWaitNotice(wait, what))}\n`) };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Import ids as lists show them: 8 characters, more where two of the listed ids share those
 * (any prefix of 8 or more names an import on the command line, when no other has it).
 */
export function shortIds(ids: readonly string[]): (id: string) => string {
  const sorted = [...new Set(ids)].sort();
  const length = new Map<string, number>();
  sorted.forEach((id, k) => {
    const shared = (other: string | undefined): number => {
      let n = 0;
      while (other !== undefined && n < id.length && id[n] === other[n]) n++;
      return n;
    };
    let n = Math.max(8, Math.max(shared(sorted[k - 1]), shared(sorted[k + 1])) + 1);
    // A dash tells nothing apart: one more character past it.
    while (n < id.length && id[n - 1] === '-') n++;
    length.set(id, n);
  });
  return (id) => id.slice(0, length.get(id) ?? 8);
}

/** 1,500,000 */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : n.toLocaleString('en-US');
}

/** 0.125 s, 2.5 s, 12.3 s, 1 min 5 s: about three significant digits, trailing zeros dropped. */
export function formatDuration(s: number | null | undefined): string {
  if (s === null || s === undefined) return '-';
  if (s < 60) return `${Number(s.toFixed(s < 1 ? 3 : s < 10 ? 2 : 1))} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** A record's status as shown: an interrupted import is stored as failed, and shown as both. */
export function statusLabel(r: { status: string; metadata?: Record<string, unknown>; interrupted?: boolean }): string {
  return isInterrupted(r) ? 'failed (interrupted)' : r.status;
}

/** Colours a status: green success, yellow partial/in progress, red failed (interrupted too), dim undone. */
export function colorStatus(c: ChalkInstance, status: string): string {
  if (status === 'success') return c.green(status);
  if (status === 'partial' || status === 'in_progress') return c.yellow(status);
  if (status.startsWith('failed')) return c.red(status);
  return c.dim(printable(status));
}

/** A --table flag's table (tableNamed), or null when it was not given. */
export function tableFlag(given: string | undefined, settings: Pick<Settings, 'schema' | 'schemaSource'>): string | null {
  return given === undefined ? null : tableNamed(given, settings, '--table');
}

/** A flag that must be a whole number (0 or more); ranges are checked by the core. */
export function parseWholeNumber(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number, not "${value}"`);
  return Number(value);
}

const AGE_UNITS: Record<string, number> = { m: 60, h: 3_600, d: 86_400, w: 604_800 };

/** An age like 30m (minutes), 12h, 365d or 52w, in seconds; null when `value` is not one. --since and --older-than take the same units. */
export function parseAge(value: string): number | null {
  const m = /^(\d+)\s*([a-z])$/i.exec(value.trim());
  const seconds = AGE_UNITS[m?.[2]?.toLowerCase() ?? ''];
  return m && seconds !== undefined ? Number(m[1]) * seconds : null;
}

/** --since: a date or time (2025-01-31, 2025-01-31 14:00, an ISO time with its zone) or an age (7d, 12h, 30m, 2w) counted back from now. */
export function parseSince(value: string | undefined): Date | null {
  if (value === undefined) return null;
  const age = parseAge(value);
  if (age !== null) {
    if (age > MAX_AGE_DAYS * 86_400) throw new UsageError(`--since must reach back at most ${MAX_AGE_DAYS} days, not "${value}"`);
    return new Date(Date.now() - age * 1000);
  }
  const wrong = (): UsageError => new UsageError(`--since must be a date (2025-01-31, 2025-01-31 14:00, in local time unless it ends in Z or +01:00) or an age (7d, 12h), not "${value}"`);
  // Local time, as history shows times (JavaScript alone reads a bare date as UTC midnight, and a
  // date with a time as local); a time zone written in the value is honoured, as in --json's times.
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(value.trim());
  if (!m) throw wrong();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((p) => Number(p ?? 0)) as [number, number, number, number, number, number];
  // Checked here: new Date would roll 2025-02-30 over to March 2.
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate() || hour > 23 || minute > 59 || second > 59) throw wrong();
  const ms = Math.round(Number(m[7] ?? 0) * 1000);
  const zone = m[8];
  if (zone === undefined) return new Date(year, month - 1, day, hour, minute, second, ms);
  const offset = zone.toUpperCase() === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset * 60_000);
}

export { formatAbsoluteTime };

/** just now, 5 min ago, 3 h ago, 2 days ago, 4 months ago, 2 years ago. */
export function formatRelativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 3_600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86_400) return `${Math.round(s / 3_600)} h ago`;
  const days = Math.round(s / 86_400);
  if (days === 1) return 'yesterday';
  if (days < 60) return `${days} days ago`;
  if (days < 730) return `${Math.round(days / 30.44)} months ago`;
  return `${Math.round(days / 365.25)} years ago`;
}

/** 2025-01-31 14:05:09 (3 h ago) */
export function formatTime(iso: string | null | undefined): string {
  return iso ? `${formatAbsoluteTime(iso)} (${formatRelativeTime(iso)})` : '-';
}

/** A value on one line (a line break would split a list's row). */
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ');

/** Cuts a value for a list cell: one line, at most `max` characters, with … when cut. */
export function truncate(text: string, max: number): string {
  const line = oneLine(text);
  const cut = firstChars(line, max);
  return cut.length === line.length ? line : `${firstChars(line, max - 1)}…`;
}

/** How a list writes a cell to `stream`: cut to `max` on a terminal, whole when piped or redirected (a script or a file loses nothing). */
export type CellWriter = (text: string, max: number) => string;

export function cellWriter(stream: { isTTY?: boolean } = process.stdout): CellWriter {
  const fit = stream.isTTY === true ? truncate : oneLine;
  return (text, max) => fit(printable(text), max);
}

/** A group of a detail view: a title, then label/value lines (null values are left out). */
export type DetailGroup = [title: string, fields: Array<[label: string, value: string | number | null | undefined]>];

/** Renders a detail view: values whole (never truncated), continuation lines aligned under the value. */
export function renderDetail(groups: DetailGroup[], c: ChalkInstance): string {
  const width = Math.max(...groups.flatMap(([, fields]) => fields.map(([k]) => k.length))) + 2;
  const out: string[] = [];
  for (const [title, fields] of groups) {
    const shown = fields.filter(([, v]) => v !== null && v !== undefined && v !== '' && v !== '-');
    if (shown.length === 0) continue;
    out.push(c.bold(title));
    for (const [k, v] of shown) out.push(`  ${k.padEnd(width)}${String(v).split('\n').join(`\n  ${' '.repeat(width)}`)}`);
  }
  return `${out.join('\n')}\n`;
}

/** "showing 1-20 of 57 imports" for a page, or why the page is empty. */
export function describePage(what: string, page: { total_count: number; limit: number; offset: number }, shown: number): string {
  if (shown === 0) return `nothing on this page: ${formatCount(page.total_count)} ${what} in all, and --offset ${page.offset} is past the end`;
  const more = page.offset + shown < page.total_count ? `; next page: --offset ${page.offset + page.limit}` : '';
  return `showing ${formatCount(page.offset + 1)}-${formatCount(page.offset + shown)} of ${formatCount(page.total_count)} ${what}${more}`;
}

/** Both ends are a terminal: a question can be asked and answered. */
export function isInteractive(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** Asks a yes/no question on the terminal (on stderr, so stdout stays clean); true only for y/yes. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * The confirmation rule of destructive commands, checked before any work: --yes skips the
 * question; on a terminal the user is asked; without one --yes is required (exit 2), so a script
 * never hangs on a prompt. Returns whether to ask.
 */
export function needsConfirmation(flags: { yes?: boolean; dryRun?: boolean }, action: string): boolean {
  if (flags.yes || flags.dryRun) return false;
  if (!isInteractive()) throw new UsageError(`${action} needs confirmation and there is no terminal to ask on: pass --yes`, { hint: 'or --dry-run to see what it would do' });
  return true;
}

/**
 * Runs `work` with Ctrl-C and SIGTERM cancelling it: the first says `message` on stderr and aborts
 * the signal `work` is given (the running import rolls back); a second exits at once with 130, since
 * the user insists (the server rolls back on disconnect). The one process.exit of the commands.
 */
export async function withCancelOnSignal<T>(message: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`atlas: ${message}\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** An aligned, borderless table (columns two spaces apart) with a bold header row. */
export function newTable(head: string[], c: ChalkInstance): Table.Table {
  const none = { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '' };
  return new Table({
    head: head.map((h) => c.bold(h)),
    chars: { ...none, left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
}
