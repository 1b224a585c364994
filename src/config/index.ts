// pipelines.yaml: load, interpolate ${VAR}, validate, typed Config objects.
export { loadConfig, parseConfig } from './parse.ts';
export { snakeCase } from './names.ts';
export { didYouMean } from './did-you-mean.ts';
export { baseUrlProblem } from './url.ts';
export { IDENT, isSelectQuery, queryBaseObject, scanClauses, type Clause } from './query-text.ts';
export type {
  Config,
  DataCenter,
  DeleteMode,
  FileFormat,
  ObjectConfig,
  PipelineConfig,
  SourceConfig,
  WarehouseConfig,
} from './types.ts';
