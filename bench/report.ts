/** The benchmark's figures: collected per server and run, shown as a table of medians with targets and verdicts, and per run. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { ServerName } from './servers.ts';
import { count, exec, fmt, median, ROOT } from './util.ts';

/** A target on the median: `<=`/`<` for times, ratios and memory, `>=` for rates. */
export interface Target {
  op: '<=' | '<' | '>=';
  value: number;
  /** How the target is written in the table, when not just the number (e.g. "1/3 = 0.33"). */
  text?: string;
}

interface Metric {
  label: string;
  /** Per server, one value per run (index = run - 1), NaN where a run did not measure it; `null`: a figure of no server. */
  values: Map<ServerName | null, number[]>;
  /** A figure measured once, outside the runs: shown as the median only. */
  single: boolean;
  show: (n: number) => string;
  target: Target | null;
}

interface Section {
  title: string;
  metrics: Map<string, Metric>;
}

export const secondsFmt = (n: number): string => fmt(n, 2);
export const ratioFmt = (n: number): string => fmt(n, 2);
export const mbFmt = (n: number): string => fmt(n, 0);
export const rateFmt = (n: number): string => count(n);
export const msFmt = (n: number): string => fmt(n, 0);

const met = (t: Target, v: number): boolean => (t.op === '<=' ? v <= t.value : t.op === '<' ? v < t.value : v >= t.value);

/** The server whose figures the targets judge: the production-shaped one (issue 24). */
export const JUDGED_SERVER: ServerName = 'pg15';

export interface Verdict {
  section: string;
  label: string;
  value: number;
  shown: string;
  target: Target;
  ok: boolean;
}

/**
 * Collects figures per server: sections (titled "N. ..." by case number), metrics within them in
 * the order first recorded. Targets are judged on JUDGED_SERVER's median (and on figures of no
 * server, such as start-up); the other server's figures are shown beside them, unjudged.
 */
export class Figures {
  private readonly sections = new Map<string, Section>();

  constructor(
    private readonly runs: number,
    private readonly servers: readonly ServerName[],
  ) {}

  /** Records one run's value of a metric on a server (run is 1-based). */
  add(server: ServerName, section: string, label: string, run: number, value: number, show: (n: number) => string, target: Target | null = null): void {
    this.values(this.metric(section, label, show, target, false), server)[run - 1] = value;
  }

  /** Records a figure measured once (not per run), on a server or (null) on none. */
  addSingle(server: ServerName | null, section: string, label: string, value: number, show: (n: number) => string, target: Target | null = null): void {
    this.values(this.metric(section, label, show, target, true), server)[0] = value;
  }

  private metric(section: string, label: string, show: (n: number) => string, target: Target | null, single: boolean): Metric {
    let s = this.sections.get(section);
    if (s === undefined) this.sections.set(section, (s = { title: section, metrics: new Map() }));
    let m = s.metrics.get(label);
    if (m === undefined) s.metrics.set(label, (m = { label, values: new Map(), single, show, target }));
    return m;
  }

  private values(m: Metric, server: ServerName | null): number[] {
    let v = m.values.get(server);
    if (v === undefined) m.values.set(server, (v = Array.from({ length: m.single ? 1 : this.runs }, () => Number.NaN)));
    return v;
  }

  /** Sections in case order (titles start with the case number), then in the order recorded. */
  private ordered(): Section[] {
    return [...this.sections.values()].sort((a, b) => parseInt(a.title, 10) - parseInt(b.title, 10));
  }

  /** The figure a target judges: JUDGED_SERVER's median, or the figure of no server. */
  private judged(m: Metric): number | null {
    const values = m.values.get(null) ?? m.values.get(JUDGED_SERVER);
    return values === undefined ? null : median(values);
  }

  /** Every target that has a judged figure, with its median, for the summary. */
  verdicts(): Verdict[] {
    return this.ordered().flatMap((s) =>
      [...s.metrics.values()].flatMap((m) => {
        const value = m.target === null ? null : this.judged(m);
        if (m.target === null || value === null) return [];
        return [{ section: s.title, label: m.label, value, shown: Number.isFinite(value) ? m.show(value) : '-', target: m.target, ok: Number.isFinite(value) && met(m.target, value) }];
      }),
    );
  }

  /**
   * The headline table: per metric each server's median side by side (JUDGED_SERVER first), then
   * the target and whether JUDGED_SERVER's median meets it. A figure of no server shows in the first column.
   */
  renderSummary(): string {
    const header = ['metric', ...this.servers.map((s) => `${s} median`), `target (${JUDGED_SERVER})`, 'result'];
    const rows: string[][] = [];
    for (const s of this.ordered()) {
      rows.push([s.title]);
      for (const m of s.metrics.values()) {
        const cells = this.servers.map((server, i) => {
          const values = m.values.get(server) ?? (i === 0 ? m.values.get(null) : undefined);
          return values === undefined ? '' : shown(m, median(values));
        });
        const value = this.judged(m);
        const target = m.target === null ? '' : `${m.target.op} ${m.target.text ?? m.target.value}`;
        const verdict = m.target === null || value === null ? '' : Number.isFinite(value) && met(m.target, value) ? 'met' : 'MISSED';
        rows.push([`  ${m.label}`, ...cells, target, verdict]);
      }
    }
    return renderTable(header, rows);
  }

  /** One server's figures, every run's beside the median (worth showing only with more than one run). */
  renderRuns(server: ServerName): string {
    const runCols = Array.from({ length: this.runs }, (_, i) => `run ${i + 1}`);
    const rows: string[][] = [];
    for (const s of this.ordered()) {
      const metrics = [...s.metrics.values()].filter((m) => m.values.has(server));
      if (metrics.length === 0) continue;
      rows.push([s.title]);
      for (const m of metrics) {
        const values = m.values.get(server)!;
        const perRun = m.single ? runCols.map(() => '') : values.map((v) => shown(m, v));
        rows.push([`  ${m.label}`, shown(m, median(values)), ...perRun]);
      }
    }
    return renderTable(['metric', 'median', ...runCols], rows);
  }
}

const shown = (m: Metric, v: number): string => (Number.isFinite(v) ? m.show(v) : '-');

function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = rows.filter((r) => r.length > 1);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.length === 1 ? r[0]! : r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line !== undefined) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? 'unknown';
}

/**
 * The newest modification time among dist/'s files: dist/ is shared, and another `npm run build`
 * (or `npm test`) during a run means its figures mix two builds.
 */
export function distStamp(): number {
  let newest = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  if (existsSync(join(ROOT, 'dist'))) walk(join(ROOT, 'dist'));
  return newest;
}

/** Which atlas was measured: the commit, whether src/ or sql/ differ from it, and when dist/ was built. */
export async function atlasVersion(): Promise<string> {
  const head = await exec('git', ['rev-parse', '--short', 'HEAD']).catch(() => null);
  const dirty = await exec('git', ['status', '--porcelain', '--', 'src', 'sql']).catch(() => null);
  const built = existsSync(join(ROOT, 'dist', 'cli.js')) ? statSync(join(ROOT, 'dist', 'cli.js')).mtime.toISOString() : 'unknown';
  if (head?.code !== 0) return `dist/ built ${built}`;
  const changed = dirty?.code === 0 ? dirty.stdout.split('\n').filter((l) => l.trim() !== '').length : 0;
  return `commit ${head.stdout.trim()}${changed > 0 ? ` + ${changed} uncommitted file(s) in src/ and sql/` : ''}, dist/ built ${built}`;
}

export async function nproc(): Promise<string> {
  const res = await exec('nproc', []).catch(() => null);
  return res?.code === 0 ? res.stdout.trim() : String(cpus().length);
}
