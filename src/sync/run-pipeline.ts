// One run of one pipeline: submit (or resume) a stateful AQuA job, record its files before downloading them, stage
// every file, then apply all tables and move the watermark in a single transaction.
//
// Crash safety comes from the order of writes, not from luck:
//   1. the job row (with its Idempotency-Key) is written before the submit, so a crash during the submit resubmits
//      with the same key and Zuora replays the same job instead of starting a second one;
//   2. Zuora's job id, then its file ids, are written before anything is downloaded;
//   3. each file is COPYed into its own staging table in a transaction that also marks the file staged;
//   4. one transaction merges every table, moves the watermark and marks the job applied.
// A run that finds an unfinished job resumes it from whichever step it reached.
import { randomUUID } from 'node:crypto';
import type { PipelineConfig } from '../config/types.ts';
import { AquasyncError, DataError, WarehouseError, ZuoraFileExpiredError, ZuoraJobFailedError, errorMessage } from '../errors.ts';
import { buildJobRequest, watermarkFromJob } from '../plan/index.ts';
import type { AquaJob, ZuoraClient } from '../zuora/index.ts';
import type { Warehouse } from '../db/index.ts';
import * as state from '../state/index.ts';
import { JobLoader, stageTableName } from './load-job.ts';
import { acquireJobSlot, DEFAULT_JOB_BUDGET, submitRecordedJob, tenantKey, waitForRecordedJob } from './submit.ts';
import type { PipelineRunResult, RunOptions, SyncPhase, TableResult } from './types.ts';

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
    tables: [],
    watermarkBefore: undefined,
    watermarkAfter: undefined,
    durationMs: 0,
    error: undefined,
  };

  const lock = await state.acquirePipelineLock(pool, pipeline.name);
  if (!lock) {
    result.error = new AquasyncError('INTERRUPTED', `another run of pipeline "${pipeline.name}" is in progress`, {
      hint: 'wait for it to finish; runs of one pipeline never overlap',
    });
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
      const run = new PipelineRun(ctx, pipeline, options, log, runId, crash, stored !== undefined);
      const outcome = await run.execute(stored ?? pipeline.startDate);
      Object.assign(result, outcome, { ok: true });
    } catch (thrown) {
      if (thrown instanceof SimulatedCrash) throw thrown;
      const error = asRunError(thrown);
      result.error = error;
      log.error(`run failed: ${errorMessage(error)}`);
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

  constructor(
    private readonly ctx: PipelineRunContext,
    private readonly pipeline: PipelineConfig,
    private readonly options: RunOptions,
    private readonly log: RunOptions['logger'],
    private readonly runId: number,
    private readonly crash: (phase: SyncPhase) => void,
    /** The pipeline has loaded before, so a full snapshot from Zuora is a surprise worth explaining. */
    private readonly loadedBefore: boolean,
  ) {
    this.loader = new JobLoader(ctx, pipeline, {
      logger: log,
      tempDir: options.tempDir,
      signal: options.signal,
      onFileStaged: options.onFileStaged,
    });
  }

  async execute(watermark: Date): Promise<Partial<PipelineRunResult>> {
    const { db } = this.ctx.warehouse;
    let resumed = false;
    let unfinished = await state.findUnfinishedJob(db, this.pipeline.name);
    if (unfinished) {
      resumed = true;
      this.log.info(`resuming unfinished job ${unfinished.zuoraJobId ?? '(not yet acknowledged by Zuora)'}`, {
        status: unfinished.status,
      });
    }

    // At most two jobs per run: the resumed one, and a new one if its files expired before we could load them.
    for (let attempt = 0; attempt < 2; attempt++) {
      let slot: state.JobSlot | undefined;
      let job = unfinished;
      unfinished = undefined;
      try {
        if (!job) {
          // A slot of the tenant's job budget is held from before the submit until Zuora finishes the job.
          slot = await acquireJobSlot(this.ctx.warehouse, tenantKey(this.pipeline), this.ctx.jobBudget ?? DEFAULT_JOB_BUDGET, {
            signal: this.options.signal,
            poll: this.options.poll,
            logger: this.log,
          });
          job = await this.submit(watermark);
        }
        const outcome = await this.drive(job, watermark, slot);
        return { ...outcome, resumed };
      } catch (error) {
        if (job && error instanceof ZuoraFileExpiredError) {
          await state.markJobStatus(db, job.id, 'expired', error.message);
          await state.recordEvent(db, {
            pipeline: this.pipeline.name,
            jobId: job.id,
            kind: 'file-expired',
            message: `${error.message}; re-covering the window with a new job`,
          });
          this.log.warn(`files of job ${job.zuoraJobId ?? job.id} expired before they were loaded; submitting a new job for the same window`);
          continue;
        }
        if (job && error instanceof ZuoraJobFailedError) {
          await state.markJobStatus(db, job.id, 'failed', error.message);
        }
        if (job && error instanceof DataError) await this.abandon(job, error);
        throw error;
      } finally {
        await slot?.release();
      }
    }
    throw new AquasyncError('ZUORA_FILE_EXPIRED', 'result files expired twice in one run', {
      hint: 'Zuora purges files after 3 days; check that nothing else deletes them and run again',
    });
  }

  /**
   * Zuora silently restarts a query's session (a full snapshot) when its text or deleted column changed, when the
   * project changed, or after 180 idle days. After a first load that is a surprise: say which tables, and what
   * Zuora's session looks like (its last completed job), so the operator can tell which cause it was.
   */
  private async explainFullSnapshots(zjob: AquaJob): Promise<void> {
    const full = zjob.batches.filter((b) => b.full).map((b) => b.name);
    if (full.length === 0) return;
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
      `Zuora sent a full snapshot of ${full.join(', ')} although this pipeline has loaded before${session}. ` +
      'Zuora does this when a query or its deleted column changed, the project changed, or the session was idle for 180 days; ' +
      'rows missing from the snapshot are treated as deleted.';
    this.log.warn(message, { job: zjob.id });
    await state.recordEvent(this.ctx.warehouse.db, { pipeline: this.pipeline.name, kind: 'unexpected-full-snapshot', message });
  }

  /**
   * A job whose files are not valid (bad CSV, wrong header, a row count that disagrees with recordCount) would fail
   * the same way on every resume. Abandon it instead: the watermark has not moved, so the next run's new job covers
   * the same window, and the pipeline cannot get stuck on one bad file.
   */
  private async abandon(job: state.UnfinishedJob, error: DataError): Promise<void> {
    const { db } = this.ctx.warehouse;
    const staged = await state.stagedFiles(db, job.id);
    await this.loader.dropStages([...staged.keys()]);
    await state.markJobStatus(db, job.id, 'abandoned', error.message);
    await state.recordEvent(db, {
      pipeline: this.pipeline.name,
      jobId: job.id,
      kind: 'job-abandoned',
      message: `${error.message}; the next run submits a new job for the same window`,
    });
  }

  private async submit(watermark: Date): Promise<state.UnfinishedJob> {
    const { db } = this.ctx.warehouse;
    const { request, incrementalTime, from } = buildJobRequest(this.pipeline, watermark);
    const keyPrefix = `aquasync-${this.pipeline.name}`;
    const idempotencyKey = `${keyPrefix}-${randomUUID()}`;
    const id = await state.createJob(db, {
      pipeline: this.pipeline.name,
      runId: this.runId,
      kind: 'sync',
      idempotencyKey,
      request,
      incrementalTime,
      windowFrom: from,
    });
    const job = await submitRecordedJob(this.ctx.client, this.ctx.warehouse, { id, idempotencyKey, request, keyPrefix }, {
      signal: this.options.signal,
      poll: this.options.poll,
      logger: this.log,
      maxWaitMs: this.pipeline.jobTimeout * 1000,
    });
    this.log.info(`submitted job ${job.id}`, { incrementalTime, objects: request.queries.length });
    this.crash('submitted');
    const recorded = await state.findUnfinishedJob(db, this.pipeline.name);
    if (recorded?.id !== id) throw new Error(`job ${job.id} was submitted but its record is not the pipeline's unfinished job`);
    return recorded;
  }

  private async drive(job: state.UnfinishedJob, watermark: Date, slot: state.JobSlot | undefined): Promise<Partial<PipelineRunResult>> {
    const zjob = await waitForRecordedJob(this.ctx, job, this.pipeline, {
      signal: this.options.signal,
      poll: this.options.poll,
      logger: this.log,
    });
    // Zuora no longer runs the job: its slot is free for another while the files download.
    await slot?.release();
    if (this.loadedBefore) await this.explainFullSnapshots(zjob);

    const newWatermark = watermarkFromJob(
      zjob.startTime ?? '',
      zjob.offset ?? this.pipeline.offset,
      this.pipeline.source.dataCenter,
    );
    const snapshotAt = new Date(newWatermark.getTime() + (zjob.offset ?? this.pipeline.offset) * 1000);
    const loaded = await this.loader.load({
      jobRowId: job.id,
      recordedStatus: job.status,
      zjob,
      runId: this.runId,
      mode: { kind: 'stateful', newWatermark, snapshotAt },
      onPhase: (phase) => this.crash(phase),
      finish: (trx, { tables, rows }) =>
        state.finishRun(trx, this.runId, {
          status: 'succeeded',
          rowsWritten: rowsWrittenOf(tables),
          rowsRead: rows,
          watermarkBefore: watermark,
          watermarkAfter: newWatermark,
          details: { zuoraJobId: zjob.id, tables },
        }),
    });
    this.crash('applied');
    const written = rowsWrittenOf(loaded.tables);
    this.log.info(
      `loaded ${loaded.rows} row(s) from the result files into ${loaded.tables.length} table(s), ${written} of them written (new, changed or deleted); watermark moved from ${watermark.toISOString()} to ${newWatermark.toISOString()}`,
    );
    return { zuoraJobId: zjob.id, rowsWritten: written, rowsRead: loaded.rows, tables: loaded.tables, watermarkAfter: newWatermark };
  }
}

/** Rows a load changed in the warehouse: upserted (new or changed) plus deleted or marked deleted. */
function rowsWrittenOf(tables: readonly TableResult[]): number {
  return tables.reduce((n, t) => n + t.upserted + t.deleted + t.missingMarkedDeleted, 0);
}

export { stageTableName };
