/** The XLSX reader: a workbook read from its bytes, or from a zip archive already opened. */
export { openXlsx, openXlsxArchive, type XlsxOptions } from './xlsx.js';
export { parseSheetRange, type SheetRange } from './xlsxRange.js';
export { excelDateFixJson } from './xlsxValues.js';
