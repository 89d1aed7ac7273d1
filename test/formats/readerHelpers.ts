/** Shared by the format reader tests: byte streams in chunks, reading a table whole, tiny zips. */
import { crc32, deflateRawSync } from 'node:zlib';
import { recordValues, type FixedTableStream, type KeyedRow, type KeyedTableStream, type Row } from '../../src/formats/shared/types.ts';

/** The bytes as a stream of `size`-byte chunks (1 = byte by byte). */
export async function* chunked(data: string | Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

export async function readRows(table: FixedTableStream): Promise<Row[]> {
  const out: Row[] = [];
  for await (const batch of table.batches) out.push(...batch);
  return out;
}

export async function readRecords(table: KeyedTableStream): Promise<KeyedRow[]> {
  const out: KeyedRow[] = [];
  for await (const batch of table.batches) out.push(...batch);
  return out;
}

/** Plain objects (a key repeated in a record keeps its last value) for deepEqual. */
export function plain(rows: Array<Pick<KeyedRow, 'keys' | 'values'>>): Array<Record<string, string | null>> {
  return rows.map((r) => ({ ...recordValues(r) }));
}

/** Rows of a fixed table as objects keyed by header. */
export function rowObjects(header: string[], rows: Row[]): Array<Record<string, string | null>> {
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r.fields[i] ?? null])));
}

/** Settles with the promise, or rejects if it takes longer than `ms` (a hang is a failure). */
export async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ZipEntry {
  name: string;
  data: string | Buffer;
  /** Bytes stored as the entry's compressed data instead of deflating `data` (to corrupt it). */
  rawDeflate?: Buffer;
  /** Stored as is, not deflated (zip method 0): unzipper passes it through without zlib. */
  stored?: boolean;
}

/** A zip archive of the entries in order (deflated, no data descriptors), as Excel writes. */
export function makeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
    const compressed = e.stored ? data : (e.rawDeflate ?? deflateRawSync(data));
    const name = Buffer.from(e.name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(e.stored ? 0 : 8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(e.stored ? 0 : 8, 10);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(compressed.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    central.push(dir, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...central, end]);
}

const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/**
 * A hand-made .xlsx: the parts in the order given by `sharedStringsFirst` (exceljs streams the
 * sheets straight through when the shared strings come first, and parks them in temporary files
 * otherwise). Sheet XML is the inside of <sheetData>. `stored` stores every part undeflated
 * (unless `sheetEntry` says otherwise); `after` adds parts at the end (an image, say).
 */
export function handMadeXlsx(
  sheets: Array<{ name: string; rows: string }>,
  options: { sharedStrings?: string[]; sharedStringsFirst?: boolean; stored?: boolean; sheetEntry?: (i: number, xml: string) => Partial<ZipEntry>; after?: ZipEntry[] } = {},
): Buffer {
  const strings = options.sharedStrings ?? [];
  const workbook = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><sheets>${sheets
    .map((s, i) => `<sheet name="${s.name}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`)
    .join('')}</sheets></workbook>`;
  const rels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets
    .map((_, i) => `<Relationship Id="rId${i + 1}" Type="${REL_NS}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`)
    .join('')}</Relationships>`;
  const shared = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="${MAIN_NS}" count="${strings.length}" uniqueCount="${strings.length}">${strings
    .map((s) => `<si><t>${s}</t></si>`)
    .join('')}</sst>`;
  const styles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="${MAIN_NS}"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" xfId="0"/><xf numFmtId="164" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>`;
  const sheetEntries: ZipEntry[] = sheets.map((s, i) => {
    const xml = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><sheetData>${s.rows}</sheetData></worksheet>`;
    return { name: `xl/worksheets/sheet${i + 1}.xml`, data: xml, ...options.sheetEntry?.(i, xml) };
  });
  const head: ZipEntry[] = [
    { name: '[Content_Types].xml', data: '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>' },
    { name: 'xl/workbook.xml', data: workbook },
    { name: 'xl/_rels/workbook.xml.rels', data: rels },
    { name: 'xl/styles.xml', data: styles },
  ];
  const sst: ZipEntry = { name: 'xl/sharedStrings.xml', data: shared };
  const parts = [...(options.sharedStringsFirst === false ? [...head, ...sheetEntries, sst] : [...head, sst, ...sheetEntries]), ...(options.after ?? [])];
  return makeZip(options.stored ? parts.map((p) => ({ stored: true, ...p })) : parts);
}
