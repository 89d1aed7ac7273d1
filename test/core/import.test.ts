import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { importFile, type ImportOptions } from '../../src/core/import.ts';
import { undoImport } from '../../src/core/undo.ts';
import { AtlasError, ImportFailedError } from '../../src/errors.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';

const defaults: Omit<ImportOptions, 'source'> = { table: null, format: null, delimiter: null, header: true, encoding: null, name: null };

describe('importFile (CSV)', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('round trip: rows, metadata columns, source row numbers, history record and hash', async () => {
    const text = csv([
      ['id', 'name', 'joined', 'score', 'vip', 'seen_at'],
      [1, 'Ada', '03/14/2024', '1.5', 'yes', '2025-01-05T09:12:00'],
      [2, 'Grace, "Amazing"', '07/02/2023', '2', 'no', '2025-01-04 18:40:10'],
      [3, 'Alan\nTuring', '11/23/2022', '-0.25', 'yes', '2024-11-30T07:01:59'],
    ]);
    const path = files.write('people.csv', text);
    const result = await importFile(db.settings, { ...defaults, source: path });
    assert.equal(result.status, 'success');
    assert.equal(result.table_name, 'people');
    assert.equal(result.rows_inserted, 3);
    assert.equal(result.import_strategy, 'new_table');

    const rows = await db.rows<Record<string, unknown>>(
      `select id_2, name, joined::text, score::text, vip, seen_at::text, _import_id, _source_row_number, _corrections_applied
       from ${db.schema}.people order by id`,
    );
    assert.deepEqual(rows.map((r) => r.name), ['Ada', 'Grace, "Amazing"', 'Alan\nTuring']);
    assert.deepEqual(rows.map((r) => r._source_row_number), [1, 2, 3]);
    assert.deepEqual(rows.map((r) => r.joined), ['2024-03-14', '2023-07-02', '2022-11-23']);
    assert.deepEqual(rows.map((r) => r.score), ['1.5', '2', '-0.25']);
    assert.deepEqual(rows.map((r) => r.vip), [true, false, true]);
    assert.equal(rows[1]!.seen_at, '2025-01-04 18:40:10');
    assert.ok(rows.every((r) => r._import_id === result.import_id));
    assert.deepEqual((rows[0]!._corrections_applied as Record<string, unknown>).joined, {
      before: '03/14/2024',
      after: '2024-03-14',
      correction_type: 'datetime_standardization',
      source_format: '%m/%d/%Y',
    });

    const types = await db.rows<{ column_name: string; data_type: string }>(
      `select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = 'people' order by ordinal_position`,
      [db.schema],
    );
    assert.deepEqual(
      Object.fromEntries(types.map((t) => [t.column_name, t.data_type])),
      {
        id: 'bigint',
        id_2: 'integer',
        name: 'text',
        joined: 'date',
        score: 'numeric',
        vip: 'boolean',
        seen_at: 'timestamp without time zone',
        _import_id: 'uuid',
        _imported_at: 'timestamp without time zone',
        _source_row_number: 'integer',
        _corrections_applied: 'jsonb',
        _row_hash: 'bigint',
      },
    );

    const [h] = await db.rows<Record<string, unknown>>(`select * from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
    assert.ok(h);
    assert.equal(h.status, 'success');
    assert.equal(h.source_type, 'local_upload');
    assert.equal(h.file_name, 'people.csv');
    assert.equal(h.file_type, 'csv');
    assert.equal(h.table_name, 'people');
    assert.equal(h.import_strategy, 'new_table');
    assert.equal(h.total_rows_in_file, 3);
    assert.equal(h.rows_inserted, 3);
    assert.equal(h.rows_skipped, 0);
    assert.equal(h.mapping_status, 'completed');
    assert.equal(Number(h.file_size_bytes), Buffer.byteLength(text));
    assert.equal(h.file_hash, createHash('sha256').update(readFileSync(path)).digest('hex'));
    assert.ok(h.mapping_config);
    assert.ok(Number(h.duration_seconds) >= 0);
  });

  it('dates and times written year first with slashes are stored as dates and timestamps, each recorded as a correction; an impossible one is a mapping error', async () => {
    const path = files.write('ymd_slash.csv', csv([['id', 'day', 'at'], [1, '2024/01/15', '2024/01/15 10:30'], [2, '2024/2/30', '2024/02/29 23:59:59'], [3, '1999/12/31', '1999/12/31 00:00']]));
    const result = await importFile(db.settings, { ...defaults, source: path });
    assert.deepEqual([result.status, result.rows_inserted, result.mapping_errors_count], ['partial', 2, 1]);
    const rows = await db.rows<{ day: string; at: string; c: Record<string, unknown> }>(`select day::text, at::text, _corrections_applied c from ${db.schema}.ymd_slash order by id`);
    assert.deepEqual(rows.map((r) => [r.day, r.at]), [['2024-01-15', '2024-01-15 10:30:00'], ['1999-12-31', '1999-12-31 00:00:00']]);
    assert.deepEqual(rows[0]!.c.day, { before: '2024/01/15', after: '2024-01-15', correction_type: 'datetime_standardization', source_format: '%Y/%m/%d' });
    assert.deepEqual(rows[0]!.c.at, { before: '2024/01/15 10:30', after: '2024-01-15T10:30:00', correction_type: 'datetime_standardization', source_format: '%Y/%m/%d %H:%M' });
    const [e] = await db.rows<{ source_field: string; source_value: string }>(`select source_field, source_value from ${db.schema}.mapping_errors where import_id = $1`, [result.import_id]);
    assert.deepEqual(e, { source_field: 'day', source_value: '2024/2/30' });
  });

  it('merges a second file with the same columns into the existing table', async () => {
    const a = files.write('m1.csv', csv([['k', 'v'], [1, 'a'], [2, 'b']]));
    const b = files.write('m2.csv', csv([['k', 'v'], [3, 'c']]));
    const first = await importFile(db.settings, { ...defaults, source: a, table: 'merged' });
    const second = await importFile(db.settings, { ...defaults, source: b, table: 'merged' });
    assert.equal(second.import_strategy, 'merge_exact');
    const counts = await db.rows<{ _import_id: string; n: string }>(`select _import_id, count(*) n from ${db.schema}.merged group by 1`);
    assert.deepEqual(Object.fromEntries(counts.map((c) => [c._import_id, Number(c.n)])), { [first.import_id]: 2, [second.import_id]: 1 });
  });

  it('a failed import leaves no rows, no table and a failed record', async () => {
    // Valid header, then bytes that are not UTF-8 deep in the file (past the first read): fails during COPY.
    const good = csv([['a', 'b'], ...Array.from({ length: 150_000 }, (_, i) => [i, `row ${i}`])]);
    assert.ok(good.length > 2 << 20);
    const path = files.write('broken.csv', Buffer.concat([Buffer.from(good), Buffer.from([0xff, 0xfe, 0x2c, 0x0a])]));
    await assert.rejects(importFile(db.settings, { ...defaults, source: path }), (err: unknown) => {
      assert.ok(err instanceof ImportFailedError);
      // The byte itself, where it is: past the good rows, at the start of its line.
      assert.match(err.message, new RegExp(`not valid utf-8 at byte offset ${Buffer.byteLength(good)} \\(0xFF, at the start of a line\\)$`));
      return true;
    });
    const exists = await db.rows(`select 1 from pg_tables where schemaname = $1 and tablename = 'broken'`, [db.schema]);
    assert.equal(exists.length, 0);
    const [h] = await db.rows<Record<string, unknown>>(`select * from ${db.schema}.import_history where file_name = 'broken.csv'`);
    assert.equal(h?.status, 'failed');
    assert.equal(h?.mapping_status, 'failed');
    assert.match(String(h?.error_message), /utf-8/i);
    assert.equal(h?.rows_inserted, 0);
  });

  it('a file that is unreadable from its first bytes is recorded as failed too', async () => {
    const path = files.write('latin.csv', Buffer.from('name\nJos\xe9\n', 'latin1'));
    await assert.rejects(importFile(db.settings, { ...defaults, source: path }), /not valid utf-8[\s\S]*/i);
    const [h] = await db.rows<Record<string, unknown>>(`select status, error_message from ${db.schema}.import_history where file_name = 'latin.csv'`);
    assert.equal(h?.status, 'failed');
    const ok = await importFile(db.settings, { ...defaults, source: path, encoding: 'latin1' });
    const rows = await db.rows<{ name: string }>(`select name from ${db.schema}.${ok.table_name}`);
    assert.deepEqual(rows.map((r) => r.name), ['José']);
  });

  it('UTF-16 without a byte-order mark is refused naming the encoding to pass, then read with it', async () => {
    const path = files.write('wide.csv', Buffer.from('name,n\nJosé,1\n', 'utf16le'));
    await assert.rejects(importFile(db.settings, { ...defaults, source: path, table: 'wide' }), (err: unknown) => err instanceof Error && /looks like UTF-16LE without a byte-order mark/.test(err.message) && (err as { hint?: string }).hint === 'pass --encoding utf16le');
    const ok = await importFile(db.settings, { ...defaults, source: path, encoding: 'utf16le', table: 'wide' });
    assert.deepEqual(await db.rows(`select name, n from ${db.schema}.${ok.table_name}`), [{ name: 'José', n: 1 }]);
  });

  it('--encoding that contradicts the file\'s byte-order mark is refused, not read as garbled text (a Latin-1 job given Excel\'s "CSV UTF-8")', async () => {
    const path = files.write('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name\nJosé\n', 'utf8')]));
    await assert.rejects(importFile(db.settings, { ...defaults, source: path, encoding: 'latin1', table: 'bom_latin' }), /starts with a UTF-8 byte-order mark, and --encoding latin1 was given/);
    const ok = await importFile(db.settings, { ...defaults, source: path, encoding: 'utf8', table: 'bom_utf8' });
    assert.deepEqual((await db.rows<{ name: string }>(`select name from ${db.schema}.${ok.table_name}`)).map((r) => r.name), ['José']);
  });

  it('an input whose reading throws something other than an atlas error (a read error, V8\'s "Invalid string length") is recorded as failed, before and after its header', async () => {
    const rangeError = (): RangeError => new RangeError('Invalid string length');
    /** stdin that gives `head` (gzipped when asked), then fails as a huge field would. */
    const failing = (head: Buffer): Readable =>
      Readable.from(
        (async function* () {
          yield head;
          await new Promise((r) => setTimeout(r, 20));
          throw rangeError();
        })(),
      );
    const body = Buffer.from(`a,b\n${'1,2\n'.repeat(100_000)}`);
    const cases: Array<[string, Buffer]> = [
      ['in_header', Buffer.from('a,b')], // before the header is known: the in-progress record does not exist yet
      ['in_data', body.subarray(0, 200_000)],
      ['in_gzip', gzipSync(body).subarray(0, 20_000)], // a source error under gunzip once escaped as an uncaught exception
    ];
    for (const [table, head] of cases) {
      await assert.rejects(importFile(db.settings, { ...defaults, source: '-', stdin: failing(head), table }), (err: unknown) => {
        assert.ok(err instanceof ImportFailedError, String(err));
        assert.match(err.message, /Invalid string length$/);
        return true;
      });
      const records = await db.rows<{ status: string; error_message: string }>(`select status, error_message from ${db.schema}.import_history where table_name = $1`, [table]);
      assert.deepEqual(records, [{ status: 'failed', error_message: 'Invalid string length' }], table);
    }
  });

  it('a failed import into an existing table leaves its rows untouched', async () => {
    const a = files.write('keep.csv', csv([['k', 'v'], [1, 'a']]));
    await importFile(db.settings, { ...defaults, source: a, table: 'keep' });
    const b = files.write('keep2.csv', csv([['k', 'other'], [2, 'b']]));
    await assert.rejects(importFile(db.settings, { ...defaults, source: b, table: 'keep', strategy: 'merge_exact' }), /merge_exact cannot apply to keep/);
    const rows = await db.rows(`select k from ${db.schema}.keep`);
    assert.equal(rows.length, 1);
  });

  it('a file of 900 columns that each record a correction goes into a new table and an existing one (its converted values and their texts passed PostgreSQL\'s 1,664 entries of a select list)', async () => {
    const names = Array.from({ length: 900 }, (_, i) => `c${i}`);
    const path = files.write('wide_fixed.csv', csv([names, names.map((_, i) => (i % 2 ? '1.00' : '2.00')), names.map(() => '3.00')]));
    const first = await importFile(db.settings, { ...defaults, source: path, table: 'wide_fixed' });
    assert.equal(first.rows_inserted, 2);
    const more = files.write('wide_fixed2.csv', csv([names, names.map(() => '4.00')]));
    const second = await importFile(db.settings, { ...defaults, source: more, table: 'wide_fixed' });
    assert.equal(second.rows_inserted, 1);
    const rows = await db.rows(`select c1, c898, c899, _corrections_applied->'c899'->>'before' as before from ${db.schema}.wide_fixed order by _source_row_number, _import_id = $1`, [second.import_id]);
    assert.deepEqual(rows, [
      { c1: 1, c898: 2, c899: 1, before: '1.00' },
      { c1: 4, c898: 4, c899: 4, before: '4.00' },
      { c1: 3, c898: 3, c899: 3, before: '3.00' },
    ]);
  });

  it("PostgreSQL's 1600 columns: a wider file, or a table it would widen too far, gets atlas's error before any DDL", async () => {
    // Mostly empty values: a row of 1594 integers would pass PostgreSQL's 8 KB row limit instead.
    const wide = (name: string, columns: string[]): string => files.write(name, csv([columns, ...[1, 2].map((r) => columns.map((_, i) => (i % 100 === 0 ? r * i : '')))]));
    const names = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `c${from + i}`);
    const r = await importFile(db.settings, { ...defaults, source: wide('w1594.csv', names(1594)), table: 'w1594' });
    assert.equal(r.rows_inserted, 2, 'the widest file atlas can take: 1594 columns and its own 6');
    await assert.rejects(importFile(db.settings, { ...defaults, source: wide('w1595.csv', names(1595)), table: 'w1595' }), (err: unknown) => {
      assert.ok(err instanceof AtlasError);
      assert.match(err.message, /the file has 1595 columns, more than the 1594 atlas can put in one table: a PostgreSQL table holds at most 1600 columns, 6 of them atlas's own/);
      assert.match(String(err.hint), /split the columns/);
      return true;
    });
    const [failed] = await db.rows<Record<string, unknown>>(`select status, error_message from ${db.schema}.import_history where file_name = 'w1595.csv'`);
    assert.equal(failed?.status, 'failed');
    assert.match(String(failed?.error_message), /1595 columns/);

    // An existing table: 1590 user columns and atlas's 6, then 4 more, then files that would add one.
    // (A file leaving a column out adds none by default: adapt_data; extend_table adds them.)
    await importFile(db.settings, { ...defaults, source: wide('x1.csv', names(1590)), table: 'widex' });
    await importFile(db.settings, { ...defaults, source: wide('x2.csv', names(1594)), table: 'widex' });
    const tooMany = (err: unknown, pattern: RegExp): boolean => {
      assert.ok(err instanceof AtlasError);
      assert.match(err.message, pattern);
      return true;
    };
    await assert.rejects(importFile(db.settings, { ...defaults, source: wide('x3.csv', [...names(1593), 'extra']), table: 'widex', strategy: 'extend_table' }), (err: unknown) =>
      tooMany(err, /: table widex has 1600 columns; the 1 new column\(s\) this file brings would take it past PostgreSQL's limit of 1600$/),
    );
    // Dropped columns still count (their numbers are never reused).
    await db.rows(`alter table ${db.schema}.widex drop column c1593`);
    await assert.rejects(importFile(db.settings, { ...defaults, source: wide('x5.csv', [...names(1593), 'again']), table: 'widex', strategy: 'extend_table' }), (err: unknown) =>
      tooMany(err, /: table widex has 1600 columns \(1 of them dropped, which PostgreSQL still counts\); the 1 new column\(s\)/),
    );
    const left = await db.rows(
      `select count(*)::int as n, count(*) filter (where attname in ('extra', 'again'))::int as added from pg_attribute where attrelid = $1::regclass and attnum > 0`,
      [`${db.schema}.widex`],
    );
    assert.deepEqual(left, [{ n: 1600, added: 0 }], 'the refused imports added no column');
    const rows = await db.rows(`select count(*)::int as n from ${db.schema}.widex`);
    assert.deepEqual(rows, [{ n: 2 }], "x1's rows (x2's were the same values, NULL in its new columns: duplicates)");
  });

  it('quotes hostile table and column names', async () => {
    const header = ['"; DROP TABLE x; --', 'select', 'Robert\'); DROP TABLE students;--', 'a b', 'id'];
    const path = files.write('hostile.csv', csv([header, [1, 2, 3, 4, 5]]));
    const table = 'weird "table"; drop table import_history; --';
    const result = await importFile(db.settings, { ...defaults, source: path, table });
    assert.equal(result.table_name, table);
    const cols = await db.rows<{ column_name: string }>(
      `select column_name from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position`,
      [db.schema, table],
    );
    assert.deepEqual(cols.map((c) => c.column_name).slice(1, 6), ['drop_table_x', 'select', 'robert_drop_table_students', 'a_b', 'id_2']);
    const history = await db.rows(`select 1 from ${db.schema}.import_history`);
    assert.ok(history.length > 0, 'import_history survived');
  });

  it("headers named like PostgreSQL's system columns (a bounding box's xmin,ymin,xmax,ymax) are renamed xmin_2, with a warning and in mapping_config", async () => {
    const path = files.write('bbox.csv', csv([['name', 'xmin', 'ymin', 'xmax', 'ymax', 'ctid', 'tableoid'], ['a', 1, 2, 3, 4, 'x', 'y'], ['b', 5, 6, 7, 8, 'z', 'w']]));
    const result = await importFile(db.settings, { ...defaults, source: path });
    assert.equal(result.status, 'success');
    assert.deepEqual(result.columns.map((c) => c.target), ['name', 'xmin_2', 'ymin', 'xmax_2', 'ymax', 'ctid_2', 'tableoid_2']);
    assert.deepEqual(result.warnings.filter((w) => w.includes('renamed')), [
      'column(s) renamed because their names are reserved: xmin -> xmin_2 (a PostgreSQL system column), xmax -> xmax_2 (a PostgreSQL system column), ctid -> ctid_2 (a PostgreSQL system column), tableoid -> tableoid_2 (a PostgreSQL system column)',
    ]);
    assert.deepEqual(await db.rows(`select xmin_2, ymin, xmax_2, ymax, ctid_2 from ${db.schema}.bbox order by id`), [
      { xmin_2: 1, ymin: 2, xmax_2: 3, ymax: 4, ctid_2: 'x' },
      { xmin_2: 5, ymin: 6, xmax_2: 7, ymax: 8, ctid_2: 'z' },
    ]);
    const [rec] = await db.rows<{ m: { columns: Record<string, { target: string }> }; w: string[] }>(`select mapping_config as m, warnings as w from ${db.schema}.import_history where import_id = $1`, [result.import_id]);
    assert.equal(rec!.m.columns.xmin!.target, 'xmin_2');
    assert.equal(rec!.m.columns.tableoid!.target, 'tableoid_2');
    assert.ok(rec!.w.some((w) => w.includes('xmin -> xmin_2')));
    // The same file again: the same names, so it merges into the table (its rows are duplicates).
    const again = await importFile(db.settings, { ...defaults, source: path, allowSameFile: true });
    assert.equal(again.import_strategy, 'merge_exact');
    assert.equal(again.duplicates_found, 2);
    // JSON keys too.
    const json = files.write('bbox.json', JSON.stringify([{ xmin: 1.5, cmax: 'c' }]));
    const fromJson = await importFile(db.settings, { ...defaults, source: json, table: 'bbox_json' });
    assert.deepEqual(fromJson.columns.map((c) => c.target), ['xmin_2', 'cmax_2']);
  });

  it('semicolon, tab and pipe delimiters are sniffed; TSV by extension', async () => {
    for (const [name, d] of [['semi.csv', ';'], ['pipe.csv', '|'], ['tabbed.tsv', '\t']] as const) {
      const path = files.write(name, csv([['x', 'y'], [1, 'a,b'], [2, 'c']], d));
      const r = await importFile(db.settings, { ...defaults, source: path });
      assert.equal(r.rows_inserted, 2, name);
      const rows = await db.rows<{ y: string }>(`select y from ${db.schema}.${r.table_name} order by id`);
      assert.deepEqual(rows.map((x) => x.y), ['a,b', 'c'], name);
    }
  });

  it('a file named .tsv whose first lines hold no tab but commas is read comma-separated, said and recorded (it was one column of whole lines); a tab anywhere in them keeps TSV', async () => {
    const r = await importFile(db.settings, { ...defaults, source: files.write('commas.tsv', 'country,year\nAlbania,1952\n'), table: 'commas_tsv' });
    assert.deepEqual(await db.rows(`select country, year from ${db.schema}.commas_tsv`), [{ country: 'Albania', year: 1952 }]);
    assert.ok(r.warnings.some((w) => w.startsWith("the file's name (or --format) says TSV, but its first 20 lines hold no tab: read as separated by \",\", which splits its header into 2 fields")), r.warnings.join('\n'));
    const [meta] = await db.rows<{ d: string; t: boolean }>(`select metadata ->> 'delimiter' as d, (metadata -> 'tsv_without_tabs')::boolean as t from ${db.schema}.import_history where import_id = $1`, [r.import_id]);
    assert.deepEqual(meta, { d: ',', t: true });
    // A tab in a later line of the first 20: a TSV whose values hold commas.
    const tsv = await importFile(db.settings, { ...defaults, source: files.write('names.tsv', 'name,x\nSmith, John\nLee\tAnn\n'), table: 'names_tsv' });
    assert.deepEqual(tsv.columns.map((c) => c.target), ['name_x']);
    assert.deepEqual(tsv.warnings.filter((w) => w.includes('says TSV')), []);
    // --delimiter says what it is.
    const asTab = await importFile(db.settings, { ...defaults, source: files.write('told.tsv', 'a,b\n1,2\n'), table: 'told_tsv', delimiter: '\t' });
    assert.deepEqual(asTab.columns.map((c) => c.target), ['a_b']);
  });

  it('headers that make the same column name (Sales %, Sales $; Name, name) in another order in a later file go into the columns earlier imports put them in, said; not swapped by position', async () => {
    const first = await importFile(db.settings, { ...defaults, source: files.write('sales1.csv', 'region,Sales %,Sales $,Name,name\nNorth,12.5,100.25,Nora,nora\n'), table: 'sales_cols' });
    assert.ok(first.warnings.some((w) => w.startsWith('headers "Sales %", "Sales $", "Name", "name" make the same column name: named by their order in the file')), first.warnings.join('\n'));
    const later = await importFile(db.settings, { ...defaults, source: files.write('sales2.csv', 'region,name,Sales $,Sales %,Name\nSouth,sam,200.75,7.5,Sam\n'), table: 'sales_cols' });
    assert.equal(later.import_strategy, 'merge_exact');
    assert.ok(later.warnings.some((w) => w.includes('come in another order than before')), later.warnings.join('\n'));
    assert.deepEqual(await db.rows(`select region, sales::text, sales_2::text, name, name_2 from ${db.schema}.sales_cols order by id`), [
      { region: 'North', sales: '12.5', sales_2: '100.25', name: 'Nora', name_2: 'nora' },
      { region: 'South', sales: '7.5', sales_2: '200.75', name: 'Sam', name_2: 'sam' },
    ]);
    // The same order again is said nothing more of.
    const same = await importFile(db.settings, { ...defaults, source: files.write('sales3.csv', 'region,Sales %,Sales $,Name,name\nEast,1,2,Eve,eve\n'), table: 'sales_cols' });
    assert.deepEqual(same.warnings.filter((w) => w.includes('same column name')), []);
  });

  it("short records (mapping errors) are seen by type inference too: distro-info-data's debian.csv, whose older releases lack fields, makes version numeric, so that --fill-short-rows can load them into it after an undo", async () => {
    const text = 'version,name,eol\n1.1,buzz\n2.0,hamm\n7,wheezy,2018-05-31\n8,jessie,2020-06-30\n';
    const first = await importFile(db.settings, { ...defaults, source: files.write('debian.csv', text), table: 'debian_rel' });
    assert.deepEqual([first.status, first.rows_inserted, first.columns.find((c) => c.target === 'version')?.type], ['partial', 2, 'numeric']);
    await undoImport(db.settings, first.import_id, { dryRun: false, force: false, purge: false });
    const filled = await importFile(db.settings, { ...defaults, source: files.write('debian2.csv', text), table: 'debian_rel', fillShortRows: true });
    assert.deepEqual([filled.status, filled.rows_inserted], ['success', 4]);
    assert.deepEqual(await db.rows(`select version::text as v from ${db.schema}.debian_rel order by _source_row_number`), [{ v: '1.1' }, { v: '2.0' }, { v: '7' }, { v: '8' }]);
  });

  it('values shaped like dates but invalid become mapping errors; the import is partial', async () => {
    const path = files.write('dates.csv', csv([['d', 'n'], ['2023-01-02', 1], ['2023-13-45', 2], ['2023-02-28', 3]]));
    const r = await importFile(db.settings, { ...defaults, source: path });
    assert.equal(r.status, 'partial');
    assert.equal(r.rows_inserted, 2);
    assert.equal(r.mapping_errors_count, 1);
    const [e] = await db.rows<Record<string, unknown>>(`select * from ${db.schema}.mapping_errors where import_id = $1`, [r.import_id]);
    assert.equal(e?.record_number, 2);
    assert.equal(e?.source_field, 'd');
    assert.equal(e?.error_type, 'datetime_conversion');
    assert.equal(e?.source_value, '2023-13-45');
    const [h] = await db.rows<Record<string, unknown>>(`select * from ${db.schema}.import_history where import_id = $1`, [r.import_id]);
    assert.equal(h?.status, 'partial');
    assert.equal(h?.mapping_status, 'completed_with_errors');
    assert.equal(h?.mapping_errors_count, 1);
    assert.equal(h?.validation_errors, 1);
  });

  it('a delimiter at the end of every data line, not of the header: every record imported, the empty field dropped and counted (a file of many pieces, some the server could parse)', async () => {
    // (Numbered 10, 20, ...: a first field of 1, 2, 3, ... on every wider line reads as R's row names, kept: see csvHeaderWidth.test.ts.)
    const lines = Array.from({ length: 30000 }, (_, i) => `${(i + 1) * 10}\t${(i * 0.5).toFixed(1)}\tnote ${i}\t\n`);
    const path = files.write('iterations.txt', `Iteration\tLL\tnote\n${lines.join('')}`);
    const r = await importFile(db.settings, { ...defaults, source: path });
    assert.equal(r.status, 'success');
    assert.equal(r.rows_inserted, 30000);
    const [h] = await db.rows<{ dropped: number }>(`select metadata -> 'trailing_empty_fields_dropped' as dropped from ${db.schema}.import_history where import_id = $1`, [r.import_id]);
    assert.equal(h?.dropped, 30000);
    const [last] = await db.rows(`select iteration, ll, note from ${db.schema}.iterations order by iteration desc limit 1`);
    assert.deepEqual(last, { iteration: 300000, ll: '14999.5', note: 'note 29999' });
  });

  it('--skip-lines skips a title above the header: every record imported, the lines skipped and the option in metadata', async () => {
    const path = files.write('titled.csv', 'Tabelle 1: Erwerbstätige\n\nObs;GNP\n1;234289\n2;259426\n');
    const r = await importFile(db.settings, { ...defaults, source: path, skipLines: 2 });
    assert.equal(r.status, 'success');
    assert.equal(r.rows_inserted, 2);
    const [h] = await db.rows<{ skipped: number; option: number }>(
      `select metadata -> 'skipped_lines' as skipped, metadata -> 'options' -> 'skip_lines' as option from ${db.schema}.import_history where import_id = $1`,
      [r.import_id],
    );
    assert.deepEqual(h, { skipped: 2, option: 2 });
    assert.deepEqual(await db.rows(`select obs, gnp from ${db.schema}.titled order by obs`), [{ obs: 1, gnp: 234289 }, { obs: 2, gnp: 259426 }]);
  });

  it('rows with too few or too many fields become mapping errors, not a crash, each keeping the record as a CSV line', async () => {
    const path = files.write('ragged.csv', 'a;b\n1;2\n3\n4;"5;x";6;;""\n7;8\n"say ""hi""\nthere"\n');
    const r = await importFile(db.settings, { ...defaults, source: path });
    assert.equal(r.status, 'partial');
    assert.equal(r.rows_inserted, 2);
    const errs = await db.rows<{ record_number: number; error_type: string; source_value: string }>(
      `select record_number, error_type, source_value from ${db.schema}.mapping_errors where import_id = $1 order by record_number`,
      [r.import_id],
    );
    assert.deepEqual(errs.map((e) => e.record_number), [2, 3, 5]);
    // The fields past the header, which no column holds, are there; quoted as COPY would read them back.
    assert.deepEqual(errs.map((e) => e.source_value), ['3', '4;"5;x";6;;""', '"say ""hi""\nthere"']);
    const rows = await db.rows<{ _source_row_number: number }>(`select _source_row_number from ${db.schema}.ragged order by id`);
    assert.deepEqual(rows.map((x) => x._source_row_number), [1, 4]);
  });

  it('rows a BEFORE INSERT trigger leaves out or stores in a child table are said in warnings and metadata; the child rows count as inserted', async () => {
    const s = db.schema;
    await importFile(db.settings, { ...defaults, source: files.write('flt0.csv', 'k,qty\nz,1\n'), table: 'flt' });
    await db.rows(`create function ${s}.flt_skip() returns trigger language plpgsql as $$ begin if new.qty < 0 then return null; end if; return new; end $$`);
    await db.rows(`create trigger skipneg before insert on ${s}.flt for each row execute function ${s}.flt_skip()`);
    const skipped = await importFile(db.settings, { ...defaults, source: files.write('flt1.csv', 'k,qty\na,1\nb,-2\nc,3\n'), table: 'flt' });
    assert.deepEqual([skipped.rows_inserted, skipped.rows_skipped, skipped.duplicates_found], [2, 1, 0]);
    assert.ok(skipped.warnings.some((w) => /^1 row\(s\) sent to flt were not stored: a trigger on it left them out/.test(w)), skipped.warnings.join('\n'));
    await importFile(db.settings, { ...defaults, source: files.write('red0.csv', 'k,qty\nz,1\n'), table: 'red' });
    await db.rows(`create table ${s}.red_child () inherits (${s}.red)`);
    await db.rows(`create function ${s}.red_route() returns trigger language plpgsql as $$ begin insert into ${s}.red_child values (new.*); return null; end $$`);
    await db.rows(`create trigger route before insert on ${s}.red for each row execute function ${s}.red_route()`);
    const routed = await importFile(db.settings, { ...defaults, source: files.write('red1.csv', 'k,qty\na,1\nb,2\n'), table: 'red' });
    assert.deepEqual([routed.rows_inserted, routed.rows_skipped], [2, 0]);
    assert.ok(routed.warnings.some((w) => /^2 row\(s\) sent to red were stored by a trigger in its inheritance child tables/.test(w)), routed.warnings.join('\n'));
    const history = await db.rows<{ rows_inserted: number; metadata: Record<string, unknown> }>(
      `select rows_inserted, metadata from ${s}.import_history where import_id = any($1::uuid[]) order by import_timestamp`, [[skipped.import_id, routed.import_id]]);
    assert.deepEqual(history.map((h) => [h.rows_inserted, h.metadata.rows_not_stored, h.metadata.rows_stored_in_child_tables]), [[2, 1, undefined], [2, undefined, 2]]);
  });
});
