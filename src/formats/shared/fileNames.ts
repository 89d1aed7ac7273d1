/** Names from file names: the base name without the extensions atlas knows, and a table name from it. */
import { sanitizeIdentifier } from '../../transform/naming.js';
import { COMPRESSION_EXTENSIONS, FORMAT_EXTENSIONS } from './types.js';

const EXTENSION = /\.([a-z0-9]{1,6})$/i;

/**
 * A file name without its directory and every extension atlas knows (`cities.csv.gz`,
 * `cities.ndjson`, `cities.csv.zip` -> `cities`); a name with none of them loses one short
 * extension of any kind (`report.dat` -> `report`).
 */
export function baseFileName(fileName: string): string {
  let base = fileName.split(/[\\/]/).pop() ?? fileName;
  let stripped = false;
  for (let m = EXTENSION.exec(base); m !== null; m = EXTENSION.exec(base)) {
    const ext = (m[1] as string).toLowerCase();
    if (!Object.hasOwn(FORMAT_EXTENSIONS, ext) && !COMPRESSION_EXTENSIONS.has(ext)) {
      if (!stripped && ext.length <= 5) base = base.slice(0, m.index);
      break;
    }
    base = base.slice(0, m.index);
    stripped = true;
  }
  return base;
}

/**
 * Table name from a file name without its extensions, sanitised; `part` (a sheet, an archive's
 * entry) is appended, so that each sheet of a workbook gets its own table (`datasets_quakes`).
 */
export function tableNameFromFileName(fileName: string, part?: string): string {
  const base = baseFileName(fileName);
  return sanitizeIdentifier(part === undefined ? base : `${base} ${part}`) || 'import';
}
