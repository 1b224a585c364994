// Applying staged files to a warehouse table, inside the caller's transaction (which also moves the watermark).
import type pg from 'pg';
import { DataError } from '../errors.ts';
import type { TableSpec } from '../plan/types.ts';
import { isDataException, isPgError } from './pg-error.ts';
import * as sql from './sql.ts';
import { ensureTable } from './schema.ts';
import type { EnsureTableResult, MergeArgs, MergeResult } from './types.ts';

export async function mergeStaged(client: pg.ClientBase, spec: TableSpec, args: MergeArgs): Promise<MergeResult> {
  sql.validateSpec(spec);
  const merge = sql.mergeStaged(spec, args.stages);
  const missing = args.full ? sql.markMissing(spec, args.stages, args.jobId, args.snapshotAt) : undefined;
  try {
    const result = await client.query<{ upserted: string; deleted: string }>(merge, [args.jobId]);
    const row = result.rows[0];
    const marked = missing === undefined ? 0 : ((await client.query(missing)).rowCount ?? 0);
    return { upserted: Number(row?.upserted ?? 0), deleted: Number(row?.deleted ?? 0), missingMarkedDeleted: marked };
  } catch (error) {
    throw describeMergeError(error, spec);
  }
}

/**
 * Applies a table's staged files: creates or extends the table, then loads it. A table created here is filled with
 * a plain INSERT and gets its primary key afterwards (a first full load, the slowest case, ~1.5x faster); an
 * existing one is merged. Must run in the caller's transaction, so a failure leaves no table behind.
 */
export async function applyStaged(
  client: pg.ClientBase,
  spec: TableSpec,
  args: MergeArgs,
): Promise<MergeResult & { table: EnsureTableResult }> {
  const table = await ensureTable(client, spec, { deferPrimaryKey: true });
  if (!table.created) return { ...(await mergeStaged(client, spec, args)), table };
  try {
    const result = await client.query<{ upserted: string; deleted: string }>(sql.insertIntoNewTable(spec, args.stages), [args.jobId]);
    await client.query(sql.addPrimaryKey(spec));
    const row = result.rows[0];
    // An empty table has nothing a full snapshot could be missing.
    return { upserted: Number(row?.upserted ?? 0), deleted: Number(row?.deleted ?? 0), missingMarkedDeleted: 0, table };
  } catch (error) {
    throw describeMergeError(error, spec);
  }
}

/** A value the column type cannot read, or an empty key, is a problem of the data, not of the warehouse. */
function describeMergeError(error: unknown, spec: TableSpec): unknown {
  const emptyKey = isPgError(error) && error.code === '23502';
  if (!isDataException(error) && !emptyKey) return error;
  const table = `${spec.schema}.${spec.table}`;
  return new DataError(`merging ${spec.object} into ${table}: ${error.message}`, {
    hint: emptyKey
      ? `a row has an empty primary key (${spec.primaryKey.join(', ')})`
      : 'a value in the result files does not fit its column type; check the type overrides for this table',
    context: { object: spec.object, table, sqlstate: error.code, column: error.column },
    cause: error,
  });
}
