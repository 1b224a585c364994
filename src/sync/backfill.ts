// A backfill: re-pull [since, until) of some objects through stateless AQuA jobs (no partner/project, so the
// pipeline's stateful session is untouched), one job per window, a few windows at a time within the tenant's job
// budget. Each window is loaded like a sync job (shared JobLoader) but never as a full snapshot and without moving
// the watermark; the UpdatedDate guard of the merge keeps newer rows a sync already loaded.
//
// Resumability: every window has a row in aquasync.backfill_windows; the job row is created and linked to the
// window before the submit, and the window is marked loaded in the transaction that applies its rows. A re-run
// skips loaded windows and resumes a window whose job is still unfinished.
import pLimit from 'p-limit';
import type { PipelineConfig } from '../config/types.ts';
import { AquasyncError, errorMessage, PipelineBusyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import * as state from '../state/index.ts';
import type { AquaJobRequest } from '../zuora/index.ts';
import { JobDriver } from './job-driver.ts';
import { JobLoader, JobLoadFailure } from './loader.ts';
import type { PipelineRunContext } from './run-pipeline.ts';
import { DEFAULT_JOB_BUDGET } from './submit.ts';
import type { BackfillOptions, BackfillResult, BackfillWindowResult } from './types.ts';
import { planBackfill, type PlannedWindow } from './windows.ts';

/** Windows in flight at once (further bounded by the job budget). */
export const WINDOW_PARALLELISM = 3;

export async function runBackfill(
  ctx: PipelineRunContext,
  pipeline: PipelineConfig,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const log = options.logger.child({ pipeline: pipeline.name });
  const result: BackfillResult = { ok: false, runId: undefined, windows: [], rowsWritten: 0, rowsRead: 0, error: undefined };
  let plan: ReturnType<typeof planBackfill>;
  try {
    plan = planBackfill(pipeline, options);
  } catch (error) {
    result.error = error;
    return result;
  }

  if (options.dryRun) {
    for (const w of plan.windows) {
      log.info(`dry run: would submit POST /v1/batch-query/ for ${w.since.toISOString()} .. ${w.until.toISOString()}: ${JSON.stringify(w.request)}`);
    }
    result.windows = plan.windows.map((w) => ({ since: w.since, until: w.until, status: 'skipped', rows: 0 }));
    result.ok = true;
    return result;
  }

  const { pool, db } = ctx.warehouse;
  const lock = options.backfillLockHeld ? { release: async () => undefined } : await state.acquirePipelineLock(pool, state.backfillLockName(pipeline.name));
  if (!lock) {
    result.error = new PipelineBusyError(`another backfill of pipeline "${pipeline.name}" is in progress`, 'wait for it to finish, then run again: windows it loads are skipped');
    log.warn(errorMessage(result.error));
    return result;
  }
  try {
    await state.abandonStaleRuns(db, pipeline.name, { kinds: ['backfill'] });
    const runId = await state.startRun(db, { pipeline: pipeline.name, kind: 'backfill' });
    result.runId = runId;
    const watermark = await state.getWatermark(db, pipeline.name);
    try {
      const records = await state.ensureBackfillWindows(db, {
        pipeline: pipeline.name,
        objects: plan.objects.map((o) => o.name),
        windows: plan.windows,
        reload: options.reload === true,
      });
      const runner = new BackfillRun(ctx, pipeline, options, log, runId);
      await runner.dropSuperseded(records);
      await runner.run(plan.windows, records, result);
    } catch (error) {
      result.error ??= error;
    }
    result.ok = result.error === undefined;
    const loaded = result.windows.filter((w) => w.status === 'loaded').length;
    const skipped = result.windows.filter((w) => w.status === 'skipped').length;
    await state.finishRun(db, runId, {
      status: result.ok ? 'succeeded' : 'failed',
      rowsWritten: result.rowsWritten,
      rowsRead: result.rowsRead,
      // A backfill never moves the watermark: both ends are the watermark it found.
      watermarkBefore: watermark ?? null,
      watermarkAfter: watermark ?? null,
      ...(result.ok
        ? {}
        : { error: { code: result.error instanceof AquasyncError ? result.error.code : 'INTERNAL', message: errorMessage(result.error) } }),
      details: {
        since: plan.since.toISOString(),
        until: plan.until.toISOString(),
        windowMs: options.windowMs,
        objects: plan.objects.map((o) => o.name),
        windows: plan.windows.length,
        loaded,
        skipped,
        failed: plan.windows.length - loaded - skipped,
      },
    });
    if (result.ok) log.info(`backfill done: ${loaded} window(s) loaded, ${skipped} skipped, wrote ${result.rowsWritten} row(s) (read ${result.rowsRead})`);
    else log.error(`backfill failed: ${errorMessage(result.error)}; run it again to resume (loaded windows are skipped)`);
  } finally {
    await lock.release();
  }
  return result;
}

class BackfillRun {
  private readonly loader: JobLoader;
  private readonly driver: JobDriver;

  constructor(
    private readonly ctx: PipelineRunContext,
    private readonly pipeline: PipelineConfig,
    private readonly options: BackfillOptions,
    private readonly log: Logger,
    private readonly runId: number,
  ) {
    this.loader = new JobLoader(ctx, pipeline, { logger: log, tempDir: options.tempDir, signal: options.signal });
    this.driver = new JobDriver(ctx, pipeline, { logger: log, signal: options.signal, poll: options.poll, runId });
  }

  /**
   * A backfill of another range (`--until` defaults to now, so even the same command's last window moves) leaves
   * the unfinished jobs of its windows behind: abandoned here, because this backfill re-reads what it needs and a
   * backfill never carries anything the sync does not.
   */
  async dropSuperseded(records: state.BackfillWindowRecord[]): Promise<void> {
    const { db } = this.ctx.warehouse;
    const keep = records.map((r) => r.jobId).filter((id): id is number => id !== undefined);
    for (const job of await state.unfinishedJobsOfKind(db, this.pipeline.name, 'backfill', keep)) {
      await this.loader.dropStages(job.id, [...(await state.stagedFiles(db, job.id)).keys()]);
      await state.markJobStatus(db, job.id, 'abandoned', 'superseded by a backfill of another range');
      await state.recordEvent(db, {
        pipeline: this.pipeline.name,
        jobId: job.id,
        kind: 'job-abandoned',
        message: `backfill job ${job.zuoraJobId ?? job.id} of an earlier range was left unfinished; a backfill of another range supersedes it`,
      });
    }
  }

  async run(planned: PlannedWindow[], records: state.BackfillWindowRecord[], result: BackfillResult): Promise<void> {
    const budget = this.ctx.jobBudget ?? DEFAULT_JOB_BUDGET;
    const limit = pLimit(Math.max(1, Math.min(WINDOW_PARALLELISM, budget)));
    const outcomes: BackfillWindowResult[] = planned.map((w) => ({ since: w.since, until: w.until, status: 'failed', rows: 0 }));
    result.windows = outcomes;
    let done = 0;
    const report = (): void => this.options.onProgress?.({ windowsDone: done, windowsTotal: planned.length, rows: result.rowsRead });
    // Loaded windows are skipped up front, so the first report tells how much was done before this run.
    planned.forEach((_, i) => {
      if (records[i]?.status === 'loaded') {
        outcomes[i]!.status = 'skipped';
        done++;
      }
    });
    report();
    // After the first failure no new window starts (a systematic error would fail them all); in-flight ones finish.
    const tasks = planned.map((window, i) =>
      limit(async () => {
        const record = records[i];
        const outcome = outcomes[i]!;
        if (!record) throw new Error(`window ${i} has no state row`);
        if (outcome.status === 'skipped') return;
        if (result.error !== undefined || this.options.signal?.aborted) return;
        try {
          const loaded = await this.loadWindow(window, record);
          outcome.rows = loaded.rowsWritten;
          outcome.status = 'loaded';
          result.rowsWritten += loaded.rowsWritten;
          result.rowsRead += loaded.rowsRead;
        } catch (error) {
          result.error ??= error;
          await state.markWindowFailed(this.ctx.warehouse.db, record.id, errorMessage(error));
          this.log.error(`window ${label(window)} failed: ${errorMessage(error)}`);
        }
        done++;
        report();
      }),
    );
    await Promise.all(tasks);
  }

  private async loadWindow(window: PlannedWindow, record: state.BackfillWindowRecord): Promise<{ rowsWritten: number; rowsRead: number }> {
    const { db } = this.ctx.warehouse;
    let existing = record.jobId === undefined ? undefined : await state.findUnfinishedJobById(db, record.jobId);
    if (existing) {
      this.log.info(`window ${label(window)}: resuming job ${existing.zuoraJobId ?? '(not yet acknowledged by Zuora)'}`, { status: existing.status });
      await state.markWindowRunning(db, record.id, { jobId: existing.id, runId: this.runId });
    }
    // At most two jobs per window: the first, and a new one if its files expired before they were loaded.
    for (let attempt = 0; attempt < 2; attempt++) {
      const request = (existing?.request as AquaJobRequest | undefined) ?? window.request;
      const done = await this.driver.complete(
        existing,
        () => ({
          kind: 'backfill',
          request: window.request,
          windowFrom: window.since,
          windowTo: window.until,
          // Linked before the submit: a crash in between resumes the window with the same Idempotency-Key.
          onRecorded: (jobRowId) => state.markWindowRunning(db, record.id, { jobId: jobRowId, runId: this.runId }),
        }),
        (zjob) => this.loader.targets(zjob, request),
      );
      existing = undefined;
      try {
        const loaded = await this.loader.load([this.loader.prepare(done)], {
          runId: this.runId,
          newWatermark: undefined,
          snapshots: new Map(),
          finish: (trx, totals) => state.markWindowLoaded(trx, record.id, totals.rowsWritten),
        });
        this.log.info(`window ${label(window)}: wrote ${loaded.rowsWritten} row(s) (read ${loaded.rowsRead}) from job ${done.zjob.id}`);
        return loaded;
      } catch (error) {
        if (!(error instanceof JobLoadFailure)) throw error;
        const settled = await this.driver.settle(error.job.row, error.reason, (jobRowId, ids) => this.loader.dropStages(jobRowId, ids));
        if (settled === 'recover' && attempt === 0) continue;
        throw error.reason;
      }
    }
    throw new AquasyncError('ZUORA_FILE_EXPIRED', `result files of backfill window ${label(window)} expired twice`, {
      hint: 'Zuora purges files after 3 days; check that nothing else deletes them and run again',
    });
  }
}

function label(window: { since: Date; until: Date }): string {
  return `${window.since.toISOString()}..${window.until.toISOString()}`;
}
