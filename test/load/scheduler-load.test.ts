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
/** Every pipeline fires every 20 s: however long the scheduler takes to start, a firing comes after it. */
const CRON = '*/20 * * * * *';
const GRACE_SECONDS = 5;

let emulator: Emulator;
let db: TestDatabase;
let pool: pg.Pool;
let home: string;

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
    const pipelines: PipelineYaml[] = Array.from({ length: PIPELINES }, (_, i) => ({
      name: `load${String(i + 1).padStart(2, '0')}`,
      format: i % 2 === 0 ? 'gzip' : 'csv',
    }));
    const names = pipelines.map((p) => p.name);
    const yaml = configYaml({ baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret }, pipelines).replaceAll('"0 2 * * *"', `"${CRON}"`);
    const file = join(home, 'pipelines.yaml');
    writeFileSync(file, yaml);

    const scheduler = aquasync(['schedule', '--config', file, '--grace', String(GRACE_SECONDS)], cliEnv(home, db.url));
    let waited: unknown;
    try {
      // Order, not timing: every pipeline ends up with a succeeded run, whenever the first firing comes.
      await waitFor(
        'every pipeline to have a succeeded run',
        async () => {
          const { rows } = await pool.query<{ n: number }>(
            "select count(distinct pipeline)::int as n from aquasync.runs where status = 'succeeded'",
          );
          return (rows[0]?.n ?? 0) >= PIPELINES;
        },
        150_000,
      );
    } catch (error) {
      waited = error;
    } finally {
      scheduler.child.kill('SIGTERM');
    }
    // A scheduler that does not stop after its grace period is a failure of its own; do not hang the suite on it.
    const killer = setTimeout(() => scheduler.child.kill('SIGKILL'), (GRACE_SECONDS + 30) * 1000);
    const out = await scheduler.done.finally(() => clearTimeout(killer));
    if (waited) {
      const exit = out.signal ? 'had to be killed after its grace period' : `exited ${String(out.code)}`;
      throw new Error(`${String(waited)}; the scheduler ${exit}; it said:\n${out.stdout.slice(-3000)}\n${out.stderr.slice(-3000)}`);
    }
    expect(out.signal, `the scheduler did not exit within its grace period:\n${out.stdout.slice(-2000)}`).toBeNull();
    expect([0, 130]).toContain(out.code);

    const { rows: runs } = await pool.query<{ pipeline: string; kind: string; status: string; error_message: string | null }>(
      'select pipeline, kind, status, error_message from aquasync.runs order by id',
    );
    // A later firing may be skipped (a run still going) or cut off at shutdown; none may fail.
    const failed = runs.filter((r) => r.status === 'failed').map((r) => `${r.pipeline}: ${r.status} ${r.error_message ?? ''}`);
    expect(failed).toEqual([]);
    expect([...new Set(runs.filter((r) => r.status === 'succeeded').map((r) => r.pipeline))].sort()).toEqual(names);
    expect(runs.every((r) => r.kind === 'scheduled')).toBe(true);

    const slots = await listSlots(pool, {});
    expect([...new Set(slots.filter((s) => s.status === 'succeeded').map((s) => s.pipeline))].sort()).toEqual(names);

    const jobs = emulator.admin.jobs().filter((j) => j.api === 'aqua');
    expect(jobs.filter((j) => j.status === 'completed').length).toBeGreaterThanOrEqual(PIPELINES);
    expect(maxRunning(jobs)).toBe(LIMIT);
    // The runs really had to wait: behind Zuora's 90028 answers or behind aquasync's own per-tenant job budget.
    expect(out.stdout + out.stderr).toMatch(/concurrent job limit is reached \(90028\)|job\(s\) the tenant's budget allows are in flight; waiting/);
  }, 240_000);
});
