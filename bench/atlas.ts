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
  json: AtlasJson;
}

/** Times `atlas undo <id> --yes` (after a checkpoint). */
export async function timeAtlasUndo(url: string, schema: string, importId: string): Promise<AtlasUndo> {
  await checkpoint(url);
  // --force: cases 3 and 4 skipped rows of import 1 as duplicates, and undo refuses to take them from those imports without it (issue 25).
  const res = await exec(process.execPath, [ATLAS_BIN, 'undo', importId, '--yes', '--force', ...connection(schema, url)]);
  const json = parseAtlasJson(res.stdout);
  if (json === null || res.code !== 0 || json.success !== true) failure(`atlas undo ${importId}`, res, json, url);
  return { seconds: seconds(res.ms), json };
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
