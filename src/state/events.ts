// A free-form, append-only log of notable things per pipeline (retries, expired files, resumed jobs...).
import type { Kysely } from 'kysely';
import { toJson } from './records.ts';
import type { StateDatabase } from '../db/index.ts';
import { storedText } from '../text.ts';

export interface EventInput {
  pipeline: string;
  /** Row id in aquasync.jobs, when the event concerns a job. */
  jobId?: number;
  kind: string;
  message: string;
  details?: unknown;
}

export async function recordEvent(db: Kysely<StateDatabase>, event: EventInput): Promise<number> {
  const row = await db
    .insertInto('aquasync.events')
    .values({
      pipeline: event.pipeline,
      job_id: event.jobId ?? null,
      kind: event.kind,
      message: storedText(event.message),
      details: event.details === undefined ? null : toJson(event.details),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
