// Row (snake_case, nulls) to record (camelCase, undefined) mappers.
import type { Selectable } from 'kysely';
import type { BatchesTable, FilesTable, JobsTable, RunsTable } from '../db/index.ts';
import type { BatchRecord, FileRecord, JobRecord, RunRecord } from './types.ts';

const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

export function toRunRecord(row: Selectable<RunsTable>): RunRecord {
  return {
    id: row.id,
    pipeline: row.pipeline,
    kind: row.kind,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: opt(row.finished_at),
    jobId: opt(row.job_id),
    rowsWritten: row.rows_written,
    rowsRead: row.rows_read,
    rowsQuarantined: row.rows_quarantined,
    watermarkBefore: opt(row.watermark_before),
    watermarkAfter: opt(row.watermark_after),
    errorCode: opt(row.error_code),
    errorMessage: opt(row.error_message),
    details: opt(row.details),
    host: opt(row.host),
    pid: opt(row.pid),
  };
}

export function toJobRecord(row: Selectable<JobsTable>): JobRecord {
  return {
    id: row.id,
    zuoraJobId: opt(row.zuora_job_id),
    idempotencyKey: row.idempotency_key,
    pipeline: row.pipeline,
    runId: opt(row.run_id),
    kind: row.kind,
    status: row.status,
    request: row.request,
    incrementalTime: opt(row.incremental_time),
    windowFrom: opt(row.window_from),
    windowTo: opt(row.window_to),
    parentJobId: opt(row.parent_job_id),
    zuoraStatus: opt(row.zuora_status),
    startTime: opt(row.start_time),
    offsetSeconds: opt(row.offset_seconds),
    createdAt: row.created_at,
    submittedAt: opt(row.submitted_at),
    completedAt: opt(row.completed_at),
    appliedAt: opt(row.applied_at),
    error: opt(row.error),
  };
}

export function toBatchRecord(row: Selectable<BatchesTable>): BatchRecord {
  return {
    name: row.name,
    object: row.object,
    tableName: row.table_name,
    batchId: opt(row.batch_id),
    full: opt(row.full),
    recordCount: opt(row.record_count),
    status: opt(row.status),
  };
}

export function toFileRecord(row: Selectable<FilesTable>): FileRecord {
  return {
    fileId: row.file_id,
    batchName: row.batch_name,
    ordinal: row.ordinal,
    status: row.status,
    stageTable: opt(row.stage_table),
    rows: opt(row.rows),
    header: Array.isArray(row.header) ? row.header.map(String) : undefined,
    stagedAt: opt(row.staged_at),
    appliedAt: opt(row.applied_at),
  };
}

/** jsonb parameters are sent as JSON text: pg would turn a JS array into a Postgres array. */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}
