// The per-tenant job budget: at most N AQuA jobs in flight per Zuora tenant across every aquasync process, as N
// session advisory locks. A slot is held on its own connection while a job is submitted and running, and vanishes
// with that connection, so a crashed process never keeps a slot.
import type pg from 'pg';
import { tryAdvisoryLock } from './advisory.ts';

/** Second advisory-lock class ('AQUB'), apart from the pipeline locks. */
export const JOB_SLOT_CLASS = 0x41515542;

export interface JobSlot {
  /** Which of the tenant's slots (0..budget-1) this is. */
  readonly slot: number;
  release(): Promise<void>;
}

/**
 * Takes a free slot of `tenant` without waiting; undefined when all `budget` slots are held. Slots are tried from
 * a random start so concurrent callers do not all queue on slot 0.
 */
export async function tryAcquireJobSlot(pool: pg.Pool, tenant: string, budget: number): Promise<JobSlot | undefined> {
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`job budget must be a positive integer, not ${budget}`);
  const start = Math.floor(Math.random() * budget);
  const order = Array.from({ length: budget }, (_, i) => (start + i) % budget);
  const held = await tryAdvisoryLock(pool, JOB_SLOT_CLASS, order.map((slot) => `${tenant}#${slot}`), `a job slot of ${tenant}`);
  if (!held) return undefined;
  return { slot: Number(held.key.slice(held.key.lastIndexOf('#') + 1)), release: () => held.lock.release() };
}

/** How many of the tenant's slots are held right now (by any session of this database), for status and tests. */
export async function heldJobSlots(pool: pg.Pool, tenant: string, budget: number): Promise<number> {
  const keys = Array.from({ length: budget }, (_, i) => `${tenant}#${i}`);
  const result = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::bigint::oid
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.objid = ANY (SELECT (hashtext(k)::bigint & 4294967295)::oid FROM unnest($2::text[]) AS k)`,
    [JOB_SLOT_CLASS, keys],
  );
  return result.rows[0]?.n ?? 0;
}
