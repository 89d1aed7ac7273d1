import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columnNamesFromHeader, importIdIndexName, MAX_SOURCE_NAME_CHARS, parseTableName, reservedRenamesWarning, sanitizeIdentifier, sourceNameOf } from '../../src/transform/naming.ts';
import { tableNameFromFileName } from '../../src/formats/shared/index.ts';

describe('naming', () => {
  it('reads a table name as SQL writes it: name, schema.name, parts in double quotes (doubled quotes inside)', () => {
    assert.deepEqual(parseTableName('orders'), { schema: null, table: 'orders' });
    assert.deepEqual(parseTableName('sales.orders'), { schema: 'sales', table: 'orders' });
    assert.deepEqual(parseTableName('"a.b"'), { schema: null, table: 'a.b' });
    assert.deepEqual(parseTableName('"My Schema"."we""ird.t"'), { schema: 'My Schema', table: 'we"ird.t' });
    assert.deepEqual(parseTableName('Orders 2024'), { schema: null, table: 'Orders 2024' });
    for (const bad of ['a.b.c', 'a.', '.b', '"a.b', 'a."b"c', '"unterminated', '"']) assert.equal(parseTableName(bad), null, bad);
  });

  it('sanitises identifiers: lower case, runs of other characters become one _', () => {
    assert.equal(sanitizeIdentifier('name.common'), 'name_common');
    assert.equal(sanitizeIdentifier('First Name'), 'first_name');
    assert.equal(sanitizeIdentifier('  Total ($) '), 'total');
    assert.equal(sanitizeIdentifier('"; DROP TABLE x; --'), 'drop_table_x');
    assert.equal(sanitizeIdentifier('Größe'), 'größe');
    // Vowel signs and viramas are combining marks, part of the word: नाम, हिंदी, ชื่อ, பெயர் stay whole.
    assert.equal(sanitizeIdentifier('हिंदी नाम'), 'हिंदी_नाम');
    assert.equal(sanitizeIdentifier('ชื่อ'), 'ชื่อ');
    assert.equal(sanitizeIdentifier('பெயர்'), 'பெயர்');
    assert.equal(sanitizeIdentifier('_private'), '_private');
    assert.equal(sanitizeIdentifier('🙂'), '');
  });

  it('cuts names to 63 bytes without splitting a character', () => {
    const long = 'é'.repeat(40); // 80 bytes
    const cut = sanitizeIdentifier(long);
    assert.ok(Buffer.byteLength(cut) <= 63);
    assert.equal(cut, 'é'.repeat(31));
  });

  it('derives table names from file names', () => {
    assert.equal(tableNameFromFileName('/data/Customers 2024.csv'), 'customers_2024');
    assert.equal(tableNameFromFileName('sales.csv.gz'), 'sales');
    assert.equal(tableNameFromFileName('!!!.csv'), 'import');
  });

  it('drops every extension atlas knows from a file name, and one unknown one only when there is no known one', () => {
    for (const name of ['cities.ndjson', 'cities.jsonl', 'cities.csv.gz', 'cities.tsv.gz', 'cities.csv.zip', 'Cities.CSV.BZ2', 'cities.xml.xz', 'cities.json.gzip', 'cities.dat']) {
      assert.equal(tableNameFromFileName(name), 'cities', name);
    }
    assert.equal(tableNameFromFileName('cities.2024.csv'), 'cities_2024');
    assert.equal(tableNameFromFileName('cities.backup.csv.gz'), 'cities_backup');
    assert.equal(tableNameFromFileName('cities'), 'cities');
  });

  it('appends the sheet (or archive entry) to the file name', () => {
    assert.equal(tableNameFromFileName('/data/datasets.xlsx', 'quakes'), 'datasets_quakes');
    assert.equal(tableNameFromFileName('Budget 2024.xlsx', 'Q1 Sales'), 'budget_2024_q1_sales');
    assert.equal(tableNameFromFileName('x.xlsx', 'é'.repeat(40)), `x_${'é'.repeat(30)}`);
  });

  it('makes header names unique, fills empty ones and keeps away from metadata columns', () => {
    assert.deepEqual(columnNamesFromHeader(['id', 'Name', 'name', '', 'NAME!', '_import_id', 'select']), [
      'id_2',
      'name',
      'name_2',
      'column_4',
      'name_3',
      '_import_id_2',
      'select',
    ]);
    const a = 'x'.repeat(70);
    const names = columnNamesFromHeader([a, `${a}y`]);
    assert.equal(names[0], 'x'.repeat(63));
    assert.equal(names[1], `${'x'.repeat(61)}_2`);
  });

  it('source names: a header cell or key is kept up to 255 characters (a surrogate pair never split); one with a NUL byte is refused', () => {
    assert.equal(MAX_SOURCE_NAME_CHARS, 255);
    assert.equal(sourceNameOf('Name'), 'Name');
    assert.equal(sourceNameOf('x'.repeat(255)), 'x'.repeat(255));
    assert.equal(sourceNameOf('-'.repeat(5_000_000)), '-'.repeat(255));
    assert.equal(sourceNameOf(`${'x'.repeat(254)}😀tail`), 'x'.repeat(254));
    assert.equal(sourceNameOf('na\0me'), null);
  });

  it("PostgreSQL's system column names get a suffix like atlas's own, and the renames are one warning", () => {
    const header = ['XMin', 'ymin', 'xmax', 'ymax', 'ctid', 'tableoid', 'cmin', 'cmax', 'oid', 'id'];
    const names = columnNamesFromHeader(header);
    assert.deepEqual(names, ['xmin_2', 'ymin', 'xmax_2', 'ymax', 'ctid_2', 'tableoid_2', 'cmin_2', 'cmax_2', 'oid', 'id_2']);
    const columns = header.map((sourceName, i) => ({ sourceName, targetName: names[i]! }));
    assert.equal(
      reservedRenamesWarning(columns, new Map()),
      "column(s) renamed because their names are reserved: XMin -> xmin_2 (a PostgreSQL system column), xmax -> xmax_2 (a PostgreSQL system column), ctid -> ctid_2 (a PostgreSQL system column), tableoid -> tableoid_2 (a PostgreSQL system column), cmin -> cmin_2 (a PostgreSQL system column), cmax -> cmax_2 (a PostgreSQL system column), id -> id_2 (atlas's own column)",
    );
    // A mapping's target is what was asked for: mapping a column to xmin is a rename too, and a header merely like one is not.
    assert.equal(reservedRenamesWarning([{ sourceName: 'left', targetName: 'xmin_2' }], new Map([['left', 'xmin']])), 'column(s) renamed because their names are reserved: left -> xmin_2 (a PostgreSQL system column)');
    assert.equal(reservedRenamesWarning([{ sourceName: 'xmin', targetName: 'west' }], new Map([['xmin', 'west']])), null);
  });

  it('index names stay valid and distinct for any table name', () => {
    const long = importIdIndexName('a'.repeat(63));
    assert.ok(Buffer.byteLength(long) <= 63);
    assert.notEqual(importIdIndexName('my-table'), importIdIndexName('my table'));
    assert.match(importIdIndexName('my table'), /^idx_my_table_[0-9a-f]{8}_import_id$/);
  });
});
