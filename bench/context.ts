/**
 * What a benchmark case is and what it is given: the case type the table in cases.ts lists, the
 * context a case runs in (its server, schema, run, data files, figures), and the targets.
 */
import type { AtlasImport } from './atlas.ts';
import type { TableChecksum } from './db.ts';
import { ensureBenchFile, type BenchFormat, type ChangedRows } from './generate.ts';
import type { Figures, Target } from './report.ts';
import type { BenchServer } from './servers.ts';
import { count, fail, fmt, log, ROOT, seconds } from './util.ts';

/**
 * Targets on the production-shaped server's medians (issue 24 unless said): ratios to `psql \copy`
 * of the same rows as CSV into a table of the final shape, in the same run.
 */
export const T = {
  csvRatio: { op: '<=', value: 1.35 },
  noDedupeRatio: { op: '<=', value: 1.2 },
  sameFileRatio: { op: '<=', value: 1.5 },
  overlapRatio: { op: '<=', value: 2.0 },
  undoShare: { op: '<=', value: 1 / 3, text: '1/3 = 0.33' },
  rssMb: { op: '<=', value: 200 },
  /** Issues 4 and 7. */
  formatRssMb: { op: '<', value: 250 },
  /** Issue 2. */
  helpMs: { op: '<=', value: 150 },
  /** Issue 21: 1,000 files of 1,000 rows in one command, against one file of the same rows. */
  batchRatio: { op: '<=', value: 2 },
  /** Issue 22: against psql \copy of the upsert's file into an empty reference table. */
  upsertRatio: { op: '<=', value: 3 },
  /** Issue 22: the undo of the upsert, against the upsert. */
  upsertUndoShare: { op: '<=', value: 1 },
  /** Issue 22: against the same psql \copy. */
  replaceRatio: { op: '<=', value: 1.5 },
} satisfies Record<string, Target>;

/**
 * One generated data file a case reads: `rows` rows of the one seeded sequence, from row `first`;
 * with `changed`, some of them changed on purpose; with `perFile`, a directory of CSV files of that
 * many rows each instead of one file.
 */
export interface FileSpec {
  format: BenchFormat;
  rows: number;
  /** @default 1 */
  first?: number;
  /** @default none */
  changed?: ChangedRows;
  /** @default one file */
  perFile?: number;
}

const fileKey = (f: FileSpec): string =>
  `${f.format}:${f.rows}:${f.first ?? 1}${f.changed === undefined ? '' : `:changed-${f.changed.every}-${f.changed.upTo}`}${f.perFile === undefined ? '' : `:by-${f.perFile}`}`;

/** The data files of a bench run: made (or reused) before the first run, looked up by the cases. */
export class DataFiles {
  private readonly files = new Map<string, { path: string; bytes: number }>();

  /** Makes (or reuses) each file, saying which were generated. */
  async prepare(specs: readonly FileSpec[]): Promise<void> {
    for (const spec of specs) {
      if (this.files.has(fileKey(spec))) continue;
      const started = performance.now();
      const f = await ensureBenchFile(spec.format, spec.rows, spec.first, { changed: spec.changed, perFile: spec.perFile });
      const how = f.reused ? 'reused' : `generated in ${fmt(seconds(performance.now() - started), 1)} s`;
      log(`data: ${f.path.slice(ROOT.length)} (${count(spec.rows)} rows, ${fmt(f.bytes / 1024 / 1024, 1)} MB, ${how})\n`);
      this.files.set(fileKey(spec), f);
    }
  }

  /** A prepared file, or undefined. */
  find(spec: FileSpec): { path: string; bytes: number } | undefined {
    return this.files.get(fileKey(spec));
  }

  /** A prepared file's path; a case must declare every file it reads (BenchCase.files). */
  path(spec: FileSpec): string {
    return this.find(spec)?.path ?? fail(`no data file ${fileKey(spec)} was prepared: declare it in the case's files`);
  }
}

/** What the cases found besides figures: correctness checks (a failed one fails the bench) and notes. */
export class Findings {
  readonly checks: Array<{ ok: boolean; text: string }> = [];
  readonly notes: string[] = [];

  check(ok: boolean, text: string): void {
    this.checks.push({ ok, text });
    if (!ok) log(`\n  CHECK FAILED: ${text}\n`);
  }

  /** A note said once, however many runs and servers come across it. */
  noteOnce(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }
}

/** What one run's cases on one server hand on to the next ones. */
export interface RunState {
  /** Case 1's import into bench_t, which cases 3, 4 and 5 build on. */
  import1: AtlasImport | null;
  /** ref_b holds the CSV (case 2 ran). */
  refB: boolean;
  /** Records of later imports skipped as duplicates of import 1's rows (what undo reports). */
  laterDuplicates: number;
  /** `psql \copy` of the CSV into a plain typed table (plain_psql), once measured: what section 9 compares with. */
  plainPsql: number | null;
  /** Case 11's upsert into bench_up, which cases 12 (its undo) and 13 (replace) build on. */
  upsert: UpsertState | null;
}

/** What the upsert case hands on: its import, psql's time for its file, and the table before it. */
export interface UpsertState {
  import: AtlasImport;
  /** `psql \copy` of the upsert's file into an empty reference table (ref_up), in this run. */
  psql: number;
  /** bench_up after its first load, before the upsert: what the undo must give back. */
  before: TableChecksum;
}

export interface CaseContext {
  server: BenchServer;
  url: string;
  /** The run's schema (each-run cases), or a schema of the case's own (once-per-server cases). */
  schema: string;
  /** 1-based; 1 for cases run once. */
  run: number;
  /** N, the CSV's row count. */
  rows: number;
  files: DataFiles;
  /** The cases of this bench run. */
  selected: ReadonlySet<string>;
  state: RunState;
  findings: Findings;
  /** Records this run's value of a metric on this server. */
  add(section: string, label: string, value: number, show: (n: number) => string, target?: Target | null): void;
  fig: Figures;
}

/**
 * One benchmark case: adding one is one function plus one entry in cases.ts's CASE_TABLE.
 * `each-run` cases run in every run on every server, in table order, all in that run's schema (so
 * a case may build on an earlier one's tables through `needs` and ctx.state); `once-per-server`
 * ones once per server in a schema of their own; `once` ones once (no database).
 */
export interface BenchCase {
  /** The `--cases` name. */
  name: string;
  when: 'each-run' | 'once-per-server' | 'once';
  /** Groups `--cases` may name it by (every case is in `all`). */
  groups?: readonly string[];
  /** Cases it builds on: naming it selects them too. */
  needs?: readonly string[];
  /** In a run without `--cases`: `full-size` cases only in runs of the default size, or with --rows-10m. @default 'always' */
  byDefault?: 'always' | 'full-size';
  /** The data files it reads, for N rows (generated before the runs start). */
  files?: (rows: number) => FileSpec[];
  run: (ctx: CaseContext) => Promise<void>;
}
