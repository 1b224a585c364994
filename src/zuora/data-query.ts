// The Data Query client (/query/jobs): submit a SQL query, poll it through accepted / in_progress to a terminal
// state, download its pre-signed dataFile (no Zuora auth header) and parse the JSON Lines result. Requests go
// through ZuoraClient's request layer, so token refresh, retries, Retry-After and timeouts are the AQuA client's.
// Data Query's own limits are respected on our side: at most 5 queries in flight per client (the tenant allows 5
// running + 10 queued), and a result may not exceed 500,000 rows (Live).
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import pLimit from 'p-limit';
import {
  DataError,
  InterruptedError,
  ZuoraJobFailedError,
  ZuoraJobTimeoutError,
  ZuoraProtocolError,
  ZuoraRejectedError,
  ZuoraTransientError,
  type ErrorContext,
} from '../errors.ts';
import { redact, silentLogger, type Logger } from '../log.ts';
import type { ZuoraClient } from './client.ts';

/** Live Data Query limits (docs/aqua.md#data-query). */
export const DATA_QUERY_LIMITS = { running: 5, queued: 10, outputRows: 500_000 } as const;

export type DataQueryStatus = 'accepted' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | (string & {});

export interface DataQueryJob {
  id: string;
  query: string;
  queryStatus: DataQueryStatus;
  /** Pre-signed result URL, only when completed. */
  dataFile: string | undefined;
  outputRows: number | undefined;
  processingTime: number | undefined;
  errorMessage: string | undefined;
}

/** One result row as Zuora writes it in JSON Lines: lower-case column names (or aliases) to values. */
export type DataQueryRow = Record<string, string | number | boolean | null>;

export interface DataQueryClientOptions {
  logger?: Logger;
  /** Queries this client keeps in flight at once (default and maximum 5: the tenant's running limit). */
  maxInFlight?: number;
  /** Poll interval bounds (default 2 s doubling to 30 s). */
  poll?: { minIntervalMs?: number; maxIntervalMs?: number };
  /** Per-query limit while polling (default 4.5 h: Zuora allows 1 h per attempt and up to 3 retries). */
  jobTimeoutMs?: number;
  /** Largest result accepted (default 500,000, Live's output limit). */
  maxOutputRows?: number;
  signal?: AbortSignal;
}

export interface DataQuerySubmitOptions {
  /** Only rows deleted in Zuora (kept 30 days) instead of live ones (reference §10.1 readDeleted). */
  readDeleted?: boolean;
}

const TERMINAL_FAILURES = new Set(['failed', 'cancelled', 'canceled', 'aborted', 'error']);
const DOWNLOAD_ATTEMPTS = 3;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

/** Reads `{data: {...}}` (or a bare job object) into a DataQueryJob. Pure. */
export function normalizeDataQueryJob(body: unknown, context: ErrorContext): DataQueryJob {
  const outer = body as { data?: unknown } | null;
  const data = (typeof outer === 'object' && outer !== null && 'data' in outer ? outer.data : outer) as Record<string, unknown> | null;
  if (typeof data !== 'object' || data === null || typeof data.id !== 'string' || typeof data.queryStatus !== 'string') {
    throw new ZuoraProtocolError(`Data Query answered without a job id and queryStatus: ${redact(JSON.stringify(body)).slice(0, 300)}`, {
      context,
    });
  }
  return {
    id: data.id,
    query: str(data.query) ?? '',
    queryStatus: data.queryStatus.toLowerCase(),
    dataFile: str(data.dataFile),
    outputRows: num(data.outputRows),
    processingTime: num(data.processingTime),
    errorMessage: str(data.errorMessage),
  };
}

/** The message of a Data Query error body (`{code, message}` or `{message}` or `{errors:[{message}]}`). Pure. */
export function dataQueryErrorText(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; errors?: { message?: unknown }[]; reasons?: { message?: unknown }[] };
    const list = body.errors ?? body.reasons;
    if (typeof body.message === 'string') return body.message;
    if (Array.isArray(list)) return list.map((e) => String(e.message ?? '')).join('; ');
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** Quotes a string literal for Data Query's Trino SQL. Pure. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A `TIMESTAMP '2026-01-02 03:04:05.000 +00:00'` literal: an explicit offset, so the tenant zone never applies. Pure. */
export function sqlTimestamp(at: Date): string {
  return `TIMESTAMP '${at.toISOString().replace('T', ' ').replace('Z', '')} +00:00'`;
}

export class DataQueryClient {
  private readonly log: Logger;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly pollMinMs: number;
  private readonly pollMaxMs: number;
  private readonly jobTimeoutMs: number;
  private readonly maxOutputRows: number;
  private readonly signal: AbortSignal | undefined;

  constructor(
    private readonly client: ZuoraClient,
    options: DataQueryClientOptions = {},
  ) {
    this.log = options.logger ?? silentLogger;
    this.limit = pLimit(Math.max(1, Math.min(DATA_QUERY_LIMITS.running, options.maxInFlight ?? DATA_QUERY_LIMITS.running)));
    this.pollMinMs = options.poll?.minIntervalMs ?? 2000;
    this.pollMaxMs = options.poll?.maxIntervalMs ?? 30_000;
    this.jobTimeoutMs = options.jobTimeoutMs ?? 4.5 * 3600_000;
    this.maxOutputRows = Math.min(options.maxOutputRows ?? DATA_QUERY_LIMITS.outputRows, DATA_QUERY_LIMITS.outputRows);
    this.signal = options.signal;
  }

  /** Largest result this client accepts; page sizes must stay at or below it. */
  get outputLimit(): number {
    return this.maxOutputRows;
  }

  /**
   * Runs one query to completion and returns its rows. At most `maxInFlight` queries of this client are between
   * submit and download at once; a tenant-wide 429 ("too many queries") is retried with backoff by the request layer.
   */
  query(sql: string, options: DataQuerySubmitOptions = {}): Promise<DataQueryRow[]> {
    return this.limit(async () => {
      const submitted = await this.submit(sql, options);
      const done = await this.waitForJob(submitted.id);
      return this.download(done);
    });
  }

  async submit(sql: string, options: DataQuerySubmitOptions = {}): Promise<DataQueryJob> {
    const context: ErrorContext = { operation: 'submit data query' };
    const operation = 'submit a Data Query job';
    const reply = await this.client.request({
      operation,
      method: 'POST',
      path: '/query/jobs',
      context,
      body: JSON.stringify({
        query: sql,
        outputFormat: 'JSON',
        compression: 'GZIP',
        output: { target: 'S3' },
        ...(options.readDeleted ? { readDeleted: true } : {}),
      }),
    });
    if (reply.status < 200 || reply.status >= 300) {
      throw new ZuoraRejectedError(`Zuora refused a Data Query job (HTTP ${reply.status}): ${redact(dataQueryErrorText(reply.text))}`, {
        hint:
          reply.status === 403
            ? 'the API user needs the Data Query permission ("Data Query" in its role)'
            : `check the query: ${sql.slice(0, 200)}`,
        context: { ...context, status: reply.status },
      });
    }
    const job = normalizeDataQueryJob(this.parse(reply.text, operation, context), context);
    this.log.debug(`submitted Data Query job ${job.id}`, { status: job.queryStatus });
    return job;
  }

  async getJob(id: string): Promise<DataQueryJob> {
    const context: ErrorContext = { operation: 'get data query job', jobId: id };
    const operation = `get Data Query job ${id}`;
    const reply = await this.client.request({ operation, method: 'GET', path: `/query/jobs/${encodeURIComponent(id)}`, context });
    if (reply.status === 404) {
      throw new ZuoraRejectedError(`Zuora does not know Data Query job ${id} (HTTP 404)`, { context: { ...context, status: 404 } });
    }
    if (reply.status < 200 || reply.status >= 300) {
      throw new ZuoraRejectedError(`Zuora refused to ${operation} (HTTP ${reply.status}): ${redact(dataQueryErrorText(reply.text))}`, {
        hint: reply.status === 403 ? 'a non-admin user may only read its own Data Query jobs' : undefined,
        context: { ...context, status: reply.status },
      });
    }
    return normalizeDataQueryJob(this.parse(reply.text, operation, context), context);
  }

  async cancel(id: string): Promise<void> {
    const context: ErrorContext = { operation: 'cancel data query job', jobId: id };
    const reply = await this.client.request({ operation: `cancel Data Query job ${id}`, method: 'DELETE', path: `/query/jobs/${encodeURIComponent(id)}`, context });
    if (reply.status < 200 || reply.status >= 300) {
      throw new ZuoraRejectedError(`Zuora refused to cancel Data Query job ${id} (HTTP ${reply.status}): ${redact(dataQueryErrorText(reply.text))}`, {
        context: { ...context, status: reply.status },
      });
    }
  }

  /** Polls until completed (returned) or failed/cancelled (ZuoraJobFailedError); ZuoraJobTimeoutError past the limit. */
  async waitForJob(id: string): Promise<DataQueryJob> {
    const started = Date.now();
    let interval = this.pollMinMs;
    while (true) {
      const job = await this.getJob(id);
      if (job.queryStatus === 'completed') return job;
      if (TERMINAL_FAILURES.has(job.queryStatus)) {
        const reason = job.errorMessage ?? 'Zuora gave no errorMessage';
        throw new ZuoraJobFailedError(id, job.queryStatus, redact(`Data Query job ${id} ended "${job.queryStatus}": ${reason}`), {
          hint: /maximum|exceed|limit/i.test(reason)
            ? 'the query hit a Data Query limit (500,000 output rows, 1 h per attempt); narrow it (smaller Id pages, a --since bound)'
            : job.queryStatus === 'failed'
              ? 'the SQL failed in Zuora: check the table and column names (Data Query tables are lower-case object names)'
              : 'the job was cancelled in Zuora; run the command again',
          context: { operation: 'wait for data query job' },
        });
      }
      const waited = Date.now() - started;
      if (waited >= this.jobTimeoutMs) {
        await this.cancel(id).catch(() => undefined);
        throw new ZuoraJobTimeoutError(id, waited, job.queryStatus);
      }
      await this.sleep(Math.min(interval, this.jobTimeoutMs - waited));
      interval = Math.min(interval * 2, this.pollMaxMs);
    }
  }

  /**
   * Downloads and parses a completed job's dataFile. A broken transfer, or a 403/404 on the pre-signed URL (it may
   * have expired), fetches the job again for a fresh URL and downloads the whole file again.
   */
  async download(job: DataQueryJob): Promise<DataQueryRow[]> {
    const context: ErrorContext = { operation: 'download data query result', jobId: job.id };
    if (job.outputRows !== undefined && job.outputRows > this.maxOutputRows) {
      throw new DataError(`Data Query job ${job.id} returned ${job.outputRows} rows, more than the ${this.maxOutputRows} allowed`, {
        hint: 'narrow the query (smaller pages); Zuora truncates or fails results over its output limit',
        context,
      });
    }
    let current = job;
    let lastError: unknown;
    for (let attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
      if (attempt > 1) current = await this.getJob(job.id);
      if (current.dataFile === undefined) {
        throw new ZuoraProtocolError(`Data Query job ${job.id} is completed but has no dataFile`, { context });
      }
      try {
        const rows = await this.readFile(current, context);
        if (current.outputRows !== undefined && rows.length !== current.outputRows) {
          throw new ZuoraTransientError(`Data Query job ${job.id}: outputRows is ${current.outputRows} but the file held ${rows.length} row(s)`, {
            context,
          });
        }
        return rows;
      } catch (error) {
        lastError = error;
        if (!(error instanceof ZuoraTransientError) || this.signal?.aborted) throw error;
        this.log.warn(`${error.message}; downloading again`, { attempt });
      }
    }
    throw lastError;
  }

  private async readFile(job: DataQueryJob, context: ErrorContext): Promise<DataQueryRow[]> {
    const url = job.dataFile ?? '';
    const name = new URL(url).pathname.split('/').pop() ?? job.id;
    const opened = await this.client.openUrl(url, `download Data Query result ${name}`, context);
    if (opened.status === 403 || opened.status === 404) {
      throw new ZuoraTransientError(`the dataFile URL of Data Query job ${job.id} answered HTTP ${opened.status} (expired?)`, {
        status: opened.status,
        context,
      });
    }
    if (opened.status < 200 || opened.status >= 300) {
      throw new ZuoraRejectedError(`downloading the result of Data Query job ${job.id} failed (HTTP ${opened.status})`, { context });
    }
    const gzipped = /\.gz($|\?)/.test(name) || /gzip/i.test(opened.contentType);
    const source = gzipped ? opened.body.pipe(createGunzip()) : opened.body;
    if (gzipped) {
      opened.body.once('error', (error) => source.destroy(error));
    }
    const rows: DataQueryRow[] = [];
    try {
      // JSON Lines: JSON escapes newlines inside strings, so a line is always one row.
      for await (const line of createInterface({ input: source, crlfDelay: Infinity })) {
        if (line.trim() === '') continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch (cause) {
          throw new DataError(`line ${rows.length + 1} of the result of Data Query job ${job.id} is not JSON`, { context, cause });
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw new DataError(`line ${rows.length + 1} of the result of Data Query job ${job.id} is not a JSON object`, { context });
        }
        rows.push(parsed as DataQueryRow);
        if (rows.length > this.maxOutputRows) {
          throw new DataError(`the result of Data Query job ${job.id} has more than ${this.maxOutputRows} rows`, { context });
        }
      }
    } catch (error) {
      if (error instanceof Error && 'code' in error && String(error.code).startsWith('Z_')) {
        throw new ZuoraTransientError(`the result of Data Query job ${job.id} is not valid gzip (truncated?)`, { context, cause: error });
      }
      throw error;
    }
    return rows;
  }

  private parse(text: string, operation: string, context: ErrorContext): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ZuoraProtocolError(`Zuora answered "${operation}" with something that is not JSON: ${redact(text.slice(0, 300))}`, { context });
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (this.signal?.aborted) throw new InterruptedError();
    if (ms <= 0) return;
    try {
      await delay(ms, undefined, this.signal ? { signal: this.signal } : undefined);
    } catch (error) {
      if (this.signal?.aborted) throw new InterruptedError('interrupted while waiting for a Data Query job');
      throw error;
    }
  }
}
