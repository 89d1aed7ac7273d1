/**
 * What a hand-written loader does, for the benchmark to compare atlas with: csv-parse reads the
 * CSV, each record goes to `COPY ... FROM STDIN` (text format) through pg-copy-streams, into a
 * table that already exists with its types. No tracking, no dedupe, no type inference, one
 * statement (so all or nothing). Prints `{"rows": N}`, the rows COPY reported.
 *
 *   DATABASE_URL=postgres://... node --import tsx bench/handwritten.ts <schema> <table> <file.csv> <column,...>
 *
 * The bench runs it transpiled to JavaScript (otherLoaders.ts), as such a script would be deployed.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

// Self-contained (no import of the bench's own modules): the bench runs it as plain JavaScript.
const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** COPY text format: `\N` for an empty field (NULL in a typed column), and its four escapes. */
function copyText(value: string): string {
  if (value === '') return '\\N';
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Records to COPY text lines, in chunks of about 64 KiB rather than one write per row. */
async function* copyLines(records: AsyncIterable<string[]>): AsyncGenerator<string> {
  let chunk = '';
  for await (const record of records) {
    chunk += `${record.map(copyText).join('\t')}\n`;
    if (chunk.length >= 1 << 16) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

async function main(): Promise<void> {
  const [schema, table, file, columns] = process.argv.slice(2);
  const url = process.env.DATABASE_URL;
  if (schema === undefined || table === undefined || file === undefined || columns === undefined || url === undefined) {
    throw new Error('usage: DATABASE_URL=... node --import tsx bench/handwritten.ts <schema> <table> <file.csv> <column,...>');
  }
  const client = new pg.Client({ connectionString: url, application_name: 'atlas-bench-handwritten' });
  client.on('error', () => {
    /* surfaced through the failing COPY */
  });
  await client.connect();
  try {
    await client.query("set datestyle to 'ISO, MDY'");
    const target = `${quoteIdent(schema)}.${quoteIdent(table)} (${columns.split(',').map(quoteIdent).join(', ')})`;
    const copy = client.query(copyFrom(`copy ${target} from stdin`));
    await pipeline(createReadStream(file), parse({ from_line: 2 }), copyLines, copy);
    process.stdout.write(`${JSON.stringify({ rows: copy.rowCount })}\n`);
  } finally {
    await client.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`handwritten: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
