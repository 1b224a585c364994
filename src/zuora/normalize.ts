// Turns Zuora's loosely typed JSON (numbers as strings, upper/lower case, HTTP-200 errors) into AquaJob values.

import { ZuoraProtocolError, type ErrorContext } from '../errors.ts';
import type { AquaBatch, AquaJob, AquaJobStatus } from './types.ts';
import { outsideText } from '../text.ts';

const JOB_STATUSES: readonly AquaJobStatus[] = [
  'submitted',
  'executing',
  'completed',
  'aborted',
  'error',
  'cancelled',
  'failed',
];

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function toNumber(value: unknown, what: string, context: ErrorContext): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isFinite(n)) {
    throw new ZuoraProtocolError(`Zuora sent ${what} ${JSON.stringify(value)}, which is not a number`, { context });
  }
  return n;
}

function toBoolean(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.toLowerCase() === 'true');
}

/** A rejection Zuora reported in a response body (usually with HTTP 200). */
export interface ZuoraRejection {
  code: string | undefined;
  message: string;
}

/** The error code and message of an error body: `errorCode`, `code`, or `reasons[0].code`. */
function errorDetails(body: Json): ZuoraRejection {
  const reasons = Array.isArray(body.reasons) ? body.reasons.filter(isObject) : [];
  const code =
    optionalString(body.errorCode) ?? optionalString(body.code) ?? reasons.map((r) => optionalString(r.code)).find(Boolean);
  const messages = [optionalString(body.message), optionalString(body.errorMessage), ...reasons.map((r) => optionalString(r.message))]
    .filter((m): m is string => Boolean(m && m.trim()));
  return { code: code === undefined ? undefined : outsideText(code, 40), message: outsideText(messages.join('; ')) || 'Zuora gave no message' };
}

/**
 * A submit is rejected when the body has no id, says status "error", carries an errorCode, or says success: false.
 * Returns undefined for an accepted job.
 */
export function submitRejection(body: unknown): ZuoraRejection | undefined {
  if (!isObject(body)) return { code: undefined, message: 'Zuora answered with something that is not a JSON object' };
  const rejected =
    typeof body.id !== 'string' ||
    body.id === '' ||
    (typeof body.status === 'string' && body.status.toLowerCase() === 'error') ||
    body.errorCode !== undefined ||
    body.success === false;
  return rejected ? errorDetails(body) : undefined;
}

/**
 * An error body on a read (get job, last job, cancel): no id, or success: false. A body with an id is a real job,
 * even when its status is "error" and it carries an errorCode (90029): that is a job that ended badly.
 */
export function readRejection(body: unknown): ZuoraRejection | undefined {
  if (!isObject(body)) return { code: undefined, message: 'Zuora answered with something that is not a JSON object' };
  const hasId = typeof body.id === 'string' && body.id !== '';
  return !hasId || body.success === false ? errorDetails(body) : undefined;
}

/** Job-level error text Zuora sometimes adds to a job (errorCode + message), for failure messages. */
export function jobErrorText(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const code = optionalString(body.errorCode);
  const message = optionalString(body.message) ?? optionalString(body.errorMessage);
  if (!code && !message) return undefined;
  return outsideText([code ? `errorCode ${code}` : undefined, message].filter(Boolean).join(': '));
}

function normalizeBatch(raw: unknown, index: number, context: ErrorContext): AquaBatch {
  if (!isObject(raw)) throw new ZuoraProtocolError(`batch #${index + 1} of the job is not an object`, { context });
  const batchId = optionalString(raw.batchId);
  const name = optionalString(raw.name);
  const status = optionalString(raw.status);
  if (!batchId || name === undefined || !status) {
    throw new ZuoraProtocolError(
      `batch #${index + 1} of the job lacks ${[!batchId && 'batchId', name === undefined && 'name', !status && 'status'].filter(Boolean).join(', ')}`,
      { context },
    );
  }
  const batch: AquaBatch = {
    batchId,
    name,
    query: optionalString(raw.query) ?? '',
    status: status.toLowerCase(),
    recordCount: toNumber(raw.recordCount, `recordCount of batch ${name}`, context),
    full: toBoolean(raw.full),
  };
  const fileId = optionalString(raw.fileId);
  if (fileId) batch.fileId = fileId;
  if (raw.segments !== undefined && raw.segments !== null) {
    if (!Array.isArray(raw.segments) || !raw.segments.every((s) => typeof s === 'string')) {
      throw new ZuoraProtocolError(`segments of batch ${name} is not a list of file ids`, { context });
    }
    batch.segments = raw.segments;
  }
  const message = optionalString(raw.message);
  if (message && message.trim()) batch.message = outsideText(message);
  return batch;
}

/** Validates and normalises a job body. Throws ZuoraProtocolError on shapes we cannot interpret. */
export function normalizeJob(raw: unknown, context: ErrorContext = {}): AquaJob {
  if (!isObject(raw)) throw new ZuoraProtocolError('Zuora sent a job that is not a JSON object', { context });
  const id = optionalString(raw.id);
  if (!id) throw new ZuoraProtocolError('Zuora sent a job without an id', { context });
  const ctx = { ...context, jobId: id };
  const rawStatus = optionalString(raw.status)?.toLowerCase();
  const status = JOB_STATUSES.find((s) => s === rawStatus);
  if (!status) {
    throw new ZuoraProtocolError(`Zuora sent job ${id} with an unknown status ${JSON.stringify(raw.status)}`, {
      context: ctx,
    });
  }
  if (raw.batches !== undefined && raw.batches !== null && !Array.isArray(raw.batches)) {
    throw new ZuoraProtocolError(`Zuora sent job ${id} with "batches" that is not a list`, { context: ctx });
  }
  const batches = Array.isArray(raw.batches) ? raw.batches.map((b, i) => normalizeBatch(b, i, ctx)) : [];
  const job: AquaJob = { id, status, batches };
  const name = optionalString(raw.name);
  if (name !== undefined) job.name = name;
  const startTime = optionalString(raw.startTime);
  if (startTime !== undefined) job.startTime = startTime;
  const partner = optionalString(raw.partner);
  if (partner !== undefined) job.partner = partner;
  const project = optionalString(raw.project);
  if (project !== undefined) job.project = project;
  if (raw.offset !== undefined && raw.offset !== null) job.offset = toNumber(raw.offset, 'offset', ctx);
  if (typeof raw.incrementalTime === 'string' || typeof raw.incrementalTime === 'number') {
    job.incrementalTime = raw.incrementalTime;
  }
  return job;
}

export interface RejectionAdvice {
  hint: string;
  retryable: boolean;
}

/** What to tell the user for each AQuA error code we know how to explain. */
export function rejectionAdvice(code: string | undefined): RejectionAdvice {
  switch (code) {
    case '90005':
      return { hint: 'a query has a syntax error: check the object and field names in pipelines.yaml', retryable: false };
    case '90017':
      return {
        hint: 'this object does not support exporting deleted records: set `deletes: ignore` for that object in pipelines.yaml',
        retryable: false,
      };
    case '90019':
      return {
        hint: 'Zuora does not recognise the partner id: ask Zuora Global Support for a partner id and set `partner` in pipelines.yaml',
        retryable: false,
      };
    case '90015':
      return { hint: 'the incrementalTime sent is invalid (expected "yyyy-MM-dd HH:mm:ss"); check startDate in pipelines.yaml', retryable: false };
    case '90012':
      return { hint: 'stateless jobs need forceExport for deleted columns; this is a bug in the request aquasync built', retryable: false };
    case '50000090':
      return { hint: 'Zuora found the request malformed; this is a bug in the request aquasync built, please report it', retryable: false };
    case '90028':
      return {
        hint: "the tenant's limit of concurrent AQuA jobs is reached (shared with other integrations); the job is retried later",
        retryable: true,
      };
    case '90022':
      return { hint: 'Zuora reported an internal error and asks for a retry', retryable: true };
    case '90009':
    case '90018':
      return { hint: 'the API user lacks permission for these objects: check its role in Zuora', retryable: false };
    default:
      return { hint: 'see the AQuA error code list in the Zuora documentation', retryable: false };
  }
}
