/** The CSV/TSV reader. */
export { openCsv, type CsvOptions } from './csv.js';
