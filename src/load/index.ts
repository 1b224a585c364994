// The loader: stage result files into Postgres, create/extend warehouse tables, merge staged files.
export { stageFile, dropStageTables, stagedRowCounts } from './stage.ts';
export { ensureTable } from './schema.ts';
export { existingTables, tableRowCounts, type TableRowCount } from './counts.ts';
export { applyStaged, mergeStaged } from './merge.ts';
export { adoptTypedStage, dropTypedStages, isTypedStageTable, typedStagePrefix, typedStageTable, TypedStageRefused } from './typed-stage.ts';
export { castExpression, STAGE_SCHEMA, DELETED_COLUMN, DELETED_AT_COLUMN, SYNCED_AT_COLUMN, JOB_ID_COLUMN } from './sql/index.ts';
export type {
  EnsureTableResult,
  LoadPath,
  MergeArgs,
  MergeResult,
  StagedFile,
  StagedFileOrigin,
  StageFileArgs,
  StageFileResult,
  TypeMismatch,
} from './types.ts';
export {
  dailyCountsSql,
  idRangeSql,
  liveDailyCounts,
  liveIdsInRange,
  liveIdsUpdatedIn,
  liveVersionsOfIds,
  markRowsDeleted,
  tableExists,
  type WarehouseIdRow,
  type WarehouseTableRef,
} from './reconcile.ts';
