// Power cuts of the warehouse: a private Postgres cluster stopped with `pg_ctl stop -m immediate` in the middle of
// a real `aquasync sync`, then started again (crash recovery: unlogged stage tables come back empty while the
// records saying "staged" survive; the logged typed stage of a first load keeps what was committed). The next run
// must load every row and delete nothing Zuora still has.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';
import { APPLY_LOCK_CLASS } from '../../src/state/index.ts';
import { startCluster, type Cluster } from '../helpers/cluster.ts';
import { testPool } from '../helpers/db.ts';
import { ACCOUNT_FIELDS, aquasync, cliEnv, configYaml, diffTable, TABLES, type CliOutcome, type PipelineYaml } from './harness.ts';

let cluster: Cluster;
let emulator: Emulator;
let home: string;
let dbNo = 0;

beforeAll(async () => {
  cluster = await startCluster();
  home = mkdtempSync(join(tmpdir(), 'aquasync-powercut-'));
  chmodSync(home, 0o755);
}, 120_000);

afterAll(async () => {
  await emulator?.close();
  await cluster?.destroy();
  if (home) rmSync(home, { recursive: true, force: true });
});

afterEach(async () => {
  await emulator?.close();
});

interface World {
  url: string;
  config: string;
  firstLoadAt: () => number;
  sync(): { done: Promise<CliOutcome>; exited: () => boolean };
  reconfigure(p: Partial<PipelineYaml>): void;
}

async function world(pipeline: Partial<PipelineYaml>): Promise<World> {
  emulator = await startEmulator({ seed: 11, rows: 4000, segmentSize: 400, timing: { queuedMs: 5, executingMs: 10 }, clockStart: Date.parse('2026-03-02T10:00:00Z') });
  const name = `pc_${++dbNo}`;
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = cluster.url(name);
  const config = join(home, `${name}.yaml`);
  const source = { baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret };
  const write = (p: Partial<PipelineYaml>): void => writeFileSync(config, configYaml(source, [{ name: 'pc', format: 'gzip', concurrency: 1, ...pipeline, ...p }]));
  write({});
  return {
    url,
    config,
    firstLoadAt: () => Math.min(...emulator.admin.jobs().filter((j) => j.api === 'aqua' && j.mode === 'stateful').map((j) => j.startedAt ?? Infinity)),
    sync() {
      const run = aquasync(['sync', '--config', config], cliEnv(home, url));
      let exited = false;
      void run.done.then(() => (exited = true));
      return { done: run.done, exited: () => exited };
    },
    reconfigure: write,
  };
}

/** Polls `probe` on a fresh connection until it returns true (or the run exits first). */
async function when(url: string, probe: string, exited: () => boolean): Promise<boolean> {
  const pool = testPool({ connectionString: url, max: 1 });
  try {
    for (const until = Date.now() + 60_000; Date.now() < until && !exited(); ) {
      const ok = await pool.query<{ ok: boolean }>(probe).then((r) => r.rows[0]?.ok === true, () => false);
      if (ok) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  } finally {
    await pool.end();
  }
}

/** `stages`: whether the cut emptied the (unlogged, text) stages, which the next run must notice, or kept them. */
async function expectEqualToZuora(w: World, next: CliOutcome, deletes: 'soft' | 'hard' = 'soft', stages: 'lost' | 'kept' = 'lost'): Promise<void> {
  const pool = testPool({ connectionString: w.url, max: 1 });
  try {
    for (const check of TABLES) {
      const diff = await diffTable(pool, 'zuora', check, emulator.admin.rows(check.object), { deletes, firstLoadAt: w.firstLoadAt() });
      expect(diff.problems).toEqual([]);
    }
    const lost = await pool.query("select count(*)::int as n from aquasync.events where kind = 'staged-rows-lost'");
    if (stages === 'kept') {
      expect(lost.rows[0]?.n, 'nothing staged was lost').toBe(0);
      return;
    }
    expect(lost.rows[0]?.n, 'the run noticed the staged rows were gone').toBeGreaterThan(0);
    expect(next.stdout + next.stderr).toMatch(/lost their rows/);
  } finally {
    await pool.end();
  }
}

/** When each staged (or applied) file was staged, by file id. */
async function stagedAt(url: string): Promise<Map<string, string>> {
  const pool = testPool({ connectionString: url, max: 1 });
  try {
    const rows = await pool.query<{ file_id: string; at: string }>("select file_id, staged_at::text as at from aquasync.files where staged_at is not null");
    return new Map(rows.rows.map((r) => [r.file_id, r.at]));
  } finally {
    await pool.end();
  }
}

/** The run that loses its warehouse fails; once the server is back, one run recovers everything. */
async function recover(w: World, killed: Promise<CliOutcome>): Promise<CliOutcome> {
  const t0 = Date.now();
  const out = await killed;
  if (process.env.AQUASYNC_DEBUG) console.log('killed run exited after', Date.now() - t0);
  if (process.env.AQUASYNC_DEBUG) console.log('KILLED RUN', out.stdout, out.stderr);
  expect(out.code).toBe(1);
  expect(out.stderr).not.toMatch(/unexpected error/);
  await cluster.start();
  if (process.env.AQUASYNC_DEBUG) console.log('restarted after', Date.now() - t0);
  emulator.admin.faults.clear();
  const next = await w.sync().done;
  if (process.env.AQUASYNC_DEBUG) console.log('NEXT RUN', next.stdout, next.stderr);
  expect(next.code, next.stderr).toBe(0);
  return next;
}

describe('a power cut of the warehouse', () => {
  it('while the third file of a first load downloads: the typed stage keeps the files staged before the cut, and every row loads', async () => {
    const w = await world({ deletes: 'hard' });
    // Each file takes about a second: the cut lands while a later file still downloads.
    emulator.admin.faults.add({ kind: 'slow', bytesPerSecond: 40_000, times: 100 });
    const run = w.sync();
    const staged = await when(w.url, "select count(*) >= 2 as ok from aquasync.files where status = 'staged'", run.exited);
    expect(staged, 'two files were staged before the cut').toBe(true);
    const before = await stagedAt(w.url);
    await cluster.crash();
    await expectEqualToZuora(w, await recover(w, run.done), 'hard', 'kept');
    // A commit acknowledged just before the cut may be lost with its record (staging commits asynchronously); every
    // other file staged before the cut went in as it was, without a second download.
    const after = await stagedAt(w.url);
    const kept = [...before].filter(([file, at]) => after.get(file) === at);
    expect(kept.length, JSON.stringify({ before: [...before], after: [...after] })).toBeGreaterThanOrEqual(before.size - 1);
    expect(kept.length).toBeGreaterThan(0);
  }, 120_000);

  it('while the apply transaction waits: nothing half-applied, the next run proves the stages again', async () => {
    const w = await world({});
    const first = await w.sync().done;
    expect(first.code, first.stderr).toBe(0);
    const { admin } = emulator;
    admin.clock.advance(60_000);
    for (const row of admin.rows('Account').filter((r) => r.deletedAt === undefined).slice(0, 5)) admin.update('Account', String(row.values.Id), { Name: 'after the cut' });
    admin.remove('Account', String(admin.rows('Account').find((r) => r.deletedAt === undefined)?.values.Id));
    admin.clock.advance(60_000);
    // Holding the schema's apply lock parks the apply transaction once every file is staged.
    const locker = new pg.Client({ connectionString: w.url });
    await locker.connect();
    locker.on('error', () => undefined);
    await locker.query("select pg_advisory_lock($1, hashtext('zuora'))", [APPLY_LOCK_CLASS]);
    const run = w.sync();
    const waiting = await when(w.url, "select count(*) > 0 as ok from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%pg_advisory_xact_lock%'", run.exited);
    expect(waiting, 'the apply was waiting on the table').toBe(true);
    await cluster.crash();
    await locker.end().catch(() => undefined);
    await expectEqualToZuora(w, await recover(w, run.done));
  }, 120_000);

  it('while an owed snapshot stages (query changed, deletes: hard): no row Zuora still has is deleted', async () => {
    const w = await world({ deletes: 'hard' });
    const first = await w.sync().done;
    expect(first.code, first.stderr).toBe(0);
    const { admin } = emulator;
    admin.clock.advance(60_000);
    admin.remove('Account', String(admin.rows('Account').find((r) => r.deletedAt === undefined)?.values.Id));
    admin.clock.advance(60_000);
    w.reconfigure({ deletes: 'hard', accountFields: [...ACCOUNT_FIELDS.slice(0, 1), 'AccountNumber', ...ACCOUNT_FIELDS.slice(1)] });
    admin.faults.add({ kind: 'slow', bytesPerSecond: 20_000, times: 100 });
    // Holding the schema's apply lock keeps the run from committing before the cut, however fast it stages.
    const locker = new pg.Client({ connectionString: w.url });
    await locker.connect();
    locker.on('error', () => undefined);
    await locker.query("select pg_advisory_lock($1, hashtext('zuora'))", [APPLY_LOCK_CLASS]);
    const run = w.sync();
    const staged = await when(
      w.url,
      "select count(*) >= 1 as ok from aquasync.files f join aquasync.jobs j on j.id = f.job_id where j.kind = 'snapshot' and f.status = 'staged'",
      run.exited,
    );
    expect(staged, 'the snapshot job had a staged file before the cut').toBe(true);
    await cluster.crash();
    await locker.end().catch(() => undefined);
    await expectEqualToZuora(w, await recover(w, run.done), 'hard');
    const pool = testPool({ connectionString: w.url, max: 1 });
    try {
      // The added column is filled for every row, not only for the rows changed since the watermark.
      const { rows } = await pool.query<{ id: string; account_number: string | null }>('select id, account_number from zuora.account where not _aquasync_deleted');
      const truth = new Map(admin.rows('Account').map((r) => [String(r.values.Id), r.values.AccountNumber || null]));
      expect(rows.length).toBeGreaterThan(50);
      expect(rows.filter((r) => r.account_number !== truth.get(r.id))).toEqual([]);
    } finally {
      await pool.end();
    }
  }, 120_000);
});
