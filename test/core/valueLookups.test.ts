import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImportPlan, PlannedColumn } from '../../src/core/plan.ts';
import { analyzeLookupCandidatesSql, analyzeStageRowsSql, createValueLookups } from '../../src/core/valueLookups.ts';
import { ColumnStats, type ValueFormat } from '../../src/transform/infer.ts';
import { atlasTypeRef } from '../../src/transform/typeRef.ts';
import { useTestDb } from '../helpers.ts';
import { migrateTestDb } from '../importHelpers.ts';

function column(name: string, ref: string, sqlType: string, format: ValueFormat, checkValidity: boolean): PlannedColumn {
  return {
    sourceName: name,
    targetName: name,
    sqlType,
    type: atlasTypeRef(sqlType),
    format,
    checkValidity,
    recordCorrections: true,
    staged: { sourceName: name, mappingKey: name, targetName: name, stats: new ColumnStats(), ref: { name: ref }, json: false, arrays: false, scalars: null, errorCells: null, unreadCells: null, nulls: null, nulled: 0 },
  };
}

describe('value lookups', () => {
  const db = useTestDb({ setup: migrateTestDb }); // atlas_input_is_valid, the validity check of servers before PostgreSQL 16

  it('are built for corrected columns of few distinct values, from the valid texts of rows without errors, with the conversion and correction per text', async () => {
    const c = db.client;
    const stage = '_atlas_stage_lookup_test';
    const importId = '00000000-0000-4000-8000-000000000001';
    await c.query('begin');
    try {
      await c.query(`create temp table ${stage} (_rn integer not null, _err text, _fix jsonb, c1 text, c2 text, c3 text) on commit drop`);
      // c1: four US dates, one of them invalid; c2: yes/no; c3: a different timestamp per row.
      // Row 3000 is ragged (_err set): its c1 text must not reach the lookup.
      await c.query(
        `insert into ${stage}
         select n, case when n = 3000 then 'too_few_fields:1' end,
                null,
                case when n = 3000 then '06/06/2006' else (array['01/05/2024', '02/29/2024', '02/30/2024', '12/31/2022'])[1 + n % 4] end,
                case when n % 2 = 0 then 'yes' else 'no' end,
                to_char(timestamp '2024-01-01' + n * interval '1 minute', 'MM/DD/YYYY HH24:MI')
           from generate_series(1, 3000) n`,
      );
      const columns = [
        column('d', 'c1', 'date', { kind: 'date', order: 'mdy', separator: '/' }, true),
        column('flag', 'c2', 'boolean', { kind: 'boolean' }, false),
        column('ts', 'c3', 'timestamp', { kind: 'timestamp', order: 'mdy', separator: '/', zone: false }, false),
      ];
      const plan = { columns } as unknown as ImportPlan;
      // The import's own ANALYZE: `_rn` and the lookup candidates only (the lookups need their n_distinct).
      for (const sql of analyzeStageRowsSql(stage)) await c.query(sql);
      await c.query(analyzeLookupCandidatesSql(stage, plan, 3000)!);
      const lookups = await createValueLookups(c, { stage, plan, rows: 3000, schema: db.schema, hasPgInputIsValid: false, importId });
      assert.deepEqual([...lookups.keys()], ['d', 'flag'], 'the timestamp column has a distinct value per row: converted per row');

      const d = await c.query(`select raw, v::text, j from ${lookups.get('d')} order by raw`);
      assert.deepEqual(d.rows, [
        { raw: '01/05/2024', v: '2024-01-05', j: { d: { before: '01/05/2024', after: '2024-01-05', correction_type: 'datetime_standardization', source_format: '%m/%d/%Y' } } },
        { raw: '02/29/2024', v: '2024-02-29', j: { d: { before: '02/29/2024', after: '2024-02-29', correction_type: 'datetime_standardization', source_format: '%m/%d/%Y' } } },
        { raw: '12/31/2022', v: '2022-12-31', j: { d: { before: '12/31/2022', after: '2022-12-31', correction_type: 'datetime_standardization', source_format: '%m/%d/%Y' } } },
      ]);
      const flag = await c.query(`select raw, v, j from ${lookups.get('flag')} order by raw`);
      assert.deepEqual(flag.rows, [
        { raw: 'no', v: false, j: { flag: { before: 'no', after: false, correction_type: 'type_coercion', target_type: 'BOOLEAN' } } },
        { raw: 'yes', v: true, j: { flag: { before: 'yes', after: true, correction_type: 'type_coercion', target_type: 'BOOLEAN' } } },
      ]);

      // Below the row count worth the extra statements, none is built.
      assert.equal((await createValueLookups(c, { stage, plan, rows: 999, schema: db.schema, hasPgInputIsValid: false, importId })).size, 0);
      assert.equal(analyzeLookupCandidatesSql(stage, plan, 999), null);
    } finally {
      await c.query('rollback');
    }
  });
});
