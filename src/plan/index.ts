// The planner: pure functions from config and watermarks to AQuA requests, ZOQL text and table layouts.
export type { ColumnSpec, PgType, TableSpec } from './types.ts';
export { ZUORA_DELETED_COLUMN, supportsDeletedExport } from './deleted.ts';
export { buildBackfillRequest, buildJobRequest } from './job-request.ts';
export type { PlannedJob } from './job-request.ts';
export { columnNameFor } from './names.ts';
export { isSelectQuery, queryBaseObject, snakeCase } from '../config/index.ts';
export { pgTypeFor } from './pg-types.ts';
export { planTable, RESERVED_COLUMN_PREFIX } from './table.ts';
export type { PlanTableArgs } from './table.ts';
export { incrementalTimeFor, parseZuoraTime, wallTime, watermarkFromJob, zoneFor } from './time.ts';
export type { IncrementalTime } from './time.ts';
export { instantsOf, partsIn, wallAsUtc, type WallParts } from './wall.ts';
export { buildObjectQuery, buildWindowQuery, expectedHeaders } from './zoql.ts';
