// src/state: watermarks, runs, jobs, batches, files and events in schema `aquasync`, and the transaction that
// applies a job and moves the watermark.
export type * from './types.ts';
export { getWatermark } from './watermarks.ts';
export { startRun, finishRun, abandonStaleRuns, type FinishRunInput } from './runs.ts';
export { runHistory, lastLoadedSession, type LoadedSession } from './history.ts';
export {
  createJob,
  markJobSubmitted,
  recordJobCompleted,
  findUnfinishedJob,
  findUnfinishedChildJob,
  unfinishedJobsOfKind,
  withBatchesAndFiles,
  markFileStaged,
  markJobStatus,
  stagedFiles,
  resetStagedFiles,
  recordedStageTables,
  UNFINISHED_JOB_STATUSES,
  type CreateJobInput,
} from './jobs.ts';
export { recordEvent, type EventInput } from './events.ts';
export { openQuarantine, type QuarantineSummary } from './quarantine.ts';
export {
  noteSubmittedQueries,
  owedSnapshots,
  markSnapshotOwed,
  markSnapshotApplied,
  type OwedSnapshot,
  type SnapshotReason,
  type SnapshotTarget,
} from './snapshots.ts';
export { applyJob, type ApplyJobInput } from './apply.ts';
export { pipelineStatus } from './status.ts';
export { acquirePipelineLock, backfillLockName, PIPELINE_LOCK_CLASS, type PipelineLock, type PipelineLockOptions } from './lock.ts';
export { tryAcquireJobPermit, heldJobPermits, JOB_PERMIT_CLASS, type JobPermit } from './job-budget.ts';
export { findUnfinishedJobById, renewIdempotencyKey, lastRunOfKind } from './job-lookup.ts';
export {
  ensureBackfillWindows,
  loadedBackfillWindows,
  markWindowRunning,
  markWindowLoaded,
  markWindowFailed,
  objectSetKey,
  type BackfillWindowRecord,
  type BackfillWindowStatus,
} from './backfill-windows.ts';
export { lockSchemaForApply, APPLY_LOCK_CLASS } from './apply-lock.ts';
export { lastVerifications, type LastVerification } from './verifications.ts';
