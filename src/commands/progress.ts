/** Live progress of an import on stderr: an ora spinner on a terminal, plain lines with --progress elsewhere, nothing otherwise. */
import ora, { type Ora } from 'ora';
import type { ImportPhase, ImportProgress, InsertEstimate } from '../core/import.js';
import { formatCount, formatDuration } from './shared.js';

/** How often plain-line progress is written when stderr is not a terminal. */
const PLAIN_INTERVAL_MS = 5000;

export interface ProgressReporter {
  phase(phase: ImportPhase): void;
  progress(p: ImportProgress): void;
  /** The INSERT starts: its progress is estimated from the expected rate (PostgreSQL reports none). */
  inserting(estimate: InsertEstimate): void;
  /** A line that must be read while the import runs (a lock wait), written above the spinner, or alone where no progress is shown. */
  notice(text: string): void;
  /** Stops the spinner (leaving no line behind). */
  stop(): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export type ProgressMode = 'spinner' | 'lines' | 'off';

/**
 * How an import shows its progress on `stream` (stderr): a spinner on a terminal; with no
 * terminal (cron, CI) nothing unless --progress, then plain lines; nothing at all with --quiet.
 * A terminal gets plain lines instead where a spinner cannot work: one that reports no width (a
 * pseudo-terminal of 0 columns, as `script` without a terminal of its own or some container
 * runtimes make; ora divides each line's width by the column count, and with 0 it cleared lines
 * without end, so the import never finished), and where ora would not animate (TERM=dumb, or CI
 * set in the environment: it would write its first text once and nothing more).
 */
export function progressMode(
  stream: { isTTY?: boolean; columns?: number },
  flags: { quiet: boolean; progress: boolean },
  env: Record<string, string | undefined> = process.env,
): ProgressMode {
  if (flags.quiet) return 'off';
  if (stream.isTTY === true) return (stream.columns ?? 0) > 0 && env.TERM !== 'dumb' && !('CI' in env) ? 'spinner' : 'lines';
  return flags.progress ? 'lines' : 'off';
}

/** The estimate never claims the INSERT done: only its end says so. */
const MAX_ESTIMATED_PERCENT = 99;

/** Where progress takes the time from and writes to: the real ones, or a test's (a fake clock instead of sleeping). */
export interface ProgressEnv {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fn` every `ms` milliseconds (never keeping the process alive) until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /** Where plain lines go. */
  write(text: string): void;
}

const REAL_ENV: ProgressEnv = {
  now: () => performance.now(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  write: (text) => process.stderr.write(text),
};

/** `label` starts every text (a batch's "file 2 of 10, name"). */
export function createProgress(mode: ProgressMode, env: ProgressEnv = REAL_ENV, label = ''): ProgressReporter {
  if (mode === 'off') return { phase: () => undefined, progress: () => undefined, inserting: () => undefined, notice: (text) => env.write(`atlas: ${label === '' ? '' : `${label}: `}${text}\n`), stop: () => undefined };
  const started = env.now();
  let phase: ImportPhase = 'reading';
  let phaseStarted = started;
  let stagingStarted: number | null = null;
  let last: ImportProgress | null = null;
  let insert: InsertEstimate | null = null;
  /** Figures came in since the last plain line. */
  let unwritten = false;
  let lastLine = 0;
  const spinner: Ora | null = mode === 'spinner' ? ora({ stream: process.stderr, text: label === '' ? 'reading' : `${label}, reading` }).start() : null;
  // The spinner and the plain lines say the same thing: this text.
  const describe = (): string => {
    const now = env.now();
    const parts: string[] = label === '' ? [phase] : [label, phase];
    if (last && (phase === 'staging' || phase === 'reading')) {
      const read = last.totalBytes ? `${formatBytes(last.bytesRead)} of ${formatBytes(last.totalBytes)} (${Math.min(100, Math.round((last.bytesRead / last.totalBytes) * 100))}%)` : formatBytes(last.bytesRead);
      const stagingSeconds = Math.max((now - (stagingStarted ?? started)) / 1000, 0.001);
      parts.push(read, `${formatCount(last.rows)} rows`, `${formatCount(Math.round(last.rows / stagingSeconds))} rows/s`);
    }
    if (phase === 'inserting' && insert) {
      if (insert.rowsPerSecond === null) parts.push(`${formatCount(insert.rows)} rows`);
      else {
        const done = Math.min(insert.rows, ((now - phaseStarted) / 1000) * insert.rowsPerSecond);
        const percent = insert.rows === 0 ? MAX_ESTIMATED_PERCENT : Math.min(MAX_ESTIMATED_PERCENT, Math.floor((done / insert.rows) * 100));
        parts.push(`about ${percent}% of ${formatCount(insert.rows)} rows (estimated at the ${insert.basis === 'staging' ? 'staging rate' : 'rate of earlier imports'}, ${formatCount(Math.round(insert.rowsPerSecond))} rows/s)`);
      }
    }
    parts.push(formatDuration((now - started) / 1000));
    return parts.join(', ');
  };
  const writeLine = (): void => {
    lastLine = env.now();
    unwritten = false;
    env.write(`atlas: ${describe()}\n`);
  };
  const update = (force: boolean): void => {
    if (spinner) {
      spinner.text = describe();
      if (force) spinner.render(); // a new phase shows at once, not at the next frame
    } else if (force || env.now() - lastLine >= PLAIN_INTERVAL_MS) {
      writeLine();
    }
  };
  // The elapsed time keeps counting through phases that report nothing until they end (an
  // INSERT): the spinner's text each second, a plain line every PLAIN_INTERVAL_MS.
  const stopTicking = env.every(1000, () => update(false));
  return {
    phase: (p) => {
      // Plain lines end a phase with its last figures (staging's total bytes, rows and rate), as the spinner showed them.
      if (!spinner && unwritten) writeLine();
      phase = p;
      phaseStarted = env.now();
      if (p === 'staging') stagingStarted = phaseStarted;
      update(true);
    },
    progress: (p) => {
      last = p;
      unwritten = true;
      update(false);
    },
    // Comes just before the phase: the phase's first report says it.
    inserting: (estimate) => {
      insert = estimate;
    },
    notice: (text) => {
      spinner?.clear();
      (spinner ? REAL_ENV : env).write(`atlas: ${label === '' ? '' : `${label}: `}${text}\n`);
      spinner?.render();
    },
    stop: () => {
      stopTicking();
      spinner?.stop();
    },
  };
}
