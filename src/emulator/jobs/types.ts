// The AQuA side's records: jobs with their batches, stateful sessions, and result files. They are persisted as
// JSON across restarts (AquaState), so they hold plain data only.
import type { Readable } from 'node:stream';
import type { Value } from '../model.ts';

export type AquaFormat = 'csv' | 'zip' | 'gzip';
export type JobStatus = 'submitted' | 'executing' | 'completed' | 'aborted' | 'error' | 'cancelled';
export type BatchStatus = 'pending' | 'executing' | 'completed' | 'aborted' | 'cancelled';
export type JobMode = 'stateful' | 'stateless';

export interface DeletedSpec {
  column: string;
  format: 'Boolean' | 'Numeric';
  forceExport?: boolean;
}

/** Rows whose UpdatedDate is in [since, until): a stateful incremental window. */
export interface RowWindow {
  since: number;
  until: number;
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
  window: RowWindow | undefined;
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
  mode: JobMode;
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

export interface FileBody {
  contentType: string;
  filename: string;
  stream: Readable;
}

export type ResultRow = { values: Value[]; deleted: boolean };
