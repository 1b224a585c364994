// Jobs by row id and by kind: what backfill windows and the runs of each kind need beside the sync-only helpers.
import type { Kysely } from 'kysely';
import { UNFINISHED_JOB_STATUSES, withBatchesAndFiles } from './jobs.ts';
import { toRunRecord } from './records.ts';
import type { RunKind, StateDatabase } from '../db/index.ts';
import type { RunRecord, UnfinishedJob } from './types.ts';

/** The job with its batches and files, when it is still unfinished (submitting/submitted/completed/staged). */
export async function findUnfinishedJobById(db: Kysely<StateDatabase>, id: number): Promise<UnfinishedJob | undefined> {
  const job = await db
    .selectFrom('aquasync.jobs')
    .select('id')
    .where('id', '=', id)
    .where('status', 'in', UNFINISHED_JOB_STATUSES)
    .executeTakeFirst();
  if (!job) return undefined;
  return withBatchesAndFiles(db, job.id);
}

/**
 * Zuora rejected the submit (90028, concurrency limit) so no job exists for the key: give the row a fresh key,
 * because an idempotent server answers a reused key with the stored rejection.
 */
export async function renewIdempotencyKey(db: Kysely<StateDatabase>, id: number, idempotencyKey: string): Promise<void> {
  await db
    .updateTable('aquasync.jobs')
    .set({ idempotency_key: idempotencyKey, updated_at: new Date() })
    .where('id', '=', id)
    .where('zuora_job_id', 'is', null)
    .execute();
}

/** The pipeline's latest run of a kind (status shows the last backfill beside the last sync). */
export async function lastRunOfKind(db: Kysely<StateDatabase>, pipeline: string, kind: RunKind): Promise<RunRecord | undefined> {
  const row = await db
    .selectFrom('aquasync.runs')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('kind', '=', kind)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? toRunRecord(row) : undefined;
}
