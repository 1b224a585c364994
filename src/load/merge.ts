// Applying staged files to a warehouse table, inside the caller's transaction (which also moves the watermark).
// A value Postgres cannot take never fails the job: the rows holding such values are quarantined and the table
// is applied again without them, so one poison value cannot stall a pipeline.
import type pg from 'pg';
import { DataError } from '../errors.ts';
import type { TableSpec } from '../plan/types.ts';
import { isDataException, isPgError } from './pg-error.ts';
import * as sql from './sql/index.ts';
import { ensureTable } from './schema.ts';
import type { EnsureTableResult, LoadPath, MergeArgs, MergeResult } from './types.ts';

/** A table whose every value was broken would need one round per column at most; more means something else. */
const MAX_QUARANTINE_ROUNDS = 3;

/**
 * Applies a table's staged files: creates or extends the table, then loads it. A table created here is filled with
 * a plain INSERT and gets its primary key afterwards; an existing one is merged. Rows missing from a complete
 * snapshot are then deleted. Must run in the caller's transaction, so a failure leaves no table behind.
 *
 * With `keysLikelyDistinct` (the files are one complete snapshot), a new or empty table takes the first-load path:
 * no de-duplicating sort, the key proves each key came once, and the sorting path runs only when it did not.
 */
export async function applyStaged(
  client: pg.ClientBase,
  spec: TableSpec,
  args: MergeArgs,
): Promise<MergeResult & { table: EnsureTableResult }> {
  const table = await ensureTable(client, spec, { deferPrimaryKey: true });
  const target = table.spec;
  const fast = args.keysLikelyDistinct === true;
  const empty = table.created || (fast && (await isEmpty(client, target)));
  let load: () => Promise<Loaded>;
  if (fast && empty) load = () => firstLoad(client, target, args, table.created);
  else if (table.created) load = () => insertIntoNewTable(client, target, args);
  else load = () => upsert(client, target, args);
  const loaded = await withQuarantine(client, target, args, load);
  // An empty table has nothing a snapshot could be missing.
  const missing = empty ? 0 : await markMissing(client, target, args, loaded.quarantined > 0);
  return { ...loaded, repeatedKeys: loaded.repeatedKeys === true, missingMarkedDeleted: missing, table };
}

/** The merge into an existing table (its columns already in place), with quarantine. For tests and the bench. */
export async function mergeStaged(client: pg.ClientBase, spec: TableSpec, args: MergeArgs): Promise<MergeResult> {
  sql.validateSpec(spec);
  const loaded = await withQuarantine(client, spec, args, () => upsert(client, spec, args));
  return { ...loaded, repeatedKeys: false, missingMarkedDeleted: await markMissing(client, spec, args, loaded.quarantined > 0) };
}

type Loaded = { upserted: number; deleted: number; load: LoadPath; repeatedKeys?: boolean };

async function upsert(client: pg.ClientBase, spec: TableSpec, args: MergeArgs): Promise<Loaded> {
  return { ...counts(await client.query(sql.mergeStaged(spec, args.stages), [args.jobId])), load: 'merge' };
}

async function insertIntoNewTable(client: pg.ClientBase, spec: TableSpec, args: MergeArgs): Promise<Loaded> {
  const result = counts(await client.query(sql.insertIntoNewTable(spec, args.stages), [args.jobId]));
  await client.query(sql.addPrimaryKey(spec));
  return { ...result, load: 'sorted' };
}

async function isEmpty(client: pg.ClientBase, spec: TableSpec): Promise<boolean> {
  const result = await client.query<{ empty: boolean }>(sql.tableIsEmpty(spec));
  return result.rows[0]?.empty === true;
}

/**
 * Every staged row straight in, then the key: a new table builds it once (one sort; maintenance_work_mem is left
 * as the server has it: 1 GB instead of 64 MB made the build of 10M keys slower here, 20 s against 14 to 17 s, as
 * an in-memory sort of that size is less cache-friendly than a merge of small runs); an empty one checks each insert
 * against the key it has. A repeated key (23505) rolls back to the savepoint and takes the de-duplicating path, so
 * the newest UpdatedDate still wins. Value errors pass through to the quarantine like on every other path.
 */
async function firstLoad(client: pg.ClientBase, spec: TableSpec, args: MergeArgs, created: boolean): Promise<Loaded> {
  await client.query('SAVEPOINT aquasync_first_load');
  let inserted: number;
  try {
    inserted = (await client.query(sql.insertEveryRow(spec, args.stages), [args.jobId])).rowCount ?? 0;
    if (created) await client.query(sql.addPrimaryKey(spec));
    await client.query('RELEASE SAVEPOINT aquasync_first_load');
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT aquasync_first_load');
    if (!(isPgError(error) && error.code === '23505')) throw error;
    const sorted = created ? await insertIntoNewTable(client, spec, args) : await upsert(client, spec, args);
    return { ...sorted, repeatedKeys: true };
  }
  return { ...(await settleDeletedRows(client, spec, args.jobId, inserted)), load: 'unsorted' };
}

/**
 * After every row of a complete snapshot went into a new or empty table: soft keeps the rows flagged deleted,
 * hard (with tombstones) and ignore remove them; hard also removes rows an earlier tombstone forbids. With
 * `deletedAt` (rows that carry no deletion date: the typed stage), soft dates the flagged rows in the pass that
 * counts them, and hard dates its tombstones with it.
 */
export async function settleDeletedRows(
  client: pg.ClientBase,
  spec: TableSpec,
  jobId: string,
  inserted: number,
  deletedAt?: Date,
): Promise<{ upserted: number; deleted: number }> {
  const n = async (statement: string, values: unknown[] = []): Promise<number> =>
    Number((await client.query<{ n: string }>(statement, values)).rows[0]?.n ?? 0);
  let flagged = 0;
  let removed = 0;
  if (spec.deletedPosition !== undefined) {
    if (spec.deletes === 'soft') flagged = await n(deletedAt === undefined ? sql.countDeleted(spec) : sql.dateDeletedRows(spec, deletedAt));
    // Only hard's statement (tombstones) takes the job id.
    else removed += await n(sql.removeDeletedRows(spec, deletedAt), spec.deletes === 'hard' ? [jobId] : []);
  }
  if (spec.deletes === 'hard') removed += await n(sql.removeTombstonedRows(spec));
  return { upserted: inserted - flagged - removed, deleted: flagged };
}

function counts(result: pg.QueryResult): { upserted: number; deleted: number } {
  const row = result.rows[0] as { upserted?: string; deleted?: string } | undefined;
  return { upserted: Number(row?.upserted ?? 0), deleted: Number(row?.deleted ?? 0) };
}

async function markMissing(client: pg.ClientBase, spec: TableSpec, args: MergeArgs, quarantined: boolean): Promise<number> {
  const snapshot = args.snapshot;
  if (snapshot === undefined) return 0;
  const stages = args.stages.filter((s) => snapshot.tables.includes(s.table));
  const statement = sql.markMissing(spec, stages, snapshot.at, { quarantined });
  if (statement === undefined) return 0;
  try {
    const result = await client.query<{ n: string }>(statement, [args.jobId]);
    return Number(result.rows[0]?.n ?? 0);
  } catch (error) {
    throw describeMergeError(error, spec);
  }
}

/**
 * Runs `load` in a savepoint; when it fails on a value (SQLSTATE class 22) or an empty key, moves the rows that
 * cannot be loaded to aquasync.rejected_rows and runs it again.
 */
async function withQuarantine(
  client: pg.ClientBase,
  spec: TableSpec,
  args: MergeArgs,
  load: () => Promise<Loaded>,
): Promise<Loaded & { quarantined: number }> {
  let quarantined = 0;
  for (let round = 0; ; round++) {
    await client.query('SAVEPOINT aquasync_load');
    try {
      const loaded = await load();
      await client.query('RELEASE SAVEPOINT aquasync_load');
      return { ...loaded, quarantined };
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT aquasync_load');
      if (!rowLevel(error) || round >= MAX_QUARANTINE_ROUNDS) throw describeMergeError(error, spec);
      const moved = await quarantine(client, spec, args);
      // Nothing to blame on a row: the error is not the data's, report it as it is.
      if (moved === 0) throw describeMergeError(error, spec);
      quarantined += moved;
    }
  }
}

function rowLevel(error: unknown): boolean {
  return isDataException(error) || (isPgError(error) && error.code === '23502');
}

async function quarantine(client: pg.ClientBase, spec: TableSpec, args: MergeArgs): Promise<number> {
  await client.query(sql.createQuarantinedKeys());
  const check = await client.query<{ yes: boolean }>(sql.hasInputIsValid());
  const exact = check.rows[0]?.yes ? 'pg_input_is_valid' : 'aquasync';
  let moved = 0;
  for (const stage of args.stages) {
    const origin = args.quarantine.origins.get(stage.table);
    const statement = sql.quarantineRows(
      spec,
      {
        pipeline: args.quarantine.pipeline,
        jobId: origin?.jobId ?? args.jobId,
        fileId: origin?.fileId ?? stage.table,
        stage: stage.table,
        columnCount: args.quarantine.columnCount,
      },
      exact,
    );
    const result = await client.query<{ n: string }>(statement);
    moved += Number(result.rows[0]?.n ?? 0);
  }
  return moved;
}

/** A value the column type cannot read, or an empty key, is a problem of the data, not of the warehouse. */
function describeMergeError(error: unknown, spec: TableSpec): unknown {
  if (!rowLevel(error) || !isPgError(error)) return error;
  const table = `${spec.schema}.${spec.table}`;
  return new DataError(`merging ${spec.object} into ${table}: ${error.message}`, {
    hint:
      error.code === '23502'
        ? `a row has an empty primary key (${spec.primaryKey.join(', ')})`
        : 'a value in the result files does not fit its column type; check the type overrides for this table',
    context: { object: spec.object, table, sqlstate: error.code, column: error.column },
    cause: error,
  });
}
