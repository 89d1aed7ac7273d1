/** Times in output: one ISO 8601 format in every JSON document, local time in every text output; the "already imported" refusal as fields. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { csv, runAtlas, type RunResult, useTempDir, useTestDb } from '../helpers.ts';

/** A zone with an odd offset (+05:45) and no daylight saving: its local time cannot pass for UTC by chance. */
const TZ = 'Asia/Kathmandu';
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Anything that looks like a date or a time. */
const TIME_LIKE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

/** `iso` as local time in TZ, the way text output writes it: 2025-01-31 14:05:09. */
function localTime(iso: string): string {
  return new Date(iso).toLocaleString('sv-SE', { timeZone: TZ });
}

/** Every string value that looks like a time, with its path; data values (a row's own columns, a kept duplicate record) are the user's, left out. */
function timesIn(value: unknown, path = ''): Array<[string, string]> {
  if (typeof value === 'string') return TIME_LIKE.test(value) ? [[path, value]] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (k === 'values' || k === 'record' ? [] : timesIn(v, `${path}.${k}`)));
}

describe('times in output, and the refusal of a file already imported', () => {
  const db = useTestDb();
  const files = useTempDir();
  let run: (args: string[]) => Promise<RunResult>;
  const json = (r: RunResult): Record<string, unknown> => JSON.parse(r.stdout) as Record<string, unknown>;
  before(async () => {
    run = (args) => runAtlas([...args, '--database-url', db.url, '--schema', db.schema], { env: { TZ } });
  });

  it('import --json exiting 4 names the earlier import by id and timestamp, in fields; the refusal writes no history row; its text says local time', async () => {
    const path = files.write('twice.csv', csv([['a', 'b'], [1, 'x'], [2, 'y']]));
    const first = await run(['import', path, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const firstId = json(first).import_id as string;
    const [recorded] = await db.rows<{ import_timestamp: Date }>(`select import_timestamp from ${db.schema}.import_history where import_id = $1`, [firstId]);

    const again = await run(['import', path, '--json']);
    assert.equal(again.code, 4, again.stderr);
    const body = json(again);
    assert.equal(body.success, false);
    assert.equal(body.previous_import_id, firstId);
    assert.equal(body.previous_import_timestamp, recorded!.import_timestamp.toISOString());
    assert.equal(body.table_name, 'twice');
    assert.match(body.error as string, new RegExp(`by import ${firstId} at ${recorded!.import_timestamp.toISOString()}$`), 'its message says the time as JSON writes times');
    assert.equal(body.import_id, undefined, 'no new import');
    assert.deepEqual(await db.rows(`select count(*)::int as n from ${db.schema}.import_history`), [{ n: 1 }], 'a refusal writes no history row');

    const text = await run(['import', path]);
    assert.equal(text.code, 4);
    assert.match(text.stderr, new RegExp(`by import ${firstId} at ${localTime(recorded!.import_timestamp.toISOString())}\\n`));
  });

  it('every JSON document writes times as ISO 8601 UTC with milliseconds; text output writes them in local time, lineage --row too', async () => {
    const a = json(await run(['import', files.write('when.csv', 'name,d\nada,2024-01-01\ngrace,2024-02-30\nada,2024-01-01\n'), '--json', '--table', 'when_t']));
    const id = a.import_id as string;
    const [row] = await db.rows<{ id: string }>(`select id from ${db.schema}.when_t order by id limit 1`);
    const docs: Array<[string, RunResult]> = [];
    for (const args of [
      ['history'],
      ['history', id],
      ['stats'],
      ['lineage', 'when_t'],
      ['lineage', 'when_t', '--row', row!.id],
      ['errors', id],
      ['errors', id, '--duplicates'],
      ['undo', id, '--dry-run'],
      ['history', 'prune', '--older-than', '0m', '--dry-run'],
    ]) {
      const r = await run([...args, '--json']);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      docs.push([args.join(' '), r]);
    }
    const found = docs.flatMap(([name, r]) => timesIn(json(r)).map(([path, v]) => [`${name}: ${path}`, v] as const));
    for (const key of ['import_timestamp', 'created_at', 'updated_at', 'mapping_started_at', 'occurred_at', 'detected_at', 'imported_at', 'period_start', 'cutoff']) {
      assert.ok(found.some(([path]) => path.endsWith(`.${key}`)), `some document has ${key}`);
    }
    for (const [path, value] of found) assert.match(value, ISO_UTC, path);

    const rowJson = json(docs.find(([name]) => name.includes('--row'))![1]);
    const rowText = await run(['lineage', 'when_t', '--row', row!.id]);
    assert.match(rowText.stdout, new RegExp(`imported at\\s+${localTime(rowJson.imported_at as string)} \\(`));
    assert.match(rowText.stdout, new RegExp(`when\\s+${localTime(rowJson.import_timestamp as string)} \\(`));
    const detail = await run(['history', id]);
    const record = json(docs.find(([name]) => name === `history ${id}`)![1]).import_record as { import_timestamp: string; updated_at: string };
    assert.match(detail.stdout, new RegExp(`when\\s+${localTime(record.import_timestamp)} \\(`));
    assert.match(detail.stdout, new RegExp(`updated\\s+${localTime(record.updated_at)}\\n`));

    // A refusal that names a time says it in local time too.
    const undone = json(await run(['undo', id, '--yes', '--json']));
    const twice = await run(['undo', id, '--yes']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, new RegExp(`already undone at ${localTime(undone.undone_at as string)} by `));
  });

  it("lineage --row writes its versions' times in local time, as every other time in text", async () => {
    const first = json(await run(['import', files.write('ver1.csv', csv([['k', 'v'], ['a', 1]])), '--table', 'ver_t', '--json']));
    const second = json(await run(['import', files.write('ver2.csv', csv([['k', 'v'], ['a', 2]])), '--table', 'ver_t', '--mode', 'upsert', '--key', 'k', '--json']));
    const [row] = await db.rows<{ id: string }>(`select id::text from ${db.schema}.ver_t`);
    const text = (await run(['lineage', 'ver_t', '--row', row!.id])).stdout;
    const times = await db.rows<{ t: Date }>(`select import_timestamp as t from ${db.schema}.import_history where import_id = any($1::uuid[]) order by import_timestamp`, [[first.import_id, second.import_id]]);
    assert.match(text, new RegExp(`1 +import ${first.import_id as string} \\(ver1\\.csv, ${localTime(times[0]!.t.toISOString())}\\)`));
    assert.match(text, new RegExp(`2 +import ${second.import_id as string} \\(ver2\\.csv, ${localTime(times[1]!.t.toISOString())}\\)`));
    assert.doesNotMatch(text, /\d{4}-\d{2}-\d{2}T\d{2}:/, 'no ISO time in text output');
  });
});
