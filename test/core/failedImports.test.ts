/** A failed import's record keeps everything known when it failed, and the spec's queries over failed imports give true answers. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { importFile, type ImportOptions } from '../../src/core/import.ts';
import { ImportFailedError } from '../../src/errors.ts';
import { csv, type TestDb, useTempDir, useTestDb } from '../helpers.ts';

const defaults: Omit<ImportOptions, 'source'> = { table: null, format: null, delimiter: null, header: true, encoding: null, name: null };

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Runs an import that must fail; returns its record, read back with SQL, and how long the call took in seconds. */
async function failing(db: TestDb, options: ImportOptions): Promise<{ h: Record<string, unknown>; wallSeconds: number }> {
  const began = performance.now();
  let importId: string | null = null;
  await assert.rejects(importFile(db.settings, options), (err: unknown) => {
    assert.ok(err instanceof ImportFailedError, String(err));
    importId = err.importId;
    return true;
  });
  const wallSeconds = (performance.now() - began) / 1000;
  const [h] = await db.rows<Record<string, unknown>>(
    `select *, duration_seconds::float8 as duration, parsing_time_seconds::float8 as parsing, duplicate_check_time_seconds::float8 as dup_check,
            insert_time_seconds::float8 as insert_time
       from ${db.schema}.import_history where import_id = $1`,
    [importId],
  );
  assert.ok(h, 'the failed import has a record');
  assert.equal(h.status, 'failed');
  assert.equal(h.rows_inserted, 0);
  return { h, wallSeconds };
}

describe('what a failed import records', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('unreadable from its first bytes: hash, size, file type, the real duration, the duplicate check as asked, the phase and the options as given', async () => {
    const path = files.write('latin.csv', Buffer.from('name\nJos\xe9\n', 'latin1'));
    const { h, wallSeconds } = await failing(db, { ...defaults, source: path, table: 'latin_t', key: ['name'] });
    assert.equal(h.file_hash, sha256(path));
    assert.equal(Number(h.file_size_bytes), statSync(path).size);
    assert.equal(h.file_type, 'csv');
    assert.equal(h.duplicate_check_enabled, true);
    assert.ok((h.duration as number) > 0 && (h.duration as number) <= wallSeconds, `duration ${h.duration} within the call's ${wallSeconds} s`);
    assert.equal(h.rows_processed, 0);
    assert.equal(h.total_rows_in_file, null, 'not known: no row was read');
    assert.equal(h.import_strategy, null);
    const metadata = h.metadata as Record<string, unknown>;
    assert.equal(metadata.failed_phase, 'reading');
    assert.deepEqual(metadata.options, { table: 'latin_t', key: ['name'] });
    assert.equal(metadata.bytes_read, undefined, 'every byte was read');
  });

  it('an empty file given to --mode replace, upsert or --replace-import is recorded failed in that mode', async () => {
    const first = await importFile(db.settings, { ...defaults, source: files.write('mode_a.csv', csv([['k'], [1]])), table: 'mode_t' });
    const asked: Array<[Partial<ImportOptions>, string]> = [
      [{ mode: 'replace' }, 'replace'],
      [{ mode: 'upsert', key: ['k'] }, 'upsert'],
      [{ replaceImport: first.import_id }, 'replace_import'],
      [{}, 'append'],
    ];
    for (const [options, mode] of asked) {
      const { h } = await failing(db, { ...defaults, source: files.write(`empty_${mode}.csv`, ''), table: 'mode_t', ...options });
      assert.equal(h.import_mode, mode);
      assert.equal((h.metadata as Record<string, unknown>).failed_phase, 'reading');
    }
  });

  it('failed when planning, after every row was read: the rows, the hash and the staging time are known, the later figures are not', async () => {
    await importFile(db.settings, { ...defaults, source: files.write('plan_a.csv', csv([['k', 'v'], [1, 'a']])), table: 'plan_t' });
    const path = files.write('plan_b.csv', csv([['k', 'other'], [2, 'b'], [3, 'c'], [4, 'd']]));
    const { h } = await failing(db, { ...defaults, source: path, table: 'plan_t', strategy: 'merge_exact', dedupe: false });
    assert.match(String(h.error_message), /merge_exact cannot apply/);
    assert.equal(h.file_hash, sha256(path));
    assert.equal(h.total_rows_in_file, 3);
    assert.equal(h.rows_processed, 3);
    assert.equal(h.rows_skipped, 3, 'none of the rows read was stored');
    assert.ok((h.parsing as number) >= 0);
    assert.equal(h.duplicate_check_enabled, false, '--no-dedupe, as given');
    for (const unknown of ['duplicates_found', 'validation_errors', 'dup_check', 'insert_time', 'import_strategy', 'mapping_config']) assert.equal(h[unknown], null, unknown);
    const metadata = h.metadata as Record<string, unknown>;
    assert.equal(metadata.failed_phase, 'checking types');
    assert.deepEqual([metadata.format, metadata.delimiter], ['csv', ','], "the reader's details, as a success records them");
    assert.deepEqual(metadata.options, { table: 'plan_t', strategy: 'merge_exact', dedupe: false });
  });

  it('failed in the INSERT: the plan, the duplicates found, the mapping errors found and every phase time so far', async () => {
    await importFile(db.settings, { ...defaults, source: files.write('ins_a.csv', csv([['code', 'n'], ['x', 1], ['y', 2]])), table: 'ins_t' });
    // Rows of equal codes but other numbers are no duplicates (all columns are the key), so the unique index stops the INSERT.
    await db.client.query(`create unique index on ${db.schema}.ins_t (code)`);
    const path = files.write('ins_b.csv', csv([['code', 'n'], ['x', 1], ['z', 'not a number'], ['y', 9], ['w', 4]]));
    const { h } = await failing(db, { ...defaults, source: path, table: 'ins_t' });
    assert.match(String(h.error_message), /duplicate key value violates unique constraint.*SQLSTATE 23505/);
    assert.equal(h.file_hash, sha256(path));
    assert.equal(h.total_rows_in_file, 4);
    assert.equal(h.rows_processed, 4);
    assert.equal(h.duplicates_found, 1, 'x,1 equals a row already in the table');
    assert.equal(h.validation_errors, 1, '"not a number" is no integer');
    assert.equal(h.mapping_errors_count, 0, 'its mapping errors were rolled back with the import');
    assert.equal(h.import_strategy, 'adapt_data', 'a value to convert to the table\'s type');
    assert.deepEqual(Object.keys((h.mapping_config as { columns: object }).columns).sort(), ['code', 'n']);
    for (const t of ['parsing', 'dup_check', 'insert_time']) assert.equal(typeof h[t], 'number', t);
    assert.equal((h.metadata as Record<string, unknown>).failed_phase, 'inserting');
    assert.equal((await db.rows(`select 1 from ${db.schema}.ins_t`)).length, 2, 'the table is as it was');
  });

  it('over its error budget: the mapping errors found are kept; the duplicate check never ran', async () => {
    const path = files.write('budget.csv', 'd\n2024-01-01\n2024-02-30\n2024-02-31\n2024-03-01\n');
    const { h } = await failing(db, { ...defaults, source: path, table: 'budget_t', maxErrors: '1' });
    assert.equal(h.validation_errors, 2);
    assert.equal(h.mapping_errors_count, 2, 'kept, so you can see why');
    assert.equal(h.duplicates_found, null, 'not checked');
    assert.equal(h.dup_check, null);
    assert.equal(h.total_rows_in_file, 4);
    assert.equal((h.metadata as Record<string, unknown>).failed_phase, 'checking types');
  });

  it('a stream that breaks off mid-file: no hash (not every byte was read), the bytes and rows read before the break', async () => {
    const head = 'a,b\n1,x\n2,y\n3,z\n';
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from(head);
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('connection reset by peer');
    }
    const { h } = await failing(db, { ...defaults, source: '-', table: 'broken_t', name: 'feed.csv', stdin: Readable.from(broken()) });
    assert.match(String(h.error_message), /connection reset by peer/);
    assert.equal(h.file_hash, null);
    assert.equal(h.file_size_bytes, null, 'stdin has no size');
    assert.equal(h.file_type, 'csv');
    assert.equal(h.rows_processed, 3);
    assert.equal(h.total_rows_in_file, null);
    const metadata = h.metadata as Record<string, unknown>;
    assert.equal(metadata.failed_phase, 'staging');
    assert.equal(metadata.bytes_read, Buffer.byteLength(head));
    assert.equal(typeof h.parsing, 'number', 'the staging time until the break');
  });
});

describe('a failure whose reason holds NUL bytes', () => {
  const db = useTestDb();
  const files = useTempDir();

  it('an NDJSON file ending in NUL padding (a crashed log writer) is recorded failed with its reason, NULs written \\0', async () => {
    const path = files.write('padded.ndjson', Buffer.concat([Buffer.from('{"a":1}\n{"a":2}\n'), Buffer.alloc(64)]));
    const { h } = await failing(db, { ...defaults, source: path, table: 'padded_t' });
    assert.match(String(h.error_message), /^line 3 is not valid JSON/);
    assert.ok(!String(h.error_message).includes('\0'), 'no NUL in the record');
    assert.equal((h.metadata as Record<string, unknown>).interrupted, undefined);
  });

  it('unreadable from its first record (a NUL between array elements): recorded failed with its reason', async () => {
    const path = files.write('arr_nul.json', Buffer.from('[{"a":1},\n\0{"a":2}]'));
    const { h } = await failing(db, { ...defaults, source: path, table: 'arr_nul_t' });
    assert.match(String(h.error_message), /^array element 2 \(index 1\) is a NUL byte, not an object/);
  });

  it('a record that cannot be marked failed is said so, with why, beside the real reason', async () => {
    // The server refuses the failed record itself (as it refused NULs in it): the import's reason must still reach the user.
    // A first import creates atlas's tables, for the trigger.
    await importFile(db.settings, { ...defaults, source: files.write('seed.csv', 'a\n1\n'), table: 'seed_t' });
    await db.client.query(
      `create function ${db.schema}.refuse_failed() returns trigger language plpgsql as $$ begin raise exception 'failed records refused here'; end $$;
       create trigger refuse_failed before update on ${db.schema}.import_history for each row when (new.status = 'failed') execute function ${db.schema}.refuse_failed()`,
    );
    try {
      for (const path of [files.write('nul.ndjson', '{"a":1}\n{"a":\n'), files.write('bad.csv', Buffer.from('name\nJos\xe9\n', 'latin1'))]) {
        await assert.rejects(importFile(db.settings, { ...defaults, source: path, table: 'guard_t' }), (err: unknown) => {
          assert.ok(err instanceof ImportFailedError, String(err));
          assert.match(err.message, /failed: (line 2 is not valid JSON|the input is not valid utf-8)/);
          assert.equal(err.warnings.length, 1, err.warnings.join('; '));
          assert.match(err.warnings[0]!, /could not be marked failed \(failed records refused here.*\): the record does not say why/);
          return true;
        });
      }
    } finally {
      await db.client.query(`drop trigger refuse_failed on ${db.schema}.import_history`);
    }
  });

  it('a file written to while it is read (still arriving in a drop folder) fails, nothing imported, and goes in whole once complete', async () => {
    const path = files.write('growing.csv', 'a,b\n1,x\n2,y\n');
    let grown = false;
    // As a writer appending to the file between atlas opening it and reading its last byte would.
    const onProgress = async (): Promise<void> => {
      if (grown) return;
      grown = true;
      appendFileSync(path, '3,zz\n');
    };
    const { h } = await failing(db, { ...defaults, source: path, table: 'growing', onProgress });
    assert.match(String(h.error_message), /^growing\.csv changed while atlas read it \(its size went from 12 to 17 bytes\): is it still being written\? Nothing was imported$/);
    assert.deepEqual(await db.rows(`select to_regclass($1) as t`, [`${db.schema}.growing`]), [{ t: null }], 'no table was made');
    const whole = await importFile(db.settings, { ...defaults, source: path, table: 'growing' });
    assert.equal(whole.rows_inserted, 3);
    assert.deepEqual(await db.rows(`select a, b from ${db.schema}.growing order by a`), [{ a: 1, b: 'x' }, { a: 2, b: 'y' }, { a: 3, b: 'zz' }]);
  });
});

describe("the spec's queries over failed imports", () => {
  const db = useTestDb();
  const files = useTempDir();

  it('"which tables did file X affect" and "failed imports of the last day" answer from the records alone', async () => {
    const x = files.write('x.csv', csv([['k', 'v'], [1, 'a'], [2, 'b']]));
    await importFile(db.settings, { ...defaults, source: x, table: 'x_ok' });
    await importFile(db.settings, { ...defaults, source: files.write('y.csv', csv([['k', 'other'], [9, 'z']])), table: 'x_refuses' });
    // The same file, refused by the table it was sent to, and one unreadable file.
    await assert.rejects(importFile(db.settings, { ...defaults, source: x, table: 'x_refuses', strategy: 'merge_exact' }), ImportFailedError);
    const unreadable = files.write('u.csv', Buffer.from('name\nJos\xe9\n', 'latin1'));
    await assert.rejects(importFile(db.settings, { ...defaults, source: unreadable, table: 'x_unreadable' }), ImportFailedError);
    // An old failure, outside the last day.
    await db.client.query(
      `insert into ${db.schema}.import_history (import_id, source_type, file_name, table_name, status, import_timestamp, error_message)
       values (gen_random_uuid(), 'local_upload', 'old.csv', 'x_old', 'failed', now() - interval '2 days', 'old')`,
    );

    // Best Practices, "Find all tables affected by a specific file", as SQL over import_history.
    // It lists every table the file went into or was sent to; the failed attempt is there with its status.
    const affected = await db.rows<{ table_name: string }>(`SELECT DISTINCT table_name FROM ${db.schema}.import_history WHERE file_hash = $1 ORDER BY 1`, [sha256(x)]);
    assert.deepEqual(affected.map((a) => a.table_name), ['x_ok', 'x_refuses']);
    const holding = await db.rows<{ table_name: string }>(
      `SELECT DISTINCT table_name FROM ${db.schema}.import_history WHERE file_hash = $1 AND status IN ('success', 'partial') ORDER BY 1`,
      [sha256(x)],
    );
    assert.deepEqual(holding.map((a) => a.table_name), ['x_ok']);

    // Example 2, "Analyze Failed Imports": file, error and duplicates found, for the last day.
    const failed = await db.rows<{ file_name: string; error_message: string; duplicates_found: number | null; file_hash: string | null }>(
      `SELECT file_name, error_message, duplicates_found, file_hash FROM ${db.schema}.import_history
        WHERE status = 'failed' AND import_timestamp > now() - interval '1 day' ORDER BY file_name`,
    );
    assert.deepEqual(
      failed.map((f) => [f.file_name, f.duplicates_found, f.file_hash]),
      [
        ['u.csv', null, sha256(unreadable)],
        ['x.csv', null, sha256(x)],
      ],
    );
    assert.match(failed[0]!.error_message, /not valid utf-8/i);
    assert.match(failed[1]!.error_message, /merge_exact cannot apply to x_refuses/);
  });
});
