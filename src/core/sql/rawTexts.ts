import { plannedRawSql } from '../../db/staging/index.js';
import { recordsCorrections } from '../../transform/typeSql.js';
import type { ImportPlan } from '../plan.js';

/** Columns of a table (MaxHeapAttributeNumber); a select list holds 1,664, so this bounds both. */
const MAX_COLUMNS = 1600;

/**
 * The file's text of the columns an INSERT needs it for (their corrections, their lookups), to
 * select beside each column's converted value: one column each (r0, r1, ...), or, where that with
 * the converted values and a few more would pass PostgreSQL's 1,600 columns (a file of 800 columns
 * each recording corrections), one text array `r` of them. `refs` maps a column's index to its text
 * under alias `v`. The same plan and `wanted` give the same columns, wherever they are read.
 */
export function rawTexts(plan: ImportPlan, wanted: (i: number) => boolean): { select: string[]; refs: Map<number, string> } {
  const indexes = plan.columns.flatMap((_, i) => (wanted(i) ? [i] : []));
  const packed = plan.columns.length + indexes.length + 4 > MAX_COLUMNS;
  if (!packed) return { select: indexes.map((i) => `${plannedRawSql(plan.columns[i]!)} as r${i}`), refs: new Map(indexes.map((i) => [i, `v.r${i}`])) };
  return {
    select: [`array[${indexes.map((i) => plannedRawSql(plan.columns[i]!)).join(', ')}]::text[] as r`],
    refs: new Map(indexes.map((i, k) => [i, `v.r[${k + 1}]`])),
  };
}

/** The texts of the columns whose corrections are recorded: as the duplicate check's converted rows carry them and the INSERT reads them. */
export function correctionTexts(plan: ImportPlan): { select: string[]; refs: Map<number, string> } {
  return rawTexts(plan, (i) => recordsCorrections(plan.columns[i]!));
}
