// One run of one pipeline: submit (or resume) a stateful AQuA job, record its files before downloading them, pay
// any owed snapshot with a stateless export, stage every file, then apply all tables and move the watermark in a
// single transaction.
//
// Crash safety comes from the order of writes, not from luck:
//   1. the job row (with its Idempotency-Key) is written before the submit, so a crash during the submit resubmits
//      with the same key and Zuora replays the same job instead of starting a second one;
//   2. Zuora's job id, then its file ids, are written before anything is downloaded;
//   3. each file is COPYed into its own staging table in a transaction that also marks the file staged;
//   4. one transaction proves the staged rows are present, merges every table, moves the watermark and marks the
//      jobs applied.
// What a run owes beyond its window (a complete snapshot after a query change) is state too (aquasync.snapshots),
// so no crash, expiry or abandoned job can make it forget. A run that finds an unfinished job resumes it.
import type { PipelineConfig } from '../config/types.ts';
import { AquasyncError, errorMessage, PipelineBusyError, WarehouseError, ZuoraJobFailedError } from '../errors.ts';
import { buildJobRequest, watermarkFromJob } from '../plan/index.ts';
import type { AquaJobRequest, ZuoraClient } from '../zuora/index.ts';
import type { Warehouse } from '../db/index.ts';
import { existingTables, tableRowCounts } from '../load/index.ts';
import * as state from '../state/index.ts';
import { JobDriver, type CompletedJob } from './job-driver.ts';
import { JobLoader, JobLoadFailure, stageTableName, type JobToLoad, type SnapshotToApply } from './loader.ts';
import { judgeSnapshot, liveCount, snapshotRequest, snapshotTargets, querySignature } from './snapshots.ts';
import type { PipelineRunResult, RunOptions, SyncPhase } from './types.ts';

export interface PipelineRunContext {
  warehouse: Warehouse;
  client: ZuoraClient;
  /** Warehouse schema for the tables (config warehouse.schema). */
  schema: string;
  /** Most AQuA jobs in flight at once per Zuora tenant, across processes (default 8). */
  jobBudget?: number;
}

class SimulatedCrash extends Error {
  constructor(phase: SyncPhase) {
    super(`simulated crash after phase "${phase}"`);
  }
}

/** Expired files, an abandoned snapshot job...: how many job attempts one run may go through. */
const MAX_ATTEMPTS = 4;

export async function runPipeline(
  ctx: PipelineRunContext,
  pipeline: PipelineConfig,
  options: RunOptions,
): Promise<PipelineRunResult> {
  const started = Date.now();
  const log = options.logger.child({ pipeline: pipeline.name });
  const { pool, db } = ctx.warehouse;
  const result: PipelineRunResult = {
    pipeline: pipeline.name,
    ok: false,
    runId: undefined,
    zuoraJobId: undefined,
    resumed: false,
    rowsWritten: 0,
    rowsRead: 0,
    rowsQuarantined: 0,
    tables: [],
    watermarkBefore: undefined,
    watermarkAfter: undefined,
    durationMs: 0,
    error: undefined,
  };

  const lock = await state.acquirePipelineLock(pool, pipeline.name);
  if (!lock) {
    result.error = new PipelineBusyError(`another run of pipeline "${pipeline.name}" is in progress`, 'wait for it to finish; runs of one pipeline never overlap');
    log.warn(errorMessage(result.error));
    result.durationMs = Date.now() - started;
    return result;
  }

  try {
    // Backfills run beside syncs under their own lock: only this lock's kinds can be stale here.
    await state.abandonStaleRuns(db, pipeline.name, { kinds: ['scheduled', 'manual'] });
    const runId = await state.startRun(db, { pipeline: pipeline.name, kind: options.kind ?? 'manual' });
    result.runId = runId;
    const stored = await state.getWatermark(db, pipeline.name);
    result.watermarkBefore = stored;
    const crash = (phase: SyncPhase): void => {
      if (options.crashAfter === phase) throw new SimulatedCrash(phase);
    };

    try {
      const run = new PipelineRun(ctx, pipeline, options, log, runId, crash, stored);
      const outcome = await run.execute();
      Object.assign(result, outcome, { ok: true });
    } catch (thrown) {
      if (thrown instanceof SimulatedCrash) throw thrown;
      const error = asRunError(thrown);
      result.error = error;
      log.error(`run failed: ${errorMessage(error)}`, { code: error instanceof AquasyncError ? error.code : 'INTERNAL' });
      try {
        await state.finishRun(db, runId, {
          status: 'failed',
          rowsWritten: 0,
          watermarkBefore: stored ?? null,
          watermarkAfter: stored ?? null,
          error: { code: error instanceof AquasyncError ? error.code : 'INTERNAL', message: errorMessage(error) },
        });
      } catch (recordError) {
        // The warehouse itself is down: the run stays "running" and the next run marks it abandoned.
        log.warn(`could not record the failed run: ${errorMessage(recordError)}`);
      }
    }
  } finally {
    await lock.release();
  }
  result.durationMs = Date.now() - started;
  return result;
}

/** Errors from the pg driver (connection lost, server shutting down) become WarehouseErrors with a hint. */
function asRunError(error: unknown): unknown {
  if (error instanceof JobLoadFailure) return asRunError(error.reason);
  if (error instanceof AquasyncError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const fromPostgres = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
  const connection = /Connection terminated|ECONNRESET|ECONNREFUSED|connection (lost|closed)|shutting down|terminating connection/i.test(error.message);
  if (!fromPostgres && !connection) return error;
  return new WarehouseError(`the warehouse Postgres failed: ${error.message}`, {
    hint: 'nothing was half-applied (the transaction rolled back); run again once the database is reachable',
    context: { sqlstate: typeof code === 'string' ? code : undefined },
    cause: error,
    retryable: true,
  });
}

class PipelineRun {
  private readonly loader: JobLoader;
  private readonly driver: JobDriver;
  /** A snapshot job whose files are broken is not tried again in this run: the snapshot stays owed. */
  private skipSnapshot = false;
  private snapshotAttempts = 0;

  constructor(
    private readonly ctx: PipelineRunContext,
    private readonly pipeline: PipelineConfig,
    private readonly options: RunOptions,
    private readonly log: RunOptions['logger'],
    private readonly runId: number,
    private readonly crash: (phase: SyncPhase) => void,
    /** The watermark before this run; undefined before the first load. */
    private readonly stored: Date | undefined,
  ) {
    this.loader = new JobLoader(ctx, pipeline, {
      logger: log,
      tempDir: options.tempDir,
      signal: options.signal,
      onFileStaged: options.onFileStaged,
      onStaged: () => crash('staged'),
    });
    this.driver = new JobDriver(ctx, pipeline, {
      logger: log,
      signal: options.signal,
      poll: options.poll,
      runId,
      onPhase: (phase) => crash(phase),
    });
  }

  async execute(): Promise<Partial<PipelineRunResult>> {
    const { db } = this.ctx.warehouse;
    let unfinished = await state.findUnfinishedJob(db, this.pipeline.name);
    const resumed = unfinished !== undefined;
    if (unfinished) {
      this.log.info(`resuming unfinished job ${unfinished.zuoraJobId ?? '(not yet acknowledged by Zuora)'}`, { status: unfinished.status });
    }
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const existing = unfinished;
      unfinished = undefined;
      const request = existing ? undefined : await this.plan();
      const parent = await this.driver.complete(
        existing,
        () => ({ kind: 'sync', request: request?.request as AquaJobRequest, incrementalTime: request?.incrementalTime, windowFrom: request?.from }),
        (zjob) => this.loader.targets(zjob, (existing?.request ?? request?.request) as AquaJobRequest),
      );
      const outcome = await this.load(parent);
      if (outcome === 'again') {
        unfinished = await state.findUnfinishedJob(db, this.pipeline.name);
        continue;
      }
      return { ...outcome, resumed };
    }
    throw new AquasyncError('ZUORA_FILE_EXPIRED', `pipeline ${this.pipeline.name} needed more than ${MAX_ATTEMPTS} jobs in one run`, {
      hint: 'result files kept expiring or the snapshot job kept failing; see aquasync.events and run again',
    });
  }

  /** The stateful request of a new job; the queries it submits are noted in the snapshot ledger first. */
  private async plan(): Promise<ReturnType<typeof buildJobRequest>> {
    const planned = buildJobRequest(this.pipeline, this.stored ?? this.pipeline.startDate);
    const targets = snapshotTargets(this.pipeline, planned.request);
    await state.noteSubmittedQueries(this.ctx.warehouse.db, this.pipeline.name, targets, { loadedBefore: this.stored !== undefined });
    if (this.stored !== undefined) {
      // A table dropped by hand is reloaded whole, not from the watermark on.
      const existing = await existingTables(this.ctx.warehouse.pool, this.ctx.schema, targets.map((t) => t.table));
      for (const target of targets.filter((t) => !existing.has(t.table))) {
        await state.markSnapshotOwed(this.ctx.warehouse.db, this.pipeline.name, target, 'table-missing');
      }
    }
    return planned;
  }

  /** Loads a completed stateful job (with a snapshot job when one is owed). 'again': a new job must be submitted. */
  private async load(parent: CompletedJob): Promise<Partial<PipelineRunResult> | 'again'> {
    const request = parent.row.request as AquaJobRequest;
    const owed = await this.owedTables(parent, request);
    const child = owed.length > 0 && !this.skipSnapshot ? await this.snapshotJob(parent, request, owed) : undefined;
    const jobs: JobToLoad[] = [this.loader.prepare(parent), ...(child ? [this.loader.prepare(child)] : [])];
    const offset = parent.zjob.offset ?? request.offset ?? this.pipeline.offset;
    const newWatermark = watermarkFromJob(parent.zjob.startTime ?? '', offset, this.pipeline.source.dataCenter);
    const snapshots = jobs[1] ? await this.judge(jobs[1], request) : { apply: new Map<string, SnapshotToApply>(), paid: [] };
    const watermarkBefore = this.stored ?? this.pipeline.startDate;
    try {
      const loaded = await this.loader.load(jobs, {
        runId: this.runId,
        newWatermark,
        snapshots: snapshots.apply,
        finish: async (trx, totals) => {
          for (const paid of snapshots.paid) await state.markSnapshotApplied(trx, this.pipeline.name, paid);
          await state.finishRun(trx, this.runId, {
            status: 'succeeded',
            rowsWritten: totals.rowsWritten,
            rowsRead: totals.rowsRead,
            rowsQuarantined: totals.rowsQuarantined,
            watermarkBefore,
            watermarkAfter: newWatermark,
            details: { zuoraJobId: parent.zjob.id, snapshotJobId: child?.zjob.id, tables: totals.tables },
          });
        },
      });
      this.crash('applied');
      this.log.info(
        `wrote ${loaded.rowsWritten} row(s) (read ${loaded.rowsRead}${loaded.rowsQuarantined ? `, quarantined ${loaded.rowsQuarantined}` : ''}) ` +
          `into ${loaded.tables.length} table(s); watermark moved from ${watermarkBefore.toISOString()} to ${newWatermark.toISOString()}`,
      );
      return {
        zuoraJobId: parent.zjob.id,
        rowsWritten: loaded.rowsWritten,
        rowsRead: loaded.rowsRead,
        rowsQuarantined: loaded.rowsQuarantined,
        tables: loaded.tables,
        watermarkAfter: newWatermark,
      };
    } catch (error) {
      if (!(error instanceof JobLoadFailure)) throw error;
      const drop = (jobRowId: number, ids: string[]): Promise<void> => this.loader.dropStages(jobRowId, ids);
      const settled = await this.driver.settle(error.job.row, error.reason, drop);
      if (error.job === jobs[0]) {
        // The stateful job is gone (expired or abandoned): its snapshot job goes with it, the snapshot stays owed.
        if (jobs[1]) {
          await drop(jobs[1].row.id, jobs[1].batches.flatMap((b) => b.files));
          await state.markJobStatus(this.ctx.warehouse.db, jobs[1].row.id, 'abandoned', 'its stateful job could not be loaded');
        }
        if (settled === 'recover') return 'again';
        throw error.reason;
      }
      // The snapshot job failed to load: the stateful job is applied without it, the snapshot stays owed.
      this.snapshotAttempts += 1;
      if (settled !== 'recover' || this.snapshotAttempts >= 2) this.skipSnapshot = true;
      await state.recordEvent(this.ctx.warehouse.db, {
        pipeline: this.pipeline.name,
        jobId: error.job.row.id,
        kind: 'snapshot-owed',
        message: `the snapshot job ${error.job.zjob.id} could not be loaded (${errorMessage(error.reason)}); the snapshot stays owed`,
      });
      return this.load(parent);
    }
  }

  /**
   * The tables of this job that owe a complete snapshot. A full batch nobody asked for (Zuora forgot the session:
   * idle 180 days, project changed) is explained, and owes one: it may lack rows and never lists deletions.
   */
  private async owedTables(parent: CompletedJob, request: AquaJobRequest): Promise<string[]> {
    const { db } = this.ctx.warehouse;
    const owed = new Set((await state.owedSnapshots(db, this.pipeline.name)).map((o) => o.table));
    const surprises = parent.zjob.batches.filter((b) => b.full && this.stored !== undefined && !owed.has(b.name));
    if (surprises.length > 0) {
      await this.explainFullBatches(parent, surprises.map((b) => b.name));
      for (const target of snapshotTargets(this.pipeline, request).filter((t) => surprises.some((b) => b.name === t.table))) {
        await state.markSnapshotOwed(db, this.pipeline.name, target, 'zuora-full-batch');
        owed.add(target.table);
      }
    }
    return parent.zjob.batches.map((b) => b.name).filter((name) => owed.has(name));
  }

  private async explainFullBatches(parent: CompletedJob, tables: string[]): Promise<void> {
    let session = '';
    try {
      const last = await this.ctx.client.lastCompletedJob(this.pipeline.partner, this.pipeline.project);
      session = last
        ? `; Zuora's last completed job in session ${this.pipeline.partner}/${this.pipeline.project} is ${last.id} (started ${last.startTime ?? 'unknown'})`
        : `; Zuora reports no completed job in session ${this.pipeline.partner}/${this.pipeline.project}`;
    } catch (error) {
      session = `; Zuora's session could not be read (${errorMessage(error)})`;
    }
    const message =
      `Zuora sent a full snapshot of ${tables.join(', ')} although this pipeline has loaded before${session}. ` +
      'Zuora does this when a query or its deleted column changed, the project changed, or the session was idle for 180 days; ' +
      'a full batch may lack rows and never lists deletions, so a complete snapshot is taken with a stateless export.';
    this.log.warn(message, { job: parent.zjob.id });
    await state.recordEvent(this.ctx.warehouse.db, { pipeline: this.pipeline.name, jobId: parent.row.id, kind: 'unexpected-full-snapshot', message });
  }

  /** The snapshot job of `parent` (resumed, or submitted now for the owed tables), or undefined when Zuora failed it. */
  private async snapshotJob(parent: CompletedJob, request: AquaJobRequest, tables: string[]): Promise<CompletedJob | undefined> {
    const { db } = this.ctx.warehouse;
    const existing = await state.findUnfinishedChildJob(db, parent.row.id);
    if (!existing) this.log.info(`taking a complete snapshot of ${tables.join(', ')} with a stateless export (owed since a query or session change)`);
    try {
      const snapshotReq = (existing?.request as AquaJobRequest | undefined) ?? snapshotRequest(this.pipeline, request, tables);
      return await this.driver.complete(
        existing,
        () => ({ kind: 'snapshot', request: snapshotReq, parentJobId: parent.row.id }),
        (zjob) => this.loader.targets(zjob, snapshotReq),
      );
    } catch (error) {
      if (!(error instanceof ZuoraJobFailedError)) throw error;
      this.skipSnapshot = true;
      await state.recordEvent(db, {
        pipeline: this.pipeline.name,
        jobId: parent.row.id,
        kind: 'snapshot-owed',
        message: `the snapshot job failed in Zuora (${error.message}); the snapshot stays owed and is tried again next run`,
      });
      return undefined;
    }
  }

  /**
   * Which snapshots may delete the rows they lack: each is checked against Zuora's live count (Data Query) when it
   * can be had. A doubtful one still fills its rows and columns and is paid, but deletes nothing: an event says so
   * and `aquasync reconcile` finds the deletions.
   */
  private async judge(child: JobToLoad, request: AquaJobRequest): Promise<{ apply: Map<string, SnapshotToApply>; paid: { table: string; query: string; at: Date; zuoraJobId: string }[] }> {
    const apply = new Map<string, SnapshotToApply>();
    const paid: { table: string; query: string; at: Date; zuoraJobId: string }[] = [];
    for (const b of child.batches) {
      const query = request.queries.find((q) => q.name === b.name);
      if (!query) continue;
      const filtered = /\bwhere\b/i.test(query.query);
      const count = child.zjob.startTime === undefined ? undefined : await liveCount(this.ctx.client, b.objectConfig.name, filtered, { logger: this.log, signal: this.options.signal });
      // The warehouse's live rows are counted only when Zuora's count is missing (it scans the table).
      const live = count === undefined ? ((await tableRowCounts(this.ctx.warehouse.pool, this.ctx.schema, [b.name]))[0]?.live ?? 0) : 0;
      const verdict =
        child.zjob.startTime === undefined
          ? { trusted: false, note: 'Zuora did not say when the snapshot job started' }
          : judgeSnapshot(b.batch.recordCount, count, live);
      paid.push({ table: b.name, query: querySignature(query), at: child.seenAt, zuoraJobId: child.zjob.id });
      if (verdict.trusted) {
        apply.set(b.name, { job: 1, at: child.seenAt });
        continue;
      }
      const message = `the snapshot of ${b.objectConfig.name} from job ${child.zjob.id} looks incomplete (${verdict.note}): its rows are loaded but nothing is deleted; run \`aquasync reconcile -p ${this.pipeline.name}\``;
      this.log.warn(message);
      await state.recordEvent(this.ctx.warehouse.db, { pipeline: this.pipeline.name, jobId: child.row.id, kind: 'snapshot-doubtful', message });
    }
    return { apply, paid };
  }
}

export { stageTableName };
