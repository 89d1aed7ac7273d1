/** `atlas import`'s flags, typed once: src/cli.ts adds them, commands/import.ts and commands/importBatch.ts read ImportFlags. */
import { bool, choice, negated, repeatable, text, type FlagValues } from './flags.js';

export const importFlags = {
  table: text('-t, --table <name>', 'target table: name, or schema.name with the schema atlas works in (--schema); "a.b" in double quotes for a name holding a dot (default: the mapping file\'s "table", else the file name, sanitised)'),
  format: choice('-f, --format <format>', 'input format (default: from the extension, else the first bytes)', ['csv', 'tsv', 'xlsx', 'json', 'ndjson', 'xml']),
  strategy: choice('--strategy <strategy>', 'how to treat an existing table (default: chosen automatically and recorded)', ['new_table', 'merge_exact', 'extend_table', 'adapt_data']),
  mapping: text(
    '--mapping <file>',
    'JSON mapping (a regular file of at most 4 MiB): target table, strategy, per column target/type/format/null_values/ignore/fit, key (the stored mapping_config of an import is a valid mapping file)',
  ),
  maxErrors: text('--max-errors <n|p%>', 'allow N mapping errors, or P% of data rows; past that nothing is written and the import fails (default: no limit)'),
  strict: bool('--strict', 'any mapping error fails the import (same as --max-errors 0)'),
  dryRun: bool('--dry-run', 'read the file, infer the schema, find errors, count the rows it would insert and skip and check the table\'s unique indexes; write nothing and print the plan'),
  nullValue: repeatable(
    '--null-value <value>',
    'text that stands for a missing value and is imported as NULL, in every column (repeat for more: --null-value NA --null-value \'\\N\'); each is recorded in the row\'s _corrections_applied (default: the config file\'s "null_values", else none: only empty fields are NULL)',
  ),
  key: text('--key <columns>', 'uniqueness columns for the duplicate check, comma-separated; with --mode upsert, the columns that identify a row (default: every column of the file)'),
  mode: choice(
    '--mode <mode>',
    'append: add the rows; upsert (needs --key): update the rows whose key matches where a value differs, insert the others; replace: the table\'s rows become the file\'s, in one transaction (rows the file repeats stay in place). Rows updated or deleted are kept, so undo restores them exactly',
    ['append', 'upsert', 'replace'],
    { default: 'append' },
  ),
  replaceImport: text('--replace-import <id>', "replace that earlier import's rows with this file's, in one transaction (the corrected file); its record is marked replaced_by this one"),
  dedupe: negated('--no-dedupe', 'do not skip rows equal to rows already in the table or earlier in the file'),
  allowSameFile: bool('--allow-same-file', 'import a file whose bytes were already imported into this table (rows are still checked)'),
  force: bool('--force', 'bypass every duplicate check, file and row'),
  delimiter: text('-d, --delimiter <char>', 'CSV field delimiter (default: sniffed among , ; tab |)'),
  comment: text('--comment <char>', 'CSV/TSV: lines starting with this character are comments, skipped and counted (e.g. --comment "#" for tzdata\'s .tab files)'),
  fillShortRows: bool('--fill-short-rows', 'CSV/TSV: a record with fewer fields than the header gets NULL for the missing ones (counted and said), not a mapping error'),
  skipLines: text('--skip-lines <n>', 'CSV/TSV: skip the first N lines, a title or notes above the header (an Excel "sep=;" first line is skipped, and names the delimiter, without it)'),
  header: negated('--no-header', 'the first line (XLSX: the first row, or --range\'s) is data; columns are named column_1, column_2, ... (CSV/TSV: as many as the widest of the first 20 records)'),
  encoding: text('--encoding <name>', 'text encoding: utf8, utf16le, utf16be, latin1 (default: UTF-8, or from a byte-order mark)'),
  sheet: text('--sheet <name|number>', 'XLSX: the sheet to read, by name or position (2; #2 when a sheet is named 2, which --sheet 2 reads); without --table the table is named after the file and the sheet (default: the first visible worksheet, not a chart sheet, table named after the file)'),
  headerRow: text('--header-row <n>', 'XLSX: the row holding the header (default: found automatically)'),
  range: text('--range <cells>', 'XLSX: read only this block of cells, in Excel notation: A5:F15, or A5:F to the last row; its first row is the header (default: the whole sheet)'),
  entry: text('--entry <name>', 'zip: the file inside the archive to import, by its name or path; without --table the table is named after the archive and the file (default: the only data file)'),
  recordPath: text('--record-path <path>', 'JSON: where the record array is (data.items); XML: the record element (default: detected; refused when two kinds repeat)'),
  name: text('--name <file name>', 'file name to record, and to name the table after without --table, in place of the file\'s or S3 object\'s own (stdin has none; one file only: a batch records each file by its own name)'),
  recursive: bool('--recursive', 'batch: descend into the subdirectories of a directory, and below an S3 prefix'),
  pattern: text('--pattern <glob>', "batch: the files of directories, prefixes and globs to take, by name (--pattern '*.csv.gz'; default: the data-file extensions)"),
  continueOnError: bool('--continue-on-error', 'batch: a failed file does not stop the others (the default)'),
  stopOnError: bool('--stop-on-error', 'batch: stop at the first failed file (files already committed stay committed)'),
  atomic: bool('--atomic', 'batch: all files in one transaction: every file commits, or none does'),
  progress: bool(
    '--progress',
    'write progress lines to stderr even when it is not a terminal (a terminal gets a live spinner, or these lines if it reports no width, TERM is dumb or CI is set)',
  ),
  actingUser: text('--user <name>', 'who runs the import, recorded as user_id (default: ATLAS_USER, the config file\'s "user", else the OS user)'),
  userEmail: text('--user-email <email>', 'their email, recorded as user_email (default: ATLAS_USER_EMAIL, the config file\'s "user_email", else none)'),
  taskId: text(
    '--task-id <id>',
    'what runs the import (a job, a pipeline run), recorded as task_id: a UUID as given, any other id as its name-based UUID, with the id in metadata.task_ref (default: ATLAS_TASK_ID, else the run or job id of the CI system atlas runs in: GITHUB_RUN_ID, CI_JOB_ID, BUILD_TAG, ...; else none)',
  ),
};

export type ImportFlags = FlagValues<typeof importFlags>;
