/**
 * The atlas command line: commander program, global flags, lazily loaded commands (so `atlas --help`
 * loads no database, spreadsheet, XML or S3 code), and the one place errors become exit codes.
 */
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { AlreadyImportedError, AtlasError, describeError, ExitCode, redactSecrets, UsageError } from './errors.js';
import { printable, printableLines } from './transform/printable.js';

/** Flags every command accepts, before or after its own arguments. */
function addGlobalOptions(program: Command): void {
  program
    .option('--database-url <url>', 'PostgreSQL connection string (else ATLAS_DATABASE_URL, DATABASE_URL, the config file, else the embedded server)')
    .option('--schema <name>', 'schema for the tracking tables and the target tables (default: "public")')
    .option('--config <file>', 'config file, a regular file of at most 1 MiB (default: ./atlas.config.json when it exists)')
    .option('--json', 'print one JSON document on stdout (errors too: {"success": false, "error": ...})')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print stack traces with errors')
    .option('--no-color', 'no colour (NO_COLOR is respected too)');
}

/** --limit and --offset, for commands that page through records (limit 0 is rejected, exit 2). */
function addPaginationOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--limit <n>', `how many ${what} to show, 1 or more`, '100')
    .option('--offset <n>', `how many ${what} to skip (past the end: an empty page)`, '0');
}

/** --dry-run and --yes, for commands that delete: on a terminal they ask first, without one they need --yes. */
function addConfirmationOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--dry-run', `show what would be ${what}; change nothing`)
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)');
}

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
  atlas stats --days 7                            counts, success rate, rows of the last week
  atlas lineage customers                         which imports the rows of a table came from
  atlas errors 1f0c2a9e                           the values an import could not use
  atlas undo 1f0c2a9e --dry-run                   what undoing an import would remove

Exit codes: 0 success, 1 failed, 2 usage or configuration error, 3 partial (some rows had
mapping errors), 4 already imported (the same file went into the same table before).`,
  );

  program
    .command('import')
    .description('import a file (CSV, TSV, XLSX, JSON, NDJSON, XML, optionally gzipped or in a .zip), stdin (-) or s3://bucket/key into a table, in one transaction; or many files in one command: each its own import, those already imported skipped')
    .argument('<sources...>', "file path, - for stdin, s3://bucket/key; or several: files, directories, quoted globs ('dir/**/*.csv'), s3://bucket/prefix/, taken in order of path")
    .option('-t, --table <name>', 'target table (default: the mapping file\'s "table", else the file name, sanitised)')
    .addOption(new Option('-f, --format <format>', 'input format (default: from the extension, else the first bytes)').choices(['csv', 'tsv', 'xlsx', 'json', 'ndjson', 'xml']))
    .addOption(new Option('--strategy <strategy>', 'how to treat an existing table (default: chosen automatically and recorded)').choices(['new_table', 'merge_exact', 'extend_table', 'adapt_data']))
    .option('--mapping <file>', 'JSON mapping (a regular file of at most 4 MiB): target table, strategy, per column target/type/format/null_values/ignore/fit, key (the stored mapping_config of an import is a valid mapping file)')
    .option('--max-errors <n|p%>', 'allow N mapping errors, or P% of data rows; past that nothing is written and the import fails (default: no limit)')
    .option('--strict', 'any mapping error fails the import (same as --max-errors 0)')
    .option('--dry-run', 'read the file, infer the schema and find errors; write nothing and print the plan')
    .option('--null-value <value>', 'text that stands for a missing value and is imported as NULL, in every column (repeat for more: --null-value NA --null-value \'\\N\'); each is recorded in the row\'s _corrections_applied (default: the config file\'s "null_values", else none: only empty fields are NULL)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--key <columns>', 'uniqueness columns for the duplicate check, comma-separated; with --mode upsert, the columns that identify a row (default: every column of the file)')
    .addOption(
      new Option(
        '--mode <mode>',
        'append: add the rows; upsert (needs --key): update the rows whose key matches where a value differs, insert the others; replace: the table\'s rows become the file\'s, in one transaction. Rows updated or deleted are kept, so undo restores them exactly',
      )
        .choices(['append', 'upsert', 'replace'])
        .default('append'),
    )
    .option('--replace-import <id>', "replace that earlier import's rows with this file's, in one transaction (the corrected file); its record is marked replaced_by this one")
    .option('--no-dedupe', 'do not skip rows equal to rows already in the table or earlier in the file')
    .option('--allow-same-file', 'import a file whose bytes were already imported into this table (rows are still checked)')
    .option('--force', 'bypass every duplicate check, file and row')
    .option('-d, --delimiter <char>', 'CSV field delimiter (default: sniffed among , ; tab |)')
    .option('--no-header', 'CSV: the first line is data (XLSX with --range: its first row); columns are named column_1, column_2, ...')
    .option('--encoding <name>', 'text encoding: utf8, utf16le, utf16be, latin1 (default: UTF-8, or from a byte-order mark)')
    .option('--sheet <name|number>', 'XLSX: the sheet to read; without --table the table is named after the file and the sheet (default: the first sheet, table named after the file)')
    .option('--header-row <n>', 'XLSX: the row holding the header (default: found automatically)')
    .option('--range <cells>', 'XLSX: read only this block of cells, in Excel notation: A5:F15, or A5:F to the last row; its first row is the header (default: the whole sheet)')
    .option('--entry <name>', 'zip: the file inside the archive to import, by its name or path; without --table the table is named after the archive and the file (default: the only data file)')
    .option('--record-path <path>', 'JSON: where the record array is (data.items); XML: the record element (default: detected)')
    .option('--name <file name>', 'file name to record when reading stdin')
    .option('--recursive', 'batch: descend into the subdirectories of a directory, and below an S3 prefix')
    .option('--pattern <glob>', "batch: the files of directories, prefixes and globs to take, by name (--pattern '*.csv.gz'; default: the data-file extensions)")
    .option('--continue-on-error', 'batch: a failed file does not stop the others (the default)')
    .option('--stop-on-error', 'batch: stop at the first failed file (files already committed stay committed)')
    .option('--atomic', 'batch: all files in one transaction: every file commits, or none does')
    .option('--progress', 'write progress lines to stderr even when it is not a terminal (a terminal gets a live spinner, or these lines if it reports no width, TERM is dumb or CI is set)')
    .option('--user <name>', 'who runs the import, recorded as user_id (default: ATLAS_USER, the config file\'s "user", else the OS user)')
    .option('--user-email <email>', 'their email, recorded as user_email (default: ATLAS_USER_EMAIL, the config file\'s "user_email", else none)')
    .option(
      '--task-id <id>',
      'what runs the import (a job, a pipeline run), recorded as task_id: a UUID as given, any other id as its name-based UUID, with the id in metadata.task_ref (default: ATLAS_TASK_ID, else the run or job id of the CI system atlas runs in: GITHUB_RUN_ID, CI_JOB_ID, BUILD_TAG, ...; else none)',
    )
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
into the table named after it (or --table), on one connection; files already imported into their
table are skipped, so the same command run again imports only what is missing. It prints a line per
file and a summary (--json: one document, a result per file), records the batch id in each
import's metadata (atlas history --batch ID, atlas undo --batch ID), and exits 1 if any file failed,
else 3 if any was partial, else 0.`,
    )
    .action(async (sources: string[], flags, cmd: Command) => {
      const { runImportCommand } = await import('./commands/import.js');
      await runImportCommand(sources, flags, cmd);
    });

  const history = program
    .command('history')
    .description('list imports, newest first; or show one import whole')
    .argument('[import_id]', 'an import id, or its first 8+ characters')
    .option('--table <name>', 'only imports into this table (default: all tables)')
    .option('--user <name>', 'only imports by this user (default: all users)')
    .addOption(
      new Option('--status <status>', 'only imports with this status (default: all); interrupted: the failed imports whose process ended before they committed').choices([
        'in_progress',
        'interrupted',
        'success',
        'failed',
        'partial',
        'undone',
      ]),
    )
    .option('--since <date>', 'only imports since a local date or time (2025-01-31, "2025-01-31 14:00") or an age (30m, 12h, 7d, 2w) (default: all time)')
    .option('--batch <id>', 'only the imports of this batch (the id a batch import prints; default: all)');
  addPaginationOptions(history, 'imports')
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
    .action(async (importId: string | undefined, flags, cmd: Command) => {
      const { runHistoryCommand } = await import('./commands/history.js');
      await runHistoryCommand(importId, flags, cmd);
    });

  // A subcommand beside history's optional [import_id]: commander dispatches `history prune ...`
  // here and anything else to history's own action (import ids are hex, never "prune").
  const prune = history
    .command('prune')
    .description('delete old history records that own no rows (failed, interrupted, undone) and their mapping errors; never data')
    .requiredOption('--older-than <age>', 'only records imported longer ago than this age, in the units of history --since: 30m (minutes), 12h, 365d, 52w (required)')
    // history's own filters are not prune's: list only the program's flags as global in its help.
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false, visibleGlobalOptions: () => program.options.filter((o) => !o.hidden) });
  addConfirmationOptions(prune, 'deleted')
    .addHelpText(
      'after',
      `
Records that own rows (success, partial) are never pruned: undo them first. A record is also
kept while any row still references it.

Examples:
  atlas history prune --older-than 365d --dry-run
  atlas history prune --older-than 52w --yes --json`,
    )
    .action(async (flags, cmd: Command) => {
      const { runHistoryPruneCommand } = await import('./commands/historyPrune.js');
      await runHistoryPruneCommand(flags, cmd);
    });

  const compact = history
    .command('compact')
    .description('drop the pre-images of old imports (the previous versions of rows an upsert or replace changed, kept for undo); those imports can then no longer be undone')
    .requiredOption('--older-than <age>', 'only imports made longer ago than this age: 30m (minutes), 12h, 365d, 52w (required)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false, visibleGlobalOptions: () => program.options.filter((o) => !o.hidden) });
  addConfirmationOptions(compact, 'dropped')
    .addHelpText(
      'after',
      `
History records stay; each one compacted says that it can no longer be undone, and atlas undo
refuses it with that reason.

Examples:
  atlas history compact --older-than 90d --dry-run
  atlas history compact --older-than 52w --yes --json`,
    )
    .action(async (flags, cmd: Command) => {
      const { runHistoryCompactCommand } = await import('./commands/historyCompact.js');
      await runHistoryCompactCommand(flags, cmd);
    });

  program
    .command('stats')
    .description('import statistics over a period: imports by status, success rate, rows, durations, tables, users')
    .option('--table <name>', 'only imports into this table (default: all tables)')
    .option('--user <name>', 'only imports by this user (default: all users)')
    .option('--days <n>', 'look back this many days, 1 or more', '30')
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
                           with the same values), total_rows_deleted rows_deleted (replaces)
  total_duplicates_found   sum of duplicates_found
  avg_duration_seconds     mean duration_seconds of the imports that have one (not running ones)
  tables_affected          distinct tables of success, partial and undone imports
  unique_users             distinct user_id

Examples:
  atlas stats
  atlas stats --table customers --days 7
  atlas stats --user alice --json`,
    )
    .action(async (flags, cmd: Command) => {
      const { runStatsCommand } = await import('./commands/stats.js');
      await runStatsCommand(flags, cmd);
    });

  program
    .command('lineage')
    .description('which imports contributed rows to a table (inserted then vs rows now); or where one row came from')
    .argument('<table>', 'a table atlas imported into')
    .option('--row <id>', 'trace one row by its id column: import, file, source row number, corrections (default: the whole table)')
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
    .action(async (table: string, flags, cmd: Command) => {
      const { runLineageCommand } = await import('./commands/lineage.js');
      await runLineageCommand(table, flags, cmd);
    });

  const errors = program
    .command('errors')
    .description("an import's mapping errors, in file order: the values or records it could not store")
    .argument('<import_id>', 'an import id, or its first 8+ characters')
    .option('--type <type>', 'only errors of this type: type_mismatch, datetime_conversion, numeric_overflow, field_count_mismatch, ... (default: all)')
    .option('--field <name>', 'only errors in this source or target field (default: all)')
    .option('--duplicates', 'list the rows it skipped as duplicates instead (record number, the record, the row or record it equals)');
  addPaginationOptions(errors, 'errors').addHelpText(
    'after',
    `
Examples:
  atlas errors 1f0c2a9e
  atlas errors 1f0c2a9e --type datetime_conversion --field signup_date
  atlas errors 1f0c2a9e --limit 1000 --json`,
  ).action(async (importId: string, flags, cmd: Command) => {
    const { runErrorsCommand } = await import('./commands/errors.js');
    await runErrorsCommand(importId, flags, cmd);
  });

  const undo = program
    .command('undo')
    .description('remove exactly the rows an import inserted, in one transaction; its history record stays, marked undone')
    .argument('[import_id]', 'an import id, or its first 8+ characters')
    .option('--batch <id>', 'undo every import of this batch, in one transaction, newest first (instead of one import id)');
  addConfirmationOptions(undo, 'removed')
    .option('--force', "undo even if the import's rows changed since it ran (updated, deleted, added), or its table is gone; also delete rows later imports rely on (unless --reassign); undo even if later imports (upsert, replace) changed its rows: those stay as they left them, and undoing those imports later puts back what was there before this one")
    .option('--reassign', 'keep the rows later imports rely on (they skipped their own copies as duplicates): each becomes a row of the earliest such import, whose record is updated')
    .option('--purge', 'also delete the history record and its mapping errors: no audit trail is left (also for failed or undone imports)')
    .option('--user <name>', 'who undoes it, recorded as undone_by (default: ATLAS_USER, the config file\'s "user", else the OS user)')
    .addHelpText(
      'after',
      `
Rows of other imports, even in the same table, are never touched. Refused (exit 1) for an
unknown, failed, interrupted or already undone import, and without --force when the rows changed.
A later import that skipped records as duplicates of this import's rows relies on them: then the
undo is refused, naming those imports, unless --reassign keeps those rows for them or --force
deletes them too (--dry-run says which).

Examples:
  atlas undo 1f0c2a9e --dry-run
  atlas undo 1f0c2a9e                 asks first on a terminal
  atlas undo 1f0c2a9e --reassign      keep the rows later imports rely on
  atlas undo 1f0c2a9e --yes --json    in a script
  atlas undo 1f0c2a9e --yes --purge   leave no record either
  atlas undo --batch 5d1e0b7c-... --dry-run   every import of a batch, all or none`,
    )
    .action(async (importId: string | undefined, flags, cmd: Command) => {
      if (flags.batch !== undefined) {
        const { runUndoBatchCommand } = await import('./commands/undoBatch.js');
        await runUndoBatchCommand(importId, flags, cmd);
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
    const hint = err instanceof AtlasError ? err.hint : null;
    process.exitCode = err instanceof AtlasError ? err.exitCode : ExitCode.failed;
    if (wantsJson) {
      const body: Record<string, unknown> = { success: false, error: err instanceof AlreadyImportedError ? err.jsonMessage : message };
      if (hint) body.hint = hint;
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
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${printableLines(redactSecrets(err.stack))}\n`);
  }
}
