// What one run of a pipeline reports, and the hooks tests use to stop it between phases.
import type { LoadPath } from '../load/index.ts';
import type { Logger } from '../log.ts';

export type RunKind = 'scheduled' | 'manual' | 'backfill';

/** Phases of a run, in order. A crash may happen between any two; the next run resumes from the recorded state. */
export type SyncPhase = 'submitted' | 'completed' | 'staged' | 'applied';

export interface TableResult {
  table: string;
  object: string;
  /** Rows in the result files of the table (Zuora's recordCount of every batch loaded into it). */
  recordCount: number;
  /** Live rows inserted or changed. */
  upserted: number;
  /** Rows deleted (soft: flagged, hard: removed) because Zuora reported them deleted. */
  deleted: number;
  /** Rows deleted because a complete snapshot no longer held them. */
  missingMarkedDeleted: number;
  /** Rows moved to aquasync.rejected_rows. */
  quarantined: number;
  /** Zuora marked the stateful batch `full`. */
  full: boolean;
  /** A complete snapshot of the object was applied (rows missing from it were deleted). */
  snapshot: boolean;
  /** How the rows went in (see LoadPath): `copied` is the first load at the COPY limit (the typed stage became the table). */
  load: LoadPath;
}

export interface PipelineRunResult {
  pipeline: string;
  ok: boolean;
  runId: number | undefined;
  zuoraJobId: string | undefined;
  resumed: boolean;
  /** Rows inserted, changed or deleted in the warehouse. */
  rowsWritten: number;
  /** Data rows in the result files. */
  rowsRead: number;
  /** Rows sent to aquasync.rejected_rows. */
  rowsQuarantined: number;
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

/** One stateless window of a backfill, as the result reports it. */
export interface BackfillWindowResult {
  since: Date;
  until: Date;
  /** loaded: by this run; skipped: loaded before (or a dry run); failed: not loaded (its job failed, or the backfill stopped first). */
  status: 'loaded' | 'skipped' | 'failed';
  rows: number;
}

export interface BackfillProgress {
  windowsDone: number;
  windowsTotal: number;
  rows: number;
}

export interface BackfillOptions {
  /** Start of the range (inclusive); truncated to whole seconds. */
  since: Date;
  /** End of the range (exclusive); rounded up to whole seconds. */
  until: Date;
  /** Object names (as in the config) to re-pull; default: all of the pipeline's. */
  objects?: string[];
  /** Window length in ms (whole seconds). */
  windowMs: number;
  /** Plan and log the payloads without touching Zuora or writing anything. */
  dryRun?: boolean;
  logger: Logger;
  /** Where zip files are spooled before unzipping. */
  tempDir: string;
  signal?: AbortSignal;
  onProgress?: (progress: BackfillProgress) => void;
  /** Poll interval bounds for Zuora jobs and for waiting on a job permit (tests shorten them). */
  poll?: { minIntervalMs?: number; maxIntervalMs?: number };
  /**
   * The caller already holds the pipeline's backfill lock (`<pipeline>#backfill`, reconcile --apply does), so the
   * backfill must not try to take it again.
   */
  backfillLockHeld?: boolean;
  /**
   * Load every window again even if an earlier backfill loaded it: a re-pull repairs rows lost since (reconcile
   * --apply), which skipping a window loaded before would leave missing.
   */
  reload?: boolean;
}

export interface BackfillResult {
  ok: boolean;
  runId: number | undefined;
  windows: BackfillWindowResult[];
  /** Rows inserted, changed or deleted in the warehouse. */
  rowsWritten: number;
  /** Data rows in the windows' result files. */
  rowsRead: number;
  error: unknown;
}
