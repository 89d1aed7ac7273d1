/**
 * Deterministic data files for the atlas benchmark, in every format atlas reads.
 *
 * Ten mixed columns: id, name, email, signup_date (MM/DD/YYYY), amount (2 decimals), active
 * (true/false), category, city, notes (with commas and sometimes a quote) and created_at (ISO
 * timestamp without zone). The same rows always give the same values (and, but for the time stamps
 * inside an XLSX archive, the same bytes): values come from a seeded PRNG (mulberry32), never
 * Math.random, and row `id` is always the id-th row of one sequence, so a file of rows
 * 500,001..1,500,000 repeats rows 500,001..1,000,000 of the 1,000,000-row file exactly.
 *
 * - CSV: a header, then one line per row, notes quoted (`""` for a quote); about 126 bytes a row.
 * - JSON: one array of objects, one object a line; id and amount are numbers, active a boolean.
 * - NDJSON: the same objects, one a line.
 * - XML: `<customers><customer><id>1</id>...</customer>...</customers>`, one record a line.
 * - XLSX: one sheet, a header row, numbers, booleans and date cells (signup_date `mm/dd/yyyy`,
 *   created_at `yyyy-mm-dd hh:mm:ss`), strings in the shared-strings table as Excel writes them,
 *   written with exceljs's streaming WorkbookWriter (each row committed as it is written; memory
 *   grows only with the shared-strings table, about 200 MB peak for 200,000 rows).
 *
 * Two variants, for the upsert and batch cases: rows changed on purpose (every K-th row up to row M
 * gets another amount and notes, drawing nothing more: ChangedRows), and a directory of CSV files
 * of R rows each that together hold the rows (generateSplitCsv).
 *
 * As a script:  node --import tsx bench/generate.ts [--rows N] [--first K] [--format csv|json|ndjson|xml|xlsx] [--out FILE]
 *                 [--change-every K [--change-up-to M]] [--per-file R (CSV: a directory)]
 * (default: 1,000,000 CSV rows into bench/data/, reused when the file exists).
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const DEFAULT_ROWS = 1_000_000;
/** Bumping this changes every generated file, so it is part of the file name. */
const GENERATOR_VERSION = 1;
const SEED = 0x5eed_a71a;

export const DATA_DIR = fileURLToPath(new URL('./data/', import.meta.url));

export const HEADER = ['id', 'name', 'email', 'signup_date', 'amount', 'active', 'category', 'city', 'notes', 'created_at'] as const;

export const FORMATS = ['csv', 'json', 'ndjson', 'xml', 'xlsx'] as const;
export type BenchFormat = (typeof FORMATS)[number];

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
const QUOTED = ['said "hi"', 'wants "VIP" tier', 'marked "urgent"'];

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

/** One generated row, its values unescaped; dates as numbers so each format writes them its own way. */
export interface BenchRecord {
  id: number;
  name: string;
  email: string;
  signup: { y: number; m: number; d: number };
  /** Decimal text with two places ("1234.05"): the same digits in every format. */
  amount: string;
  active: boolean;
  category: string;
  city: string;
  notes: string;
  created: { m: number; d: number; h: number; mi: number; s: number };
}

/**
 * Makes rows one at a time, in id order; the same seed gives the same sequence. The PRNG is drawn
 * in exactly the order of the first version of this generator, so its CSV files stay byte for byte
 * the same (their name carries GENERATOR_VERSION).
 */
function recordMaker(seed: number): (id: number) => BenchRecord {
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
    const cents = int(0, 999_999);
    const amount = `${Math.floor(cents / 100)}.${pad2(cents % 100)}`;
    const active = rnd() < 0.7;
    let notes = `${pick(NOTE_PARTS)}, ${pick(NOTE_PARTS)}`;
    if (rnd() < 0.125) notes += `, ${pick(QUOTED)}`;
    const cm = int(1, 12);
    const created = { m: cm, d: int(1, daysIn(2024, cm)), h: int(0, 23), mi: int(0, 59), s: int(0, 59) };
    return { id, name: `${first} ${last}`, email, signup: { y: sy, m: sm, d: sd }, amount, active, category: pick(CATEGORIES), city: pick(CITIES), notes, created };
  };
}

/**
 * Rows changed on purpose, for the upsert case: every `every`-th row (by id) up to row `upTo`, the
 * rows a table loaded from rows 1..upTo holds, gets another amount (+1.00) and notes (", updated").
 * Applied on top of the drawn record, drawing nothing, so every other row stays the sequence's.
 */
export interface ChangedRows {
  every: number;
  upTo: number;
}

function changeRecord(r: BenchRecord): BenchRecord {
  const dot = r.amount.indexOf('.');
  return { ...r, amount: `${Number(r.amount.slice(0, dot)) + 1}${r.amount.slice(dot)}`, notes: `${r.notes}, updated` };
}

/** The record maker with `changed` applied. */
function makerWith(changed: ChangedRows | undefined): (id: number) => BenchRecord {
  const make = recordMaker(SEED);
  if (changed === undefined) return make;
  return (id) => {
    const r = make(id);
    return id % changed.every === 0 && id <= changed.upTo ? changeRecord(r) : r;
  };
}

const signupText = (r: BenchRecord): string => `${pad2(r.signup.m)}/${pad2(r.signup.d)}/${r.signup.y}`;
const createdText = (r: BenchRecord): string => {
  const c = r.created;
  return `2024-${pad2(c.m)}-${pad2(c.d)}T${pad2(c.h)}:${pad2(c.mi)}:${pad2(c.s)}`;
};

function csvLine(r: BenchRecord): string {
  return `${r.id},${r.name},${r.email},${signupText(r)},${r.amount},${r.active},${r.category},${r.city},"${r.notes.replace(/"/g, '""')}",${createdText(r)}\n`;
}

function jsonObject(r: BenchRecord): string {
  const s = JSON.stringify;
  return `{"id":${r.id},"name":${s(r.name)},"email":${s(r.email)},"signup_date":"${signupText(r)}","amount":${r.amount},"active":${r.active},"category":${s(r.category)},"city":${s(r.city)},"notes":${s(r.notes)},"created_at":"${createdText(r)}"}`;
}

const xmlText = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function xmlRecord(r: BenchRecord): string {
  const values = [String(r.id), r.name, r.email, signupText(r), r.amount, String(r.active), r.category, r.city, r.notes, createdText(r)];
  return `<customer>${HEADER.map((h, i) => `<${h}>${xmlText(values[i]!)}</${h}>`).join('')}</customer>\n`;
}

/** The text formats: what comes before the rows, each row, what separates rows, what ends the file. */
const TEXT_FORMATS: Record<Exclude<BenchFormat, 'xlsx'>, { head: string; row: (r: BenchRecord) => string; sep: string; tail: string }> = {
  csv: { head: `${HEADER.join(',')}\n`, row: csvLine, sep: '', tail: '' },
  json: { head: '[\n', row: jsonObject, sep: ',\n', tail: '\n]\n' },
  ndjson: { head: '', row: (r) => `${jsonObject(r)}\n`, sep: '', tail: '' },
  xml: { head: '<?xml version="1.0" encoding="UTF-8"?>\n<customers>\n', row: xmlRecord, sep: '', tail: '</customers>\n' },
};

/**
 * Writes rows `first`..`first + rows - 1` in `format` to `path`. Written under a temporary name and
 * renamed at the end, so an interrupted run leaves no half file to reuse.
 */
export async function generateFile(path: string, format: BenchFormat, rows: number, first = 1, changed?: ChangedRows): Promise<{ path: string; bytes: number }> {
  checkRange(rows, first, changed);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const makeRecord = makerWith(changed);
  // Rows before `first` are made and dropped: row n is always the n-th draw of the one sequence.
  for (let id = 1; id < first; id++) makeRecord(id);
  try {
    if (format === 'xlsx') await writeXlsx(tmp, rows, first, makeRecord);
    else await writeText(tmp, TEXT_FORMATS[format], rows, first, makeRecord);
  } catch (err) {
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

function checkRange(rows: number, first: number, changed: ChangedRows | undefined): void {
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`rows must be a non-negative integer, got ${rows}`);
  if (!Number.isInteger(first) || first < 1) throw new Error(`first must be a positive integer, got ${first}`);
  if (changed !== undefined && (!Number.isInteger(changed.every) || changed.every < 1 || !Number.isInteger(changed.upTo))) {
    throw new Error(`changed rows need a positive integer 'every' and an integer 'upTo', got ${JSON.stringify(changed)}`);
  }
}

/**
 * Writes rows `first`..`first + rows - 1` as CSV files of `perFile` rows each (the last one holds
 * what is left) into the directory `dir`, in one pass over the sequence. Files are named by their
 * rows, zero-padded, so that the order of their paths is the order of their rows. Written into a
 * temporary directory renamed at the end, so an interrupted run leaves no half set to reuse.
 */
export async function generateSplitCsv(dir: string, rows: number, first: number, perFile: number): Promise<{ path: string; bytes: number }> {
  checkRange(rows, first, undefined);
  if (!Number.isInteger(perFile) || perFile < 1) throw new Error(`rows per file must be a positive integer, got ${perFile}`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const makeRecord = recordMaker(SEED);
  for (let id = 1; id < first; id++) makeRecord(id);
  const last = first + rows - 1;
  const width = String(last).length;
  let bytes = 0;
  try {
    for (let start = first; start <= last; start += perFile) {
      const end = Math.min(start + perFile - 1, last);
      let text = TEXT_FORMATS.csv.head;
      for (let id = start; id <= end; id++) text += csvLine(makeRecord(id));
      const name = `rows-${String(start).padStart(width, '0')}-${String(end).padStart(width, '0')}.csv`;
      writeFileSync(join(tmp, name), text);
      bytes += Buffer.byteLength(text);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  renameSync(tmp, dir);
  return { path: dir, bytes };
}

/** Through a buffered stream that honours backpressure: memory stays flat whatever the row count. */
async function writeText(path: string, f: (typeof TEXT_FORMATS)[keyof typeof TEXT_FORMATS], rows: number, first: number, make: (id: number) => BenchRecord): Promise<void> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const closed = once(out, 'close');
  try {
    let chunk = f.head;
    for (let id = first; id < first + rows; id++) {
      chunk += (id === first ? '' : f.sep) + f.row(make(id));
      if (chunk.length >= 1 << 16) {
        if (!out.write(chunk)) await once(out, 'drain');
        chunk = '';
      }
    }
    out.end(chunk + f.tail);
    await closed;
  } catch (err) {
    out.destroy();
    throw err;
  }
}

/** Bytes of sheet XML allowed to wait for the compressor before the writer pauses. */
const XLSX_PENDING_BYTES = 4 << 20;

/**
 * exceljs's streaming writer hands each committed row's XML to the zip entry without waiting for
 * it, so when rows are made faster than they are deflated the XML piles up (about 80 MB of it for
 * 200,000 rows). This waits for that queue, reached through exceljs's internal `stream.pipes`
 * (a PassThrough into archiver), to drain; if those internals ever change it waits for nothing.
 */
async function zipCaughtUp(sheet: unknown): Promise<void> {
  type Queue = NodeJS.EventEmitter & { writableLength?: number; _writableState?: { length?: number } };
  const queue = (sheet as { stream?: { pipes?: Queue[] } }).stream?.pipes?.[0];
  if (queue === undefined) return;
  const pending = queue.writableLength ?? queue._writableState?.length ?? 0;
  if (pending > XLSX_PENDING_BYTES) await once(queue, 'drain');
}

/** exceljs's streaming writer: each row is committed (serialised and released) as it is added. */
async function writeXlsx(path: string, rows: number, first: number, make: (id: number) => BenchRecord): Promise<void> {
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useStyles: true, useSharedStrings: true });
  const sheet = workbook.addWorksheet('customers');
  sheet.columns = HEADER.map((header) => ({
    header,
    key: header,
    ...(header === 'signup_date' ? { style: { numFmt: 'mm/dd/yyyy' } } : header === 'created_at' ? { style: { numFmt: 'yyyy-mm-dd hh:mm:ss' } } : {}),
  }));
  for (let id = first; id < first + rows; id++) {
    const r = make(id);
    const c = r.created;
    sheet
      .addRow([
        r.id,
        r.name,
        r.email,
        new Date(Date.UTC(r.signup.y, r.signup.m - 1, r.signup.d)),
        Number(r.amount),
        r.active,
        r.category,
        r.city,
        r.notes,
        new Date(Date.UTC(2024, c.m - 1, c.d, c.h, c.mi, c.s)),
      ])
      .commit();
    if ((id - first) % 1000 === 999) await zipCaughtUp(sheet);
  }
  sheet.commit();
  await workbook.commit();
}

/** How a benchmark file departs from plain rows of the sequence. */
export interface FileVariant {
  /** Rows changed on purpose (the upsert case's file). */
  changed?: ChangedRows | undefined;
  /** A directory of CSV files of this many rows each instead of one file (the batch case). */
  perFile?: number | undefined;
}

/**
 * Where the benchmark keeps a file (or, with `perFile`, a directory): the format, the first row,
 * the row count and the variant are in the name.
 */
export function benchFilePath(format: BenchFormat, rows: number, first = 1, variant: FileVariant = {}): string {
  const range = first === 1 ? `${rows}-rows` : `rows-${first}-${first + rows - 1}`;
  const changed = variant.changed === undefined ? '' : `-changed-every-${variant.changed.every}-to-${variant.changed.upTo}`;
  if (variant.perFile !== undefined) return resolve(DATA_DIR, `bench-v${GENERATOR_VERSION}-${range}${changed}-by-${variant.perFile}-${format}`);
  return resolve(DATA_DIR, `bench-v${GENERATOR_VERSION}-${range}${changed}.${format}`);
}

/** The benchmark file (or directory of files): reused when it exists, generated otherwise. */
export async function ensureBenchFile(format: BenchFormat, rows: number, first = 1, variant: FileVariant = {}): Promise<{ path: string; bytes: number; reused: boolean }> {
  const path = benchFilePath(format, rows, first, variant);
  if (variant.perFile !== undefined) {
    if (format !== 'csv' || variant.changed !== undefined) throw new Error('a directory of files is made of plain CSV rows only');
    if (existsSync(path)) return { path, bytes: readdirSync(path).reduce((sum, f) => sum + statSync(join(path, f)).size, 0), reused: true };
    return { ...(await generateSplitCsv(path, rows, first, variant.perFile)), reused: false };
  }
  if (existsSync(path)) return { path, bytes: statSync(path).size, reused: true };
  return { ...(await generateFile(path, format, rows, first, variant.changed)), reused: false };
}

function parsePositive(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got ${text}`);
  return n;
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      first: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      'change-every': { type: 'string' },
      'change-up-to': { type: 'string' },
      'per-file': { type: 'string' },
    },
  });
  const rows = parsePositive('rows', values.rows, DEFAULT_ROWS);
  const first = parsePositive('first', values.first, 1);
  const format = (values.format ?? 'csv') as BenchFormat;
  if (!FORMATS.includes(format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}, got ${values.format}`);
  const every = values['change-every'] === undefined ? undefined : parsePositive('change-every', values['change-every'], 1);
  const changed = every === undefined ? undefined : { every, upTo: parsePositive('change-up-to', values['change-up-to'], first + rows - 1) };
  const perFile = values['per-file'] === undefined ? undefined : parsePositive('per-file', values['per-file'], 1);
  const started = performance.now();
  const result =
    values.out === undefined
      ? await ensureBenchFile(format, rows, first, { changed, perFile })
      : perFile !== undefined
        ? { ...(await generateSplitCsv(resolve(values.out), rows, first, perFile)), reused: false }
        : { ...(await generateFile(resolve(values.out), format, rows, first, changed)), reused: false };
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
