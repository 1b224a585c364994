// AQuA jobs as aquasync tracks them: created before submit (so a crash after Zuora accepted it is recoverable by
// idempotency key), then submitted, completed (batches and files recorded before any download), staged, applied.
import type { Kysely } from 'kysely';
import { WarehouseError, ZuoraProtocolError } from '../errors.ts';
import { batchFileIds, type AquaJob } from '../zuora/types.ts';
import { toBatchRecord, toFileRecord, toJobRecord, toJson } from './records.ts';
import type { JobKind, JobStatus, StateDatabase } from '../db/index.ts';
import type { BatchTarget, FileRecord, UnfinishedJob } from './types.ts';

export const UNFINISHED_JOB_STATUSES: readonly JobStatus[] = ['submitting', 'submitted', 'completed', 'staged'];

export interface CreateJobInput {
  pipeline: string;
  runId: number | undefined;
  kind: JobKind;
  idempotencyKey: string;
  /** The request body, already redacted by the caller. */
  request: unknown;
  incrementalTime: string | undefined;
  windowFrom: Date | undefined;
  windowTo?: Date | undefined;
  /** For a snapshot job: the stateful job it is applied with. */
  parentJobId?: number | undefined;
}

/**
 * Records a job about to be submitted (status `submitting`) and returns its row id. If the idempotency key was
 * already used (a crash between this insert and the submit), the existing row's id is returned.
 */
export async function createJob(db: Kysely<StateDatabase>, input: CreateJobInput): Promise<number> {
  const inserted = await db
    .insertInto('aquasync.jobs')
    .values({
      pipeline: input.pipeline,
      run_id: input.runId ?? null,
      kind: input.kind,
      status: 'submitting',
      idempotency_key: input.idempotencyKey,
      request: toJson(input.request),
      incremental_time: input.incrementalTime ?? null,
      window_from: input.windowFrom ?? null,
      window_to: input.windowTo ?? null,
      parent_job_id: input.parentJobId ?? null,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return inserted.id;
  const existing = await db
    .selectFrom('aquasync.jobs')
    .select(['id', 'pipeline'])
    .where('idempotency_key', '=', input.idempotencyKey)
    .executeTakeFirstOrThrow();
  if (existing.pipeline !== input.pipeline) {
    throw new WarehouseError(
      `idempotency key "${input.idempotencyKey}" already belongs to a job of pipeline "${existing.pipeline}", not "${input.pipeline}"`,
      { hint: 'this is a bug: idempotency keys must include the pipeline name' },
    );
  }
  return existing.id;
}

async function requireJob(db: Kysely<StateDatabase>, id: number): Promise<{ status: JobStatus; run_id: number | null }> {
  const job = await db.selectFrom('aquasync.jobs').select(['status', 'run_id']).where('id', '=', id).executeTakeFirst();
  if (!job) throw new WarehouseError(`job ${id} does not exist in aquasync.jobs`, { hint: 'this is a bug: job ids come from createJob' });
  return job;
}

/** Zuora accepted the job: store its id. Idempotent; a job already past `submitting` keeps its status. */
export async function markJobSubmitted(db: Kysely<StateDatabase>, id: number, zuoraJobId: string): Promise<void> {
  const job = await requireJob(db, id);
  await db
    .updateTable('aquasync.jobs')
    .set((eb) => ({
      zuora_job_id: zuoraJobId,
      status: job.status === 'submitting' ? 'submitted' : job.status,
      submitted_at: eb.fn.coalesce('submitted_at', eb.val(new Date())),
      updated_at: new Date(),
    }))
    .where('id', '=', id)
    .execute();
  if (job.run_id !== null) {
    await db.updateTable('aquasync.runs').set({ job_id: zuoraJobId }).where('id', '=', job.run_id).execute();
  }
}

async function inTransaction<T>(db: Kysely<StateDatabase>, fn: (trx: Kysely<StateDatabase>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/**
 * Records a completed job's batches and their result files (one row per file id, `ordinal` = position in
 * segments[]), all `pending`, before anything is downloaded, so a crash mid-download resumes from these rows.
 * Idempotent: recording the same job again changes nothing already staged or applied.
 */
export async function recordJobCompleted(
  db: Kysely<StateDatabase>,
  id: number,
  job: AquaJob,
  targets: readonly BatchTarget[],
): Promise<void> {
  const byName = new Map(targets.map((t) => [t.name, t]));
  for (const batch of job.batches) {
    if (!byName.has(batch.name)) {
      throw new ZuoraProtocolError(`AQuA job ${job.id} returned batch "${batch.name}", which the job did not ask for`, {
        context: { jobId: job.id, batch: batch.name, expected: targets.map((t) => t.name).join(', ') },
      });
    }
  }
  await inTransaction(db, async (trx) => {
    const current = await requireJob(trx, id);
    await trx
      .updateTable('aquasync.jobs')
      .set((eb) => ({
        status: current.status === 'submitting' || current.status === 'submitted' ? 'completed' : current.status,
        zuora_job_id: eb.fn.coalesce('zuora_job_id', eb.val(job.id)),
        zuora_status: job.status,
        start_time: job.startTime ?? null,
        offset_seconds: job.offset ?? null,
        completed_at: eb.fn.coalesce('completed_at', eb.val(new Date())),
        updated_at: new Date(),
      }))
      .where('id', '=', id)
      .execute();
    for (const batch of job.batches) {
      const target = byName.get(batch.name) as BatchTarget;
      await trx
        .insertInto('aquasync.batches')
        .values({
          job_id: id,
          name: batch.name,
          object: target.object,
          table_name: target.tableName,
          batch_id: batch.batchId,
          full: batch.full,
          record_count: batch.recordCount,
          status: batch.status,
        })
        .onConflict((oc) =>
          oc.columns(['job_id', 'name']).doUpdateSet((eb) => ({
            batch_id: eb.ref('excluded.batch_id'),
            full: eb.ref('excluded.full'),
            record_count: eb.ref('excluded.record_count'),
            status: eb.ref('excluded.status'),
          })),
        )
        .execute();
      const fileIds = batchFileIds(batch);
      if (fileIds.length === 0) continue;
      await trx
        .insertInto('aquasync.files')
        .values(fileIds.map((fileId, ordinal) => ({ file_id: fileId, job_id: id, batch_name: batch.name, ordinal, status: 'pending' as const })))
        .onConflict((oc) => oc.column('file_id').doNothing())
        .execute();
    }
  });
}

/** The latest job of the pipeline still to be finished (submitting/submitted/completed/staged), with its batches and files. */
export async function findUnfinishedJob(
  db: Kysely<StateDatabase>,
  pipeline: string,
  kind: JobKind = 'sync',
): Promise<UnfinishedJob | undefined> {
  const job = await db
    .selectFrom('aquasync.jobs')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('kind', '=', kind)
    .where('status', 'in', UNFINISHED_JOB_STATUSES)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!job) return undefined;
  return withBatchesAndFiles(db, job.id);
}

/** The job row with its batches and files. */
export async function withBatchesAndFiles(db: Kysely<StateDatabase>, id: number): Promise<UnfinishedJob | undefined> {
  const [job, batches, files] = await Promise.all([
    db.selectFrom('aquasync.jobs').selectAll().where('id', '=', id).executeTakeFirst(),
    db.selectFrom('aquasync.batches').selectAll().where('job_id', '=', id).orderBy('name').execute(),
    db.selectFrom('aquasync.files').selectAll().where('job_id', '=', id).orderBy('batch_name').orderBy('ordinal').execute(),
  ]);
  if (!job) return undefined;
  return { ...toJobRecord(job), batches: batches.map(toBatchRecord), files: files.map(toFileRecord) };
}

/** Unfinished jobs of a kind for the pipeline, except `keep` (row ids). */
export async function unfinishedJobsOfKind(
  db: Kysely<StateDatabase>,
  pipeline: string,
  kind: JobKind,
  keep: readonly number[],
): Promise<{ id: number; zuoraJobId: string | undefined }[]> {
  let query = db.selectFrom('aquasync.jobs').select(['id', 'zuora_job_id']).where('pipeline', '=', pipeline).where('kind', '=', kind).where('status', 'in', UNFINISHED_JOB_STATUSES);
  if (keep.length > 0) query = query.where('id', 'not in', keep);
  const rows = await query.execute();
  return rows.map((r) => ({ id: r.id, zuoraJobId: r.zuora_job_id ?? undefined }));
}

/** The unfinished snapshot job applied with stateful job `parentId`, if any. */
export async function findUnfinishedChildJob(db: Kysely<StateDatabase>, parentId: number): Promise<UnfinishedJob | undefined> {
  const job = await db
    .selectFrom('aquasync.jobs')
    .select('id')
    .where('parent_job_id', '=', parentId)
    .where('status', 'in', UNFINISHED_JOB_STATUSES)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return job ? withBatchesAndFiles(db, job.id) : undefined;
}

/** A file's rows are in its stage table. Call it inside the staging transaction so both commit together. */
export async function markFileStaged(
  db: Kysely<StateDatabase>,
  fileId: string,
  staged: { rows: number; stageTable: string; header?: readonly string[] },
): Promise<void> {
  const result = await db
    .updateTable('aquasync.files')
    .set({
      status: 'staged',
      rows: staged.rows,
      stage_table: staged.stageTable,
      header: staged.header === undefined ? null : toJson(staged.header),
      staged_at: new Date(),
    })
    .where('file_id', '=', fileId)
    .where('status', '!=', 'applied')
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) {
    const file = await db.selectFrom('aquasync.files').select('status').where('file_id', '=', fileId).executeTakeFirst();
    throw new WarehouseError(
      file ? `result file ${fileId} is already applied; it cannot be staged again` : `result file ${fileId} is not recorded in aquasync.files`,
      { hint: 'this is a bug: stage only files returned by findUnfinishedJob that are not applied', context: { fileId } },
    );
  }
}

/**
 * Sets a job's status (`staged`, `failed`, `expired`, `abandoned`...) with an optional error text. An applied
 * job is final: use applyJob to apply, and nothing moves a job out of `applied`.
 */
export async function markJobStatus(db: Kysely<StateDatabase>, id: number, status: JobStatus, error?: string): Promise<void> {
  const current = await requireJob(db, id);
  if (current.status === 'applied' && status !== 'applied') {
    throw new WarehouseError(`job ${id} is already applied; it cannot become "${status}"`, { hint: 'this is a bug in the caller' });
  }
  if (status === 'applied' && current.status !== 'applied') {
    throw new WarehouseError(`job ${id} can only be marked applied by applyJob`, { hint: 'this is a bug in the caller' });
  }
  await db
    .updateTable('aquasync.jobs')
    .set({ status, updated_at: new Date(), ...(error === undefined ? {} : { error }) })
    .where('id', '=', id)
    .execute();
}

/** The job's files keyed by file id (status, rows, header), to skip files a crashed run already staged. */
export async function stagedFiles(db: Kysely<StateDatabase>, jobRowId: number): Promise<Map<string, FileRecord>> {
  const rows = await db
    .selectFrom('aquasync.files')
    .selectAll()
    .where('job_id', '=', jobRowId)
    .where('status', '=', 'staged')
    .execute();
  return new Map(rows.map((row) => [row.file_id, toFileRecord(row)]));
}

/** The stage tables recorded for these files (a typed stage is shared by the files of one job's table). */
export async function recordedStageTables(db: Kysely<StateDatabase>, fileIds: readonly string[]): Promise<string[]> {
  if (fileIds.length === 0) return [];
  const rows = await db
    .selectFrom('aquasync.files')
    .select('stage_table')
    .distinct()
    .where('file_id', 'in', fileIds)
    .where('stage_table', 'is not', null)
    .execute();
  return rows.map((r) => r.stage_table as string);
}

/** Puts staged (not applied) files back to pending, e.g. when their row counts did not add up. Returns how many. */
export async function resetStagedFiles(db: Kysely<StateDatabase>, jobRowId: number, fileIds: readonly string[]): Promise<number> {
  if (fileIds.length === 0) return 0;
  const result = await db
    .updateTable('aquasync.files')
    .set({ status: 'pending', rows: null, stage_table: null, header: null, staged_at: null })
    .where('job_id', '=', jobRowId)
    .where('file_id', 'in', fileIds)
    .where('status', '=', 'staged')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
