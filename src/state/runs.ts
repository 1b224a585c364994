// The runs ledger: one row per `aquasync sync`/`backfill` of one pipeline.
import os from 'node:os';
import type { Kysely } from 'kysely';
import { WarehouseError } from '../errors.ts';
import { toJson } from './records.ts';
import type { RunKind, RunStatus, StateDatabase } from '../db/index.ts';
import { storedText } from '../text.ts';

export async function startRun(db: Kysely<StateDatabase>, input: { pipeline: string; kind: RunKind }): Promise<number> {
  const row = await db
    .insertInto('aquasync.runs')
    .values({ pipeline: input.pipeline, kind: input.kind, status: 'running', host: os.hostname(), pid: process.pid })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface FinishRunInput {
  status: Exclude<RunStatus, 'running'>;
  /** Rows inserted, changed or deleted in the warehouse. */
  rowsWritten: number;
  /** Data rows in the result files (default 0). */
  rowsRead?: number;
  /** Rows sent to quarantine (default 0). */
  rowsQuarantined?: number;
  watermarkBefore: Date | null | undefined;
  watermarkAfter: Date | null | undefined;
  error?: { code: string; message: string };
  details?: unknown;
  /** Zuora job id of the job the run submitted or resumed, when not already recorded by markJobSubmitted. */
  jobId?: string;
}

export async function finishRun(db: Kysely<StateDatabase>, runId: number, input: FinishRunInput): Promise<void> {
  const result = await db
    .updateTable('aquasync.runs')
    .set({
      status: input.status,
      finished_at: new Date(),
      rows_written: input.rowsWritten,
      rows_read: input.rowsRead ?? 0,
      rows_quarantined: input.rowsQuarantined ?? 0,
      watermark_before: input.watermarkBefore ?? null,
      watermark_after: input.watermarkAfter ?? null,
      error_code: input.error?.code ?? null,
      error_message: input.error === undefined ? null : storedText(input.error.message),
      ...(input.details === undefined ? {} : { details: toJson(input.details) }),
      ...(input.jobId === undefined ? {} : { job_id: input.jobId }),
    })
    .where('id', '=', runId)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) {
    throw new WarehouseError(`run ${runId} does not exist in aquasync.runs`, { hint: 'this is a bug: finishRun must get an id from startRun' });
  }
}

/**
 * Marks the pipeline's `running` runs as abandoned: their process died without finishing them. Call it while
 * holding the lock that live runs of those `kinds` hold (sync and schedule share the pipeline lock, backfill has its
 * own, and they run side by side, so neither may declare the other's live run abandoned). Returns how many runs
 * were marked.
 */
export async function abandonStaleRuns(
  db: Kysely<StateDatabase>,
  pipeline: string,
  options: { exceptRunId?: number; kinds?: readonly RunKind[] } = {},
): Promise<number> {
  if (options.kinds?.length === 0) return 0;
  let query = db
    .updateTable('aquasync.runs')
    .set({
      status: 'abandoned',
      finished_at: new Date(),
      error_code: 'ABANDONED',
      error_message: 'the process running this run stopped before finishing it',
    })
    .where('pipeline', '=', pipeline)
    .where('status', '=', 'running');
  if (options.exceptRunId !== undefined) query = query.where('id', '!=', options.exceptRunId);
  if (options.kinds !== undefined) query = query.where('kind', 'in', options.kinds);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}
