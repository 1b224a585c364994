export { runPipeline, stageTableName, type PipelineRunContext } from './run-pipeline.ts';
export type { PipelineRunResult, RunOptions, RunKind, SyncPhase, TableResult } from './types.ts';
