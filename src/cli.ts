/**
 * The atlas command line: commander program, global flags, lazily loaded commands (so `atlas --help`
 * loads no database, spreadsheet, XML or S3 code), and the one place errors become exit codes.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { AtlasError, describeError, ExitCode } from './errors.js';

/** Flags every command accepts, before or after its own arguments. */
function addGlobalOptions(program: Command): void {
  program
    .option('--database-url <url>', 'PostgreSQL connection string (else ATLAS_DATABASE_URL, DATABASE_URL, the config file, else the embedded server)')
    .option('--schema <name>', 'schema for the tracking tables and the target tables (default: "public")')
    .option('--config <file>', 'config file (default: ./atlas.config.json when it exists)')
    .option('--json', 'print one JSON document on stdout (errors too: {"success": false, "error": ...})')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print stack traces with errors')
    .option('--no-color', 'no colour (NO_COLOR is respected too)');
}

export function buildProgram(): Command {
  const program = new Command('atlas');
  // Before the subcommands are added, so they inherit it: errors reach main() instead of exiting.
  program.exitOverride();
  program
    .description('Load files into PostgreSQL with an exact, queryable record of every load.')
    .version('0.1.0', '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError('(run with --help for usage)');
  addGlobalOptions(program);
  program.addHelpText(
    'after',
    `
Examples:
  atlas import customers.csv                      load into table "customers" (created if needed)
  atlas import data.tsv --table sales --json      machine-readable result
  cat export.csv | atlas import - --table daily   read stdin
  atlas history                                   recent imports, newest first
  atlas history 1f0c2a9e                          one import, whole

Exit codes: 0 success, 1 failed, 2 usage or configuration error, 3 partial (some rows had
mapping errors), 4 already imported.`,
  );

  program
    .command('import')
    .description('import a CSV or TSV file (or - for stdin) into a table, in one transaction')
    .argument('<source>', 'file path, or - for stdin')
    .option('-t, --table <name>', 'target table (default: the file name, sanitised)')
    .addOption(new Option('-f, --format <format>', 'input format (default: from the extension)').choices(['csv', 'tsv']))
    .option('-d, --delimiter <char>', 'CSV field delimiter (default: sniffed among , ; tab |)')
    .option('--no-header', 'the first line is data; columns are named column_1, column_2, ...')
    .option('--encoding <name>', 'input encoding: utf8, utf16le, utf16be, latin1 (default: UTF-8, or from a byte-order mark)')
    .option('--name <file name>', 'file name to record when reading stdin')
    .option('--user <name>', 'who runs the import, recorded as user_id (default: the OS user)')
    .addHelpText(
      'after',
      `
Examples:
  atlas import examples/customers.csv
  atlas import orders.csv --table orders_2025 --json
  atlas import legacy.csv --encoding latin1 --delimiter ';'
  gunzip -c big.csv.gz | atlas import - --table big --name big.csv`,
    )
    .action(async (source: string, flags, cmd: Command) => {
      const { runImportCommand } = await import('./commands/import.js');
      await runImportCommand(source, flags, cmd);
    });

  program
    .command('history')
    .description('list imports, newest first; or show one import whole')
    .argument('[import_id]', 'an import id, or its first 8+ characters')
    .option('--table <name>', 'only imports into this table')
    .option('--user <name>', 'only imports by this user')
    .addOption(new Option('--status <status>', 'only imports with this status').choices(['in_progress', 'interrupted', 'success', 'failed', 'partial', 'undone']))
    .option('--since <date>', 'only imports since a date (2025-01-31) or an age (7d, 12h)')
    .option('--limit <n>', 'how many to show', '100')
    .option('--offset <n>', 'how many to skip', '0')
    .addHelpText(
      'after',
      `
Examples:
  atlas history --table customers --limit 10
  atlas history --status failed --since 7d --json
  atlas history 1f0c2a9e`,
    )
    .action(async (importId: string | undefined, flags, cmd: Command) => {
      const { runHistoryCommand } = await import('./commands/history.js');
      await runHistoryCommand(importId, flags, cmd);
    });

  program
    .command('server')
    .description("show or stop atlas's embedded PostgreSQL (started automatically when no database is configured)")
    .addArgument(new Argument('<action>', 'status or stop').choices(['status', 'stop']))
    .addHelpText('after', '\nExamples:\n  atlas server status\n  atlas server stop')
    .action(async (action: 'status' | 'stop', _flags, cmd: Command) => {
      const { runServerCommand } = await import('./commands/server.js');
      await runServerCommand(action, cmd);
    });

  return program;
}

/** Runs the CLI: the one place errors become messages and exit codes. */
export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  const wantsJson = argv.includes('--json');
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exitCode = ExitCode.success;
        return;
      }
      process.exitCode = ExitCode.usage;
      if (wantsJson) process.stdout.write(`${JSON.stringify({ success: false, error: err.message.replace(/^error: /, '') })}\n`);
      return;
    }
    const message = describeError(err);
    const hint = err instanceof AtlasError ? err.hint : null;
    process.exitCode = err instanceof AtlasError ? err.exitCode : ExitCode.failed;
    if (wantsJson) {
      const body: Record<string, unknown> = { success: false, error: message };
      if (hint) body.hint = hint;
      const importId = (err as { importId?: unknown }).importId;
      if (typeof importId === 'string') body.import_id = importId;
      process.stdout.write(`${JSON.stringify(body)}\n`);
    }
    process.stderr.write(`atlas: ${message}\n`);
    if (hint) process.stderr.write(`  hint: ${hint}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  }
}
