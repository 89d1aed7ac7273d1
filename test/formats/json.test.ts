import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHeapStatistics } from 'node:v8';
import { AtlasError, UsageError } from '../../src/errors.ts';
import { openJson, openNdjson, parseRecordPath } from '../../src/formats/json/json.ts';
import { compactJson, flattenRecord, flattenVerified } from '../../src/formats/json/jsonFlatten.ts';
import { lateArrays, newKeyShapes, type KeyShapes } from '../../src/formats/shared/lateArrays.ts';
import { JsonArrayScanner, MAX_RECORD_CHARS, MAX_RECORD_COLUMNS } from '../../src/formats/json/jsonScanner.ts';
import { chunked, plain, readRecords, within } from './readerHelpers.ts';

const json = (text: string, recordPath: string | null = null, size?: number) => openJson(chunked(text, size), { recordPath, encoding: null });
const ndjson = (text: string, size?: number) => openNdjson(chunked(text, size), { encoding: null });
/** Opens and reads everything: some errors only show up after the first records. */
const readJson = async (text: string, recordPath: string | null = null) => readRecords(await json(text, recordPath));
const readNdjson = async (text: string) => readRecords(await ndjson(text));

/** Elements the scanner hands over when fed `text` in chunks of `size`. */
function scan(text: string, path: string[], size: number): string[] {
  const out: string[] = [];
  const s = new JsonArrayScanner(path, (t) => out.push(t));
  for (let i = 0; i < text.length; i += size) s.push(text.slice(i, i + size));
  s.end();
  return out;
}

const NESTED = `{
  "meta": {"note": "a ] and a [ and a \\" and a }", "list": [[1, {"data": "decoy"}], "x"]},
  "data": {
    "count": 2, "flag": true, "none": null,
    "items": [
      {"id": 1, "name": "Ann \\u00e9\\n", "amount": 1.50, "big": 1e3, "ok": true, "gone": null},
      {"id": 2, "name": "Zoë 😀", "address": {"city": "Paris", "geo": {"lat": 48.85}, "tags": ["a", "b"]}, "list": [1, [2]]}
    ],
    "after": [{"not": "a record"}]
  },
  "tail": "x"
}`;

describe('openJson', () => {
  it('reads a top-level array of objects, flattening one level and keeping numbers as written', async () => {
    const table = await json('[{"id": 1, "amount": 1.50, "exp": -2.5E+3, "ok": false, "none": null, "s": "a\\"b\\\\c\\u00e9",\n "a": {"b": 1, "c": {"d": [1, 2]}, "e": [ 1 , 2 ]}, "tags": ["x", {"y": 1}], "empty": {}, "__proto__": "p"}]');
    const records = await readRecords(table);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.rn, 1);
    assert.deepEqual(plain(records), [
      { id: '1', amount: '1.50', exp: '-2.5E+3', ok: 'false', none: null, s: 'a"b\\cé', a_b: '1', a_c: '{"d":[1,2]}', a_e: '[1,2]', tags: '["x",{"y":1}]', empty: '{}', ['__proto__']: 'p' },
    ]);
    assert.deepEqual([...table.jsonKeys].sort(), ['a_c', 'a_e', 'empty', 'tags']);
    assert.deepEqual(table.details, { format: 'json', record_path: null, encoding: 'utf-8' });
  });

  it('follows --record-path through objects, past decoy brackets, keys and arrays', async () => {
    const table = await json(NESTED, 'data.items');
    assert.deepEqual(table.details, { format: 'json', record_path: 'data.items', encoding: 'utf-8' });
    const records = await readRecords(table);
    assert.deepEqual(records.map((r) => r.rn), [1, 2]);
    assert.deepEqual(plain(records), [
      { id: '1', name: 'Ann é\n', amount: '1.50', big: '1e3', ok: 'true', gone: null },
      { id: '2', name: 'Zoë 😀', address_city: 'Paris', address_geo: '{"lat":48.85}', address_tags: '["a","b"]', list: '[1,[2]]' },
    ]);
    assert.deepEqual([...table.jsonKeys].sort(), ['address_geo', 'address_tags', 'list']);
  });

  it('gives the same records whatever the chunk boundaries, down to one byte at a time', async () => {
    const whole = plain(await readRecords(await json(NESTED, 'data.items')));
    for (const size of [1, 2, 3, 5, 7, 64]) {
      assert.deepEqual(plain(await readRecords(await json(NESTED, 'data.items', size))), whole, `chunks of ${size} bytes`);
    }
    const text = NESTED.replace(/\s+/g, ' ');
    const expected = scan(text, ['data', 'items'], text.length);
    for (let size = 1; size <= 40; size++) assert.deepEqual(scan(text, ['data', 'items'], size), expected, `scanner, chunks of ${size}`);
  });

  it('streams: returns after the first records without reading the rest', async () => {
    let chunksRead = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      yield Buffer.from('[');
      for (let i = 0; ; i++) {
        chunksRead++;
        yield Buffer.from(`{"i": ${i}},`.repeat(100));
      }
    }
    const stream = await openJson(endless(), { recordPath: null, encoding: null });
    const first = await stream.batches[Symbol.asyncIterator]().next();
    assert.equal(plain(first.value ?? [])[0]?.i, '0');
    assert.ok(chunksRead <= 2, `read ${chunksRead} chunks`);
  });

  it('names the element that is not an object', async () => {
    await assert.rejects(readJson('[{"a": 1}, {"a": 2}, 3]'), /^AtlasError: array element 3 \(index 2\) is a number, not an object/);
    await assert.rejects(readJson('[["a"]]'), /array element 1 \(index 0\) is an array, not an object/);
    await assert.rejects(readJson('{"items": [{"a": 1}, "x"]}', 'items'), /array element 2 \(index 1\) is a string/);
  });

  it('explains a document of the wrong shape', async () => {
    await assert.rejects(readJson('{"meta": {}, "rows": [{"a": 1}]}'), (err: Error) => {
      assert.ok(err instanceof AtlasError);
      assert.equal(err.message, 'the JSON is an object, not an array of records');
      assert.match(err.hint ?? '', /--record-path rows/);
      return true;
    });
    await assert.rejects(readJson('{"a": 1}\n{"a": 2}\n'), (err: Error) => {
      assert.ok(err instanceof AtlasError);
      assert.equal(err.message, 'the file holds JSON objects one after another, not an array of records: that is JSON Lines');
      assert.equal(err.hint, 'read it with --format ndjson');
      return true;
    });
    await assert.rejects(readJson('{"a": 1}\n'), /the JSON is an object holding no array of records/);
    // The array of the most objects, at any depth through objects (simdjson's apache_builds.json:
    // assignedLabels, one empty object, before jobs), not the first array met.
    const hintOf = async (text: string): Promise<string | null> => ((await readJson(text).catch((e: unknown) => e)) as AtlasError).hint;
    assert.equal(await hintOf('{"tags": ["x", "y", "z"], "assignedLabels": [{}], "mode": "N", "data": {"jobs": [{"a": 1}, {"a": 2}]}}'), 'name the array that holds the records with --record-path, e.g. --record-path data.jobs (its 2 objects)');
    assert.equal(await hintOf('{"tags": ["x"]}'), 'name the array that holds the records with --record-path, e.g. --record-path tags');
    // Past 16M characters (less under a small heap) the document is not parsed: the first array of the top-level object is named.
    assert.equal(await hintOf(`{"big": "${'x'.repeat(17 << 20)}", "first": [1], "rows": [{"a": 1}, {"a": 2}]}`), 'name the array that holds the records with --record-path, e.g. --record-path first');
    await assert.rejects(readJson('"text"'), /not a JSON array of objects: it starts with a string/);
    await assert.rejects(readJson('{"data": {"items": 5}}', 'data.items'), /^AtlasError: data\.items is a number, not an array/);
    await assert.rejects(readJson('{"data": [1]}', 'data.items'), /data is an array, not an object/);
    await assert.rejects(readJson('{"data": {"other": []}}', 'data.items'), /no key "items" in data/);
    // After the records the document is read to its end: keys after the array are fine, anything
    // after the document (another one, concatenated: iso-codes' files cat together) or a missing brace is not.
    const after = '{"data": {"items": [{"a": 1}], "count": 1, "x": {"y": [2]}}, "meta": {"z": "]}"}}';
    assert.deepEqual(plain(await readRecords(await json(after, 'data.items'))), [{ a: '1' }]);
    await assert.rejects(readJson(`${after}\n{"data": {"items": [{"a": 2}]}}`, 'data.items'), /^AtlasError: unexpected text after the JSON document/);
    await assert.rejects(readJson(after.slice(0, -1), 'data.items'), /the JSON ends after the array of records at data\.items, before the objects around it close: the file is truncated/);
    await assert.rejects(readJson('{"data": {"items": [{"a": 1}]} "x": 1}', 'data.items'), /invalid JSON: expected "," or "}", found "\""/);
    await assert.rejects(readJson('[{"a": 1}]', 'data'), /the JSON is an array, so --record-path data finds nothing/);
    assert.throws(() => parseRecordPath('data..items'), UsageError);
    assert.deepEqual(parseRecordPath('$.data.items'), ['data', 'items']);
  });

  it('reports truncated, empty and invalid JSON in one line', async () => {
    await assert.rejects(readJson('[{"a": 1}, {"a": '), /the JSON ends inside the array of records, after 1 record\(s\): the file is truncated/);
    await assert.rejects(readJson(''), /the file is empty/);
    await assert.rejects(readJson('   \n'), /the file is empty/);
    await assert.rejects(readJson('[{"a": 1}] trailing'), /unexpected text after the top-level JSON array/);
    await assert.rejects(readJson('[{"a": 1},]'), /a comma before "\]" after record 1/);
    await assert.rejects(readJson('[{"a": 1 "b": 2}]'), (err: Error) => err instanceof AtlasError && /^record 1 of the array is not valid JSON: /.test(err.message) && !err.message.includes('\n'));
  });

  it('refuses JSON nested 10,000 deep, quickly and without a stack overflow', async () => {
    const deep = `[{"a": ${'['.repeat(10_000)}${']'.repeat(10_000)}}]`;
    await within(5000, assert.rejects(readJson(deep), /^AtlasError: the JSON is nested more than 1000 levels deep in record 1/));
    const deepPath = `{"d": ${'{"d": '.repeat(10_000)}1${'}'.repeat(10_001)}`;
    await within(5000, assert.rejects(readJson(deepPath, 'x'), /nested more than 1000 levels deep/));
    // Within the limit is fine.
    const ok = `[{"a": ${'['.repeat(500)}${']'.repeat(500)}}]`;
    assert.equal(plain(await readRecords(await json(ok)))[0]?.a, '['.repeat(500) + ']'.repeat(500));
  });

  it('sets the per-record limit from the heap: 1/32 of it, in whole MiB, at most 256 MiB', () => {
    const heap = getHeapStatistics().heap_size_limit;
    assert.equal(MAX_RECORD_CHARS, Math.min(256, Math.max(1, Math.floor(heap / 32 / 1024 / 1024))) * 1024 * 1024);
  });

  it('reads a 20 MB string value', async () => {
    const big = 'x'.repeat(20 * 1024 * 1024);
    const records = await readRecords(await json(`[{"id": 1, "blob": "${big}", "after": "\\"y\\""}]`));
    assert.equal(plain(records)[0]?.blob?.length, big.length);
    assert.equal(plain(records)[0]?.after, '"y"');
  });

  it('refuses more distinct keys than a table can have columns, as soon as a record brings them', async () => {
    const keys = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => `"k${from + i}": ${i}`).join(', ');
    assert.equal((await readJson(`[{${keys(MAX_RECORD_COLUMNS)}}]`)).length, 1, 'up to the limit is fine');
    await assert.rejects(readJson(`[{${keys(MAX_RECORD_COLUMNS + 1)}}]`), /^AtlasError: record 1 brings the number of distinct keys past 1594: a PostgreSQL table holds at most 1600 columns, 6 of them atlas's own/);
    // Keys of a nested object are columns too (a_b), the object's own key is not.
    await assert.rejects(readJson(`[{"id": 1, "a": {${keys(MAX_RECORD_COLUMNS)}}}]`), /record 1 brings the number of distinct keys past/);
    const oneNewKeyEach = Array.from({ length: MAX_RECORD_COLUMNS + 10 }, (_, i) => `{"id": ${i}, "k${i}": 1}`);
    await assert.rejects(readJson(`[${oneNewKeyEach.join(',')}]`), /^AtlasError: record 1594 brings the number of distinct keys past 1594/);
    await assert.rejects(readNdjson(oneNewKeyEach.join('\n')), /^AtlasError: line 1594 brings the number of distinct keys past 1594/);
  });

  it('counts the levels around the records in the depth limit: the array, and the objects of --record-path', async () => {
    const nest = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
    // array (1) + record (2) + 998 levels = 1000.
    assert.deepEqual(plain(await readJson(`[{"id": 1}, {"a": ${nest(998)}}]`)), [{ id: '1' }, { a: nest(998) }]);
    await assert.rejects(readJson(`[{"id": 1}, {"a": ${nest(999)}}]`), /nested more than 1000 levels deep in record 2/);
    await assert.rejects(readJson(`[{"a": {"b": ${nest(998)}}}]`), /nested more than 1000 levels deep in record 1/);
    assert.equal((await readJson(`{"x": {"y": [{"a": ${nest(997)}}]}}`, 'x.y')).length, 1);
    await assert.rejects(readJson(`{"x": {"y": [{"a": ${nest(998)}}]}}`, 'x.y'), /nested more than 1000 levels deep in record 1/);
  });

  it('reads records split anywhere across the input chunks as it reads them whole', async () => {
    const records = Array.from({ length: 40 }, (_, i) => `{"id": ${i}, "s": "x\\"${'y'.repeat(i)}\\\\", "n": ${i % 2 ? 'null' : '1.50'}, "o": {"p": [${i}]}}`);
    const text = `[${records.join(',\n ')}]`;
    const whole = plain(await readJson(text));
    assert.equal(whole.length, 40);
    assert.deepEqual(whole[3], { id: '3', s: 'x"yyy\\', n: null, o_p: '[3]' });
    for (const size of [1, 7, 50, 100, 333]) assert.deepEqual(plain(await readRecords(await json(text, null, size))), whole, `chunks of ${size} bytes`);
  });

  it('decodes UTF-16 with a BOM, and the encoding named', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[{"name": "Zoë"}]', 'utf16le')]);
    const t1 = await openJson(chunked(utf16, 3), { recordPath: null, encoding: null });
    assert.deepEqual(plain(await readRecords(t1)), [{ name: 'Zoë' }]);
    assert.equal(t1.details.encoding, 'utf-16le');
    const latin1 = Buffer.from('[{"name": "Zoë"}]', 'latin1');
    assert.deepEqual(plain(await readRecords(await openJson(chunked(latin1), { recordPath: null, encoding: 'latin1' }))), [{ name: 'Zoë' }]);
    await assert.rejects(openJson(chunked(latin1), { recordPath: null, encoding: null }), /not valid utf-8/);
  });
});

describe('openNdjson', () => {
  const lines = '{"id": 1, "amount": 1.50, "a": {"b": true}}\r\n\n   \n{"id": 2, "tags": [1, 2]}\n{"id": 3}';

  it('reads one object per line, skipping blank lines, with or without a final newline', async () => {
    const table = await ndjson(lines);
    const records = await readRecords(table);
    assert.deepEqual(records.map((r) => r.rn), [1, 2, 3]);
    assert.deepEqual(plain(records), [{ id: '1', amount: '1.50', a_b: 'true' }, { id: '2', tags: '[1,2]' }, { id: '3' }]);
    assert.deepEqual([...table.jsonKeys], ['tags']);
    assert.deepEqual(table.details, { format: 'ndjson', record_path: null, encoding: 'utf-8' });
    for (const size of [1, 2, 3, 10]) assert.deepEqual(plain(await readRecords(await ndjson(lines, size))), plain(records), `chunks of ${size}`);
  });

  it('fails on a line that is not JSON, or not an object, naming the line', async () => {
    await assert.rejects(readNdjson('{"a": 1}\n\n{"a": \n'), (err: Error) => err instanceof AtlasError && /^line 3 is not valid JSON: /.test(err.message) && !err.message.includes('\n'));
    await assert.rejects(readNdjson('{"a": 1}\n[1, 2]\n'), /^AtlasError: line 2 is an array, not a JSON object/);
    await assert.rejects(readNdjson('{"a": 1}\n42\n'), /line 2 is a number, not a JSON object/);
    await assert.rejects(readNdjson(`{"a": ${'['.repeat(10_000)}${']'.repeat(10_000)}}\n`), /line 1 is nested more than 1000 levels deep/);
  });

  it('says where a line or record is not JSON, naming a NUL or control character instead of quoting it', async () => {
    const noRaw = (pattern: RegExp) => (err: Error) => {
      assert.ok(err instanceof AtlasError);
      assert.match(err.message, pattern);
      assert.ok(!/[\x00-\x1f]/.test(err.message), JSON.stringify(err.message));
      return true;
    };
    // NUL padding after the last line, as a crashed log writer leaves.
    await assert.rejects(readNdjson(`{"a":1}\n{"a":2}\n${'\0'.repeat(4096)}`), noRaw(/^line 3 is not valid JSON: found a NUL byte at character 1, where JSON cannot have it$/));
    await assert.rejects(readNdjson('{"a":1}\u0001\n'), noRaw(/^line 1 is not valid JSON: Unexpected non-whitespace character after JSON at character 8 \(U\+0001\)$/));
    await assert.rejects(readNdjson('{"a":{}, "b":}\n'), noRaw(/^line 1 is not valid JSON: found "}" at character 14, where JSON cannot have it$/));
    await assert.rejects(readJson('[{"a":"x\0y"}]'), noRaw(/^record 1 of the array is not valid JSON: Bad control character in string literal at character 8 \(a NUL byte\)$/));
    await assert.rejects(readJson('[{"a":1},\n\0{"a":2}]'), noRaw(/^array element 2 \(index 1\) is a NUL byte, not an object: every record must be a JSON object \(at character 11\)$/));
  });

  it('refuses a line nested past 1000 levels and reads one at 1000 exactly, wherever the deep value sits', async () => {
    const nest = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
    // The record object is level 1: a member's array of 999 levels makes 1000, one of 1000 makes 1001.
    assert.deepEqual(plain(await readNdjson(`{"a": ${nest(999)}}\n`)), [{ a: nest(999) }]);
    await assert.rejects(readNdjson(`{"a": 1}\n{"a": ${nest(1000)}}\n`), /^AtlasError: line 2 is nested more than 1000 levels deep/);
    // Inside a nested object (flattened to a_b) the array starts a level further in.
    assert.deepEqual(plain(await readNdjson(`{"a": {"b": ${nest(998)}}}\n`)), [{ a_b: nest(998) }]);
    await assert.rejects(readNdjson(`{"a": {"b": ${nest(999)}}}\n`), /line 1 is nested more than 1000 levels deep/);
  });

  it('reads keys repeated from record to record exactly, whatever changes between them, and shares one keys array among records with the same keys', async () => {
    const text = [
      '{"id": 1, "name": "a"}',
      '{"id": 2, "name": "b"}',
      '{"name": "c", "id": 3}', // same keys, other order
      '{"id\\u0032": 4, "name": "d"}', // an escaped key: "id2"
      '{"id2": 5, "namex": "e"}', // a key the last one's text starts
      '{"i": 6, "name": "f", "more": 1}',
      '{"i": 7, "name": "g", "more": 2}',
      '{"\\"": 8}',
      '{"\\"": 9}',
    ].join('\n');
    const records = await readNdjson(text);
    assert.deepEqual(plain(records), [
      { id: '1', name: 'a' },
      { id: '2', name: 'b' },
      { name: 'c', id: '3' },
      { id2: '4', name: 'd' },
      { id2: '5', namex: 'e' },
      { i: '6', name: 'f', more: '1' },
      { i: '7', name: 'g', more: '2' },
      { '"': '8' },
      { '"': '9' },
    ]);
    assert.deepEqual(records.map((r) => r.keys), [['id', 'name'], ['id', 'name'], ['name', 'id'], ['id2', 'name'], ['id2', 'namex'], ['i', 'name', 'more'], ['i', 'name', 'more'], ['"'], ['"']]);
    const shared = (a: number, b: number): boolean => records[a]!.keys === records[b]!.keys;
    assert.deepEqual([shared(0, 1), shared(1, 2), shared(5, 6), shared(7, 8)], [true, false, true, true]);
    // The JSON array reader shares them too.
    const array = await readJson(`[${text.split('\n').join(',')}]`);
    assert.deepEqual(plain(array), plain(records));
    assert.equal(array[0]!.keys, array[1]!.keys);
  });

  it('reads an empty file as no records', async () => {
    assert.deepEqual(await readRecords(await ndjson('')), []);
    assert.deepEqual(await readRecords(await ndjson('\n\n')), []);
  });
});

describe('flattenRecord', () => {
  it('keeps later duplicate keys and compacts deep values', () => {
    const shapes = newKeyShapes();
    assert.deepEqual(plain([flattenRecord('{"a": 1, "a": 2, "b": { "c" : [ 1 , "x y" ] } }', shapes)])[0], { a: '2', b_c: '[1,"x y"]' });
    assert.deepEqual([...shapes.jsonKeys], ['b_c']);
    assert.equal(compactJson('{ "a" : [ 1, " s p " ], "b" :\n\t{} }'), '{"a":[1," s p "],"b":{}}');
  });

  it('keeps an empty object as jsonb {} under its own key (it has no member to flatten), checked or not', () => {
    for (const read of [(t: string, s: KeyShapes) => flattenRecord(t, s), (t: string, s: KeyShapes) => flattenVerified(t, s)!]) {
      const shapes = newKeyShapes();
      assert.deepEqual(plain([read('{"id":1,"meta":{ },"deep":{"x":{}},"next":{"a":1}}', shapes)])[0], { id: '1', meta: '{}', deep_x: '{}', next_a: '1' });
      assert.deepEqual([...shapes.jsonKeys].sort(), ['deep_x', 'meta']);
    }
  });
});

describe('flattenRecord: one key, one shape', () => {
  it('writes a key that held an array as an array from then on, and remembers what the records before it need', () => {
    const shapes = newKeyShapes();
    const read = (text: string, rn: number) => plain([flattenRecord(text, shapes, undefined, rn)])[0];
    assert.deepEqual(read('{"id":"a_1","loc":{"lat":1.5,"name":"p","deep":{"k":1}},"code":7,"first_name":"x"}', 1), {
      id: 'a_1', loc_lat: '1.5', loc_name: 'p', loc_deep: '{"k":1}', code: '7', first_name: 'x',
    });
    assert.deepEqual(read('{"loc":"plain","code":"[s"}', 2), { loc: 'plain', code: '[s' });
    assert.deepEqual(read('{"loc":[1, {"a" : 2}],"code":[true]}', 3), { loc: '[1,{"a":2}]', code: '[true]' });
    // From now on: an object (no longer flattened), a string, a number are written as JSON, as they are (castSql makes arrays of one); null stays null.
    assert.deepEqual(read('{"loc":{"lat":2, "x":[ ]},"code":"[s"}', 4), { loc: '{"lat":2,"x":[]}', code: '"[s"' });
    assert.deepEqual(read('{"loc":null,"code":-1e3}', 5), { loc: null, code: '-1e3' });
    assert.deepEqual(lateArrays(shapes), [
      { key: 'loc', since: 3, members: [{ column: 'loc_lat', member: 'lat' }, { column: 'loc_name', member: 'name' }, { column: 'loc_deep', member: 'deep' }] },
      { key: 'code', since: 3, members: [] },
    ]);
    assert.equal(shapes.jsonSince.get('loc_deep'), 1);
    // code held a number before its first array (staged as written), loc_lat too; loc_name and id only strings.
    assert.deepEqual([...shapes.literals].sort(), ['code', 'loc_lat']);
  });

  it('in a column of JSON that is not an array, writes scalars as JSON from its first JSON value on', () => {
    const shapes = newKeyShapes();
    const read = (text: string, rn: number) => plain([flattenRecord(text, shapes, undefined, rn)])[0];
    assert.deepEqual(read('{"m":{"d":"[1]"}}', 1), { m_d: '[1]' });
    assert.deepEqual(read('{"m":{"d":{"x":1}}}', 2), { m_d: '{"x":1}' });
    assert.deepEqual(read('{"m":{"d":"{\\"a\\":1}"}}', 3), { m_d: '"{\\"a\\":1}"' });
    assert.deepEqual(read('{"m":{"d":2}}', 4), { m_d: '2' });
    assert.deepEqual(lateArrays(shapes), []);
    assert.equal(shapes.jsonSince.get('m_d'), 2);
  });

  it('a top-level key of the same name as a flattened member makes that column no member', () => {
    const shapes = newKeyShapes();
    flattenRecord('{"a_b":1}', shapes, undefined, 1);
    flattenRecord('{"a":{"b":2,"c":3}}', shapes, undefined, 2);
    flattenRecord('{"a":[]}', shapes, undefined, 3);
    assert.deepEqual(lateArrays(shapes), [{ key: 'a', since: 3, members: [{ column: 'a_c', member: 'c' }] }]);
  });
});

describe('flattenVerified', () => {
  const seeds = [
    '{"id":1,"name":"Ann","score":-1.5e3,"ok":true,"no":false,"none":null,"tags":["a",{"b":[1]}],"addr":{"city":"Oslo","geo":{"lat":1}},"esc":"a\\"b\\u00e9\\n"}',
    '{ "a" : 0 , "b" : { } , "c" : [ ] ,\n\t"d" : "x y" }',
    '{}',
    '{"":"","\\u0041":{"":0}}',
  ];
  it('flattens valid records as flattenRecord does', () => {
    for (const text of seeds) {
      const verified = flattenVerified(text, newKeyShapes());
      assert.ok(verified !== null, text);
      assert.deepEqual(verified, flattenRecord(text, newKeyShapes()), text);
    }
  });

  it('leaves every invalid record, and every non-object, to JSON.parse', () => {
    const invalid = [
      '{"a":01}', '{"a":-01}', '{"a":1.}', '{"a":.5}', '{"a":+1}', '{"a":1e}', '{"a":-}', '{"a":tru}', '{"a":nul}', '{"a":True}',
      '{"a":{"b":1]}', '{"a":[1}', '{"a" 1}', '{"a"::1}', '{"a":}', '{"a":1,}', '{,"a":1}', '{"a":1}}', '{"a":1} x', '{"a":1 "b":2}',
      '{"a":"\u0001"}', '{"a":"\\x"}', "{'a':1}", '{a:1}', '{"a":1', '{"a"}', '{"a\\"}', '{"a":{"b":1,}}', '{"a":{"b" 1}}', '{"a":{"b":01}}',
      '{"a":\u000b1}', '{\n"a": "x\ny"}', '\u00a0{"a":1}', '{"a":1}\u0000', '{"a":[1,]}', '{"a":{"b":{"c":01}}}',
    ];
    for (const text of invalid) {
      assert.throws(() => JSON.parse(text), SyntaxError, `the case itself: ${JSON.stringify(text)}`);
      assert.equal(flattenVerified(text, newKeyShapes()), null, JSON.stringify(text));
    }
    for (const text of ['[1]', '1', '"s"', 'null', ' [{"a":1}]']) assert.equal(flattenVerified(text, newKeyShapes()), null, text);
  });

  it('never accepts what JSON.parse refuses, nor anything but an object (random edits of valid records)', () => {
    // Characters that matter to JSON's grammar, and some that must be escaped or are not whitespace.
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', '\t', '\u000b', '\u0000', '\u001f', '0', '1', '-', '+', '.', 'e', 'E', 't', 'n', 'u', 'x', 'a', '\u00a0', '/'];
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 40_000; round++) {
      let text = seeds[random(seeds.length)]!;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(text.length + 1);
        const ch = alphabet[random(alphabet.length)]!;
        const kind = random(3);
        text = kind === 0 ? text.slice(0, at) + ch + text.slice(at) : kind === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + ch + text.slice(at + 1);
      }
      let parsed: unknown;
      let valid = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        valid = false;
      }
      const verified = flattenVerified(text, newKeyShapes());
      if (verified === null) {
        refused++;
        continue;
      }
      accepted++;
      assert.ok(valid, `accepted text that JSON.parse refuses: ${JSON.stringify(text)}`);
      assert.ok(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), `accepted a non-object: ${JSON.stringify(text)}`);
      assert.deepEqual(verified, flattenRecord(text, newKeyShapes()), text);
    }
    // Both outcomes are exercised: the property above is not vacuous.
    assert.ok(accepted > 1000 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
  });
});
