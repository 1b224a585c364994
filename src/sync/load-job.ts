// Loading a completed AQuA job into the warehouse, shared by the stateful sync and backfill windows: record its
// batches and files before any download, stage every file (COPY, concurrently, with retries), check each batch's
// recordCount against what Postgres parsed, then merge every table in one apply transaction.
import type pg from 'pg';
import type { Kysely } from 'kysely';
import pLimit from 'p-limit';
import type { ObjectConfig, PipelineConfig } from '../config/types.ts';
import { AquasyncError, DataError, ZuoraRejectedError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { DELETED_COLUMN, planTable } from '../plan/index.ts';
import type { TableSpec } from '../plan/types.ts';
import { batchFileIds, type AquaJob, type ObjectDescription, type ZuoraClient } from '../zuora/index.ts';
import { decodeResultFile, readCsvHeader } from '../decode/index.ts';
import { applyStaged, dropStageTables, stageFile, stageRowCount } from '../load/index.ts';
import { kyselyForClient, type Warehouse } from '../db/index.ts';
import * as state from '../state/index.ts';
import { sleep } from './submit.ts';
import type { TableResult } from './types.ts';

const FILE_ATTEMPTS = 4;

export interface LoaderContext {
  warehouse: Warehouse;
  client: ZuoraClient;
  /** Warehouse schema for the tables. */
  schema: string;
}

export interface LoaderOptions {
  logger: Logger;
  tempDir: string;
  signal?: AbortSignal | undefined;
  onFileStaged?: ((done: number, total: number) => void) | undefined;
}

export interface LoadBatch {
  name: string;
  objectConfig: ObjectConfig;
  batch: AquaJob['batches'][number];
  files: string[];
  header: string[] | undefined;
}

/**
 * How the job's rows are merged. `stateful`: Zuora's `full` flag is honoured (rows missing from a full snapshot
 * are deleted) and the watermark moves. `window`: a stateless slice of time, reported `full` by Zuora on every
 * batch but never a snapshot of the table, so nothing is marked missing and the watermark is left alone.
 */
export type ApplyMode = { kind: 'stateful'; newWatermark: Date; snapshotAt: Date } | { kind: 'window' };

export interface LoadJobArgs {
  /** Row id in aquasync.jobs. */
  jobRowId: number;
  /** The job row's status before this load: submitting/submitted means its batches and files are not recorded yet. */
  recordedStatus: state.JobStatus;
  zjob: AquaJob;
  runId: number;
  mode: ApplyMode;
  /** Test hook called after the files were recorded and after they were staged. */
  onPhase?: (phase: 'completed' | 'staged') => void;
  /** Runs inside the apply transaction after every merge (finish the run, mark the window loaded...). */
  finish: (db: Kysely<state.StateDatabase>, loaded: { tables: TableResult[]; rows: number }) => Promise<void>;
}

export interface LoadJobResult {
  /** False when the job had been applied already (by an earlier process). */
  applied: boolean;
  rows: number;
  tables: TableResult[];
  /** The pipeline's watermark after the apply transaction. */
  watermark: Date | undefined;
}

/** One per run: describe answers are cached for the run's lifetime, shared by all the jobs it loads. */
export class JobLoader {
  private readonly describeCache = new Map<string, Promise<ObjectDescription | undefined>>();
  private readonly described = new Map<string, ObjectDescription | undefined>();

  constructor(
    private readonly ctx: LoaderContext,
    private readonly pipeline: PipelineConfig,
    private readonly options: LoaderOptions,
  ) {}

  async load(args: LoadJobArgs): Promise<LoadJobResult> {
    const { db, pool } = this.ctx.warehouse;
    const { zjob } = args;
    const batches = this.mapBatches(zjob);
    if (args.recordedStatus === 'submitting' || args.recordedStatus === 'submitted') {
      await state.recordJobCompleted(
        db,
        args.jobRowId,
        zjob,
        batches.map((b) => ({ name: b.name, object: b.objectConfig.name, tableName: b.objectConfig.table })),
      );
      const files = batches.reduce((n, b) => n + b.files.length, 0);
      this.options.logger.info(`job ${zjob.id} completed: ${files} file(s)`, {
        rows: batches.reduce((n, b) => n + b.batch.recordCount, 0),
        full: args.mode.kind === 'stateful' ? batches.filter((b) => b.batch.full).map((b) => b.name).join(',') || undefined : undefined,
      });
      args.onPhase?.('completed');
    }

    await this.stageAll(args.jobRowId, batches);
    args.onPhase?.('staged');

    const tables: TableResult[] = [];
    const mode = args.mode;
    const applied = await state.applyJob(
      pool,
      {
        jobRowId: args.jobRowId,
        pipeline: this.pipeline.name,
        newWatermark: mode.kind === 'stateful' ? mode.newWatermark : undefined,
        runId: args.runId,
      },
      async (client, trx) => {
        await state.lockSchemaForApply(client, this.ctx.schema);
        let total = 0;
        for (const b of batches) {
          const merged = await this.mergeBatch(client, trx, args, b);
          tables.push(merged);
          total += b.batch.recordCount;
        }
        await args.finish(trx, { tables, rows: total });
        return total;
      },
    );
    return { applied: applied.applied, rows: applied.rows, tables, watermark: applied.watermark };
  }

  private async mergeBatch(client: pg.PoolClient, trx: Kysely<state.StateDatabase>, args: LoadJobArgs, b: LoadBatch): Promise<TableResult> {
    const spec = this.specFor(b);
    const stages = b.files.map((fileId, ordinal) => ({ table: stageTableName(fileId), ordinal }));
    for (const stage of stages) {
      if ((await stageRowCount(client, stage.table)) === undefined) {
        throw new DataError(`staged rows of ${b.name} vanished (staging table ${stage.table} is gone)`, {
          hint: 'Postgres restarted since the file was staged; run again to download it anew',
        });
      }
    }
    // A stateless window reports full: true on every batch; merging it as a snapshot would delete every row
    // outside the window.
    const full = args.mode.kind === 'stateful' && b.batch.full;
    const merged = await applyStaged(client, spec, {
      stages,
      jobId: args.zjob.id,
      full,
      snapshotAt: args.mode.kind === 'stateful' ? args.mode.snapshotAt : new Date(0),
    });
    const table = `${spec.schema}.${spec.table}`;
    if (merged.table.addedColumns.length > 0) {
      this.options.logger.info(`added column(s) ${merged.table.addedColumns.join(', ')} to ${table}`);
    }
    for (const m of merged.table.typeMismatches) {
      this.options.logger.warn(`${table}.${m.column} is ${m.existing} but the config maps it to ${m.wanted}; keeping the existing type`);
    }
    if (full && merged.missingMarkedDeleted > 0) {
      await state.recordEvent(trx, {
        pipeline: this.pipeline.name,
        jobId: args.jobRowId,
        kind: 'full-snapshot',
        message: `Zuora sent a full snapshot of ${b.objectConfig.name}; ${merged.missingMarkedDeleted} row(s) missing from it were marked deleted (${b.objectConfig.deletes})`,
      });
    }
    await dropStageTables(client, stages.map((s) => s.table));
    return {
      table: `${spec.schema}.${spec.table}`,
      object: spec.object,
      recordCount: b.batch.recordCount,
      upserted: merged.upserted,
      deleted: merged.deleted,
      missingMarkedDeleted: merged.missingMarkedDeleted,
      full,
    };
  }

  /** Pairs each batch of the job with its object config (query name = table name). */
  private mapBatches(zjob: AquaJob): LoadBatch[] {
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

  private async stageAll(jobRowId: number, batches: LoadBatch[]): Promise<void> {
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
    this.options.logger.info(`staged ${total} file(s)`);
  }

  private async stageOne(b: LoadBatch, fileId: string): Promise<string[]> {
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
        this.options.logger.warn(`download of ${fileId} failed (${errorMessage(error)}); retrying from the start of the file`, {
          attempt,
        });
        await sleep(Math.min(1000 * 2 ** (attempt - 1), 10_000));
      }
    }
    throw lastError;
  }

  async dropStages(fileIds: string[]): Promise<void> {
    const client = await this.ctx.warehouse.pool.connect();
    try {
      await dropStageTables(client, fileIds.map(stageTableName));
    } finally {
      client.release();
    }
  }

  private planFor(b: LoadBatch, header: string[]): TableSpec {
    return planTable({
      schema: this.ctx.schema,
      object: b.objectConfig,
      header,
      deletedColumn: DELETED_COLUMN,
      describe: (name) => this.described.get(name.toLowerCase()),
    });
  }

  private specFor(b: LoadBatch): TableSpec {
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
