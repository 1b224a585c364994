// Public types of the emulator's HTTP side: options, the running emulator, its admin handle, injectable faults.
import type { StoredRow, Value } from './model.ts';

export interface EmulatorTiming {
  /** How long a job stays `submitted` (Data Query: `accepted`) before it may start. */
  queuedMs: number;
  /** How long a job stays `executing` (`in_progress`). */
  executingMs: number;
}

export interface EmulatorOptions {
  port?: number;
  seed?: number;
  /** InvoiceItem rows of the generated tenant. */
  rows?: number;
  clientId?: string;
  clientSecret?: string;
  dataCenter?: 'us' | 'eu';
  tenantZone?: string;
  /** Allowed `partner` values; any other ⇒ 90019. */
  partners?: string[];
  segmentation?: boolean;
  segmentSize?: number;
  timing?: Partial<EmulatorTiming>;
  /**
   * Render every result file to the on-disk cache before the job reports `completed` (default false: a file is
   * rendered during its first download). Benchmarks use it so downloads measure the client, not the renderer.
   */
  renderFilesAhead?: boolean;
  /** Result file retention on the emulator clock. */
  fileRetentionMs?: number;
  /** Jobs in submitted+executing per mode (stateful / stateless) before 90028. */
  concurrencyLimit?: number;
  /** How 90028 is delivered: HTTP 200 error body (Zuora's usual way) or HTTP 429. */
  concurrencyLimitStatus?: 200 | 429;
  tokenTtlSeconds?: number;
  spaceLiteralTrap?: boolean;
  /** `pacific`: `yyyy-MM-dd HH:mm:ss` in the data center zone; `iso`: `2021-01-18T17:13:48+0000`. */
  startTimeFormat?: 'pacific' | 'iso';
  /** Epoch ms the emulator clock starts at (it then runs with real time). */
  clockStart?: number;
  /** JSON file holding sessions, jobs, files, clock and mutations across restarts. */
  statePath?: string;
  /** Zuora's documentation does not say how it behaves here; each switch serves one plausible reading. */
  readings?: Partial<ZuoraReadings>;
}

/**
 * Undocumented Zuora behaviour (docs/aqua.md#window, #full-batches, #deleted-rows, #idempotency). The sync must be
 * correct under every combination, so tests run it under each.
 */
export interface ZuoraReadings {
  /** A stateful batch reported `full: true` still honours `incrementalTime` (tap-zuora believes so). Default false. */
  fullHonoursIncrementalTime: boolean;
  /** `incrementalTime` 10:30:01 reads from 10:30:01 (inclusive, current docs) or from 10:30:02 (older docs). */
  incrementalTimeBoundary: 'inclusive' | 'exclusive';
  /** A deletion moves the row's UpdatedDate to the deletion time (default true). */
  deleteMovesUpdatedDate: boolean;
  /** Idempotency-Key on the AQuA submit is honoured (replays the first answer) or ignored. Default honoured. */
  idempotencyKey: 'honoured' | 'ignored';
}

export interface EmulatorClock {
  now(): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export type FaultRoute = 'token' | 'submit' | 'job' | 'file' | 'describe' | 'query' | 'any';

interface FaultCommon {
  /** How many times the fault fires before it is used up (default 1, or unlimited when `every` is given). */
  times?: number;
  /** Fire on every Nth matching request or job (the Nth, 2Nth, ...) instead of the next one. */
  every?: number;
}

export type Fault =
  | (FaultCommon & { kind: 'status'; status: 429 | 500 | 502 | 503; retryAfterSeconds?: number; route?: FaultRoute })
  /** Destroys the socket after `afterBytes` bytes of a file body. */
  | (FaultCommon & { kind: 'reset'; afterBytes: number })
  | (FaultCommon & { kind: 'slow'; bytesPerSecond: number })
  /** The next job aborts: the batch on `object` (or the first batch) gets `message`. */
  | (FaultCommon & { kind: 'abort-batch'; message: string; object?: string })
  /** The next job stays `executing` until the faults are cleared. */
  | (FaultCommon & { kind: 'stuck' })
  /** The next job ends with status `error` (90029). */
  | (FaultCommon & { kind: 'job-error' })
  | (FaultCommon & { kind: 'too-large' })
  | (FaultCommon & { kind: 'expired-file' })
  | (FaultCommon & { kind: 'submit-error'; errorCode: string; message: string })
  /** On the next matching request every issued token becomes invalid (that request gets 401). */
  | (FaultCommon & { kind: 'expire-tokens'; route?: FaultRoute })
  /**
   * The next file download serves a damaged file: an unclosed quote in the last row, a NUL byte in the first row,
   * the encoded body cut in half (`truncate-gzip`), or a zip holding `entries` (0 or 2) files.
   */
  | (FaultCommon & { kind: 'corrupt-file'; mode: CorruptMode; entries?: 0 | 2 })
  /** The next `completed` job status reports `delta` more rows on its first batch than its files hold. */
  | (FaultCommon & { kind: 'wrong-record-count'; delta: number })
  /** The next file download has a header whose last column is not one the query selected. */
  | (FaultCommon & { kind: 'wrong-header' })
  /**
   * The next matching request is acted on at once but its response is held back `ms` (a slow network after the
   * server committed): a client killed meanwhile never learns what the server did, e.g. which job it created.
   */
  | (FaultCommon & { kind: 'delay'; ms: number; route?: FaultRoute });

export type CorruptMode = 'unbalanced-quote' | 'nul-byte' | 'truncate-gzip' | 'zip-entries';

export type FaultKind = Fault['kind'];

export interface RequestLogEntry {
  /** Emulator clock. */
  at: number;
  method: string;
  /** Path with query string. */
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON or form body (secrets replaced by `***`), raw text otherwise, undefined when empty. */
  body: unknown;
}

export interface BatchSummary {
  name: string;
  status: string;
  full: boolean;
  recordCount: number;
  fileIds: string[];
}

export interface JobSummary {
  id: string;
  api: 'aqua' | 'data-query';
  status: string;
  mode: 'stateful' | 'stateless';
  partner: string | null;
  project: string | null;
  submittedAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  batches: BatchSummary[];
}

export interface EmulatorAdmin {
  clock: EmulatorClock;
  insert(object: string, values: Record<string, Value>): string;
  update(object: string, id: string, values: Record<string, Value>): void;
  remove(object: string, id: string): void;
  /** Current state of the object, deleted rows included. */
  rows(object: string): StoredRow[];
  faults: { add(fault: Fault): string; clear(): void };
  requests(): RequestLogEntry[];
  clearRequests(): void;
  jobs(): JobSummary[];
  expireFiles(): void;
  expireTokens(): void;
}

export interface Emulator {
  url: string;
  clientId: string;
  clientSecret: string;
  admin: EmulatorAdmin;
  close(): Promise<void>;
}
