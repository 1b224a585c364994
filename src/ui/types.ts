// What the status page's JSON API answers (documented in README.md, "Status page"). Times are ISO 8601 strings,
// durations seconds; every text field is plain data that the page shows as text, never as HTML.
import type { JobStatus, RunKind, RunStatus } from '../state/types.ts';
import type { FreshnessState } from './freshness.ts';

export interface RunView {
  id: number;
  pipeline: string;
  kind: RunKind | 'reconcile';
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  /** finishedAt - startedAt; for a running run, so far. */
  durationSeconds: number;
  rowsWritten: number;
  rowsRead: number;
  rowsQuarantined: number;
  /** The Zuora job id the run submitted or resumed. */
  zuoraJobId: string | null;
  /** `CODE: message` of a failed or abandoned run (secrets redacted). */
  error: string | null;
}

export interface JobView {
  zuoraJobId: string | null;
  kind: string;
  /** Where aquasync is with the job: submitting, submitted (Zuora is running it), completed, staged. */
  phase: JobStatus;
  /** Zuora's own status of the job, as last polled. */
  zuoraStatus: string | null;
  createdAt: string;
  submittedAt: string | null;
  completedAt: string | null;
  /** Result files staged so far, of `files` known. */
  filesStaged: number;
  files: number;
}

export interface PipelineView {
  name: string;
  schedule: string;
  timezone: string;
  state: FreshnessState;
  reason: string;
  watermark: string | null;
  lagSeconds: number | null;
  /** The firing the watermark is measured against and the watermark it should have reached. */
  dueFiring: string | null;
  expectedWatermark: string | null;
  nextFiring: string | null;
  /** The last finished scheduled or manual run. */
  lastRun: RunView | null;
  /** Runs going on now, of any kind. */
  running: RunView[];
  /** Unfinished Zuora jobs: the next run resumes them. */
  jobs: JobView[];
}

export interface VerificationView {
  kind: 'verify' | 'reconcile';
  checkedAt: string;
  ok: boolean;
  zuoraRows: number;
  warehouseRows: number;
  rowsMissing: number;
  rowsExtra: number;
  error: string | null;
}

export interface TableView {
  pipeline: string;
  object: string;
  /** schema.table */
  table: string;
  exists: boolean;
  rows: number;
  /** Rows marked deleted (soft deletes); they stay in the table. */
  deleted: number;
  /** Unresolved rows in aquasync.rejected_rows. */
  quarantined: number;
  verification: VerificationView | null;
  /** Set while a complete snapshot of the table is owed. */
  snapshotOwed: { reason: string; since: string | null } | null;
}

export interface EventView {
  id: number;
  pipeline: string;
  at: string;
  kind: string;
  message: string;
  zuoraJobId: string | null;
}

export interface PipelinesResponse {
  generatedAt: string;
  pipelines: PipelineView[];
}

export interface RunsResponse {
  generatedAt: string;
  since: string;
  /** Oldest first. */
  runs: RunView[];
  /** True when more runs started in the period than one answer holds (the newest are kept). */
  truncated: boolean;
}

export interface TablesResponse {
  generatedAt: string;
  /** Row counts are cached for a minute (counting big tables is not free). */
  countedAt: string;
  tables: TableView[];
}

export interface EventsResponse {
  generatedAt: string;
  /** Newest first. */
  events: EventView[];
}
