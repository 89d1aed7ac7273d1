/** The CSV/TSV reader. */
export { openCsv, WIDEST_EARLY, type CsvOptions } from './csv.js';
