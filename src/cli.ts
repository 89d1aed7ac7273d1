/**
 * The atlas command line: commander program, global flags, lazily loaded commands (so `atlas --help`
 * loads no database, spreadsheet, XML or S3 code), and the one place errors become exit codes.
 */
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError } from 'commander';
import { errorsFlags } from './commands/errorsFlags.js';
import { addFlags, globalFlags, readFlags } from './commands/flags.js';
import { historyCompactFlags } from './commands/historyCompactFlags.js';
import { historyFlags } from './commands/historyFlags.js';
import { historyPruneFlags } from './commands/historyPruneFlags.js';
import { importFlags } from './commands/importFlags.js';
import { lineageFlags } from './commands/lineageFlags.js';
import { statsFlags } from './commands/statsFlags.js';
import { undoFlags } from './commands/undoFlags.js';
import { AlreadyImportedError, AtlasError, describeError, ExitCode, ImportFailedError, permissionHint, redactSecrets, UsageError } from './errors.js';
import { printable, printableLines } from './transform/printable.js';

/** The version in package.json, which sits beside src/ and dist/ (so this path works from either). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('atlas');
  // Before the subcommands are added, so they inherit it: errors reach main() instead of exiting.
  program.exitOverride();
  // Commander echoes what it could not parse (`--databse-url=postgres://user:password@...`): never a password.
  program.configureOutput({ outputError: (text, write) => write(printableLines(redactSecrets(text))) });
  program
    .description('Load files into PostgreSQL with an exact, queryable record of every load.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError('(run with --help for usage)');
  addFlags(program, globalFlags);
  program.addHelpText(
    'after',
    `
Examples:
  atlas import customers.csv                      load into table "customers" (created if needed)
  atlas import data.tsv --table sales --json      machine-readable result
  cat export.csv | atlas import - --table daily   read stdin
  atlas history                                   recent imports, newest first
  atlas history 1f0c2a9e                          one import, whole
  atlas stats --days 7                            counts, success rate, rows of the last week
  atlas lineage customers                         which imports the rows of a table came from
  atlas errors 1f0c2a9e                           the values an import could not use
  atlas undo 1f0c2a9e --dry-run                   what undoing an import would remove

Exit codes: 0 success, 1 failed, 2 usage or configuration error, 3 partial (some rows had
mapping errors), 4 already imported (the same file went into the same table before).`,
  );

  const importCommand = program
    .command('import')
    .description('import a file (CSV, TSV, XLSX, JSON, NDJSON, XML, optionally gzipped or in a .zip), stdin (-) or s3://bucket/key into a table, in one transaction; or many files in one command: each its own import, those already imported skipped')
    .argument('<sources...>', "file path, - for stdin, s3://bucket/key; or several: files, directories, quoted globs ('dir/**/*.csv'), s3://bucket/prefix/, taken in order of path");
  addFlags(importCommand, importFlags)
    .addHelpText(
      'after',
      `
Examples:
  atlas import examples/customers.csv
  atlas import orders.csv --table orders_2025 --json
  atlas import legacy.csv --encoding latin1 --delimiter ';'
  atlas import export.csv --max-errors 1% --mapping export.mapping.json
  atlas import new_export.csv --table customers --dry-run
  atlas import daily.csv --table events --key event_id     (re-runs skip rows already loaded)
  atlas import prices.csv --table prices --mode upsert --key sku   (update changed prices, add new skus)
  atlas import stock.csv --table stock --mode replace      (a full refresh; readers never see it empty)
  atlas import fixed.csv --replace-import 1f0c2a9e         (load the corrected file in place of that import)
  atlas import deaths.xlsx --sheet arts --range A5:F15     (the table alone, no notes above or below)
  atlas import gtfs.zip --entry stops.txt                  (into table gtfs_stops)
  atlas import penguins.csv --null-value NA                (R's NA: NULL, not text)
  gunzip -c big.csv.gz | atlas import - --table big --name big.csv
  bzip2 -dc big.csv.bz2 | atlas import - --table big --name big.csv
  atlas import /data/incoming/ --recursive --pattern '*.csv'   (a batch: each file its own import)
  atlas import 'exports/**/*.csv' --table events            (a batch into one table)
  atlas import s3://bucket/exports/2026-12/ --atomic        (every file or none)

A batch (several sources, a directory, a glob or an S3 prefix) imports each file as its own import
into the table named after it (or --table), with one setup for all; files already imported into
their table are skipped, so the same command run again imports only what is missing. It prints a line per
file and a summary (--json: one document, a result per file), records the batch id in each
import's metadata (atlas history --batch ID, atlas undo --batch ID), and exits 1 if any file failed,
else 3 if any was partial, else 0.`,
    )
    .action(async (sources: string[], _flags, cmd: Command) => {
      const { runImportCommand } = await import('./commands/import.js');
      await runImportCommand(sources, readFlags(cmd, importFlags), cmd);
    });

  const history = program
    .command('history')
    .description('list imports, newest first; or show one import whole')
    .argument('[import_id]', 'an import id, or its first 8+ characters');
  addFlags(history, historyFlags)
    .helpCommand(false)
    .addHelpText(
      'after',
      `
Examples:
  atlas history --table customers --limit 10
  atlas history --status failed --since 7d --json
  atlas history --limit 20 --offset 20             the second page of 20
  atlas history 1f0c2a9e
  atlas history prune --older-than 365d --dry-run`,
    )
    .action(async (importId: string | undefined, _flags, cmd: Command) => {
      const { runHistoryCommand } = await import('./commands/history.js');
      await runHistoryCommand(importId, readFlags(cmd, historyFlags), cmd);
    });

  // A subcommand beside history's optional [import_id]: commander dispatches `history prune ...`
  // here and anything else to history's own action (import ids are hex, never "prune").
  const prune = history
    .command('prune')
    .description('delete old history records that own no rows (failed, interrupted, undone) and their mapping errors; never data')
    // history's own filters are not prune's: list only the program's flags as global in its help.
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false, visibleGlobalOptions: () => program.options.filter((o) => !o.hidden) });
  addFlags(prune, historyPruneFlags)
    .addHelpText(
      'after',
      `
Records that own rows (success, partial) are never pruned: undo them first. A record is also
kept while any row still references it; where row-level security policies may hide such rows from
the role atlas connects as, prune is refused naming the table.

Examples:
  atlas history prune --older-than 365d --dry-run
  atlas history prune --older-than 52w --yes --json`,
    )
    .action(async (_flags, cmd: Command) => {
      const { runHistoryPruneCommand } = await import('./commands/historyPrune.js');
      await runHistoryPruneCommand(readFlags(cmd, historyPruneFlags), cmd);
    });

  const compact = history
    .command('compact')
    .description('drop the pre-images of old imports (the previous versions of rows an upsert or replace changed, kept for undo); those imports can then no longer be undone')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false, visibleGlobalOptions: () => program.options.filter((o) => !o.hidden) });
  addFlags(compact, historyCompactFlags)
    .addHelpText(
      'after',
      `
History records stay; each one compacted says that it can no longer be undone, and atlas undo
refuses it with that reason.

Examples:
  atlas history compact --older-than 90d --dry-run
  atlas history compact --older-than 52w --yes --json`,
    )
    .action(async (_flags, cmd: Command) => {
      const { runHistoryCompactCommand } = await import('./commands/historyCompact.js');
      await runHistoryCompactCommand(readFlags(cmd, historyCompactFlags), cmd);
    });

  const stats = program.command('stats').description('import statistics over a period: imports by status, success rate, rows, durations, tables, users');
  addFlags(stats, statsFlags)
    .addHelpText(
      'after',
      `
Every figure is over the imports of the period (import_timestamp in the last --days days, of
--table and --user when given), as its --json name:
  total_imports            every import, whatever its status
  successful_imports       status success; partial_imports, failed_imports (interrupted ones
                           included), undone_imports and in_progress_imports count the others
  success_rate             successful_imports / total_imports (partial, failed, undone and
                           running imports count against it)
  total_rows_inserted      sum of rows_inserted, including rows of imports undone since
  total_rows_inserted_not_undone  sum of rows_inserted of success and partial imports
  total_rows_removed       sum of rows_removed: the rows undo deleted
  total_rows_updated       sum of rows_updated: rows upserts updated (undone ones included);
                           total_rows_unchanged sums rows_unchanged (upserts' matching rows
                           with the same values, rows a replace kept in place),
                           total_rows_deleted rows_deleted (replaces)
  total_duplicates_found   sum of duplicates_found
  avg_duration_seconds     mean duration_seconds of the imports that have one (not running ones)
  tables_affected          distinct tables of success, partial and undone imports
  unique_users             distinct user_id

Examples:
  atlas stats
  atlas stats --table customers --days 7
  atlas stats --user alice --json`,
    )
    .action(async (_flags, cmd: Command) => {
      const { runStatsCommand } = await import('./commands/stats.js');
      await runStatsCommand(readFlags(cmd, statsFlags), cmd);
    });

  const lineage = program
    .command('lineage')
    .description('which imports contributed rows to a table (inserted then vs rows now); or where one row came from')
    .argument('<table>', 'a table atlas imported into');
  addFlags(lineage, lineageFlags)
    .addHelpText(
      'after',
      `
The figures, as their --json names:
  imports, total_imports   the imports into the table with status success or partial, newest
                           first (undone and failed ones left no rows), each with rows_inserted
                           and rows_now (its rows in the table now); rows_expected_now is what
                           atlas's own writes leave it (rows_inserted + rows_updated, minus
                           rows_changed_by_later_imports: upserts and replaces since)
  total_rows_contributed   sum of their rows_inserted, whether the rows are still there or not
  rows_now_in_table        rows in the table now, whichever import they came from

Examples:
  atlas lineage customers
  atlas lineage customers --row 42
  atlas lineage customers --json`,
    )
    .action(async (table: string, _flags, cmd: Command) => {
      const { runLineageCommand } = await import('./commands/lineage.js');
      await runLineageCommand(table, readFlags(cmd, lineageFlags), cmd);
    });

  const errors = program
    .command('errors')
    .description("an import's mapping errors, in file order: the values or records it could not store")
    .argument('<import_id>', 'an import id, or its first 8+ characters');
  addFlags(errors, errorsFlags).addHelpText(
    'after',
    `
Examples:
  atlas errors 1f0c2a9e
  atlas errors 1f0c2a9e --type datetime_conversion --field signup_date
  atlas errors 1f0c2a9e --limit 1000 --json`,
  ).action(async (importId: string, _flags, cmd: Command) => {
    const { runErrorsCommand } = await import('./commands/errors.js');
    await runErrorsCommand(importId, readFlags(cmd, errorsFlags), cmd);
  });

  const undo = program
    .command('undo')
    .description('remove exactly the rows an import inserted, in one transaction; its history record stays, marked undone')
    .argument('[import_id]', 'an import id, or its first 8+ characters');
  addFlags(undo, undoFlags)
    .addHelpText(
      'after',
      `
Rows of other imports, even in the same table, are never touched. Refused (exit 1) for an
unknown, failed, interrupted or already undone import, and without --force when the rows changed.
A later import that skipped records as duplicates of this import's rows relies on them: then the
undo is refused, naming those imports, unless --reassign keeps those rows for them or --force
deletes them too (--dry-run says which). Rows of other tables that reference rows it deletes:
refused, --force too, for a foreign key ON DELETE RESTRICT or NO ACTION; without --force for one
ON DELETE CASCADE, SET NULL or SET DEFAULT, which would delete or change them with it (--force
lets it, and the record lists them). Refused too, naming the table, where row-level security
policies may hide rows of it from the role atlas connects as (a superuser or a BYPASSRLS role sees all).
--dry-run shows the plan and exits 1 when the undo would be refused.

Examples:
  atlas undo 1f0c2a9e --dry-run
  atlas undo 1f0c2a9e                 asks first on a terminal
  atlas undo 1f0c2a9e --reassign      keep the rows later imports rely on
  atlas undo 1f0c2a9e --yes --json    in a script
  atlas undo 1f0c2a9e --yes --purge   leave no record either
  atlas undo --batch 5d1e0b7c-... --dry-run   every import of a batch, all or none`,
    )
    .action(async (importId: string | undefined, _flags, cmd: Command) => {
      const flags = readFlags(cmd, undoFlags);
      if (flags.batch !== undefined) {
        const { runUndoBatchCommand } = await import('./commands/undoBatch.js');
        await runUndoBatchCommand(importId, { ...flags, batch: flags.batch }, cmd);
        return;
      }
      if (importId === undefined) throw new UsageError('name the import to undo, or --batch ID', { hint: 'list imports with `atlas history`' });
      const { runUndoCommand } = await import('./commands/undo.js');
      await runUndoCommand(importId, flags, cmd);
    });

  program
    .command('server')
    .description("start, show or stop atlas's embedded PostgreSQL (started automatically when no database is configured)")
    .addArgument(new Argument('<action>', 'start, status or stop').choices(['start', 'status', 'stop']))
    .addHelpText(
      'after',
      `
status prints the connection URL without its password (user, host, port, database), the file
that holds the password, and the data directory. start starts the server if it is not running
and prints the same; stop stops it (open sessions are rolled back).

Examples:
  atlas server start
  atlas server status
  atlas server status --json
  atlas server stop`,
    )
    .action(async (action: 'start' | 'status' | 'stop', _flags, cmd: Command) => {
      const { runServerCommand } = await import('./commands/server.js');
      await runServerCommand(action, cmd);
    });

  return program;
}

/** Runs the CLI: the one place errors become messages and exit codes. */
export async function main(argv: string[] = process.argv): Promise<void> {
  // The AWS SDK warns on stderr on every S3 run that its releases after January 2027 need Node 22;
  // atlas runs on Node 20 with the SDK version in package-lock.json. The process is the CLI's to set.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // A reader that stops early (`atlas history | head`) is not an error: silence. Output that
  // cannot be written (a full disk, `> /dev/full`) is: one line on stderr, exit 1. Where stderr
  // itself fails, there is nothing left to say it on.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (stream === process.stdout) {
        try {
          process.stderr.write(`atlas: cannot write the output: ${err.code === 'ENOSPC' ? 'no space left on device' : err.message.replace(/,? write$/, '')} (${err.code ?? 'error'})\n`);
        } catch {
          // stderr is gone too
        }
      }
      process.exit(ExitCode.failed);
    });
  }
  const program = buildProgram();
  const wantsJson = argv.includes('--json');
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // `atlas` alone prints help as an error (commander's exit code 1 there): a usage error, exit 2.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0)) {
        process.exitCode = ExitCode.success;
        return;
      }
      process.exitCode = ExitCode.usage;
      const message = err.code === 'commander.help' ? 'no command given (atlas --help lists them)' : err.message.replace(/^error: /, '');
      if (wantsJson) process.stdout.write(`${JSON.stringify({ success: false, error: redactSecrets(message) })}\n`);
      return;
    }
    const message = describeError(err);
    const hint = err instanceof AtlasError ? (err.hint ?? permissionHint(err.cause)) : permissionHint(err);
    const warnings = err instanceof ImportFailedError ? err.warnings : [];
    process.exitCode = err instanceof AtlasError ? err.exitCode : ExitCode.failed;
    if (wantsJson) {
      const body: Record<string, unknown> = { success: false, error: err instanceof AlreadyImportedError ? err.jsonMessage : message };
      if (hint) body.hint = hint;
      if (warnings.length > 0) body.warnings = warnings;
      const importId = (err as { importId?: unknown }).importId;
      if (typeof importId === 'string') body.import_id = importId;
      if (err instanceof AlreadyImportedError) {
        Object.assign(body, { previous_import_id: err.previousImportId, previous_import_timestamp: err.previousImportTimestamp, table_name: err.tableName });
      }
      process.stdout.write(`${JSON.stringify(body)}\n`);
    }
    // Messages name files, tables and columns, and quote values: escaped, like all text from outside.
    process.stderr.write(`atlas: ${printable(message)}\n`);
    if (hint) process.stderr.write(`  hint: ${printable(hint)}\n`);
    // What the import noticed before it failed may be why it did (a header taken from the wrong row).
    for (const w of warnings) process.stderr.write(`  warning: ${printable(w)}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${printableLines(redactSecrets(err.stack))}\n`);
  }
}
