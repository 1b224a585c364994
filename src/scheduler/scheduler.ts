// The long-lived scheduler of one replica: a node-cron task per pipeline whose firings are claimed in Postgres
// (coordinator.ts + slots.ts), a lease heartbeat for every run, a sweeper that takes over runs of dead replicas,
// a start-up resume of unfinished jobs, and a graceful stop.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import type { PipelineConfig } from '../config/types.ts';
import { AquasyncError, errorMessage, InterruptedError, PipelineBusyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { findUnfinishedJob, getWatermark, lastVerifications, openQuarantine, owedSnapshots } from '../state/index.ts';
import type { PipelineRunResult } from '../sync/types.ts';
import { createSlotCoordinator } from './coordinator.ts';
import { lastJobWaits } from './job-wait.ts';
import { emptyCounters } from './metrics.ts';
import {
  abandonExhaustedSlots,
  claimCronSlot,
  claimResumeSlot,
  finishSlot,
  heartbeatSlot,
  lastScheduledRuns,
  takeOverExpiredSlot,
} from './slots.ts';
import type { ClaimedSlot, PipelineCounters, PipelineMetrics, SchedulerOptions, SlotStatus, StopResult, VerificationOutcome } from './types.ts';

const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_MAX_ATTEMPTS = 3;
/** After the grace period, how long cut-off runs get to unwind before stop() gives up on them. */
const UNWIND_MS = 10_000;
/** How long aborted runs get to unwind on their own before their connections are ended. */
const ABORT_SETTLE_MS = 2_000;

interface ActiveRun {
  slot: ClaimedSlot;
  controller: AbortController;
  /** Set when stop() cut the run off after the grace period. */
  abandoning: boolean;
  /** Set when another replica took the slot over (our heartbeat found it no longer ours). */
  leaseLost: boolean;
  heartbeat: NodeJS.Timeout | undefined;
}

/**
 * The slot ledger name of a pipeline's scheduled verification. Its firings are claimed, leased, taken over and
 * recorded in aquasync.schedule_slots exactly like syncs, under this name, so a verification and a sync of one
 * pipeline never block each other's slots. `#` cannot occur in a pipeline name.
 */
export function verifySlotName(pipeline: string): string {
  return `${pipeline}#verify`;
}

export function defaultReplicaId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export class Scheduler {
  readonly replicaId: string;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly sweepMs: number;
  private readonly maxAttempts: number;
  private readonly byName: Map<string, PipelineConfig>;
  /** Pipelines with a scheduled verification, by their slot name (verifySlotName). */
  private readonly verifyBySlot = new Map<string, PipelineConfig>();
  private readonly log: Logger;
  private readonly tasks: ScheduledTask[] = [];
  private readonly active = new Map<string, ActiveRun>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly counters = new Map<string, PipelineCounters>();
  /** Backend pids of the pool's connections, so a run cut off after the grace period can be rolled back. */
  private readonly backends = new Set<number>();
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;
  private started = false;
  private stopping = false;

  constructor(private readonly options: SchedulerOptions) {
    this.replicaId = options.replicaId ?? defaultReplicaId();
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(100, Math.floor(this.leaseMs / 4));
    this.sweepMs = options.sweepMs ?? Math.max(100, Math.floor(this.leaseMs / 4));
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (this.heartbeatMs >= this.leaseMs) {
      throw new AquasyncError('CONFIG_INVALID', `scheduler heartbeat (${this.heartbeatMs} ms) must be shorter than the lease (${this.leaseMs} ms)`, {
        hint: 'a lease has to be extended before it runs out; use a heartbeat of a quarter of the lease',
      });
    }
    this.byName = new Map(options.pipelines.map((p) => [p.name, p]));
    if (options.verify) for (const p of options.pipelines) if (p.verify) this.verifyBySlot.set(verifySlotName(p.name), p);
    for (const p of options.pipelines) this.counters.set(p.name, emptyCounters());
    this.log = options.logger.child({ replica: this.replicaId });
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Pipelines this replica is running right now. */
  get running(): string[] {
    return [...this.active.keys()];
  }

  /** Resumes unfinished jobs, takes over expired leases, then starts the cron tasks and the sweeper. */
  async start(): Promise<void> {
    if (this.started) throw new Error('scheduler already started');
    this.started = true;
    // A checked-out pg client has no 'error' listener, so a connection dying mid-run (terminated at shutdown, or a
    // server restart) would be an uncaught exception. With one, the error only fails the queries that used it.
    const guarded = new WeakSet<object>();
    this.options.pool.on('acquire', (client) => {
      const pid = (client as unknown as { processID?: unknown }).processID;
      if (typeof pid === 'number') this.backends.add(pid);
      if (guarded.has(client)) return;
      guarded.add(client);
      client.on('error', (error) => this.log.debug(`warehouse connection closed: ${error.message}`));
    });

    await this.resumeUnfinished();
    await this.sweep();
    for (const pipeline of this.options.pipelines) {
      const task = cron.createTask(schedulePattern(pipeline), (context) => this.onFire(pipeline, context.date), {
        name: pipeline.name,
        timezone: pipeline.timezone,
        distributed: true,
        distributedLease: this.leaseMs,
        runCoordinator: createSlotCoordinator({
          pipeline: pipeline.name,
          logger: this.log.child({ pipeline: pipeline.name }),
          isStopping: () => this.stopping,
          claim: (dueAt) => this.claimCron(pipeline.name, dueAt),
        }),
        suppressMissedWarning: true,
        logger: cronLogger(this.log.child({ pipeline: pipeline.name })),
      });
      task.on('execution:missed', (context) => {
        this.log.warn(`missed the slot at ${context.date.toISOString()} (event loop blocked?)`, { pipeline: pipeline.name });
      });
      await task.start();
      this.tasks.push(task);
      const next = task.getNextRun();
      this.log.info(`scheduled "${pipeline.schedule}" (${pipeline.timezone}); next run at ${next ? next.toISOString() : 'never'}`, {
        pipeline: pipeline.name,
      });
    }
    for (const [slotName, pipeline] of this.verifyBySlot) {
      const pattern = pipeline.verify?.schedule.trim() ?? '';
      const task = cron.createTask(pattern, (context) => this.onFireVerify(pipeline, slotName, context.date), {
        name: slotName,
        timezone: pipeline.timezone,
        distributed: true,
        distributedLease: this.leaseMs,
        runCoordinator: createSlotCoordinator({
          pipeline: slotName,
          logger: this.log.child({ pipeline: pipeline.name }),
          isStopping: () => this.stopping,
          claim: (dueAt) => this.claimCron(slotName, dueAt),
        }),
        suppressMissedWarning: true,
        logger: cronLogger(this.log.child({ pipeline: pipeline.name })),
      });
      await task.start();
      this.tasks.push(task);
      const next = task.getNextRun();
      this.log.info(`verification scheduled "${pattern}" (${pipeline.timezone}); next at ${next ? next.toISOString() : 'never'}`, {
        pipeline: pipeline.name,
      });
    }
    this.sweeper = setInterval(() => void this.sweep(), this.sweepMs);
  }

  /**
   * Stops claiming new slots, lets running loads finish for up to `graceMs`, then cuts the rest off: their
   * polling and downloads are aborted and their database sessions terminated, so an open transaction rolls back
   * and the job stays recorded for the next run to resume.
   */
  async stop(graceMs: number): Promise<StopResult> {
    this.stopping = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const task of this.tasks) await task.destroy();
    this.tasks.length = 0;

    if (this.inflight.size === 0) return { abandoned: [], unsettled: [] };
    const running = this.running;
    this.log.info(`stopping: no new runs; waiting up to ${Math.round(graceMs / 1000)} s for ${running.join(', ')} to finish`);
    if (await settlesWithin([...this.inflight], graceMs)) return { abandoned: [], unsettled: [] };

    const abandoned = this.running;
    this.log.warn(`grace period over: abandoning the run(s) of ${abandoned.join(', ')}; their transactions roll back and the next run resumes their jobs`);
    for (const entry of this.active.values()) {
      entry.abandoning = true;
      if (entry.heartbeat) clearInterval(entry.heartbeat);
      entry.controller.abort(new InterruptedError(`stopped: the grace period of ${Math.round(graceMs / 1000)} s ran out`));
    }
    // A run waiting on Zuora unwinds at once and records itself as interrupted; only a run stuck in a long
    // statement needs its connections ended (which also costs it that record: the next run resumes it).
    let settled = await settlesWithin([...this.inflight], ABORT_SETTLE_MS);
    if (!settled) {
      await this.terminateBackends();
      settled = await settlesWithin([...this.inflight], UNWIND_MS);
    }
    return { abandoned, unsettled: settled ? [] : this.running };
  }

  /** What /metrics shows: the last runs from the ledger (all replicas) plus this replica's counters. */
  async metrics(): Promise<PipelineMetrics[]> {
    const names = this.options.pipelines.map((p) => p.name);
    const [last, watermarks, quarantine, owed, jobWaits, verified] = await Promise.all([
      lastScheduledRuns(this.options.pool, names),
      Promise.all(names.map((name) => getWatermark(this.options.db, name))),
      openQuarantine(this.options.db, names),
      Promise.all(names.map((name) => owedSnapshots(this.options.db, name))),
      lastJobWaits(this.options.pool, names),
      lastVerifications(this.options.db, names),
    ]);
    const now = Date.now();
    return names.map((name, i) => {
      const runs = last.find((l) => l.pipeline === name);
      const watermark = watermarks[i];
      return {
        pipeline: name,
        lastSuccessAt: runs?.lastSuccessAt ? runs.lastSuccessAt.getTime() / 1000 : undefined,
        lastRunDurationSeconds: runs?.lastFinished?.durationSeconds,
        lastRunRowsWritten: runs?.lastFinished?.rowsWritten,
        watermarkLagSeconds: watermark ? Math.max(0, (now - watermark.getTime()) / 1000) : undefined,
        lastJobWaitSeconds: jobWaits.get(name),
        running: this.active.has(name),
        quarantinedRows: quarantine.get(name)?.open ?? 0,
        snapshotsOwed: owed[i]?.length ?? 0,
        counters: this.counters.get(name) ?? emptyCounters(),
        verifications: verified
          .filter((v) => v.pipeline === name)
          .map((v) => ({
            object: v.object,
            ok: v.ok,
            failed: v.error !== undefined,
            rowsMissing: v.rowsMissing,
            rowsExtra: v.rowsExtra,
            rowsPending: v.rowsPending,
            ageSeconds: Math.max(0, (now - v.checkedAt.getTime()) / 1000),
          })),
      };
    });
  }

  /** `name` is the slot ledger name: the pipeline's, or verifySlotName of it. */
  private async claimCron(name: string, dueAt: Date): Promise<boolean> {
    const claim = await claimCronSlot(this.options.pool, { pipeline: name, dueAt, owner: this.replicaId, leaseMs: this.leaseMs });
    if (claim.claimed) return true;
    if (claim.reason === 'overlap') {
      this.count(name, 'skipped');
      this.log.warn(
        `skipped the slot at ${dueAt.toISOString()}: the run of ${claim.runningSlot.toISOString()} is still going (on ${claim.runningOwner})`,
        { pipeline: name },
      );
    } else {
      this.log.debug(`slot ${dueAt.toISOString()} was claimed by another replica`, { pipeline: name });
    }
    return false;
  }

  private async onFireVerify(pipeline: PipelineConfig, slotName: string, dueAt: Date): Promise<void> {
    const slot: ClaimedSlot = { pipeline: slotName, dueAt, trigger: 'cron', attempts: 1, takenOverFrom: undefined };
    if (this.stopping) {
      await this.finish(slot, 'skipped', undefined, 'skipped: the replica that claimed it was shutting down');
      return;
    }
    await this.launch(pipeline, slot);
  }

  private async onFire(pipeline: PipelineConfig, dueAt: Date): Promise<void> {
    const slot: ClaimedSlot = { pipeline: pipeline.name, dueAt, trigger: 'cron', attempts: 1, takenOverFrom: undefined };
    if (this.stopping) {
      await this.finish(slot, 'skipped', undefined, 'skipped: the replica that claimed it was shutting down');
      return;
    }
    await this.launch(pipeline, slot);
  }

  private async resumeUnfinished(): Promise<void> {
    for (const pipeline of this.options.pipelines) {
      try {
        const job = await findUnfinishedJob(this.options.db, pipeline.name);
        if (!job) continue;
        const slot = await claimResumeSlot(this.options.pool, { pipeline: pipeline.name, owner: this.replicaId, leaseMs: this.leaseMs });
        if (!slot) continue; // another replica is running the pipeline: that run resumes the job
        this.log.info(`resuming unfinished job ${job.zuoraJobId ?? `#${job.id}`} (${job.status}) on start`, { pipeline: pipeline.name });
        void this.launch(pipeline, slot);
      } catch (error) {
        this.log.error(`could not check for an unfinished job: ${errorMessage(error)}`, { pipeline: pipeline.name });
      }
    }
  }

  /** Gives up slots that exhausted their attempts and takes over the expired leases of dead replicas. */
  private async sweep(): Promise<void> {
    if (this.stopping || this.sweeping) return;
    this.sweeping = true;
    try {
      const all = [...this.byName.keys(), ...this.verifyBySlot.keys()];
      for (const slot of await abandonExhaustedSlots(this.options.pool, { pipelines: all, maxAttempts: this.maxAttempts })) {
        this.log.error(`gave up the slot at ${slot.dueAt.toISOString()} after ${slot.attempts} attempt(s): ${slot.error ?? ''}`, {
          pipeline: slot.pipeline,
        });
      }
      while (!this.stopping) {
        const idle = all.filter((name) => !this.active.has(name));
        const slot = await takeOverExpiredSlot(this.options.pool, {
          pipelines: idle,
          owner: this.replicaId,
          leaseMs: this.leaseMs,
          maxAttempts: this.maxAttempts,
        });
        if (!slot) break;
        const pipeline = this.byName.get(slot.pipeline) ?? this.verifyBySlot.get(slot.pipeline);
        if (!pipeline) break;
        this.log.warn(
          `taking over the slot at ${slot.dueAt.toISOString()} from ${slot.takenOverFrom ?? 'a replica'} whose lease expired (attempt ${slot.attempts})`,
          { pipeline: slot.pipeline },
        );
        void this.launch(pipeline, slot);
      }
    } catch (error) {
      this.log.warn(`sweep for expired leases failed; retrying in ${this.sweepMs} ms: ${errorMessage(error)}`);
    } finally {
      this.sweeping = false;
    }
  }

  /** Runs a claimed slot: heartbeat while it runs, then record the outcome. Never rejects. */
  private launch(pipeline: PipelineConfig, slot: ClaimedSlot): Promise<void> {
    const work = this.verifyBySlot.has(slot.pipeline) ? this.executeVerify(pipeline, slot) : this.execute(pipeline, slot);
    const promise = work.catch((error: unknown) => {
      this.log.error(`scheduler bug while running the slot at ${slot.dueAt.toISOString()}: ${errorMessage(error)}`, { pipeline: slot.pipeline });
    });
    this.inflight.add(promise);
    void promise.finally(() => this.inflight.delete(promise));
    return promise;
  }

  private async execute(pipeline: PipelineConfig, slot: ClaimedSlot): Promise<void> {
    const log = this.log.child({ pipeline: pipeline.name, slot: slot.dueAt.toISOString() });
    const entry: ActiveRun = { slot, controller: new AbortController(), abandoning: false, leaseLost: false, heartbeat: undefined };
    this.active.set(pipeline.name, entry);
    log.info('run started', { trigger: slot.trigger, attempt: slot.attempts, takeover: slot.takenOverFrom !== undefined });
    entry.heartbeat = setInterval(() => void this.beat(entry, log), this.heartbeatMs);

    let result: PipelineRunResult | undefined;
    let thrown: unknown;
    try {
      result = await this.options.run(pipeline, { signal: entry.controller.signal });
    } catch (error) {
      thrown = error;
    } finally {
      clearInterval(entry.heartbeat);
      // Leave the map before the ledger: a slot firing in between then sees this one still running and skips.
      this.active.delete(pipeline.name);
    }

    if (entry.leaseLost) {
      log.error('the slot was taken over by another replica while this run went on; its outcome is not recorded here');
      return;
    }
    const error = thrown ?? result?.error;
    let status: Exclude<SlotStatus, 'running'>;
    let message: string | undefined;
    if (entry.abandoning) {
      status = 'abandoned';
      message = `abandoned at shutdown after the grace period; the next run resumes the job (${errorMessage(error ?? 'interrupted')})`;
    } else if (result?.ok) {
      status = 'succeeded';
    } else if (error instanceof PipelineBusyError) {
      status = 'skipped'; // the pipeline lock was held by another session (a manual `aquasync sync`?)
      message = `skipped: ${errorMessage(error)}`;
    } else {
      status = 'failed';
      message = errorMessage(error ?? 'the run failed without an error');
    }
    const rows = result?.ok ? result.rowsWritten : 0;
    const rowsRead = result?.ok ? result.rowsRead : 0;
    await this.finish(slot, status, result?.runId, message, rows, rowsRead);
    const counters = this.counters.get(slot.pipeline);
    if (counters && result?.ok) counters.rowsQuarantined += result.rowsQuarantined;

    const fields = { status, rows, rowsRead, durationMs: result?.durationMs, runId: result?.runId, resumed: result?.resumed };
    if (status === 'succeeded') log.info('run finished', fields);
    else if (status === 'failed') log.error(`run failed: ${message ?? ''}`, fields);
    else log.warn(`run ${status}: ${message ?? ''}`, fields);
  }

  /** A verification slot: verify (and reconcile, per `verify.reconcile`) with a heartbeat, then record the outcome. */
  private async executeVerify(pipeline: PipelineConfig, slot: ClaimedSlot): Promise<void> {
    const verify = this.options.verify;
    if (!verify) return;
    const log = this.log.child({ pipeline: pipeline.name, slot: slot.dueAt.toISOString(), task: 'verify' });
    const entry: ActiveRun = { slot, controller: new AbortController(), abandoning: false, leaseLost: false, heartbeat: undefined };
    this.active.set(slot.pipeline, entry);
    log.info('verification started', { trigger: slot.trigger, attempt: slot.attempts, takeover: slot.takenOverFrom !== undefined });
    entry.heartbeat = setInterval(() => void this.beat(entry, log), this.heartbeatMs);
    let outcome: VerificationOutcome;
    try {
      outcome = await verify(pipeline, { signal: entry.controller.signal });
    } catch (error) {
      outcome = { ok: false, summary: errorMessage(error), error };
    } finally {
      clearInterval(entry.heartbeat);
      this.active.delete(slot.pipeline);
    }
    if (entry.leaseLost) {
      log.error('the verification slot was taken over by another replica; its outcome is not recorded here');
      return;
    }
    const busy = outcome.error instanceof PipelineBusyError && !entry.abandoning;
    const status: Exclude<SlotStatus, 'running'> = entry.abandoning ? 'abandoned' : outcome.ok ? 'succeeded' : busy ? 'skipped' : 'failed';
    await this.finish(slot, status, undefined, status === 'succeeded' ? undefined : outcome.summary);
    if (status === 'succeeded') log.info(`verification finished: ${outcome.summary}`, { status });
    else if (status === 'failed') log.error(`verification failed: ${outcome.summary}`, { status });
    else log.warn(`verification ${status}: ${outcome.summary}`, { status });
  }

  private async beat(entry: ActiveRun, log: Logger): Promise<void> {
    if (entry.abandoning || entry.leaseLost) return;
    try {
      const ours = await heartbeatSlot(this.options.pool, {
        pipeline: entry.slot.pipeline,
        dueAt: entry.slot.dueAt,
        owner: this.replicaId,
        leaseMs: this.leaseMs,
      });
      if (!ours && !entry.abandoning) {
        entry.leaseLost = true;
        if (entry.heartbeat) clearInterval(entry.heartbeat);
        log.error('lost the lease: another replica took this slot over (this replica missed its heartbeats); stopping the run');
        entry.controller.abort(new InterruptedError('the schedule lease was taken over by another replica'));
      }
    } catch (error) {
      log.warn(`heartbeat failed (the lease runs out unless the next one succeeds): ${errorMessage(error)}`);
    }
  }

  private async finish(
    slot: ClaimedSlot,
    status: Exclude<SlotStatus, 'running'>,
    runId: number | undefined,
    message: string | undefined,
    rows = 0,
    rowsRead = 0,
  ): Promise<void> {
    this.count(slot.pipeline, status, rows, rowsRead);
    try {
      const ours = await finishSlot(this.options.pool, {
        pipeline: slot.pipeline,
        dueAt: slot.dueAt,
        owner: this.replicaId,
        status,
        runId,
        rowsWritten: rows,
        error: message,
      });
      if (!ours) this.log.warn(`the slot at ${slot.dueAt.toISOString()} had been taken over; outcome "${status}" not recorded`, { pipeline: slot.pipeline });
    } catch (error) {
      // The lease then expires and another replica re-runs the slot, which resumes or re-syncs: never a gap.
      this.log.error(`could not record the outcome "${status}" of the slot at ${slot.dueAt.toISOString()}: ${errorMessage(error)}`, {
        pipeline: slot.pipeline,
      });
    }
  }

  private count(pipeline: string, status: Exclude<SlotStatus, 'running'>, rows = 0, rowsRead = 0): void {
    const counters = this.counters.get(pipeline);
    if (!counters) return;
    counters.runs[status] += 1;
    counters.rowsWritten += rows;
    counters.rowsRead += rowsRead;
    if (status === 'failed') counters.failures += 1;
  }

  /** Ends this process's busy warehouse sessions: whatever transaction they have open rolls back. */
  private async terminateBackends(): Promise<void> {
    if (this.backends.size === 0) return;
    try {
      const { rows } = await this.options.pool.query<{ pid: number }>(
        `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE pid = ANY($1::int[]) AND pid <> pg_backend_pid() AND state <> 'idle'`,
        [[...this.backends]],
      );
      if (rows.length) this.log.info(`terminated ${rows.length} busy warehouse session(s); their open transactions roll back`);
    } catch (error) {
      this.log.error(`could not terminate the run's warehouse sessions: ${errorMessage(error)}`);
    }
  }
}

/** The pipeline's cron pattern. Config validation already checked it with node-cron. */
function schedulePattern(pipeline: PipelineConfig): string {
  return pipeline.schedule.trim();
}

function settlesWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void Promise.allSettled(promises).then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** node-cron's own messages, through our logger (it would print to the console otherwise). */
function cronLogger(log: Logger): { info(m: string): void; warn(m: string): void; error(m: string | Error, e?: Error): void; debug(m: string | Error, e?: Error): void } {
  const text = (m: string | Error, e?: Error): string => `node-cron: ${m instanceof Error ? m.message : m}${e ? `: ${e.message}` : ''}`;
  return {
    info: (m) => log.debug(text(m)),
    warn: (m) => log.warn(text(m)),
    error: (m, e) => log.error(text(m, e)),
    debug: (m, e) => log.debug(text(m, e)),
  };
}
