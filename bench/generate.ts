/**
 * Deterministic CSV generator for the atlas benchmark.
 *
 * Ten mixed columns with a header: id, name, email, signup_date (MM/DD/YYYY), amount (2 decimals),
 * active (true/false), category, city, notes (quoted, with commas and sometimes a doubled quote)
 * and created_at (ISO timestamp without zone). About 120 bytes per row. The same row count always
 * gives the same bytes: values come from a seeded PRNG (mulberry32), never Math.random.
 *
 * As a script:  node --import tsx bench/generate.ts [--rows N] [--out FILE]
 * (default: 1,000,000 rows into bench/data/bench-<rows>-rows.csv, reused when it exists).
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const DEFAULT_ROWS = 1_000_000;
/** Bumping this changes every generated file, so it is part of the file name. */
const GENERATOR_VERSION = 1;
const SEED = 0x5eed_a71a;

export const DATA_DIR = fileURLToPath(new URL('./data/', import.meta.url));

export const HEADER = ['id', 'name', 'email', 'signup_date', 'amount', 'active', 'category', 'city', 'notes', 'created_at'] as const;

const FIRST = ['James', 'Mary', 'John', 'Linda', 'Robert', 'Susan', 'Michael', 'Karen', 'David', 'Lisa', 'Daniel', 'Nancy', 'Paul', 'Sandra', 'Mark', 'Emily', 'Ana', 'Omar', 'Yuki', 'Chen'];
const LAST = ['Smith', 'Johnson', 'Brown', 'Garcia', 'Miller', 'Davis', 'Lopez', 'Wilson', 'Moore', 'Clark', 'Lewis', 'Young', 'King', 'Scott', 'Green', 'Baker', 'Nguyen', 'Patel', 'Kim', 'Silva'];
const DOMAINS = ['example.com', 'mail.test', 'corp.test', 'web.test'];
const CATEGORIES = ['retail', 'wholesale', 'online', 'partner', 'enterprise', 'education', 'nonprofit', 'government'];
const CITIES = [
  'New York', 'Los Angeles', 'Chicago', 'Houston', 'Phoenix', 'Philadelphia', 'San Antonio', 'San Diego', 'Dallas', 'Austin',
  'Jacksonville', 'Columbus', 'Charlotte', 'Indianapolis', 'Seattle', 'Denver', 'Boston', 'Nashville', 'Detroit', 'Portland',
  'Memphis', 'Louisville', 'Baltimore', 'Milwaukee', 'Tucson', 'Fresno', 'Atlanta', 'Omaha', 'Miami', 'Oakland',
];
const NOTE_PARTS = ['called', 'emailed', 'paid late', 'sent invoice', 'new contact', 'follow up', 'sent quote', 'no answer', 'renewed', 'upgraded'];
const QUOTED = ['said ""hi""', 'wants ""VIP"" tier', 'marked ""urgent""'];

/** mulberry32: small, fast, 32-bit state, good enough for test data. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** Makes rows one at a time; the same seed gives the same sequence. */
function rowMaker(seed: number): (id: number) => string {
  const rnd = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  return (id) => {
    const first = pick(FIRST);
    const last = pick(LAST);
    const email = `${first.charAt(0).toLowerCase()}.${last.toLowerCase()}${int(1, 99)}@${pick(DOMAINS)}`;

    const sy = int(2015, 2024);
    const sm = int(1, 12);
    const sd = int(1, daysIn(sy, sm));
    const signup = `${pad2(sm)}/${pad2(sd)}/${sy}`;

    const cents = int(0, 999_999);
    const amount = `${Math.floor(cents / 100)}.${pad2(cents % 100)}`;

    const active = rnd() < 0.7 ? 'true' : 'false';

    let notes = `${pick(NOTE_PARTS)}, ${pick(NOTE_PARTS)}`;
    if (rnd() < 0.125) notes += `, ${pick(QUOTED)}`;

    const cm = int(1, 12);
    const created = `2024-${pad2(cm)}-${pad2(int(1, daysIn(2024, cm)))}T${pad2(int(0, 23))}:${pad2(int(0, 59))}:${pad2(int(0, 59))}`;

    return `${id},${first} ${last},${email},${signup},${amount},${active},${pick(CATEGORIES)},${pick(CITIES)},"${notes}",${created}\n`;
  };
}

/** Where the benchmark keeps the file for `rows` rows (the row count is in the name). */
export function benchCsvPath(rows: number): string {
  return resolve(DATA_DIR, `bench-v${GENERATOR_VERSION}-${rows}-rows.csv`);
}

/** Writes `rows` data rows (plus the header) to `path`, through a buffered stream that honours backpressure. */
export async function generateCsv(path: string, rows: number): Promise<{ path: string; bytes: number }> {
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`rows must be a non-negative integer, got ${rows}`);
  mkdirSync(dirname(path), { recursive: true });
  // Written under a temporary name and renamed at the end, so an interrupted run leaves no half file to reuse.
  const tmp = `${path}.tmp-${process.pid}`;
  const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
  const closed = once(out, 'close');
  const makeRow = rowMaker(SEED);
  try {
    let chunk = `${HEADER.join(',')}\n`;
    for (let id = 1; id <= rows; id++) {
      chunk += makeRow(id);
      if (chunk.length >= 1 << 16) {
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
    out.end(chunk);
    await closed;
  } catch (err) {
    out.destroy();
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw err;
  }
  renameSync(tmp, path);
  return { path, bytes: statSync(path).size };
}

/** The benchmark file for `rows` rows: reused when it exists, generated otherwise. */
export async function ensureBenchCsv(rows: number): Promise<{ path: string; bytes: number; reused: boolean }> {
  const path = benchCsvPath(rows);
  if (existsSync(path)) return { path, bytes: statSync(path).size, reused: true };
  const made = await generateCsv(path, rows);
  return { ...made, reused: false };
}

function parseRows(text: string | undefined): number {
  if (text === undefined) return DEFAULT_ROWS;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--rows must be a positive integer, got ${text}`);
  return n;
}

async function cli(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, out: { type: 'string' } } });
  const rows = parseRows(values.rows);
  const started = performance.now();
  const result = values.out !== undefined ? { ...(await generateCsv(resolve(values.out), rows)), reused: false } : await ensureBenchCsv(rows);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  const verb = result.reused ? 'reused' : `generated in ${secs} s`;
  process.stdout.write(`${result.path}: ${rows.toLocaleString('en-US')} rows, ${result.bytes.toLocaleString('en-US')} bytes (${(result.bytes / Math.max(rows, 1)).toFixed(1)} bytes/row), ${verb}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli().catch((err: unknown) => {
    process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
