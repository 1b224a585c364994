// The AQuA HTTP client: OAuth token cache, retries with backoff, HTTP-200 rejections, polling and file download.
// Every error it throws is one of the typed errors of src/errors.ts, with {operation, jobId/fileId} context and
// no secret in it (tokens and the client secret are registered with the log redactor as soon as we see them).

import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { setTimeout as delay } from 'node:timers/promises';
import { baseUrlProblem } from '../config/index.ts';
import {
  AquasyncError,
  ConfigError,
  InterruptedError,
  ZuoraAuthError,
  ZuoraFileExpiredError,
  ZuoraFileTooLargeError,
  ZuoraJobFailedError,
  ZuoraJobTimeoutError,
  ZuoraProtocolError,
  ZuoraRedirectError,
  ZuoraRejectedError,
  ZuoraTransientError,
  ZuoraUnreachableError,
  type ErrorContext,
} from '../errors.ts';
import { redact, registerSecret, silentLogger, type Logger } from '../log.ts';
import { outsideText } from '../text.ts';
import { isDescribeDocument, parseDescribeXml } from './describe-xml.ts';
import { describeNetworkError } from './network-error.ts';
import {
  jobErrorText,
  normalizeJob,
  readRejection,
  rejectionAdvice,
  submitRejection,
  type ZuoraRejection,
} from './normalize.ts';
import { RETRYABLE_STATUSES, backoffDelayMs, networkFault, parseRetryAfter, tokenRefreshDelayMs } from './retry-policy.ts';
import { TERMINAL_JOB_STATUSES, type AquaJob, type AquaJobRequest, type ObjectDescription } from './types.ts';

export interface ZuoraClientOptions {
  /** REST base URL, e.g. https://rest.na.zuora.com (no trailing path). */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Sent as Zuora-Entity-Ids on every API call when set. */
  entityId?: string;
  logger?: Logger;
  /** Per-request limit (headers + body for API calls; headers, then body inactivity, for file downloads). */
  requestTimeoutMs?: number;
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  poll?: { minIntervalMs?: number; maxIntervalMs?: number };
  /** Run-wide cancellation (shutdown): aborts requests, sleeps and downloads with an InterruptedError. */
  signal?: AbortSignal;
  /**
   * Overall pace of a download: after `graceMs`, a body must have delivered `minBytesPerSecond` for every further
   * second we waited on it, so a file of N bytes has graceMs + N / minBytesPerSecond in all. A server that trickles
   * (a byte every 30 s never trips the inactivity limit) fails with a retryable error instead of holding the run.
   */
  download?: { minBytesPerSecond?: number; graceMs?: number };
}

export interface WaitForJobOptions {
  timeoutMs: number;
  onStatus?: (job: AquaJob) => void;
  signal?: AbortSignal;
}

export interface OpenedFile {
  body: Readable;
  contentType: string;
  /** Bytes announced by the server; undefined when unknown or when the transfer is content-encoded. */
  contentLength: number | undefined;
}

const USER_AGENT = 'aquasync/0.1';
/** Redirects followed within the Zuora host before we call it a loop. */
const MAX_REDIRECTS = 5;
const JSON_TYPE = 'application/json';

interface CallSpec {
  operation: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  context: ErrorContext;
  /** Bearer auth; false only for the token call itself. */
  auth?: boolean;
  headers?: Record<string, string>;
  body?: string;
  /** Statuses retried in addition to 429/5xx for this call. */
  extraRetryStatuses?: readonly number[];
  /** Absolute URL used instead of baseUrl + path (pre-signed result URLs, always with auth: false). */
  url?: string;
}

/** One API call through the client's request layer (ZuoraClient.request). */
export interface ApiRequest {
  /** What we were doing, for messages: `submit Data Query job`. */
  operation: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Path under the REST base URL, e.g. `/query/jobs`. */
  path: string;
  context: ErrorContext;
  headers?: Record<string, string>;
  /** JSON text; sent with Content-Type: application/json. */
  body?: string;
}

/** Status and body text of an answered API call (401, 429 and 5xx never get here: they are retried or thrown). */
export interface ApiReply {
  status: number;
  text: string;
}

interface TextReply {
  status: number;
  headers: Headers;
  text: string;
}

/** Default floor of a download's average speed (sourceSchema's minDownloadSpeed, 64 KiB/s) and its grace. */
export const DEFAULT_MIN_DOWNLOAD_BYTES_PER_SECOND = 64 * 1024;
export const DEFAULT_DOWNLOAD_GRACE_MS = 60_000;

class TooSlow extends Error {
  constructor(received: number, waitedMs: number, minBytesPerSecond: number) {
    super(
      `${received} byte(s) in ${(waitedMs / 1000).toFixed(1)} s, below the minimum of ${minBytesPerSecond} bytes/s ` +
        '(source.minDownloadSpeed)',
    );
    this.name = 'TooSlow';
  }
}

class RequestTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

function snippet(text: string, max = 300): string {
  return redact(outsideText(text.replace(/\s+/g, ' ').trim(), max));
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export class ZuoraClient {
  private readonly baseUrl: string;
  /** scheme://host:port of baseUrl: the only place credentials (client secret, tokens) are ever sent. */
  private readonly origin: string;
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly entityId: string | undefined;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly pollMinMs: number;
  private readonly pollMaxMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly minBytesPerSecond: number;
  private readonly downloadGraceMs: number;
  private token: { value: string; refreshAt: number } | undefined;
  private tokenInFlight: Promise<string> | undefined;

  constructor(options: ZuoraClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const problem = baseUrlProblem(this.baseUrl);
    if (problem) {
      throw new ConfigError(`the Zuora base URL ${problem}`, {
        hint: 'set baseUrl (ZUORA_BASE_URL) to your data center, e.g. https://rest.na.zuora.com',
      });
    }
    this.origin = new URL(this.baseUrl).origin;
    this.clientId = options.clientId;
    this.clientSecret = options.clientSecret;
    registerSecret(options.clientSecret);
    this.entityId = options.entityId || undefined;
    this.log = options.logger ?? silentLogger;
    this.timeoutMs = options.requestTimeoutMs ?? 60_000;
    this.attempts = Math.max(1, options.retry?.attempts ?? 6);
    this.baseDelayMs = options.retry?.baseDelayMs ?? 1000;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 60_000;
    this.pollMinMs = options.poll?.minIntervalMs ?? 2000;
    this.pollMaxMs = options.poll?.maxIntervalMs ?? 60_000;
    this.signal = options.signal;
    this.minBytesPerSecond = Math.max(1, options.download?.minBytesPerSecond ?? DEFAULT_MIN_DOWNLOAD_BYTES_PER_SECOND);
    this.downloadGraceMs = Math.max(0, options.download?.graceMs ?? DEFAULT_DOWNLOAD_GRACE_MS);
  }

  // ---------------------------------------------------------------- jobs

  /** Submits a job. The Idempotency-Key makes a retried (or crash-replayed) submit return the same job. */
  async submitJob(request: AquaJobRequest, idempotencyKey: string): Promise<AquaJob> {
    const context: ErrorContext = { operation: 'submit job', jobName: request.name };
    const reply = await this.callText({
      operation: `submit AQuA job "${request.name}"`,
      method: 'POST',
      path: '/v1/batch-query/',
      context,
      headers: { 'Idempotency-Key': idempotencyKey },
      body: JSON.stringify(request),
      // 409: the first attempt with this key is still being processed; asking again later gets its answer.
      extraRetryStatuses: [409],
    });
    const body = tryJson(reply.text);
    if (body === undefined) {
      if (!isOk(reply.status)) throw this.unexpectedStatus(`submit AQuA job "${request.name}"`, reply, context);
      throw new ZuoraProtocolError(`Zuora answered the submit of job "${request.name}" with non-JSON: ${snippet(reply.text)}`, {
        context,
      });
    }
    const rejection = submitRejection(body);
    if (rejection) throw this.rejected(`Zuora rejected AQuA job "${request.name}"`, rejection, context);
    if (!isOk(reply.status)) throw this.unexpectedStatus(`submit AQuA job "${request.name}"`, reply, context);
    const job = normalizeJob(body, context);
    this.log.debug(`submitted AQuA job ${job.id}`, { jobName: request.name, status: job.status });
    return job;
  }

  async getJob(id: string): Promise<AquaJob> {
    return (await this.fetchJob(id)).job;
  }

  /** Polls until the job is terminal. Completed -> the job; other terminal states -> ZuoraJobFailedError. */
  async waitForJob(id: string, options: WaitForJobOptions): Promise<AquaJob> {
    const started = Date.now();
    let interval = this.pollMinMs;
    while (true) {
      const { job, errorText } = await this.fetchJob(id);
      options.onStatus?.(job);
      if (job.status === 'completed') return job;
      if (TERMINAL_JOB_STATUSES.includes(job.status)) throw this.jobFailed(job, errorText);
      const waited = Date.now() - started;
      if (waited >= options.timeoutMs) throw new ZuoraJobTimeoutError(id, waited, job.status);
      await this.sleep(Math.min(interval, options.timeoutMs - waited), options.signal);
      interval = Math.min(interval * 2, this.pollMaxMs);
    }
  }

  /** The last completed job of a stateful session, or undefined when Zuora knows none (404 or an error body). */
  async lastCompletedJob(partner: string, project: string): Promise<AquaJob | undefined> {
    const context: ErrorContext = { operation: 'last completed job', partner, project };
    const operation = `look up the last job of partner "${partner}" project "${project}"`;
    const reply = await this.callText({
      operation,
      method: 'GET',
      path: `/v1/batch-query/jobs/partner/${encodeURIComponent(partner)}/project/${encodeURIComponent(project)}`,
      context,
    });
    if (reply.status === 404) return undefined;
    if (!isOk(reply.status)) throw this.unexpectedStatus(operation, reply, context);
    const body = this.parseJson(reply.text, operation, context);
    if (readRejection(body)) return undefined;
    return normalizeJob(body, context);
  }

  async cancelJob(id: string): Promise<void> {
    const context: ErrorContext = { operation: 'cancel job', jobId: id };
    const operation = `cancel AQuA job ${id}`;
    const reply = await this.callText({
      operation,
      method: 'DELETE',
      path: `/v1/batch-query/jobs/${encodeURIComponent(id)}`,
      context,
    });
    if (!isOk(reply.status)) throw this.unexpectedStatus(operation, reply, context);
    const rejection = readRejection(this.parseJson(reply.text, operation, context));
    if (rejection) throw this.rejected(`Zuora refused to cancel AQuA job ${id}`, rejection, context);
  }

  // ---------------------------------------------------------------- files and describe

  /**
   * Opens a result file as a byte stream. Statuses are checked (and transient ones retried) before the body starts;
   * a failure while the body streams reaches the consumer as a retryable ZuoraTransientError, and the caller then
   * downloads the whole file again.
   */
  async openFile(fileId: string): Promise<OpenedFile> {
    const context: ErrorContext = { operation: 'download file', fileId };
    const operation = `download result file ${fileId}`;
    const res = await this.call(
      {
        operation,
        method: 'GET',
        path: `/v1/files/${encodeURIComponent(fileId)}`,
        context,
        // Result files are csv/zip/gzip, not JSON.
        headers: { Accept: '*/*' },
      },
      async (r) => r,
    );
    if (!isOk(res.status)) {
      const reply: TextReply = { status: res.status, headers: res.headers, text: await this.readErrorText(res) };
      if (res.status === 404) throw new ZuoraFileExpiredError(fileId, { context });
      if (res.status === 403 && reply.text.includes('max-object-size')) throw new ZuoraFileTooLargeError(fileId, { context });
      if (res.status === 403) {
        throw new ZuoraRejectedError(`Zuora refused the download of result file ${fileId} (HTTP 403): ${snippet(reply.text)}`, {
          hint: 'the API user needs the "Enable DataSource Exports Reporting" permission (and access to the exported objects)',
          context,
        });
      }
      throw this.unexpectedStatus(operation, reply, context);
    }
    if (!res.body) throw new ZuoraProtocolError(`Zuora sent result file ${fileId} without a body`, { context });
    const encoded = res.headers.get('content-encoding');
    const length = res.headers.get('content-length');
    return {
      body: this.guardBody(res.body as NodeReadableStream<Uint8Array>, fileId, context),
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      contentLength: !encoded && length && /^\d+$/.test(length) ? Number(length) : undefined,
    };
  }

  /** Fields and relationships of an object, from Zuora's describe XML. */
  async describe(object: string): Promise<ObjectDescription> {
    const context: ErrorContext = { operation: 'describe', object };
    const operation = `describe object ${object}`;
    const reply = await this.callText({
      operation,
      method: 'GET',
      path: `/v1/describe/${encodeURIComponent(object)}`,
      context,
      headers: { Accept: 'application/xml, text/xml;q=0.9, */*;q=0.8' },
    });
    const unknown = (detail: string): ZuoraRejectedError =>
      new ZuoraRejectedError(`Zuora does not know the object "${object}" (${detail})`, {
        hint: 'check the object name in pipelines.yaml (API names are case-sensitive, e.g. InvoiceItem)',
        context,
      });
    if (reply.status === 404) throw unknown('describe answered HTTP 404');
    if (!isOk(reply.status)) throw this.unexpectedStatus(operation, reply, context);
    if (!isDescribeDocument(reply.text)) {
      const json = tryJson(reply.text);
      const rejection = json === undefined ? undefined : readRejection(json);
      if (rejection) throw unknown(`describe answered: ${snippet(rejection.message)}`);
      throw unknown(`describe answered: ${snippet(reply.text) || 'an empty body'}`);
    }
    return parseDescribeXml(reply.text, context);
  }

  // ---------------------------------------------------------------- shared request layer

  /**
   * One authenticated call with this client's token cache, retries (429/5xx/network, Retry-After), 401 refresh and
   * per-request timeout, for other Zuora APIs (Data Query). The caller interprets every other status.
   */
  async request(request: ApiRequest): Promise<ApiReply> {
    const reply = await this.callText({ ...request });
    return { status: reply.status, text: reply.text };
  }

  /**
   * Opens a pre-signed URL (Data Query's dataFile) without Zuora's auth headers, with the same retries and
   * timeouts as openFile. Non-2xx statuses are returned in `status` with the body unread, for the caller to judge.
   */
  async openUrl(url: string, operation: string, context: ErrorContext): Promise<OpenedFile & { status: number }> {
    const res = await this.call(
      { operation, method: 'GET', path: '', url, context, auth: false, headers: { Accept: '*/*' } },
      async (r) => r,
    );
    if (!isOk(res.status) || res.body === null) {
      await res.body?.cancel().catch(() => undefined);
      return { status: res.status, body: Readable.from([]), contentType: '', contentLength: undefined };
    }
    return {
      status: res.status,
      body: this.guardBody(res.body as NodeReadableStream<Uint8Array>, operation, context),
      contentType: res.headers.get('content-type') ?? '',
      contentLength: undefined,
    };
  }

  // ---------------------------------------------------------------- internals: jobs

  private async fetchJob(id: string): Promise<{ job: AquaJob; errorText: string | undefined }> {
    const context: ErrorContext = { operation: 'get job', jobId: id };
    const operation = `get AQuA job ${id}`;
    const reply = await this.callText({
      operation,
      method: 'GET',
      path: `/v1/batch-query/jobs/${encodeURIComponent(id)}`,
      context,
    });
    if (!isOk(reply.status)) throw this.unexpectedStatus(operation, reply, context);
    const body = this.parseJson(reply.text, operation, context);
    const rejection = readRejection(body);
    if (rejection) throw this.rejected(`Zuora could not return AQuA job ${id}`, rejection, context);
    return { job: normalizeJob(body, context), errorText: jobErrorText(body) };
  }

  private jobFailed(job: AquaJob, errorText: string | undefined): ZuoraJobFailedError {
    const reasons = job.batches.filter((b) => b.message).map((b) => `batch ${b.name}: ${b.message ?? ''}`);
    if (errorText) reasons.unshift(errorText);
    if (reasons.length === 0) {
      const bad = job.batches.filter((b) => b.status !== 'completed').map((b) => `${b.name} ${b.status}`);
      reasons.push(bad.length ? `batches ${bad.join(', ')}; Zuora gave no message` : 'Zuora gave no message');
    }
    const hint =
      job.status === 'cancelled'
        ? 'the job was cancelled in Zuora (API or Job Finder); the next run submits a new job'
        : job.status === 'error'
          ? 'Zuora marked the job as error (e.g. 90029, over the processing time limit); the next run submits a new job'
          : 'a query failed in Zuora: fix the object or fields named in the message (fields must have the export context)';
    return new ZuoraJobFailedError(
      job.id,
      job.status,
      redact(`AQuA job ${job.id}${job.name ? ` (${job.name})` : ''} ended "${job.status}": ${reasons.join('; ')}`),
      { hint, context: { operation: 'wait for job' } },
    );
  }

  private rejected(prefix: string, rejection: ZuoraRejection, context: ErrorContext): ZuoraRejectedError {
    const advice = rejectionAdvice(rejection.code);
    const code = rejection.code ? ` (errorCode ${rejection.code})` : '';
    return new ZuoraRejectedError(redact(`${prefix}${code}: ${rejection.message}`), {
      ...(rejection.code ? { zuoraCode: rejection.code } : {}),
      hint: advice.hint,
      retryable: advice.retryable,
      context: { ...context, zuoraCode: rejection.code },
    });
  }

  /** A non-2xx status we do not handle specifically (400, 403, 404 on a job...). */
  private unexpectedStatus(operation: string, reply: TextReply, context: ErrorContext): ZuoraRejectedError {
    const json = tryJson(reply.text);
    const details = json === undefined ? undefined : readRejection(json);
    const text = details ? details.message : snippet(reply.text) || 'no body';
    const advice = rejectionAdvice(details?.code);
    return new ZuoraRejectedError(
      redact(`Zuora refused to ${operation} (HTTP ${reply.status}${details?.code ? `, code ${details.code}` : ''}): ${text}`),
      {
        ...(details?.code ? { zuoraCode: details.code } : {}),
        hint:
          reply.status === 403
            ? 'the API user lacks a permission for this call (AQuA needs "Enable DataSource Exports Reporting")'
            : advice.hint,
        retryable: advice.retryable,
        context: { ...context, status: reply.status },
      },
    );
  }

  private parseJson(text: string, operation: string, context: ErrorContext): unknown {
    const body = tryJson(text);
    if (body === undefined) {
      throw new ZuoraProtocolError(`Zuora answered "${operation}" with something that is not JSON: ${snippet(text)}`, {
        context,
      });
    }
    return body;
  }

  // ---------------------------------------------------------------- internals: HTTP

  private async callText(spec: CallSpec): Promise<TextReply> {
    return this.call(spec, async (res) => ({ status: res.status, headers: res.headers, text: await res.text() }));
  }

  /**
   * One logical request with retries. `read` runs inside the request deadline; it returns the response itself for
   * streams (the deadline then stops at the headers) or reads the whole body for API calls.
   */
  private async call<T>(spec: CallSpec, read: (res: Response) => Promise<T>): Promise<T> {
    let refreshedAfter401 = false;
    let last: { reason: string; hint?: string | undefined; status?: number; retryAfterMs?: number; cause?: unknown } = { reason: 'not attempted' };
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      const headers: Record<string, string> = {
        Accept: JSON_TYPE,
        'User-Agent': USER_AGENT,
        ...(spec.body !== undefined && spec.auth !== false ? { 'Content-Type': JSON_TYPE } : {}),
        ...(this.entityId && spec.auth !== false ? { 'Zuora-Entity-Ids': this.entityId } : {}),
        ...spec.headers,
      };
      if (spec.auth !== false) headers.Authorization = `Bearer ${await this.accessToken()}`;

      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new RequestTimeout(this.timeoutMs)), this.timeoutMs);
      const signal = this.signal ? AbortSignal.any([deadline.signal, this.signal]) : deadline.signal;
      try {
        const res = await this.fetchPinned(spec, headers, signal);
        this.log.debug(`${spec.method} ${spec.path} -> ${res.status}`, { operation: spec.operation, attempt });

        if (res.status === 401 && spec.auth !== false) {
          await res.body?.cancel().catch(() => undefined);
          if (refreshedAfter401) {
            throw new ZuoraAuthError(`Zuora refused a freshly issued access token (HTTP 401) to ${spec.operation}`, {
              hint: 'the OAuth client works but its user may not use this API: check the user role and ZUORA_ENTITY_ID',
              context: { ...spec.context, status: 401 },
            });
          }
          // Tokens can be revoked or expire early: mint one new token and repeat without spending an attempt.
          refreshedAfter401 = true;
          this.token = undefined;
          attempt--;
          continue;
        }
        if (RETRYABLE_STATUSES.has(res.status) || spec.extraRetryStatuses?.includes(res.status)) {
          await res.body?.cancel().catch(() => undefined);
          const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), Date.now());
          last = { reason: `HTTP ${res.status}`, status: res.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
        } else {
          return await read(res);
        }
      } catch (error) {
        if (this.signal?.aborted) throw new InterruptedError(`interrupted while trying to ${spec.operation}`);
        if (error instanceof AquasyncError) throw error;
        const url = spec.url ?? `${this.baseUrl}${spec.path}`;
        if (deadline.signal.aborted) {
          last = { reason: `no answer within ${this.timeoutMs} ms`, hint: describeNetworkError(deadline.signal.reason, url)?.hint, cause: error };
        } else {
          const fault = describeNetworkError(error, url);
          if (fault === undefined) throw error;
          if (!fault.retryable) {
            throw new ZuoraUnreachableError(`could not ${spec.operation}: ${fault.text}`, { hint: fault.hint, context: { ...spec.context, code: fault.code }, cause: error });
          }
          last = { reason: fault.text, hint: fault.hint, cause: error };
        }
      } finally {
        clearTimeout(timer);
      }

      if (attempt < this.attempts) {
        const wait = backoffDelayMs(attempt, { baseDelayMs: this.baseDelayMs, maxDelayMs: this.maxDelayMs }, last.retryAfterMs);
        this.log.warn(`${spec.operation}: ${last.reason}; retrying in ${(wait / 1000).toFixed(1)} s`, {
          attempt,
          of: this.attempts,
        });
        await this.sleep(wait);
      }
    }
    throw new ZuoraTransientError(`could not ${spec.operation}: ${last.reason} after ${this.attempts} attempt(s)`, {
      ...(last.hint !== undefined ? { hint: last.hint } : {}),
      ...(last.status !== undefined ? { status: last.status } : {}),
      ...(last.retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(last.retryAfterMs / 1000) } : {}),
      context: { ...spec.context, status: last.status },
      cause: last.cause,
    });
  }

  /**
   * fetch for one attempt. Requests that carry credentials (the token call's client secret, the bearer token on
   * every API call and /v1/files download) follow redirects only within the configured origin: fetch itself would
   * re-send a 307'd POST body, client secret included, to whatever host the Location names. Pre-signed URLs
   * (`spec.url`) carry none of ours and may be redirected anywhere.
   */
  private async fetchPinned(spec: CallSpec, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    if (spec.url !== undefined) {
      return fetch(spec.url, { method: spec.method, headers, ...(spec.body !== undefined ? { body: spec.body } : {}), signal });
    }
    let url = `${this.baseUrl}${spec.path}`;
    let method: string = spec.method;
    let body = spec.body;
    for (let hop = 0; ; hop++) {
      const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal, redirect: 'manual' });
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
      if (location === null) return res;
      await res.body?.cancel().catch(() => undefined);
      let target: URL;
      try {
        target = new URL(location, url);
      } catch {
        throw new ZuoraProtocolError(`Zuora redirected "${spec.operation}" to an invalid URL (HTTP ${res.status})`, { context: spec.context });
      }
      if (target.origin !== this.origin) {
        throw new ZuoraRedirectError(
          `refused a redirect of "${spec.operation}" from ${this.origin} to ${target.origin} (HTTP ${res.status}): ` +
            `credentials are sent only to the configured Zuora host`,
          {
            location: target.origin,
            hint: 'set baseUrl to the data center host itself (e.g. https://rest.na.zuora.com, not a host that redirects); a proxy may be rewriting the answer',
            context: { ...spec.context, status: res.status, location: target.origin },
          },
        );
      }
      if (hop >= MAX_REDIRECTS) {
        throw new ZuoraProtocolError(`Zuora redirected "${spec.operation}" more than ${MAX_REDIRECTS} times`, { context: spec.context });
      }
      // As fetch does: 303, and 301/302 after a POST, continue as a GET without the body; 307/308 keep both.
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      url = target.href;
    }
  }

  /** A cached token, shared by concurrent callers, refreshed ahead of its expiry. */
  private async accessToken(): Promise<string> {
    if (this.token && Date.now() < this.token.refreshAt) return this.token.value;
    this.tokenInFlight ??= this.fetchToken().finally(() => {
      this.tokenInFlight = undefined;
    });
    return this.tokenInFlight;
  }

  private async fetchToken(): Promise<string> {
    const url = `${this.baseUrl}/oauth/token`;
    const context: ErrorContext = { operation: 'get OAuth token', url };
    const reply = await this.callText({
      operation: 'get an OAuth token',
      method: 'POST',
      path: '/oauth/token',
      context,
      auth: false,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: this.clientId,
        client_secret: this.clientSecret,
        grant_type: 'client_credentials',
      }).toString(),
    });
    if (!isOk(reply.status)) {
      const refused = reply.status === 400 || reply.status === 401 || reply.status === 403;
      throw new ZuoraAuthError(
        refused
          ? `Zuora refused the client credentials (HTTP ${reply.status}) at ${url}`
          : `Zuora's token endpoint answered HTTP ${reply.status} at ${url}`,
        {
          hint:
            'check ZUORA_CLIENT_ID / ZUORA_CLIENT_SECRET and that the base URL is the data center of your tenant ' +
            '(e.g. https://rest.na.zuora.com vs https://rest.zuora.com, or the EU/APAC hosts)',
          context: { ...context, status: reply.status },
        },
      );
    }
    const body = tryJson(reply.text) as { access_token?: unknown; expires_in?: unknown } | undefined;
    const value = body?.access_token;
    if (typeof value !== 'string' || value === '') {
      throw new ZuoraProtocolError(`Zuora's token endpoint at ${url} answered without an access_token`, { context });
    }
    registerSecret(value);
    const expiresIn = Number(body?.expires_in ?? 3600);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600;
    this.token = { value, refreshAt: Date.now() + tokenRefreshDelayMs(lifetime) };
    this.log.debug('obtained an OAuth token', { expiresIn: lifetime });
    return value;
  }

  private async readErrorText(res: Response): Promise<string> {
    try {
      return await res.text();
    } catch {
      return '';
    }
  }

  /** Sleeps, or throws InterruptedError as soon as the run-wide (or given) signal aborts. */
  private async sleep(ms: number, extra?: AbortSignal): Promise<void> {
    const signals = [this.signal, extra].filter((s): s is AbortSignal => s !== undefined);
    if (signals.some((s) => s.aborted)) throw new InterruptedError();
    if (ms <= 0) return;
    try {
      await delay(ms, undefined, signals.length ? { signal: AbortSignal.any(signals) } : undefined);
    } catch (error) {
      if (signals.some((s) => s.aborted)) throw new InterruptedError();
      throw error;
    }
  }

  /**
   * Wraps a web body stream: stream errors become ZuoraTransientError (retryable: the caller downloads the file
   * again), and a body that stops sending for requestTimeoutMs while the consumer is keeping up is aborted.
   */
  private guardBody(web: NodeReadableStream<Uint8Array>, fileId: string, context: ErrorContext): Readable {
    const source = Readable.fromWeb(web);
    const out = new PassThrough();
    let timer: NodeJS.Timeout | undefined;
    const backpressured = (): boolean => out.writableNeedDrain || source.isPaused();
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        // A slow consumer (backpressure) is not a stalled download.
        if (backpressured()) arm();
        else source.destroy(new RequestTimeout(this.timeoutMs));
      }, this.timeoutMs);
      timer.unref();
    };
    // The overall pace: time spent waiting on the server (not on our own back-pressured consumer) is summed, and
    // the bytes received must keep up with minBytesPerSecond once the grace is over.
    let received = 0;
    let waitedMs = 0;
    let lastTick = Date.now();
    const tickMs = Math.max(10, Math.min(1000, Math.floor(this.downloadGraceMs / 4) || 10));
    const pace = setInterval(() => {
      const now = Date.now();
      if (!backpressured()) waitedMs += now - lastTick;
      lastTick = now;
      const owed = ((waitedMs - this.downloadGraceMs) / 1000) * this.minBytesPerSecond;
      if (owed > received) source.destroy(new TooSlow(received, waitedMs, this.minBytesPerSecond));
    }, tickMs);
    pace.unref();
    source.on('data', (chunk: Uint8Array) => {
      received += chunk.byteLength;
      arm();
    });
    source.once('end', () => {
      clearTimeout(timer);
      clearInterval(pace);
    });
    source.once('error', (error) => {
      clearTimeout(timer);
      clearInterval(pace);
      if (this.signal?.aborted) {
        out.destroy(new InterruptedError(`interrupted while downloading result file ${fileId}`));
        return;
      }
      const reason =
        error instanceof RequestTimeout
          ? `no data for ${this.timeoutMs} ms`
          : error instanceof TooSlow
            ? `too slow: ${error.message}`
            : (networkFault(error) ?? error.message);
      out.destroy(
        new ZuoraTransientError(`download of result file ${fileId} broke off: ${redact(reason)}`, { context, cause: error }),
      );
    });
    out.once('close', () => {
      clearTimeout(timer);
      clearInterval(pace);
      if (!source.destroyed) source.destroy();
    });
    source.pipe(out);
    arm();
    return out;
  }
}
