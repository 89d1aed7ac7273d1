/** What every command file shares: global flags -> Settings, the embedded-database notice, output helpers. */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Command } from 'commander';
import { resolveSettings, type Settings } from '../config.js';
import type { DatabaseTarget } from '../db/connection.js';

/** Global flags as commander gives them. */
export interface GlobalOptions {
  databaseUrl?: string;
  schema?: string;
  config?: string;
  user?: string;
  json?: boolean;
  verbose?: boolean;
  color?: boolean;
  quiet?: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function settingsFor(cmd: Command): Settings {
  const g = globalOptions(cmd);
  return resolveSettings({ databaseUrl: g.databaseUrl, schema: g.schema, config: g.config, user: g.user });
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
    process.stderr.write(`atlas: ${verb} the embedded PostgreSQL (data in ${target.embedded.home}, port ${target.embedded.port})\n`);
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** 1,500,000 */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : n.toLocaleString('en-US');
}

/** 2.5 s, 1 min 5 s */
export function formatDuration(s: number | null | undefined): string {
  if (s === null || s === undefined) return '-';
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** Colours a status: green success, yellow partial/in progress, red failed/interrupted. */
export function colorStatus(c: ChalkInstance, status: string): string {
  if (status === 'success') return c.green(status);
  if (status === 'partial' || status === 'in_progress') return c.yellow(status);
  if (status === 'failed' || status === 'interrupted') return c.red(status);
  return c.dim(status);
}
