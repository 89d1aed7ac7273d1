/**
 * Command flags written once: a flag set names each flag's key (what the handler reads), its
 * commander text and its value type together, so the program definition (src/cli.ts adds the set)
 * and the handler's type (FlagValues of the same set) cannot disagree. Light on purpose: src/cli.ts
 * loads it, and every command's flag set, for `atlas --help`.
 */
import { Option, type Command } from 'commander';

/** One flag: the commander option it becomes, and (in the type only) the value its handler reads. */
export interface Flag<T> {
  /** A fresh commander option (every program built gets its own). */
  readonly option: () => Option;
  /** Type only: the value the handler reads. */
  readonly value?: T;
}

/** A command's flags by the key its handler reads them as, in the order --help lists them. */
export type FlagSet = Record<string, Flag<unknown>>;

/** What a handler reads from a flag set: each key typed by its flag. */
export type FlagValues<S extends FlagSet> = { [K in keyof S]: S[K] extends Flag<infer T> ? T : never };

function flag<T>(flags: string, description: string, takesValue: boolean, build: (option: Option) => Option = (o) => o): Flag<T> {
  // The kind is checked where the program is built, so `atlas --help` (and every CLI test) fails on a mismatch.
  if (/[<[]/.test(flags) !== takesValue) throw new Error(`flag "${flags}": ${takesValue ? 'a value flag needs <value>' : 'a switch takes no <value>'}`);
  return { option: () => build(new Option(flags, description)) };
}

/** A flag with a value (`--table <name>`): a string, undefined when not given. */
export function text(flags: string, description: string): Flag<string | undefined>;
/** A flag with a value and a default (`--limit <n>`, default '100') or one that is required: always a string. */
export function text(flags: string, description: string, options: { default: string } | { required: true }): Flag<string>;
export function text(flags: string, description: string, options: { default?: string; required?: true } = {}): Flag<string | undefined> {
  return flag(flags, description, true, (o) => {
    if (options.default !== undefined) o.default(options.default);
    if (options.required) o.makeOptionMandatory();
    return o;
  });
}

/** A flag whose value is one of `choices`: undefined when not given, unless it has a default. */
export function choice<const C extends string>(flags: string, description: string, choices: readonly C[]): Flag<C | undefined>;
export function choice<const C extends string>(flags: string, description: string, choices: readonly C[], options: { default: NoInfer<C> }): Flag<C>;
export function choice<const C extends string>(flags: string, description: string, choices: readonly C[], options: { default?: C } = {}): Flag<C | undefined> {
  return flag(flags, description, true, (o) => {
    o.choices(choices);
    if (options.default !== undefined) o.default(options.default);
    return o;
  });
}

/** A flag that may be repeated (`--null-value NA --null-value ''`): the values in order, undefined when never given. */
export function repeatable(flags: string, description: string): Flag<string[] | undefined> {
  return flag(flags, description, true, (o) => o.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]));
}

/** A switch (`--strict`): true when given, else undefined. */
export function bool(flags: string, description: string): Flag<boolean | undefined> {
  if (flags.startsWith('--no-')) throw new Error(`flag "${flags}": use negated() for --no- flags`);
  return flag(flags, description, false);
}

/** A `--no-` switch (`--no-dedupe`): false when given, else true. */
export function negated(flags: `--no-${string}`, description: string): Flag<boolean> {
  return flag(flags, description, false);
}

/** Adds a flag set's options to `cmd`, in the set's order. */
export function addFlags(cmd: Command, set: FlagSet): Command {
  for (const f of Object.values(set)) cmd.addOption(f.option());
  return cmd;
}

/** The values of a flag set's options on `cmd` (where the set was added), by the set's keys. */
export function readFlags<S extends FlagSet>(cmd: Command, set: S): FlagValues<S> {
  const values: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(set)) values[key] = cmd.getOptionValue(f.option().attributeName());
  return values as FlagValues<S>;
}

/** The flags of a set given on the command line (not defaulted), as written: `--table`. */
export function flagsGiven(cmd: Command, set: FlagSet): string[] {
  return Object.values(set)
    .map((f) => f.option())
    .filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli')
    .map((o) => o.long ?? o.flags);
}

/** Flags every command accepts, before or after its own arguments (added to the program). */
export const globalFlags = {
  databaseUrl: text('--database-url <url>', 'PostgreSQL connection string (else ATLAS_DATABASE_URL, DATABASE_URL, the config file, else the embedded server)'),
  schema: text('--schema <name>', 'schema for the tracking tables and the target tables (default: "public")'),
  config: text('--config <file>', 'config file, a regular file of at most 1 MiB (default: ./atlas.config.json when it exists)'),
  json: bool('--json', 'print one JSON document on stdout (errors too: {"success": false, "error": ...})'),
  quiet: bool('-q, --quiet', 'print nothing but errors, and the server notice (import, undo, history prune and compact; history, stats, errors and lineage still print what they are asked)'),
  verbose: bool('-v, --verbose', 'print stack traces with errors'),
  color: negated('--no-color', 'no colour (NO_COLOR is respected too)'),
} satisfies FlagSet;

/** --limit and --offset, for commands that page through records (limit 0 is rejected, exit 2). */
export function paginationFlags(what: string) {
  return {
    limit: text('--limit <n>', `how many ${what} to show, 1 or more`, { default: '100' }),
    offset: text('--offset <n>', `how many ${what} to skip (past the end: an empty page)`, { default: '0' }),
  } satisfies FlagSet;
}

/** --dry-run and --yes, for commands that delete: on a terminal they ask first, without one they need --yes. */
export function confirmationFlags(what: string) {
  return {
    dryRun: bool('--dry-run', `show what would be ${what}; change nothing`),
    yes: bool('-y, --yes', 'do not ask for confirmation (required when not on a terminal)'),
  } satisfies FlagSet;
}
