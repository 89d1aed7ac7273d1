/**
 * What the read commands (history, stats, errors, lineage), undo, history prune and history compact
 * do to a schema where no import ran: nothing. A schema that
 * does not exist is an error naming it, one where atlas never ran answers "no imports" without
 * atlas's tables being created, and atlas's tables of an older version are upgraded as by any command.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveSettings } from '../../src/config.ts';
import { compactHistory } from '../../src/core/compact.ts';
import { getImport, listHistory, pruneHistory, type HistoryFilter } from '../../src/core/history.ts';
import { dryRunImport } from '../../src/core/import.ts';
import { planBatch } from '../../src/core/importBatch.ts';
import { listImportErrors, listSkippedDuplicates } from '../../src/core/importErrors.ts';
import { traceLineage, traceRow } from '../../src/core/lineage.ts';
import { getStats } from '../../src/core/stats.ts';
import { undoImport } from '../../src/core/undo.ts';
import { undoBatch } from '../../src/core/undoBatch.ts';
import { listMigrations } from '../../src/db/migrate.ts';
import { NotFoundError } from '../../src/errors.ts';
import { csv, useTempDir, useTestDb } from '../helpers.ts';
import { importInto } from '../importHelpers.ts';

const all: HistoryFilter = { table: null, user: null, status: null, since: null, limit: 100, offset: 0 };
const page = { type: null, field: null, limit: 100, offset: 0 };
const anId = '1f0c2a9e-0000-4000-8000-000000000000';
const undoing = { dryRun: false, force: false, purge: false };
const aYear = 365 * 86_400;

describe('read commands create nothing', () => {
  const db = useTestDb();
  const files = useTempDir();
  const settingsFor = (schema: string) => resolveSettings({ databaseUrl: db.url, schema }, {}, tmpdir());
  const schemaExists = async (schema: string) => (await db.rows(`select 1 from pg_namespace where nspname = $1`, [schema])).length === 1;
  const tablesOf = async (schema: string) => (await db.rows<{ t: string }>(`select tablename as t from pg_tables where schemaname = $1 order by 1`, [schema])).map((r) => r.t);

  it('a schema that does not exist: each read is one error naming it, and the schema is still not there', async () => {
    const typo = `${db.schema}_typo`;
    const settings = settingsFor(typo);
    const reads: Array<[string, () => Promise<unknown>]> = [
      ['history', () => listHistory(settings, all)],
      ['history ID', () => getImport(settings, anId)],
      ['stats', () => getStats(settings, { table: null, user: null, days: 30 })],
      ['errors', () => listImportErrors(settings, anId, page)],
      ['errors --duplicates', () => listSkippedDuplicates(settings, anId, page)],
      ['lineage', () => traceLineage(settings, 'things')],
      ['lineage --row', () => traceRow(settings, 'things', 1)],
      ['undo', () => undoImport(settings, anId, undoing)],
      ['undo --batch', () => undoBatch(settings, anId, undoing)],
      ['history prune', () => pruneHistory(settings, { olderThanSeconds: aYear, dryRun: false })],
      ['history compact', () => compactHistory(settings, { olderThanSeconds: aYear, dryRun: false })],
    ];
    try {
      const database = (await db.rows<{ d: string }>('select current_database() as d'))[0]!.d;
      for (const [what, read] of reads) {
        await assert.rejects(read(), (err: unknown) => {
          assert.ok(err instanceof NotFoundError, `${what}: ${String(err)}`);
          assert.equal(err.message, `schema "${typo}" does not exist in database "${database}": no import ran there`, what);
          assert.equal(err.hint, 'check the name given with --schema (without it: ATLAS_SCHEMA, the config file, else public)', what);
          return true;
        });
      }
      assert.equal(await schemaExists(typo), false, 'no schema was created');
    } finally {
      await db.client.query(`drop schema if exists ${typo} cascade`); // left by a build that created it
    }
  });

  it('a schema where atlas never ran: no imports, zero figures, no such import or table; atlas\'s tables are not created', async () => {
    const settings = db.settings;
    assert.deepEqual(await listHistory(settings, all), { imports: [], total_count: 0, limit: 100, offset: 0 });
    const stats = await getStats(settings, { table: null, user: null, days: 30 });
    assert.equal(stats.total_imports, 0);
    assert.equal(stats.total_rows_inserted, 0);
    assert.equal(stats.success_rate, null);
    assert.equal(stats.avg_duration_seconds, null);
    assert.equal(stats.period_days, 30);
    assert.equal(Date.parse(stats.period_end) - Date.parse(stats.period_start), 30 * 86_400_000);
    for (const read of [() => getImport(settings, anId), () => listImportErrors(settings, anId, page), () => listSkippedDuplicates(settings, anId, page), () => undoImport(settings, anId, undoing)]) {
      await assert.rejects(read(), (err: unknown) => err instanceof NotFoundError && err.message === `no import with id ${anId}`);
    }
    await assert.rejects(undoBatch(settings, anId, undoing), (err: unknown) => err instanceof NotFoundError && err.message === `no import belongs to batch ${anId}`);
    const pruned = await pruneHistory(settings, { olderThanSeconds: aYear, dryRun: false });
    assert.deepEqual({ ...pruned, cutoff: null }, { dry_run: false, cutoff: null, statuses: ['failed', 'undone'], imports: [], pruned_count: 0, kept: [] });
    const compacted = await compactHistory(settings, { olderThanSeconds: aYear, dryRun: true });
    assert.deepEqual({ ...compacted, cutoff: null }, { dry_run: true, cutoff: null, imports: [], preimages_dropped: 0 });
    for (const cutoff of [pruned.cutoff, compacted.cutoff]) {
      const yearsAgo = (Date.now() - Date.parse(cutoff)) / (aYear * 1000);
      assert.ok(yearsAgo > 0.99 && yearsAgo < 1.01, `cutoff ${cutoff} is a year ago`);
    }
    await assert.rejects(traceLineage(settings, 'things'), (err: unknown) => err instanceof NotFoundError && err.message === `no table ${db.schema}.things`);
    await assert.rejects(traceRow(settings, 'things', 1), (err: unknown) => err instanceof NotFoundError && err.message === `no table ${db.schema}.things`);
    assert.deepEqual(await tablesOf(db.schema), [], 'no table was created');

    // The first import creates what it needs, as before; then the reads read it.
    const imported = await importInto(settings, files.write('things.csv', csv([['a'], [1]])));
    assert.deepEqual(await tablesOf(db.schema), ['atlas_migrations', 'import_duplicates', 'import_history', 'import_preimages', 'mapping_errors', 'things']);
    assert.deepEqual((await listHistory(settings, all)).imports.map((i) => i.import_id), [imported.import_id]);
    assert.equal((await traceLineage(settings, 'things')).total_imports, 1);
  });

  it('lineage of a table made by hand with _import_id, where atlas never ran: no import contributed its rows', async () => {
    const schema = `${db.schema}_hand`;
    try {
      await db.client.query(`create schema ${schema}`);
      await db.client.query(`create table ${schema}.kept (id integer primary key, _import_id uuid, v text)`);
      await db.client.query(`insert into ${schema}.kept values (1, $1, 'x')`, [anId]);
      const settings = settingsFor(schema);
      assert.deepEqual(await traceLineage(settings, 'kept'), { table_name: 'kept', imports: [], total_imports: 0, total_rows_contributed: 0, rows_now_in_table: 1 });
      await assert.rejects(traceRow(settings, 'kept', 1), (err: unknown) => err instanceof NotFoundError && err.message === `row 1 names import ${anId}, which has no history record`);
      await assert.rejects(traceRow(settings, 'kept', 2), (err: unknown) => err instanceof NotFoundError && err.message === `no row with id 2 in ${schema}.kept`);
      assert.deepEqual(await tablesOf(schema), ['kept'], 'atlas\'s tables are not created');
    } finally {
      await db.client.query(`drop schema if exists ${schema} cascade`);
    }
  });

  it('an import into a schema that does not exist creates it (only the reads never do)', async () => {
    const schema = `${db.schema}_new`;
    try {
      const imported = await importInto(settingsFor(schema), files.write('fresh.csv', csv([['a'], [1]])));
      assert.equal(imported.rows_inserted, 1);
      assert.equal(await schemaExists(schema), true);
    } finally {
      await db.client.query(`drop schema if exists ${schema} cascade`);
    }
  });

  it('a dry run, of one file or of a batch, into a schema that does not exist says what the import would do and creates nothing', async () => {
    const schema = `${db.schema}_dry`;
    const settings = settingsFor(schema);
    mkdirSync(join(files.dir, 'dry'));
    const file = files.write('dry/fresh.csv', csv([['a', 'b'], [1, 'x'], [2, 'y']]));
    files.write('dry/other.csv', csv([['c'], ['z']]));
    try {
      const p = await dryRunImport(settings, { source: file, table: null, format: null, delimiter: null, header: true, encoding: null, name: null });
      assert.deepEqual([p.table_name, p.import_strategy, p.would_fail], ['fresh', 'new_table', false]);
      assert.equal(await schemaExists(schema), false, 'the dry run created no schema');
      const plan = await planBatch(settings, { sources: [join(files.dir, 'dry')], table: null, format: null, delimiter: null, header: true, encoding: null, name: null, recursive: false, pattern: null, atomic: false, stopOnError: false });
      assert.deepEqual(plan.files.map((f) => [basename(f.file), f.table_name, f.action]), [['fresh.csv', 'fresh', 'import'], ['other.csv', 'other', 'import']]);
      assert.equal(await schemaExists(schema), false, 'the batch\'s plan created no schema');
      // The import itself then does what the dry run said.
      const imported = await importInto(settings, file);
      assert.deepEqual([imported.table_name, imported.import_strategy, imported.rows_inserted], ['fresh', 'new_table', 2]);
    } finally {
      await db.client.query(`drop schema if exists ${schema} cascade`);
    }
  });

  it('atlas\'s tables of an older version: a read upgrades them in place and reads them', async () => {
    const schema = `${db.schema}_v4`;
    try {
      await db.client.query(`create schema ${schema}`);
      await db.client.query(`create table ${schema}.atlas_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())`);
      for (const m of listMigrations().filter((m) => m.version <= 4)) {
        await db.client.query(`set search_path to ${schema}`);
        await db.client.query(m.sql);
        await db.client.query(`insert into ${schema}.atlas_migrations (version, name) values ($1, $2)`, [m.version, m.name]);
      }
      await db.client.query('reset search_path');
      const id = randomUUID();
      await db.client.query(`insert into ${schema}.import_history (import_id, source_type, table_name, file_name, status, rows_inserted) values ($1, 'local_upload', 't', 'f.csv', 'success', 7)`, [id]);
      const listed = await listHistory(settingsFor(schema), all);
      assert.deepEqual(listed.imports.map((i) => [i.import_id, i.import_mode, i.rows_inserted]), [[id, 'append', 7]]);
      const versions = await db.rows<{ version: number }>(`select version from ${schema}.atlas_migrations order by 1`);
      assert.deepEqual(versions.map((v) => v.version), listMigrations().map((m) => m.version));
    } finally {
      await db.client.query(`drop schema if exists ${schema} cascade`);
    }
  });
});

