// Three real `aquasync schedule` processes on one database, firing every 3 s against the emulator (in this
// process): every firing runs exactly once across the replicas, and a replica killed with SIGKILL mid-run has its
// slot taken over and its job resumed by another.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openWarehouse } from '../../src/db/index.ts';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';
import { listSlots, type SlotRecord } from '../../src/scheduler/index.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { waitFor } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/aquasync.js');

interface LogLine {
  msg: string;
  level: string;
  pipeline?: string;
  slot?: string;
  replica?: string;
  attempt?: number;
}

interface Replica {
  child: ChildProcessWithoutNullStreams;
  lines: LogLine[];
  raw: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startReplica(config: string, env: NodeJS.ProcessEnv): Replica {
  const child = spawn(process.execPath, [BIN, 'schedule', '--config', config, '--log-format', 'json', '--grace', '15'], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const replica: Replica = {
    child,
    lines: [],
    raw: [],
    exit: new Promise((resolveExit) => child.on('exit', (code, signal) => resolveExit({ code, signal }))),
  };
  let buffer = '';
  const onData = (data: Buffer): void => {
    buffer += data.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      replica.raw.push(line);
      try {
        replica.lines.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line (a stack trace): kept in raw for the failure message
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return replica;
}

describe('several `aquasync schedule` replicas on one database', () => {
  let db: TestDatabase;
  let emulator: Emulator;
  let home: string;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sched_replicas');
    const warehouse = await openWarehouse({ databaseUrl: db.url });
    await migrate(warehouse.db); // once here rather than racing in three children
    await warehouse.close();
    // Jobs execute for 2 s, so a run is long enough to be killed in the middle.
    emulator = await startEmulator({ seed: 5, rows: 50, timing: { queuedMs: 5, executingMs: 2000 } });
    home = mkdtempSync(join(tmpdir(), 'aquasync-sched-'));
    chmodSync(home, 0o755);
  });

  afterAll(async () => {
    for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await emulator?.close();
    await db?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  it('runs each firing exactly once and takes over the slot of a replica killed mid-run', async () => {
    const config = join(home, 'pipelines.yaml');
    writeFileSync(
      config,
      `source:
  baseUrl: ${emulator.url}
  clientId: ${emulator.clientId}
  clientSecret: ${emulator.clientSecret}
warehouse:
  schema: zuora
pipelines:
  - name: billing
    schedule: "*/3 * * * * *"
    timezone: UTC
    partner: aquasync
    project: p-replicas
    format: gzip
    objects:
      - name: Account
        fields: [Id, Name, Balance, UpdatedDate]
`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, AQUASYNC_HOME: home, AQUASYNC_SCHEDULER_LEASE_SECONDS: '2' };
    for (let i = 0; i < 3; i++) replicas.push(startReplica(config, env));
    const pool = testPool({ connectionString: db.url, max: 2 });
    const describeLogs = (): string => replicas.map((r, i) => `--- replica ${i}\n${r.raw.slice(-40).join('\n')}`).join('\n');
    try {
      await waitFor('three running replicas', async () => replicas.every((r) => r.lines.some((l) => l.msg.startsWith('scheduler running'))), 30_000).catch(
        (error: unknown) => {
          throw new Error(`${String(error)}\n${describeLogs()}`);
        },
      );

      await waitFor('a first slot to succeed', async () => (await listSlots(pool, { pipeline: 'billing' })).some((s) => s.status === 'succeeded'), 20_000);
      // Kill the replica running a slot while its Zuora job executes (its run is recorded, its job submitted).
      const victimSlot = await waitFor(
        'a slot running with its job executing',
        async () => {
          const running = (await listSlots(pool, { pipeline: 'billing' })).find((s) => s.status === 'running' && s.attempts === 1 && s.runIds.length === 1);
          const executing = emulator.admin.jobs().some((j) => j.status === 'executing' || j.status === 'submitted');
          return running && executing ? running : undefined;
        },
        20_000,
      );
      const victim = replicas.find((r) => victimSlot.owner.includes(`:${r.child.pid}:`));
      expect(victim, `the owner ${victimSlot.owner} is one of our replicas`).toBeDefined();
      victim!.child.kill('SIGKILL');
      const killedAt = Date.now();

      const taken = await waitFor(
        'the killed slot to be taken over and finished',
        async () => (await listSlots(pool, { pipeline: 'billing' })).find((s) => s.dueAt.getTime() === victimSlot.dueAt.getTime() && s.status !== 'running'),
        20_000,
      );
      const takeoverSeconds = (Date.now() - killedAt) / 1000;
      // And the schedule goes on: one more firing after the takeover succeeds.
      await waitFor(
        'a later slot to succeed',
        async () => (await listSlots(pool, { pipeline: 'billing' })).some((s) => s.dueAt > taken.dueAt && s.status === 'succeeded'),
        20_000,
      );

      const survivors = replicas.filter((r) => r !== victim);
      for (const r of survivors) r.child.kill('SIGTERM');
      const exits = await Promise.all(survivors.map((r) => r.exit));
      expect(exits.map((e) => e.code), describeLogs()).toEqual([0, 0]);
      expect((await victim!.exit).signal).toBe('SIGKILL');

      // The killed slot: resumed by another replica (attempt 2), one run per attempt, the first marked abandoned.
      expect(taken.status).toBe('succeeded');
      expect(taken.attempts).toBe(2);
      expect(taken.takenOverFrom).toBe(victimSlot.owner);
      expect(taken.owner).not.toBe(victimSlot.owner);
      expect(taken.runIds).toHaveLength(2);
      const { rows: runs } = await pool.query<{ id: number; kind: string; status: string; job_id: string | null }>(
        "select id, kind, status, job_id from aquasync.runs where pipeline = 'billing' order by id",
      );
      const byId = new Map(runs.map((r) => [Number(r.id), r]));
      expect(byId.get(taken.runIds[0]!)?.status).toBe('abandoned');
      expect(byId.get(taken.runIds[1]!)?.status).toBe('succeeded');

      // Exactly once: every slot that ran has one run per attempt, and every run belongs to exactly one slot.
      const slots: SlotRecord[] = (await listSlots(pool, { pipeline: 'billing' })).reverse();
      expect(slots.filter((s) => s.status === 'running'), 'nothing left running after SIGTERM').toEqual([]);
      const ran = slots.filter((s) => s.status !== 'skipped');
      for (const s of ran) expect(s.runIds.length, `slot ${s.dueAt.toISOString()}`).toBe(s.attempts);
      expect(ran.flatMap((s) => s.runIds).sort((a, b) => a - b)).toEqual(runs.map((r) => Number(r.id)));
      expect(runs.every((r) => r.kind === 'scheduled')).toBe(true);
      // Across the replicas' own logs, each slot was started once per attempt, never more.
      const starts = new Map<string, number>();
      for (const r of replicas) for (const l of r.lines) if (l.msg === 'run started' && l.slot) starts.set(l.slot, (starts.get(l.slot) ?? 0) + 1);
      for (const s of ran) expect(starts.get(s.dueAt.toISOString()), `starts of ${s.dueAt.toISOString()}`).toBe(s.attempts);
      expect([...starts.keys()].sort()).toEqual(ran.map((s) => s.dueAt.toISOString()).sort());
      // Every firing left one row (run or skipped) on the 3 s grid, none doubled. A loaded machine may make
      // node-cron miss a firing, so gaps are multiples of 3 s rather than exactly 3 s, and most firings are there.
      const cronSlots = slots.filter((s) => s.trigger === 'cron').map((s) => s.dueAt.getTime());
      expect(new Set(cronSlots).size, 'one row per firing').toBe(cronSlots.length);
      for (const t of cronSlots) expect(t % 3000, 'on the 3 s grid').toBe(0);
      const span = (cronSlots.at(-1)! - cronSlots[0]!) / 3000 + 1;
      expect(cronSlots.length, `${cronSlots.length} of ${span} firings recorded`).toBeGreaterThanOrEqual(Math.ceil(span * 0.8));
      // The killed run's job was resumed, not submitted again: one Zuora job per slot that loaded.
      expect(emulator.admin.jobs().filter((j) => j.api === 'aqua')).toHaveLength(ran.filter((s) => s.status === 'succeeded').length);

      console.info(
        `[scheduler replicas] ${cronSlots.length} firings, ${ran.length} ran, ${slots.length - ran.length} skipped, ${runs.length} runs; takeover ${takeoverSeconds.toFixed(1)} s after SIGKILL`,
      );
    } finally {
      await pool.end();
    }
  }, 90_000);
});
