// Loading completed AQuA jobs into the warehouse, for sync runs (a stateful job, maybe with its snapshot job) and
// backfill windows: stage every file (download, decode, clean, COPY; concurrently, with retries), check each
// batch's recordCount against what Postgres parsed, then apply every table of every job in one transaction.
//
// Staged rows are trusted only once proven present: a crash of the warehouse server empties the unlogged stage
// tables while the records saying "staged" survive. The apply transaction counts every stage table first; files
// whose rows are gone are staged again before anything is merged.
import { pipeline as pipe } from 'node:stream';
import type pg from 'pg';
import type { Kysely } from 'kysely';
import pLimit from 'p-limit';
import type { ObjectConfig, PipelineConfig } from '../config/types.ts';
import { AquasyncError, DataError, WarehouseError, ZuoraRejectedError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ZUORA_DELETED_COLUMN, parseZuoraTime, planTable } from '../plan/index.ts';
import type { TableSpec } from '../plan/types.ts';
import { batchFileIds, type AquaBatch, type AquaFormat, type AquaJob, type AquaJobRequest, type ObjectDescription, type ZuoraClient } from '../zuora/index.ts';
import { CsvSanitizer, decodeResultFile, readCsvHeader } from '../decode/index.ts';
import {
  adoptTypedStage,
  applyStaged,
  dropStageTables,
  dropTypedStages,
  stagedRowCounts,
  stageFile,
  tableExists,
  isTypedStageTable,
  typedStagePrefix,
  typedStageTable,
  TypedStageRefused,
  type StagedFile,
  type StagedFileOrigin,
} from '../load/index.ts';
import { kyselyForClient, type Warehouse } from '../db/index.ts';
import * as state from '../state/index.ts';
import type { CompletedJob } from './job-driver.ts';
import { sleep } from './submit.ts';
import type { TableResult } from './types.ts';

const FILE_ATTEMPTS = 4;
/** Rounds of "stage, prove, apply" before giving up on a warehouse that keeps losing staged rows. */
const PRESENCE_ROUNDS = 3;

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
  /** Test hook called once every file is staged, before the apply transaction. */
  onStaged?: (() => void) | undefined;
}

export interface LoadBatch {
  /** Query name = warehouse table. */
  name: string;
  /** The object's config with the query the job was submitted with (a resumed job keeps its own query). */
  objectConfig: ObjectConfig;
  batch: AquaBatch;
  files: string[];
  header: string[] | undefined;
  /** This round stages the batch typed (a complete snapshot for a table that does not exist yet); see decideStaging. */
  typed?: boolean;
}

/** A completed job about to be loaded. */
export interface JobToLoad {
  row: state.UnfinishedJob;
  zjob: AquaJob;
  /** The format the job was submitted with (not today's config). */
  format: AquaFormat;
  /** When Zuora took the job's snapshot (its start time): it dates deletions. */
  seenAt: Date;
  batches: LoadBatch[];
}

/** Per table: a complete snapshot among the jobs, whose missing rows are deleted. */
export interface SnapshotToApply {
  /** Index in the jobs list of the job holding the snapshot. */
  job: number;
  at: Date;
}

export interface ApplyPlan {
  runId: number;
  /** Where the pipeline's watermark goes; undefined leaves it (backfill windows). */
  newWatermark: Date | undefined;
  snapshots: ReadonlyMap<string, SnapshotToApply>;
  /** Runs inside the apply transaction after every merge (finish the run, mark the window loaded...). */
  finish: (db: Kysely<state.StateDatabase>, loaded: LoadTotals) => Promise<void>;
}

export interface LoadTotals {
  tables: TableResult[];
  rowsRead: number;
  rowsWritten: number;
  rowsQuarantined: number;
}

export interface LoadResult extends LoadTotals {
  /** False when the job had been applied already (by an earlier process). */
  applied: boolean;
  /** The pipeline's watermark after the apply transaction. */
  watermark: Date | undefined;
}

/** Loading one of the jobs failed; `job` tells which, so the caller can settle it. */
export class JobLoadFailure extends Error {
  constructor(
    readonly job: JobToLoad,
    readonly reason: unknown,
  ) {
    super(errorMessage(reason));
  }
}

/** Thrown inside the apply transaction when staged rows are gone; the files are staged again. */
class StagedRowsLost extends Error {
  constructor(readonly files: Map<number, string[]>) {
    super('staged rows vanished');
  }
}

/** Thrown inside the apply transaction when a typed stage cannot become its table; the batch is staged as text. */
class TypedStageUnusable extends Error {
  constructor(
    readonly job: JobToLoad,
    readonly batch: LoadBatch,
    readonly reason: TypedStageRefused,
  ) {
    super(reason.message);
  }
}

/** One per run: describe answers are cached for the run's lifetime, shared by all the jobs it loads. */
export class JobLoader {
  private readonly describeCache = new Map<string, Promise<ObjectDescription | undefined>>();
  private readonly described = new Map<string, ObjectDescription | undefined>();
  /** Batches (`<job row>:<name>`) the typed stage refused: they are staged as text from then on. */
  private readonly textOnly = new Set<string>();

  constructor(
    private readonly ctx: LoaderContext,
    private readonly pipeline: PipelineConfig,
    private readonly options: LoaderOptions,
  ) {}

  /** The object and table each batch of a job loads (for recording the job's batches). */
  targets(zjob: AquaJob, request: AquaJobRequest): state.BatchTarget[] {
    return zjob.batches.map((batch) => {
      const object = this.objectFor(zjob, batch, request);
      return { name: batch.name, object: object.name, tableName: object.table };
    });
  }

  prepare(done: CompletedJob): JobToLoad {
    const request = done.row.request as AquaJobRequest;
    const batches = done.zjob.batches.map((batch) => ({
      name: batch.name,
      objectConfig: this.objectFor(done.zjob, batch, request),
      batch,
      files: batchFileIds(batch),
      header: undefined,
    }));
    const start = done.zjob.startTime;
    return {
      row: done.row,
      zjob: done.zjob,
      format: request.format ?? this.pipeline.format,
      seenAt: start === undefined ? new Date() : parseZuoraTime(start, this.pipeline.source.dataCenter),
      batches,
    };
  }

  /** Stages what is not staged yet, proves every staged row is present, applies all jobs in one transaction. */
  async load(jobs: JobToLoad[], plan: ApplyPlan): Promise<LoadResult> {
    const parent = jobs[0];
    if (!parent) throw new Error('load needs at least one job');
    for (let round = 1; ; round++) {
      for (const job of jobs) {
        try {
          await this.stage(job, jobs);
        } catch (error) {
          throw new JobLoadFailure(job, error);
        }
      }
      this.options.onStaged?.();
      try {
        return await this.apply(jobs, plan);
      } catch (error) {
        if (error instanceof TypedStageUnusable) {
          await this.stageAsText(error.job, error.batch, error.reason);
          continue;
        }
        if (!(error instanceof StagedRowsLost)) throw error;
        if (round >= PRESENCE_ROUNDS) {
          throw new WarehouseError(`staged rows of job ${parent.zjob.id} vanished ${round} times in a row`, {
            hint: 'the warehouse server keeps restarting or something drops aquasync_stage tables; check the server log',
            retryable: true,
          });
        }
        await this.restage(jobs, error.files);
      }
    }
  }

  /**
   * Drops a job's stage tables: the files' own text stages, the typed stages recorded for them and, with `typed`,
   * every typed stage of the job (or of one of its tables), recorded or not (one is made before its first file
   * commits).
   */
  async dropStages(jobRowId: number, fileIds: string[], typed: 'job' | LoadBatch | 'recorded' = 'job'): Promise<void> {
    const recorded = await state.recordedStageTables(this.ctx.warehouse.db, fileIds);
    const client = await this.ctx.warehouse.pool.connect();
    try {
      await dropStageTables(client, [...new Set([...fileIds.map(stageTableName), ...recorded])]);
      if (typed === 'recorded') return;
      const table = typed === 'job' ? undefined : { schema: this.ctx.schema, table: typed.objectConfig.table };
      await dropTypedStages(client, typedStagePrefix(String(jobRowId), table));
    } finally {
      client.release();
    }
  }

  // ---- staging ----

  private async stage(job: JobToLoad, all: readonly JobToLoad[]): Promise<void> {
    const { db } = this.ctx.warehouse;
    for (const b of job.batches) {
      if (b.files.length === 0) {
        throw new DataError(`batch ${b.name} of job ${job.zjob.id} completed without any result file`, {
          hint: 'Zuora returned neither fileId nor segments; a new job will cover the window',
        });
      }
    }
    const staged = await state.stagedFiles(db, job.row.id);
    // Describe first: every staging task must be created in one go so none can reject before allSettled watches it.
    await Promise.all(job.batches.map((b) => this.describeFor(b.objectConfig)));
    for (const b of job.batches) b.typed = await this.decideStaging(job, b, all, staged);
    const limit = pLimit(this.pipeline.concurrency);
    const total = job.batches.reduce((n, b) => n + b.files.length, 0);
    let done = 0;
    // The first failure stops new downloads; the ones in flight finish (or fail) before the error is reported.
    let failedOnce = false;
    const refused = new Map<LoadBatch, TypedStageRefused>();
    const tasks: Promise<void>[] = [];
    for (const b of job.batches) {
      for (const fileId of b.files) {
        const known = staged.get(fileId);
        if (known?.header) {
          this.adoptHeader(job, b, known.header, fileId, all);
          done++;
          continue;
        }
        tasks.push(
          limit(async () => {
            if (failedOnce) return;
            const header = await this.stageOne(job, b, fileId).catch((error: unknown) => {
              // A refusal restages its batch as text: no point starting more files first.
              if (error instanceof TypedStageRefused) refused.set(b, error);
              failedOnce = true;
              throw error;
            });
            this.adoptHeader(job, b, header, fileId, all);
            done++;
            this.options.onFileStaged?.(done, total);
          }),
        );
      }
    }
    const settled = await Promise.allSettled(tasks);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !(s.reason instanceof TypedStageRefused));
    if (failed) throw failed.reason;
    if (refused.size > 0) {
      for (const [b, reason] of refused) await this.stageAsText(job, b, reason);
      return this.stage(job, all);
    }

    // The reported recordCount must match what Postgres parsed, or a file was truncated somewhere.
    const counts = await state.stagedFiles(db, job.row.id);
    for (const b of job.batches) {
      const rows = b.files.reduce((n, f) => n + (counts.get(f)?.rows ?? 0), 0);
      if (rows !== b.batch.recordCount) {
        throw new DataError(`${b.name}: Zuora reported ${b.batch.recordCount} row(s) but the result file(s) of job ${job.zjob.id} held ${rows}`, {
          hint: 'a new job will cover the window; if this persists, report the job id to Zuora support',
        });
      }
    }
    this.options.logger.info(`staged ${total} file(s) of job ${job.zjob.id}`);
  }

  /** Every file of a table (segments, and the snapshot job's files) must have the same header. */
  private adoptHeader(job: JobToLoad, b: LoadBatch, header: string[], fileId: string, all: readonly JobToLoad[]): void {
    const same = (a: readonly string[], other: readonly string[]): boolean => a.join('\u0000') === other.join('\u0000');
    const earlier = all.slice(0, all.indexOf(job)).flatMap((j) => j.batches.filter((x) => x.name === b.name && x.header));
    for (const other of earlier) {
      if (!same(other.header as string[], header)) {
        throw new DataError(`file ${fileId} of ${b.name} (job ${job.zjob.id}) has a different header than job ${all[0]?.zjob.id}'s files`);
      }
    }
    b.header ??= header;
    if (!same(b.header, header)) throw new DataError(`segment ${fileId} of ${b.name} has a different header than the other segments`);
  }

  private async stageOne(job: JobToLoad, b: LoadBatch, fileId: string): Promise<string[]> {
    const { pool, db } = this.ctx.warehouse;
    let lastError: unknown;
    for (let attempt = 1; attempt <= FILE_ATTEMPTS; attempt++) {
      try {
        const context = { fileId, object: b.objectConfig.name, tempDir: this.options.tempDir };
        const file = await this.ctx.client.openFile(fileId);
        const decoded = await decodeResultFile(file.body, job.format, context);
        const clean = new CsvSanitizer();
        pipe(decoded, clean, () => undefined); // a failure of either reaches the COPY through `clean`
        const { header, csv } = await readCsvHeader(clean, context);
        const spec = this.planFor(b, header); // validates the header before any row is copied
        const typed = b.typed === true ? typedStageTable(String(job.row.id), spec) : undefined;
        if (b.typed === true && typed === undefined) {
          csv.destroy();
          throw new TypedStageRefused(`${spec.schema}.${spec.table} has a zone-less timestamp column, which COPY cannot read as aquasync does`);
        }
        const stageTable = typed ?? stageTableName(fileId);
        await stageFile(pool, {
          stageTable,
          columnCount: header.length,
          typed: typed === undefined ? undefined : spec,
          csv,
          fileId,
          object: b.objectConfig.name,
          onStaged: (client, rows) => state.markFileStaged(kyselyForClient(client), fileId, { rows, stageTable, header }),
        });
        const { nulBytes, invalidUtf8 } = clean.report;
        if (nulBytes > 0 || invalidUtf8 > 0) {
          const message =
            `result file ${fileId} (${b.objectConfig.name}) held ${nulBytes} NUL byte(s) and ${invalidUtf8} invalid UTF-8 sequence(s): ` +
            'NUL bytes were removed and invalid sequences replaced by U+FFFD';
          this.options.logger.warn(message);
          await state.recordEvent(db, { pipeline: this.pipeline.name, jobId: job.row.id, kind: 'text-cleaned', message });
        }
        return header;
      } catch (error) {
        if (error instanceof TypedStageRefused) throw error;
        lastError = error;
        const retryable = error instanceof AquasyncError ? error.retryable : isNetworkError(error);
        if (!retryable || attempt === FILE_ATTEMPTS || this.options.signal?.aborted) break;
        this.options.logger.warn(`download of ${fileId} failed (${errorMessage(error)}); retrying from the start of the file`, {
          attempt,
        });
        await sleep(Math.min(1000 * 2 ** (attempt - 1), 10_000), this.options.signal);
      }
    }
    throw lastError;
  }

  /**
   * Stages a complete snapshot typed when the table does not exist yet (the first load at the COPY limit). Files a
   * crashed run staged keep the way they were staged in; a batch the typed stage refused stays text.
   */
  private async decideStaging(job: JobToLoad, b: LoadBatch, all: readonly JobToLoad[], staged: Map<string, state.FileRecord>): Promise<boolean> {
    if (this.textOnly.has(`${job.row.id}:${b.name}`)) return false;
    const earlier = b.files.map((f) => staged.get(f)?.stageTable).find((t) => t !== undefined);
    if (earlier !== undefined) return isTypedStageTable(earlier);
    // Several jobs' files (a snapshot with its stateful job) repeat keys by design: they are merged.
    const holders = all.filter((j) => j.batches.some((x) => x.name === b.name && x.files.length > 0));
    if (!b.batch.full || holders.length !== 1) return false;
    return !(await tableExists(this.ctx.warehouse.pool, { schema: this.ctx.schema, table: b.objectConfig.table }));
  }

  /** The typed stage refused the batch: its typed files are dropped and the batch is staged as text from now on. */
  private async stageAsText(job: JobToLoad, b: LoadBatch, reason: TypedStageRefused): Promise<void> {
    this.textOnly.add(`${job.row.id}:${b.name}`);
    const staged = await state.stagedFiles(this.ctx.warehouse.db, job.row.id);
    const typedFiles = b.files.filter((f) => isTypedStageTable(staged.get(f)?.stageTable ?? ''));
    await this.dropStages(job.row.id, typedFiles, b);
    await state.resetStagedFiles(this.ctx.warehouse.db, job.row.id, typedFiles);
    b.header = undefined;
    this.options.logger.info(`staging ${b.name} of job ${job.zjob.id} as text instead of typed: ${reason.message}`);
  }

  /** Files whose staged rows vanished go back to pending (their stage tables dropped) and are staged again. */
  private async restage(jobs: JobToLoad[], lost: Map<number, string[]>): Promise<void> {
    const { db } = this.ctx.warehouse;
    for (const [jobRowId, fileIds] of lost) {
      // Dropped before the records are reset: those name the typed stages.
      await this.dropStages(jobRowId, fileIds, 'recorded');
      await state.resetStagedFiles(db, jobRowId, fileIds);
      const message = `${fileIds.length} staged file(s) lost their rows (the warehouse server restarted?): staging them again`;
      this.options.logger.warn(message);
      await state.recordEvent(db, { pipeline: this.pipeline.name, jobId: jobRowId, kind: 'staged-rows-lost', message });
    }
    for (const job of jobs) for (const b of job.batches) b.header = undefined;
  }

  // ---- apply ----

  private async apply(jobs: JobToLoad[], plan: ApplyPlan): Promise<LoadResult> {
    const parent = jobs[0] as JobToLoad;
    const tables: TableResult[] = [];
    const applied = await state.applyJob(
      this.ctx.warehouse.pool,
      {
        jobRowId: parent.row.id,
        companionJobRowIds: jobs.slice(1).map((j) => j.row.id),
        pipeline: this.pipeline.name,
        newWatermark: plan.newWatermark,
        runId: plan.runId,
      },
      async (client, trx) => {
        await state.lockSchemaForApply(client, this.ctx.schema);
        await this.provePresent(client, trx, jobs);
        for (const b of parent.batches) tables.push(await this.applyTable(client, trx, jobs, b.name, plan));
        const totals = sumTables(tables);
        await plan.finish(trx, totals);
        // The rows are in the warehouse tables now; the stage tables go with the same commit.
        await dropStageTables(client, jobs.flatMap((j) => j.batches.flatMap((b) => b.files.map(stageTableName))));
        return totals.rowsRead;
      },
    );
    return { ...sumTables(tables), applied: applied.applied, watermark: applied.watermark };
  }

  /**
   * Every stage table must still hold the rows recorded when its file was staged, and every file must be staged
   * where this round expects it (its own text stage, or its table's typed stage under today's column types). One
   * rule for both: a stage table must hold the sum of the rows recorded for the files it should hold, or all of
   * them are staged again (a text stage holds one file, a typed stage all of its table's).
   */
  private async provePresent(client: pg.PoolClient, trx: Kysely<state.StateDatabase>, jobs: JobToLoad[]): Promise<void> {
    const lost = new Map<number, string[]>();
    for (const job of jobs) {
      const recorded = await state.stagedFiles(trx, job.row.id);
      const byStage = new Map<string, string[]>();
      for (const b of job.batches) {
        for (const f of b.files) {
          const table = this.stageTableOf(job, b, f);
          const files = byStage.get(table);
          if (files === undefined) byStage.set(table, [f]);
          else files.push(f);
        }
      }
      const present = await stagedRowCounts(client, [...byStage.keys()]);
      const gone = [...byStage].flatMap(([table, files]) => {
        const misplaced = files.some((f) => recorded.get(f)?.stageTable !== table);
        const rows = files.reduce((n, f) => n + (recorded.get(f)?.rows ?? 0), 0);
        return misplaced || present.get(table) !== rows ? files : [];
      });
      if (gone.length > 0) lost.set(job.row.id, gone);
    }
    if (lost.size > 0) throw new StagedRowsLost(lost);
  }

  private stageTableOf(job: JobToLoad, b: LoadBatch, fileId: string): string {
    if (b.typed !== true) return stageTableName(fileId);
    return typedStageTable(String(job.row.id), this.specFor(b)) ?? stageTableName(fileId);
  }

  private async applyTable(
    client: pg.PoolClient,
    trx: Kysely<state.StateDatabase>,
    jobs: JobToLoad[],
    table: string,
    plan: ApplyPlan,
  ): Promise<TableResult> {
    const parent = jobs[0] as JobToLoad;
    const first = parent.batches.find((b) => b.name === table) as LoadBatch;
    const spec = this.specFor(first);
    const stages: StagedFile[] = [];
    const origins = new Map<string, StagedFileOrigin>();
    const byJob: string[][] = [];
    let rowsRead = 0;
    let complete = true;
    for (const job of jobs) {
      const tablesOfJob: string[] = [];
      for (const b of job.batches.filter((x) => x.name === table)) {
        rowsRead += b.batch.recordCount;
        complete &&= b.batch.full;
        for (const fileId of b.files) {
          const stage = stageTableName(fileId);
          stages.push({ table: stage, ordinal: stages.length, seenAt: job.seenAt });
          origins.set(stage, { fileId, jobId: job.zjob.id });
          tablesOfJob.push(stage);
        }
      }
      byJob.push(tablesOfJob);
    }
    const snapshot = plan.snapshots.get(table);
    // One complete snapshot holds each key once (segments included): a new or empty table may skip the
    // de-duplicating sort. Several jobs' files (a snapshot with its stateful job) repeat keys by design.
    const keysLikelyDistinct = complete && byJob.filter((t) => t.length > 0).length === 1;
    const typed = jobs.flatMap((job) => job.batches.filter((b) => b.name === table && b.typed === true).map((batch) => ({ job, batch })))[0];
    let merged: Awaited<ReturnType<typeof applyStaged>>;
    if (typed !== undefined) {
      try {
        merged = await adoptTypedStage(client, spec, {
          stageTable: this.stageTableOf(typed.job, typed.batch, typed.batch.files[0] ?? ''),
          rows: rowsRead,
          jobId: parent.zjob.id,
          seenAt: typed.job.seenAt,
        });
      } catch (error) {
        if (error instanceof TypedStageRefused) throw new TypedStageUnusable(typed.job, typed.batch, error);
        throw error;
      }
    } else {
      merged = await applyStaged(client, spec, {
        stages,
        jobId: parent.zjob.id,
        keysLikelyDistinct,
        snapshot: snapshot === undefined ? undefined : { tables: byJob[snapshot.job] ?? [], at: snapshot.at },
        quarantine: { pipeline: this.pipeline.name, columnCount: (first.header as string[]).length, origins },
      });
    }
    const name = `${spec.schema}.${spec.table}`;
    const log = this.options.logger;
    if (merged.table.addedColumns.length > 0) log.info(`added column(s) ${merged.table.addedColumns.join(', ')} to ${name}`);
    for (const m of merged.table.retypedColumns) log.info(`changed ${name}.${m.column} from ${m.existing} to ${m.wanted} as its types: override asks`);
    for (const m of merged.table.typeMismatches) {
      log.warn(`${name}.${m.column} is ${m.existing} but Zuora describes it as ${m.wanted}; keeping (and casting to) the existing type`);
    }
    if (merged.repeatedKeys) {
      // Not a fault: the rows were de-duplicated as always, only more slowly. Worth knowing on a large first load.
      log.info(`a key came more than once in the complete snapshot of ${spec.object}; ${name} was loaded with the de-duplicating sort`);
    }
    if (merged.quarantined > 0) {
      const message =
        `${merged.quarantined} row(s) of ${spec.object} could not be loaded into ${name} and were quarantined in aquasync.rejected_rows ` +
        '(fix the types: override or the data, then `aquasync backfill` their window)';
      log.warn(message);
      await state.recordEvent(trx, { pipeline: this.pipeline.name, jobId: parent.row.id, kind: 'rows-quarantined', message });
    }
    if (snapshot !== undefined && merged.missingMarkedDeleted > 0) {
      await state.recordEvent(trx, {
        pipeline: this.pipeline.name,
        jobId: parent.row.id,
        kind: 'full-snapshot',
        message: `a complete snapshot of ${spec.object} showed ${merged.missingMarkedDeleted} row(s) no longer in Zuora; they were deleted (${spec.deletes})`,
      });
    }
    return {
      table: name,
      object: spec.object,
      recordCount: rowsRead,
      upserted: merged.upserted,
      deleted: merged.deleted,
      missingMarkedDeleted: merged.missingMarkedDeleted,
      quarantined: merged.quarantined,
      full: first.batch.full,
      snapshot: snapshot !== undefined,
      load: merged.load,
    };
  }

  // ---- planning ----

  /**
   * The object a batch loads, with the query the job was submitted with: a job resumed after the config changed
   * is checked and loaded against what it asked Zuora for.
   */
  private objectFor(zjob: AquaJob, batch: AquaBatch, request: AquaJobRequest): ObjectConfig {
    const configured = this.pipeline.objects.find((o) => o.table === batch.name);
    if (!configured) {
      throw new DataError(`job ${zjob.id} has a batch "${batch.name}" that pipeline ${this.pipeline.name} no longer has`, {
        hint: 'the pipeline configuration changed while the job ran; a new job will run with the new configuration',
      });
    }
    const submitted = request.queries.find((q) => q.name === batch.name)?.query;
    return submitted === undefined ? configured : { ...configured, fields: undefined, query: submitted };
  }

  private planFor(b: LoadBatch, header: string[]): TableSpec {
    return planTable({
      schema: this.ctx.schema,
      object: b.objectConfig,
      header,
      deletedColumn: ZUORA_DELETED_COLUMN,
      describe: (name) => this.described.get(name.toLowerCase()),
    });
  }

  private specFor(b: LoadBatch): TableSpec {
    if (!b.header) throw new DataError(`no header recorded for ${b.name}`);
    return this.planFor(b, b.header);
  }

  /** Describes the object and every relationship its query uses, once per run. */
  private async describeFor(object: ObjectConfig): Promise<void> {
    const related = new Set<string>();
    for (const field of object.fields ?? selectedFields(object.query)) {
      const dot = field.indexOf('.');
      if (dot > 0) related.add(field.slice(0, dot));
    }
    await Promise.all([object.name, ...related].map((name) => this.describe(name)));
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

/** Field references of a query's select list (`Invoice.Id`...), for describing joined objects. */
function selectedFields(query: string | undefined): string[] {
  const list = /^\s*select\s+([\s\S]*?)\s+from\s/i.exec(query ?? '')?.[1] ?? '';
  return list.split(',').map((f) => f.trim()).filter((f) => /^[A-Za-z]\w*\.[A-Za-z]\w*$/.test(f));
}

function sumTables(tables: TableResult[]): LoadTotals {
  return {
    tables,
    rowsRead: tables.reduce((n, t) => n + t.recordCount, 0),
    rowsWritten: tables.reduce((n, t) => n + t.upserted + t.deleted + t.missingMarkedDeleted, 0),
    rowsQuarantined: tables.reduce((n, t) => n + t.quarantined, 0),
  };
}

export function stageTableName(fileId: string): string {
  return `s_${fileId.replace(/[^a-zA-Z0-9_]/g, '_').toLowerCase()}`;
}

function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_.*)$/.test(code);
}
