/** The atlas side of the benchmark: `atlas import` and `atlas undo` runs, and the start-up time. */
import { importPhases, type Phases, checkpoint } from './db.ts';
import { ATLAS_BIN, exec, execMeasured, fail, median, redact, seconds } from './util.ts';

/** The fields of `atlas import --json` and `atlas undo --json` the benchmark reads. */
export interface AtlasJson {
  success?: boolean;
  status?: string;
  error?: string;
  hint?: string;
  import_id?: string;
  rows_inserted?: number;
  total_rows_in_file?: number;
  duplicates_found?: number;
  rows_skipped?: number;
  mapping_errors_count?: number;
  warnings?: string[];
  columns?: Array<{ source: string; target: string; type: string }>;
  rows_removed?: number | null;
  later_duplicates?: number;
  force_reason?: string | null;
  import_mode?: string;
  rows_updated?: number;
  rows_unchanged?: number;
  rows_deleted?: number;
  rows_restored?: number | null;
  parsing_time_seconds?: number;
  duplicate_check_time_seconds?: number | null;
  insert_time_seconds?: number;
  duration_seconds?: number;
}

function parseAtlasJson(stdout: string): AtlasJson | null {
  try {
    const value: unknown = JSON.parse(stdout);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as AtlasJson) : null;
  } catch {
    return null;
  }
}

const connection = (schema: string, url: string): string[] => ['--schema', schema, '--database-url', url, '--json'];

/** What atlas said when a command did not succeed, without the password. */
function failure(what: string, res: { code: number | null; stdout: string; stderr: string }, json: AtlasJson | null, url: string): never {
  const error = json?.error !== undefined ? `${json.error}${json.hint !== undefined ? ` (hint: ${json.hint})` : ''}` : res.stdout.trim();
  const said = res.stderr.trim();
  fail(redact(`${what} failed (exit ${res.code}, status ${json?.status ?? 'none'}): ${error}${said !== '' ? `\natlas stderr: ${said}` : ''}`, url));
}

/** One untimed import of a tiny file: migrates the schema, so that import_history exists for the reference. */
export async function warmUp(url: string, schema: string, file: string): Promise<void> {
  const res = await exec(process.execPath, [ATLAS_BIN, 'import', file, '--table', 'warmup', ...connection(schema, url)]);
  const json = parseAtlasJson(res.stdout);
  if (res.code !== 0 || json?.status !== 'success') failure('atlas warm-up import', res, json, url);
}

export interface AtlasImport {
  seconds: number;
  peakRssMb: number;
  json: AtlasJson & { import_id: string };
  phases: Phases;
}

/** Times one `atlas import` (after a checkpoint), under /usr/bin/time for its peak RSS. It must end `success`. */
export async function timeAtlasImport(url: string, schema: string, table: string, file: string, flags: readonly string[] = []): Promise<AtlasImport> {
  await checkpoint(url);
  const res = await execMeasured(process.execPath, [ATLAS_BIN, 'import', file, '--table', table, ...flags, ...connection(schema, url)]);
  const json = parseAtlasJson(res.stdout);
  if (json === null || res.code !== 0 || json.status !== 'success' || json.import_id === undefined) failure(`atlas import ${flags.join(' ')}`.trim(), res, json, url);
  return { seconds: seconds(res.ms), peakRssMb: res.peakRssMb, json: { ...json, import_id: json.import_id }, phases: await importPhases(url, schema, json.import_id) };
}

export interface AtlasUndo {
  seconds: number;
  peakRssMb: number;
  json: AtlasJson;
}

/** Times `atlas undo <id> --yes` with `flags` (after a checkpoint), under /usr/bin/time for its peak RSS. */
export async function timeAtlasUndo(url: string, schema: string, importId: string, flags: readonly string[] = []): Promise<AtlasUndo> {
  await checkpoint(url);
  const res = await execMeasured(process.execPath, [ATLAS_BIN, 'undo', importId, '--yes', ...flags, ...connection(schema, url)]);
  const json = parseAtlasJson(res.stdout);
  if (json === null || res.code !== 0 || json.success !== true) failure(`atlas undo ${importId}`, res, json, url);
  return { seconds: seconds(res.ms), peakRssMb: res.peakRssMb, json };
}

/** The fields of `atlas import --json` of a batch the benchmark reads. */
export interface AtlasBatchJson {
  success: boolean;
  batch_id: string;
  files: Array<{ file: string; status: string; import_id: string | null; rows_inserted: number; duration_seconds: number; result: AtlasJson | null; error: { message: string } | null }>;
  summary: { files: number; imported: number; skipped: number; partial: number; failed: number; not_run: number; rows_inserted: number; duration_seconds: number };
}

export interface AtlasBatch {
  seconds: number;
  peakRssMb: number;
  json: AtlasBatchJson;
}

/**
 * Times one `atlas import <dir> --table <table>` of a directory of files, a batch (after a
 * checkpoint), under /usr/bin/time for its peak RSS. Every file must be imported.
 */
export async function timeAtlasBatch(url: string, schema: string, table: string, dir: string): Promise<AtlasBatch> {
  await checkpoint(url);
  const res = await execMeasured(process.execPath, [ATLAS_BIN, 'import', dir, '--table', table, ...connection(schema, url)]);
  const json = parseAtlasJson(res.stdout) as (AtlasJson & Partial<AtlasBatchJson>) | null;
  if (json === null || res.code !== 0 || json.success !== true || json.summary === undefined || json.files === undefined) failure('atlas import of a directory', res, json, url);
  return { seconds: seconds(res.ms), peakRssMb: res.peakRssMb, json: json as AtlasBatchJson };
}

/**
 * Times `atlas import <file> --table <table>` of each file, one process after another (one
 * checkpoint before the first): what a shell loop over a drop folder does. Each must succeed.
 */
export async function timeSeparateImports(url: string, schema: string, table: string, files: readonly string[]): Promise<{ seconds: number; perFileMs: number[] }> {
  await checkpoint(url);
  const perFileMs: number[] = [];
  for (const file of files) {
    const res = await exec(process.execPath, [ATLAS_BIN, 'import', file, '--table', table, ...connection(schema, url)]);
    const json = parseAtlasJson(res.stdout);
    if (json === null || res.code !== 0 || json.status !== 'success') failure(`atlas import ${file}`, res, json, url);
    perFileMs.push(res.ms);
  }
  return { seconds: seconds(perFileMs.reduce((a, b) => a + b, 0)), perFileMs };
}

export interface HelpOverhead {
  helpMs: number[];
  nodeMs: number[];
  overheadMs: number;
}

/** `atlas --help` against `node -e 0`, interleaved, after one untimed run of each. */
export async function timeHelp(samples: number): Promise<HelpOverhead> {
  const helpMs: number[] = [];
  const nodeMs: number[] = [];
  for (let i = 0; i <= samples; i++) {
    const bare = await exec(process.execPath, ['-e', '0']);
    const help = await exec(process.execPath, [ATLAS_BIN, '--help']);
    if (help.code !== 0) fail(`atlas --help failed (exit ${help.code}): ${help.stderr.trim()}`);
    if (i === 0) continue;
    nodeMs.push(bare.ms);
    helpMs.push(help.ms);
  }
  return { helpMs, nodeMs, overheadMs: median(helpMs) - median(nodeMs) };
}
