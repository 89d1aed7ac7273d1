/** One staging of one input: its connection, its table, what it found so far, and its COPYs. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { ColumnStats } from '../../transform/infer.js';
import { ColumnNamer, MappingKeys } from '../../transform/naming.js';
import type { Client } from '../connection.js';
import type { NullValuesOf, StagedColumn, StageResult, TargetNames } from './columns.js';

/** COPY data is sent in pieces of about this size: big enough to keep per-write overhead low. */
export const COPY_CHUNK_CHARS = 1 << 18;

export interface StageRun {
  client: Client;
  /** The staging table's name. */
  stage: string;
  result: StageResult;
  /** Adds a staged column for a source column, named as the mapping says, with its null values. */
  addColumn(sourceName: string, ref: StagedColumn['ref']): StagedColumn;
  /** Runs one COPY statement over `data`; resolves with the rows the server read. */
  copy(sql: string, data: AsyncIterable<string | Buffer>): Promise<number>;
  /** Told the rows staged so far, after each piece of COPY data is made. */
  onChunk: ((rows: number) => void | Promise<void>) | undefined;
}

export function newStageRun(
  client: Client,
  stage: string,
  targets: TargetNames,
  nullValuesOf: NullValuesOf,
  signal: AbortSignal | undefined,
  onChunk: StageRun['onChunk'],
): StageRun {
  const namer = new ColumnNamer();
  const keys = new MappingKeys();
  const result: StageResult = { rows: 0, raggedRows: 0, nulValues: 0, rowsWithFixes: 0, csvRows: 0, columns: [], notes: [] };
  return {
    client,
    stage,
    result,
    onChunk,
    addColumn(sourceName, ref) {
      const mappingKey = keys.next(sourceName);
      const found = nullValuesOf(mappingKey);
      const nulls = found !== null && found.size > 0 ? found : null;
      const col: StagedColumn = { sourceName, mappingKey, targetName: namer.next(sourceName, targets.get(mappingKey)), stats: new ColumnStats(nulls), ref, json: false, arrays: false, scalars: null, errorCells: null, unreadCells: null, nulls, nulled: 0 };
      result.columns.push(col);
      return col;
    },
    async copy(sql, data) {
      const copy = client.query(copyFrom(sql));
      await pipeline(Readable.from(data, { highWaterMark: 2 }), copy, signal ? { signal } : {});
      return copy.rowCount;
    },
  };
}
