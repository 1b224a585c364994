// One run per pipeline at a time, across processes and hosts: a session advisory lock held on a dedicated
// connection for the whole run. It disappears with the connection, so a crashed process never leaves it behind.
import type pg from 'pg';
import { tryAdvisoryLock } from './advisory.ts';

/** First key of the two-key advisory lock space ('AQUA'), so our locks do not collide with other applications'. */
export const PIPELINE_LOCK_CLASS = 0x41515541;

export interface PipelineLock {
  release(): Promise<void>;
}

export interface PipelineLockOptions {
  /** Called when the lock's connection dies while held: the run no longer has exclusivity and should stop. */
  onLost?: (error: Error) => void;
}

/**
 * Takes the pipeline's lock without waiting. Undefined when another session holds it. Pipelines are told apart by
 * hashtext(name); two names with the same hash would merely serialise each other.
 */
export async function acquirePipelineLock(
  pool: pg.Pool,
  pipeline: string,
  options: PipelineLockOptions = {},
): Promise<PipelineLock | undefined> {
  const held = await tryAdvisoryLock(pool, PIPELINE_LOCK_CLASS, [pipeline], `the lock of pipeline "${pipeline}"`, options.onLost);
  return held?.lock;
}

/**
 * The lock key one backfill of a pipeline holds at a time, apart from the sync's (a backfill and a sync may run
 * together: the merge's UpdatedDate guard keeps the newer row). reconcile --apply takes both.
 */
export function backfillLockName(pipeline: string): string {
  return `${pipeline}#backfill`;
}
