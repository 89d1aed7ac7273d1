import type { Command } from 'commander';
import { ensureEmbeddedServer, getEmbeddedServerStatus, stopEmbeddedServer, type EmbeddedServerStatus } from '../db/embedded.js';
import { globalOptions, printable, printJson, settingsFor } from './shared.js';

export type ServerAction = 'start' | 'status' | 'stop';

export async function runServerCommand(action: ServerAction, cmd: Command): Promise<void> {
  const settings = settingsFor(cmd);
  const g = globalOptions(cmd);
  if (action === 'stop') {
    const stopped = await stopEmbeddedServer(settings.atlasHome);
    if (g.json) printJson({ success: true, stopped });
    else process.stdout.write(stopped ? 'stopped the embedded PostgreSQL\n' : 'the embedded PostgreSQL was not running\n');
    return;
  }
  const started = action === 'start' ? (await ensureEmbeddedServer(settings.atlasHome)).started : null;
  const status = await getEmbeddedServerStatus(settings.atlasHome);
  if (g.json) {
    printJson({ success: true, ...(started === null ? {} : { started }), ...statusJson(status, settings.atlasHome) });
    return;
  }
  if (started !== null) process.stdout.write(started ? 'started the embedded PostgreSQL\n' : 'the embedded PostgreSQL was already running\n');
  process.stdout.write(renderStatus(status));
}

/** The status in snake_case, as every command's JSON; the password itself never. */
function statusJson(s: EmbeddedServerStatus, home: string): Record<string, unknown> {
  return {
    running: s.running,
    initialised: s.initialised,
    url: s.url,
    host: s.host,
    port: s.port,
    user: s.user,
    database: s.database,
    password_file: s.passwordFile,
    data_directory: s.dataDir,
    atlas_home: home,
  };
}

function renderStatus(s: EmbeddedServerStatus): string {
  const lines: Array<[string, string]> = [];
  if (s.url !== null) {
    const passwordFile = printable(s.passwordFile);
    lines.push(['url', `${s.url} (password not shown)`]);
    lines.push(['password', `the "password" field of ${passwordFile}`]);
    // The password is hex: it needs no quoting in a shell.
    lines.push(['psql', `PGPASSWORD=$(node -p 'require("${passwordFile}").password') psql ${s.url}`]);
  }
  lines.push(['data directory', s.initialised ? printable(s.dataDir) : `${printable(s.dataDir)} (not created yet)`]);
  const head = s.running
    ? `the embedded PostgreSQL is running on ${s.host}:${s.port}`
    : 'the embedded PostgreSQL is not running; atlas starts it when needed (or: atlas server start)';
  const width = Math.max(...lines.map(([k]) => k.length));
  return `${head}\n${lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}
