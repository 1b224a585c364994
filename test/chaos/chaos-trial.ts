// One chaos trial: change Zuora's data, arm random faults, start `aquasync sync` and SIGKILL it at a random moment
// of a chosen phase, then check the watermark did not pass unloaded data, run a clean sync and compare everything.
// Used by test/chaos/chaos.test.ts (a few trials) and scripts/chaos.ts (many trials, summary table).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, openWarehouse } from '../../src/db/index.ts';
import { startEmulator, type Emulator, type Fault, type FaultRoute } from '../../src/emulator/index.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { aquasync, cliEnv, configYaml, diffTable, rng, stuckWork, TABLES, watermarkOf, type CliOutcome } from './harness.ts';

export const KILL_PHASES = ['submit', 'poll', 'download', 'copy', 'upsert', 'commit'] as const;
export type KillPhase = (typeof KILL_PHASES)[number];

/** Where the child really was when the SIGKILL landed (from its log lines). */
export type ObservedPhase = 'startup' | 'submit/poll' | 'download/copy' | 'upsert/commit' | 'after-commit' | 'exited-first';

export interface TrialResult {
  seed: number;
  target: KillPhase;
  observed: ObservedPhase;
  faults: string[];
  mutations: number;
  rowsCompared: number;
  /** Empty when the trial passed. */
  problems: string[];
  notes: string[];
}

export interface ChaosWorld {
  emulator: Emulator;
  db: TestDatabase;
  pool: pg.Pool;
  home: string;
  configFile: string;
  pipeline: string;
  close(): Promise<void>;
}

/** 00:30 PDT on the day of the fall-back: the first trials walk the emulator clock through the repeated hour. */
const CLOCK_START = Date.parse('2026-11-01T07:30:00Z');

export async function startChaosWorld(seed: number): Promise<ChaosWorld> {
  const emulator = await startEmulator({
    seed,
    rows: 150,
    segmentSize: 60,
    timing: { queuedMs: 20, executingMs: 60 },
    clockStart: CLOCK_START,
  });
  const db = await createTestDatabase('chaos');
  const warehouse = await openWarehouse({ databaseUrl: db.url });
  try {
    await migrate(warehouse.db);
  } finally {
    await warehouse.close();
  }
  const pool = testPool({ connectionString: db.url, max: 2 });
  const home = mkdtempSync(join(tmpdir(), 'aquasync-chaos-'));
  chmodSync(home, 0o755);
  const configFile = join(home, 'pipelines.yaml');
  const pipeline = 'chaos';
  const format = (['gzip', 'zip', 'csv'] as const)[seed % 3] ?? 'gzip';
  writeFileSync(
    configFile,
    configYaml(
      { baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret },
      [{ name: pipeline, format, lookback: 0 }],
    ),
  );
  return {
    emulator,
    db,
    pool,
    home,
    configFile,
    pipeline,
    async close() {
      await pool.end();
      await emulator.close();
      await db.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

const ROUTES: FaultRoute[] = ['token', 'submit', 'job', 'file', 'describe'];

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function randomFault(random: () => number): Fault {
  switch (Math.floor(random() * 7)) {
    case 0:
      return { kind: 'status', status: 429, retryAfterSeconds: 0, route: pick(random, ROUTES) };
    case 1:
      // Retry-After: 0 keeps the trial fast; the backoff itself is covered by the zuora client tests.
      return { kind: 'status', status: pick(random, [500, 502, 503] as const), retryAfterSeconds: 0, route: pick(random, ROUTES) };
    case 2:
      return { kind: 'reset', afterBytes: 50 + Math.floor(random() * 3000) };
    case 3:
      return { kind: 'slow', bytesPerSecond: 20_000 + Math.floor(random() * 40_000) };
    case 4:
      return { kind: 'expire-tokens', route: pick(random, ['job', 'file', 'describe'] as const) };
    case 5:
      return { kind: 'abort-batch', message: 'chaos: batch aborted by the emulator' };
    default:
      return { kind: 'status', status: 503, retryAfterSeconds: 0, route: 'file', times: 2 };
  }
}

function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'status':
      return `${f.status}@${f.route ?? 'any'}`;
    case 'reset':
      return 'reset';
    case 'slow':
      return 'slow';
    case 'expire-tokens':
      return 'token-expiry';
    case 'abort-batch':
      return 'abort-batch';
    default:
      return f.kind;
  }
}

/** Random inserts, updates and deletes of accounts and invoice items at the current emulator time. */
function mutate(world: ChaosWorld, random: () => number, count: number): number {
  const { admin } = world.emulator;
  let done = 0;
  for (let i = 0; i < count; i++) {
    admin.clock.advance(Math.floor(random() * 20_000));
    const accounts = admin.rows('Account').filter((r) => r.deletedAt === undefined);
    const items = admin.rows('InvoiceItem').filter((r) => r.deletedAt === undefined);
    const op = Math.floor(random() * 6);
    const tag = `chaos ${Math.floor(random() * 1e9)}`;
    if (op === 0 || accounts.length < 5) {
      admin.insert('Account', { Name: tag, Status: 'Active', Balance: (random() * 1000).toFixed(2), AutoPay: random() < 0.5 });
    } else if (op === 1 || op === 2) {
      const row = pick(random, accounts);
      admin.update('Account', String(row.values.Id), { Name: `${tag}, "quoted"`, Balance: (random() * 1e6).toFixed(4) });
    } else if (op === 3) {
      admin.remove('Account', String(pick(random, accounts).values.Id));
    } else if (op === 4 && items.length > 0) {
      admin.update('InvoiceItem', String(pick(random, items).values.Id), {
        ChargeAmount: (random() * 500).toFixed(6),
        Quantity: String(1 + Math.floor(random() * 9)),
      });
    } else if (items.length > 0) {
      admin.remove('InvoiceItem', String(pick(random, items).values.Id));
    }
    done++;
  }
  return done;
}

async function compareAll(world: ChaosWorld, changedBefore?: number): Promise<{ problems: string[]; compared: number }> {
  const problems: string[] = [];
  let compared = 0;
  for (const check of TABLES) {
    const diff = await diffTable(world.pool, 'zuora', check, world.emulator.admin.rows(check.object), {
      ...(changedBefore === undefined ? {} : { changedBefore }),
    });
    problems.push(...diff.problems);
    compared += diff.compared;
  }
  return { problems, compared };
}

function syncArgs(world: ChaosWorld): string[] {
  return ['sync', '--config', world.configFile, '--log-format', 'json'];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs one trial; never throws for a product failure, it reports problems instead. */
export async function runTrial(world: ChaosWorld, seed: number): Promise<TrialResult> {
  const random = rng(seed);
  const { admin } = world.emulator;
  const target = pick(random, KILL_PHASES);
  const result: TrialResult = { seed, target, observed: 'startup', faults: [], mutations: 0, rowsCompared: 0, problems: [], notes: [] };
  const env = cliEnv(world.home, world.db.url);

  admin.clock.advance(60_000 + Math.floor(random() * 9 * 60_000));
  result.mutations += mutate(world, random, Math.floor(random() * 5));
  const faultCount = Math.floor(random() * 4);
  for (let i = 0; i < faultCount; i++) {
    const fault = randomFault(random);
    admin.faults.add(fault);
    result.faults.push(describeFault(fault));
  }
  // Downloads and COPY are over in a blink on this small tenant: a slow file gives those kills a window to land in.
  if ((target === 'download' || target === 'copy') && !result.faults.includes('slow')) {
    admin.faults.add({ kind: 'slow', bytesPerSecond: 30_000, times: 3 });
  }
  admin.clearRequests();
  const watermarkBefore = await watermarkOf(world.pool, world.pipeline);

  // ---- the run that gets killed ----
  const seen = { submitted: false, completed: false, staged: false, loaded: false };
  let trigger: (() => void) | undefined;
  const triggered = new Promise<void>((resolve) => (trigger = resolve));
  const run = aquasync(syncArgs(world), env, (line) => {
    if (/submitted job/.test(line)) seen.submitted = true;
    if (/job \S+ completed/.test(line)) seen.completed = true;
    if (/staged \d+ file/.test(line)) {
      seen.staged = true;
      if (target === 'upsert' || target === 'commit') trigger?.();
    }
    if (/loaded \d+ row/.test(line)) seen.loaded = true;
  });
  let exited = false;
  const outcome = run.done.then((o) => {
    exited = true;
    return o;
  });
  const watcher = (async () => {
    const pattern = {
      submit: /batch-query\/?$/,
      poll: /batch-query\/jobs\/[^/]+$/,
      download: /files?\/[^/]+$/,
      copy: /files?\/[^/]+$/,
    } as const;
    if (target === 'upsert' || target === 'commit') return;
    const wanted = pattern[target];
    const method = target === 'submit' ? 'POST' : 'GET';
    while (!exited) {
      if (admin.requests().some((r) => r.method === method && wanted.test(r.path.split('?')[0] ?? ''))) return trigger?.();
      await sleep(2);
    }
  })();
  const concurrentChanges = Math.floor(random() * 3);
  const changer = (async () => {
    for (let i = 0; i < concurrentChanges && !exited; i++) {
      await sleep(Math.floor(random() * 600));
      result.mutations += mutate(world, random, 1);
    }
  })();
  const delay = { submit: 0, poll: 150, download: 40, copy: 300, upsert: 15, commit: 60 }[target];
  const extra = Math.floor(random() * delay);
  await Promise.race([triggered, outcome, sleep(15_000)]);
  if (!exited) await sleep(extra);
  if (!exited) {
    result.observed = seen.loaded
      ? 'after-commit'
      : seen.staged
        ? 'upsert/commit'
        : seen.completed
          ? 'download/copy'
          : seen.submitted
            ? 'submit/poll'
            : 'startup';
    run.child.kill('SIGKILL');
  } else {
    result.observed = 'exited-first';
  }
  const killed: CliOutcome = await outcome;
  await Promise.all([watcher, changer]);
  if (killed.signal === null && killed.code !== 0 && !result.faults.length) {
    result.problems.push(`the run before the kill failed without any fault: ${lastError(killed)}`);
  }

  // ---- the watermark never moves past data that was not loaded ----
  const watermarkAfterKill = await watermarkOf(world.pool, world.pipeline);
  if (watermarkAfterKill) {
    if (watermarkAfterKill.getTime() > admin.clock.now()) {
      result.problems.push(`watermark ${watermarkAfterKill.toISOString()} is ahead of Zuora's clock`);
    }
    if (watermarkBefore && watermarkAfterKill < watermarkBefore) {
      result.problems.push(`watermark moved back from ${watermarkBefore.toISOString()} to ${watermarkAfterKill.toISOString()}`);
    }
    // Changes within the second of the watermark may legitimately fall in the next window (second precision).
    const partial = await compareAll(world, watermarkAfterKill.getTime() - 1000);
    result.problems.push(...partial.problems.map((p) => `after the kill, before the watermark ${watermarkAfterKill.toISOString()}: ${p}`));
  }

  // ---- a clean run recovers everything ----
  admin.faults.clear();
  result.mutations += mutate(world, random, Math.floor(random() * 3));
  admin.clock.advance(2000);
  let clean = await aquasync(syncArgs(world), env).done;
  if (clean.code !== 0 && /chaos: batch aborted/.test(clean.stdout + clean.stderr)) {
    // The killed run never saw Zuora abort its job; the run that resumes it reports the abort, the next one recovers.
    result.notes.push('resumed job was aborted by Zuora; one more run');
    admin.clock.advance(2000);
    clean = await aquasync(syncArgs(world), env).done;
  }
  if (clean.code === 0 && /resuming unfinished job/.test(clean.stdout + clean.stderr)) {
    // A resumed job loads Zuora as of when that job started; changes made since are the next run's window.
    admin.clock.advance(2000);
    clean = await aquasync(syncArgs(world), env).done;
  }
  if (clean.code !== 0) {
    result.problems.push(`the clean sync exited ${String(clean.code)}: ${lastError(clean)}`);
  }
  const full = await compareAll(world);
  result.rowsCompared = full.compared;
  result.problems.push(...full.problems.slice(0, 20));
  if (full.problems.length > 20) result.problems.push(`... and ${full.problems.length - 20} more differences`);
  result.problems.push(...(await stuckWork(world.pool)));
  return result;
}

function lastError(o: CliOutcome): string {
  const lines = `${o.stderr}\n${o.stdout}`.split('\n').filter((l) => /error|ERROR/.test(l));
  return (lines.at(-1) ?? o.stderr.trim().split('\n').at(-1) ?? '').slice(0, 400);
}
