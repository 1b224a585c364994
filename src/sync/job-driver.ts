// One way to drive a recorded AQuA job, shared by the stateful sync job, its snapshot job and backfill windows:
// record the job row (with its Idempotency-Key) before the submit, submit within the tenant's job budget, poll it
// to completion, record its batches and files before any download; and one way to settle how it failed: expired
// files are re-covered by a new job, invalid files abandon the job, a job Zuora failed is marked failed.
import { randomUUID } from 'node:crypto';
import type { PipelineConfig } from '../config/types.ts';
import { DataError, ZuoraFileExpiredError, ZuoraJobFailedError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Warehouse } from '../db/index.ts';
import * as state from '../state/index.ts';
import type { AquaJob, AquaJobRequest, ZuoraClient } from '../zuora/index.ts';
import { acquireJobPermit, DEFAULT_JOB_BUDGET, submitRecordedJob, tenantKey, type PollBounds } from './submit.ts';

export interface DriverContext {
  warehouse: Warehouse;
  client: ZuoraClient;
  /** Most AQuA jobs in flight at once per Zuora tenant, across processes (default 8). */
  jobBudget?: number | undefined;
}

export interface DriverOptions {
  logger: Logger;
  signal?: AbortSignal | undefined;
  poll?: PollBounds | undefined;
  runId: number;
  /** Test hook: called after the submit was recorded and after the batches and files were recorded. */
  onPhase?: ((phase: 'submitted' | 'completed') => void) | undefined;
}

/** What a new job submits and records. */
export interface JobSpec {
  kind: state.JobKind;
  request: AquaJobRequest;
  incrementalTime?: string | undefined;
  windowFrom?: Date | undefined;
  windowTo?: Date | undefined;
  parentJobId?: number | undefined;
  /** Runs once the job row exists, before the submit (a backfill links the row to its window). */
  onRecorded?: ((jobRowId: number) => Promise<void>) | undefined;
}

/** A job Zuora completed, with its batches and files recorded in aquasync.jobs/batches/files. */
export interface CompletedJob {
  row: state.UnfinishedJob;
  zjob: AquaJob;
}

export type Settlement = 'recover' | 'give-up';

export class JobDriver {
  constructor(
    private readonly ctx: DriverContext,
    private readonly pipeline: PipelineConfig,
    private readonly options: DriverOptions,
  ) {}

  /**
   * Brings `existing` (an unfinished job row) or, when there is none, a new job made from `spec()` to a completed
   * Zuora job whose batches and files are recorded. `targets` maps the batches to their objects and tables.
   */
  async complete(
    existing: state.UnfinishedJob | undefined,
    spec: () => JobSpec,
    targets: (zjob: AquaJob) => state.BatchTarget[],
  ): Promise<CompletedJob> {
    const { db } = this.ctx.warehouse;
    let permit: state.JobPermit | undefined;
    try {
      let row = existing;
      if (row === undefined || row.zuoraJobId === undefined) {
        // Jobs Zuora is still running count against the tenant's budget, a resubmitted one included.
        permit = await acquireJobPermit(this.ctx.warehouse, tenantKey(this.pipeline), this.ctx.jobBudget ?? DEFAULT_JOB_BUDGET, this.options);
        row = row ?? (await this.record(spec()));
        const submitted = await submitRecordedJob(
          this.ctx.client,
          this.ctx.warehouse,
          { id: row.id, idempotencyKey: row.idempotencyKey, request: row.request as AquaJobRequest, keyPrefix: this.keyPrefix(row.kind) },
          { ...this.options, maxWaitMs: this.pipeline.jobTimeout * 1000 },
        );
        this.options.logger.info(`submitted ${row.kind} job ${submitted.id}`, { incrementalTime: row.incrementalTime });
        this.options.onPhase?.('submitted');
        row = await this.reload(row.id);
      }
      const zuoraJobId = row.zuoraJobId as string;
      let zjob = await this.ctx.client.getJob(zuoraJobId);
      if (zjob.status !== 'completed') {
        try {
          zjob = await this.ctx.client.waitForJob(zuoraJobId, {
            timeoutMs: this.pipeline.jobTimeout * 1000,
            ...(this.options.signal ? { signal: this.options.signal } : {}),
            onStatus: (j) => this.options.logger.debug(`job ${j.id} is ${j.status}`),
          });
        } catch (error) {
          if (error instanceof ZuoraJobFailedError) await state.markJobStatus(db, row.id, 'failed', error.message);
          throw error;
        }
      }
      await permit?.release();
      permit = undefined;
      if (row.status === 'submitting' || row.status === 'submitted') {
        await state.recordJobCompleted(db, row.id, zjob, targets(zjob));
        const files = zjob.batches.reduce((n, b) => n + (b.segments?.length ?? (b.fileId ? 1 : 0)), 0);
        this.options.logger.info(`job ${zjob.id} completed: ${files} file(s)`, {
          rows: zjob.batches.reduce((n, b) => n + b.recordCount, 0),
          full: row.kind === 'sync' ? zjob.batches.filter((b) => b.full).map((b) => b.name).join(',') || undefined : undefined,
        });
        this.options.onPhase?.('completed');
        row = await this.reload(row.id);
      }
      return { row, zjob };
    } finally {
      await permit?.release();
    }
  }

  /**
   * Records how a job's load failed. Expired files: the job is marked expired and a new job re-covers its window
   * ('recover'). Invalid files (bad CSV, wrong header or row count): the job is abandoned, because it would fail
   * the same way on every resume, and its window is covered by the next job. Anything else leaves the job as it
   * is, to be resumed ('give-up' either way).
   */
  async settle(row: state.JobRecord, error: unknown, dropStages: (jobRowId: number, fileIds: string[]) => Promise<void>): Promise<Settlement> {
    const { db } = this.ctx.warehouse;
    if (error instanceof ZuoraFileExpiredError) {
      await dropStages(row.id, await this.stagedFileIds(row.id));
      await state.markJobStatus(db, row.id, 'expired', error.message);
      await state.recordEvent(db, {
        pipeline: this.pipeline.name,
        jobId: row.id,
        kind: 'file-expired',
        message: `${error.message}; re-covering the window of ${row.kind} job ${row.zuoraJobId ?? row.id} with a new job`,
      });
      this.options.logger.warn(`files of job ${row.zuoraJobId ?? row.id} expired before they were loaded; submitting a new job for the same window`);
      return 'recover';
    }
    if (error instanceof DataError) {
      await dropStages(row.id, await this.stagedFileIds(row.id));
      await state.markJobStatus(db, row.id, 'abandoned', error.message);
      await state.recordEvent(db, {
        pipeline: this.pipeline.name,
        jobId: row.id,
        kind: 'job-abandoned',
        message: `${errorMessage(error)}; a new job will cover the same window`,
      });
      return 'give-up';
    }
    return 'give-up';
  }

  private async record(spec: JobSpec): Promise<state.UnfinishedJob> {
    const { db } = this.ctx.warehouse;
    const idempotencyKey = `${this.keyPrefix(spec.kind)}-${randomUUID()}`;
    const id = await state.createJob(db, {
      pipeline: this.pipeline.name,
      runId: this.options.runId,
      kind: spec.kind,
      idempotencyKey,
      request: spec.request,
      incrementalTime: spec.incrementalTime,
      windowFrom: spec.windowFrom,
      windowTo: spec.windowTo,
      parentJobId: spec.parentJobId,
    });
    await spec.onRecorded?.(id);
    return this.reload(id);
  }

  private async reload(id: number): Promise<state.UnfinishedJob> {
    const row = await state.withBatchesAndFiles(this.ctx.warehouse.db, id);
    if (!row) throw new Error(`job ${id} vanished from aquasync.jobs`);
    return row;
  }

  private async stagedFileIds(jobRowId: number): Promise<string[]> {
    return [...(await state.stagedFiles(this.ctx.warehouse.db, jobRowId)).keys()];
  }

  private keyPrefix(kind: state.JobKind): string {
    return kind === 'sync' ? `aquasync-${this.pipeline.name}` : `aquasync-${this.pipeline.name}-${kind}`;
  }
}
