// Load: twenty pipelines on one `aquasync schedule` process, all firing in the same second, against an emulator that
// lets only two AQuA jobs run at once (90028 beyond that). Runs must back off and queue rather than fail, all must
// finish, and Zuora must never see more than two running jobs.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openWarehouse } from '../../src/db/index.ts';
import { startEmulator, type Emulator, type JobSummary } from '../../src/emulator/index.ts';
import { listSlots } from '../../src/scheduler/index.ts';
import { aquasync, cliEnv, configYaml, type PipelineYaml } from '../chaos/harness.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { waitFor } from '../scheduler/helpers.ts';

const PIPELINES = 20;
const LIMIT = 2;
/** Time the scheduler child gets to start before the one firing. */
const LEAD_MS = 8000;
const GRACE_SECONDS = 5;

let emulator: Emulator;
let db: TestDatabase;
let pool: pg.Pool;
let home: string;

/** A six-field cron (seconds first) that fires once a day, at the second of `at` (UTC). */
function cronAt(at: Date): string {
  return `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

/** Most jobs Zuora had in submitted/executing at any instant (intervals [submittedAt, finishedAt)). */
function maxRunning(jobs: JobSummary[]): number {
  const edges = jobs.flatMap((j) => [
    { at: j.submittedAt, delta: 1 },
    { at: j.finishedAt ?? Number.POSITIVE_INFINITY, delta: -1 },
  ]);
  // At equal instants the finish counts first: a job may be submitted in the millisecond another one finished.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let running = 0;
  let most = 0;
  for (const edge of edges) {
    running += edge.delta;
    most = Math.max(most, running);
  }
  return most;
}

describe('load: twenty pipelines on one scheduler, Zuora concurrency limit 2', () => {
  beforeAll(async () => {
    emulator = await startEmulator({
      seed: 41,
      rows: 30,
      concurrencyLimit: LIMIT,
      concurrencyLimitStatus: 200,
      // Long enough that two jobs really occupy Zuora while the other eighteen pipelines want to submit.
      timing: { queuedMs: 50, executingMs: 300 },
    });
    db = await createTestDatabase('schedload');
    const warehouse = await openWarehouse({ databaseUrl: db.url });
    await migrate(warehouse.db);
    await warehouse.close();
    pool = testPool({ connectionString: db.url, max: 2 });
    home = mkdtempSync(join(tmpdir(), 'aquasync-schedload-'));
    chmodSync(home, 0o755);
  });
  afterAll(async () => {
    await pool?.end();
    await emulator?.close();
    await db?.drop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('queues every run behind the limit and finishes all of them', async () => {
    const fireAt = new Date(Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000);
    const pipelines: PipelineYaml[] = Array.from({ length: PIPELINES }, (_, i) => ({
      name: `load${String(i + 1).padStart(2, '0')}`,
      format: i % 2 === 0 ? 'gzip' : 'csv',
    }));
    const names = pipelines.map((p) => p.name);
    const yaml = configYaml({ baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret }, pipelines).replaceAll('"0 2 * * *"', `"${cronAt(fireAt)}"`);
    const file = join(home, 'pipelines.yaml');
    writeFileSync(file, yaml);

    let started = false;
    const scheduler = aquasync(['schedule', '--config', file, '--grace', String(GRACE_SECONDS)], cliEnv(home, db.url), (line) => {
      if (/scheduler running \d+ pipeline/.test(line)) started = true;
    });
    let waited: unknown;
    try {
      await waitFor('the scheduler to start', () => Promise.resolve(started), LEAD_MS);
      expect(Date.now(), 'the scheduler started after its only firing; raise LEAD_MS').toBeLessThan(fireAt.getTime());
      // Every run records itself first thing: none at all soon after the firing means the scheduler is stuck.
      await waitFor(
        'the first runs to be recorded',
        async () => ((await pool.query('select 1 from aquasync.runs limit 1')).rowCount ?? 0) > 0,
        fireAt.getTime() - Date.now() + 10_000,
      );
      await waitFor(
        'every pipeline to have a settled run',
        async () => {
          const { rows } = await pool.query<{ n: number }>(
            "select count(distinct pipeline)::int as n from aquasync.runs where status <> 'running'",
          );
          return (rows[0]?.n ?? 0) >= PIPELINES;
        },
        40_000,
      );
    } catch (error) {
      waited = error;
    } finally {
      scheduler.child.kill('SIGTERM');
    }
    // A scheduler that does not stop after its grace period is a failure of its own; do not hang the suite on it.
    const killer = setTimeout(() => scheduler.child.kill('SIGKILL'), (GRACE_SECONDS + 10) * 1000);
    const out = await scheduler.done.finally(() => clearTimeout(killer));
    if (waited) {
      const exit = out.signal ? 'had to be killed after its grace period' : `exited ${String(out.code)}`;
      throw new Error(`${String(waited)}; the scheduler ${exit}; it said:\n${out.stdout.slice(-3000)}\n${out.stderr.slice(-3000)}`);
    }
    expect(out.signal, `the scheduler did not exit within its grace period:\n${out.stdout.slice(-2000)}`).toBeNull();
    expect(out.code, out.stderr).toBe(0);

    const { rows: runs } = await pool.query<{ pipeline: string; kind: string; status: string; error_message: string | null }>(
      'select pipeline, kind, status, error_message from aquasync.runs order by id',
    );
    const failed = runs.filter((r) => r.status !== 'succeeded').map((r) => `${r.pipeline}: ${r.status} ${r.error_message ?? ''}`);
    expect(failed).toEqual([]);
    expect([...new Set(runs.map((r) => r.pipeline))].sort()).toEqual(names);
    expect(runs.every((r) => r.kind === 'scheduled')).toBe(true);

    const slots = await listSlots(pool, {});
    expect(slots.filter((s) => s.status === 'succeeded').map((s) => s.pipeline).sort()).toEqual(names);

    const jobs = emulator.admin.jobs().filter((j) => j.api === 'aqua');
    expect(jobs.filter((j) => j.status === 'completed')).toHaveLength(PIPELINES);
    expect(maxRunning(jobs)).toBe(LIMIT);
    // The runs really had to wait: behind Zuora's 90028 answers or behind aquasync's own per-tenant job budget.
    expect(out.stdout + out.stderr).toMatch(/concurrent job limit is reached \(90028\)|job slot\(s\) of the tenant are in use; waiting/);
  }, 90_000);
});
