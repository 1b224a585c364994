// Session-level advisory locks held on a connection of their own (from the lock pool) for as long as a run or a
// job needs them. They vanish with the connection, so a crashed process never leaves one behind.
import type pg from 'pg';
import { lockPoolFor } from '../db/index.ts';
import { WarehouseError } from '../errors.ts';

export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes the first of `keys` that is free in lock class `lockClass`, without waiting. Undefined when all are held.
 * `onLost` is called if the connection dies while the lock is held (the holder no longer has exclusivity).
 */
export async function tryAdvisoryLock(
  pool: pg.Pool,
  lockClass: number,
  keys: readonly string[],
  what: string,
  onLost?: (error: Error) => void,
): Promise<{ key: string; lock: HeldLock } | undefined> {
  const unreachable = (error: unknown): WarehouseError =>
    new WarehouseError(`cannot take ${what}: ${(error as Error).message}`, {
      hint: 'check that the warehouse is reachable',
      retryable: true,
      cause: error,
    });
  let client: pg.PoolClient;
  try {
    client = await lockPoolFor(pool).connect();
  } catch (error) {
    throw unreachable(error);
  }
  let lost: Error | undefined;
  const onError = (error: Error): void => {
    lost = error;
    onLost?.(error);
  };
  client.on('error', onError);
  let taken: string | undefined;
  try {
    for (const key of keys) {
      const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [lockClass, key]);
      if (result.rows[0]?.locked === true) {
        taken = key;
        break;
      }
    }
  } catch (error) {
    client.off('error', onError);
    client.release(error as Error);
    throw unreachable(error);
  }
  if (taken === undefined) {
    client.off('error', onError);
    client.release();
    return undefined;
  }
  const key = taken;
  let released = false;
  return {
    key,
    lock: {
      async release() {
        if (released) return;
        released = true;
        client.off('error', onError);
        if (lost) {
          client.release(lost);
          return;
        }
        try {
          await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [lockClass, key]);
          client.release();
        } catch (error) {
          // Destroying the connection ends the session, which releases the lock anyway.
          client.release(error as Error);
        }
      },
    },
  };
}
