/**
 * A .zip download holding data files: the entry to import is found as the archive streams by
 * (zipInput.ts, the reader the workbooks use), and its bytes are inflated for the format
 * reader. An archive whose parts are a workbook's (`xl/...`) is handed to the XLSX reader.
 */
import { AtlasError, UsageError } from '../../errors.js';
import { FORMAT_EXTENSIONS } from '../shared/index.js';
import { asZipError, ZipInput, type ZipEntry } from './zipInput.js';

/** What a zip archive turned out to hold. */
export type ZipContent =
  | { kind: 'workbook'; zip: ZipInput }
  /** `bytes`: the entry inflated, then the rest of the archive read (for the file's hash) and checked. */
  | { kind: 'entry'; name: string; bytes: AsyncIterable<Buffer> };

const WHAT = 'zip archive';

/** A part of an .xlsx package: the archive is a workbook from the first one on. */
function isWorkbookPart(name: string): boolean {
  return /^\/?xl\//i.test(name);
}

/** Package bookkeeping that Office files carry beside their parts: never data. */
const PACKAGE_PART = /^\/?(?:\[Content_Types\]\.xml$|_rels\/|docProps\/|customXml\/)/i;
/** Files shipped beside data (`README.txt`, `LICENSE.csv` is unlikely but no data either). */
const DOCUMENTATION = /^(?:readme|licen[cs]e|copying|notice|changelog|changes)\b/i;

/** An entry atlas would import without being told: a file in a format it reads, not a macOS or documentation extra. */
export function isDataEntry(name: string): boolean {
  if (name.endsWith('/') || /^(?:\/?__MACOSX\/)/.test(name) || PACKAGE_PART.test(name) || isWorkbookPart(name)) return false;
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (base.startsWith('.') || DOCUMENTATION.test(base)) return false;
  const dot = base.lastIndexOf('.');
  return dot > 0 && Object.hasOwn(FORMAT_EXTENSIONS, base.slice(dot + 1).toLowerCase());
}

/** `wanted` (--entry) names this entry: its full name, or its name without the folders. */
function isWanted(name: string, wanted: string): boolean {
  return name === wanted || name.slice(name.lastIndexOf('/') + 1) === wanted;
}

function entryList(names: readonly string[]): string {
  const files = names.filter((n) => !n.endsWith('/'));
  return files.length === 0 ? 'none' : files.join(', ');
}

/**
 * Reads a zip archive as far as the entry to import: the one named `wanted` (--entry), else the
 * first data file (isDataEntry). The archive is read once, front to back, so whether another
 * data file follows is known only at its end: then the import fails, naming them all, rather
 * than import one of several on a guess.
 */
export async function openZipArchive(source: AsyncIterable<Buffer>, wanted: string | null): Promise<ZipContent> {
  const zip = new ZipInput(source[Symbol.asyncIterator]());
  zip.what = WHAT;
  const names: string[] = [];
  try {
    for (let entry = await zip.nextEntry(); entry !== null; entry = await zip.nextEntry()) {
      if (wanted === null && isWorkbookPart(entry.name)) {
        zip.putBack();
        return { kind: 'workbook', zip };
      }
      names.push(entry.name);
      if (wanted === null ? isDataEntry(entry.name) : isWanted(entry.name, wanted)) {
        return { kind: 'entry', name: entry.name, bytes: entryBytes(zip, entry, wanted, names) };
      }
    }
  } catch (err) {
    zip.close();
    throw zip.sourceError ?? asZipError(err, WHAT);
  }
  zip.close();
  if (wanted !== null) throw new UsageError(`the zip archive has no entry named "${wanted}": it holds ${entryList(names)}`);
  throw new AtlasError(`the zip archive holds no file atlas reads (CSV, TSV, JSON, NDJSON, XML, XLSX): it holds ${entryList(names)}`, {
    hint: 'name the entry to import with --entry NAME (and its format with --format)',
  });
}

async function* entryBytes(zip: ZipInput, entry: ZipEntry, wanted: string | null, names: string[]): AsyncGenerator<Buffer> {
  let finished = false;
  try {
    yield* zip.inflate(entry, zip.data());
    // The rest of the archive: every byte of the file is hashed, and no second data file is passed over unseen.
    const others: string[] = [];
    for (let next = await zip.nextEntry(); next !== null; next = await zip.nextEntry()) {
      names.push(next.name);
      if (wanted === null && isDataEntry(next.name)) others.push(next.name);
    }
    await zip.drain();
    finished = true;
    if (others.length > 0) {
      throw new AtlasError(`the zip archive holds ${others.length + 1} data files (${[entry.name, ...others].join(', ')}): atlas does not guess which one to import`, {
        hint: `name it with --entry, e.g. --entry ${JSON.stringify(others[0])}`,
      });
    }
  } catch (err) {
    throw zip.sourceError ?? asZipError(err, WHAT);
  } finally {
    if (!finished) zip.close();
  }
}
