// Staging: each result file is COPYed on its own connection and transaction into its own UNLOGGED table, so
// files stage concurrently and what was staged survives until the job is applied (or Postgres crashes, which
// empties unlogged tables: the caller checks counts with stagedRowCounts and stages again).
//
// Failures keep their kind: an error of the input (the download, gunzip) passes through unchanged, as it may be
// worth retrying; a value Postgres finds wrong in the CSV is a DataError; a failure of the warehouse itself is a
// WarehouseError, never mistaken for a failed download.
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { AquasyncError, DataError, WarehouseError } from '../errors.ts';
import { copyLine, isDataException, isPgError } from './pg-error.ts';
import * as sql from './sql/index.ts';
import type { StageFileArgs, StageFileResult } from './types.ts';
import { TypedStageRefused } from './typed-stage.ts';

export async function stageFile(pool: pg.Pool, args: StageFileArgs): Promise<StageFileResult> {
  // The input may fail while the setup statements run, before pipeline() listens: without a listener that
  // 'error' would crash the process. pipeline() still sees the stream as errored and rejects with its error.
  let inputError: unknown;
  const noteInputError = (error: unknown): void => {
    inputError ??= error;
  };
  args.csv.on('error', noteInputError);
  try {
    return await stage(pool, args);
  } catch (error) {
    if (error === inputError || error instanceof DataError) throw error;
    throw asWarehouseError(error, args);
  } finally {
    args.csv.off('error', noteInputError);
    // Release the download (socket, gunzip) when we failed before or outside pipeline().
    if (!args.csv.destroyed) args.csv.destroy();
  }
}

function asWarehouseError(error: unknown, args: StageFileArgs): unknown {
  if (!(error instanceof Error) || error instanceof AquasyncError) return error;
  return new WarehouseError(`staging result file ${args.fileId} (${args.object}) failed in the warehouse: ${error.message}`, {
    hint: 'nothing of this file was kept; the next run stages it again once the warehouse is reachable',
    context: { fileId: args.fileId, object: args.object },
    cause: error,
  });
}

async function stage(pool: pg.Pool, args: StageFileArgs): Promise<StageFileResult> {
  const { typed } = args;
  // Validates names before any I/O.
  const copySql = typed ? sql.copyIntoTypedStage(args.stageTable, typed) : sql.copyIntoStage(args.stageTable, args.columnCount);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await ensureStageSchema(client);
    // Every file of the job's table shares the typed stage: made once, outside any file's transaction.
    if (typed) await createOnce(client, sql.createTypedStage(args.stageTable, typed));
    await client.query('BEGIN');
    try {
      // Safe: a commit lost in a crash only means the file is staged again (its record goes with its rows).
      await client.query('SET LOCAL synchronous_commit = off');
      if (typed) {
        await client.query(`SET LOCAL TimeZone = ${sql.quoteLiteral(sql.ZUORA_SYSTEM_ZONE)}`);
      } else {
        await client.query(sql.dropStageTables([args.stageTable]));
        await client.query(sql.createStageTable(args.stageTable, args.columnCount));
      }
      const copy = client.query(copyFrom(copySql));
      await pipeline(args.csv, copy);
      const rows = copy.rowCount;
      if (args.onStaged) await args.onStaged(client, rows);
      await client.query('COMMIT');
      return { rows };
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable; discarding it aborts the transaction server-side. The first error is
        // the one worth reporting.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw describeStageError(error, args);
    }
  } finally {
    client.release(broken);
  }
}

async function ensureStageSchema(client: pg.PoolClient): Promise<void> {
  await createOnce(client, sql.createStageSchema());
}

/**
 * Concurrent `CREATE ... IF NOT EXISTS` can race on the catalog's unique indexes (23505; 42710 for a table's row
 * type); the loser finds it made.
 */
async function createOnce(client: pg.PoolClient, statement: string): Promise<void> {
  try {
    await client.query(statement);
  } catch (error) {
    if (isPgError(error) && ['23505', '42710', '42P06', '42P07'].includes(error.code ?? '')) return;
    throw error;
  }
}

/**
 * Data errors Postgres found in the CSV become DataError with the physical line (1 = header; a line break
 * inside a quoted value counts). Errors of the input stream (network, gunzip) and of the warehouse pass through
 * unchanged: they may be worth retrying.
 */
function describeStageError(error: unknown, args: StageFileArgs): unknown {
  // The typed stage also refuses an empty deleted flag (its column is NOT NULL).
  const refused = args.typed !== undefined && isPgError(error) && error.code === '23502';
  if (!isDataException(error) && !refused) return error;
  const line = copyLine(error);
  const where = line === undefined ? '' : ` line ${line}`;
  if (args.typed) return new TypedStageRefused(`result file ${args.fileId} (${args.object})${where}: ${error.message}`, error);
  return new DataError(`result file ${args.fileId} (${args.object})${where}: ${error.message}`, {
    hint:
      `the file is not CSV with ${args.columnCount} columns per row and one kind of line ending, or holds invalid ` +
      'UTF-8 or NUL bytes; download it again, and if it stays broken report it to Zuora',
    context: { fileId: args.fileId, object: args.object, line, sqlstate: error.code },
    cause: error,
  });
}

export async function dropStageTables(client: pg.ClientBase, tables: string[]): Promise<void> {
  if (tables.length === 0) return;
  await client.query(sql.dropStageTables(tables));
}

/**
 * Rows now in each stage table (undefined: the table is gone). Never fails the caller's transaction for a missing
 * table. The loader compares these with the counts recorded at staging, because a crash of the server empties
 * unlogged tables while the records saying "staged" survive.
 */
export async function stagedRowCounts(client: pg.ClientBase, tables: readonly string[]): Promise<Map<string, number | undefined>> {
  const counts = new Map<string, number | undefined>(tables.map((t) => [t, undefined]));
  if (tables.length === 0) return counts;
  const existing = await client.query<{ name: string }>(sql.existingStageTables(), [tables]);
  const present = existing.rows.map((r) => r.name);
  if (present.length === 0) return counts;
  const rows = await client.query<{ name: string; n: string }>(sql.countStageRows(present));
  for (const row of rows.rows) counts.set(row.name, Number(row.n));
  return counts;
}
