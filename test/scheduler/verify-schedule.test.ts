// Scheduled self-verification: two scheduler replicas on one warehouse, a pipeline with `verify: {schedule: every
// 2 s, reconcile: apply}`, a tenant that keeps changing and a warehouse that lost a row. Every firing runs exactly
// once across the replicas (one slot row, one verification), the first repairs the lost row and verifies again,
// and /metrics shows the last result per object.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../../src/db/index.ts';
import { silentLogger } from '../../src/log.ts';
import { listSlots, Scheduler, startStatusServer, verifySlotName } from '../../src/scheduler/index.ts';
import { runBackfill } from '../../src/sync/index.ts';
import { runScheduledVerification } from '../../src/verify/index.ts';
import { DataQueryClient, ZuoraClient } from '../../src/zuora/index.ts';
import { pipelineFrom, startWorld, syncOnce, type SyncWorld } from '../sync/helpers.ts';
import { waitFor } from './helpers.ts';

const yaml = `
source: { baseUrl: https://placeholder, clientId: id, clientSecret: secret }
warehouse: { schema: zuora }
pipelines:
  - name: billing
    schedule: "0 0 1 1 *"
    partner: aquasync
    project: p-sched-verify
    format: csv
    verify: { schedule: "*/2 * * * * *", reconcile: apply }
    objects:
      - name: Account
        fields: [Id, Name, Balance, UpdatedDate]
`;

let world: SyncWorld;
const target = pipelineFrom(yaml);
let calls = 0;

async function startReplica() {
  const warehouse = await openWarehouse({ databaseUrl: world.db.url });
  const scheduler = new Scheduler({
    pool: warehouse.pool,
    db: warehouse.db,
    pipelines: [target.pipeline],
    logger: silentLogger,
    leaseMs: 3000,
    run: () => Promise.reject(new Error('no sync fires in this test')),
    verify: (pipeline, { signal }) => {
      calls++;
      const client = new ZuoraClient({
        baseUrl: world.emulator.url,
        clientId: world.emulator.clientId,
        clientSecret: world.emulator.clientSecret,
        poll: { minIntervalMs: 10, maxIntervalMs: 50 },
        retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
        signal,
      });
      const dataQuery = new DataQueryClient(client, { poll: { minIntervalMs: 5, maxIntervalMs: 30 }, signal });
      return runScheduledVerification({ warehouse, client, dataQuery, schema: target.schema, logger: silentLogger }, pipeline, {
        backfill: runBackfill,
        tempDir: world.tempDir,
        signal,
        poll: { minIntervalMs: 10, maxIntervalMs: 50 },
      });
    },
  });
  await scheduler.start();
  return { scheduler, warehouse };
}

beforeAll(async () => {
  world = await startWorld('sched_verify', { rows: 60, timing: { queuedMs: 5, executingMs: 10 } });
  expect((await syncOnce(world, target)).error).toBeUndefined();
});
afterAll(async () => world?.close());

describe('scheduled verification', () => {
  it('runs once per firing across two replicas, repairs what it finds, and shows the last result in /metrics', async () => {
    const { admin } = world.emulator;
    const pool = world.warehouse.pool;
    const [lost] = (await pool.query<{ id: string; updated_date: Date }>(
      "select a.id from zuora.account a, aquasync.watermarks w where w.pipeline = 'billing' and a.updated_date < w.watermark - interval '1 day' order by a.id limit 1",
    )).rows;
    await pool.query('delete from zuora.account where id = $1', [lost!.id]);
    // Zuora changes after the watermark, before and while the verifications run.
    const others = admin.rows('Account').filter((r) => r.deletedAt === undefined && r.values.Id !== lost!.id);
    let n = 0;
    const churn = () => admin.update('Account', String(others[n++ % others.length]!.values.Id), { Name: `churn ${n}` });
    churn();
    const timer = setInterval(churn, 50);

    const replicas = [await startReplica(), await startReplica()];
    try {
      await waitFor(
        'four finished verification slots',
        async () => (await listSlots(pool, { pipeline: verifySlotName('billing') })).filter((s) => s.status === 'succeeded').length >= 4,
        40_000,
      );
    } finally {
      clearInterval(timer);
    }
    const server = await startStatusServer({ port: 0, host: '127.0.0.1', scheduler: replicas[0]!.scheduler, pool: replicas[0]!.warehouse.pool, logger: silentLogger });
    let metrics: string;
    try {
      metrics = await (await fetch(`${server.url}/metrics`)).text();
    } finally {
      await server.close();
      for (const r of replicas) {
        await r.scheduler.stop(10_000);
        await r.warehouse.close();
      }
    }

    const slots = await listSlots(pool, { pipeline: verifySlotName('billing') });
    const ran = slots.filter((s) => s.status !== 'skipped');
    // Exactly once per firing: one slot row per due time (the ledger's key) and one verification call per slot run.
    expect(new Set(slots.map((s) => s.dueAt.getTime())).size).toBe(slots.length);
    expect(calls).toBe(ran.length);
    expect(ran.every((s) => s.status === 'succeeded' || s.status === 'failed')).toBe(true);
    // Sync slots are untouched: the verification has its own ledger name.
    expect(await listSlots(pool, { pipeline: 'billing' })).toEqual([]);

    // The first firing found the lost row, reconcile --apply re-pulled it, and the verification after it is clean.
    expect((await pool.query('select 1 from zuora.account where id = $1', [lost!.id])).rows).toHaveLength(1);
    const rows = (
      await pool.query<{ kind: string; trigger: string; ok: boolean; rows_missing: string; applied: boolean }>(
        "select kind, trigger, ok, rows_missing, applied from aquasync.verifications order by id",
      )
    ).rows;
    expect(rows.every((r) => r.trigger === 'scheduled')).toBe(true);
    expect(rows[0]).toMatchObject({ kind: 'verify', ok: false, rows_missing: 1 });
    expect(rows[1]).toMatchObject({ kind: 'reconcile', applied: true, rows_missing: 1 });
    expect(rows[2]).toMatchObject({ kind: 'verify', ok: true, rows_missing: 0 });
    expect(rows.slice(2).every((r) => r.ok)).toBe(true);
    expect(rows.filter((r) => r.kind === 'verify').length).toBe(ran.length + 1); // + the re-check after the repair

    expect(metrics).toMatch(/^aquasync_verification_ok\{pipeline="billing",object="Account"\} 1$/m);
    expect(metrics).toMatch(/^aquasync_verification_rows_missing\{pipeline="billing",object="Account"\} 0$/m);
    expect(metrics).toMatch(/^aquasync_verification_rows_extra\{pipeline="billing",object="Account"\} 0$/m);
    expect(metrics).toMatch(/^aquasync_verification_rows_pending\{pipeline="billing",object="Account"\} \d+$/m);
    const age = Number(/^aquasync_verification_age_seconds\{pipeline="billing",object="Account"\} (\S+)$/m.exec(metrics)?.[1]);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(10);
  }, 60_000);
});
