/**
 * A staged row's `_fix`: the corrections made while reading it (a reader's fixes, null values,
 * NUL bytes removed), written as the COPY text of one JSON object.
 */
import { excelDateFixJson } from '../../formats/xlsx/index.js';
import type { ReaderFix } from '../../formats/shared/index.js';
import { escapeCopyText, NEEDS_ESCAPE } from '../../transform/copyText.js';
import type { StagedColumn, StageResult } from './columns.js';

/** True when `value` (trimmed as inference trims) is one of the column's null values. */
export function isNullValue(nulls: ReadonlySet<string>, value: string): boolean {
  return nulls.has(value) || nulls.has(value.trim());
}

/** Stages a null value: counted on its column, recorded in the row's `_fix` members (see withFix). */
export function nullValueFix(col: StagedColumn, quotedTarget: string, value: string, members: string): string {
  col.nulled++;
  return withFix(members, quotedTarget, { before: value, after: null, correction_type: 'null_value' });
}

/**
 * A row's corrections go into `_fix` as the members of a JSON object, written as text: `"target":
 * {fix}` joined by commas, "" for none. A key written twice keeps its last value, as jsonb does.
 * Text rather than an object per row and JSON.stringify: each column's quoted name is made once,
 * and no key is treated specially (`__proto__`).
 */
export function withFix(members: string, quotedTarget: string, fix: ReaderFix): string {
  // Each member is escaped for COPY text as it is made, so a plain fix under a plain name needs no
  // test of the whole row's JSON (a sheet of dates has one or more per row).
  const plain = excelDateFixJson(fix);
  const member = plain !== null && !NEEDS_ESCAPE.test(quotedTarget) ? `${quotedTarget}:${plain}` : escapeCopyText(`${quotedTarget}:${plain ?? JSON.stringify(fix)}`);
  return members === '' ? member : `${members},${member}`;
}

/** A reader's fix as JSON text, as staged in `_fix`. */
export function fixJson(fix: ReaderFix): string {
  return excelDateFixJson(fix) ?? JSON.stringify(fix);
}

/**
 * `value` without its NUL bytes (PostgreSQL text cannot hold them), counted, and the row's
 * correction members (see withFix) with the removal recorded under `quotedTarget`.
 */
export function stripNul(value: string, quotedTarget: string, members: string, result: StageResult): [string, string] {
  result.nulValues++;
  const clean = value.replace(/\0/g, '');
  return [clean, withFix(members, quotedTarget, { before: value.replace(/\0/g, '\\0'), after: clean, correction_type: 'nul_removed' })];
}

/** Counts a spreadsheet error cell of `column` (see StagedColumn.errorCells). */
export function countErrorCell(column: StagedColumn, text: string): void {
  column.errorCells ??= new Map();
  column.errorCells.set(text, (column.errorCells.get(text) ?? 0) + 1);
}

/** Counts a cell of `column` the reader could not read as a value (see StagedColumn.unreadCells). */
export function countUnreadCell(column: StagedColumn, fix: ReaderFix): void {
  column.unreadCells ??= new Map();
  const seen = column.unreadCells.get(fix.correction_type);
  if (seen === undefined) column.unreadCells.set(fix.correction_type, { count: 1, first: fix.before });
  else seen.count++;
}

/** `_fix` of a row as COPY text: its members (escaped by withFix) as one JSON object, or NULL. */
export function fixesJson(members: string, result: StageResult): string {
  if (members === '') return '\\N';
  result.rowsWithFixes++;
  return `{${members}}`;
}
