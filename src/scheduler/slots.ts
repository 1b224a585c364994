// Every statement on aquasync.schedule_slots (migrations/0002_scheduler.ts). Times that decide leases come from
// Postgres' clock (now()), so clock skew between replicas cannot make two of them believe they hold one lease.
import os from 'node:os';
import type pg from 'pg';
import { WarehouseError } from '../errors.ts';
import type { ClaimedSlot, SlotRecord, SlotStatus, SlotTrigger } from './types.ts';

type Queryable = Pick<pg.Pool, 'query'>;

interface SlotRow {
  pipeline: string;
  due_at: Date;
  trigger: SlotTrigger;
  status: SlotStatus;
  owner: string;
  attempts: number;
  lease_until: Date | null;
  claimed_at: Date;
  started_at: Date;
  heartbeat_at: Date | null;
  finished_at: Date | null;
  taken_over_from: string | null;
  run_ids: (number | string)[];
  rows_written: number | null;
  error: string | null;
}

function toSlot(row: SlotRow): SlotRecord {
  return {
    pipeline: row.pipeline,
    dueAt: row.due_at,
    trigger: row.trigger,
    status: row.status,
    owner: row.owner,
    attempts: row.attempts,
    leaseUntil: row.lease_until,
    claimedAt: row.claimed_at,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    finishedAt: row.finished_at,
    takenOverFrom: row.taken_over_from,
    runIds: row.run_ids.map(Number),
    rowsWritten: row.rows_written === null ? null : Number(row.rows_written),
    error: row.error,
  };
}

async function run<R extends pg.QueryResultRow>(db: Queryable, what: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(text, values);
  } catch (error) {
    throw new WarehouseError(`scheduler: cannot ${what}: ${(error as Error).message}`, {
      hint: 'check that the warehouse is reachable and migrated (aquasync migrate)',
      retryable: true,
      cause: error,
    });
  }
}

export type CronClaim =
  | { claimed: true }
  | { claimed: false; reason: 'taken' }
  | { claimed: false; reason: 'overlap'; runningSlot: Date; runningOwner: string };

/**
 * Claims the cron slot `dueAt` of `pipeline` for `owner`. Exactly one replica gets `claimed`: the primary key
 * admits one row per slot. When another slot of the pipeline is still running (the partial unique index admits one
 * running slot per pipeline), the slot is recorded as skipped instead, so every firing leaves one row.
 */
export async function claimCronSlot(
  db: Queryable,
  input: { pipeline: string; dueAt: Date; owner: string; leaseMs: number },
): Promise<CronClaim> {
  const inserted = await run(
    db,
    `claim slot ${input.dueAt.toISOString()} of ${input.pipeline}`,
    `INSERT INTO aquasync.schedule_slots (pipeline, due_at, trigger, status, owner, lease_until, heartbeat_at)
     VALUES ($1, $2, 'cron', 'running', $3, now() + $4 * interval '1 millisecond', now())
     ON CONFLICT DO NOTHING`,
    [input.pipeline, input.dueAt, input.owner, input.leaseMs],
  );
  if (inserted.rowCount === 1) return { claimed: true };

  const existing = await run<{ x: number }>(
    db,
    'read a slot',
    'SELECT 1 AS x FROM aquasync.schedule_slots WHERE pipeline = $1 AND due_at = $2',
    [input.pipeline, input.dueAt],
  );
  if (existing.rowCount) return { claimed: false, reason: 'taken' };

  const running = await run<{ due_at: Date; owner: string }>(
    db,
    'read the running slot',
    `SELECT due_at, owner FROM aquasync.schedule_slots WHERE pipeline = $1 AND status = 'running'`,
    [input.pipeline],
  );
  const busy = running.rows[0];
  const error = busy
    ? `skipped: slot ${busy.due_at.toISOString()} of this pipeline was still running on ${busy.owner}`
    : 'skipped: another slot of this pipeline was running when this one fired';
  const skipped = await run(
    db,
    'record a skipped slot',
    `INSERT INTO aquasync.schedule_slots (pipeline, due_at, trigger, status, owner, attempts, finished_at, error)
     VALUES ($1, $2, 'cron', 'skipped', $3, 0, now(), $4)
     ON CONFLICT DO NOTHING`,
    [input.pipeline, input.dueAt, input.owner, error],
  );
  if (skipped.rowCount === 0) return { claimed: false, reason: 'taken' };
  return busy
    ? { claimed: false, reason: 'overlap', runningSlot: busy.due_at, runningOwner: busy.owner }
    : { claimed: false, reason: 'overlap', runningSlot: input.dueAt, runningOwner: 'unknown' };
}

/**
 * Claims a `resume` slot at the current second + 0.5 s (cron slots are whole seconds, so the two never collide;
 * replicas starting in the same second collide with each other, which is the point) for a pipeline with an unfinished job, unless a slot of it is
 * already running (then that run resumes the job). Undefined when nothing was claimed.
 */
export async function claimResumeSlot(
  db: Queryable,
  input: { pipeline: string; owner: string; leaseMs: number },
): Promise<ClaimedSlot | undefined> {
  const result = await run<{ due_at: Date }>(
    db,
    `claim a resume slot of ${input.pipeline}`,
    `INSERT INTO aquasync.schedule_slots (pipeline, due_at, trigger, status, owner, lease_until, heartbeat_at)
     VALUES ($1, date_trunc('second', now()) + interval '500 milliseconds', 'resume', 'running', $2,
             now() + $3 * interval '1 millisecond', now())
     ON CONFLICT DO NOTHING
     RETURNING due_at`,
    [input.pipeline, input.owner, input.leaseMs],
  );
  const row = result.rows[0];
  return row ? { pipeline: input.pipeline, dueAt: row.due_at, trigger: 'resume', attempts: 1, takenOverFrom: undefined } : undefined;
}

/**
 * Takes over the oldest running slot (of `pipelines`) whose lease has expired: its replica stopped heartbeating,
 * so it is presumed dead. SKIP LOCKED keeps two sweeping replicas from taking the same slot.
 */
export async function takeOverExpiredSlot(
  db: Queryable,
  input: { pipelines: string[]; owner: string; leaseMs: number; maxAttempts: number },
): Promise<ClaimedSlot | undefined> {
  if (input.pipelines.length === 0) return undefined;
  const result = await run<{ pipeline: string; due_at: Date; trigger: SlotTrigger; attempts: number; taken_over_from: string }>(
    db,
    'take over an expired slot',
    `UPDATE aquasync.schedule_slots s
        SET owner = $2, taken_over_from = s.owner, attempts = s.attempts + 1, started_at = now(),
            lease_until = now() + $3 * interval '1 millisecond', heartbeat_at = now()
       FROM (SELECT pipeline, due_at FROM aquasync.schedule_slots
              WHERE status = 'running' AND lease_until < now() AND pipeline = ANY($1) AND attempts < $4
              ORDER BY due_at
              LIMIT 1
              FOR UPDATE SKIP LOCKED) expired
      WHERE s.pipeline = expired.pipeline AND s.due_at = expired.due_at
      RETURNING s.pipeline, s.due_at, s.trigger, s.attempts, s.taken_over_from`,
    [input.pipelines, input.owner, input.leaseMs, input.maxAttempts],
  );
  const row = result.rows[0];
  return row
    ? { pipeline: row.pipeline, dueAt: row.due_at, trigger: row.trigger, attempts: row.attempts, takenOverFrom: row.taken_over_from }
    : undefined;
}

/** Gives up slots whose lease expired after `maxAttempts` attempts (each replica running it died). */
export async function abandonExhaustedSlots(
  db: Queryable,
  input: { pipelines: string[]; maxAttempts: number },
): Promise<SlotRecord[]> {
  if (input.pipelines.length === 0) return [];
  const result = await run<SlotRow>(
    db,
    'abandon exhausted slots',
    `UPDATE aquasync.schedule_slots
        SET status = 'abandoned', finished_at = now(), lease_until = NULL,
            error = 'abandoned: ' || attempts || ' replica(s) in turn stopped heartbeating while running it; the next run resumes its job'
      WHERE status = 'running' AND lease_until < now() AND pipeline = ANY($1) AND attempts >= $2
      RETURNING *`,
    [input.pipelines, input.maxAttempts],
  );
  return result.rows.map(toSlot);
}

/**
 * Extends the lease of a slot this replica runs, and records the id of the aquasync.runs row its run created (found
 * by host and pid, as runPipeline writes them) so the ledger links each attempt to its run even if this process
 * dies. False when the slot is no longer ours (it was taken over): the caller must stop the run.
 */
export async function heartbeatSlot(
  db: Queryable,
  input: { pipeline: string; dueAt: Date; owner: string; leaseMs: number },
): Promise<boolean> {
  const result = await run(
    db,
    `extend the lease of ${input.pipeline}`,
    `UPDATE aquasync.schedule_slots s
        SET lease_until = now() + $4 * interval '1 millisecond', heartbeat_at = now(),
            run_ids = CASE WHEN r.id IS NULL OR r.id = ANY(s.run_ids) THEN s.run_ids ELSE s.run_ids || r.id END
       FROM (SELECT (SELECT id FROM aquasync.runs
                      WHERE pipeline = $1 AND status = 'running' AND host = $5 AND pid = $6
                      ORDER BY id DESC LIMIT 1) AS id) r
      WHERE s.pipeline = $1 AND s.due_at = $2 AND s.owner = $3 AND s.status = 'running'`,
    [input.pipeline, input.dueAt, input.owner, input.leaseMs, os.hostname(), process.pid],
  );
  return result.rowCount === 1;
}

/** Records a slot's outcome. False when another replica had taken the slot over meanwhile. */
export async function finishSlot(
  db: Queryable,
  input: {
    pipeline: string;
    dueAt: Date;
    owner: string;
    status: Exclude<SlotStatus, 'running'>;
    runId: number | undefined;
    rowsWritten: number;
    error: string | undefined;
  },
): Promise<boolean> {
  const result = await run(
    db,
    `record the outcome of ${input.pipeline}`,
    `UPDATE aquasync.schedule_slots
        SET status = $4, finished_at = now(), lease_until = NULL, rows_written = $6, error = $7,
            run_ids = CASE WHEN $5::bigint IS NULL OR $5::bigint = ANY(run_ids) THEN run_ids ELSE run_ids || $5::bigint END
      WHERE pipeline = $1 AND due_at = $2 AND owner = $3`,
    [input.pipeline, input.dueAt, input.owner, input.status, input.runId ?? null, input.rowsWritten, input.error ?? null],
  );
  return result.rowCount === 1;
}

/** Slots, newest first (for tests, metrics and people). */
export async function listSlots(db: Queryable, options: { pipeline?: string; limit?: number } = {}): Promise<SlotRecord[]> {
  const result = await run<SlotRow>(
    db,
    'list slots',
    `SELECT * FROM aquasync.schedule_slots WHERE ($1::text IS NULL OR pipeline = $1) ORDER BY due_at DESC, pipeline LIMIT $2`,
    [options.pipeline ?? null, options.limit ?? 1000],
  );
  return result.rows.map(toSlot);
}

export interface LastScheduledRuns {
  pipeline: string;
  lastSuccessAt: Date | undefined;
  lastFinished: { durationSeconds: number; rowsWritten: number | undefined } | undefined;
}

/** The last succeeded and the last finished run of each pipeline, on any replica (for /metrics). */
export async function lastScheduledRuns(db: Queryable, pipelines: string[]): Promise<LastScheduledRuns[]> {
  const result = await run<{ pipeline: string; last_success: Date | null; duration: number | null; rows_written: number | null }>(
    db,
    'read the last scheduled runs',
    `SELECT p.pipeline,
            (SELECT max(finished_at) FROM aquasync.schedule_slots
              WHERE pipeline = p.pipeline AND status = 'succeeded') AS last_success,
            f.duration, f.rows_written
       FROM unnest($1::text[]) AS p(pipeline)
       LEFT JOIN LATERAL (
         SELECT extract(epoch FROM finished_at - started_at)::float8 AS duration, rows_written
           FROM aquasync.schedule_slots s
          WHERE s.pipeline = p.pipeline AND s.status IN ('succeeded', 'failed', 'abandoned') AND s.finished_at IS NOT NULL
          ORDER BY s.finished_at DESC
          LIMIT 1) f ON true`,
    [pipelines],
  );
  return result.rows.map((r) => ({
    pipeline: r.pipeline,
    lastSuccessAt: r.last_success ?? undefined,
    lastFinished:
      r.duration === null ? undefined : { durationSeconds: r.duration, rowsWritten: r.rows_written === null ? undefined : Number(r.rows_written) },
  }));
}
