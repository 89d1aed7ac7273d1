/**
 * Fault injection for the tests (test/guarantees/): ATLAS_DEBUG_PAUSE=copy,commit makes an import
 * stop at those points, say so on stderr and wait, so a test can kill the process or the server
 * right there. Unset, every call returns at once.
 */
import type { ImportPhase } from '../core/importTypes.js';

/** Names of the pause points by phase ('copy' is the first chunk staged). */
export const PHASE_POINTS: Record<ImportPhase, string> = {
  reading: 'reading',
  staging: 'staging',
  'checking types': 'types',
  'checking duplicates': 'duplicates',
  inserting: 'insert',
  committing: 'commit',
};

export interface DebugPauses {
  /** At an armed point (each pauses once): waits up to 10 minutes, or until `signal` aborts or end() is called. */
  at(point: string, signal: AbortSignal): Promise<void>;
  /** Ends the pause in progress, if any: an import that failed under its pause must not keep the process alive. */
  end(): void;
}

/** The pause points armed by `env.ATLAS_DEBUG_PAUSE`, for one command's run. */
export function debugPauses(env: NodeJS.ProcessEnv): DebugPauses {
  const armed = new Set((env.ATLAS_DEBUG_PAUSE ?? '').split(',').map((p) => p.trim()).filter((p) => p !== ''));
  let endPause: (() => void) | null = null;
  return {
    async at(point, signal) {
      if (!armed.delete(point)) return;
      process.stderr.write(`atlas: debug: paused at ${point} (pid ${process.pid})\n`);
      await new Promise<void>((resolve) => {
        const end = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', end);
          endPause = null;
          resolve();
        };
        const timer = setTimeout(end, 600_000);
        signal.addEventListener('abort', end, { once: true });
        endPause = end;
      });
    },
    end() {
      endPause?.();
    },
  };
}
