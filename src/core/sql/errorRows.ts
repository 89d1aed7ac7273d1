/** The mapping errors of an import: one SELECT of every staged value that cannot be stored, and every ragged row. */
import { MAX_SOURCE_VALUE_CHARS } from '../../db/mappingErrors.js';
import { plannedRawSql } from '../../db/staging/index.js';
import { EXCEL_PHANTOM_DATE, FORMULA_NOT_CALCULATED, SPREADSHEET_ERROR } from '../../formats/shared/index.js';
import { quoteIdent } from '../../transform/naming.js';
import { errorSql, validSql } from '../../transform/typeSql.js';
import type { SqlArgs } from './args.js';

/** The mapping error's message of each kind of unread cell (`%s`: the cell's `before`). */
const UNREAD_CELL_MESSAGES: Record<string, string> = {
  [FORMULA_NOT_CALCULATED]: 'the cell holds the formula %s without a calculated value: open and save the workbook in a spreadsheet program so that it is calculated',
  [EXCEL_PHANTOM_DATE]: 'the cell holds the date serial %s, which Excel shows as 1900-02-29, a day that never was',
};

/** What the error query needs to know about the staged rows. */
interface StagedShape {
  /** Rows with too few or too many fields were staged. */
  raggedRows: number;
  /** Fields per record of a fixed-width input. */
  width: number;
  /** What set that width: the header, or the first record of a file without one (--no-header). */
  widthFrom: string;
  /** Spreadsheet error cells and the other cells read as NULL with a correction (UNREAD_CELL_TYPES) are mapping errors (--strict). */
  errorCellsAreErrors: boolean;
}

/** A SELECT of every mapping error (record_number, source_field, target_field, error_type, error_message, source_value), or null when none can exist. */
export function errorRowsSql(args: SqlArgs & StagedShape): { sql: string; params: unknown[] } | null {
  const { stage, plan } = args;
  const st = quoteIdent(stage);
  const params: unknown[] = [];
  const parts: string[] = [];
  if (args.raggedRows > 0) {
    params.push(args.width);
    const width = `$${params.length}::int`;
    // _err is `too_many_fields:<count>:<the record as a CSV line>` (db/staging/fixedRows.ts).
    parts.push(
      `select s._rn as record_number, null::text as source_field, null::text as target_field, 'field_count_mismatch'::text as error_type,
              format('record has %s field(s), ${args.widthFrom} has %s%s', split_part(s._err, ':', 2), ${width},
                     case when split_part(s._err, ':', 2)::int < ${width} then ' (--fill-short-rows fills the missing ones with NULL)' else '' end) as error_message,
              substring(s._err from '^[a-z_]+:[0-9]+:(.*)$') as source_value
         from ${st} s where s._err is not null`,
    );
  }
  if (args.errorCellsAreErrors) {
    for (const c of plan.columns.filter((p) => p.staged.errorCells !== null)) {
      params.push(c.sourceName, c.targetName);
      const [src, tgt] = [params.length - 1, params.length];
      parts.push(
        `select s._rn as record_number, $${src}::text as source_field, $${tgt}::text as target_field, '${SPREADSHEET_ERROR}'::text as error_type,
                format('the cell holds the spreadsheet error %s', f.before) as error_message, f.before as source_value
           from ${st} s cross join lateral (select s._fix -> $${tgt}::text ->> 'before' as before) f
          where s._err is null and s._fix -> $${tgt}::text ->> 'correction_type' = '${SPREADSHEET_ERROR}'`,
      );
    }
    for (const c of plan.columns) {
      for (const type of c.staged.unreadCells?.keys() ?? []) {
        const message = UNREAD_CELL_MESSAGES[type];
        if (message === undefined) continue;
        params.push(c.sourceName, c.targetName, type, message);
        const [src, tgt, typ, msg] = [params.length - 3, params.length - 2, params.length - 1, params.length];
        parts.push(
          `select s._rn as record_number, $${src}::text as source_field, $${tgt}::text as target_field, $${typ}::text as error_type,
                  format($${msg}::text, f.before) as error_message, f.before as source_value
             from ${st} s cross join lateral (select s._fix -> $${tgt}::text ->> 'before' as before) f
            where s._err is null and s._fix -> $${tgt}::text ->> 'correction_type' = $${typ}::text`,
        );
      }
    }
  }
  const schemaQuoted = quoteIdent(args.schema);
  for (const c of plan.columns.filter((p) => p.checkValidity)) {
    const raw = plannedRawSql(c);
    params.push(c.sourceName, c.targetName, c.sqlType);
    const [src, tgt, typ] = [params.length - 2, params.length - 1, params.length];
    const error = errorSql(c, raw, `$${tgt}::text`, `$${typ}::text`, { schemaQuoted, hasPgInputIsValid: args.hasPgInputIsValid });
    parts.push(
      `select s._rn as record_number, $${src}::text as source_field, $${tgt}::text as target_field, ${error.type} as error_type,
              ${error.message} as error_message, left(${raw}, ${MAX_SOURCE_VALUE_CHARS}) as source_value
         from ${st} s where s._err is null and not ${validSql(c, raw, schemaQuoted, args.hasPgInputIsValid)}`,
    );
  }
  if (parts.length === 0) return null;
  return { sql: parts.join('\nunion all\n'), params };
}
