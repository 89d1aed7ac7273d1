/**
 * The private internals of dependencies that atlas reads through (CONVENTIONS.md 12): each
 * dependency is pinned to an exact version in package.json, and each test here fails by the
 * name of the internal when an upgrade changes it, before a spreadsheet or XML file can import
 * differently.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import sax from 'sax';
import { parseDateStyles, parseRelationshipsPart, parseWorkbookPart } from '../../src/formats/xlsx/xlsxWorkbook.ts';
import { DATE_STYLE, TIME_STYLE } from '../../src/formats/xlsx/xlsxValues.ts';

const pkg = createRequire(import.meta.url)('../../package.json') as { dependencies: Record<string, string> };

const WORKBOOK = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<workbookPr date1904="1"/>
<sheets><sheet name="Hidden one" sheetId="3" state="hidden" r:id="rId3"/><sheet name="Data &amp; more" sheetId="1" r:id="rId1"/></sheets>
</workbook>`;

const RELS = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="/xl/styles.xml"/>
</Relationships>`;

/** Cell styles: general, built-in date 14, custom date 164, custom number 165, built-in time 21, escaped text 166, Japanese built-in date 31 (no code exceljs knows), built-in number 37. */
const STYLES = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="3"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode="#,##0.00"/><numFmt numFmtId="166" formatCode="&quot;d&quot;0"/></numFmts>
<fonts count="1"><font><sz val="11"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border/></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="8"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="21" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="31" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="37" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
</styleSheet>`;

describe('exceljs internals (exceljs pinned in package.json)', () => {
  it('exceljs is pinned to an exact version', () => {
    assert.match(pkg.dependencies['exceljs'] ?? '', /^\d+\.\d+\.\d+$/);
  });

  it('exceljs internal workbook-xform still exists and parses a workbook part (sheets in order, hidden state, relationship ids, 1904 dates)', async () => {
    assert.deepEqual(await parseWorkbookPart(Buffer.from(WORKBOOK)), {
      sheets: [
        { name: 'Hidden one', id: 3, state: 'hidden', rId: 'rId3' },
        { name: 'Data & more', id: 1, state: undefined, rId: 'rId1' },
      ],
      date1904: true,
    });
    assert.equal((await parseWorkbookPart(Buffer.from(WORKBOOK.replace('<workbookPr date1904="1"/>', '')))).date1904, false);
  });

  it('exceljs internal relationships-xform still exists and parses the workbook relationships part', async () => {
    assert.deepEqual((await parseRelationshipsPart(Buffer.from(RELS))).map((r) => ({ ...r })), [
      { Id: 'rId1', Type: 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet', Target: 'worksheets/sheet1.xml' },
      { Id: 'rId9', Type: 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles', Target: '/xl/styles.xml' },
    ]);
  });

  it('exceljs internal styles-xform still exists and tells which cell styles show dates (built-in and custom formats, and by its numFmtId a locale\'s built-in one)', async () => {
    assert.deepEqual([...(await parseDateStyles(Buffer.from(STYLES)))], [0, DATE_STYLE, DATE_STYLE, 0, TIME_STYLE, 0, DATE_STYLE, 0]);
  });
});

describe('sax internals (sax pinned in package.json)', () => {
  it('sax is pinned to an exact version', () => {
    assert.match(pkg.dependencies['sax'] ?? '', /^\d+\.\d+\.\d+$/);
  });

  it('sax parser state field "entity" still holds the name of the entity it refuses', () => {
    const seen: Array<string | undefined> = [];
    for (const doc of ['<r>&nope;</r>', '<r>&#1;</r>']) {
      const parser = sax.parser(true, { position: true });
      parser.onerror = () => {
        seen.push((parser as unknown as { entity?: string }).entity);
        throw new Error('stop');
      };
      assert.throws(() => parser.write(doc).close(), /stop/);
    }
    assert.deepEqual(seen, ['nope', '#1']);
  });

  it('sax export MAX_BUFFER_LENGTH still exists and is the limit its errors name', () => {
    const limit = (sax as unknown as { MAX_BUFFER_LENGTH?: unknown }).MAX_BUFFER_LENGTH;
    assert.equal(limit, 64 * 1024);
    const parser = sax.parser(true, {});
    let message = '';
    parser.onerror = (err) => {
      message = err.message;
      throw err;
    };
    assert.throws(() => parser.write(`<r><!-- ${'x'.repeat(limit as number + 1)}`));
    assert.match(message, /^Max buffer length exceeded: comment/);
  });
});
