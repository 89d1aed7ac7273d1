/**
 * The walk through an .xlsx archive up to the sheet to read: which part is which, what is read
 * on the way (workbook, relationships, styles, shared strings) and which worksheets are parked
 * until those have been read.
 */
import { AtlasError, UsageError } from '../../errors.js';
import type { ParkedPart, Parking } from './xlsxParking.js';
import { SharedStringsReader, type SharedStrings } from './xlsxSharedStrings.js';
import type { SheetContext } from './xlsxSheet.js';
import { parseDateStyles, parseRelationshipsPart, parseWorkbookPart, partPath, type Relationship, type SheetInfo, type WorkbookInfo } from './xlsxWorkbook.js';
import type { ZipEntry, ZipInput } from '../zip/index.js';

/** Largest workbook, relationships or styles part read whole (real ones are kilobytes; Excel's 64,000 styles make a few MB). */
const MAX_SMALL_PART_BYTES = 32 * 1024 * 1024;

const WORKBOOK_PART = 'xl/workbook.xml';
const WORKBOOK_RELS_PART = 'xl/_rels/workbook.xml.rels';
const REL_TYPE = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/';
/** Where a worksheet part may be before the relationships say (exceljs's reader knew no other place). */
const WORKSHEET_PATH = /^xl\/worksheets\/[^/]+\.xml$/;

function sheetList(sheets: SheetInfo[]): string {
  return sheets.length === 0 ? 'none found' : sheets.map((s) => `"${s.name}"`).join(', ');
}

/** The n-th sheet, in English ("the 3rd sheet"). */
function nth(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `the ${n}${suffix} sheet`;
}

/** The sheet picked, and a warning when the choice could have read another one. */
interface PickedSheet {
  sheet: SheetInfo;
  warning: string | null;
}

/** What kind of sheet a relationship type names, when it is not a worksheet (the only kind with cells). */
const OTHER_SHEET_KINDS: Record<string, string> = {
  chartsheet: 'a chart sheet',
  dialogsheet: 'a dialog sheet',
  xlMacrosheet: 'an Excel 4.0 macro sheet',
  xlIntlMacrosheet: 'an Excel 4.0 macro sheet',
};

/**
 * The workbook's sheet that `sheet` names, or a usage error listing the sheets. A sheet named
 * exactly as given comes first: a number is a position only when no sheet has it as its name
 * (sheets named 2023, 2024), and `#3` is always a position. `kindOf` says what a sheet without
 * cells is (a chart sheet), null for a worksheet or while the relationships are unknown.
 */
function pickSheet(sheets: SheetInfo[], sheet: string | number | null, kindOf: (s: SheetInfo) => string | null = () => null): PickedSheet {
  const worksheets = sheets.filter((s) => kindOf(s) === null);
  if (sheet === null) {
    const found = worksheets.find((s) => s.state === undefined || s.state === 'visible') ?? worksheets[0];
    if (found === undefined && sheets.length > 0) {
      throw new AtlasError(`the workbook has no worksheet, only ${sheets.map((s) => `${kindOf(s)} ("${s.name}")`).join(', ')}, which ${sheets.length === 1 ? 'holds' : 'hold'} no cells`);
    }
    if (found === undefined) throw new AtlasError('not a valid .xlsx file: the workbook has no sheets');
    return { sheet: found, warning: null };
  }
  const picked = pickNamedSheet(sheets, sheet);
  const kind = kindOf(picked.sheet);
  if (kind !== null) {
    throw new UsageError(`sheet "${picked.sheet.name}" is ${kind}, which holds no cells: the workbook's worksheets are ${worksheets.length === 0 ? 'none' : sheetList(worksheets)}`);
  }
  return picked;
}

/** The sheet that `sheet` names, whatever its kind (pickSheet). */
function pickNamedSheet(sheets: SheetInfo[], sheet: string | number): PickedSheet {
  const named = sheets.find((s) => s.name === String(sheet));
  const position = typeof sheet === 'number' ? sheet : /^#\d+$/.test(sheet) ? Number(sheet.slice(1)) : null;
  const at = position !== null && Number.isInteger(position) && position >= 1 ? sheets[position - 1] : undefined;
  if (named !== undefined) {
    const other = typeof sheet === 'number' && at !== undefined && at !== named;
    const warning = other ? `--sheet ${sheet} read the sheet named "${named.name}", not ${nth(sheet)} ("${at.name}"): --sheet '#${sheet}' reads that one` : null;
    return { sheet: named, warning };
  }
  if (position !== null) {
    if (at === undefined) throw new UsageError(`there is no sheet ${sheet}: the workbook has ${sheets.length} sheet(s): ${sheetList(sheets)}`);
    return { sheet: at, warning: null };
  }
  const folded = sheets.filter((s) => s.name.toLowerCase() === String(sheet).toLowerCase());
  if (folded.length === 1) return { sheet: folded[0] as SheetInfo, warning: null };
  throw new UsageError(`there is no sheet named "${sheet}": the workbook has ${sheetList(sheets)}`);
}

/** Which sheet to read (the `sheet` of xlsx.ts's XlsxOptions: this module does not import its caller). */
export interface SheetChoice {
  /** Sheet name, or 1-based position in the workbook (a number, or `#3`; a sheet so named first); the first visible sheet when null. */
  sheet: string | number | null;
}

/** The sheet found, and where its bytes come from. */
export interface FoundSheet {
  name: string;
  /** Its 1-based position among the workbook's sheets. */
  position: number;
  /** Said to the user when another sheet could have been meant (a sheet named 3 and a 3rd sheet). */
  warning: string | null;
  context: SheetContext;
  entry: ZipEntry;
  /** Its compressed bytes: straight from the archive (the parts it needs came first), or parked. */
  source: 'archive' | ParkedPart;
}

/**
 * Walks the archive until the wanted sheet can be read: the workbook, its relationships, the
 * styles and the shared strings are read as they come; worksheets that come before them are
 * parked (compressed); a worksheet met once all of them are known is read as it streams in.
 */
export async function findSheet(zip: ZipInput, parking: Parking, options: SheetChoice): Promise<FoundSheet> {
  let workbook: WorkbookInfo | null = null;
  let rels: Relationship[] | null = null;
  let dateStyles: Uint8Array | null = null;
  let strings: SharedStrings | null = null;
  let stringsRead = false;
  const parked = new Map<string, { entry: ZipEntry; part: ParkedPart }>();
  /** Worksheet paths in archive order: the sheets of an archive without a workbook part. */
  const worksheets: string[] = [];

  const relOfType = (type: string): Relationship | undefined => rels?.find((r) => r.Type === REL_TYPE + type);
  const stylesPath = (): string => partPath(relOfType('styles')?.Target ?? 'styles.xml');
  const stringsPath = (): string => partPath(relOfType('sharedStrings')?.Target ?? 'sharedStrings.xml');
  const worksheetPaths = (): Set<string> => new Set((rels ?? []).filter((r) => r.Type === `${REL_TYPE}worksheet`).map((r) => partPath(r.Target)));
  /** The part of a sheet the workbook lists: by relationship, else by the name exceljs writes. */
  const pathOf = (sheet: SheetInfo): string => {
    const rel = rels?.find((r) => r.Id === sheet.rId);
    return rel ? partPath(rel.Target) : `xl/worksheets/sheet${sheet.id}.xml`;
  };
  /** What a sheet is when it is not a worksheet, by its relationship's type (`.../chartsheet`). */
  const kindOf = (sheet: SheetInfo): string | null => {
    const type = rels?.find((r) => r.Id === sheet.rId)?.Type.split('/').at(-1);
    return type === undefined || type === 'worksheet' ? null : (OTHER_SHEET_KINDS[type] ?? `a ${type} part`);
  };
  const wanted = (): { sheet: SheetInfo; path: string; warning: string | null } | null => {
    if (workbook === null || rels === null) return null;
    const { sheet, warning } = pickSheet(workbook.sheets, options.sheet, kindOf);
    return { sheet, path: pathOf(sheet), warning };
  };
  /**
   * True when every part the sheet's cells need has been read. A workbook without shared strings
   * or styles cannot be told from one whose parts come later (not every writer lists them in the
   * relationships), so its sheet is parked until the end of the archive.
   */
  const ready = (): boolean => workbook !== null && rels !== null && dateStyles !== null && stringsRead;
  const found = (name: string, position: number, warning: string | null, entry: ZipEntry, source: FoundSheet['source']): FoundSheet => ({
    name,
    position,
    warning,
    entry,
    source,
    context: { sheetName: name, strings, dateStyles: dateStyles ?? new Uint8Array(0), date1904: workbook?.date1904 ?? false },
  });
  const dropUnwanted = async (): Promise<void> => {
    const target = wanted();
    if (target === null) return;
    for (const [path, p] of parked) {
      if (path !== target.path) {
        parked.delete(path);
        await p.part.discard();
      }
    }
  };

  for (;;) {
    const entry = await zip.nextEntry();
    if (entry === null) break;
    const path = entry.name.replace(/^\//, '').toLowerCase();
    if (path === WORKBOOK_PART) {
      workbook = await parseWorkbookPart(await readSmallPart(zip, entry));
      pickSheet(workbook.sheets, options.sheet, kindOf); // a sheet that does not exist fails now, not at the end
      await dropUnwanted();
    } else if (path === WORKBOOK_RELS_PART) {
      rels = await parseRelationshipsPart(await readSmallPart(zip, entry));
      await dropUnwanted();
    } else if (path === stylesPath() && dateStyles === null) {
      dateStyles = await parseDateStyles(await readSmallPart(zip, entry));
    } else if (path === stringsPath() && !stringsRead) {
      const reader = new SharedStringsReader();
      for await (const chunk of zip.inflate(entry, zip.data())) reader.push(chunk);
      strings = reader.end();
      stringsRead = true;
    } else if (WORKSHEET_PATH.test(path) || worksheetPaths().has(path)) {
      worksheets.push(path);
      const target = wanted();
      if (target !== null && target.path !== path) continue; // another sheet: skipped unread
      if (target !== null && ready()) return found(target.sheet.name, workbook!.sheets.indexOf(target.sheet) + 1, target.warning, entry, 'archive');
      const part = parking.park(path);
      parked.set(path, { entry, part });
      for await (const chunk of zip.data()) await part.add(chunk);
    }
  }

  // The end of the archive: the sheet was parked, or is missing.
  let name: string;
  let position: number;
  let path: string;
  let warning: string | null;
  if (workbook !== null) {
    const picked = pickSheet(workbook.sheets, options.sheet, kindOf);
    ({ name } = picked.sheet);
    position = workbook.sheets.indexOf(picked.sheet) + 1;
    path = pathOf(picked.sheet);
    warning = picked.warning;
  } else {
    // No workbook part: the worksheets in archive order, named as exceljs's reader named them.
    const sheets = worksheets.map((p, i): SheetInfo => ({ name: `Sheet${/(\d+)\.xml$/.exec(p)?.[1] ?? i + 1}`, id: i + 1 }));
    ({ sheet: { name }, warning } = pickSheet(sheets, options.sheet));
    position = sheets.findIndex((s) => s.name === name) + 1;
    path = worksheets[position - 1] as string;
  }
  const got = parked.get(path);
  if (got === undefined) throw new AtlasError(`not a valid .xlsx file: the sheet's data is missing from the archive`);
  parked.delete(path);
  for (const p of parked.values()) await p.part.discard();
  return found(name, position, warning, got.entry, got.part);
}

/** A small part (workbook, relationships, styles) inflated whole. */
async function readSmallPart(zip: ZipInput, entry: ZipEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of zip.inflate(entry, zip.data())) {
    bytes += chunk.length;
    if (bytes > MAX_SMALL_PART_BYTES) throw new AtlasError(`not a valid .xlsx file: part ${entry.name} is larger than ${MAX_SMALL_PART_BYTES / 1024 / 1024} MiB`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, bytes);
}
