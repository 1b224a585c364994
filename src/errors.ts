// The error hierarchy every folder throws. Each error has a stable code (for logs, exit codes and tests), a
// message that says what happened and where, an optional hint that says what to do, and structured context.
// Secrets never go into any of these: callers pass redacted values only.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'ZUORA_AUTH'
  | 'ZUORA_REJECTED'
  | 'ZUORA_TRANSIENT'
  | 'ZUORA_UNREACHABLE'
  | 'ZUORA_REDIRECT_REFUSED'
  | 'ZUORA_JOB_FAILED'
  | 'ZUORA_JOB_TIMEOUT'
  | 'ZUORA_FILE_EXPIRED'
  | 'ZUORA_FILE_TOO_LARGE'
  | 'ZUORA_PROTOCOL'
  | 'DATA_INVALID'
  | 'WAREHOUSE'
  | 'EMBEDDED_POSTGRES'
  | 'INTERRUPTED'
  | 'PIPELINE_BUSY';

export interface ErrorContext {
  [key: string]: string | number | boolean | undefined | null;
}

export class AquasyncError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly context: ErrorContext;
  /** True when retrying the same operation later may succeed (network faults, 429/5xx, Zuora 90022...). */
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; context?: ErrorContext; cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.context = options.context ?? {};
    this.retryable = options.retryable ?? false;
  }

  /** One human line (plus the hint on a second line), as the CLI prints it. */
  describe(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

/** pipelines.yaml or the environment is wrong. `file:line: message` is already in the message. */
export class ConfigError extends AquasyncError {
  constructor(message: string, options: { hint?: string; context?: ErrorContext } = {}) {
    super('CONFIG_INVALID', message, options);
  }
}

/** Credentials were refused (401/403 on /oauth/token, or 401 again right after a fresh token). */
export class ZuoraAuthError extends AquasyncError {
  constructor(message: string, options: { hint?: string; context?: ErrorContext; cause?: unknown } = {}) {
    super('ZUORA_AUTH', message, options);
  }
}

/** Zuora refused the request itself, often with HTTP 200: errorCode 90005, 90017, 90019, 50000090... */
export class ZuoraRejectedError extends AquasyncError {
  readonly zuoraCode: string | undefined;
  constructor(
    message: string,
    options: { zuoraCode?: string; hint?: string; context?: ErrorContext; retryable?: boolean } = {},
  ) {
    super('ZUORA_REJECTED', message, options);
    this.zuoraCode = options.zuoraCode;
  }
}

/** 429, 5xx, connection resets, timeouts: worth retrying. */
export class ZuoraTransientError extends AquasyncError {
  readonly status: number | undefined;
  /** Seconds the server asked us to wait (Retry-After), when it said so. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    message: string,
    options: { status?: number; retryAfterSeconds?: number; hint?: string; context?: ErrorContext; cause?: unknown } = {},
  ) {
    super('ZUORA_TRANSIENT', message, { ...options, retryable: true });
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Zuora cannot be reached in a way retrying will not fix: a host name that does not resolve, a refused certificate. */
export class ZuoraUnreachableError extends AquasyncError {
  constructor(message: string, options: { hint?: string; context?: ErrorContext; cause?: unknown } = {}) {
    super('ZUORA_UNREACHABLE', message, { ...options, retryable: false });
  }
}

/**
 * Zuora (or something answering in its place) redirected a request that carries credentials (the OAuth client
 * secret, a bearer token) to another host. Following it would hand the credentials to that host, so we do not.
 */
export class ZuoraRedirectError extends AquasyncError {
  readonly location: string;
  constructor(message: string, options: { location: string; hint?: string; context?: ErrorContext }) {
    super('ZUORA_REDIRECT_REFUSED', message, { ...options, retryable: false });
    this.location = options.location;
  }
}

/** A job ended aborted / error / cancelled / failed. */
export class ZuoraJobFailedError extends AquasyncError {
  readonly jobId: string;
  readonly status: string;
  constructor(jobId: string, status: string, message: string, options: { hint?: string; context?: ErrorContext } = {}) {
    super('ZUORA_JOB_FAILED', message, { ...options, context: { jobId, status, ...options.context } });
    this.jobId = jobId;
    this.status = status;
  }
}

/** A job did not reach a terminal state within the per-job time limit. */
export class ZuoraJobTimeoutError extends AquasyncError {
  constructor(jobId: string, waitedMs: number, lastStatus: string) {
    super(
      'ZUORA_JOB_TIMEOUT',
      `AQuA job ${jobId} is still "${lastStatus}" after ${Math.round(waitedMs / 1000)} s`,
      {
        hint: 'the job stays recorded; the next run resumes polling it. Raise jobTimeout if your jobs are this slow.',
        context: { jobId, lastStatus },
        retryable: true,
      },
    );
  }
}

/** A result file is gone (404): purged after Zuora's 3-day retention. */
export class ZuoraFileExpiredError extends AquasyncError {
  readonly fileId: string;
  constructor(fileId: string, options: { context?: ErrorContext } = {}) {
    super('ZUORA_FILE_EXPIRED', `result file ${fileId} no longer exists on Zuora (404)`, {
      hint: 'AQuA keeps result files for 3 days; the window will be re-covered by a new job',
      context: { fileId, ...options.context },
    });
    this.fileId = fileId;
  }
}

/** A result file is over Zuora's 2,047 MB download limit (403 max-object-size). */
export class ZuoraFileTooLargeError extends AquasyncError {
  readonly fileId: string;
  constructor(fileId: string, options: { context?: ErrorContext } = {}) {
    super('ZUORA_FILE_TOO_LARGE', `result file ${fileId} is larger than Zuora's 2,047 MB download limit (403)`, {
      hint: 'split the load: run `aquasync backfill` with a smaller --window, or enable file segmentation with Zuora support',
      context: { fileId, ...options.context },
    });
    this.fileId = fileId;
  }
}

/** Zuora answered something we cannot interpret (missing fields, unknown shapes). */
export class ZuoraProtocolError extends AquasyncError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('ZUORA_PROTOCOL', message, options);
  }
}

/** A result file's content is wrong: bad CSV, wrong header, truncated gzip, row count mismatch... */
export class DataError extends AquasyncError {
  constructor(message: string, options: { hint?: string; context?: ErrorContext; cause?: unknown } = {}) {
    super('DATA_INVALID', message, options);
  }
}

/** The warehouse Postgres failed (connection lost, statement timeout, disk full...). */
export class WarehouseError extends AquasyncError {
  constructor(message: string, options: { hint?: string; context?: ErrorContext; cause?: unknown; retryable?: boolean } = {}) {
    super('WAREHOUSE', message, options);
  }
}

/** The embedded Postgres could not be started. */
export class EmbeddedPostgresError extends AquasyncError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('EMBEDDED_POSTGRES', message, options);
  }
}

/** The run was stopped on purpose (SIGINT/SIGTERM, shutdown grace period over). */
export class InterruptedError extends AquasyncError {
  constructor(message = 'interrupted') {
    super('INTERRUPTED', message, { retryable: true });
  }
}

/** Another run holds the pipeline's lock (a sync, backfill or reconcile --apply elsewhere): nothing failed. */
export class PipelineBusyError extends AquasyncError {
  constructor(message: string, hint = 'wait for it to finish; runs of one pipeline never overlap') {
    super('PIPELINE_BUSY', message, { hint, retryable: true });
  }
}

/** Turns anything thrown into an AquasyncError-free description for logs, without losing the cause chain. */
export function errorMessage(error: unknown): string {
  if (error instanceof AquasyncError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}
