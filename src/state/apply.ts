// The one transaction that makes a job's data visible: merges, watermark, job and file statuses commit together,
// so a reader sees all of a job or none of it.
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { withTransaction } from '../db/index.ts';
import { WarehouseError } from '../errors.ts';
import type { StateDatabase } from '../db/index.ts';
import type { ApplyResult } from './types.ts';

export interface ApplyJobInput {
  /** Row id in aquasync.jobs. */
  jobRowId: number;
  pipeline: string;
  /** Where the watermark goes once this job is in; undefined leaves it alone (backfills). Never moves it back. */
  newWatermark: Date | undefined;
  /** The run applying the job (it may be a later run resuming an earlier run's job). */
  runId?: number;
  /** Jobs applied in the same transaction (a snapshot job with its stateful job); they must be completed or staged. */
  companionJobRowIds?: readonly number[];
}

/** Thrown inside the transaction to roll back the watermark insert when the job turns out to be applied already. */
class AlreadyApplied {
  constructor(readonly watermark: Date | undefined) {}
}

export async function applyJob(
  pool: pg.Pool,
  input: ApplyJobInput,
  fn: (client: pg.PoolClient, db: Kysely<StateDatabase>) => Promise<number>,
): Promise<ApplyResult> {
  try {
    return await withTransaction(pool, async (client, db) => {
      // Lock the pipeline's watermark row first: concurrent applies of one pipeline queue here.
      if (input.newWatermark !== undefined) {
        await db
          .insertInto('aquasync.watermarks')
          .values({ pipeline: input.pipeline, watermark: input.newWatermark, job_id: null })
          .onConflict((oc) => oc.column('pipeline').doNothing())
          .execute();
      }
      const before = await db
        .selectFrom('aquasync.watermarks')
        .select('watermark')
        .where('pipeline', '=', input.pipeline)
        .forUpdate()
        .executeTakeFirst();
      const job = await db
        .selectFrom('aquasync.jobs')
        .select(['status', 'pipeline', 'zuora_job_id'])
        .where('id', '=', input.jobRowId)
        .forUpdate()
        .executeTakeFirst();
      if (!job) {
        throw new WarehouseError(`job ${input.jobRowId} does not exist in aquasync.jobs`, { hint: 'this is a bug: job ids come from createJob' });
      }
      if (job.pipeline !== input.pipeline) {
        throw new WarehouseError(`job ${input.jobRowId} belongs to pipeline "${job.pipeline}", not "${input.pipeline}"`, {
          hint: 'this is a bug in the caller',
        });
      }
      if (job.status === 'applied') throw new AlreadyApplied(before?.watermark);
      if (job.status !== 'completed' && job.status !== 'staged') {
        throw new WarehouseError(`job ${input.jobRowId} (Zuora ${job.zuora_job_id ?? 'not submitted'}) is "${job.status}" and cannot be applied`, {
          hint: 'only completed or staged jobs can be applied',
          context: { jobRowId: input.jobRowId, status: job.status },
        });
      }

      const companions = input.companionJobRowIds ?? [];
      if (companions.length > 0) {
        const ready = await db
          .selectFrom('aquasync.jobs')
          .select('id')
          .where('id', 'in', companions)
          .where('status', 'in', ['completed', 'staged'])
          .forUpdate()
          .execute();
        if (ready.length !== companions.length) {
          throw new WarehouseError(`jobs ${companions.join(', ')} applied with job ${input.jobRowId} are not all completed or staged`, {
            hint: 'this is a bug in the caller',
          });
        }
      }

      const rows = await fn(client, db);

      let watermark = before?.watermark;
      if (input.newWatermark !== undefined) {
        const updated = await db
          .updateTable('aquasync.watermarks')
          .set({
            watermark: sql<Date>`GREATEST(watermark, ${input.newWatermark}::timestamptz)`,
            job_id: job.zuora_job_id,
            updated_at: new Date(),
          })
          .where('pipeline', '=', input.pipeline)
          .returning('watermark')
          .executeTakeFirstOrThrow();
        watermark = updated.watermark;
      }
      const now = new Date();
      await db
        .updateTable('aquasync.jobs')
        .set({ status: 'applied', applied_at: now, updated_at: now, error: null })
        .where('id', 'in', [input.jobRowId, ...companions])
        .execute();
      await db
        .updateTable('aquasync.files')
        .set({ status: 'applied', applied_at: now })
        .where('job_id', 'in', [input.jobRowId, ...companions])
        .execute();
      if (input.runId !== undefined && job.zuora_job_id !== null) {
        await db
          .updateTable('aquasync.runs')
          .set({ job_id: job.zuora_job_id })
          .where('id', '=', input.runId)
          .where('job_id', 'is', null)
          .execute();
      }
      return { applied: true, rows, watermark };
    });
  } catch (error) {
    if (error instanceof AlreadyApplied) return { applied: false, rows: 0, watermark: error.watermark };
    throw error;
  }
}
