// Stateful sessions (docs/aqua.md#sessions): which batches run full, and what a completed job leaves behind.
import type { AquaBatch, AquaJob, DeletedSpec, Session } from './types.ts';
import type { ZuoraReadings } from '../types.ts';

const DAY = 86_400_000;
const SESSION_IDLE_MS = 180 * DAY;

export const sessionKey = (partner: string, project: string): string => `${partner}\u0000${project}`;

/** The job's session key, or undefined for a stateless job. */
export function jobSessionKey(job: AquaJob): string | undefined {
  return job.mode === 'stateful' && job.partner !== null && job.project !== null
    ? sessionKey(job.partner, job.project)
    : undefined;
}

export const deletedKey = (d: DeletedSpec | undefined): string => (d === undefined ? '' : `${d.column}|${d.format}`);

/** Pure: does this batch run as a full load, given the session and the job's previous request time? */
export function decideFull(
  session: Pick<Session, 'queries'> | undefined,
  previousRequestAt: number | undefined,
  now: number,
  name: string,
  text: string,
  deleted: DeletedSpec | undefined,
): boolean {
  if (session === undefined || previousRequestAt === undefined) return true;
  if (now - previousRequestAt > SESSION_IDLE_MS) return true;
  const q = session.queries[name];
  return q === undefined || q.text !== text || q.deletedKey !== deletedKey(deleted);
}

/**
 * Decides, as the job starts, whether a batch is full and which rows it reads (docs/aqua.md#window,
 * docs/aqua.md#full-batches). `session` is the job's session, undefined for a stateless job.
 */
export function planBatch(
  job: AquaJob,
  b: AquaBatch,
  session: Session | undefined,
  now: number,
  readings: ZuoraReadings,
): void {
  b.status = 'executing';
  if (job.mode === 'stateless') {
    b.full = true;
    b.includeDeleted = b.deleted?.forceExport === true;
    return;
  }
  const actual = session?.lastCompletedJobId === undefined ? undefined : session;
  // Recomputed now that the jobs ahead are finished: a failed predecessor leaves its queries unregistered.
  b.full = decideFull(actual, job.previousRequestAt, job.submittedAt, b.name, b.query, b.deleted);
  // Older docs read incrementalTime 10:30:01 as "from 10:30:02"; the current ones as "from 10:30:01".
  const given =
    job.incrementalTime === undefined
      ? undefined
      : job.incrementalTime + (readings.incrementalTimeBoundary === 'exclusive' ? 1000 : 0);
  const until = now - job.offset * 1000;
  if (!b.full) {
    const since = given ?? session?.marker ?? Number.MIN_SAFE_INTEGER;
    b.window = { since, until };
    b.includeDeleted = b.deleted !== undefined;
  } else if (given !== undefined && readings.fullHonoursIncrementalTime) {
    // A full load (no deleted rows) of only the rows changed since incrementalTime: incomplete by design.
    b.window = { since: given, until };
  }
}

/** A completed stateful job moves its session forward: its queries become the session's queries. */
export function advanceSession(session: Session | undefined, job: AquaJob): Session {
  const next = session ?? { marker: undefined, lastRequestAt: job.submittedAt, queries: {}, lastCompletedJobId: undefined };
  for (const b of job.batches) next.queries[b.name] = { text: b.query, deletedKey: deletedKey(b.deleted) };
  // A job with incrementalTime reads a custom window but leaves the session marker where it was.
  if (job.incrementalTime === undefined) next.marker = job.startedAt;
  next.lastCompletedJobId = job.id;
  return next;
}
