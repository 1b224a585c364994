// In-process scheduler replicas against real Postgres and the emulator over HTTP: cron firing, overlap prevention
// across two replicas, takeover of an expired lease, failures, graceful shutdown mid-load, resume on start, metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { startStatusServer } from '../../src/scheduler/index.ts';
import { findUnfinishedJob } from '../../src/state/index.ts';
import { pipelineFrom, postsToBatchQuery, startWorld, syncOnce, watermarkOf, type SyncWorld } from '../sync/helpers.ts';
import { runsOf, slotsOf, startReplica, waitFor, yamlFor } from './helpers.ts';

describe('scheduler with fast runs', () => {
  let world: SyncWorld;
  beforeAll(async () => {
    world = await startWorld('sched_fast', { rows: 50 });
  });
  afterAll(async () => world?.close());

  it('fires on a 6-field cron expression and records each slot with its scheduled run; serves /metrics and /healthz', async () => {
    const yaml = yamlFor({ name: 'cron', project: 'p-cron', schedule: '*/2 * * * * *' });
    const replica = await startReplica(world, yaml);
    const server = await startStatusServer({ port: 0, host: '127.0.0.1', scheduler: replica.scheduler, pool: replica.warehouse.pool, logger: silentLogger });
    try {
      const done = await waitFor('two succeeded slots', async () => {
        const slots = (await slotsOf(world, 'cron')).filter((s) => s.status === 'succeeded');
        return slots.length >= 2 ? slots : undefined;
      });
      for (const slot of done) {
        expect(slot.dueAt.getUTCSeconds() % 2, 'slots fall on the schedule').toBe(0);
        expect(slot.dueAt.getUTCMilliseconds()).toBe(0);
        expect(slot.trigger).toBe('cron');
        expect(slot.attempts).toBe(1);
        expect(slot.owner).toBe(replica.scheduler.replicaId);
        expect(slot.runIds).toHaveLength(1);
      }
      const runs = await runsOf(world, 'cron');
      for (const slot of done) {
        const run = runs.find((r) => r.id === slot.runIds[0]);
        expect(run?.kind).toBe('scheduled');
        expect(run?.status).toBe('succeeded');
      }
      expect(await watermarkOf(world, 'cron')).toBeDefined();

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^aquasync_last_success_timestamp_seconds\{pipeline="cron"\} \d+(\.\d+)?$/m);
      expect(metrics).toMatch(/^aquasync_last_run_duration_seconds\{pipeline="cron"\} \d/m);
      expect(metrics).toMatch(/^aquasync_watermark_lag_seconds\{pipeline="cron"\} \d/m);
      expect(metrics).toMatch(/^aquasync_runs_total\{pipeline="cron",outcome="succeeded"\} [1-9]/m);
      expect(metrics).toMatch(/^aquasync_rows_written_total\{pipeline="cron"\} [1-9]/m);
      expect(metrics).toMatch(/^aquasync_rows_read_total\{pipeline="cron"\} [1-9]/m);
      expect(metrics).toMatch(/^aquasync_run_failures_total\{pipeline="cron"\} 0$/m);
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe('ok');
    } finally {
      await replica.close();
    }
    const after = await fetch(`${server.url}/healthz`);
    expect(after.status, 'a stopping replica reports unhealthy').toBe(503);
    await server.close();
  });

  it('records a failed run, counts it, and keeps scheduling', async () => {
    world.emulator.admin.faults.add({ kind: 'job-error' });
    const replica = await startReplica(world, yamlFor({ name: 'flaky', project: 'p-flaky', schedule: '* * * * * *' }));
    try {
      const slots = await waitFor('a failed slot followed by a succeeded one', async () => {
        const all = (await slotsOf(world, 'flaky')).reverse();
        const failed = all.findIndex((s) => s.status === 'failed');
        return failed >= 0 && all.slice(failed + 1).some((s) => s.status === 'succeeded') ? all : undefined;
      });
      const failed = slots.find((s) => s.status === 'failed');
      expect(failed?.error).toMatch(/\b90029\b/);
      const metrics = await replica.scheduler.metrics();
      expect(metrics[0]?.counters.failures).toBe(1);
      expect(metrics[0]?.counters.runs.succeeded).toBeGreaterThanOrEqual(1);
    } finally {
      await replica.close();
    }
  });

  it('takes over a slot whose lease expired (its replica died) and gives up after the last attempt', async () => {
    const { pool } = world.warehouse;
    const dueAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    await pool.query(
      `insert into aquasync.schedule_slots (pipeline, due_at, trigger, status, owner, lease_until)
       values ('orphan', $1, 'cron', 'running', 'dead-replica', now() - interval '1 second')`,
      [dueAt],
    );
    await pool.query(
      `insert into aquasync.schedule_slots (pipeline, due_at, trigger, status, owner, lease_until, attempts)
       values ('exhausted', $1, 'cron', 'running', 'dead-replica', now() - interval '1 second', 3)`,
      [dueAt],
    );
    const orphan = await startReplica(world, yamlFor({ name: 'orphan', project: 'p-orphan', schedule: '0 0 1 1 *' }));
    const exhausted = await startReplica(world, yamlFor({ name: 'exhausted', project: 'p-exhausted', schedule: '0 0 1 1 *' }));
    try {
      const [slot] = await waitFor('the orphaned slot to be taken over and finished', async () => {
        const slots = await slotsOf(world, 'orphan');
        return slots[0]?.status === 'succeeded' ? slots : undefined;
      });
      expect(slot?.dueAt.getTime()).toBe(dueAt.getTime());
      expect(slot?.attempts).toBe(2);
      expect(slot?.takenOverFrom).toBe('dead-replica');
      expect(slot?.owner).toBe(orphan.scheduler.replicaId);
      const [given] = await slotsOf(world, 'exhausted');
      expect(given?.status).toBe('abandoned');
      expect(given?.runIds).toEqual([]);
    } finally {
      await orphan.close();
      await exhausted.close();
    }
  });
});

describe('scheduler with slow runs', () => {
  let world: SyncWorld;
  beforeAll(async () => {
    world = await startWorld('sched_slow', { rows: 50, timing: { queuedMs: 5, executingMs: 1500 } });
  });
  afterAll(async () => world?.close());

  it('never runs one pipeline twice at once across two replicas; firings during a run are skipped, each exactly once', async () => {
    const yaml = yamlFor({ name: 'overlap', project: 'p-overlap', schedule: '* * * * * *' });
    const a = await startReplica(world, yaml);
    const b = await startReplica(world, yaml);
    await waitFor('two finished runs', async () => (await slotsOf(world, 'overlap')).filter((s) => s.status === 'succeeded').length >= 2);
    const closing = Date.now();
    await Promise.all([a.close(), b.close()]);

    const slots = await slotsOf(world, 'overlap');
    const runs = (await runsOf(world, 'overlap')).filter((r) => r.kind === 'scheduled');
    const skipped = slots.filter((s) => s.status === 'skipped');
    expect(skipped.length, 'firings during a 1.5 s run are skipped').toBeGreaterThan(0);
    for (const s of skipped) {
      // A firing a replica handles once its close began is skipped for that reason (seen on a loaded machine,
      // where close takes a while); any other skip must be the overlap rule's.
      if (/shutting down/.test(s.error ?? '')) expect(s.finishedAt!.getTime()).toBeGreaterThanOrEqual(closing);
      else expect(s.error).toMatch(/still running/);
      expect(s.runIds).toEqual([]);
    }
    expect(skipped.some((s) => /still running/.test(s.error ?? '')), 'some firing hit the running run').toBe(true);
    const ran = slots.filter((s) => s.status !== 'skipped');
    expect(ran.every((s) => s.status === 'succeeded')).toBe(true);
    // Every scheduled run belongs to exactly one slot, and every slot that ran has exactly one run.
    expect(ran.flatMap((s) => s.runIds).sort()).toEqual(runs.map((r) => r.id).sort());
    expect(ran.every((s) => s.runIds.length === 1)).toBe(true);
    // Runs of the pipeline never overlap in time.
    const ordered = [...runs].sort((x, y) => x.started_at.getTime() - y.started_at.getTime());
    for (let i = 1; i < ordered.length; i++) {
      expect(ordered[i]!.started_at.getTime()).toBeGreaterThanOrEqual(ordered[i - 1]!.finished_at!.getTime());
    }
  });

  it('on stop, lets a running load finish within the grace period', async () => {
    const replica = await startReplica(world, yamlFor({ name: 'graceful', project: 'p-graceful', schedule: '* * * * * *' }));
    const running = await waitFor('a running slot', async () => (await slotsOf(world, 'graceful')).find((s) => s.status === 'running'));
    const result = await replica.scheduler.stop(15_000);
    await replica.warehouse.close();
    expect(result).toEqual({ abandoned: [], unsettled: [] });
    const slot = (await slotsOf(world, 'graceful')).find((s) => s.dueAt.getTime() === running.dueAt.getTime());
    expect(slot?.status).toBe('succeeded');
    expect((await slotsOf(world, 'graceful')).filter((s) => s.status === 'running')).toEqual([]);
  });

  it('past the grace period abandons the load mid-COPY (rolled back), and the next start resumes the same job', async () => {
    const name = 'cutoff';
    // The file trickles in, so the run sits inside its staging transaction when the grace period ends.
    world.emulator.admin.clearRequests();
    world.emulator.admin.faults.add({ kind: 'slow', bytesPerSecond: 400, times: 10 });
    const replica = await startReplica(world, yamlFor({ name, project: 'p-cutoff', schedule: '* * * * * *' }));
    // Inside the COPY (not merely after the request): the grace period then ends mid-statement.
    await waitFor('a COPY of a trickling file', async () => {
      const { rows } = await world.warehouse.pool.query("select 1 from pg_stat_activity where datname = current_database() and query ilike 'copy %'");
      return rows.length > 0;
    });
    const result = await replica.scheduler.stop(200);
    await replica.warehouse.close();
    world.emulator.admin.faults.clear();
    expect(result.abandoned).toEqual([name]);
    expect(result.unsettled).toEqual([]);

    const [slot] = (await slotsOf(world, name)).filter((s) => s.status !== 'skipped');
    expect(slot?.status).toBe('abandoned');
    expect(slot?.error).toMatch(/grace period/);
    const job = await findUnfinishedJob(world.warehouse.db, name);
    expect(job, 'the job stays recorded for the next run').toBeDefined();
    expect(job?.files.every((f) => f.status === 'pending'), 'the staging transaction rolled back').toBe(true);
    expect(await watermarkOf(world, name)).toBeUndefined();
    const posts = postsToBatchQuery(world);

    // A replica starting later resumes the job right away, without waiting for its (yearly) schedule.
    const next = await startReplica(world, yamlFor({ name, project: 'p-cutoff', schedule: '0 0 1 1 *' }));
    try {
      const resumed = await waitFor('the resume slot to succeed', async () =>
        (await slotsOf(world, name)).find((s) => s.trigger === 'resume' && s.status === 'succeeded'),
      );
      const runs = await runsOf(world, name);
      const run = runs.find((r) => r.id === resumed.runIds[0]);
      expect(run?.status).toBe('succeeded');
      expect(run?.job_id).toBe(job?.zuoraJobId);
      expect(postsToBatchQuery(world), 'no new job was submitted').toBe(posts);
      expect(await watermarkOf(world, name)).toBeDefined();
    } finally {
      await next.close();
    }
  });
});

describe('resume on start', () => {
  let world: SyncWorld;
  beforeAll(async () => {
    world = await startWorld('sched_resume', { rows: 50 });
  });
  afterAll(async () => world?.close());

  it('resumes a job a crashed `aquasync sync` left behind', async () => {
    const yaml = yamlFor({ name: 'crashed', project: 'p-crashed', schedule: '0 0 1 1 *' });
    await expect(syncOnce(world, pipelineFrom(yaml), { crashAfter: 'submitted' })).rejects.toThrow(/simulated crash/);
    const posts = postsToBatchQuery(world);
    const replica = await startReplica(world, yaml);
    try {
      const slot = await waitFor('the resume slot', async () => (await slotsOf(world, 'crashed')).find((s) => s.status === 'succeeded'));
      expect(slot.trigger).toBe('resume');
      expect(postsToBatchQuery(world)).toBe(posts);
      const runs = await runsOf(world, 'crashed');
      expect(runs.map((r) => [r.kind, r.status])).toEqual([
        ['manual', 'abandoned'],
        ['scheduled', 'succeeded'],
      ]);
    } finally {
      await replica.close();
    }
  });
});
