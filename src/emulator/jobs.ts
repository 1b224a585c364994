// AQuA jobs: submit validation, stateful sessions (full vs incremental per query), the job lifecycle, and the
// result files rendered from each job's snapshot once and then served from an on-disk cache.
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import yazl from 'yazl';
import { compileQuery, renderCsv } from './data.ts';
import { ZoqlError } from './model.ts';
import type { CompiledQuery, Snapshot, Tenant, Value } from './model.ts';
import type { Clock, ResolvedOptions } from './context.ts';
import { hexId } from './context.ts';
import type { FaultRegistry } from './faults.ts';
import { FileCache } from './file-cache.ts';
import { formatIsoUtc, formatWallTime, parseWallTime } from './time.ts';
import type { JobSummary } from './types.ts';
import { Timers } from './timers.ts';

const DAY = 86_400_000;
const SESSION_IDLE_MS = 180 * DAY;
const MAX_QUERIES = 50;

export type AquaFormat = 'csv' | 'zip' | 'gzip';
export type JobStatus = 'submitted' | 'executing' | 'completed' | 'aborted' | 'error' | 'cancelled';
export type BatchStatus = 'pending' | 'executing' | 'completed' | 'aborted' | 'cancelled';

export interface DeletedSpec {
  column: string;
  format: 'Boolean' | 'Numeric';
  forceExport?: boolean;
}

export interface AquaBatch {
  batchId: string;
  name: string;
  query: string;
  batchType: 'zoql' | 'zoqlexport';
  apiVersion: string;
  deleted: DeletedSpec | undefined;
  status: BatchStatus;
  full: boolean;
  recordCount: number;
  fileIds: string[];
  segmented: boolean;
  message: string | undefined;
  window: { since: number; until: number } | undefined;
  includeDeleted: boolean;
}

export interface AquaJob {
  id: string;
  name: string;
  version: string;
  format: AquaFormat;
  encrypted: string;
  partner: string | null;
  project: string | null;
  mode: 'stateful' | 'stateless';
  offset: number;
  incrementalTime: number | undefined;
  notifyUrl: string | undefined;
  useQueryLabels: boolean;
  dateTimeUtc: boolean;
  nullReplacement: string | undefined;
  useLastCompletedJobQueries: boolean;
  status: JobStatus;
  errorCode: string | undefined;
  message: string | undefined;
  submittedAt: number;
  /** Session's last request time before this job (the 180-day rule). */
  previousRequestAt: number | undefined;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** Fault effects decided when the job starts executing. */
  abort: { index: number; message: string } | undefined;
  jobError: boolean;
  stuck: boolean;
  /** Queue delay elapsed (not persisted meaningfully: restarted jobs wait again). */
  ready: boolean;
  batches: AquaBatch[];
}

export interface SessionQuery {
  text: string;
  deletedKey: string;
}

export interface Session {
  /** Start time of the last completed job submitted without incrementalTime. */
  marker: number | undefined;
  lastRequestAt: number;
  queries: Record<string, SessionQuery>;
  lastCompletedJobId: string | undefined;
}

export interface FileRecord {
  id: string;
  jobId: string;
  batchIndex: number;
  /** Segment index when the batch is segmented. */
  segment: number | undefined;
  createdAt: number;
  expired: boolean;
}

export interface AquaState {
  jobs: AquaJob[];
  sessions: Record<string, Session>;
  files: FileRecord[];
}

/** A submit outcome: the HTTP status and the JSON body Zuora would send. */
export interface Reply {
  status: number;
  body: unknown;
}

export const MALFORMED = {
  success: false,
  code: 50000090,
  message: 'Oops, request is malformed. Please check your request.',
} as const;

const ERROR_MESSAGES: Record<string, string> = {
  '90002': 'Invalid Job Id.',
  '90003': 'Invalid Job Id for job cancellation.',
  '90004': 'Invalid number of queries allowed. A maximum of 50 queries are supported in an AQuA request.',
  '90005': 'There is a syntax error in one of the queries in the AQuA input.',
  '90012': 'Stateless AQuA does not support deleted columns.',
  '90014': 'notifyURL must be less than 5000 characters in length.',
  '90015': 'The incremental timestamp is invalid.',
  '90016': 'There are no queries included in the AQuA version 1.0 request.',
  '90017':
    'Objects included in the queries do not support the querying of deleted records. Remove "Deleted" section in the JSON request and retry the request.',
  '90019': 'Partner ID is not recognized. (Submit a request at Zuora Global Support to obtain a partner ID.)',
  '90028': 'The total number of concurrent jobs has exceeded the limit allowed by the system.',
  '90029': 'The job was marked as Error as it exceeded maximum time limit in Processing status.',
};

export function errorMessage(code: string): string {
  return ERROR_MESSAGES[code] ?? 'Internal Server Error.';
}

export const sessionKey = (partner: string, project: string): string => `${partner}\u0000${project}`;

const deletedKey = (d: DeletedSpec | undefined): string => (d === undefined ? '' : `${d.column}|${d.format}`);

/** Pure: does this batch run as a full load, given the session and the job's previous request time? */
export function decideFull(
  session: Pick<Session, 'queries'> | undefined,
  previousRequestAt: number | undefined,
  now: number,
  name: string,
  text: string,
  deleted: DeletedSpec | undefined,
): boolean {
  if (session === undefined || previousRequestAt === undefined) return true;
  if (now - previousRequestAt > SESSION_IDLE_MS) return true;
  const q = session.queries[name];
  return q === undefined || q.text !== text || q.deletedKey !== deletedKey(deleted);
}

function asBool(v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

interface ParsedQuery {
  name: string;
  query: string;
  type: 'zoql' | 'zoqlexport';
  apiVersion: string;
  deleted: DeletedSpec | undefined;
}

class Malformed extends Error {}
class Rejected extends Error {
  constructor(readonly errorCode: string, message?: string) {
    super(message ?? errorMessage(errorCode));
  }
}

function parseQueryItem(raw: unknown): ParsedQuery {
  if (typeof raw !== 'object' || raw === null) throw new Malformed();
  const q = raw as Record<string, unknown>;
  if (typeof q.query !== 'string' || (q.name !== undefined && typeof q.name !== 'string')) throw new Malformed();
  const type = typeof q.type === 'string' ? q.type.toLowerCase() : undefined;
  if (type !== 'zoql' && type !== 'zoqlexport') throw new Malformed();
  let apiVersion = '91.0';
  if (typeof q.apiVersion === 'string' || typeof q.apiVersion === 'number') apiVersion = String(q.apiVersion);
  let deleted: DeletedSpec | undefined;
  if (q.deleted !== undefined && q.deleted !== null) {
    const d = q.deleted as Record<string, unknown>;
    if (typeof d !== 'object' || typeof d.column !== 'string' || d.column === '') throw new Malformed();
    // Capitalisation matters at Zuora: "Boolean", not "boolean".
    if (d.format !== 'Boolean' && d.format !== 'Numeric') throw new Malformed();
    const forceExport = asBool(d.forceExport);
    if (d.forceExport !== undefined && forceExport === undefined) throw new Malformed();
    deleted = { column: d.column, format: d.format, ...(forceExport === undefined ? {} : { forceExport }) };
  }
  return { name: (q.name as string | undefined) ?? '', query: q.query, type, apiVersion, deleted };
}

type ResultRow = { values: Value[]; deleted: boolean };

export interface FileBody {
  contentType: string;
  filename: string;
  stream: Readable;
}

export class AquaService {
  private readonly jobs = new Map<string, AquaJob>();
  private readonly sessions = new Map<string, Session>();
  private readonly files = new Map<string, FileRecord>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly compiled = new Map<string, CompiledQuery>();
  private readonly timers = new Timers();
  private readonly cache = new FileCache();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly tenant: Tenant,
    private readonly clock: Clock,
    private readonly faults: FaultRegistry,
    private readonly persist: () => void,
  ) {
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
      files: [...this.files.values()],
    };
  }

  /** Loads persisted state; unfinished jobs continue their lifecycle. */
  importState(state: AquaState): void {
    for (const job of state.jobs) this.jobs.set(job.id, job);
    for (const [k, s] of Object.entries(state.sessions)) this.sessions.set(k, s);
    for (const f of state.files) this.files.set(f.id, f);
    for (const job of this.jobs.values()) {
      if (job.status === 'submitted') this.scheduleReady(job);
      else if (job.status === 'executing' && !job.stuck) this.timers.later(this.options.timing.executingMs, () => this.finish(job));
    }
  }

  close(): void {
    this.timers.clear();
    this.cache.close();
  }

  // ---- submit ----

  submit(rawBody: unknown): Reply {
    try {
      return { status: 200, body: this.view(this.createJob(rawBody)) };
    } catch (err) {
      if (err instanceof Malformed) return { status: 200, body: MALFORMED };
      if (err instanceof Rejected) {
        const status = err.errorCode === '90028' ? this.options.concurrencyLimitStatus : 200;
        return { status, body: this.errorBody(rawBody, err.errorCode, err.message) };
      }
      throw err;
    }
  }

  private errorBody(rawBody: unknown, errorCode: string, message: string): Record<string, unknown> {
    const body = typeof rawBody === 'object' && rawBody !== null ? (rawBody as Record<string, unknown>) : {};
    const queries = Array.isArray(body.queries) ? (body.queries as unknown[]) : [];
    return {
      errorCode,
      message,
      status: 'error',
      name: typeof body.name === 'string' ? body.name : undefined,
      encrypted: 'none',
      useLastCompletedJobQueries: false,
      batches: queries.map((raw) => {
        const q = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        return {
          localizedStatus: 'pending',
          recordCount: 0,
          batchType: q.type,
          apiVersion: q.apiVersion ?? '91.0',
          full: true,
          status: 'pending',
          name: q.name,
          query: q.query,
        };
      }),
    };
  }

  private createJob(rawBody: unknown): AquaJob {
    if (typeof rawBody !== 'object' || rawBody === null || Array.isArray(rawBody)) throw new Malformed();
    const body = rawBody as Record<string, unknown>;
    const format = body.format === undefined ? 'csv' : typeof body.format === 'string' ? body.format.toLowerCase() : '';
    if (format !== 'csv' && format !== 'zip' && format !== 'gzip') throw new Malformed();
    const versionText = body.version === undefined ? '1.0' : String(body.version as string | number);
    const version = Number(versionText);
    if (!Number.isFinite(version)) throw new Malformed();
    const str = (v: unknown): string | null => {
      if (v === undefined || v === null || v === '') return null;
      if (typeof v !== 'string') throw new Malformed();
      return v;
    };
    const name = str(body.name) ?? '';
    const partner = str(body.partner);
    const project = str(body.project);
    const encrypted = str(body.encrypted) ?? 'none';
    const useQueryLabels = asBool(body.useQueryLabels);
    const dateTimeUtc = asBool(body.dateTimeUtc);
    if ((body.useQueryLabels !== undefined && useQueryLabels === undefined) || (body.dateTimeUtc !== undefined && dateTimeUtc === undefined)) {
      throw new Malformed();
    }
    const nullReplacement = body.nullReplacement === undefined || body.nullReplacement === null ? undefined : body.nullReplacement;
    if (nullReplacement !== undefined && typeof nullReplacement !== 'string') throw new Malformed();
    let offset = 0;
    if (body.offset !== undefined && body.offset !== null) {
      offset = Number(body.offset);
      if (!Number.isInteger(offset) || offset < 0 || offset > 3600) throw new Malformed();
    }
    const notifyUrl = str(body.notifyUrl) ?? undefined;
    if (body.queries !== undefined && body.queries !== null && !Array.isArray(body.queries)) throw new Malformed();
    let queries = ((body.queries as unknown[] | undefined) ?? []).map(parseQueryItem);

    const stateful = version >= 1.1 && partner !== null && project !== null;
    const mode = stateful ? 'stateful' : 'stateless';
    const key = stateful ? sessionKey(partner, project) : undefined;
    const session = key === undefined ? undefined : this.sessions.get(key);
    let useLastCompletedJobQueries = false;
    if (queries.length === 0) {
      // A stateful call without queries re-runs the session's previous queries incrementally.
      const previous = session?.lastCompletedJobId === undefined ? undefined : this.jobs.get(session.lastCompletedJobId);
      if (!stateful || previous === undefined) throw new Rejected('90016');
      queries = previous.batches.map((b) => ({
        name: b.name,
        query: b.query,
        type: b.batchType,
        apiVersion: b.apiVersion,
        deleted: b.deleted,
      }));
      useLastCompletedJobQueries = true;
    }
    if (queries.length > MAX_QUERIES) throw new Rejected('90004');
    if (notifyUrl !== undefined && notifyUrl.length >= 5000) throw new Rejected('90014');

    let incrementalTime: number | undefined;
    if (body.incrementalTime !== undefined && body.incrementalTime !== null) {
      if (typeof body.incrementalTime !== 'string') throw new Rejected('90015');
      incrementalTime = parseWallTime(body.incrementalTime, this.options.dataCenterZone);
      if (incrementalTime === undefined) throw new Rejected('90015');
    }
    if (partner !== null && !this.options.partners.includes(partner)) throw new Rejected('90019');

    for (const q of queries) {
      if (q.deleted !== undefined && !stateful && q.deleted.forceExport !== true) throw new Rejected('90012');
    }
    const compiledList: CompiledQuery[] = [];
    for (const q of queries) {
      let compiled: CompiledQuery;
      try {
        compiled = this.compile(q.query);
      } catch (err) {
        if (err instanceof ZoqlError) throw new Rejected(err.errorCode, err.message);
        throw err;
      }
      if (q.deleted !== undefined && this.tenant.object(compiled.baseObject)?.supportsDeleted === false) {
        throw new Rejected('90017');
      }
      compiledList.push(compiled);
    }

    const submitError = this.faults.take('submit-error', 'submit');
    if (submitError !== undefined) throw new Rejected(submitError.errorCode, submitError.message);

    const active = [...this.jobs.values()].filter(
      (j) => j.mode === mode && (j.status === 'submitted' || j.status === 'executing'),
    ).length;
    if (active >= this.options.concurrencyLimit) throw new Rejected('90028');

    const now = this.clock.now();
    // `full` is reported at submit: judge against the session as it will be once the jobs ahead complete.
    const projected = this.projectedSession(key, session);
    const job: AquaJob = {
      id: hexId(),
      name,
      version: versionText,
      format,
      encrypted,
      partner,
      project,
      mode,
      offset,
      incrementalTime: stateful ? incrementalTime : undefined,
      notifyUrl,
      useQueryLabels: useQueryLabels ?? false,
      dateTimeUtc: dateTimeUtc ?? false,
      nullReplacement,
      useLastCompletedJobQueries,
      status: 'submitted',
      errorCode: undefined,
      message: undefined,
      submittedAt: now,
      previousRequestAt: session?.lastRequestAt,
      startedAt: undefined,
      finishedAt: undefined,
      abort: undefined,
      jobError: false,
      stuck: false,
      ready: false,
      batches: queries.map((q) => ({
        batchId: hexId(),
        name: q.name,
        query: q.query,
        batchType: q.type,
        apiVersion: q.apiVersion,
        deleted: q.deleted,
        status: 'pending',
        full: stateful ? decideFull(projected, session?.lastRequestAt, now, q.name, q.query, q.deleted) : true,
        recordCount: 0,
        fileIds: [],
        segmented: false,
        message: undefined,
        window: undefined,
        includeDeleted: false,
      })),
    };
    compiledList.forEach((c, i) => this.compiled.set(`${job.id}/${i}`, c));
    this.jobs.set(job.id, job);
    if (key !== undefined) {
      const s = session ?? { marker: undefined, lastRequestAt: now, queries: {}, lastCompletedJobId: undefined };
      s.lastRequestAt = now;
      this.sessions.set(key, s);
    }
    this.scheduleReady(job);
    this.persist();
    return job;
  }

  private projectedSession(key: string | undefined, session: Session | undefined): Pick<Session, 'queries'> | undefined {
    if (key === undefined) return undefined;
    const queries: Record<string, SessionQuery> = { ...session?.queries };
    let any = session !== undefined && session.lastCompletedJobId !== undefined;
    for (const j of this.jobs.values()) {
      if (j.mode !== 'stateful' || j.partner === null || j.project === null) continue;
      if (sessionKey(j.partner, j.project) !== key) continue;
      if (j.status !== 'submitted' && j.status !== 'executing') continue;
      any = true;
      for (const b of j.batches) queries[b.name] = { text: b.query, deletedKey: deletedKey(b.deleted) };
    }
    return any ? { queries } : undefined;
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
      const key = job.mode === 'stateful' && job.partner !== null && job.project !== null ? sessionKey(job.partner, job.project) : undefined;
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
    const session =
      job.mode === 'stateful' && job.partner !== null && job.project !== null
        ? this.sessions.get(sessionKey(job.partner, job.project))
        : undefined;
    const actual = session?.lastCompletedJobId === undefined ? undefined : session;
    job.batches.forEach((b) => {
      b.status = 'executing';
      if (job.mode === 'stateless') {
        b.full = true;
        b.includeDeleted = b.deleted?.forceExport === true;
        return;
      }
      // Recomputed now that the jobs ahead are finished: a failed predecessor leaves its queries unregistered.
      b.full = decideFull(actual, job.previousRequestAt, job.submittedAt, b.name, b.query, b.deleted);
      // Older docs read incrementalTime 10:30:01 as "from 10:30:02"; the current ones as "from 10:30:01".
      const given = job.incrementalTime === undefined ? undefined : job.incrementalTime + (this.options.readings.incrementalTimeBoundary === 'exclusive' ? 1000 : 0);
      if (!b.full) {
        const since = given ?? session?.marker ?? Number.MIN_SAFE_INTEGER;
        b.window = { since, until: now - job.offset * 1000 };
        b.includeDeleted = b.deleted !== undefined;
      } else if (given !== undefined && this.options.readings.fullHonoursIncrementalTime) {
        // A full load (no deleted rows) of only the rows changed since incrementalTime: incomplete by design.
        b.window = { since: given, until: now - job.offset * 1000 };
      }
    });
    if (this.faults.take('job-error') !== undefined) job.jobError = true;
    const abort = this.faults.take('abort-batch', undefined, (f) =>
      f.object === undefined ? true : job.batches.some((_, i) => this.batchObject(job, i) === f.object?.toLowerCase()),
    );
    if (abort !== undefined) {
      const index = abort.object === undefined ? 0 : job.batches.findIndex((_, i) => this.batchObject(job, i) === abort.object?.toLowerCase());
      job.abort = { index: Math.max(0, index), message: abort.message };
    }
    if (this.faults.take('stuck') !== undefined) job.stuck = true;
    this.persist();
    if (!job.stuck) this.timers.later(this.options.timing.executingMs, () => this.finish(job));
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
    } else {
      if (job.abort === undefined && this.options.renderFilesAhead) {
        // Like Zuora, the job reports completed only once its files exist: rendered now, served from disk later.
        this.renderAhead(job, now).then(
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
        return;
      }
      job.batches.forEach((b, i) => {
        if (job.abort !== undefined && i >= job.abort.index) {
          b.status = i === job.abort.index ? 'aborted' : 'cancelled';
          if (i === job.abort.index) b.message = job.abort.message;
          return;
        }
        this.completeBatch(job, i, now);
      });
      job.status = job.abort === undefined ? 'completed' : 'aborted';
    }
    this.settle(job, job.status);
  }

  /**
   * Completes every batch in one pass over its rows: they are counted while they are rendered into the cache,
   * a new segment file starting every segmentSize rows (instead of one pass to count and one per segment).
   */
  private async renderAhead(job: AquaJob, now: number): Promise<void> {
    for (const [index, b] of job.batches.entries()) {
      const compiled = this.compiledFor(job, index);
      b.segmented = this.segmentedBatch(job, b, compiled);
      // A restart in the middle of rendering runs this again: forget the files of the first attempt.
      for (const id of b.fileIds) {
        this.files.delete(id);
        this.cache.delete(id);
      }
      b.fileIds = [];
      const iterator = compiled.rows(this.snapshotFor(job), this.rowOptions(b))[Symbol.iterator]();
      let next = iterator.next();
      const size = b.segmented ? this.options.segmentSize : Number.POSITIVE_INFINITY;
      let count = 0;
      function* segmentRows(): Generator<ResultRow> {
        for (let n = 0; n < size && next.done !== true; n++) {
          const row = next.value;
          next = iterator.next();
          count += 1;
          yield row;
        }
      }
      for (let s = 0; s === 0 || next.done !== true; s++) {
        const id = this.addFile(job, index, b.segmented ? s : undefined, now);
        const file = this.describeFile(id, segmentRows());
        if (file !== undefined) await this.cache.fill(id, file.render());
      }
      b.recordCount = count;
      b.status = 'completed';
    }
  }

  /** Records the job's final status and, for a completed stateful job, moves its session forward. */
  private settle(job: AquaJob, status: JobStatus): void {
    if (job.status !== 'executing' && job.status !== status) return; // cancelled meanwhile
    job.status = status;
    if (job.status === 'completed' && job.partner !== null && job.project !== null && job.mode === 'stateful') {
      const key = sessionKey(job.partner, job.project);
      const session = this.sessions.get(key) ?? { marker: undefined, lastRequestAt: job.submittedAt, queries: {}, lastCompletedJobId: undefined };
      for (const b of job.batches) session.queries[b.name] = { text: b.query, deletedKey: deletedKey(b.deleted) };
      // A job with incrementalTime reads a custom window but leaves the session marker where it was.
      if (job.incrementalTime === undefined) session.marker = job.startedAt;
      session.lastCompletedJobId = job.id;
      this.sessions.set(key, session);
    }
    this.persist();
    this.pump();
  }

  private completeBatch(job: AquaJob, index: number, now: number): void {
    const b = job.batches[index];
    if (b === undefined) return;
    const compiled = this.compiledFor(job, index);
    let count = 0;
    for (const _row of compiled.rows(this.snapshotFor(job), this.rowOptions(b))) count += 1;
    b.recordCount = count;
    b.status = 'completed';
    b.segmented = this.segmentedBatch(job, b, compiled);
    const fileCount = b.segmented ? Math.max(1, Math.ceil(count / this.options.segmentSize)) : 1;
    for (let s = 0; s < fileCount; s++) this.addFile(job, index, b.segmented ? s : undefined, now);
  }

  private segmentedBatch(job: AquaJob, b: AquaBatch, compiled: CompiledQuery): boolean {
    return this.options.segmentation && job.mode === 'stateful' && b.full && !compiled.usesFunctions && !compiled.usesAliases;
  }

  private addFile(job: AquaJob, batchIndex: number, segment: number | undefined, now: number): string {
    const file: FileRecord = { id: hexId(), jobId: job.id, batchIndex, segment, createdAt: now, expired: false };
    this.files.set(file.id, file);
    job.batches[batchIndex]?.fileIds.push(file.id);
    return file.id;
  }

  private rowOptions(b: AquaBatch): { window?: { since: number; until: number }; includeDeleted: boolean } {
    return b.window === undefined ? { includeDeleted: b.includeDeleted } : { window: b.window, includeDeleted: b.includeDeleted };
  }

  // ---- reads ----

  get(id: string): Reply {
    const job = this.jobs.get(id);
    if (job === undefined) return { status: 200, body: this.plainError('90002') };
    return { status: 200, body: this.view(job) };
  }

  lastCompleted(partner: string, project: string): Reply {
    const id = this.sessions.get(sessionKey(partner, project))?.lastCompletedJobId;
    const job = id === undefined ? undefined : this.jobs.get(id);
    if (job === undefined) return { status: 200, body: this.plainError('90002') };
    return { status: 200, body: this.view(job) };
  }

  cancel(id: string): Reply {
    const job = this.jobs.get(id);
    if (job === undefined) return { status: 200, body: this.plainError('90002') };
    if (job.status !== 'submitted' && job.status !== 'executing') return { status: 200, body: this.plainError('90003') };
    job.status = 'cancelled';
    job.stuck = false;
    job.finishedAt = this.clock.now();
    for (const b of job.batches) if (b.status !== 'completed') b.status = 'cancelled';
    this.persist();
    this.pump();
    return { status: 200, body: this.view(job) };
  }

  private plainError(code: string): Record<string, unknown> {
    return { errorCode: code, message: errorMessage(code), status: 'error' };
  }

  countActive(mode: 'stateful' | 'stateless'): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.mode === mode && (j.status === 'submitted' || j.status === 'executing')) n++;
    return n;
  }

  /** The job as Zuora's submit/GET responses show it. */
  view(job: AquaJob): Record<string, unknown> {
    const out: Record<string, unknown> = {
      id: job.id,
      name: job.name,
      status: job.status,
      version: job.version,
      format: job.format.toUpperCase(),
      encrypted: job.encrypted,
    };
    if (job.partner !== null) out.partner = job.partner;
    if (job.project !== null) out.project = job.project;
    out.useLastCompletedJobQueries = job.useLastCompletedJobQueries;
    out.offset = job.offset;
    out.sourceData = 'LIVE';
    if (job.startedAt !== undefined) {
      out.startTime =
        this.options.startTimeFormat === 'iso' ? formatIsoUtc(job.startedAt) : formatWallTime(job.startedAt, this.options.dataCenterZone);
    }
    if (job.incrementalTime !== undefined) out.incrementalTime = job.incrementalTime;
    if (job.notifyUrl !== undefined) out.notifyUrl = job.notifyUrl;
    if (job.errorCode !== undefined) {
      out.errorCode = job.errorCode;
      out.message = job.message;
    }
    out.batches = job.batches.map((b) => {
      const v: Record<string, unknown> = {
        batchId: b.batchId,
        name: b.name,
        query: b.query,
        batchType: b.batchType,
        apiVersion: b.apiVersion,
        status: b.status,
        localizedStatus: b.status,
        recordCount: b.recordCount,
        full: b.full,
      };
      if (b.deleted !== undefined) v.deleted = b.deleted;
      if (b.status === 'completed') {
        if (b.segmented) v.segments = [...b.fileIds];
        else v.fileId = b.fileIds[0];
      }
      if (b.message !== undefined || b.status === 'completed' || b.status === 'aborted') v.message = b.message ?? '';
      return v;
    });
    return out;
  }

  summaries(): JobSummary[] {
    return [...this.jobs.values()].map((j) => ({
      id: j.id,
      api: 'aqua',
      status: j.status,
      mode: j.mode,
      partner: j.partner,
      project: j.project,
      submittedAt: j.submittedAt,
      startedAt: j.startedAt,
      finishedAt: j.finishedAt,
      batches: j.batches.map((b) => ({ name: b.name, status: b.status, full: b.full, recordCount: b.recordCount, fileIds: [...b.fileIds] })),
    }));
  }

  // ---- files ----

  expireFiles(): void {
    for (const f of this.files.values()) {
      f.expired = true;
      this.cache.delete(f.id);
    }
    this.persist();
  }

  fileStatus(id: string): 'ok' | 'gone' {
    const f = this.files.get(id);
    return f === undefined || this.isExpired(f) ? 'gone' : 'ok';
  }

  private isExpired(f: FileRecord): boolean {
    return f.expired || this.clock.now() - f.createdAt >= this.options.fileRetentionMs;
  }

  /** Serves the file from the on-disk cache, rendering it from the job's snapshot on the first download. */
  openFile(id: string): FileBody | undefined {
    const file = this.describeFile(id);
    if (file === undefined) {
      this.cache.delete(id);
      return undefined;
    }
    const stream = this.cache.read(id) ?? this.cache.tee(id, file.render());
    return { contentType: file.contentType, filename: file.filename, stream };
  }

  /** What a download of the file sends; `render` streams it from the job's snapshot (nothing kept in memory). */
  private describeFile(id: string, given?: Iterable<ResultRow>): { contentType: string; filename: string; render: () => Readable } | undefined {
    const f = this.files.get(id);
    if (f === undefined || this.isExpired(f)) return undefined;
    const job = this.jobs.get(f.jobId);
    const batch = job?.batches[f.batchIndex];
    if (job === undefined || batch === undefined) return undefined;
    const base = batch.name === '' ? job.id : batch.name;
    const suffix = f.segment === undefined ? '' : `_${f.segment + 1}`;
    const csv = (): Readable => {
      const compiled = this.compiledFor(job, f.batchIndex);
      const size = this.options.segmentSize;
      let selected = given;
      if (selected === undefined) {
        const rows = compiled.rows(this.snapshotFor(job), this.rowOptions(batch));
        selected = f.segment === undefined ? rows : sliceRows(rows, f.segment * size, (f.segment + 1) * size);
      }
      return renderCsv(selected, compiled.columns, {
        useQueryLabels: job.useQueryLabels,
        dateTimeUtc: job.dateTimeUtc,
        nullReplacement: job.nullReplacement,
        deleted: batch.deleted === undefined ? undefined : { column: batch.deleted.column, format: batch.deleted.format },
        tenantZone: this.options.tenantZone,
      }, compiled.baseObject);
    };
    if (job.format === 'gzip') {
      return { contentType: 'application/x-gzip;charset=UTF-8', filename: `${base}${suffix}.csv.gz`, render: () => csv().pipe(createGzip()) };
    }
    if (job.format === 'zip') {
      const render = (): Readable => {
        const zip = new yazl.ZipFile();
        zip.addReadStream(csv(), `${base}.csv`, { mtime: new Date(job.finishedAt ?? this.clock.now()) });
        zip.end();
        return Readable.from(zip.outputStream);
      };
      return { contentType: 'application/zip;charset=UTF-8', filename: `${base}${suffix}.zip`, render };
    }
    return { contentType: 'text/csv;charset=UTF-8', filename: `${base}${suffix}.csv`, render: csv };
  }
}

function* sliceRows<T>(rows: Iterable<T>, from: number, to: number): Iterable<T> {
  let i = 0;
  for (const row of rows) {
    if (i >= to) return;
    if (i >= from) yield row;
    i++;
  }
}
