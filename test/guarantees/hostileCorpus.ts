/**
 * The hostile corpus: every case of test/guarantees/hostile.test.ts with its expected outcome
 * (listed for people in test/fixtures/hostile/README.md), and the writers of the inputs made at
 * test time (too large or binary to commit).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw, createGzip, crc32 } from 'node:zlib';
import type { ImportSummary } from '../../src/db/history.ts';
import { qualify, quoteIdent } from '../../src/transform/naming.ts';
import type { TestDb } from '../helpers.ts';
import { createTrackedTable } from '../importHelpers.ts';
import type { AtlasRun } from './helpers.ts';

const MIB = 1024 * 1024;

export interface ImportOut {
  import_id: string;
  table_name: string;
  status: string;
  rows_inserted: number;
  total_rows_in_file: number;
  duplicates_found: number;
  mapping_errors_count: number;
  warnings: string[];
  columns: Array<{ source: string; target: string; type: string }>;
}

export interface Outcome {
  db: TestDb;
  run: AtlasRun;
  out: ImportOut | null;
  record: ImportSummary | undefined;
  /** The SQL text of every statement atlas sent during this import (see wireRecorder.ts). */
  statements: string[];
}

export interface HostileCase {
  file: string;
  /** The expected outcome, in words (as in the corpus README). */
  outcome: string;
  exit: 0 | 1 | 2 | 3;
  /** Exit 1: what the one error line says after `import <id> into <table> failed: `. */
  error?: RegExp;
  /** Also acceptable instead of `exit`: failing (exit 1) with this error (a limit that depends on the heap). */
  orError?: RegExp;
  /** Made at test time into a temporary directory (large or binary input); else read from test/fixtures/hostile/. */
  make?: (path: string) => Promise<void>;
  /** Prepares the database before the import (a table made beforehand, with the catalog objects it uses). */
  setup?: (db: TestDb) => Promise<void>;
  args?: string[];
  slow?: boolean;
  /** Known to fail until a fix outside this battery's reach lands (see the report of the battery). */
  todo?: string;
  /** @default 60000 */
  timeLimitMs?: number;
  check?: (o: Outcome) => Promise<void>;
}

/** Writes head + unit x count + tail in pieces: a 100 MB file without a 100 MB string. */
export async function writeRepeated(path: string, head: string, unit: string, count: number, tail: string): Promise<void> {
  const out = createWriteStream(path);
  const perBlock = Math.max(1, Math.floor(MIB / Math.max(1, unit.length)));
  const block = count > 0 ? unit.repeat(perBlock) : '';
  out.write(head);
  let left = count;
  while (left > 0) {
    const n = Math.min(perBlock, left);
    if (!out.write(n === perBlock ? block : unit.repeat(n))) await once(out, 'drain');
    left -= n;
  }
  out.end(tail);
  await once(out, 'finish');
}

/**
 * A zip whose one entry, named like a worksheet, inflates to `inflated` bytes (spaces inside a
 * worksheet element): ~1000 times its size, the classic bomb ratio.
 */
async function writeZipBomb(path: string, inflated: number): Promise<void> {
  const name = Buffer.from('xl/worksheets/sheet1.xml');
  const head = Buffer.from('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>');
  const tail = Buffer.from('</sheetData></worksheet>');
  const deflate = createDeflateRaw({ level: 9 });
  const compressed: Buffer[] = [];
  deflate.on('data', (d: Buffer) => compressed.push(d));
  let crc = crc32(head);
  deflate.write(head);
  const spaces = Buffer.alloc(MIB, 0x20);
  for (let left = inflated - head.length - tail.length; left > 0; left -= MIB) {
    const piece = left >= MIB ? spaces : spaces.subarray(0, left);
    crc = crc32(piece, crc);
    if (!deflate.write(piece)) await once(deflate, 'drain');
  }
  crc = crc32(tail, crc);
  deflate.end(tail);
  await once(deflate, 'end');
  const data = Buffer.concat(compressed);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(crc >>> 0, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(inflated, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc >>> 0, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(inflated, 24);
  central.writeUInt16LE(name.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(local.length + name.length + data.length, 16);
  const out = createWriteStream(path);
  for (const part of [local, name, data, central, name, end]) out.write(part);
  out.end();
  await once(out, 'finish');
}

/** `size` NUL bytes, gzipped: no line end anywhere (as a sparse file or a disk image would have). */
async function writeGzippedZeros(path: string, size: number): Promise<void> {
  const gzip = createGzip({ level: 1 });
  const done = pipeline(gzip, createWriteStream(path));
  const zeros = Buffer.alloc(MIB);
  for (let left = size; left > 0; left -= MIB) if (!gzip.write(left >= MIB ? zeros : zeros.subarray(0, left))) await once(gzip, 'drain');
  gzip.end();
  await done;
}

/** Text atlas reads from the catalog in the catalog_names case: type, schema, column and constraint names. */
export const CATALOG_MARKER = 'atlas_catalog_pwn';
export const catalogNames = (schema: string): { injecting: string; amount: string; otherSchema: string; column: string; constraint: string } => ({
  // Pasted into a string literal, as correctionSql did with format_type's text, this calls the function.
  injecting: `a'||${schema}.${CATALOG_MARKER}()||'`,
  amount: "customer's_amount",
  otherSchema: `${schema}_${CATALOG_MARKER}'"s`,
  column: `x'||${CATALOG_MARKER}()||'`,
  constraint: `c'||${CATALOG_MARKER}()||'`,
});

/** The statements where text of the catalog_names case's catalog appears other than as the quoted identifier it is. */
export function catalogTextOutsideIdentifiers(schema: string, statements: readonly string[]): string[] {
  const n = catalogNames(schema);
  const quoted = [n.injecting, n.amount, n.otherSchema, n.column, n.constraint].map(quoteIdent);
  return statements.filter((st) => {
    const rest = quoted.reduce((left, q) => left.split(q).join(''), st);
    return rest.includes(CATALOG_MARKER) || rest.includes("customer's");
  });
}

const text = async (o: Outcome, sql: string, params: unknown[] = []): Promise<unknown[]> => (await o.db.client.query({ text: sql, values: params, rowMode: 'array' })).rows.map((r: unknown[]) => r[0]);
const tableOf = (o: Outcome): string => qualify(o.db.schema, o.out!.table_name);

export const CASES: HostileCase[] = [
  { file: 'empty.csv', outcome: 'failed: the file is empty', exit: 1, error: /^the file is empty: no header row found$/ },
  {
    file: 'header_only.csv',
    outcome: 'failed: nothing to import (a header but no data rows); no table',
    exit: 1,
    error: /^nothing to import: the file has a header but no data rows; no table was created or changed$/,
  },
  { file: 'one_column.csv', outcome: 'success, 3 rows', exit: 0, check: async (o) => assert.equal(o.out!.rows_inserted, 3) },
  {
    file: 'wide_5000_columns.csv',
    outcome: "failed: PostgreSQL's 1600-column limit, in atlas's words",
    exit: 1,
    error: /the file has 5000 columns, more than the 1594 atlas can put in one table: a PostgreSQL table holds at most 1600 columns, 6 of them atlas's own/,
    make: async (p) => {
      const cols = Array.from({ length: 5000 }, (_, i) => `c${i}`);
      await writeRepeated(p, `${cols.join(',')}\n`, `${cols.map((_, i) => i).join(',')}\n`, 3, '');
    },
  },
  {
    file: 'invalid_utf8.csv',
    outcome: 'failed: not valid UTF-8 (never turned into ?)',
    exit: 1,
    error: /^the input is not valid utf-8/,
  },
  {
    file: 'nul_bytes.csv',
    outcome: 'success with a warning; the NUL removed and recorded in _corrections_applied',
    exit: 0,
    check: async (o) => {
      assert.match(o.out!.warnings.join(' '), /NUL bytes/);
      const [fix] = await text(o, `select _corrections_applied->'note'->>'correction_type' from ${tableOf(o)} where note = 'beforeafter'`);
      assert.equal(fix, 'nul_removed');
    },
  },
  {
    file: 'copy_end_marker.csv',
    outcome: 'success: the \\. lines are values (COPY does not stop at them); the second equal one is a duplicate',
    exit: 0,
    check: async (o) => {
      assert.equal(o.out!.total_rows_in_file, 5);
      assert.equal(o.out!.rows_inserted, 4);
      assert.equal(o.out!.duplicates_found, 1);
      assert.deepEqual(await text(o, `select line from ${tableOf(o)} order by _source_row_number`), ['before', '\\.', 'after \\. too', 'last']);
    },
  },
  {
    file: 'duplicate_headers.csv',
    outcome: 'success; names equal after sanitising or after the 63-byte cut made unique',
    exit: 0,
    check: async (o) => {
      const names = o.out!.columns.map((c) => c.target);
      assert.equal(new Set(names).size, names.length);
      assert.ok(names.every((n) => Buffer.byteLength(n) <= 63));
      assert.deepEqual(names.slice(0, 9), ['name', 'name_2', 'name_3', 'name_4', 'column_5', 'column_6', 'total_amount', 'total_amount_2', 'total_amount_3']);
    },
  },
  {
    file: 'hostile_headers.csv',
    outcome: 'success; select is a quoted column, atlas\'s own names get a suffix, the injection header is sanitised, the emoji becomes column_5',
    exit: 0,
    check: async (o) => {
      assert.deepEqual(o.out!.columns.map((c) => c.target), ['select', 'id_2', '_import_id_2', 'drop_table_canary', 'column_5', '_row_hash_2', '__proto__', 'a_b']);
      assert.deepEqual(await text(o, `select "select" from ${tableOf(o)}`), [1]);
    },
  },
  {
    file: 'sql_in_values.csv',
    outcome: 'success; every SQL-looking value stored verbatim',
    exit: 0,
    check: async (o) => {
      assert.deepEqual(await text(o, `select text from ${tableOf(o)} order by _source_row_number`), ["'); DROP TABLE canary; --", '1; select pg_sleep(10); --', "$1 atlas_pwned $$ E'\\\\x00'", 'ok']);
    },
  },
  {
    file: 'numbers_out_of_range.csv',
    outcome: 'partial: values beyond numeric\'s range are mapping errors, the rest stored',
    exit: 3,
    check: async (o) => {
      assert.equal(o.out!.mapping_errors_count, 3);
      assert.deepEqual(await text(o, `select source_value from ${qualify(o.db.schema, 'mapping_errors')} where import_id = $1 order by record_number`, [o.out!.import_id]), ['1e200000', '-1e200000', '1e-200000']);
      assert.deepEqual(await text(o, `select n::text from ${tableOf(o)} order by _source_row_number`), ['1', '2.5', '99999999999999999999999999999999999999']);
    },
  },
  {
    file: 'catalog_names.csv',
    outcome:
      "partial: into a table made beforehand whose columns are of domains named customer's_amount (in a schema whose name holds ' and \") and a'||<schema>.atlas_catalog_pwn()||' (a function that empties the canary), with a column and a constraint named like them: every name is an identifier, the function never runs; 2.345 into numeric(10,2) and abcdefghijkl into varchar(8) are mapping errors",
    exit: 3,
    setup: async (db) => {
      const n = catalogNames(db.schema);
      await db.client.query(`create function ${qualify(db.schema, CATALOG_MARKER)}() returns text language sql as $$ delete from ${qualify(db.schema, 'canary')}; select 'x' $$`);
      await db.client.query(`create schema ${quoteIdent(n.otherSchema)}`);
      await db.client.query(`create domain ${qualify(n.otherSchema, n.amount)} as numeric(10,2)`);
      await db.client.query(`create domain ${qualify(db.schema, n.injecting)} as numeric`);
      await createTrackedTable(
        db,
        'catalog_names',
        [
          ['amount', qualify(n.otherSchema, n.amount)],
          ['other', qualify(db.schema, n.injecting)],
          ['code', 'varchar(8)'],
          [n.column, 'text'],
        ],
        [`constraint ${quoteIdent(n.constraint)} check (amount > 0)`],
      );
    },
    check: async (o) => {
      const n = catalogNames(o.db.schema);
      assert.deepEqual(
        await text(o, `select record_number || ' ' || target_field || ' ' || error_type from ${qualify(o.db.schema, 'mapping_errors')} where import_id = $1 order by record_number`, [o.out!.import_id]),
        ['2 amount precision_loss', '3 code value_too_long'],
      );
      const [row] = (await o.db.client.query(`select amount::text, other::text, code, _corrections_applied as c from ${tableOf(o)}`)).rows as Array<{ amount: string; other: string; code: string; c: Record<string, { target_type: string }> }>;
      assert.deepEqual([row!.amount, row!.other, row!.code], ['1234.50', '1000', 'abcdefgh']);
      assert.equal(row!.c.amount!.target_type, `${quoteIdent(n.otherSchema)}.${quoteIdent(n.amount)}`);
      assert.equal(row!.c.other!.target_type, `${o.db.schema}.${quoteIdent(n.injecting)}`);
      assert.deepEqual(await text(o, `select count(*)::int from ${qualify(o.db.schema, 'canary')}`), [1], 'the function named in a type name never ran');
      // On the wire: catalog text reached the server only as quoted identifiers (and it did reach it).
      assert.ok(o.statements.some((st) => st.includes(quoteIdent(n.injecting))), 'the domain name went to the server, quoted');
      assert.deepEqual(catalogTextOutsideIdentifiers(o.db.schema, o.statements), []);
    },
  },
  {
    file: 'bbox_system_columns.csv',
    outcome: "success: headers named like PostgreSQL's system columns (xmin, xmax, ctid, tableoid) are renamed xmin_2, ..., with a warning",
    exit: 0,
    check: async (o) => {
      assert.deepEqual(o.out!.columns.map((c) => c.target), ['name', 'xmin_2', 'ymin', 'xmax_2', 'ymax', 'ctid_2', 'tableoid_2']);
      assert.ok(o.out!.warnings.some((w) => w.startsWith('column(s) renamed because their names are reserved: xmin -> xmin_2 (a PostgreSQL system column)')));
      assert.deepEqual(await text(o, `select xmax_2::text from ${tableOf(o)} order by _source_row_number`), ['3', '7.25']);
    },
  },
  {
    file: 'unhashable.csv',
    outcome: 'success: into a table made beforehand with json, xml, money and point columns (types without a hash function), the repeated record is found as a duplicate',
    exit: 0,
    setup: (db) => createTrackedTable(db, 'unhashable', [['j', 'json'], ['x', 'xml'], ['m', 'money'], ['p', 'point']]),
    check: async (o) => {
      assert.equal(o.out!.rows_inserted, 2);
      assert.equal(o.out!.duplicates_found, 1);
      assert.deepEqual(await text(o, `select j::text || ' ' || x::text || ' ' || p::text from ${tableOf(o)} order by _source_row_number`), ['{"a": 1} <a>1</a> (1,2)', '{"a": 2} <a>2</a> (2,3)']);
    },
  },
  {
    file: 'impossible_dates.csv',
    outcome: 'partial: 2023-13-45, 2023-02-30 and 0000-00-00 are datetime_conversion errors',
    exit: 3,
    check: async (o) => {
      const errs = await text(o, `select error_type || ':' || source_value from ${qualify(o.db.schema, 'mapping_errors')} where import_id = $1 order by record_number`, [o.out!.import_id]);
      assert.deepEqual(errs, ['datetime_conversion:2023-13-45', 'datetime_conversion:2023-02-30', 'datetime_conversion:0000-00-00']);
    },
  },
  { file: 'billion_laughs.xml', outcome: 'failed at once: DTD entities are never expanded', exit: 1, error: /^invalid XML at line \d+, column \d+: undefined entity &lol9;$/, timeLimitMs: 10_000 },
  { file: 'external_entity.xml', outcome: 'failed: external entities are never fetched', exit: 1, error: /undefined entity &xxe;$/, timeLimitMs: 10_000 },
  {
    file: 'hostile_names.xml',
    outcome: 'success; attribute and element names sanitised, values stored verbatim',
    exit: 0,
    check: async (o) => assert.deepEqual(await text(o, `select "select" from ${tableOf(o)} order by _source_row_number`), ["'); DROP TABLE canary; --", 'ok']),
  },
  { file: 'deep_10000.json', outcome: 'failed: nested more than 1000 levels', exit: 1, error: /nested more than 1000 levels deep/ },
  { file: 'deep_10000.ndjson', outcome: 'failed: nested more than 1000 levels', exit: 1, error: /nested more than 1000 levels deep/ },
  {
    file: 'hostile_keys.json',
    outcome: 'success; keys such as __proto__ and constructor are ordinary columns, the injection key is sanitised',
    exit: 0,
    check: async (o) => {
      assert.deepEqual(o.out!.columns.map((c) => c.target), ['id_2', 'drop_table_canary', '__proto__', 'constructor', 'select', 'a_b_c_drop_table_canary']);
      assert.deepEqual(await text(o, `select drop_table_canary from ${tableOf(o)} order by _source_row_number`), ['x', "'); DROP TABLE canary; --"]);
      assert.deepEqual(await text(o, `select constructor from ${tableOf(o)} order by _source_row_number`), ['c', 'd']);
    },
  },
  {
    file: 'hostile_keys.json',
    args: ['--table', 'proto_values'],
    outcome: 'the values of a "__proto__" key are stored like any other',
    exit: 0,
    check: async (o) => assert.deepEqual(await text(o, `select __proto__ from ${tableOf(o)} order by _source_row_number`), ['p', 'q']),
  },
  {
    file: 'many_keys.json',
    outcome: 'failed as soon as the records bring more distinct keys than a table has columns',
    exit: 1,
    error: /^record 1595 brings the number of distinct keys past 1594/,
    make: (p) => writeRepeated(p, '[', '', 0, `${Array.from({ length: 200_000 }, (_, i) => `{"k${i}":${i}}`).join(',')}]`),
  },
  {
    file: 'many_keys.xml',
    outcome: 'failed as soon as the records bring more distinct columns than a table has',
    exit: 1,
    error: /^record 1595 brings the number of distinct columns/,
    make: (p) => writeRepeated(p, '<rows>', '', 0, `${Array.from({ length: 200_000 }, (_, i) => `<row><k${i}>${i}</k${i}></row>`).join('')}</rows>`),
  },
  {
    file: 'string_12mb.json',
    outcome: 'failed: one record over the per-record limit (1/32 of the heap: 9 MiB under a 256 MB heap)',
    exit: 1,
    error: /^record 1 is larger than \d+ MiB: atlas refuses it to keep memory bounded$/,
    make: (p) => writeRepeated(p, '[{"id":1,"s":"', 'y', 12 * MIB, '"},{"id":2,"s":"z"}]'),
  },
  { file: 'truncated.csv.gz', outcome: 'failed: the gzip data is truncated', exit: 1, error: /^the gzip data is corrupt or truncated/ },
  {
    file: 'header_200mb.csv',
    outcome: 'failed after 1 MiB: a header line that long is refused (it imported, and was stored whole in mapping_config)',
    exit: 1,
    error: /^the first line, the header, is longer than 1 MiB: atlas refuses a header that long$/,
    make: (p) => writeRepeated(p, '', 'a,', 100 * MIB, '\n1\n'),
  },
  {
    file: 'dash_header_5mb.csv',
    outcome: 'failed: a 5 MB header cell of "-" is a header line over 1 MiB (it ended in "Maximum call stack size exceeded")',
    exit: 1,
    error: /^the first line, the header, is longer than 1 MiB/,
    make: (p) => writeRepeated(p, 'id,', '-', 5 * MIB, '\n1,2\n'),
  },
  {
    file: 'zeros_1gb.csv.gz',
    outcome: 'failed after 1 MiB: 1 GiB of NUL bytes without a line end, gzipped, is one header line (it ended in "Invalid string length" with no record)',
    exit: 1,
    error: /^the first line, the header, is longer than 1 MiB/,
    make: (p) => writeGzippedZeros(p, 1024 * MIB),
  },
  {
    file: 'zeros_1gb.csv.gz',
    args: ['--no-header', '--table', 'zeros_no_header'],
    outcome: 'failed at the field limit (1/8 of the heap, at most 247 MiB) with --no-header: one field of 1 GiB',
    exit: 1,
    error: /^a field longer than \d+ MiB in record 1: atlas refuses it to keep memory bounded$/,
    make: (p) => writeGzippedZeros(p, 1024 * MIB),
  },
  { file: 'nul_header.csv', outcome: 'failed: a NUL byte in a header cell, named by its position', exit: 1, error: /^column 2 of the header holds a NUL byte, which PostgreSQL cannot store in a name or text$/ },
  { file: 'nul_key.json', outcome: 'failed: a NUL byte (\\u0000) in a key, named by its position', exit: 1, error: /^column 2 \(a key first in record 1\) holds a NUL byte, which PostgreSQL cannot store in a name or text$/ },
  {
    file: 'long_header_300.csv',
    outcome: 'partial: a 277-character header cell is cut to 255 characters (with a warning), so its mapping error can be recorded (it failed: value too long for varchar(255))',
    exit: 3,
    check: async (o) => {
      assert.match(o.out!.warnings.join('\n'), /^column 2 of the header is 277 characters long: atlas keeps its first 255/m);
      const [field] = await text(o, `select source_field from ${qualify(o.db.schema, 'mapping_errors')} where import_id = $1`, [o.out!.import_id]);
      assert.equal((field as string).length, 255);
      assert.equal(o.out!.columns[1]!.source, field);
    },
  },
  {
    file: 'dash_key_5mb.json',
    outcome: 'success with a warning: a 5 MB key of "-" is cut to 255 characters (it was kept whole in mapping_config)',
    exit: 0,
    make: (p) => writeRepeated(p, '[{"id":1,"', '-', 5 * MIB, '":2}]'),
    check: async (o) => {
      assert.match(o.out!.warnings.join('\n'), /is 5,242,880 characters long: atlas keeps its first 255/);
      assert.deepEqual(o.out!.columns.map((c) => [c.source.length, c.target]), [[2, 'id_2'], [255, 'column_2']]);
    },
  },
  { file: 'csv_renamed.xlsx', outcome: 'failed: not a zip archive', exit: 1, error: /^not a valid \.xlsx file: it is not a zip archive$/ },
  {
    file: 'zip_bomb.xlsx',
    outcome: 'failed: stops after 100 MB inflated at ~1000x: a zip bomb',
    exit: 1,
    error: /zip bomb\?$/,
    make: (p) => writeZipBomb(p, 128 * MIB),
  },
  // The large ones (ATLAS_SLOW_TESTS=1).
  {
    file: 'field_50mb.csv',
    outcome: 'success: one 50 MB value stored whole (or, once CSV fields have a heap-based limit, a clear error)',
    exit: 0,
    orError: /field longer than \d+ MiB/,
    slow: true,
    timeLimitMs: 120_000,
    make: (p) => writeRepeated(p, 'id,big\n1,"', 'x', 50 * MIB, '"\n2,small\n'),
    check: async (o) => assert.deepEqual(await text(o, `select length(big) from ${tableOf(o)} order by _source_row_number`), [50 * MIB, 5]),
  },
  {
    file: 'unterminated_quote_100mb.csv',
    outcome: 'failed: the quote that opens record 2 (the first after the header) never closes: reported when the field passes the heap-based field limit, or at the end of the file',
    exit: 1,
    error: /^(the CSV ends inside a quoted field that starts in record 2: the file is truncated or a quote is not closed|a field longer than \d+ MiB in record 2 \(a quote that is never closed\?\): atlas refuses it to keep memory bounded)$/,
    slow: true,
    timeLimitMs: 120_000,
    make: (p) => writeRepeated(p, 'a,b\n"oops,1\n', '1234567890,abcdefghij\n', Math.ceil((100 * MIB) / 22), ''),
  },
  {
    file: 'string_100mb.json',
    outcome: 'failed: one record over the per-record limit',
    exit: 1,
    error: /^record 1 is larger than \d+ MiB: atlas refuses it to keep memory bounded$/,
    slow: true,
    timeLimitMs: 120_000,
    make: (p) => writeRepeated(p, '[{"id":1,"s":"', 'y', 100 * MIB, '"},{"id":2,"s":"z"}]'),
  },
  {
    file: 'backslashes_8mb.json',
    outcome: 'success: a record under the limit whose COPY escaping doubles it',
    exit: 0,
    slow: true,
    make: (p) => writeRepeated(p, '[{"id":1,"s":"', '\\\\', 4 * MIB, '"},{"id":2,"s":"z"}]'),
  },
  {
    file: 'field_100mb.csv',
    outcome: 'a clear error (a field over a per-field limit), not an out-of-memory crash',
    exit: 1,
    slow: true,
    timeLimitMs: 120_000,
    make: (p) => writeRepeated(p, 'id,big\n1,"', 'x', 100 * MIB, '"\n2,small\n'),
  },
];
