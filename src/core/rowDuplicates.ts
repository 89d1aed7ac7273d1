/**
 * An import's row-level duplicate check: against an existing table before the INSERT (the stored
 * row hashes checked for staleness first), or within a new table's rows after it; the duplicate
 * records kept in import_duplicates.
 */
import { withRowSecurityOff } from '../db/connection.js';
import type { StageResult } from '../db/staging/index.js';
import { recordChangesBeforeRewrite, withImportIdCheckSkipped, type ExistingTable } from '../db/tables.js';
import { AtlasError } from '../errors.js';
import { importTempTable, quoteIdent } from '../transform/naming.js';
import type { ImportPlan } from './plan.js';
import { deleteDuplicatesSql, duplicateCheckSql, newTableDuplicatesSql } from './sql/duplicates.js';
import { rehashTableSql, staleRowHashesSql, tableColumnOrder, type TableColumn } from './sql/rowHash.js';
import { msToSeconds } from './importTypes.js';
import { comparesWholeRows, type Decision, type Duplicates, type ImportRun, type Staging } from './importRun.js';
import type { BaseRecord } from './importRecord.js';

/** Rows at each end of a table whose stored `_row_hash` is checked before the duplicate check trusts it. */
const STALE_HASH_SAMPLE = 50;

/**
 * Recomputes every row's `_row_hash`, and records this transaction's id in the history record:
 * the UPDATE gives the rows of earlier imports a new xmin, which undo then knows is atlas's own
 * rewrite, not a change by someone else (see getImportRowState).
 */
export async function rehash(run: ImportRun, record: BaseRecord, columns: ReadonlyArray<TableColumn>): Promise<number> {
  await recordChangesBeforeRewrite(run.client, run.schema, run.tableName);
  const res = await run.client.query(rehashTableSql(run.schema, run.tableName, columns));
  const xid = run.writeXid ?? (await run.client.query<{ x: string }>(`select (txid_current() % 4294967296)::text as x`)).rows[0]!.x;
  Object.assign(record.metadata, { rehash_xmin: xid, rehashed_rows: res.rowCount ?? 0 });
  return res.rowCount ?? 0;
}

export const noDuplicateCheck: Duplicates = { found: 0, seconds: null, validRows: null, converted: null };

/** Where the import's duplicate records go (import_duplicates, under this import's id). */
const keptInto = (run: ImportRun) => ({ schema: run.schema, table: 'import_duplicates', fkColumn: 'import_id', importId: run.importId });

/**
 * The duplicate check compares with every row of the table: a row-level security policy hiding
 * some from this role would let their copies in unseen, so it fails instead (withRowSecurityOff),
 * and the INSERT after it meets the table's policies as usual.
 */
export async function checkAllRows(run: ImportRun, check: () => Promise<Duplicates>): Promise<Duplicates> {
  const dups = await withRowSecurityOff(run.client, `cannot check ${run.prepared.input.opened.fileName} for duplicates`, check, ', or import with --no-dedupe (no duplicate check)');
  await run.client.query('set local row_security = on');
  return dups;
}

/**
 * Row-level duplicates in an existing table: one set-based check against the table and the file
 * itself, before the INSERT (a new table's are removed after it: see insertRows). The duplicate
 * records are kept in import_duplicates.
 */
export async function checkDuplicates(run: ImportRun, { staged }: Staging, { existing, plan, early, fingerprint }: Decision, record: BaseRecord, key: string[], mayInsertNothing: boolean, inPlace: boolean): Promise<Duplicates> {
  const { client, schema, tableName, warnings } = run;
  await run.options.onPhase?.('checking duplicates');
  run.checkCancelled();
  const start = performance.now();
  const { tableColumns, useStoredHash, converted, foundTable, sameTable, check } = duplicateCheckFor(run, staged, plan, existing!, key, inPlace);
  const checkedKey = `${schema}.${tableName}`;
  const checkedBefore = fingerprint !== null && run.reuse.hashesChecked?.get(checkedKey) === fingerprint;
  if (useStoredHash && plan.newColumns.length === 0 && !checkedBefore) {
    // (New columns were just rehashed by createOrExtendTable.)
    const stale = await client.query<{ stale: number }>(staleRowHashesSql(schema, tableName, tableColumns, STALE_HASH_SAMPLE));
    if (stale.rows[0]!.stale > 0) {
      const rows = await rehash(run, record, tableColumns);
      warnings.push(`${tableName}'s stored row hashes did not match its columns (one dropped or retyped outside atlas?): recomputed for its ${rows} row(s) before the duplicate check`);
    } else if (fingerprint !== null) (run.reuse.hashesChecked ??= new Map()).set(checkedKey, fingerprint);
  }
  let validRows: number;
  if (early !== null && early.source === check.source) validRows = early.validRows;
  else {
    if (early !== null) await client.query(`drop table ${quoteIdent(converted)}`);
    validRows = (await client.query(check.source)).rowCount ?? 0;
    await client.query(check.analyze);
  }
  const found = (await client.query(check.find)).rowCount ?? 0;
  // Every row without a mapping error a duplicate, the others rejected: the caller stops (nothing kept).
  if (mayInsertNothing && found === validRows) return { found, seconds: null, validRows, converted: null, allDuplicatesOfValidRows: true };
  let unchanged: Duplicates['unchanged'];
  if (found > 0) {
    await client.query(check.analyzeFound);
    if (check.unchanged !== null) {
      unchanged = { table: sameTable, rows: (await client.query(check.unchanged)).rowCount ?? 0 };
      await client.query(`analyze ${quoteIdent(sameTable!)}`);
    }
    // Kept in import_duplicates (see withImportIdCheckSkipped).
    const duplicates = found - (unchanged?.rows ?? 0);
    const kept = duplicates === 0 ? { rowCount: 0 } : await withImportIdCheckSkipped(client, keptInto(run), () => client.query(check.keep, check.params));
    if (kept.rowCount !== duplicates) throw new AtlasError(`internal error: ${duplicates} duplicate(s) found but ${kept.rowCount} kept; nothing was imported`);
  } else if (check.unchanged !== null) {
    // No table row repeated: every one goes.
    unchanged = { table: null, rows: 0 };
  }
  // The INSERT reads the converted rows (not converting the staged ones again). Few duplicates:
  // deleted from them (cost grows with the duplicates). Mostly duplicates: left out with an
  // anti-join, file order kept by a sort (cost grows with the rows still to insert, few here).
  let exclude: string | null = null;
  if (found > 0 && found < validRows) {
    if (found * 2 <= validRows) await client.query(deleteDuplicatesSql(converted, foundTable));
    else exclude = foundTable;
  }
  const seconds = msToSeconds(performance.now() - start);
  Object.assign(run.trace, { duplicatesFound: found - (unchanged?.rows ?? 0), duplicateCheckSeconds: seconds });
  run.checkCancelled();
  return { found, seconds, validRows, converted: { table: converted, found: exclude, hash: useStoredHash }, ...(unchanged ? { unchanged } : {}) };
}

/** The duplicate check's statements for this plan against the existing table. */
export function duplicateCheckFor(run: ImportRun, staged: StageResult, plan: ImportPlan, existing: ExistingTable, key: string[], inPlace = false) {
  const tableColumns = tableColumnOrder(plan, existing.columns);
  const useStoredHash = comparesWholeRows(plan, existing, key);
  const converted = importTempTable(run.importId, 'conv');
  const foundTable = importTempTable(run.importId, 'dups');
  const sameTable = inPlace ? importTempTable(run.importId, 'same') : null;
  const check = duplicateCheckSql({
    schema: run.schema, stage: run.stage, plan, hasPgInputIsValid: run.hasPgInputIsValid, tableName: run.tableName, importId: run.importId, tableColumns, key, useStoredHash, converted, found: foundTable,
    forInsert: { readerFixes: staged.rowsWithFixes > 0 },
    ...(sameTable === null ? {} : { unchanged: sameTable }),
  });
  return { tableColumns, useStoredHash, converted, foundTable, sameTable, check };
}

/** A new table holds only this file's rows: its duplicates are the rows equal to an earlier one, kept in import_duplicates and deleted. */
export async function removeNewTableDuplicates(run: ImportRun, plan: ImportPlan, key: string[], useStoredHash: boolean): Promise<{ duplicates: Duplicates; rows: number }> {
  await run.options.onPhase?.('checking duplicates');
  run.checkCancelled();
  const start = performance.now();
  const check = newTableDuplicatesSql({ schema: run.schema, tableName: run.tableName, importId: run.importId, plan, key, useStoredHash });
  const counts = await withImportIdCheckSkipped(run.client, keptInto(run), () => run.client.query<{ duplicates: number; removed: number }>(check.sql, check.params));
  const { duplicates, removed } = counts.rows[0]!;
  const seconds = msToSeconds(performance.now() - start);
  Object.assign(run.trace, { duplicatesFound: duplicates, duplicateCheckSeconds: seconds });
  run.checkCancelled();
  return { duplicates: { found: duplicates, seconds, validRows: null, converted: null }, rows: removed };
}
