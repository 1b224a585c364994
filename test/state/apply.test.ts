// applyJob: all of a job or none of it, idempotent, serialised per pipeline, and a watermark that never goes back.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../src/db/index.ts';
import { WarehouseError } from '../../src/errors.ts';
import {
  applyJob,
  createJob,
  findUnfinishedJob,
  getWatermark,
  markJobSubmitted,
  recordJobCompleted,
} from '../../src/state/index.ts';
import { openTestWarehouse } from '../helpers/db.ts';

let w: Warehouse;
let close: () => Promise<void>;
let seq = 0;

beforeAll(async () => {
  const opened = await openTestWarehouse('state_apply');
  w = opened.warehouse;
  close = opened.close;
  await w.pool.query('CREATE TABLE loaded (pipeline text, n int)');
});
afterAll(async () => close?.());

/** A job recorded up to `completed`, with two files. */
async function completedJob(pipeline: string): Promise<number> {
  seq += 1;
  const zid = `z-${pipeline}-${seq}`;
  const id = await createJob(w.db, { pipeline, runId: undefined, kind: 'sync', idempotencyKey: zid, request: {}, incrementalTime: undefined, windowFrom: undefined });
  await markJobSubmitted(w.db, id, zid);
  await recordJobCompleted(
    w.db,
    id,
    {
      id: zid,
      status: 'completed',
      batches: [{ batchId: 'b', name: 'account', query: 'q', status: 'completed', recordCount: 2, full: false, segments: [`${zid}-1`, `${zid}-2`] }],
    },
    [{ name: 'account', object: 'Account', tableName: 'account' }],
  );
  return id;
}

async function insertRows(client: pg.PoolClient, pipeline: string, count: number): Promise<number> {
  for (let i = 0; i < count; i++) await client.query('INSERT INTO loaded VALUES ($1, $2)', [pipeline, i]);
  return count;
}

async function loadedCount(pipeline: string): Promise<number> {
  const { rows } = await w.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM loaded WHERE pipeline = $1', [pipeline]);
  return rows[0]?.n ?? -1;
}

const t1 = new Date('2024-05-01T00:00:00Z');
const t2 = new Date('2024-05-02T00:00:00Z');

describe('applyJob', () => {
  it('applies rows, watermark, job and files in one go', async () => {
    const id = await completedJob('basic');
    const result = await applyJob(w.pool, { jobRowId: id, pipeline: 'basic', newWatermark: t1 }, (client) => insertRows(client, 'basic', 3));
    expect(result).toEqual({ applied: true, rows: 3, watermark: t1 });
    expect(await loadedCount('basic')).toBe(3);
    expect(await getWatermark(w.db, 'basic')).toEqual(t1);
    expect(await findUnfinishedJob(w.db, 'basic')).toBeUndefined();
    const files = await w.pool.query('SELECT DISTINCT status FROM aquasync.files WHERE job_id = $1', [id]);
    expect(files.rows).toEqual([{ status: 'applied' }]);
    const wm = await w.pool.query('SELECT job_id FROM aquasync.watermarks WHERE pipeline = $1', ['basic']);
    expect(wm.rows[0]).toEqual({ job_id: `z-basic-${seq}` });
  });

  it('changes nothing when fn throws', async () => {
    const pipeline = 'atomic';
    const first = await completedJob(pipeline);
    await applyJob(w.pool, { jobRowId: first, pipeline, newWatermark: t1 }, (client) => insertRows(client, pipeline, 2));
    const id = await completedJob(pipeline);
    const boom = new Error('merge failed');
    await expect(
      applyJob(w.pool, { jobRowId: id, pipeline, newWatermark: t2 }, async (client) => {
        await insertRows(client, pipeline, 5);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await loadedCount(pipeline)).toBe(2);
    expect(await getWatermark(w.db, pipeline)).toEqual(t1);
    const unfinished = await findUnfinishedJob(w.db, pipeline);
    expect(unfinished?.id).toBe(id);
    expect(unfinished?.status).toBe('completed');
    expect(unfinished?.files.map((f) => f.status)).toEqual(['pending', 'pending']);
  });

  it('does not create a watermark when the first apply fails', async () => {
    const id = await completedJob('first-fails');
    await expect(
      applyJob(w.pool, { jobRowId: id, pipeline: 'first-fails', newWatermark: t1 }, async () => {
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await getWatermark(w.db, 'first-fails')).toBeUndefined();
  });

  it('lets a concurrent reader see none of the job, then all of it', async () => {
    const pipeline = 'reader';
    const id = await completedJob(pipeline);
    let halfway!: () => void;
    const reachedHalfway = new Promise<void>((resolve) => (halfway = resolve));
    let proceed!: () => void;
    const mayProceed = new Promise<void>((resolve) => (proceed = resolve));

    const applying = applyJob(w.pool, { jobRowId: id, pipeline, newWatermark: t2 }, async (client) => {
      await insertRows(client, pipeline, 2);
      halfway();
      await mayProceed;
      return 2 + (await insertRows(client, pipeline, 2));
    });

    await reachedHalfway;
    const snapshot = async () =>
      (
        await w.pool.query<{ n: number; wm: Date | null; status: string }>(
          `SELECT (SELECT count(*)::int FROM loaded WHERE pipeline = $1) AS n,
                  (SELECT watermark FROM aquasync.watermarks WHERE pipeline = $1) AS wm,
                  (SELECT status FROM aquasync.jobs WHERE id = $2) AS status`,
          [pipeline, id],
        )
      ).rows[0];
    expect(await snapshot()).toEqual({ n: 0, wm: null, status: 'completed' });
    proceed();
    expect((await applying).rows).toBe(4);
    expect(await snapshot()).toEqual({ n: 4, wm: t2, status: 'applied' });
  });

  it('is idempotent: a second apply of the same job does not call fn', async () => {
    const id = await completedJob('idem');
    await applyJob(w.pool, { jobRowId: id, pipeline: 'idem', newWatermark: t1 }, (client) => insertRows(client, 'idem', 1));
    let called = false;
    const again = await applyJob(w.pool, { jobRowId: id, pipeline: 'idem', newWatermark: t2 }, async () => {
      called = true;
      return 0;
    });
    expect(called).toBe(false);
    expect(again).toEqual({ applied: false, rows: 0, watermark: t1 });
    expect(await loadedCount('idem')).toBe(1);
    expect(await getWatermark(w.db, 'idem')).toEqual(t1);
  });

  it('applies the same job only once when two applies race', async () => {
    const id = await completedJob('race');
    let calls = 0;
    const fn = async (client: pg.PoolClient) => {
      calls += 1;
      await client.query('SELECT pg_sleep(0.05)');
      return insertRows(client, 'race', 1);
    };
    const results = await Promise.all([
      applyJob(w.pool, { jobRowId: id, pipeline: 'race', newWatermark: t1 }, fn),
      applyJob(w.pool, { jobRowId: id, pipeline: 'race', newWatermark: t1 }, fn),
    ]);
    expect(results.map((r) => r.applied).sort()).toEqual([false, true]);
    expect(calls).toBe(1);
    expect(await loadedCount('race')).toBe(1);
  });

  it('never moves the watermark backwards', async () => {
    const pipeline = 'monotonic';
    const newer = await completedJob(pipeline);
    await applyJob(w.pool, { jobRowId: newer, pipeline, newWatermark: t2 }, async () => 0);
    const older = await completedJob(pipeline);
    const result = await applyJob(w.pool, { jobRowId: older, pipeline, newWatermark: t1 }, async () => 0);
    expect(result.applied).toBe(true);
    expect(result.watermark).toEqual(t2);
    expect(await getWatermark(w.db, pipeline)).toEqual(t2);
  });

  it('leaves the watermark alone without a new one (backfill)', async () => {
    const pipeline = 'backfill';
    const a = await completedJob(pipeline);
    await applyJob(w.pool, { jobRowId: a, pipeline, newWatermark: t1 }, async () => 0);
    const b = await completedJob(pipeline);
    const result = await applyJob(w.pool, { jobRowId: b, pipeline, newWatermark: undefined }, async () => 7);
    expect(result).toEqual({ applied: true, rows: 7, watermark: t1 });
  });

  it.each([
    ['a job still submitting', 'submitting'],
    ['a failed job', 'failed'],
  ])('refuses %s', async (_name, status) => {
    const id = await createJob(w.db, { pipeline: 'refuse', runId: undefined, kind: 'sync', idempotencyKey: `refuse-${status}`, request: {}, incrementalTime: undefined, windowFrom: undefined });
    await w.pool.query('UPDATE aquasync.jobs SET status = $1 WHERE id = $2', [status, id]);
    let called = false;
    await expect(
      applyJob(w.pool, { jobRowId: id, pipeline: 'refuse', newWatermark: t1 }, async () => {
        called = true;
        return 0;
      }),
    ).rejects.toBeInstanceOf(WarehouseError);
    expect(called).toBe(false);
    expect(await getWatermark(w.db, 'refuse')).toBeUndefined();
  });

  it('refuses a job of another pipeline', async () => {
    const id = await completedJob('owner');
    await expect(applyJob(w.pool, { jobRowId: id, pipeline: 'intruder', newWatermark: t1 }, async () => 0)).rejects.toThrow(
      /belongs to pipeline "owner"/,
    );
  });
});
