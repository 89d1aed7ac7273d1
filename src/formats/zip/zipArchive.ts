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
 * data file (or another entry `wanted` names) follows is known only at its end: then the import
 * fails, naming them all, rather than import one of several on a guess.
 */
export async function openZipArchive(source: AsyncIterable<Buffer>, wanted: string | null): Promise<ZipContent> {
  const zip = new ZipInput(source[Symbol.asyncIterator]());
  zip.what = WHAT;
  const names: string[] = [];
  try {
    for (let entry = await zip.nextEntry(); entry !== null; entry = await zip.nextEntry()) {
      // OpenDocument files (.ods, .odt) begin with an entry named mimetype; their content.xml is no table.
      if (wanted === null && names.length === 0 && entry.name === 'mimetype') {
        throw new AtlasError('this is an OpenDocument file (.ods, its first entry is "mimetype"), which atlas does not read', { hint: 'open it in LibreOffice and save it as .xlsx or CSV' });
      }
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
    // The rest of the archive: every byte of the file is hashed, and no second data file (or second entry --entry names) is passed over unseen.
    const others: string[] = [];
    for (let next = await zip.nextEntry(); next !== null; next = await zip.nextEntry()) {
      names.push(next.name);
      if (wanted === null ? isDataEntry(next.name) : isWanted(next.name, wanted)) others.push(next.name);
    }
    await zip.drain();
    finished = true;
    const refusal = others.length === 0 ? null : wanted === null ? severalDataFiles([entry.name, ...others], names) : severalWanted(wanted, [entry.name, ...others], names);
    if (refusal !== null) throw refusal;
  } catch (err) {
    throw zip.sourceError ?? asZipError(err, WHAT);
  } finally {
    if (!finished) zip.close();
  }
}

/** A name for --entry that picks `name` alone among `names`: its full path, unless that too names another entry. */
function entryNameAlone(name: string, names: readonly string[]): string | null {
  return names.filter((n) => isWanted(n, name)).length === 1 ? name : null;
}

const SAME_NAMES_HINT = 'the archive holds entries of the same name, which --entry cannot tell apart: extract it (unzip) and import the file you mean';

function severalDataFiles(found: readonly string[], names: readonly string[]): AtlasError {
  // The second file first, as before; any file whose full path names it alone otherwise.
  const example = [...found.slice(1), found[0]!].map((n) => entryNameAlone(n, names)).find((n) => n !== null);
  return new AtlasError(`the zip archive holds ${found.length} data files (${found.join(', ')}): atlas does not guess which one to import`, {
    hint: example === undefined ? SAME_NAMES_HINT : `name it with --entry, e.g. --entry ${JSON.stringify(example)}`,
  });
}

/**
 * --entry matched more than one entry: an exact full path read first wins, anything else is
 * refused (the archive streams by, so the first has been read by the time the next shows).
 */
function severalWanted(wanted: string, found: readonly string[], names: readonly string[]): AtlasError | null {
  const exact = found.filter((n) => n === wanted);
  if (exact.length === 1 && found[0] === wanted) return null;
  // An exact full path names one entry, but one read after another of the same base name: too late to take it.
  if (exact.length === 1) {
    return new AtlasError(`--entry ${JSON.stringify(wanted)} names the entry ${wanted}, but the zip archive holds ${found[0]} before it, read first as the archive streams by`, {
      hint: `extract it on the way in: unzip -p ARCHIVE.zip ${JSON.stringify(wanted)} | atlas import - --table TABLE --name ${JSON.stringify(wanted.slice(wanted.lastIndexOf('/') + 1))}`,
    });
  }
  const example = found.map((n) => entryNameAlone(n, names)).find((n) => n !== null);
  return new AtlasError(`--entry ${JSON.stringify(wanted)} matches ${found.length} entries of the zip archive (${found.join(', ')}): atlas does not guess which one to import`, {
    hint: example === undefined ? SAME_NAMES_HINT : `name it by its full path, e.g. --entry ${JSON.stringify(example)}`,
  });
}
