// The Data Query job API (/query/jobs): accepted -> in_progress -> completed | failed | cancelled, results served
// from an unauthenticated "pre-signed" URL and rendered from the job's snapshot on each download.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import yazl from 'yazl';
import type { Snapshot, Tenant, Value } from './model.ts';
import type { Clock, ResolvedOptions } from './context.ts';
import { hexId } from './context.ts';
import { executeSql, parseSql, SqlError } from './data-query-sql.ts';
import { catalogueStatement } from './data-query-meta.ts';
import type { OutputField, SqlResult } from './data-query-sql.ts';
import type { Reply, FileBody } from './jobs/types.ts';
import { formatIsoInZone, formatWallTime } from './time.ts';
import { DELETED_RETENTION_MS } from './zoql.ts';
import type { JobSummary } from './types.ts';
import { Timers } from './timers.ts';

const MAX_RUNNING = 5;
const MAX_QUEUED = 10;
const MAX_OUTPUT_ROWS = 500_000;
const CREATED_BY = '514f3ea1-6716-4f44-b6e0-9a8f0cf44bd2';

type QueryStatus = 'accepted' | 'in_progress' | 'completed' | 'failed' | 'cancelled';
type OutputFormat = 'JSON' | 'CSV' | 'TSV' | 'DSV';
type Compression = 'NONE' | 'GZIP' | 'ZIP';

export interface DataQueryJob {
  id: string;
  query: string;
  outputFormat: OutputFormat;
  compression: Compression;
  columnSeparator: string;
  readDeleted: boolean;
  sourceData: string;
  useIndexJoin: boolean;
  queryStatus: QueryStatus;
  createdOn: number;
  updatedOn: number;
  startedAt: number | undefined;
  outputRows: number | undefined;
  processingTime: number | undefined;
  errorMessage: string | undefined;
  /** Secret part of the unauthenticated result URL. */
  fileToken: string;
  ready: boolean;
}

export class DataQueryService {
  private readonly jobs = new Map<string, DataQueryJob>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly timers = new Timers();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly tenant: Tenant,
    private readonly clock: Clock,
    private readonly persist: () => void,
    private readonly baseUrl: () => string,
  ) {}

  exportState(): DataQueryJob[] {
    return [...this.jobs.values()];
  }

  importState(jobs: DataQueryJob[]): void {
    for (const j of jobs) {
      this.jobs.set(j.id, j);
      if (j.queryStatus === 'accepted') this.timers.later(this.options.timing.queuedMs, () => this.markReady(j));
      else if (j.queryStatus === 'in_progress') this.timers.later(this.options.timing.executingMs, () => this.finish(j));
    }
  }

  close(): void {
    this.timers.clear();
  }

  submit(contentType: string | undefined, rawBody: unknown): Reply {
    if (contentType === undefined || !contentType.toLowerCase().includes('application/json')) {
      return { status: 415, body: { code: 415, message: 'HTTP 415 Unsupported Media Type' } };
    }
    const bad = (message: string): Reply => ({ status: 400, body: { code: 400, message } });
    if (typeof rawBody !== 'object' || rawBody === null) return bad('Request body must be a JSON object');
    const body = rawBody as Record<string, unknown>;
    if (typeof body.query !== 'string' || body.query.trim() === '') return bad('query is required');
    const outputFormat = typeof body.outputFormat === 'string' ? body.outputFormat.toUpperCase() : undefined;
    if (outputFormat !== 'JSON' && outputFormat !== 'CSV' && outputFormat !== 'TSV' && outputFormat !== 'DSV') {
      return bad('outputFormat must be one of JSON, CSV, TSV, DSV');
    }
    const compression = typeof body.compression === 'string' ? body.compression.toUpperCase() : undefined;
    if (compression !== 'NONE' && compression !== 'GZIP' && compression !== 'ZIP') return bad('compression must be one of NONE, GZIP, ZIP');
    const output = body.output as { target?: unknown } | undefined;
    if (typeof output !== 'object' || output === null || String(output.target).toUpperCase() !== 'S3') return bad('output.target must be S3');
    const columnSeparator = typeof body.columnSeparator === 'string' && body.columnSeparator.length === 1 ? body.columnSeparator : '|';
    const running = this.count('in_progress');
    const queued = this.count('accepted');
    if (running + queued >= MAX_RUNNING + MAX_QUEUED) {
      return { status: 429, body: { code: 429, message: 'Too many queries: 5 running and 10 queued queries is the limit per tenant' } };
    }
    const now = this.clock.now();
    const job: DataQueryJob = {
      id: randomUUID(),
      query: body.query,
      outputFormat,
      compression,
      columnSeparator,
      readDeleted: body.readDeleted === true,
      sourceData: typeof body.sourceData === 'string' ? body.sourceData : 'LIVE',
      useIndexJoin: body.useIndexJoin === true,
      queryStatus: 'accepted',
      createdOn: now,
      updatedOn: now,
      startedAt: undefined,
      outputRows: undefined,
      processingTime: undefined,
      errorMessage: undefined,
      fileToken: hexId(),
      ready: false,
    };
    this.jobs.set(job.id, job);
    this.timers.later(this.options.timing.queuedMs, () => this.markReady(job));
    this.persist();
    return { status: 200, body: { data: this.view(job) } };
  }

  private count(status: QueryStatus): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.queryStatus === status) n++;
    return n;
  }

  private markReady(job: DataQueryJob): void {
    job.ready = true;
    this.pump();
  }

  private pump(): void {
    for (const job of this.jobs.values()) {
      if (this.count('in_progress') >= MAX_RUNNING) return;
      if (job.queryStatus !== 'accepted' || !job.ready) continue;
      job.queryStatus = 'in_progress';
      job.startedAt = this.clock.now();
      job.updatedOn = job.startedAt;
      this.snapshots.set(job.id, this.tenant.snapshot(job.startedAt));
      this.persist();
      this.timers.later(this.options.timing.executingMs, () => this.finish(job));
    }
  }

  private run(job: DataQueryJob): SqlResult {
    const snapshot = this.snapshots.get(job.id) ?? this.tenant.snapshot(job.startedAt ?? this.clock.now());
    this.snapshots.set(job.id, snapshot);
    const zone = this.options.tenantZone;
    const catalogue = catalogueStatement(job.query, this.tenant);
    if (catalogue !== undefined) return catalogue;
    return executeSql(parseSql(job.query), this.tenant, snapshot, {
      readDeleted: job.readDeleted,
      zone,
      dateOf: (ms) => formatWallTime(ms, zone).slice(0, 10),
      dateOfIn: (ms, other) => {
        try {
          return formatWallTime(ms, other).slice(0, 10);
        } catch {
          throw new SqlError(`Time zone not supported: ${other}`);
        }
      },
      deletedSince: snapshot.at - DELETED_RETENTION_MS,
    });
  }

  private finish(job: DataQueryJob): void {
    if (job.queryStatus !== 'in_progress') return;
    const now = this.clock.now();
    try {
      let n = 0;
      for (const _row of this.run(job).rows) {
        n++;
        if (n > MAX_OUTPUT_ROWS) throw new SqlError(`Query output exceeded the maximum of ${MAX_OUTPUT_ROWS} rows`);
      }
      job.outputRows = n;
      job.queryStatus = 'completed';
    } catch (err) {
      if (!(err instanceof SqlError)) throw err;
      job.queryStatus = 'failed';
      job.errorMessage = err.message;
    }
    job.processingTime = now - (job.startedAt ?? now);
    job.updatedOn = now;
    this.persist();
    this.pump();
  }

  get(id: string): Reply {
    const job = this.jobs.get(id);
    if (job === undefined) return { status: 404, body: { code: 404, message: `Query job ${id} not found` } };
    return { status: 200, body: { data: this.view(job) } };
  }

  list(queryStatus: string | null, pageSize: string | null): Reply {
    const size = Math.min(1000, Math.max(1, Number(pageSize ?? 20) || 20));
    const jobs = [...this.jobs.values()]
      .filter((j) => queryStatus === null || j.queryStatus === queryStatus)
      .sort((a, b) => b.createdOn - a.createdOn)
      .slice(0, size);
    return { status: 200, body: { data: jobs.map((j) => this.view(j)) } };
  }

  cancel(id: string): Reply {
    const job = this.jobs.get(id);
    if (job === undefined) return { status: 404, body: { code: 404, message: `Query job ${id} not found` } };
    if (job.queryStatus !== 'accepted' && job.queryStatus !== 'in_progress') {
      return { status: 400, body: { code: 400, message: `Query job ${id} is ${job.queryStatus} and cannot be cancelled` } };
    }
    job.queryStatus = 'cancelled';
    job.updatedOn = this.clock.now();
    this.persist();
    this.pump();
    return { status: 200, body: { data: this.view(job) } };
  }

  private extension(job: DataQueryJob): string {
    const base = job.outputFormat === 'JSON' ? 'jsonl' : job.outputFormat.toLowerCase();
    return job.compression === 'GZIP' ? `${base}.gz` : job.compression === 'ZIP' ? `${base}.zip` : base;
  }

  private view(job: DataQueryJob): Record<string, unknown> {
    const iso = (ms: number): string => new Date(ms).toISOString();
    const out: Record<string, unknown> = {
      id: job.id,
      query: job.query,
      useIndexJoin: job.useIndexJoin,
      sourceData: job.sourceData,
      queryStatus: job.queryStatus,
      remainingRetries: 3,
      retries: 3,
      updatedOn: iso(job.updatedOn),
      createdOn: iso(job.createdOn),
      createdBy: CREATED_BY,
    };
    if (job.queryStatus === 'completed') {
      out.dataFile = `${this.baseUrl()}/query-results/${job.fileToken}/${job.id}.${this.extension(job)}`;
      out.outputRows = job.outputRows;
      out.processingTime = job.processingTime;
    }
    if (job.errorMessage !== undefined) out.errorMessage = job.errorMessage;
    return out;
  }

  summaries(): JobSummary[] {
    return [...this.jobs.values()].map((j) => ({
      id: j.id,
      api: 'data-query',
      status: j.queryStatus,
      mode: 'stateless',
      partner: null,
      project: null,
      submittedAt: j.createdOn,
      startedAt: j.startedAt,
      finishedAt: j.queryStatus === 'completed' || j.queryStatus === 'failed' ? j.updatedOn : undefined,
      batches: [],
    }));
  }

  /** The result file behind a dataFile URL (no auth: the token in the path is the credential). */
  openFile(token: string, name: string): FileBody | undefined {
    const job = [...this.jobs.values()].find((j) => j.fileToken === token);
    if (job === undefined || job.queryStatus !== 'completed' || name !== `${job.id}.${this.extension(job)}`) return undefined;
    const result = this.run(job);
    const text = Readable.from(renderLines(result, job, this.options.tenantZone));
    const inner = `${job.id}.${job.outputFormat === 'JSON' ? 'jsonl' : job.outputFormat.toLowerCase()}`;
    const plain = job.outputFormat === 'JSON' ? 'application/json' : 'text/csv';
    if (job.compression === 'GZIP') return { contentType: 'application/x-gzip', filename: name, stream: text.pipe(createGzip()) };
    if (job.compression === 'ZIP') {
      const zip = new yazl.ZipFile();
      zip.addReadStream(text, inner);
      zip.end();
      return { contentType: 'application/zip', filename: name, stream: zip.outputStream as Readable };
    }
    return { contentType: `${plain};charset=UTF-8`, filename: name, stream: text };
  }
}

function* renderLines(result: SqlResult, job: DataQueryJob, zone: string): Iterable<string> {
  const render = (f: OutputField, v: Value): Value => (f.type === 'datetime' && typeof v === 'number' ? formatIsoInZone(v, zone) : v);
  if (job.outputFormat === 'JSON') {
    for (const row of result.rows) {
      const obj: Record<string, Value> = {};
      result.fields.forEach((f, i) => (obj[f.name] = render(f, row[i] ?? null)));
      yield `${JSON.stringify(obj)}\n`;
    }
    return;
  }
  const sep = job.outputFormat === 'CSV' ? ',' : job.outputFormat === 'TSV' ? '\t' : job.columnSeparator;
  const cell = (v: Value): string => {
    if (v === null) return '';
    const s = String(v);
    return s.includes(sep) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  yield `${result.fields.map((f) => cell(f.name)).join(sep)}\n`;
  for (const row of result.rows) yield `${result.fields.map((f, i) => cell(render(f, row[i] ?? null))).join(sep)}\n`;
}
