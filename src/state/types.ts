// What src/state exposes: the Kysely schema types and the records its functions return.
export type { StateDatabase, RunKind, RunStatus, JobKind, JobStatus, FileStatus } from '../db/index.ts';
import type { FileStatus, JobKind, JobStatus, RunKind, RunStatus } from '../db/index.ts';

export interface RunRecord {
  id: number;
  pipeline: string;
  kind: RunKind;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | undefined;
  /** Zuora job id. */
  jobId: string | undefined;
  /** Rows inserted, changed or deleted in the warehouse. */
  rowsWritten: number;
  /** Data rows in the result files. */
  rowsRead: number;
  /** Rows sent to aquasync.rejected_rows. */
  rowsQuarantined: number;
  watermarkBefore: Date | undefined;
  watermarkAfter: Date | undefined;
  errorCode: string | undefined;
  errorMessage: string | undefined;
  details: unknown;
  host: string | undefined;
  pid: number | undefined;
}

export interface JobRecord {
  /** Row id in aquasync.jobs (what every state function takes). */
  id: number;
  zuoraJobId: string | undefined;
  idempotencyKey: string;
  pipeline: string;
  runId: number | undefined;
  kind: JobKind;
  status: JobStatus;
  /** The submitted request body, as redacted by the caller. */
  request: unknown;
  incrementalTime: string | undefined;
  windowFrom: Date | undefined;
  windowTo: Date | undefined;
  /** For a snapshot job: the row id of the stateful job it is applied with. */
  parentJobId: number | undefined;
  zuoraStatus: string | undefined;
  startTime: string | undefined;
  offsetSeconds: number | undefined;
  createdAt: Date;
  submittedAt: Date | undefined;
  completedAt: Date | undefined;
  appliedAt: Date | undefined;
  error: string | undefined;
}

export interface BatchRecord {
  name: string;
  object: string;
  tableName: string;
  batchId: string | undefined;
  full: boolean | undefined;
  recordCount: number | undefined;
  status: string | undefined;
}

export interface FileRecord {
  fileId: string;
  batchName: string;
  /** Position of the file within its batch (segments are loaded in this order). */
  ordinal: number;
  status: FileStatus;
  stageTable: string | undefined;
  rows: number | undefined;
  /** CSV header recorded when the file was staged. */
  header: string[] | undefined;
  stagedAt: Date | undefined;
  appliedAt: Date | undefined;
}

export interface UnfinishedJob extends JobRecord {
  batches: BatchRecord[];
  /** Ordered by batch name, then ordinal. */
  files: FileRecord[];
}

export interface PipelineStatus {
  watermark: Date | undefined;
  lastRun: RunRecord | undefined;
  inflightJob: JobRecord | undefined;
}

export interface ApplyResult {
  /** False when the job had already been applied: nothing was done and `fn` was not called. */
  applied: boolean;
  rows: number;
  /** The pipeline's watermark after the transaction. */
  watermark: Date | undefined;
}

/** Maps an AQuA batch (by name) to the Zuora object and warehouse table it loads. */
export interface BatchTarget {
  name: string;
  object: string;
  tableName: string;
}
