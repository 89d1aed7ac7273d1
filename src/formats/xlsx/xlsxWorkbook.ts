/**
 * The workbook's small parts - xl/workbook.xml (sheet names, order, visibility, the 1904 date
 * system), its relationships (which part holds which sheet) and xl/styles.xml (which cell styles
 * show dates) - read with exceljs's own parsers for them (its "xforms", as its streaming
 * WorkbookReader uses them). They are a few kilobytes, so speed does not matter there, and
 * exceljs knows their many variants (built-in number formats, hidden
 * sheets): sheet selection stays what it was with exceljs's reader; date detection reads the
 * format codes as written and knows the locales' built-in date formats, which exceljs did not.
 * Only the bulk of the bytes (the shared strings and the sheet rows) is read by atlas itself.
 */
import { DATE_STYLE, ELAPSED_STYLE, isDateFormat, isElapsedTimeFormat, isLocaleDateFormatId, isTimeOfDayFormat, TIME_STYLE } from './xlsxValues.js';
import { decodeText } from './xlsxXml.js';

/** A sheet as the workbook lists it. */
export interface SheetInfo {
  name: string;
  /** The sheetId attribute. */
  id: number;
  /** "visible", "hidden" or "veryHidden"; absent means visible. */
  state?: string | undefined;
  /** Relationship id naming the sheet's part. */
  rId?: string | undefined;
}

export interface WorkbookInfo {
  sheets: SheetInfo[];
  /** Dates count from 1904-01-01 (old Mac Excel). */
  date1904: boolean;
}

/** One relationship of the workbook part: its target is relative to xl/. */
export interface Relationship {
  Id: string;
  Type: string;
  Target: string;
  TargetMode?: string;
}

/** What atlas uses of an exceljs xform (typed here: exceljs ships no typings for them). */
interface Xform {
  parseStream(chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<unknown>;
  model?: unknown;
  map?: Record<string, { model?: unknown }>;
}
interface StylesXform extends Xform {
  model: { styles?: unknown[] };
  getStyleModel(id: number): { numFmt?: unknown } | null;
}
type XformClass<T extends Xform = Xform> = new () => T;

interface Xforms {
  Workbook: XformClass;
  Relationships: XformClass;
  Styles: XformClass<StylesXform>;
}

let xforms: Promise<Xforms> | null = null;

/**
 * exceljs's xform modules, loaded on first use: only these three (and what they require), not
 * the whole library, which takes several times longer to load (docs/decisions.md).
 */
function loadXforms(): Promise<Xforms> {
  xforms ??= (async () => {
    // Private modules of exceljs: its version is pinned, and test/formats/pinnedInternals.test.ts
    // fails by their names when an upgrade changes them. Paths in variables: the modules are
    // CommonJS without typings, typed by the interfaces above.
    const paths = ['exceljs/lib/xlsx/xform/book/workbook-xform.js', 'exceljs/lib/xlsx/xform/core/relationships-xform.js', 'exceljs/lib/xlsx/xform/style/styles-xform.js'];
    const [workbook, relationships, styles] = (await Promise.all(paths.map((p) => import(p)))) as Array<{ default: XformClass }>;
    return {
      Workbook: (workbook as { default: XformClass }).default,
      Relationships: (relationships as { default: XformClass }).default,
      Styles: (styles as { default: XformClass<StylesXform> }).default,
    };
  })();
  return xforms;
}

/** The namespaces of the parts exceljs's parsers read, whose elements they know by their names alone. */
const PART_NAMESPACES = ['http://schemas.openxmlformats.org/spreadsheetml/2006/main', 'http://schemas.openxmlformats.org/package/2006/relationships'];
const OFFICE_RELATIONSHIPS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/**
 * The part with its elements' prefix dropped where the prefix names one of PART_NAMESPACES
 * (`<ns0:Relationships xmlns:ns0="...">`, as Python's ElementTree writes them): the same XML to
 * a namespace-aware reader, and the names exceljs's parsers look for. Unchanged otherwise.
 */
export function withoutPartPrefixes(xml: Buffer): Buffer {
  const text = xml.toString('utf8');
  let out = text;
  for (const m of text.matchAll(/xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']([^"']*)["']/g)) {
    const [declaration, prefix, uri] = m as unknown as [string, string, string];
    const escaped = prefix.replace(/\./g, '\\.');
    // Sheets name their relationship in r:id, which exceljs reads by that name.
    if (uri === OFFICE_RELATIONSHIPS && prefix !== 'r') out = out.replace(new RegExp(`(\\s)${escaped}:id(\\s*=)`, 'g'), '$1r:id$2').replace(declaration, `xmlns:r="${uri}"`);
    if (!PART_NAMESPACES.includes(uri)) continue;
    const hasDefault = out.includes(`xmlns="${uri}"`) || out.includes(`xmlns='${uri}'`);
    out = out.replace(new RegExp(`<(/?)${escaped}:`, 'g'), '<$1').replace(declaration, hasDefault ? '' : `xmlns="${uri}"`);
  }
  return out === text ? xml : Buffer.from(out, 'utf8');
}

/** Sheets and date system of xl/workbook.xml. */
export async function parseWorkbookPart(xml: Buffer): Promise<WorkbookInfo> {
  const { Workbook } = await loadXforms();
  const xform = new Workbook();
  await xform.parseStream([withoutPartPrefixes(xml)]);
  const model = (xform.model ?? {}) as { sheets?: SheetInfo[] };
  const properties = xform.map?.workbookPr?.model as { date1904?: boolean } | undefined;
  const sheets = (model.sheets ?? []).filter((s): s is SheetInfo => typeof s === 'object' && s !== null && typeof s.name === 'string');
  return { sheets, date1904: Boolean(properties?.date1904) };
}

/** The relationships of xl/_rels/workbook.xml.rels. */
export async function parseRelationshipsPart(xml: Buffer): Promise<Relationship[]> {
  const { Relationships } = await loadXforms();
  const rels = await new Relationships().parseStream([withoutPartPrefixes(xml)]);
  return Array.isArray(rels) ? (rels as Relationship[]).filter((r) => typeof r.Target === 'string') : [];
}

const NUM_FMT = /<numFmt\b([^>]*)>/g;
const NUM_FMT_ID = /\snumFmtId\s*=\s*["'](\d+)["']/;
const FORMAT_CODE = /\sformatCode\s*=\s*(?:"([^"]*)"|'([^']*)')/;

/**
 * The number formats the part defines, by id, with their codes as written: exceljs drops a
 * code's backslashes (`0.0\ \m`, metres, becomes `0.0 m`, a month).
 */
function numberFormatCodes(xml: Buffer): Map<number, string> {
  const codes = new Map<number, string>();
  for (const [, attributes] of xml.toString('utf8').matchAll(NUM_FMT)) {
    const id = NUM_FMT_ID.exec(attributes ?? '');
    const code = FORMAT_CODE.exec(attributes ?? '');
    if (id === null || code === null) continue;
    const raw = Buffer.from(code[1] ?? code[2] ?? '', 'utf8');
    codes.set(Number(id[1]), decodeText(raw, 0, raw.length));
  }
  return codes;
}

/** At each cell style index (`s`) of xl/styles.xml whose number format shows a date or time, what it shows (dateStyleOf); 0 elsewhere. */
export async function parseDateStyles(xml: Buffer): Promise<Uint8Array> {
  const { Styles } = await loadXforms();
  const styles = new Styles();
  const part = withoutPartPrefixes(xml);
  await styles.parseStream([part]);
  const codes = numberFormatCodes(part);
  const count = styles.model?.styles?.length ?? 0;
  const dates = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const id = (styles.model.styles?.[i] as { numFmtId?: unknown } | undefined)?.numFmtId;
    const numFmt = (typeof id === 'number' ? codes.get(id) : undefined) ?? styles.getStyleModel(i)?.numFmt;
    // A locale's built-in format has no code exceljs knows: its id says it is a date.
    if (typeof numFmt === 'string' ? isDateFormat(numFmt) : typeof id === 'number' && isLocaleDateFormatId(id)) dates[i] = typeof numFmt === 'string' ? dateStyleOf(numFmt) : DATE_STYLE;
  }
  return dates;
}

/** What a date format shows: elapsed time, a time of day alone, or a date. */
function dateStyleOf(numFmt: string): number {
  if (isElapsedTimeFormat(numFmt)) return ELAPSED_STYLE;
  return isTimeOfDayFormat(numFmt) ? TIME_STYLE : DATE_STYLE;
}

/** Loads exceljs's parsers ahead of need (while the archive's first bytes are read). */
export function preloadWorkbookParsers(): void {
  loadXforms().catch(() => undefined);
}

/**
 * The archive path of a relationship's target: relative to xl/ unless it starts with a slash,
 * folded to lower case (part names are case-insensitive).
 */
export function partPath(target: string): string {
  const parts: string[] = [];
  for (const segment of (target.startsWith('/') ? target.slice(1) : `xl/${target}`).split('/')) {
    if (segment === '..') parts.pop();
    else if (segment !== '.' && segment !== '') parts.push(segment);
  }
  return parts.join('/').toLowerCase();
}
