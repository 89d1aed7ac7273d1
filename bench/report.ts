/** The benchmark's figures: collected per run, shown as one table with medians, targets and verdicts. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
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
  /** One value per run (index = run - 1); NaN where the run did not measure it. */
  values: number[];
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

/** Collects figures: sections (titled "N. ..." by case number), metrics within them in the order first recorded. */
export class Figures {
  private readonly sections = new Map<string, Section>();

  constructor(private readonly runs: number) {}

  /** Records one run's value of a metric (run is 1-based). */
  add(section: string, label: string, run: number, value: number, show: (n: number) => string, target: Target | null = null): void {
    this.metric(section, label, show, target, false).values[run - 1] = value;
  }

  /** Records a figure measured once (not per run). */
  addSingle(section: string, label: string, value: number, show: (n: number) => string, target: Target | null = null): void {
    this.metric(section, label, show, target, true).values[0] = value;
  }

  /** Median of a metric over the runs (NaN when never recorded). */
  median(section: string, label: string): number {
    return median(this.sections.get(section)?.metrics.get(label)?.values ?? []);
  }

  private metric(section: string, label: string, show: (n: number) => string, target: Target | null, single: boolean): Metric {
    let s = this.sections.get(section);
    if (s === undefined) this.sections.set(section, (s = { title: section, metrics: new Map() }));
    let m = s.metrics.get(label);
    if (m === undefined) s.metrics.set(label, (m = { label, values: Array.from({ length: single ? 1 : this.runs }, () => Number.NaN), single, show, target }));
    return m;
  }

  /** Sections in case order (titles start with the case number), then in the order recorded. */
  private ordered(): Section[] {
    return [...this.sections.values()].sort((a, b) => parseInt(a.title, 10) - parseInt(b.title, 10));
  }

  /** Every target with its median, for the summary. */
  verdicts(): Array<{ section: string; label: string; value: number; shown: string; target: Target; ok: boolean }> {
    return this.ordered().flatMap((s) =>
      [...s.metrics.values()].flatMap((m) => {
        if (m.target === null) return [];
        const value = median(m.values);
        return [{ section: s.title, label: m.label, value, shown: Number.isFinite(value) ? m.show(value) : '-', target: m.target, ok: Number.isFinite(value) && met(m.target, value) }];
      }),
    );
  }

  /** The whole table: one heading line per section, one line per metric. */
  render(): string {
    const runCols = Array.from({ length: this.runs }, (_, i) => `run ${i + 1}`);
    const header = ['metric', 'median', ...runCols, 'target', 'result'];
    const rows: string[][] = [];
    for (const s of this.ordered()) {
      rows.push([s.title]);
      for (const m of s.metrics.values()) {
        const mid = median(m.values);
        const perRun = m.single ? runCols.map(() => '') : m.values.map((v) => (Number.isFinite(v) ? m.show(v) : '-'));
        const target = m.target === null ? '' : `${m.target.op} ${m.target.text ?? m.target.value}`;
        const verdict = m.target === null ? '' : Number.isFinite(mid) && met(m.target, mid) ? 'met' : 'MISSED';
        rows.push([`  ${m.label}`, Number.isFinite(mid) ? m.show(mid) : '-', ...perRun, target, verdict]);
      }
    }
    return renderTable(header, rows);
  }
}

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
