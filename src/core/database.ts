import type { Settings } from '../config.js';
import { openClient, resolveDatabase, type Client, type DatabaseTarget } from '../db/connection.js';
import { markInterruptedImports } from '../db/history.js';
import { migrate } from '../db/migrate.js';

/** Told which database is used, before any work (the CLI says so on stderr for the embedded one). */
export type DatabaseListener = (target: DatabaseTarget) => void;

/** What every core call that opens the database takes, as an option (never a positional argument). */
export interface DatabaseOptions {
  onDatabase?: DatabaseListener | undefined;
  /** Aborting it while the connection is being made ends the attempt (Ctrl-C during an import). */
  signal?: AbortSignal | undefined;
}

/**
 * Every core call runs through this: resolve the database, connect, make sure the schema is
 * current, and store imports whose process is gone as failed (interrupted), so that what every
 * command reads, and what SQL reads, agree.
 */
export async function withDatabase<T>(settings: Settings, options: DatabaseOptions, fn: (client: Client, url: string, target: DatabaseTarget) => Promise<T>): Promise<T> {
  const target = await resolveDatabase(settings);
  options.onDatabase?.(target);
  const client = await openClient(target.url, { signal: options.signal, source: settings });
  try {
    await migrate(client, settings.schema);
    await markInterruptedImports(client, settings.schema);
    return await fn(client, target.url, target);
  } finally {
    await client.end().catch(() => undefined);
  }
}
