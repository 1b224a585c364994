// The per-tenant job budget: at most N AQuA jobs in flight per Zuora tenant across every aquasync process, as N
// session advisory locks, one per permit. A permit is held on its own connection while a job is submitted and
// running, and vanishes with that connection, so a crashed process never keeps one. (Not to be confused with a
// scheduler slot, which is one cron firing.)
import type pg from 'pg';
import { tryAdvisoryLock } from './advisory.ts';

/** Second advisory-lock class ('AQUB'), apart from the pipeline locks. */
export const JOB_PERMIT_CLASS = 0x41515542;

export interface JobPermit {
  /** Which of the tenant's permits (0..budget-1) this is. */
  readonly permit: number;
  release(): Promise<void>;
}

/**
 * Takes a free permit of `tenant` without waiting; undefined when all `budget` permits are held. Permits are tried
 * from a random start so concurrent callers do not all queue on permit 0.
 */
export async function tryAcquireJobPermit(pool: pg.Pool, tenant: string, budget: number): Promise<JobPermit | undefined> {
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`job budget must be a positive integer, not ${budget}`);
  const start = Math.floor(Math.random() * budget);
  const order = Array.from({ length: budget }, (_, i) => (start + i) % budget);
  const held = await tryAdvisoryLock(pool, JOB_PERMIT_CLASS, order.map((n) => `${tenant}#${n}`), `a job permit of ${tenant}`);
  if (!held) return undefined;
  return { permit: Number(held.key.slice(held.key.lastIndexOf('#') + 1)), release: () => held.lock.release() };
}

/** How many of the tenant's permits are held right now (by any session of this database), for status and tests. */
export async function heldJobPermits(pool: pg.Pool, tenant: string, budget: number): Promise<number> {
  const keys = Array.from({ length: budget }, (_, i) => `${tenant}#${i}`);
  const result = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::bigint::oid
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.objid = ANY (SELECT (hashtext(k)::bigint & 4294967295)::oid FROM unnest($2::text[]) AS k)`,
    [JOB_PERMIT_CLASS, keys],
  );
  return result.rows[0]?.n ?? 0;
}
