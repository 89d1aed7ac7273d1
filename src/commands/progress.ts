/** Live progress of an import on stderr: an ora spinner on a terminal, plain lines with --progress elsewhere, nothing otherwise. */
import ora, { type Ora } from 'ora';
import type { ImportPhase, ImportProgress } from '../core/import.js';
import { formatCount, formatDuration } from './shared.js';

/** How often plain-line progress is written when stderr is not a terminal. */
const PLAIN_INTERVAL_MS = 5000;

export interface ProgressReporter {
  phase(phase: ImportPhase): void;
  progress(p: ImportProgress): void;
  /** Stops the spinner (leaving no line behind). */
  stop(): void;
}

function formatBytes(n: number): string {
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

export function createProgress(mode: ProgressMode): ProgressReporter {
  if (mode === 'off') return { phase: () => undefined, progress: () => undefined, stop: () => undefined };
  const started = performance.now();
  let phase: ImportPhase = 'reading';
  let last: ImportProgress | null = null;
  let lastLine = 0;
  const spinner: Ora | null = mode === 'spinner' ? ora({ stream: process.stderr, text: 'reading' }).start() : null;
  const describe = (): string => {
    const elapsed = (performance.now() - started) / 1000;
    const parts: string[] = [phase];
    if (last && (phase === 'staging' || phase === 'reading')) {
      const read = last.totalBytes ? `${formatBytes(last.bytesRead)} of ${formatBytes(last.totalBytes)} (${Math.min(100, Math.round((last.bytesRead / last.totalBytes) * 100))}%)` : formatBytes(last.bytesRead);
      parts.push(read, `${formatCount(last.rows)} rows`, `${formatCount(Math.round(last.rows / Math.max(elapsed, 0.001)))} rows/s`);
    }
    parts.push(formatDuration(elapsed));
    return parts.join(', ');
  };
  const update = (force: boolean): void => {
    if (spinner) {
      spinner.text = describe();
      if (force) spinner.render(); // a new phase shows at once, not at the next frame
    } else if (force || performance.now() - lastLine >= PLAIN_INTERVAL_MS) {
      lastLine = performance.now();
      process.stderr.write(`atlas: ${describe()}\n`);
    }
  };
  // The elapsed time keeps counting through phases that report nothing until they end (an
  // INSERT): the spinner's text each second, a plain line every PLAIN_INTERVAL_MS.
  const tick = setInterval(() => update(false), 1000);
  tick.unref();
  return {
    phase: (p) => {
      phase = p;
      update(true);
    },
    progress: (p) => {
      last = p;
      update(false);
    },
    stop: () => {
      clearInterval(tick);
      spinner?.stop();
    },
  };
}
