// What `aquasync status` prints for a pipeline.
import type { Kysely } from 'kysely';
import { UNFINISHED_JOB_STATUSES } from './jobs.ts';
import { toJobRecord, toRunRecord } from './records.ts';
import type { StateDatabase } from '../db/index.ts';
import type { PipelineStatus } from './types.ts';
import { getWatermark } from './watermarks.ts';

export async function pipelineStatus(db: Kysely<StateDatabase>, pipeline: string): Promise<PipelineStatus> {
  const [watermark, lastRun, inflightJob] = await Promise.all([
    getWatermark(db, pipeline),
    db.selectFrom('aquasync.runs').selectAll().where('pipeline', '=', pipeline).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst(),
    db
      .selectFrom('aquasync.jobs')
      .selectAll()
      .where('pipeline', '=', pipeline)
      .where('status', 'in', UNFINISHED_JOB_STATUSES)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst(),
  ]);
  return {
    watermark,
    lastRun: lastRun ? toRunRecord(lastRun) : undefined,
    inflightJob: inflightJob ? toJobRecord(inflightJob) : undefined,
  };
}
