/** Zip reading, for XLSX workbooks and for zipped data files: the streaming reader and the archive's data entry. */
export { openZipArchive, type ZipContent } from './zipArchive.js';
export { asZipError, ZipInput, type ZipEntry } from './zipInput.js';
