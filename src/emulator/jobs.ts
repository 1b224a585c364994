// AQuA jobs: the service that owns jobs and stateful sessions and runs each job's lifecycle (queued, executing,
// then completed, aborted or error). The steps live in jobs/: submit validation (request.ts, submit.ts), session
// rules (sessions.ts), result files and their rendering (result-files.ts, file-body.ts), responses (view.ts).
import type { Clock, ResolvedOptions } from './context.ts';
import type { FaultRegistry } from './faults.ts';
import { compileQuery } from './zoql.ts';
import type { CompiledQuery, Snapshot, Tenant } from './model.ts';
import { errorMessage, Malformed, MALFORMED, plainError, Rejected, submitErrorBody } from './jobs/errors.ts';
import { ResultFiles } from './jobs/result-files.ts';
import { advanceSession, jobSessionKey, planBatch, sessionKey } from './jobs/sessions.ts';
import { admitJob } from './jobs/submit.ts';
import type { AquaJob, AquaState, FileBody, JobStatus, Reply, Session } from './jobs/types.ts';
import { jobSummary, jobView } from './jobs/view.ts';
import type { JobSummary } from './types.ts';
import { Timers } from './timers.ts';

// The session rule tests pin, importable from where it always was.
export { decideFull } from './jobs/sessions.ts';

export class AquaService {
  private readonly jobs = new Map<string, AquaJob>();
  private readonly sessions = new Map<string, Session>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly compiled = new Map<string, CompiledQuery>();
  private readonly timers = new Timers();
  private readonly files: ResultFiles;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly tenant: Tenant,
    private readonly clock: Clock,
    private readonly faults: FaultRegistry,
    private readonly persist: () => void,
  ) {
    this.files = new ResultFiles(options, clock, {
      job: (id) => this.jobs.get(id),
      compiled: (job, index) => this.compiledFor(job, index),
      snapshot: (job) => this.snapshotFor(job),
    });
    faults.whenCleared(() => {
      for (const job of this.jobs.values()) {
        if (job.stuck && job.status === 'executing') {
          job.stuck = false;
          this.timers.later(0, () => this.finish(job));
        }
      }
    });
  }

  // ---- persistence ----

  exportState(): AquaState {
    return {
      jobs: [...this.jobs.values()],
      sessions: Object.fromEntries(this.sessions),
      files: this.files.list(),
    };
  }

  /** Loads persisted state; unfinished jobs continue their lifecycle. */
  importState(state: AquaState): void {
    for (const job of state.jobs) this.jobs.set(job.id, job);
    for (const [k, s] of Object.entries(state.sessions)) this.sessions.set(k, s);
    this.files.load(state.files);
    for (const job of this.jobs.values()) {
      if (job.status === 'submitted') this.scheduleReady(job);
      else if (job.status === 'executing' && !job.stuck) this.timers.later(this.options.timing.executingMs, () => this.finish(job));
    }
  }

  close(): Promise<void> {
    this.timers.clear();
    return this.files.close();
  }

  // ---- submit ----

  submit(rawBody: unknown): Reply {
    try {
      return { status: 200, body: this.view(this.createJob(rawBody)) };
    } catch (err) {
      if (err instanceof Malformed) return { status: 200, body: MALFORMED };
      if (err instanceof Rejected) {
        const status = err.errorCode === '90028' ? this.options.concurrencyLimitStatus : 200;
        return { status, body: submitErrorBody(rawBody, err.errorCode, err.message) };
      }
      throw err;
    }
  }

  private createJob(rawBody: unknown): AquaJob {
    const context = {
      options: this.options,
      tenant: this.tenant,
      faults: this.faults,
      jobs: this.jobs,
      sessions: this.sessions,
      clock: this.clock,
      compile: (text: string) => this.compile(text),
    };
    const { job, compiled, key, session } = admitJob(context, rawBody);
    compiled.forEach((c, i) => this.compiled.set(`${job.id}/${i}`, c));
    this.jobs.set(job.id, job);
    if (key !== undefined) {
      const s = session ?? { marker: undefined, lastRequestAt: job.submittedAt, queries: {}, lastCompletedJobId: undefined };
      s.lastRequestAt = job.submittedAt;
      this.sessions.set(key, s);
    }
    this.scheduleReady(job);
    this.persist();
    return job;
  }

  private compile(text: string): CompiledQuery {
    return compileQuery(text, this.tenant, {
      spaceLiteralTrap: this.options.spaceLiteralTrap,
      defaultZone: this.options.tenantZone,
    });
  }

  private compiledFor(job: AquaJob, index: number): CompiledQuery {
    const key = `${job.id}/${index}`;
    let c = this.compiled.get(key);
    if (c === undefined) {
      const batch = job.batches[index];
      if (batch === undefined) throw new Error(`job ${job.id} has no batch ${index}`);
      c = this.compile(batch.query);
      this.compiled.set(key, c);
    }
    return c;
  }

  private snapshotFor(job: AquaJob): Snapshot {
    let s = this.snapshots.get(job.id);
    if (s === undefined) {
      s = this.tenant.snapshot(job.startedAt ?? this.clock.now());
      this.snapshots.set(job.id, s);
    }
    return s;
  }

  // ---- lifecycle ----

  private scheduleReady(job: AquaJob): void {
    this.timers.later(this.options.timing.queuedMs, () => {
      job.ready = true;
      this.pump();
    });
  }

  /** Starts every ready job whose session has nothing running ahead of it (jobs of one session run in order). */
  private pump(): void {
    const busy = new Set<string>();
    for (const job of this.jobs.values()) {
      const key = jobSessionKey(job);
      if (job.status === 'executing') {
        if (key !== undefined) busy.add(key);
        continue;
      }
      if (job.status !== 'submitted') continue;
      if (key !== undefined && busy.has(key)) continue;
      if (key !== undefined) busy.add(key);
      if (job.ready) this.start(job);
    }
  }

  private start(job: AquaJob): void {
    const now = this.clock.now();
    job.status = 'executing';
    job.startedAt = now;
    this.snapshots.set(job.id, this.tenant.snapshot(now));
    const key = jobSessionKey(job);
    const session = key === undefined ? undefined : this.sessions.get(key);
    for (const b of job.batches) planBatch(job, b, session, now, this.options.readings);
    this.armJobFaults(job);
    this.persist();
    if (!job.stuck) this.timers.later(this.options.timing.executingMs, () => this.finish(job));
  }

  /** Job-level faults are decided once, as the job starts: an error, an aborted batch, or a job that hangs. */
  private armJobFaults(job: AquaJob): void {
    if (this.faults.take('job-error') !== undefined) job.jobError = true;
    const onObject = (object: string | undefined) => (_: unknown, i: number) => this.batchObject(job, i) === object?.toLowerCase();
    const abort = this.faults.take('abort-batch', undefined, (f) =>
      f.object === undefined ? true : job.batches.some(onObject(f.object)),
    );
    if (abort !== undefined) {
      const index = abort.object === undefined ? 0 : job.batches.findIndex(onObject(abort.object));
      job.abort = { index: Math.max(0, index), message: abort.message };
    }
    if (this.faults.take('stuck') !== undefined) job.stuck = true;
  }

  private batchObject(job: AquaJob, index: number): string {
    return this.compiledFor(job, index).baseObject.toLowerCase();
  }

  private finish(job: AquaJob): void {
    if (job.status !== 'executing' || job.stuck) return;
    const now = this.clock.now();
    job.finishedAt = now;
    if (job.jobError) {
      job.status = 'error';
      job.errorCode = '90029';
      job.message = errorMessage('90029');
      for (const b of job.batches) b.status = 'cancelled';
    } else if (job.abort === undefined && this.options.renderFilesAhead) {
      this.finishRenderingAhead(job, now);
      return;
    } else {
      this.completeBatches(job, now);
    }
    this.settle(job, job.status);
  }

  /** Like Zuora, the job reports completed only once its files exist: rendered now, served from disk later. */
  private finishRenderingAhead(job: AquaJob, now: number): void {
    this.files.renderAhead(job, now).then(
      () => {
        job.finishedAt = this.clock.now();
        this.settle(job, 'completed');
      },
      (error: unknown) => {
        job.errorCode = '90029';
        job.message = `rendering the result files failed: ${error instanceof Error ? error.message : String(error)}`;
        this.settle(job, 'error');
      },
    );
  }

  /** Batches before an aborted one complete; the aborted one carries the message, the rest are cancelled. */
  private completeBatches(job: AquaJob, now: number): void {
    job.batches.forEach((b, i) => {
      if (job.abort !== undefined && i >= job.abort.index) {
        b.status = i === job.abort.index ? 'aborted' : 'cancelled';
        if (i === job.abort.index) b.message = job.abort.message;
        return;
      }
      this.files.completeBatch(job, i, now);
    });
    job.status = job.abort === undefined ? 'completed' : 'aborted';
  }

  /** Records the job's final status and, for a completed stateful job, moves its session forward. */
  private settle(job: AquaJob, status: JobStatus): void {
    if (job.status !== 'executing' && job.status !== status) return; // cancelled meanwhile
    job.status = status;
    const key = jobSessionKey(job);
    if (job.status === 'completed' && key !== undefined) this.sessions.set(key, advanceSession(this.sessions.get(key), job));
    this.persist();
    this.pump();
  }

  // ---- reads ----

  get(id: string): Reply {
    const job = this.jobs.get(id);
    if (job === undefined) return { status: 200, body: plainError('90002') };
    return { status: 200, body: this.view(job) };
  }

  lastCompleted(partner: string, project: string): Reply {
    const id = this.sessions.get(sessionKey(partner, project))?.lastCompletedJobId;
    const job = id === undefined ? undefined : this.jobs.get(id);
    if (job === undefined) return { status: 200, body: plainError('90002') };
    return { status: 200, body: this.view(job) };
  }

  cancel(id: string): Reply {
    const job = this.jobs.get(id);
    if (job === undefined) return { status: 200, body: plainError('90002') };
    if (job.status !== 'submitted' && job.status !== 'executing') return { status: 200, body: plainError('90003') };
    job.status = 'cancelled';
    job.stuck = false;
    job.finishedAt = this.clock.now();
    for (const b of job.batches) if (b.status !== 'completed') b.status = 'cancelled';
    this.persist();
    this.pump();
    return { status: 200, body: this.view(job) };
  }

  countActive(mode: 'stateful' | 'stateless'): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.mode === mode && (j.status === 'submitted' || j.status === 'executing')) n++;
    return n;
  }

  /** The job as Zuora's submit/GET responses show it. */
  view(job: AquaJob): Record<string, unknown> {
    return jobView(job, this.options);
  }

  summaries(): JobSummary[] {
    return [...this.jobs.values()].map(jobSummary);
  }

  // ---- files ----

  expireFiles(): void {
    this.files.expireAll();
    this.persist();
  }

  fileStatus(id: string): 'ok' | 'gone' {
    return this.files.status(id);
  }

  /** Serves the file from the on-disk cache, rendering it from the job's snapshot on the first download. */
  openFile(id: string): FileBody | undefined {
    return this.files.open(id);
  }
}
