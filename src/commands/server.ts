import type { Command } from 'commander';
import { getEmbeddedServerStatus, stopEmbeddedServer } from '../db/embedded.js';
import { globalOptions, printable, printJson, settingsFor } from './shared.js';

export async function runServerCommand(action: 'status' | 'stop', cmd: Command): Promise<void> {
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  if (action === 'stop') {
    const stopped = await stopEmbeddedServer(settings.atlasHome);
    if (g.json) printJson({ success: true, stopped });
    else process.stdout.write(stopped ? 'stopped the embedded PostgreSQL\n' : 'the embedded PostgreSQL was not running\n');
    return;
  }
  const status = await getEmbeddedServerStatus(settings.atlasHome);
  if (g.json) printJson({ success: true, ...status });
  else {
    process.stdout.write(
      status.running
        ? `the embedded PostgreSQL is running on 127.0.0.1:${status.port} (data in ${printable(status.dataDir)})\n`
        : `the embedded PostgreSQL is not running (${status.initialised ? `data in ${printable(status.dataDir)}` : 'not created yet'}); atlas starts it when needed\n`,
    );
  }
}
