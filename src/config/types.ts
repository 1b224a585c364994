// What pipelines.yaml becomes once loaded, interpolated and validated. Everything downstream reads only these.

/** us: Zuora reads incrementalTime as America/Los_Angeles wall time; eu: as UTC. */
export type DataCenter = 'us' | 'eu';
export type DeleteMode = 'soft' | 'hard' | 'ignore';
export type FileFormat = 'csv' | 'gzip' | 'zip';

export interface SourceConfig {
  /** A Zuora REST base URL (https://rest.na.zuora.com) or the word "emulator" for the built-in one. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  dataCenter: DataCenter;
  /** Sent as Zuora-Entity-Ids on every call when set. */
  entityId: string | undefined;
  /** KiB/s a result-file download must average after its grace (ZuoraClientOptions.download). */
  minDownloadSpeed: number;
}

export interface ObjectConfig {
  /** Zuora object (AQuA data source) API name, e.g. "InvoiceItem". */
  name: string;
  /** Own and joined fields (`Id`, `Invoice.Id`); exactly one of fields/query is set. */
  fields: string[] | undefined;
  /** A full Export ZOQL query, used as it is. */
  query: string | undefined;
  /** Warehouse table name (without schema); defaults to snake_case of the object name. */
  table: string;
  /** Zuora field names making the key; defaults to ["Id"]. */
  primaryKey: string[];
  deletes: DeleteMode;
  /** Per-column Postgres type overrides, keyed by warehouse column name (e.g. { balance: "numeric(22,9)" }). */
  types: Record<string, string>;
}

export interface PipelineConfig {
  name: string;
  /** Cron expression (5 or 6 fields), validated with node-cron. */
  schedule: string;
  /** IANA zone the schedule is read in. */
  timezone: string;
  partner: string;
  project: string;
  format: FileFormat;
  /** Seconds (0-3600) sent to Zuora as `offset`: the window ends this long before the job starts. */
  offset: number;
  /** Seconds subtracted from the watermark when building incrementalTime (overlap, deduplicated on load). */
  lookback: number;
  /** incrementalTime of the very first run (UTC instant). */
  startDate: Date;
  /** Per-job time limit while polling, in seconds. */
  jobTimeout: number;
  /** How many result files are downloaded and staged at once. */
  concurrency: number;
  objects: ObjectConfig[];
  /** The `source:` defaults merged with this pipeline's overrides. */
  source: SourceConfig;
  /** Scheduled self-verification (`verify:`), run by `aquasync schedule`; undefined when not configured. */
  verify?: VerifyConfig | undefined;
}

export interface VerifyConfig {
  /** Cron expression, read in the pipeline's timezone. */
  schedule: string;
  /** What to do about rows found missing or extra: report them by Id, or also repair them and verify again. */
  reconcile: 'report' | 'apply';
}

export interface WarehouseConfig {
  /** Schema that holds the warehouse tables. State always lives in schema "aquasync". */
  schema: string;
}

export interface Config {
  /** Absolute path of the file it was read from (used in messages). */
  file: string;
  warehouse: WarehouseConfig;
  pipelines: PipelineConfig[];
}
