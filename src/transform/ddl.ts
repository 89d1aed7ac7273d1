import { importIdIndexName, qualify, quoteIdent } from './naming.js';

/** A user column of a data table. */
export interface ColumnDef {
  name: string;
  sqlType: string;
}

/**
 * DDL of a data table atlas creates: identity primary key, the user columns, the four metadata
 * columns with the cascading foreign key to import_history, and the `_import_id` index.
 */
export function createTableSql(schema: string, table: string, columns: readonly ColumnDef[]): string[] {
  const cols = [
    'id bigint generated always as identity primary key',
    ...columns.map((c) => `${quoteIdent(c.name)} ${c.sqlType}`),
    `_import_id uuid not null references ${qualify(schema, 'import_history')} (import_id) on delete cascade`,
    '_imported_at timestamp default now()',
    '_source_row_number integer',
    '_corrections_applied jsonb',
  ];
  return [
    `create table ${qualify(schema, table)} (\n  ${cols.join(',\n  ')}\n)`,
    `create index ${quoteIdent(importIdIndexName(table))} on ${qualify(schema, table)} (_import_id)`,
  ];
}

/** `alter table ... add column` for columns a file brings to an existing table. */
export function addColumnsSql(schema: string, table: string, columns: readonly ColumnDef[]): string[] {
  return columns.map((c) => `alter table ${qualify(schema, table)} add column ${quoteIdent(c.name)} ${c.sqlType}`);
}

/** A staging table: row number, a row-level problem (ragged row), and one text column per input column. */
export function createStageSql(stage: string, width: number): string {
  const cols = ['_rn integer not null', '_err text', ...Array.from({ length: width }, (_, i) => `c${i + 1} text`)];
  // TEMP: no WAL and no visibility to other sessions; ON COMMIT DROP cleans up on every path.
  return `create temp table ${quoteIdent(stage)} (${cols.join(', ')}) on commit drop`;
}
