export { runPipeline, stageTableName, type PipelineRunContext } from './run-pipeline.ts';
export { runBackfill, WINDOW_PARALLELISM } from './backfill.ts';
export { planBackfill, parseWindowSize, selectObjects, splitWindows, type BackfillPlan, type PlannedWindow, type TimeWindow } from './windows.ts';
export { DEFAULT_JOB_BUDGET, tenantKey } from './submit.ts';
export type {
  BackfillOptions,
  BackfillProgress,
  BackfillResult,
  BackfillWindowResult,
  PipelineRunResult,
  RunOptions,
  RunKind,
  SyncPhase,
  TableResult,
} from './types.ts';
