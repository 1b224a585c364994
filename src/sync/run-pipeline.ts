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
import pLimit from 'p-limit';
import type { PipelineConfig, ObjectConfig } from '../config/types.ts';
import {
  AquasyncError,
  DataError,
  ZuoraFileExpiredError,
  ZuoraJobFailedError,
  ZuoraRejectedError,
  errorMessage,
} from '../errors.ts';
import { buildJobRequest, DELETED_COLUMN, planTable, watermarkFromJob } from '../plan/index.ts';
import type { TableSpec } from '../plan/types.ts';
import { ZuoraClient, batchFileIds, type AquaJob, type AquaJobRequest, type ObjectDescription } from '../zuora/index.ts';
import { decodeResultFile, readCsvHeader } from '../decode/index.ts';
import { dropStageTables, ensureTable, mergeStaged, stageFile, stageRowCount } from '../load/index.ts';
import { kyselyForClient, type Warehouse } from '../db/index.ts';
import * as state from '../state/index.ts';
import type { PipelineRunResult, RunOptions, SyncPhase, TableResult } from './types.ts';

const FILE_ATTEMPTS = 4;

export interface PipelineRunContext {
  warehouse: Warehouse;
  client: ZuoraClient;
  /** Warehouse schema for the tables (config warehouse.schema). */
  schema: string;
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
    rowsLoaded: 0,
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
    await state.abandonStaleRuns(db, pipeline.name);
    const runId = await state.startRun(db, { pipeline: pipeline.name, kind: options.kind ?? 'manual' });
    result.runId = runId;
    const stored = await state.getWatermark(db, pipeline.name);
    result.watermarkBefore = stored;
    const crash = (phase: SyncPhase): void => {
      if (options.crashAfter === phase) throw new SimulatedCrash(phase);
    };

    try {
      const run = new PipelineRun(ctx, pipeline, options, log, runId, crash);
      const outcome = await run.execute(stored ?? pipeline.startDate);
      Object.assign(result, outcome, { ok: true });
    } catch (error) {
      result.error = error;
      if (error instanceof SimulatedCrash) throw error;
      await state.finishRun(db, runId, {
        status: 'failed',
        rowsLoaded: 0,
        watermarkBefore: stored ?? null,
        watermarkAfter: stored ?? null,
        error: { code: error instanceof AquasyncError ? error.code : 'INTERNAL', message: errorMessage(error) },
      });
      log.error(`run failed: ${errorMessage(error)}`);
    }
  } finally {
    await lock.release();
  }
  result.durationMs = Date.now() - started;
  return result;
}

interface StagedBatch {
  name: string;
  objectConfig: ObjectConfig;
  batch: AquaJob['batches'][number];
  files: string[];
  header: string[] | undefined;
}

class PipelineRun {
  private readonly describeCache = new Map<string, Promise<ObjectDescription | undefined>>();
  private readonly described = new Map<string, ObjectDescription | undefined>();

  constructor(
    private readonly ctx: PipelineRunContext,
    private readonly pipeline: PipelineConfig,
    private readonly options: RunOptions,
    private readonly log: RunOptions['logger'],
    private readonly runId: number,
    private readonly crash: (phase: SyncPhase) => void,
  ) {}

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
      const job = unfinished ?? (await this.submit(watermark));
      unfinished = undefined;
      try {
        const outcome = await this.drive(job, watermark);
        return { ...outcome, resumed };
      } catch (error) {
        if (error instanceof ZuoraFileExpiredError) {
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
        if (error instanceof ZuoraJobFailedError) {
          await state.markJobStatus(db, job.id, 'failed', error.message);
        }
        throw error;
      }
    }
    throw new AquasyncError('ZUORA_FILE_EXPIRED', 'result files expired twice in one run', {
      hint: 'Zuora purges files after 3 days; check that nothing else deletes them and run again',
    });
  }

  private async submit(watermark: Date): Promise<state.UnfinishedJob> {
    const { db } = this.ctx.warehouse;
    const { request, incrementalTime, from } = buildJobRequest(this.pipeline, watermark);
    const idempotencyKey = `aquasync-${this.pipeline.name}-${randomUUID()}`;
    const id = await state.createJob(db, {
      pipeline: this.pipeline.name,
      runId: this.runId,
      kind: 'sync',
      idempotencyKey,
      request,
      incrementalTime,
      windowFrom: from,
    });
    const job = await this.ctx.client.submitJob(request, idempotencyKey);
    await state.markJobSubmitted(db, id, job.id);
    this.log.info(`submitted job ${job.id}`, { incrementalTime, objects: request.queries.length });
    this.crash('submitted');
    const recorded = await state.findUnfinishedJob(db, this.pipeline.name);
    if (recorded?.id !== id) throw new Error(`job ${job.id} was submitted but its record is not the pipeline's unfinished job`);
    return recorded;
  }

  private async drive(job: state.UnfinishedJob, watermark: Date): Promise<Partial<PipelineRunResult>> {
    const { db, pool } = this.ctx.warehouse;
    let zuoraJobId = job.zuoraJobId;
    if (!zuoraJobId) {
      // Crashed during the submit: the same Idempotency-Key makes Zuora answer with the job it already created.
      const request = job.request as AquaJobRequest;
      const replay = await this.ctx.client.submitJob(request, job.idempotencyKey);
      await state.markJobSubmitted(db, job.id, replay.id);
      zuoraJobId = replay.id;
    }

    let zjob = await this.ctx.client.getJob(zuoraJobId);
    if (zjob.status !== 'completed') {
      zjob = await this.ctx.client.waitForJob(zuoraJobId, {
        timeoutMs: this.pipeline.jobTimeout * 1000,
        ...(this.options.signal ? { signal: this.options.signal } : {}),
        onStatus: (j) => this.log.debug(`job ${j.id} is ${j.status}`),
      });
    }
    const batches = this.mapBatches(zjob);
    if (job.status === 'submitting' || job.status === 'submitted') {
      await state.recordJobCompleted(
        db,
        job.id,
        zjob,
        batches.map((b) => ({ name: b.name, object: b.objectConfig.name, tableName: b.objectConfig.table })),
      );
      const files = batches.reduce((n, b) => n + b.files.length, 0);
      this.log.info(`job ${zjob.id} completed: ${files} file(s)`, {
        rows: batches.reduce((n, b) => n + b.batch.recordCount, 0),
        full: batches.filter((b) => b.batch.full).map((b) => b.name).join(',') || undefined,
      });
      this.crash('completed');
    }

    await this.stageAll(job.id, batches);
    this.crash('staged');

    const newWatermark = watermarkFromJob(
      zjob.startTime ?? '',
      zjob.offset ?? this.pipeline.offset,
      this.pipeline.source.dataCenter,
    );
    const snapshotAt = new Date(newWatermark.getTime() + (zjob.offset ?? this.pipeline.offset) * 1000);
    const tables: TableResult[] = [];
    const applied = await state.applyJob(
      pool,
      { jobRowId: job.id, pipeline: this.pipeline.name, newWatermark, runId: this.runId },
      async (client, trx) => {
        let total = 0;
        for (const b of batches) {
          const spec = this.specFor(b);
          await ensureTable(client, spec);
          const stages = b.files.map((fileId, ordinal) => ({ table: stageTableName(fileId), ordinal }));
          for (const stage of stages) {
            if ((await stageRowCount(client, stage.table)) === undefined) {
              throw new DataError(`staged rows of ${b.name} vanished (staging table ${stage.table} is gone)`, {
                hint: 'Postgres restarted since the file was staged; run again to download it anew',
              });
            }
          }
          const merged = await mergeStaged(client, spec, {
            stages,
            jobId: zjob.id,
            full: b.batch.full,
            snapshotAt,
          });
          if (b.batch.full && merged.missingMarkedDeleted > 0) {
            await state.recordEvent(trx, {
              pipeline: this.pipeline.name,
              jobId: job.id,
              kind: 'full-snapshot',
              message: `Zuora sent a full snapshot of ${b.objectConfig.name}; ${merged.missingMarkedDeleted} row(s) missing from it were marked deleted (${b.objectConfig.deletes})`,
            });
          }
          tables.push({
            table: `${spec.schema}.${spec.table}`,
            object: spec.object,
            recordCount: b.batch.recordCount,
            upserted: merged.upserted,
            deleted: merged.deleted,
            missingMarkedDeleted: merged.missingMarkedDeleted,
            full: b.batch.full,
          });
          total += b.batch.recordCount;
          await dropStageTables(client, stages.map((s) => s.table));
        }
        await state.finishRun(trx, this.runId, {
          status: 'succeeded',
          rowsLoaded: total,
          watermarkBefore: watermark,
          watermarkAfter: newWatermark,
          details: { zuoraJobId: zjob.id, tables },
        });
        return total;
      },
    );
    const rows = applied.rows;
    this.crash('applied');
    this.log.info(
      `loaded ${rows} row(s) into ${tables.length} table(s); watermark moved from ${watermark.toISOString()} to ${newWatermark.toISOString()}`,
    );
    return { zuoraJobId: zjob.id, rowsLoaded: rows, tables, watermarkAfter: newWatermark };
  }

  /** Pairs each batch of the job with its object config (query name = table name). */
  private mapBatches(zjob: AquaJob): StagedBatch[] {
    return zjob.batches.map((batch) => {
      const objectConfig = this.pipeline.objects.find((o) => o.table === batch.name);
      if (!objectConfig) {
        throw new DataError(`job ${zjob.id} has a batch "${batch.name}" that pipeline ${this.pipeline.name} did not ask for`, {
          hint: 'the pipeline configuration changed while the job ran; it will be re-run with the new configuration',
        });
      }
      return { name: batch.name, objectConfig, batch, files: batchFileIds(batch), header: undefined };
    });
  }

  private async stageAll(jobRowId: number, batches: StagedBatch[]): Promise<void> {
    const { db } = this.ctx.warehouse;
    const staged = await state.stagedFiles(db, jobRowId);
    const limit = pLimit(this.pipeline.concurrency);
    const total = batches.reduce((n, b) => n + b.files.length, 0);
    let done = 0;
    for (const b of batches) {
      if (b.files.length === 0) {
        throw new DataError(`batch ${b.name} of job completed without any result file`, {
          hint: 'Zuora returned neither fileId nor segments; run again',
        });
      }
    }
    // Describe first: every staging task must be created in one go so none can reject before allSettled watches it.
    await Promise.all(batches.map((b) => this.describeFor(b.objectConfig.name)));
    const tasks: Promise<void>[] = [];
    for (const b of batches) {
      for (const fileId of b.files) {
        const known = staged.get(fileId);
        if (known?.header) {
          b.header ??= known.header;
          done++;
          continue;
        }
        tasks.push(
          limit(async () => {
            const header = await this.stageOne(b, fileId);
            b.header ??= header;
            if (header.join('\u0000') !== b.header.join('\u0000')) {
              throw new DataError(`segment ${fileId} of ${b.name} has a different header than the other segments`);
            }
            done++;
            this.options.onFileStaged?.(done, total);
          }),
        );
      }
    }
    const settled = await Promise.allSettled(tasks);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;

    // The reported recordCount must match what Postgres parsed, or a file was truncated somewhere.
    const counts = await state.stagedFiles(db, jobRowId);
    for (const b of batches) {
      const rows = b.files.reduce((n, f) => n + (counts.get(f)?.rows ?? 0), 0);
      if (rows !== b.batch.recordCount) {
        await state.resetStagedFiles(db, jobRowId, b.files);
        await this.dropStages(b.files);
        throw new DataError(
          `${b.name}: Zuora reported ${b.batch.recordCount} row(s) but the result file(s) held ${rows}`,
          { hint: 'the files will be downloaded again on the next run; if this persists, report the job id to Zuora support' },
        );
      }
    }
    this.log.info(`staged ${total} file(s)`);
  }

  private async stageOne(b: StagedBatch, fileId: string): Promise<string[]> {
    const { pool } = this.ctx.warehouse;
    let lastError: unknown;
    for (let attempt = 1; attempt <= FILE_ATTEMPTS; attempt++) {
      try {
        const file = await this.ctx.client.openFile(fileId);
        const decoded = await decodeResultFile(file.body, this.pipeline.format, {
          fileId,
          object: b.objectConfig.name,
          tempDir: this.options.tempDir,
        });
        const { header, csv } = await readCsvHeader(decoded, { fileId, object: b.objectConfig.name });
        this.planFor(b, header); // validates the header before any row is copied
        await stageFile(pool, {
          stageTable: stageTableName(fileId),
          columnCount: header.length,
          csv,
          fileId,
          object: b.objectConfig.name,
          onStaged: (client, rows) =>
            state.markFileStaged(kyselyForClient(client), fileId, { rows, stageTable: stageTableName(fileId), header }),
        });
        return header;
      } catch (error) {
        lastError = error;
        const retryable = error instanceof AquasyncError ? error.retryable : isNetworkError(error);
        if (!retryable || attempt === FILE_ATTEMPTS || this.options.signal?.aborted) break;
        this.log.warn(`download of ${fileId} failed (${errorMessage(error)}); retrying from the start of the file`, {
          attempt,
        });
        await sleep(Math.min(1000 * 2 ** (attempt - 1), 10_000));
      }
    }
    throw lastError;
  }

  private async dropStages(fileIds: string[]): Promise<void> {
    const client = await this.ctx.warehouse.pool.connect();
    try {
      await dropStageTables(client, fileIds.map(stageTableName));
    } finally {
      client.release();
    }
  }

  private planFor(b: StagedBatch, header: string[]): TableSpec {
    return planTable({
      schema: this.ctx.schema,
      object: b.objectConfig,
      header,
      deletedColumn: DELETED_COLUMN,
      describe: (name) => this.described.get(name.toLowerCase()),
    });
  }

  private specFor(b: StagedBatch): TableSpec {
    if (!b.header) throw new DataError(`no header recorded for ${b.name}`);
    return this.planFor(b, b.header);
  }

  /** Describes the object and every relationship the configured fields use, once per run. */
  private async describeFor(objectName: string): Promise<void> {
    const object = this.pipeline.objects.find((o) => o.name === objectName);
    const related = new Set<string>();
    for (const field of object?.fields ?? []) {
      const dot = field.indexOf('.');
      if (dot > 0) related.add(field.slice(0, dot));
    }
    await Promise.all([objectName, ...related].map((name) => this.describe(name)));
  }

  private describe(name: string): Promise<ObjectDescription | undefined> {
    const key = name.toLowerCase();
    let pending = this.describeCache.get(key);
    if (!pending) {
      pending = this.ctx.client.describe(name).then(
        (d) => {
          this.described.set(key, d);
          return d;
        },
        (error: unknown) => {
          // Relationship names (BillToContact) are not always describable objects; their columns default to text.
          const configured = this.pipeline.objects.some((o) => o.name.toLowerCase() === key);
          if (error instanceof ZuoraRejectedError && !configured) {
            this.described.set(key, undefined);
            return undefined;
          }
          throw error;
        },
      );
      this.describeCache.set(key, pending);
    }
    return pending;
  }
}

export function stageTableName(fileId: string): string {
  return `s_${fileId.replace(/[^a-zA-Z0-9_]/g, '_').toLowerCase()}`;
}

function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_.*)$/.test(code);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
