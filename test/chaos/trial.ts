// One chaos trial, as planned by plan.ts: a fresh tenant (with Zuora's readings drawn from the seed) and a fresh
// warehouse database on a private Postgres cluster the trial may crash; two rounds (first load, then changes), each
// run by a real `aquasync sync` that gets faults, concurrent changes, maybe a concurrent backfill or second sync,
// and a kill of aquasync or of the warehouse server in the phase the plan aims at; then recovery runs, and the
// oracle. Never throws for a product failure: problems are reported, with the seed that replays them.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, openWarehouse } from '../../src/db/index.ts';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';
import { APPLY_LOCK_CLASS } from '../../src/state/index.ts';
import { startCluster, type Cluster } from '../helpers/cluster.ts';
import { testPool } from '../helpers/db.ts';
import { aquasync, cliEnv, configYaml, diffTable, tablesOf, type CliOutcome, type CliRun, type PipelineYaml } from './harness.ts';
import { describePlan, pick, rng, type Kill, type Phase, type RoundPlan, type TrialPlan } from './plan.ts';

/** Where a kill really landed, read from the warehouse state just before it. */
export type Observed = Phase | 'startup' | 'exited-first' | 'trigger-missed';

export interface KillRecord {
  round: number;
  recovery: boolean;
  aimed: Kill;
  observed: Observed;
}

export interface TrialResult {
  seed: number;
  description: string;
  kills: KillRecord[];
  faults: string[];
  /** Recovery runs each round needed before a run succeeded. */
  recoveryRuns: number[];
  /** Why a round was allowed more than one recovery run. */
  justified: string[];
  rowsCompared: number;
  problems: string[];
  durationMs: number;
}

export interface ChaosWorld {
  cluster: Cluster;
  home: string;
  close(): Promise<void>;
}

/** One private Postgres cluster (a trial may crash it) and a home folder, shared by the trials of a worker. */
export async function startChaosWorld(): Promise<ChaosWorld> {
  const cluster = await startCluster();
  const home = mkdtempSync(join(tmpdir(), 'aquasync-chaos-'));
  chmodSync(home, 0o755);
  return {
    cluster,
    home,
    async close() {
      await cluster.destroy();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

const CLOCK_START = Date.parse('2026-11-01T07:30:00Z'); // 00:30 PDT on the fall-back day: the repeated hour comes soon
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Trial {
  readonly result: TrialResult;
  private readonly random: () => number;
  private emulator!: Emulator;
  private url = '';
  private configFile = '';
  private pipelines: PipelineYaml[];
  private poisoned = new Set<string>();
  private pool: pg.Pool | undefined;

  constructor(
    private readonly world: ChaosWorld,
    private readonly plan: TrialPlan,
  ) {
    this.random = rng(plan.seed ^ 0x5eed);
    this.pipelines = plan.pipelines.map((p) => ({ ...p }));
    this.result = { seed: plan.seed, description: describePlan(plan), kills: [], faults: [], recoveryRuns: [], justified: [], rowsCompared: 0, problems: [], durationMs: 0 };
  }

  async run(): Promise<TrialResult> {
    const started = Date.now();
    const database = `chaos_${this.plan.seed}_${Math.floor(Math.random() * 1e9)}`;
    this.emulator = await startEmulator({
      seed: this.plan.seed,
      rows: this.plan.rows,
      segmentSize: this.plan.segmentSize,
      timing: { queuedMs: 20, executingMs: 40 },
      clockStart: CLOCK_START,
      readings: this.plan.readings,
      dataCenter: this.plan.dataCenter,
      startTimeFormat: this.plan.startTimeFormat,
    });
    try {
      await this.admin(`create database ${database}`);
      this.url = this.world.cluster.url(database);
      const warehouse = await openWarehouse({ databaseUrl: this.url });
      await migrate(warehouse.db).finally(() => warehouse.close());
      this.configFile = join(this.world.home, `${database}.yaml`);
      this.writeConfig();
      for (const [index, round] of this.plan.rounds.entries()) await this.round(index, round);
      await this.finalCheck();
      if (this.result.problems.length > 0 && process.env.AQUASYNC_CHAOS_DEBUG) await this.diagnose();
    } catch (error) {
      this.result.problems.push(`the trial itself failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    } finally {
      await this.pool?.end().catch(() => undefined);
      await this.emulator.close();
      await this.world.cluster.start().catch(() => undefined); // already running after every kill; cheap no-op otherwise
      await this.admin(`drop database if exists ${database} with (force)`).catch(() => undefined);
      rmSync(this.configFile, { force: true });
      this.result.durationMs = Date.now() - started;
    }
    return this.result;
  }

  // ---- rounds ----

  private async round(index: number, round: RoundPlan): Promise<void> {
    const { admin } = this.emulator;
    admin.clock.advance(60_000 + Math.floor(this.random() * 5 * 60_000));
    this.mutate(round.mutations);
    if (round.poison) this.poison();
    if (round.configChange) {
      const first = this.pipelines[0] as PipelineYaml;
      first.accountFields = [...(first.accountFields ?? tablesOf(first, 0)[0]!.fields), 'AccountNumber'];
      this.writeConfig();
    }
    for (const f of round.faults) {
      admin.faults.add(f.fault);
      this.result.faults.push(f.label);
    }
    const before = await this.watermarks();
    const outcome = await this.attempt(index, round.kill, false, round);
    const after = await this.watermarks();
    for (const [name, mark] of after) {
      const old = before.get(name);
      if (old !== undefined && mark !== undefined && mark < old) this.result.problems.push(`round ${index + 1}: watermark of ${name} moved back from ${new Date(old).toISOString()} to ${new Date(mark).toISOString()}`);
    }
    await this.checkWatermarks(`round ${index + 1}, after the ${round.kill ? 'kill' : 'run'}`);

    // ---- recovery: every fault cleared; the first recovery run may be killed too ----
    admin.faults.clear();
    const bound = 1 + round.faults.filter((f) => f.endsJob).length + (round.recoveryKill ? 1 : 0) + (round.kill?.phase === 'committed' ? 0 : 0);
    const reasons = [...round.faults.filter((f) => f.endsJob).map((f) => `${f.label} ended a job`), ...(round.recoveryKill ? ['the first recovery run was killed'] : [])];
    let recoveries = 0;
    let ok = outcome?.code === 0 && !round.kill;
    // A job a fault ended in Zuora (job-error, aborted) may fail the run that resumes it: one failed recovery run
    // per such fault is expected (and noted), any other failure is a problem.
    let failuresAllowed = round.faults.filter((f) => f.endsJob).length;
    while (!ok && recoveries < bound + 1) {
      recoveries += 1;
      const kill = recoveries === 1 ? round.recoveryKill : undefined;
      const out = await this.attempt(index, kill, true, undefined);
      ok = out?.code === 0 && kill === undefined;
      if (ok || kill !== undefined || !out) continue;
      const failure = `round ${index + 1}: recovery run ${recoveries} exited ${String(out.code)}: ${lastError(out)}`;
      if (failuresAllowed > 0) {
        failuresAllowed -= 1;
        this.result.justified.push(`${failure} (a job a fault ended)`);
      } else {
        this.result.problems.push(failure);
      }
    }
    this.result.recoveryRuns.push(recoveries);
    if (recoveries > 1) this.result.justified.push(`round ${index + 1}: ${recoveries} recovery runs (${reasons.join(', ') || 'no reason'})`);
    if (!ok) this.result.problems.push(`round ${index + 1}: no run succeeded after ${recoveries} recovery run(s)`);
    else if (recoveries > bound) this.result.problems.push(`round ${index + 1}: needed ${recoveries} recovery runs, more than the ${bound} its faults justify (${reasons.join(', ') || 'none'})`);
    if (round.concurrent === 'backfill') await this.finishBackfill(index);
    await this.checkWatermarks(`round ${index + 1}, after recovery`);
    await this.compare(`round ${index + 1}, after recovery`, 'cutoff');
  }

  /**
   * One `aquasync sync` (with the round's concurrent work when `round` is given), killed at `kill`'s phase if any.
   * Returns the sync's outcome (undefined when it was killed).
   */
  private async attempt(index: number, kill: Kill | undefined, recovery: boolean, round: RoundPlan | undefined): Promise<CliOutcome | undefined> {
    const lines: string[] = [];
    const t0 = Date.now();
    const aid = kill ? await this.armAid(kill.phase) : undefined;
    // Right after a commit the run has little left to do: a process kill for `committed` strikes on the log line.
    let struck = false;
    const main: CliRun = aquasync(['sync', '--config', this.configFile, '--log-format', 'json'], this.env(), { onLine: (line) => {
      lines.push(line);
      if (kill?.phase === 'committed' && kill.target === 'process' && !struck && /wrote \d+ row/.test(line)) {
        struck = true;
        main.child.kill('SIGKILL');
      }
    } });
    const others: CliRun[] = [];
    if (round?.concurrent === 'backfill') others.push(this.backfill());
    if (round?.concurrent === 'second-sync') others.push(aquasync(['sync', '--config', this.configFile], this.env()));
    let exited = false;
    void main.done.then(() => (exited = true));
    const changer = round ? this.concurrentChanges(round.concurrentMutations, () => exited) : Promise.resolve();
    let outcome: CliOutcome | undefined;
    if (kill) {
      const observed = await this.trigger(kill.phase, () => exited, lines, () => struck);
      if (observed !== 'exited-first') await this.kill(kill, [main, ...others]);
      // What held the phase open goes (a run that outlived a warehouse kill goes on and meets the restarted server).
      this.emulator.admin.faults.clear();
      await aid?.release();
      this.result.kills.push({ round: index, recovery, aimed: kill, observed });
      const done = await main.done;
      outcome = observed === 'exited-first' ? done : undefined;
    } else {
      outcome = await main.done;
    }
    await Promise.all(others.map((o) => o.done));
    await changer;
    if (process.env.AQUASYNC_CHAOS_DEBUG) process.stderr.write(`  seed ${this.plan.seed} round ${index + 1}${recovery ? ' recovery' : ''} ${kill ? `kill ${kill.target}@${kill.phase}` : 'run'}: ${Date.now() - t0} ms\n`);
    return outcome;
  }

  private backfill(): CliRun {
    const p = this.pipelines[0] as PipelineYaml;
    return aquasync(['backfill', '--config', this.configFile, '--pipeline', p.name, '--since', '2000-01-01T00:00:00Z', '--window', '20000d'], this.env());
  }

  /** A backfill the kill cut short (or the warehouse failed) is run again until it finishes. */
  private async finishBackfill(index: number): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const out = await this.backfill().done;
      if (out.code === 0) return;
    }
    this.result.problems.push(`round ${index + 1}: the concurrent backfill did not finish in 3 runs`);
  }

  // ---- phases: what holds each one open, and how a trial knows it is there ----

  private async armAid(phase: Phase): Promise<{ release(): Promise<void> } | undefined> {
    const { admin } = this.emulator;
    const none = { release: async () => undefined };
    switch (phase) {
      case 'submitting':
        // Long enough for the trial to see the job and strike; a warehouse-only kill leaves the run waiting this long.
        admin.faults.add({ kind: 'delay', ms: 4000, route: 'submit' });
        return none;
      case 'polling':
        admin.faults.add({ kind: 'stuck' });
        return none;
      case 'staging':
        // A small incremental file at 3000 B/s downloads in well under a second: the first download also waits 2 s
        // before it starts, so the phase lasts long enough to be seen on a busy machine.
        admin.faults.add({ kind: 'delay', ms: 2000, route: 'file' });
        admin.faults.add({ kind: 'slow', bytesPerSecond: 3000, times: 1000 });
        return none;
      case 'snapshot':
        admin.faults.add({ kind: 'slow', bytesPerSecond: 3000, times: 1000 });
        return none;
      case 'applying':
      case 'merging': {
        const client = new pg.Client({ connectionString: this.url });
        client.on('error', () => undefined);
        await client.connect();
        try {
          if (phase === 'applying') await client.query("select pg_advisory_lock($1, hashtext('zuora'))", [APPLY_LOCK_CLASS]);
          else {
            await client.query('begin');
            await client.query('lock table zuora.account in access exclusive mode');
          }
        } catch {
          // No table to lock yet (an earlier round never loaded): the kill then lands wherever the run is.
          await client.end().catch(() => undefined);
          return none;
        }
        return { release: () => client.end().catch(() => undefined) };
      }
      default:
        return none;
    }
  }

  private async trigger(phase: Phase, exited: () => boolean, lines: string[], struck: () => boolean = () => false): Promise<Observed> {
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      if (struck()) return phase;
      if (exited()) return 'exited-first';
      const now = await this.phaseNow(phase, lines).catch(() => undefined);
      if (now === phase) return now;
      await sleep(5);
    }
    return 'trigger-missed';
  }

  /** The aimed phase when any pipeline's run is in it, else the phase pipeline 0 is in. */
  private async phaseNow(aimed: Phase, lines: string[]): Promise<Observed> {
    let first: Observed | undefined;
    for (const p of this.pipelines) {
      const now = await this.phaseOf(p.name, aimed, lines);
      if (now === aimed) return now;
      first ??= now;
    }
    return first ?? 'startup';
  }

  /** The phase the run of one pipeline is in, from the warehouse (and, for `committed`, the run's log). */
  private async phaseOf(name: string, aimed: Phase, lines: string[]): Promise<Observed> {
    const pool = this.admin2();
    const { rows } = await pool.query<{ kind: string; status: string; zuora: string | null; files: number; staged: number }>(
      `select j.kind, j.status, j.zuora_job_id as zuora,
              (select count(*)::int from aquasync.files f where f.job_id = j.id) as files,
              (select count(*)::int from aquasync.files f where f.job_id = j.id and f.status = 'staged') as staged
         from aquasync.jobs j where j.pipeline = $1 and j.kind in ('sync', 'snapshot')
          and j.status in ('submitting', 'submitted', 'completed', 'staged') order by j.id`,
      [name],
    );
    if (aimed === 'committed') return lines.some((l) => /wrote \d+ row/.test(l)) ? 'committed' : 'startup';
    const parent = rows.find((r) => r.kind === 'sync');
    const child = rows.find((r) => r.kind === 'snapshot');
    if (!parent) return 'startup';
    if (parent.zuora === null) return 'submitting';
    if (parent.status === 'submitted') return 'polling';
    if (child) return child.staged < child.files || child.status !== 'completed' ? 'snapshot' : await this.applyPhase();
    if (parent.staged < parent.files) return parent.staged > 0 || parent.files > 0 ? 'staging' : 'startup';
    return this.applyPhase();
  }

  /** Inside the apply: waiting for the schema's apply lock, or in a merge statement waiting on the table. */
  private async applyPhase(): Promise<Observed> {
    const { rows } = await this.admin2().query<{ query: string }>(
      "select query from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database() and pid <> pg_backend_pid()",
    );
    if (rows.some((r) => /(insert into|alter table) "zuora"\."account"/i.test(r.query))) return 'merging';
    if (rows.some((r) => /pg_advisory_xact_lock/.test(r.query))) return 'applying';
    return 'startup';
  }

  private async kill(kill: Kill, runs: CliRun[]): Promise<void> {
    if (kill.target === 'process') {
      for (const run of runs) run.child.kill('SIGKILL');
      return;
    }
    await this.pool?.end().catch(() => undefined);
    this.pool = undefined;
    await this.world.cluster.crash();
    await this.world.cluster.start();
  }

  // ---- Zuora's data ----

  private mutate(count: number): void {
    const { admin } = this.emulator;
    for (let i = 0; i < count; i++) {
      admin.clock.advance(Math.floor(this.random() * 20_000));
      const accounts = admin.rows('Account').filter((r) => r.deletedAt === undefined && !this.poisoned.has(String(r.values.Id)));
      const items = admin.rows('InvoiceItem').filter((r) => r.deletedAt === undefined);
      const op = Math.floor(this.random() * 6);
      const tag = `chaos ${Math.floor(this.random() * 1e9)}`;
      if (op === 0 || accounts.length < 5) admin.insert('Account', { Name: tag, Status: 'Active', Balance: (this.random() * 1000).toFixed(2), AutoPay: this.random() < 0.5 });
      else if (op <= 2) admin.update('Account', String(pick(this.random, accounts).values.Id), { Name: `${tag}, "quoted"`, Balance: (this.random() * 1e6).toFixed(4) });
      else if (op === 3) admin.remove('Account', String(pick(this.random, accounts).values.Id));
      else if (op === 4 && items.length > 0) admin.update('InvoiceItem', String(pick(this.random, items).values.Id), { ChargeAmount: (this.random() * 500).toFixed(6), Quantity: String(1 + Math.floor(this.random() * 9)) });
      else if (items.length > 0) admin.remove('InvoiceItem', String(pick(this.random, items).values.Id));
    }
  }

  /** A value no column can take (bigint overflow: quarantined) and a NUL byte in a name (removed). */
  private poison(): void {
    const { admin } = this.emulator;
    const live = admin.rows('Account').filter((r) => r.deletedAt === undefined && !this.poisoned.has(String(r.values.Id)));
    const [bad, nul] = [pick(this.random, live), pick(this.random, live)];
    admin.update('Account', String(bad.values.Id), { BillCycleDay: '99999999999999999999' });
    this.poisoned.add(String(bad.values.Id));
    if (nul !== bad) admin.update('Account', String(nul.values.Id), { Name: `nul \u0000 byte ${Math.floor(this.random() * 1000)}` });
  }

  private async concurrentChanges(count: number, exited: () => boolean): Promise<void> {
    for (let i = 0; i < count && !exited(); i++) {
      await sleep(Math.floor(this.random() * 400));
      this.mutate(1);
    }
  }

  // ---- the oracle ----

  private async finalCheck(): Promise<void> {
    // The next sync always exists: with no faults and no changes, it must leave the warehouse equal to Zuora. Its
    // window ends `offset` before it starts, so the clock first moves past the largest offset.
    const offset = Math.max(0, ...this.pipelines.map((p) => p.offset ?? 0));
    this.emulator.admin.clock.advance(offset * 1000 + 5000);
    const out = await aquasync(['sync', '--config', this.configFile], this.env()).done;
    if (out.code !== 0) this.result.problems.push(`the final sync exited ${String(out.code)}: ${lastError(out)}`);
    await this.compare('at the end', 'full');
    await this.checkWatermarks('at the end');
    await this.checkJobs();
    await this.checkQuarantine();
    const pool = this.admin2();
    const stuck = await pool.query<{ what: string }>(
      `select 'run ' || id || ' of ' || pipeline || ' is still running' as what from aquasync.runs where status = 'running'
       union all select 'job ' || id || ' (' || kind || ') is still ' || status from aquasync.jobs where status in ('submitting', 'submitted', 'completed', 'staged')`,
    );
    this.result.problems.push(...stuck.rows.map((r) => r.what));
  }

  /** `cutoff`: rows changed before the watermark must be exact (later ones are the next run's); `full`: all rows. */
  private async compare(when: string, mode: 'cutoff' | 'full'): Promise<void> {
    const pool = this.admin2();
    const marks = await this.watermarks();
    let compared = 0;
    for (const [index, p] of this.pipelines.entries()) {
      const mark = marks.get(p.name);
      if (mode === 'cutoff' && mark === undefined) continue;
      const firstLoadAt = await this.firstLoadAt(p.name);
      for (const check of tablesOf(p, index)) {
        const diff = await diffTable(pool, 'zuora', check, this.emulator.admin.rows(check.object), {
          deletes: p.deletes ?? 'soft',
          ...(firstLoadAt === undefined ? {} : { firstLoadAt }),
          ...(mode === 'cutoff' && mark !== undefined ? { changedBefore: mark - 1000 } : {}),
          skipIds: this.poisoned,
          related: { Contact: this.emulator.admin.rows('Contact'), Invoice: this.emulator.admin.rows('Invoice') },
        });
        compared += diff.compared;
        this.result.problems.push(...diff.problems.slice(0, 10).map((d) => `${when}: ${p.name}: ${d}`));
        if (diff.problems.length > 10) this.result.problems.push(`${when}: ${p.name}: ... and ${diff.problems.length - 10} more`);
      }
    }
    if (mode === 'full') this.result.rowsCompared = compared;
  }

  /** Start of the first stateful job this warehouse applied: deletions from then on must all show. */
  private async firstLoadAt(pipeline: string): Promise<number | undefined> {
    const { rows } = await this.admin2().query<{ z: string }>(
      "select zuora_job_id as z from aquasync.jobs where pipeline = $1 and kind = 'sync' and status = 'applied' order by id limit 1",
      [pipeline],
    );
    const job = this.emulator.admin.jobs().find((j) => j.id === rows[0]?.z);
    return job?.startedAt;
  }

  /** The watermark is never ahead of the start of the last applied job minus its offset. */
  private async checkWatermarks(when: string): Promise<void> {
    const marks = await this.watermarks();
    for (const p of this.pipelines) {
      const mark = marks.get(p.name);
      if (mark === undefined) continue;
      const { rows } = await this.admin2().query<{ z: string }>(
        "select zuora_job_id as z from aquasync.jobs where pipeline = $1 and kind = 'sync' and status = 'applied'",
        [p.name],
      );
      const applied = rows.map((r) => this.emulator.admin.jobs().find((j) => j.id === r.z)).filter((j) => j?.startedAt !== undefined);
      const limit = Math.max(...applied.map((j) => (j?.startedAt ?? 0) - (p.offset ?? 0) * 1000));
      if (applied.length === 0 || mark > limit) {
        this.result.problems.push(`${when}: watermark of ${p.name} ${new Date(mark).toISOString()} is ahead of the last applied job's start minus its offset (${Number.isFinite(limit) ? new Date(limit).toISOString() : 'no job applied'})`);
      }
    }
  }

  /** Exactly one Zuora job per attempted run: every Zuora job is a recorded job (an orphan only if Zuora ignored the key). */
  private async checkJobs(): Promise<void> {
    const { rows } = await this.admin2().query<{ z: string | null; kind: string; status: string }>('select zuora_job_id as z, kind, status from aquasync.jobs');
    const recorded = new Set(rows.map((r) => r.z).filter((z): z is string => z !== null));
    const zuora = this.emulator.admin.jobs().filter((j) => j.api === 'aqua');
    const orphans = zuora.filter((j) => !recorded.has(j.id));
    // A kill aimed at one phase of one run can cut another run's submit short when several runs go at once (two
    // pipelines, a second sync or a backfill beside it): then every kill may have struck a submit.
    const concurrent = this.pipelines.length > 1 || this.plan.rounds.some((r) => r.concurrent !== undefined);
    // The snapshot phase submits the snapshot job, so a kill there can cut a submit short too.
    const submitKills = concurrent ? this.result.kills.length : this.result.kills.filter((k) => k.observed === 'submitting' || k.observed === 'snapshot').length;
    // A stateless job (backfill window, snapshot) submitted just before a crash, whose range a later command
    // superseded, is abandoned with its Zuora id unknown: harmless (no session state), and recorded as such.
    const unknownStateless = rows.filter((r) => r.z === null && r.kind !== 'sync' && r.status === 'abandoned').length;
    const stateful = orphans.filter((j) => j.mode === 'stateful').length;
    const stateless = orphans.length - stateful;
    const allowedStateful = this.plan.readings.idempotencyKey === 'ignored' ? submitKills : 0;
    const allowedStateless = allowedStateful + unknownStateless;
    if (stateful > allowedStateful || stateless > allowedStateless) {
      this.result.problems.push(
        `${orphans.length} Zuora job(s) no run recorded (${orphans.map((j) => `${j.mode} ${j.status}`).join(', ')}); at most ${allowedStateful} stateful and ${allowedStateless} stateless allowed`,
      );
    }
  }

  /** Every poisoned row is in the quarantine of each pipeline that loaded it. */
  private async checkQuarantine(): Promise<void> {
    if (this.poisoned.size === 0) return;
    const { rows } = await this.admin2().query<{ pipeline: string; raw: string }>('select pipeline, raw_line as raw from aquasync.rejected_rows');
    for (const id of this.poisoned) {
      for (const p of this.pipelines) {
        if (!rows.some((r) => r.pipeline === p.name && r.raw.includes(id))) this.result.problems.push(`poisoned account ${id} is not quarantined for ${p.name}`);
      }
    }
  }

  // ---- plumbing ----

  private writeConfig(): void {
    const { emulator } = this;
    writeFileSync(
      this.configFile,
      configYaml({ baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret, dataCenter: this.plan.dataCenter }, this.pipelines),
    );
  }

  private env(): NodeJS.ProcessEnv {
    return cliEnv(this.world.home, this.url, { AQUASYNC_JOB_BUDGET: '4' });
  }

  /** On a replay with AQUASYNC_CHAOS_DEBUG: the jobs, events, files and quarantined rows behind the problems. */
  private async diagnose(): Promise<void> {
    const pool = this.admin2();
    const jobs = await pool.query(
      `select id, pipeline, kind, status, zuora_job_id, parent_job_id, incremental_time, window_from, window_to, error from aquasync.jobs order by id`,
    );
    for (const j of jobs.rows) process.stderr.write(`  job ${JSON.stringify(j)}\n`);
    const events = await pool.query('select pipeline, job_id, kind, message from aquasync.events order by id');
    for (const e of events.rows) process.stderr.write(`  event ${JSON.stringify(e)}\n`);
    const files = await pool.query("select job_id, file_id, batch_name, status, rows, header::text from aquasync.files where batch_name ilike '%account%' order by job_id");
    for (const f of files.rows) process.stderr.write(`  file ${JSON.stringify(f)}\n`);
    const rejected = await pool.query('select pipeline, job_id, file_id, line, error, raw_line as raw, times_seen from aquasync.rejected_rows order by id');
    for (const r of rejected.rows) process.stderr.write(`  rejected ${JSON.stringify(r)}\n`);
  }

  private admin2(): pg.Pool {
    this.pool ??= testPool({ connectionString: this.url, max: 2 });
    return this.pool;
  }

  private async watermarks(): Promise<Map<string, number>> {
    const { rows } = await this.admin2().query<{ pipeline: string; watermark: Date }>('select pipeline, watermark from aquasync.watermarks');
    return new Map(rows.map((r) => [r.pipeline, r.watermark.getTime()]));
  }

  private async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.world.cluster.url() });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

export function runTrial(world: ChaosWorld, plan: TrialPlan): Promise<TrialResult> {
  return new Trial(world, plan).run();
}

function lastError(o: CliOutcome): string {
  const lines = `${o.stderr}\n${o.stdout}`.split('\n').filter((l) => /error|ERROR/.test(l));
  return (lines.at(-1) ?? o.stderr.trim().split('\n').at(-1) ?? '').slice(0, 400);
}
