// Submit, step by step in the order Zuora checks: the request's shape (request.ts), its queries (or the session's
// previous ones), limits and the incremental time, the partner, each query against the schema, then capacity.
// The first failing step decides the answer, so the order is part of the behaviour.
import type { Clock, ResolvedOptions } from '../context.ts';
import { hexId } from '../context.ts';
import type { FaultRegistry } from '../faults.ts';
import type { CompiledQuery, Tenant } from '../model.ts';
import { ZoqlError } from '../model.ts';
import { parseWallTime } from '../time.ts';
import { Rejected } from './errors.ts';
import { parseJobRequest } from './request.ts';
import type { JobRequest, QueryRequest } from './request.ts';
import { decideFull, deletedKey, jobSessionKey, sessionKey } from './sessions.ts';
import type { AquaBatch, AquaJob, JobMode, Session, SessionQuery } from './types.ts';

const MAX_QUERIES = 50;

/** What submit reads from the service; it changes nothing there (the caller registers the job). */
export interface SubmitContext {
  options: ResolvedOptions;
  tenant: Tenant;
  faults: FaultRegistry;
  jobs: ReadonlyMap<string, AquaJob>;
  sessions: ReadonlyMap<string, Session>;
  clock: Clock;
  compile(text: string): CompiledQuery;
}

export interface Admitted {
  job: AquaJob;
  compiled: CompiledQuery[];
  /** The session key of a stateful job. */
  key: string | undefined;
  session: Session | undefined;
}

/** Validates a submit body and builds its job; throws Malformed or Rejected. */
export function admitJob(ctx: SubmitContext, rawBody: unknown): Admitted {
  const request = parseJobRequest(rawBody);
  const stateful = request.version >= 1.1 && request.partner !== null && request.project !== null;
  const key = stateful ? sessionKey(request.partner as string, request.project as string) : undefined;
  const session = key === undefined ? undefined : ctx.sessions.get(key);
  const { queries, reused } = resolveQueries(ctx, request.queries, stateful, session);
  const incrementalTime = checkRequest(ctx, request, queries);
  const compiled = compileQueries(ctx, queries, stateful);
  const mode: JobMode = stateful ? 'stateful' : 'stateless';
  checkCapacity(ctx, mode);
  const now = ctx.clock.now();
  // `full` is reported at submit: judge against the session as it will be once the jobs ahead complete.
  const projected = projectedSession(ctx.jobs, key, session);
  const full = (q: QueryRequest): boolean =>
    stateful ? decideFull(projected, session?.lastRequestAt, now, q.name, q.query, q.deleted) : true;
  const job = newJob(request, mode, stateful ? incrementalTime : undefined, session, reused, now);
  job.batches = queries.map((q) => newBatch(q, full(q)));
  return { job, compiled, key, session };
}

/** A stateful call without queries re-runs the session's previous queries incrementally. */
function resolveQueries(
  ctx: SubmitContext,
  queries: QueryRequest[],
  stateful: boolean,
  session: Session | undefined,
): { queries: QueryRequest[]; reused: boolean } {
  if (queries.length > 0) return { queries, reused: false };
  const previous = session?.lastCompletedJobId === undefined ? undefined : ctx.jobs.get(session.lastCompletedJobId);
  if (!stateful || previous === undefined) throw new Rejected('90016');
  const reused = previous.batches.map((b) => ({
    name: b.name,
    query: b.query,
    type: b.batchType,
    apiVersion: b.apiVersion,
    deleted: b.deleted,
  }));
  return { queries: reused, reused: true };
}

/** Query count, notifyUrl, incrementalTime and partner; returns the incremental time as epoch ms. */
function checkRequest(ctx: SubmitContext, request: JobRequest, queries: QueryRequest[]): number | undefined {
  if (queries.length > MAX_QUERIES) throw new Rejected('90004');
  if (request.notifyUrl !== undefined && request.notifyUrl.length >= 5000) throw new Rejected('90014');
  let incrementalTime: number | undefined;
  if (request.incrementalTime !== undefined && request.incrementalTime !== null) {
    if (typeof request.incrementalTime !== 'string') throw new Rejected('90015');
    incrementalTime = parseWallTime(request.incrementalTime, ctx.options.dataCenterZone);
    if (incrementalTime === undefined) throw new Rejected('90015');
  }
  if (request.partner !== null && !ctx.options.partners.includes(request.partner)) throw new Rejected('90019');
  return incrementalTime;
}

/** Deleted specs (docs/aqua.md#deleted-rows) and each query against the schema, in order. */
function compileQueries(ctx: SubmitContext, queries: QueryRequest[], stateful: boolean): CompiledQuery[] {
  for (const q of queries) {
    if (q.deleted !== undefined && !stateful && q.deleted.forceExport !== true) throw new Rejected('90012');
  }
  return queries.map((q) => {
    let compiled: CompiledQuery;
    try {
      compiled = ctx.compile(q.query);
    } catch (err) {
      if (err instanceof ZoqlError) throw new Rejected(err.errorCode, err.message);
      throw err;
    }
    if (q.deleted !== undefined && ctx.tenant.object(compiled.baseObject)?.supportsDeleted === false) {
      throw new Rejected('90017');
    }
    return compiled;
  });
}

/** An armed submit-error fault, then the tenant's concurrent-job limit (docs/aqua.md#idempotency). */
function checkCapacity(ctx: SubmitContext, mode: JobMode): void {
  const submitError = ctx.faults.take('submit-error', 'submit');
  if (submitError !== undefined) throw new Rejected(submitError.errorCode, submitError.message);
  let active = 0;
  for (const j of ctx.jobs.values()) if (j.mode === mode && (j.status === 'submitted' || j.status === 'executing')) active++;
  if (active >= ctx.options.concurrencyLimit) throw new Rejected('90028');
}

function newJob(
  request: JobRequest,
  mode: JobMode,
  incrementalTime: number | undefined,
  session: Session | undefined,
  reused: boolean,
  now: number,
): AquaJob {
  return {
    id: hexId(),
    name: request.name,
    version: request.versionText,
    format: request.format,
    encrypted: request.encrypted,
    partner: request.partner,
    project: request.project,
    mode,
    offset: request.offset,
    incrementalTime,
    notifyUrl: request.notifyUrl,
    useQueryLabels: request.useQueryLabels ?? false,
    dateTimeUtc: request.dateTimeUtc ?? false,
    nullReplacement: request.nullReplacement,
    useLastCompletedJobQueries: reused,
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
    batches: [],
  };
}

function newBatch(q: QueryRequest, full: boolean): AquaBatch {
  return {
    batchId: hexId(),
    name: q.name,
    query: q.query,
    batchType: q.type,
    apiVersion: q.apiVersion,
    deleted: q.deleted,
    status: 'pending',
    full,
    recordCount: 0,
    fileIds: [],
    segmented: false,
    message: undefined,
    window: undefined,
    includeDeleted: false,
  };
}

/** The session as it will be once the session's queued and running jobs complete. */
function projectedSession(
  jobs: ReadonlyMap<string, AquaJob>,
  key: string | undefined,
  session: Session | undefined,
): Pick<Session, 'queries'> | undefined {
  if (key === undefined) return undefined;
  const queries: Record<string, SessionQuery> = { ...session?.queries };
  let any = session !== undefined && session.lastCompletedJobId !== undefined;
  for (const j of jobs.values()) {
    if (jobSessionKey(j) !== key) continue;
    if (j.status !== 'submitted' && j.status !== 'executing') continue;
    any = true;
    for (const b of j.batches) queries[b.name] = { text: b.query, deletedKey: deletedKey(b.deleted) };
  }
  return any ? { queries } : undefined;
}
