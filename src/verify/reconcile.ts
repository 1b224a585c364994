// `reconcile`: the full set of Ids in Zuora (Data Query, paged by Id so each result stays under the output limit)
// against the warehouse's live Ids, range by range. Finds rows missing from the warehouse, rows Zuora no longer has
// (deleted, possibly more than 30 days ago, beyond what AQuA exports), and rows whose joined Id columns are stale
// (stateful AQuA never re-emits a row when only a joined object changed). With apply: marks the vanished rows
// deleted (soft or hard per the object) under the pipeline's sync and backfill locks, then re-pulls the missing
// and stale rows through a bounded stateless backfill of the UpdatedDate ranges that cover them. Differences that
// Zuora's changes since the watermark explain (asked of Zuora, live and deleted rows) are pending, not repaired. Everything lands in aquasync.runs,
// aquasync.events and aquasync.verifications.
import type { PipelineConfig } from '../config/types.ts';
import { kyselyForClient, type Warehouse } from '../db/index.ts';
import { AquasyncError, errorMessage, PipelineBusyError, ZuoraJobFailedError } from '../errors.ts';
import { liveIdsInRange, markRowsDeleted, tableExists } from '../load/index.ts';
import type { Logger } from '../log.ts';
import * as state from '../state/index.ts';
import type { DataQueryClient, ZuoraClient } from '../zuora/index.ts';
import { changedSince } from './changed.ts';
import { finishReconcileRun, recordVerification, startReconcileRun } from './ledger.ts';
import { compareIds, coveringRanges, idPageQuery, parseDataQueryTimestamp, verifyTargets, type VerifyTarget, type ZuoraIdRow } from './plan.ts';

/** The shape of src/sync's runBackfill, injected so this stage does not depend on the sync stage's internals. */
export type BackfillRunner = (
  ctx: { warehouse: Warehouse; client: ZuoraClient; schema: string },
  pipeline: PipelineConfig,
  options: {
    since: Date;
    until: Date;
    objects?: string[];
    windowMs: number;
    logger: Logger;
    tempDir: string;
    signal?: AbortSignal;
    poll?: { minIntervalMs?: number; maxIntervalMs?: number };
    backfillLockHeld?: boolean;
    reload?: boolean;
  },
) => Promise<{
  ok: boolean;
  runId: number | undefined;
  windows: { since: Date; until: Date; status: 'loaded' | 'skipped' | 'failed'; rows: number }[];
  rowsWritten: number;
  error: unknown;
}>;

export interface ReconcileContext {
  warehouse: Warehouse;
  dataQuery: DataQueryClient;
  /** The AQuA client the re-pull uses. */
  client: ZuoraClient;
  schema: string;
  logger: Logger;
}

export interface ReconcileOptions {
  objects?: readonly string[];
  /** Who asked: a person (`aquasync reconcile`) or a scheduled verification. Recorded in aquasync.verifications. */
  trigger?: 'manual' | 'scheduled';
  apply?: boolean;
  /** Ids per Data Query page (default 200,000; at most the client's output limit). */
  pageSize?: number;
  /** Needed with apply. */
  backfill?: BackfillRunner;
  tempDir?: string;
  signal?: AbortSignal;
  /** Missing rows whose UpdatedDates are closer than this share one backfill range (default 1 day). */
  mergeGapMs?: number;
  /** Window size of the re-pull backfill (default 7 days). */
  windowMs?: number;
  /** Ids listed per category in the result (default 20). */
  sampleSize?: number;
  /** Poll bounds passed to the re-pull backfill (tests shorten them). */
  poll?: { minIntervalMs?: number; maxIntervalMs?: number };
}

export interface ReconcileObjectResult {
  pipeline: string;
  object: string;
  table: string;
  ok: boolean;
  zuoraRows: number;
  warehouseRows: number;
  missing: number;
  extra: number;
  stale: number;
  /** Differing rows Zuora changed (updated, inserted or deleted) at or after the watermark: the next sync brings them. */
  pending: number;
  samples: { missing: string[]; extra: string[]; stale: string[] };
  /** With apply: rows flagged or removed, and what the re-pull did. */
  markedDeleted: number;
  repull: { since: Date; until: Date; runId: number | undefined; status: string; rows: number }[];
  rowsRepulled: number;
  error: string | undefined;
}

interface Found {
  target: VerifyTarget;
  result: ReconcileObjectResult;
  extraIds: string[];
  repullTimes: Date[];
}

export async function runReconcile(
  ctx: ReconcileContext,
  pipeline: PipelineConfig,
  options: ReconcileOptions = {},
): Promise<ReconcileObjectResult[]> {
  const targets = verifyTargets(pipeline, ctx.schema, options.objects ?? []);
  const log = ctx.logger.child({ pipeline: pipeline.name });
  if (options.apply && options.backfill === undefined) throw new Error('reconcile --apply needs a backfill runner');
  const { pool, db } = ctx.warehouse;

  // With apply, no sync may load rows between our comparison and our deletes (a row it inserts would look "extra"
  // to a comparison made before it), and no backfill may run beside ours: reconcile takes the sync's lock and the
  // backfill lock. The sync's is released before the re-pull (a sync may run beside a backfill); the backfill lock
  // is held to the end and the re-pull runs under it.
  const [syncLock, backfillLock] = options.apply ? await takeLocks(pool, pipeline.name) : [];
  let runId: number | undefined;
  const found: Found[] = [];
  try {
    try {
      const watermark = await state.getWatermark(db, pipeline.name);
      if (watermark === undefined) {
        throw new AquasyncError('CONFIG_INVALID', `pipeline "${pipeline.name}" has never been synced: nothing to reconcile`, {
          hint: 'run `aquasync sync` first',
        });
      }
      if (options.apply) runId = await startReconcileRun(pool, pipeline.name);
      for (const target of targets) {
        found.push(await compareObject(ctx, pipeline, target, watermark, options).catch((error: unknown) => failed(pipeline, target, error)));
      }
      if (runId !== undefined) for (const f of found) await markVanished(pool, pipeline, f, runId, log);
    } catch (error) {
      if (runId !== undefined) {
        await finishReconcileRun(pool, runId, {
          ok: false,
          rows: 0,
          details: summary(found),
          error: { code: error instanceof AquasyncError ? error.code : 'INTERNAL', message: errorMessage(error) },
        });
      }
      throw error;
    } finally {
      await syncLock?.release();
    }
    if (runId !== undefined) {
      for (const f of found) await repull(ctx, pipeline, f, options, log);
    }
  } finally {
    await backfillLock?.release();
  }

  for (const f of found) {
    const r = f.result;
    await recordVerification(pool, {
      pipeline: pipeline.name,
      object: r.object,
      table: r.table,
      kind: 'reconcile',
      trigger: options.trigger ?? 'manual',
      since: undefined,
      until: undefined,
      ok: r.ok,
      zuoraRows: r.zuoraRows,
      warehouseRows: r.warehouseRows,
      rowsMissing: r.missing,
      rowsExtra: r.extra,
      rowsStale: r.stale,
      applied: options.apply === true,
      rowsMarkedDeleted: r.markedDeleted,
      rowsRepulled: r.rowsRepulled,
      runId,
      error: r.error,
      details: { samples: r.samples, pending: r.pending, repull: r.repull },
    });
  }
  if (runId !== undefined) {
    const results = found.map((f) => f.result);
    const failure = results.find((r) => r.error !== undefined);
    await finishReconcileRun(pool, runId, {
      ok: failure === undefined,
      rows: results.reduce((n, r) => n + r.markedDeleted + r.rowsRepulled, 0),
      details: summary(found),
      error: failure && { code: 'RECONCILE', message: `${failure.object}: ${failure.error ?? ''}` },
    });
  }
  return found.map((f) => f.result);
}

/** Marks the rows Zuora no longer has (and did not delete after the watermark) deleted, in one transaction. */
async function markVanished(pool: Warehouse['pool'], pipeline: PipelineConfig, f: Found, runId: number, log: Logger): Promise<void> {
  if (f.result.error !== undefined || f.extraIds.length === 0) return;
  if (f.target.deletes === 'ignore') {
    log.warn(`${f.target.object}: ${f.extraIds.length} row(s) no longer exist in Zuora; kept because the object has deletes: ignore`);
    return;
  }
  const mode = f.target.deletes;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    f.result.markedDeleted = await markRowsDeleted(client, f.target, { idColumn: f.target.idColumn, updatedColumn: f.target.updatedColumn, ids: f.extraIds, mode, tag: `reconcile-${runId}` });
    await state.recordEvent(kyselyForClient(client), {
      pipeline: pipeline.name,
      kind: 'reconcile-deleted',
      message: `reconcile run ${runId}: ${f.result.markedDeleted} row(s) of ${f.target.object} no longer in Zuora were marked deleted (${mode})`,
      details: { runId, object: f.target.object, ids: f.extraIds.slice(0, 1000) },
    });
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  log.info(`${f.target.object}: marked ${f.result.markedDeleted} row(s) deleted (${mode})`);
}

/**
 * Re-pulls the UpdatedDate ranges covering the missing and stale rows through a stateless backfill that runs under
 * the backfill lock reconcile holds, and loads its windows again even where an earlier backfill loaded them.
 */
async function repull(ctx: ReconcileContext, pipeline: PipelineConfig, f: Found, options: ReconcileOptions, log: Logger): Promise<void> {
  if (f.result.error !== undefined || f.repullTimes.length === 0) return;
  const backfill = options.backfill as BackfillRunner;
  for (const range of coveringRanges(f.repullTimes, options.mergeGapMs ?? 86_400_000)) {
    log.info(`${f.target.object}: re-pulling ${range.since.toISOString()} .. ${range.until.toISOString()}`);
    const outcome = await backfill({ warehouse: ctx.warehouse, client: ctx.client, schema: ctx.schema }, pipeline, {
      since: range.since,
      until: range.until,
      objects: [f.target.object],
      windowMs: options.windowMs ?? 7 * 86_400_000,
      logger: ctx.logger,
      tempDir: options.tempDir ?? '/tmp',
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.poll ? { poll: options.poll } : {}),
      backfillLockHeld: true,
      reload: true,
    });
    const status = outcome.ok ? (outcome.windows.every((w) => w.status === 'skipped') ? 'skipped' : 'loaded') : 'failed';
    f.result.repull.push({ ...range, runId: outcome.runId, status, rows: outcome.rowsWritten });
    f.result.rowsRepulled += outcome.rowsWritten;
    if (!outcome.ok) {
      f.result.ok = false;
      f.result.error = `re-pull of ${range.since.toISOString()} .. ${range.until.toISOString()} failed: ${errorMessage(outcome.error)}`;
      log.error(`${f.target.object}: ${f.result.error}`);
      return;
    }
  }
}

/** The sync's lock and the backfill lock of the pipeline, or a PipelineBusyError naming which run holds one. */
async function takeLocks(pool: Warehouse['pool'], pipeline: string): Promise<state.PipelineLock[]> {
  const sync = await state.acquirePipelineLock(pool, pipeline);
  if (sync === undefined) {
    throw new PipelineBusyError(`a sync of pipeline "${pipeline}" is in progress`, 'run reconcile --apply again when it has finished');
  }
  const backfill = await state.acquirePipelineLock(pool, state.backfillLockName(pipeline)).catch(async (error: unknown) => {
    await sync.release();
    throw error;
  });
  if (backfill === undefined) {
    await sync.release();
    throw new PipelineBusyError(`a backfill or reconcile --apply of pipeline "${pipeline}" is in progress`, 'run reconcile --apply again when it has finished');
  }
  return [sync, backfill];
}

function summary(found: Found[]): unknown {
  return {
    objects: found.map(({ result: r }) => ({
      object: r.object,
      missing: r.missing,
      extra: r.extra,
      stale: r.stale,
      markedDeleted: r.markedDeleted,
      repull: r.repull,
      error: r.error,
    })),
  };
}

function blank(pipeline: PipelineConfig, target: VerifyTarget): ReconcileObjectResult {
  return {
    pipeline: pipeline.name,
    object: target.object,
    table: `${target.schema}.${target.table}`,
    ok: false,
    zuoraRows: 0,
    warehouseRows: 0,
    missing: 0,
    extra: 0,
    stale: 0,
    pending: 0,
    samples: { missing: [], extra: [], stale: [] },
    markedDeleted: 0,
    repull: [],
    rowsRepulled: 0,
    error: undefined,
  };
}

function failed(pipeline: PipelineConfig, target: VerifyTarget, error: unknown): Found {
  if (error instanceof PipelineBusyError) throw error;
  return { target, result: { ...blank(pipeline, target), error: errorMessage(error) }, extraIds: [], repullTimes: [] };
}

function toZuoraRow(row: Record<string, unknown>, target: VerifyTarget): ZuoraIdRow {
  if (typeof row.id !== 'string' || row.id === '') {
    throw new AquasyncError('ZUORA_PROTOCOL', `Data Query returned a ${target.dataQueryTable} row without an id: ${JSON.stringify(row).slice(0, 200)}`);
  }
  const joined: Record<string, string | null> = {};
  for (const j of target.joinedIds) {
    const v = row[j.dataQueryColumn];
    joined[j.dataQueryColumn] = v === null || v === undefined ? null : String(v);
  }
  return { id: row.id, updated: parseDataQueryTimestamp(row.updateddate), joined };
}

async function compareObject(
  ctx: ReconcileContext,
  pipeline: PipelineConfig,
  target: VerifyTarget,
  watermark: Date,
  options: ReconcileOptions,
): Promise<Found> {
  const result = blank(pipeline, target);
  const found: Found = { target, result, extraIds: [], repullTimes: [] };
  if (!(await tableExists(ctx.warehouse.pool, target))) {
    throw new AquasyncError('CONFIG_INVALID', `table ${result.table} does not exist`, { hint: 'run `aquasync sync` first' });
  }
  const pageSize = Math.min(options.pageSize ?? 200_000, ctx.dataQuery.outputLimit);
  const sample = options.sampleSize ?? 20;
  let missing: ZuoraIdRow[] = [];
  let extra: string[] = [];
  let stale: (ZuoraIdRow & { columns: string[] })[] = [];
  let after = '';
  for (let page = 1; ; page++) {
    let raw: Record<string, unknown>[];
    try {
      raw = await ctx.dataQuery.query(idPageQuery(target, after, pageSize));
    } catch (error) {
      // A foreign key we guessed wrong: compare Ids without that joined column rather than not at all.
      const column = error instanceof ZuoraJobFailedError ? /Column '([^']+)' cannot be resolved/.exec(error.message)?.[1] : undefined;
      const joined = target.joinedIds.find((j) => j.dataQueryColumn === column);
      if (joined === undefined) throw error;
      ctx.logger.warn(`${target.object}: Data Query has no column ${joined.dataQueryColumn}; ${joined.column} is not compared`);
      target = { ...target, joinedIds: target.joinedIds.filter((j) => j !== joined) };
      found.target = target;
      page--;
      continue;
    }
    const rows = raw.map((r) => toZuoraRow(r, target));
    // A short page is the last one: the warehouse side then has no upper bound.
    const upTo = rows.length < pageSize ? undefined : rows.at(-1)?.id;
    const warehouse = await liveIdsInRange(ctx.warehouse.pool, target, {
      idColumn: target.idColumn,
      after,
      upTo,
      columns: target.joinedIds.map((j) => j.column),
    });
    const cmp = compareIds(rows, warehouse, target.joinedIds, watermark);
    result.zuoraRows += rows.length;
    result.warehouseRows += warehouse.length;
    result.pending += cmp.pending;
    missing.push(...cmp.missing);
    extra.push(...cmp.extra);
    stale.push(...cmp.stale);
    ctx.logger.debug(`${target.object}: compared Id page ${page}`, { zuora: rows.length, warehouse: warehouse.length });
    if (upTo === undefined) break;
    after = upTo;
  }
  // A warehouse row Zuora deleted after the watermark, or a row Zuora changed while the pages were read, is the
  // next sync's business: ask Zuora which Ids changed since the watermark before calling anything a fault.
  if (missing.length + extra.length + stale.length > 0) {
    const changed = await changedSince(ctx.dataQuery, target, watermark, pageSize);
    const settled = <T>(list: T[], id: (x: T) => string): T[] => {
      const kept = list.filter((x) => !changed.has(id(x)));
      result.pending += list.length - kept.length;
      return kept;
    };
    missing = settled(missing, (r) => r.id);
    extra = settled(extra, (id) => id);
    stale = settled(stale, (r) => r.id);
  }
  result.missing = missing.length;
  result.extra = extra.length;
  result.stale = stale.length;
  result.samples.missing = missing.slice(0, sample).map((r) => r.id);
  result.samples.extra = extra.slice(0, sample);
  result.samples.stale = stale.slice(0, sample).map((r) => `${r.id} (${r.columns.join(', ')})`);
  found.extraIds = extra;
  for (const r of [...missing, ...stale]) {
    if (r.updated === undefined) {
      throw new AquasyncError('ZUORA_PROTOCOL', `Data Query gave ${target.object} ${r.id} an UpdatedDate that cannot be read`);
    }
    found.repullTimes.push(r.updated);
  }
  result.ok = result.missing === 0 && result.extra === 0 && result.stale === 0;
  return found;
}
