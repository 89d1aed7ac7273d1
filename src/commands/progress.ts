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

export function createProgress(mode: 'spinner' | 'lines' | 'off'): ProgressReporter {
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
    if (spinner) spinner.text = describe();
    else if (force || performance.now() - lastLine >= PLAIN_INTERVAL_MS) {
      lastLine = performance.now();
      process.stderr.write(`atlas: ${describe()}\n`);
    }
  };
  return {
    phase: (p) => {
      phase = p;
      update(true);
    },
    progress: (p) => {
      last = p;
      update(false);
    },
    stop: () => spinner?.stop(),
  };
}
