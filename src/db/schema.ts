// Kysely types of the aquasync state schema: every table the migrations create, declared once here (STATE_COLUMNS
// lists their columns at run time; a test compares both with a migrated database). bigint columns read as number:
// src/db's pool parses int8 that way.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json = ColumnType<unknown, string, string>;
type NullableJson = ColumnType<unknown, string | null | undefined, string | null>;

export type RunKind = 'scheduled' | 'manual' | 'backfill';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'abandoned';
export type JobKind = 'sync' | 'backfill' | 'snapshot';
export type JobStatus = 'submitting' | 'submitted' | 'completed' | 'staged' | 'applied' | 'failed' | 'expired' | 'abandoned';
export type FileStatus = 'pending' | 'staged' | 'applied';

export interface WatermarksTable {
  pipeline: string;
  watermark: Timestamp;
  /** Zuora job id whose load set this watermark. */
  job_id: string | null;
  updated_at: DefaultedTimestamp;
}

export interface RunsTable {
  id: Generated<number>;
  pipeline: string;
  kind: RunKind;
  status: ColumnType<RunStatus, RunStatus | undefined, RunStatus>;
  started_at: DefaultedTimestamp;
  finished_at: NullableTimestamp;
  /** Zuora job id of the job this run submitted or resumed. */
  job_id: string | null;
  /** Rows inserted, changed or deleted in the warehouse (unchanged and older rows are not written). */
  rows_written: ColumnType<number, number | undefined, number>;
  /** Data rows in the job's result files. */
  rows_read: ColumnType<number, number | undefined, number>;
  /** Rows sent to aquasync.rejected_rows because Postgres could not take one of their values. */
  rows_quarantined: ColumnType<number, number | undefined, number>;
  watermark_before: NullableTimestamp;
  watermark_after: NullableTimestamp;
  error_code: string | null;
  error_message: string | null;
  details: NullableJson;
  host: string | null;
  pid: number | null;
}

export interface JobsTable {
  id: Generated<number>;
  zuora_job_id: string | null;
  idempotency_key: string;
  pipeline: string;
  run_id: number | null;
  kind: JobKind;
  status: ColumnType<JobStatus, JobStatus | undefined, JobStatus>;
  request: Json;
  incremental_time: string | null;
  window_from: NullableTimestamp;
  window_to: NullableTimestamp;
  zuora_status: string | null;
  start_time: string | null;
  offset_seconds: number | null;
  /** A snapshot job's stateful job: both are applied in one transaction. */
  parent_job_id: number | null;
  created_at: DefaultedTimestamp;
  submitted_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  applied_at: NullableTimestamp;
  updated_at: DefaultedTimestamp;
  error: string | null;
}

export interface BatchesTable {
  job_id: number;
  name: string;
  object: string;
  table_name: string;
  batch_id: string | null;
  full: boolean | null;
  record_count: number | null;
  status: string | null;
}

export interface FilesTable {
  file_id: string;
  job_id: number;
  batch_name: string;
  ordinal: number;
  status: ColumnType<FileStatus, FileStatus | undefined, FileStatus>;
  stage_table: string | null;
  rows: number | null;
  /** The file's CSV header as a JSON array of strings, so a resumed run can plan without downloading it again. */
  header: NullableJson;
  staged_at: NullableTimestamp;
  applied_at: NullableTimestamp;
}

export interface EventsTable {
  id: Generated<number>;
  pipeline: string;
  job_id: number | null;
  at: DefaultedTimestamp;
  kind: string;
  message: string;
  details: NullableJson;
}

export interface SnapshotsTable {
  pipeline: string;
  table_name: string;
  object: string;
  /** The query (ZOQL and deleted spec) last asked for; a different one owes a new snapshot. */
  query: string;
  /** Why a complete snapshot is owed (null: none is). */
  owed_reason: string | null;
  owed_since: NullableTimestamp;
  /** Snapshot time of the last complete snapshot applied. */
  last_snapshot_at: NullableTimestamp;
  last_snapshot_job: string | null;
  updated_at: DefaultedTimestamp;
}

export interface TombstonesTable {
  schema_name: string;
  table_name: string;
  /** The key as text: the value of a one-column key, a JSON array of the values of a composite one. */
  key: string;
  /** By when the row was known deleted: a live version updated at or before this is older than the deletion. */
  deleted_at: Timestamp;
  /** UpdatedDate of the deleted version: only a strictly newer live version may bring the key back. */
  updated_at: NullableTimestamp;
  job_id: string | null;
}

export interface RejectedRowsTable {
  id: Generated<number>;
  pipeline: string;
  object: string;
  table_name: string;
  job_id: string | null;
  file_id: string;
  /** Physical line in the result file (1 = header). */
  line: number | null;
  /** Data row number in the result file (1 = first row after the header). */
  record: number | null;
  raw_line: string;
  error: string;
  fingerprint: string;
  first_seen_at: DefaultedTimestamp;
  last_seen_at: DefaultedTimestamp;
  times_seen: ColumnType<number, number | undefined, number>;
  resolved_at: NullableTimestamp;
}

/** One check of one object by `aquasync verify` or `aquasync reconcile` (migrations 0004 and 0006). */
export interface VerificationsTable {
  id: Generated<number>;
  pipeline: string;
  object: string;
  table_name: string;
  kind: 'verify' | 'reconcile';
  trigger: ColumnType<'manual' | 'scheduled', 'manual' | 'scheduled' | undefined, 'manual' | 'scheduled'>;
  checked_at: DefaultedTimestamp;
  since: NullableTimestamp;
  /** The watermark the check compared up to. */
  until: NullableTimestamp;
  ok: boolean;
  days_checked: number | null;
  days_matching: number | null;
  zuora_rows: ColumnType<number, number | undefined, number>;
  warehouse_rows: ColumnType<number, number | undefined, number>;
  rows_missing: ColumnType<number, number | undefined, number>;
  rows_extra: ColumnType<number, number | undefined, number>;
  rows_stale: ColumnType<number, number | undefined, number>;
  rows_pending: ColumnType<number, number | undefined, number>;
  worst_day: ColumnType<Date | null, string | null | undefined, string | null>;
  worst_day_diff: number | null;
  applied: ColumnType<boolean, boolean | undefined, boolean>;
  rows_marked_deleted: ColumnType<number, number | undefined, number>;
  rows_repulled: ColumnType<number, number | undefined, number>;
  run_id: number | null;
  error: string | null;
  details: NullableJson;
}

export interface ScheduleSlotsTable {
  pipeline: string;
  due_at: Timestamp;
  trigger: 'cron' | 'resume';
  status: 'running' | 'succeeded' | 'failed' | 'skipped' | 'abandoned';
  owner: string;
  attempts: ColumnType<number, number | undefined, number>;
  lease_until: NullableTimestamp;
  claimed_at: DefaultedTimestamp;
  started_at: DefaultedTimestamp;
  heartbeat_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  taken_over_from: string | null;
  run_ids: ColumnType<number[], number[] | undefined, number[]>;
  rows_written: number | null;
  error: string | null;
}

export interface BackfillWindowsTable {
  id: Generated<number>;
  pipeline: string;
  objects: string;
  since: Timestamp;
  until: Timestamp;
  status: ColumnType<'pending' | 'running' | 'loaded' | 'failed', 'pending' | 'running' | 'loaded' | 'failed' | undefined>;
  job_id: number | null;
  run_id: number | null;
  rows: ColumnType<number, number | undefined, number>;
  error: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  loaded_at: NullableTimestamp;
}

export interface StateDatabase {
  'aquasync.watermarks': WatermarksTable;
  'aquasync.runs': RunsTable;
  'aquasync.jobs': JobsTable;
  'aquasync.batches': BatchesTable;
  'aquasync.files': FilesTable;
  'aquasync.events': EventsTable;
  'aquasync.snapshots': SnapshotsTable;
  'aquasync.tombstones': TombstonesTable;
  'aquasync.rejected_rows': RejectedRowsTable;
  'aquasync.verifications': VerificationsTable;
  'aquasync.schedule_slots': ScheduleSlotsTable;
  'aquasync.backfill_windows': BackfillWindowsTable;
}

type ColumnLists = { readonly [T in keyof StateDatabase]: readonly (keyof StateDatabase[T] & string)[] };

/** The columns of each state table at run time, for the drift test against a migrated database. */
export const STATE_COLUMNS = {
  'aquasync.watermarks': ['pipeline', 'watermark', 'job_id', 'updated_at'],
  'aquasync.runs': ['id', 'pipeline', 'kind', 'status', 'started_at', 'finished_at', 'job_id', 'rows_written', 'rows_read', 'rows_quarantined', 'watermark_before', 'watermark_after', 'error_code', 'error_message', 'details', 'host', 'pid'],
  'aquasync.jobs': ['id', 'zuora_job_id', 'idempotency_key', 'pipeline', 'run_id', 'kind', 'status', 'request', 'incremental_time', 'window_from', 'window_to', 'zuora_status', 'start_time', 'offset_seconds', 'parent_job_id', 'created_at', 'submitted_at', 'completed_at', 'applied_at', 'updated_at', 'error'],
  'aquasync.batches': ['job_id', 'name', 'object', 'table_name', 'batch_id', 'full', 'record_count', 'status'],
  'aquasync.files': ['file_id', 'job_id', 'batch_name', 'ordinal', 'status', 'stage_table', 'rows', 'header', 'staged_at', 'applied_at'],
  'aquasync.events': ['id', 'pipeline', 'job_id', 'at', 'kind', 'message', 'details'],
  'aquasync.snapshots': ['pipeline', 'table_name', 'object', 'query', 'owed_reason', 'owed_since', 'last_snapshot_at', 'last_snapshot_job', 'updated_at'],
  'aquasync.tombstones': ['schema_name', 'table_name', 'key', 'deleted_at', 'updated_at', 'job_id'],
  'aquasync.rejected_rows': ['id', 'pipeline', 'object', 'table_name', 'job_id', 'file_id', 'line', 'record', 'raw_line', 'error', 'fingerprint', 'first_seen_at', 'last_seen_at', 'times_seen', 'resolved_at'],
  'aquasync.verifications': ['id', 'pipeline', 'object', 'table_name', 'kind', 'trigger', 'checked_at', 'since', 'until', 'ok', 'days_checked', 'days_matching', 'zuora_rows', 'warehouse_rows', 'rows_missing', 'rows_extra', 'rows_stale', 'rows_pending', 'worst_day', 'worst_day_diff', 'applied', 'rows_marked_deleted', 'rows_repulled', 'run_id', 'error', 'details'],
  'aquasync.schedule_slots': ['pipeline', 'due_at', 'trigger', 'status', 'owner', 'attempts', 'lease_until', 'claimed_at', 'started_at', 'heartbeat_at', 'finished_at', 'taken_over_from', 'run_ids', 'rows_written', 'error'],
  'aquasync.backfill_windows': ['id', 'pipeline', 'objects', 'since', 'until', 'status', 'job_id', 'run_id', 'rows', 'error', 'created_at', 'updated_at', 'loaded_at'],
} as const satisfies ColumnLists;

// Every declared column is listed: a column added to an interface but not here is a type error.
type Unlisted = { [T in keyof StateDatabase]: Exclude<keyof StateDatabase[T], (typeof STATE_COLUMNS)[T][number]> }[keyof StateDatabase];
export const STATE_COLUMNS_COMPLETE: [Unlisted] extends [never] ? true : Unlisted = true;
