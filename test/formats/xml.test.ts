import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { AtlasError, UsageError } from '../../src/errors.ts';
import { MAX_XML_COLUMNS, openXml } from '../../src/formats/xml/xml.ts';
import { lateArrays, newKeyShapes } from '../../src/formats/shared/lateArrays.ts';
import { flattenXmlRecord, parseXmlRecordPath, type XmlNode } from '../../src/formats/xml/xmlRecords.ts';
import { tempDir } from '../helpers.ts';
import { chunked, plain, readRecords, within } from './readerHelpers.ts';

const xml = (text: string | Buffer, recordPath: string | null = null, size?: number) => openXml(chunked(text, size), { recordPath, encoding: null });
/** Opens and reads everything: some errors only show up after the first records. */
const readXml = async (text: string, recordPath: string | null = null) => readRecords(await xml(text, recordPath));

const ORDERS = `<?xml version="1.0" encoding="UTF-8"?>
<!-- exported -->
<orders exported="2024-01-01">
  <meta><generator>tool</generator><generator>v2</generator></meta>
  <order id="1" status="new">
    <name>Ann &amp; Bo &#233;</name>
    <amount currency="EUR">12.50</amount>
    <note><![CDATA[<b>bold</b> & more]]></note>
    <tag>a</tag>
    <tag>b</tag>
    <address><city>Paris</city><geo><lat>48.85</lat></geo></address>
    <empty/>
  </order>
  <order id="2">
    <name>Zoë</name>
    <amount>3</amount>
    <tag>c</tag>
  </order>
</orders>`;

const EXPECTED = [
  {
    id: '1',
    status: 'new',
    name: 'Ann & Bo é',
    amount_currency: 'EUR',
    amount: '12.50',
    note: '<b>bold</b> & more',
    tag: '["a","b"]',
    address_city: 'Paris',
    address_geo: '{"lat":"48.85"}',
    empty: null,
  },
  // A child seen repeated before is JSON when single, as itself (castSql makes it an array of one in jsonb).
  { id: '2', name: 'Zoë', amount: '3', tag: '"c"' },
];

describe('openXml', () => {
  it('detects the repeated element under the root and flattens each record', async () => {
    const table = await xml(ORDERS);
    const records = await readRecords(table);
    assert.deepEqual(records.map((r) => r.rn), [1, 2]);
    assert.deepEqual(plain(records), EXPECTED);
    assert.deepEqual([...table.jsonKeys].sort(), ['address_geo', 'tag']);
    assert.deepEqual(table.details, { format: 'xml', record_element: 'order', record_path: '/orders/order', encoding: 'utf-8' });
  });

  it('shares one keys array among consecutive records with the same keys, and only those', async () => {
    const records = await readRecords(await xml('<r><x><a>1</a><b>2</b></x><x><a>3</a><b>4</b></x><x><b>5</b><a>6</a></x><x><b>7</b><a>8</a></x></r>'));
    assert.deepEqual(plain(records), [{ a: '1', b: '2' }, { a: '3', b: '4' }, { b: '5', a: '6' }, { b: '7', a: '8' }]);
    assert.deepEqual([records[0]!.keys === records[1]!.keys, records[1]!.keys === records[2]!.keys, records[2]!.keys === records[3]!.keys], [true, false, true]);
  });

  it('gives the same records whatever the chunk boundaries (text split across chunks is joined)', async () => {
    for (const size of [1, 2, 3, 7, 50]) assert.deepEqual(plain(await readRecords(await xml(ORDERS, null, size))), EXPECTED, `chunks of ${size}`);
  });

  it('takes --record-path as a name or a path', async () => {
    for (const path of ['order', 'orders/order', '/orders/order']) {
      const table = await xml(ORDERS, path);
      assert.deepEqual(plain(await readRecords(table)), EXPECTED, path);
      assert.equal(table.details.record_element, 'order');
    }
    assert.deepEqual(plain(await readXml(ORDERS, 'meta')), [{ generator: '["tool","v2"]' }]);
    assert.deepEqual(plain(await readXml(ORDERS, 'address')), [{ city: 'Paris', geo_lat: '48.85' }]);
    await assert.rejects(readXml(ORDERS, 'invoice'), /no element matches --record-path invoice/);
    await assert.rejects(readXml(ORDERS, '/order'), /no element matches/);
    assert.throws(() => parseXmlRecordPath('orders//order'), UsageError);
  });

  it('finds records deeper down, and a single record', async () => {
    const nested = '<export><header><title>a</title></header><data><row n="1"/><row n="2"/><row n="3"/></data></export>';
    const table = await xml(nested);
    assert.deepEqual(plain(await readRecords(table)), [{ n: '1' }, { n: '2' }, { n: '3' }]);
    assert.equal(table.details.record_path, '/export/data/row');
    assert.deepEqual(table.warnings, ['element(s) beside the <row> records, under <data>, not imported: <title> (under <header>) (import one with --record-path header/title, or take each <data> as a record with --record-path data)']);
    // Another kind repeated at the records' depth, under another parent: refused, naming both.
    const twoKinds = '<export><header><field>a</field><field>b</field></header><data><row n="1"/><row n="2"/><row n="3"/></data></export>';
    await assert.rejects(readXml(twoKinds), /more than one kind of repeated element: <row> under <data>, taken as the records, and <field> under <header>, which would not be imported/);
    assert.deepEqual(plain(await readRecords(await xml(twoKinds, 'data/row'))), [{ n: '1' }, { n: '2' }, { n: '3' }]);
    assert.deepEqual(plain(await readXml('<orders>\n  <order id="7"><name>x</name></order>\n</orders>')), [{ id: '7', name: 'x' }]);
  });

  it('streams: returns after the first records without reading the rest', async () => {
    let chunksRead = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      yield Buffer.from('<rows>');
      for (let i = 0; ; i++) {
        chunksRead++;
        yield Buffer.from(`<row><i>${i}</i></row>`.repeat(100));
      }
    }
    const table = await openXml(endless(), { recordPath: null, encoding: null });
    const first = await table.batches[Symbol.asyncIterator]().next();
    assert.equal(plain(first.value ?? [])[0]?.i, '0');
    assert.ok(chunksRead <= 2, `read ${chunksRead} chunks`);
  });

  it('never expands a billion-laughs DTD: a clear error, at once, in bounded memory', async () => {
    const entities = ['<!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${entities.join('\n')}\n]>\n<lolz><lol>&lol9;</lol><lol>x</lol></lolz>`;
    const before = process.memoryUsage().heapUsed;
    await within(5000, assert.rejects(readXml(bomb), (err: Error) => {
      assert.ok(err instanceof AtlasError);
      assert.equal(err.message, 'invalid XML at line 14, column 17: undefined entity &lol9;');
      assert.match(err.hint ?? '', /never expands entities declared in a DTD \(this file declares some\)/);
      return true;
    }));
    assert.ok(process.memoryUsage().heapUsed - before < 50 * 1024 * 1024, 'memory stayed bounded');
  });

  it('never reads or fetches an external entity or DTD', async () => {
    const tmp = tempDir();
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end('<!ENTITY leak "LEAKED">');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/evil.dtd`;
      const secret = tmp.write('secret.txt', 'TOP-SECRET-CONTENT');
      const fileEntity = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://${secret}">]><r><x>&xxe;</x><x>2</x></r>`;
      await assert.rejects(readXml(fileEntity), (err: Error) => {
        assert.match(err.message, /undefined entity &xxe;/);
        assert.doesNotMatch(`${err.message} ${(err as AtlasError).hint}`, /TOP-SECRET/);
        return true;
      });
      await assert.rejects(readXml(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY web SYSTEM "${url}">]><r><x>&web;</x></r>`), /undefined entity &web;/);
      // An external DTD and a parameter entity are not loaded: the document reads as written.
      const withDtd = `<?xml version="1.0"?><!DOCTYPE r SYSTEM "${url}"><r><x>1</x><x>2</x></r>`;
      assert.deepEqual(plain(await readXml(withDtd)), [{ x: '1' }, { x: '2' }]);
      const paramEntity = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "${url}"> %p;]><r><x>1</x><x>&amp;</x></r>`;
      assert.deepEqual(plain(await readXml(paramEntity)), [{ x: '1' }, { x: '&' }]);
      assert.equal(requests, 0, 'nothing was fetched');
    } finally {
      server.close();
      tmp.cleanup();
    }
  });

  it('refuses a DOCTYPE or attribute past the 64 KiB buffer of the parser, and reads long text', async () => {
    await assert.rejects(readXml(`<!DOCTYPE r [${'<!ENTITY a "b">'.repeat(700_000)}]><r/>`), /a DOCTYPE declaration longer than 64 KiB, the XML parser's limit/);
    await assert.rejects(readXml(`<r><x a="${'v'.repeat(1_000_000)}"/></r>`), /an attribute value longer than 64 KiB/);
    const long = 'y'.repeat(5 * 1024 * 1024);
    assert.equal(plain(await readXml(`<r><x><v>${long}</v></x><x><v>2</v></x></r>`))[0]?.v?.length, long.length);
  });

  it('refuses more distinct columns than a table can have, as soon as a record brings them', async () => {
    const rows = Array.from({ length: MAX_XML_COLUMNS + 10 }, (_, i) => `<row><k${i}>1</k${i}></row>`).join('');
    await assert.rejects(readXml(`<rows>${rows}</rows>`), /^AtlasError: record 1595 brings the number of distinct columns \(attributes and child elements\) past 1594/);
    const attrs = Array.from({ length: MAX_XML_COLUMNS + 1 }, (_, i) => `a${i}="1"`).join(' ');
    await assert.rejects(readXml(`<rows><row ${attrs}/><row/></rows>`), /record 1 brings the number of distinct columns/);
  });

  it('refuses elements nested 10,000 deep without a stack overflow', async () => {
    const deep = `<r>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</r>`;
    await within(5000, assert.rejects(readXml(deep), /^AtlasError: the XML is nested more than 1000 elements deep/));
  });

  it('reports malformed XML in one line', async () => {
    const oneLine = (re: RegExp) => (err: Error) => err instanceof AtlasError && re.test(err.message) && !err.message.includes('\n');
    await assert.rejects(readXml('<r><x>1</x><x>2</x>'), oneLine(/^invalid XML at line 1, column \d+: Unclosed root tag$/));
    await assert.rejects(readXml('<r><x>1</y></r>'), oneLine(/^invalid XML at line 1, column \d+: Unexpected close tag/));
    await assert.rejects(readXml('{"a": 1}'), oneLine(/^invalid XML at line 1, column 1: Non-whitespace before first tag$/));
    await assert.rejects(readXml('<r><x>1</x></r><r><x>2</x></r>'), /a second root element <r>/);
    await assert.rejects(readXml(''), /the file is empty/);
    await assert.rejects(readXml('<?xml version="1.0"?>\n'), /no XML element found/);
  });

  it('decodes character references, and names a bad one as such (not as an undefined entity)', async () => {
    assert.deepEqual(plain(await readXml('<r><x a="&#233;">caf&#xe9; &#x1F600;</x><x>&lt;&#65;&gt;</x></r>')), [{ a: 'é', x: 'café 😀' }, { x: '<A>' }]);
    for (const ref of ['&#0;', '&#1;', '&#xD800;', '&#xFFFE;', '&#1114112;', '&#xZZ;']) {
      // The column sax reports is the one after the reference's `;`.
      const column = '<r><x>'.length + ref.length;
      await assert.rejects(readXml(`<r><x>${ref}</x></r>`), (err: Error) => {
        assert.ok(err instanceof AtlasError);
        assert.equal(err.message, `invalid XML at line 1, column ${column}: invalid character reference ${ref} (XML allows &#9;, &#10;, &#13; and &#32; to &#1114111; except &#xD800; to &#xDFFF;, &#xFFFE; and &#xFFFF;)`);
        assert.equal(err.hint, null);
        return true;
      });
    }
  });

  it('reads line ends as \\n and literal whitespace in an attribute as a space (XML 1.0 §2.11, §3.3.3), references kept, with or without sax', async () => {
    const lf = '<r>\n <rec a="x\ny\tz&#10;w&#13;v&#x9;u&#xA;" b="p q"><t>l1\nl2&#13;</t><c><![CDATA[c1\nc2]]></c></rec>\n</r>\n';
    const expected = [{ a: 'x y z\nw\rv\tu\n', b: 'p q', t: 'l1\nl2\r', c: 'c1\nc2' }];
    // The same document with CRLF and with CR line ends, read through the fast path or handed to sax (a DOCTYPE) or by sax alone, in chunks that split a CRLF.
    for (const doc of [lf, lf.replaceAll('\n', '\r\n'), lf.replaceAll('\n', '\r'), `<!DOCTYPE r>${lf.replaceAll('\n', '\r\n')}`]) {
      for (const saxOnly of [false, true]) {
        for (const size of [1, 2, 7, 64 * 1024]) {
          const table = await openXml(chunked(doc, size), { recordPath: null, encoding: null, saxOnly });
          assert.deepEqual(plain(await readRecords(table)), expected, `${JSON.stringify(doc)} in chunks of ${size}, sax only: ${saxOnly}`);
        }
      }
    }
  });

  it('keeps a whitespace-only leaf as its text, as a CSV field of spaces is kept, while detecting the records and after, with or without sax; indentation is no text', async () => {
    const doc = '<rs>\n  <r id="1">\n    <v>   </v>\n    <w>\n\t</w>\n    <e></e>\n    <a u="m">  </a>\n  </r>\n  <r id="2">\n    <v> </v>\n    <n>\n      <x>1</x>\n    </n>\n  </r>\n</rs>\n';
    const expected = [
      { id: '1', v: '   ', w: '\n\t', e: null, a_u: 'm', a: '  ' },
      { id: '2', v: ' ', n_x: '1' },
    ];
    for (const recordPath of [null, 'r']) {
      for (const saxOnly of [false, true]) {
        for (const size of [1, 5, 64 * 1024]) {
          const table = await openXml(chunked(doc, size), { recordPath, encoding: null, saxOnly });
          assert.deepEqual(plain(await readRecords(table)), expected, `record path ${recordPath}, chunks of ${size}, sax only: ${saxOnly}`);
        }
      }
    }
  });

  it('reads mixed content as the whole text, inline elements in place, with its elements as usual, said once per element and counted; while detecting the records and after', async () => {
    const doc =
      '<docs>\n <doc id="1"><title>Hello <b>bold</b> <i>it</i> world</title><body>plain</body></doc>\n' +
      ' <doc id="2"><title><b>All</b> of <b>it</b></title></doc>\n <doc id="3"><title>none</title><p>x<q><r>deep</r> end</q></p></doc>\n</docs>\n';
    const expected = [
      { id: '1', title: 'Hello bold it world', title_b: 'bold', title_i: 'it', body: 'plain' },
      { id: '2', title: 'All of it', title_b: '["All","it"]' },
      { id: '3', title: 'none', p: 'xdeep end', p_q: '{"r":"deep","#text":"deep end"}' },
    ];
    for (const recordPath of [null, 'doc']) {
      for (const saxOnly of [false, true]) {
        for (const size of [1, 7, 64 * 1024]) {
          const table = await openXml(chunked(doc, size), { recordPath, encoding: null, saxOnly });
          const where = `record path ${recordPath}, chunks of ${size}, sax only: ${saxOnly}`;
          assert.deepEqual(plain(await readRecords(table)), expected, where);
          assert.deepEqual(table.details['mixed_content'], { title: 2, p: 1, q: 1 }, where);
          assert.deepEqual(
            table.warnings?.filter((w) => w.includes('mixed content')).map((w) => w.slice(0, w.indexOf(':'))),
            ['<title> holds text beside child elements (mixed content, 2 time(s))', '<p> holds text beside child elements (mixed content, 1 time(s))', '<q> holds text beside child elements (mixed content, 1 time(s))'],
            where,
          );
        }
      }
    }
    const plainDoc = await openXml(chunked(ORDERS), { recordPath: null, encoding: null });
    await readRecords(plainDoc);
    assert.equal(plainDoc.details['mixed_content'], undefined);
  });

  it('an attribute named like a child element of the same element, below the record\'s first level, is kept as "@name" in the JSON value, said and counted (the child\'s value took its place)', async () => {
    const doc = '<r><rec><p><a x="1"><x>2</x></a></p></rec><rec><p><a x="3" y="4"><x>5</x></a></p></rec></r>';
    for (const saxOnly of [false, true]) {
      const table = await openXml(chunked(doc), { recordPath: null, encoding: null, saxOnly });
      assert.deepEqual(plain(await readRecords(table)), [{ p_a: '{"@x":"1","x":"2"}' }, { p_a: '{"@x":"3","y":"4","x":"5"}' }]);
      assert.deepEqual(table.details['attributes_renamed'], { 'a/@x': 2 });
      assert.deepEqual(table.warnings?.filter((w) => w.includes('"@name"')), ['attribute(s) named like a child element of the same element, kept as "@name" in the JSON value beside it: a/@x (2 time(s)) (counted in metadata.attributes_renamed)']);
    }
  });

  it("supplies the attribute defaults the DTD declares where an element lacks the attribute, as XML 1.0 §5.1 has every parser do (shared-mime-info's freedesktop.org.xml: glob weight=\"50\"), said and counted; the first declaration binds, a commented one is none", async () => {
    const doc = `<?xml version="1.0"?>
<!DOCTYPE mime-info [
  <!ELEMENT mime-info (mime-type)+>
  <!-- <!ATTLIST glob weight CDATA "99"> -->
  <!ATTLIST glob pattern CDATA #REQUIRED weight CDATA "50" case-sensitive (true|false) #IMPLIED>
  <!ATTLIST magic priority CDATA '50' note CDATA #FIXED "a &amp; b">
  <!ATTLIST glob weight CDATA "70" case-sensitive CDATA "true">
]>
<mime-info>
  <mime-type type="a"><glob pattern="*.a"/><magic/></mime-type>
  <mime-type type="b"><glob pattern="*.b" weight="10"/><magic priority="80"/></mime-type>
</mime-info>`;
    for (const size of [5, 64 * 1024]) {
      const table = await openXml(chunked(doc, size), { recordPath: null, encoding: null });
      assert.deepEqual(plain(await readRecords(table)), [
        { type: 'a', glob_pattern: '*.a', glob_weight: '50', magic_priority: '50', magic_note: 'a & b' },
        { type: 'b', glob_pattern: '*.b', glob_weight: '10', magic_priority: '80', magic_note: 'a & b' },
      ]);
      assert.deepEqual(table.details['dtd_attribute_defaults'], { 'glob/@weight': 1, 'magic/@priority': 1, 'magic/@note': 2 });
      assert.equal(table.warnings?.filter((w) => w.startsWith("attribute value(s) the file's DTD declares as defaults")).length, 1);
    }
  });

  it('decodes the encoding the declaration names, a BOM, or the one given', async () => {
    const latin1 = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><r><x>Zoë</x><x>é</x></r>', 'latin1');
    const t1 = await xml(latin1);
    assert.deepEqual(plain(await readRecords(t1)), [{ x: 'Zoë' }, { x: 'é' }]);
    assert.equal(t1.details.encoding, 'windows-1252');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<?xml version="1.0" encoding="UTF-16"?><r><x>Zoë</x><x>2</x></r>', 'utf16le')]);
    assert.deepEqual(plain(await readRecords(await xml(utf16, null, 5))), [{ x: 'Zoë' }, { x: '2' }]);
    await assert.rejects(xml(Buffer.from('<?xml version="1.0" encoding="EBCDIC-XYZ"?><r/>')), /declares encoding "EBCDIC-XYZ", which atlas cannot decode/);
  });
});

describe('flattenXmlRecord', () => {
  const node = (name: string, attributes: Record<string, string> = {}, children: XmlNode[] = [], text = ''): XmlNode => ({ name, attributes, children, text });

  it('puts a record of mixed content under its own name, its whole text, and keeps deep elements as JSON', () => {
    const columns = newKeyShapes();
    const rec = node('item', { id: '1' }, [node('a', {}, [node('b', { k: 'v' }, [], 'x'), node('c', {}, [node('d', {}, [], '1'), node('d', {}, [], '2')])])], ' text ');
    assert.deepEqual(plain([flattenXmlRecord(rec, columns)])[0], { id: '1', item: ' text x12', a_b: '{"k":"v","#text":"x"}', a_c: '{"d":["1","2"]}' });
    assert.deepEqual([...columns.jsonKeys].sort(), ['a_b', 'a_c']);
    // Once JSON, a key stays JSON: a later plain value is written as a JSON string.
    assert.deepEqual(plain([flattenXmlRecord(node('item', {}, [node('a', {}, [node('b', {}, [], 'y')])]), columns)])[0], { a_b: '"y"' });
  });

  it('finds repeated children wherever they are, among few children or many', () => {
    const columns = newKeyShapes();
    const leaf = (name: string, text: string): XmlNode => node(name, {}, [], text);
    const few = flattenXmlRecord(node('r', { a: 'attr' }, [leaf('a', '1'), leaf('b', 'x'), leaf('a', '2')]), columns);
    assert.deepEqual(few.keys, ['a', 'a', 'b']);
    assert.deepEqual(plain([few])[0], { a: '["1","2"]', b: 'x' });
    const many = Array.from({ length: 20 }, (_, i) => leaf(`c${i}`, String(i)));
    many.push(leaf('c3', 'again'));
    assert.deepEqual(plain([flattenXmlRecord(node('r', {}, many), columns)])[0]!['c3'], '["3","again"]');
    assert.deepEqual([...columns.repeated].sort(), ['a', 'c3']);
    assert.deepEqual(plain([flattenXmlRecord(node('r', {}, [leaf('c3', 'one'), leaf('d', 'y')]), columns)])[0], { c3: '"one"', d: 'y' });
  });

  it('remembers where each element became an array and which flattened columns its single occurrences made', () => {
    const columns = newKeyShapes();
    const tag = (lang: string, text: string, children: XmlNode[] = []): XmlNode => node('tag', { lang }, children, text);
    flattenXmlRecord(node('r', { id: '1' }, [tag('en', 'one'), node('who', {}, [], 'Ann')]), columns, 1);
    flattenXmlRecord(node('r', {}, [tag('fr', '', [node('sub', {}, [], 'x')])]), columns, 2);
    flattenXmlRecord(node('r', {}, [tag('de', 'two'), tag('it', 'three'), node('who', {}, [], 'Bo')]), columns, 3);
    assert.deepEqual(lateArrays(columns), [
      { key: 'tag', since: 3, members: [{ column: 'tag_lang', member: 'lang' }, { column: 'tag_sub', member: 'sub' }] },
    ]);
    // A key made by two elements' flattening has no single origin.
    flattenXmlRecord(node('r', {}, [node('a', { b_c: '1' }, [node('x', {}, [], 'y')]), node('a_b', { c: '2' }, [node('y', {}, [], 'z')])]), columns, 4);
    assert.equal(columns.memberOf.get('a_b_c'), null);
    assert.deepEqual(columns.memberOf.get('a_x'), { element: 'a', member: 'x' });
  });
});
