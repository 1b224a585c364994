// One run per pipeline at a time, across processes and hosts: a session advisory lock held on a dedicated
// connection for the whole run. It disappears with the connection, so a crashed process never leaves it behind.
import type pg from 'pg';
import { lockPoolFor } from '../db/index.ts';
import { WarehouseError } from '../errors.ts';

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
  const client = await lockPoolFor(pool).connect();
  let lost: Error | undefined;
  const onError = (error: Error): void => {
    lost = error;
    options.onLost?.(error);
  };
  client.on('error', onError);
  let locked: boolean;
  try {
    const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [PIPELINE_LOCK_CLASS, pipeline]);
    locked = result.rows[0]?.locked === true;
  } catch (error) {
    client.off('error', onError);
    client.release(error as Error);
    throw new WarehouseError(`cannot take the lock of pipeline "${pipeline}": ${(error as Error).message}`, {
      hint: 'check that the warehouse is reachable',
      retryable: true,
      cause: error,
    });
  }
  if (!locked) {
    client.off('error', onError);
    client.release();
    return undefined;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      client.off('error', onError);
      if (lost) {
        client.release(lost);
        return;
      }
      try {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [PIPELINE_LOCK_CLASS, pipeline]);
        client.release();
      } catch (error) {
        // Destroying the connection ends the session, which releases the lock anyway.
        client.release(error as Error);
      }
    },
  };
}
