/** The JSON and NDJSON readers. */
export { openJson, openNdjson, type JsonOptions, type NdjsonOptions } from './json.js';
