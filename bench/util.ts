/** Small helpers shared by the benchmark's modules: running processes, statistics, formatting. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ATLAS_BIN = join(ROOT, 'bin', 'atlas.js');

export interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion, timing it from spawn to exit (wall clock). */
export function exec(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Exec> {
  return new Promise((resolveExec, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', reject);
    child.once('close', (code) => {
      resolveExec({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: performance.now() - started });
    });
  });
}

/**
 * Runs a command under GNU time for its peak resident set size (`%M`, KiB). time's own line is
 * the last line of stderr; it is taken off, so `stderr` is the command's own.
 */
export async function execMeasured(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Exec & { peakRssMb: number }> {
  const res = await exec('/usr/bin/time', ['-f', '%M', cmd, ...args], env);
  const lines = res.stderr.trimEnd().split('\n');
  const rssKb = Number(lines.at(-1));
  if (!Number.isFinite(rssKb)) fail(`could not read the peak RSS from /usr/bin/time: ${JSON.stringify(lines.at(-1))}`);
  return { ...res, stderr: lines.slice(0, -1).join('\n'), peakRssMb: rssKb / 1024 };
}

export function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;
export const fmt = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
export const count = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
export const seconds = (ms: number): number => ms / 1000;

/** Never print a connection string with its password. */
export function redact(text: string, url: string): string {
  let out = text.split(url).join('<database-url>');
  try {
    const pw = decodeURIComponent(new URL(url).password);
    if (pw !== '') out = out.split(pw).join('<password>');
  } catch {
    /* not a URL: nothing more to hide */
  }
  return out;
}

export function fail(message: string): never {
  throw new Error(message);
}

/** The 1-minute load average, to show how busy the shared machine was around a run. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

export function log(text: string): void {
  process.stdout.write(text);
}
