// What one run of a pipeline reports, and the hooks tests use to stop it between phases.
import type { Logger } from '../log.ts';

export type RunKind = 'scheduled' | 'manual' | 'backfill';

/** Phases of a run, in order. A crash may happen between any two; the next run resumes from the recorded state. */
export type SyncPhase = 'submitted' | 'completed' | 'staged' | 'applied';

export interface TableResult {
  table: string;
  object: string;
  /** Rows Zuora reported for the batch (recordCount). */
  recordCount: number;
  upserted: number;
  deleted: number;
  missingMarkedDeleted: number;
  full: boolean;
}

export interface PipelineRunResult {
  pipeline: string;
  ok: boolean;
  runId: number | undefined;
  zuoraJobId: string | undefined;
  resumed: boolean;
  rowsLoaded: number;
  tables: TableResult[];
  watermarkBefore: Date | undefined;
  watermarkAfter: Date | undefined;
  durationMs: number;
  error: unknown;
}

export interface RunOptions {
  kind?: RunKind;
  logger: Logger;
  /** Aborts polling and downloads (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Where zip files are spooled before unzipping. */
  tempDir: string;
  /** Test hook: throw right after this phase was recorded, as a crash there would. */
  crashAfter?: SyncPhase;
  /** Called as files are staged (for the progress bar). */
  onFileStaged?: (done: number, total: number) => void;
  /** Poll interval bounds for Zuora jobs (tests shorten them). */
  poll?: { minIntervalMs?: number; maxIntervalMs?: number };
}
