// The per-pipeline run lock across processes (two pools stand in for two processes) and stale-run cleanup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse, type Warehouse } from '../../src/db/index.ts';
import { abandonStaleRuns, acquirePipelineLock, pipelineStatus, startRun } from '../../src/state/index.ts';
import { openTestWarehouse } from '../helpers/db.ts';

let a: Warehouse;
let b: Warehouse;
let close: () => Promise<void>;

beforeAll(async () => {
  const opened = await openTestWarehouse('state_lock');
  a = opened.warehouse;
  b = await openWarehouse({ databaseUrl: opened.database.url });
  close = async () => {
    await b.close();
    await opened.close();
  };
});
afterAll(async () => close?.());

describe('acquirePipelineLock', () => {
  it('lets one holder in at a time, per pipeline, until released', async () => {
    const first = await acquirePipelineLock(a.pool, 'billing');
    expect(first).toBeDefined();
    expect(await acquirePipelineLock(b.pool, 'billing')).toBeUndefined();
    // Even the same pool (another connection) cannot take it twice.
    expect(await acquirePipelineLock(a.pool, 'billing')).toBeUndefined();
    // Other pipelines are independent.
    const other = await acquirePipelineLock(b.pool, 'usage');
    expect(other).toBeDefined();

    await first?.release();
    await first?.release(); // twice is harmless
    const second = await acquirePipelineLock(b.pool, 'billing');
    expect(second).toBeDefined();
    await second?.release();
    await other?.release();
    // Released locks give their connections back to the pool.
    expect(a.pool.totalCount - a.pool.idleCount).toBe(0);
    expect(b.pool.totalCount - b.pool.idleCount).toBe(0);
  });

  it('is freed when the holding connection dies', async () => {
    const lost: Error[] = [];
    const held = await acquirePipelineLock(a.pool, 'crashy', { onLost: (e) => lost.push(e) });
    expect(held).toBeDefined();
    await b.pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    let retaken;
    for (let i = 0; i < 50 && !retaken; i++) {
      retaken = await acquirePipelineLock(b.pool, 'crashy');
      if (!retaken) await new Promise((r) => setTimeout(r, 20));
    }
    expect(retaken).toBeDefined();
    await retaken?.release();
    await held?.release();
    expect(lost.length).toBeGreaterThan(0);
  });
});

describe('abandonStaleRuns', () => {
  it('marks the pipeline\'s running runs abandoned, except the one given', async () => {
    const stale = await startRun(a.db, { pipeline: 'stale', kind: 'scheduled' });
    const current = await startRun(a.db, { pipeline: 'stale', kind: 'manual' });
    const otherPipeline = await startRun(a.db, { pipeline: 'elsewhere', kind: 'manual' });
    expect(await abandonStaleRuns(a.db, 'stale', { exceptRunId: current })).toBe(1);
    const { rows } = await a.pool.query<{ id: number; status: string; error_code: string | null }>(
      'SELECT id, status, error_code FROM aquasync.runs WHERE id = ANY($1) ORDER BY id',
      [[stale, current, otherPipeline]],
    );
    expect(rows).toEqual([
      { id: stale, status: 'abandoned', error_code: 'ABANDONED' },
      { id: current, status: 'running', error_code: null },
      { id: otherPipeline, status: 'running', error_code: null },
    ]);
    expect(await abandonStaleRuns(a.db, 'stale', { exceptRunId: current })).toBe(0);
    expect((await pipelineStatus(a.db, 'stale')).lastRun?.id).toBe(current);
  });

  it('leaves runs of other kinds alone (a sync must not abandon a live backfill)', async () => {
    const backfill = await startRun(a.db, { pipeline: 'kinds', kind: 'backfill' });
    const stale = await startRun(a.db, { pipeline: 'kinds', kind: 'manual' });
    expect(await abandonStaleRuns(a.db, 'kinds', { kinds: ['scheduled', 'manual'] })).toBe(1);
    const { rows } = await a.pool.query<{ id: number; status: string }>(
      'SELECT id, status FROM aquasync.runs WHERE id = ANY($1) ORDER BY id',
      [[backfill, stale]],
    );
    expect(rows).toEqual([
      { id: backfill, status: 'running' },
      { id: stale, status: 'abandoned' },
    ]);
  });
});
