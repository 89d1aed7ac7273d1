import { importIdIndexName, qualify, quoteIdent, rowHashIndexName } from './naming.js';

/** A user column of a data table. */
export interface ColumnDef {
  name: string;
  sqlType: string;
}

/**
 * DDL of a data table atlas creates: identity primary key, the user columns, the four metadata
 * columns with the cascading foreign key to import_history, the `_import_id` index, and
 * `_row_hash` (a hash of the row's user values) with its index, which makes the duplicate check an
 * index lookup instead of a scan of the whole table.
 *
 * `create` makes the bare table; `finish` adds the keys and indexes. A new table is filled in
 * between, in the same transaction: building an index once over all rows, and checking the foreign
 * key with one query instead of a trigger per row, is several times faster.
 */
/** A new table's DDL: `create` before its rows are inserted, `finish` (key, foreign key, indexes) after. */
export interface NewTableSql {
  create: string;
  finish: string[];
}

export function createTableSql(schema: string, table: string, columns: readonly ColumnDef[]): NewTableSql {
  const t = qualify(schema, table);
  const cols = [
    'id bigint generated always as identity',
    ...columns.map((c) => `${quoteIdent(c.name)} ${c.sqlType}`),
    '_import_id uuid not null',
    '_imported_at timestamp default now()',
    '_source_row_number integer',
    '_corrections_applied jsonb',
    '_row_hash bigint',
  ];
  return {
    create: `create table ${t} (\n  ${cols.join(',\n  ')}\n)`,
    finish: [
      `alter table ${t} add primary key (id), add foreign key (_import_id) references ${qualify(schema, 'import_history')} (import_id) on delete cascade`,
      `create index ${quoteIdent(importIdIndexName(table))} on ${t} (_import_id)`,
      `create index ${quoteIdent(rowHashIndexName(table))} on ${t} (_row_hash)`,
    ],
  };
}

/** `alter table ... add column` for columns a file brings to an existing table. */
export function addColumnsSql(schema: string, table: string, columns: readonly ColumnDef[]): string[] {
  return columns.map((c) => `alter table ${qualify(schema, table)} add column ${quoteIdent(c.name)} ${c.sqlType}`);
}
