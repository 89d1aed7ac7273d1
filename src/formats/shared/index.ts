/** What the readers share: the row and table types, decoding, text chunks, batching, the heap-derived limits, late arrays. */
export { detectEncoding, ENCODINGS, isKnownEncoding, StrictDecoder } from './decode.js';
export { noteJson, noteMember, noteOwn, noteRepeated, lateShapes, newKeyShapes, type KeyShapes } from './lateArrays.js';
export { heapShare, heapSizeLimit, MIB } from './limits.js';
export { BatchQueue, startPulling } from './pull.js';
export { TextChunks } from './textChunks.js';
export {
  COMPRESSION_EXTENSIONS,
  FORMAT_EXTENSIONS,
  EXCEL_PHANTOM_DATE,
  FORMULA_NOT_CALCULATED,
  UNREAD_CELL_TYPES,
  RecordKeys,
  SNIFFED_DELIMITERS,
  SPREADSHEET_ERROR,
  type FileFormat,
  type FixedTableStream,
  type KeyedRow,
  type KeyedTableStream,
  type RawCsv,
  type ReaderFix,
  type Row,
  type RowBatch,
  type SniffedDelimiter,
  type TableStream,
} from './types.js';
export { baseFileName, tableNameFromFileName } from './fileNames.js';
