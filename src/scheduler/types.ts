// What the scheduler exposes: its options, the slots it records and what it reports when it stops.
import type pg from 'pg';
import type { Kysely } from 'kysely';
import type { PipelineConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { StateDatabase } from '../state/types.ts';
import type { PipelineRunResult } from '../sync/types.ts';

/** Why a slot exists: a cron firing, or the start-up resume of a pipeline that has an unfinished job. */
export type SlotTrigger = 'cron' | 'resume';

export type SlotStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'abandoned';

/** A row of aquasync.schedule_slots. */
export interface SlotRecord {
  pipeline: string;
  dueAt: Date;
  trigger: SlotTrigger;
  status: SlotStatus;
  owner: string;
  attempts: number;
  leaseUntil: Date | null;
  claimedAt: Date;
  /** When the current attempt started (a takeover restarts it). */
  startedAt: Date;
  heartbeatAt: Date | null;
  finishedAt: Date | null;
  takenOverFrom: string | null;
  runIds: number[];
  rowsWritten: number | null;
  error: string | null;
}

/** A slot this replica holds the lease of and must run. */
export interface ClaimedSlot {
  pipeline: string;
  dueAt: Date;
  trigger: SlotTrigger;
  attempts: number;
  /** The replica whose lease expired, when this is a takeover. */
  takenOverFrom: string | undefined;
}

/** Runs one pipeline once (the CLI passes runPipeline with kind 'scheduled'). Must settle when `signal` aborts. */
export type RunPipelineFn = (pipeline: PipelineConfig, options: { signal: AbortSignal }) => Promise<PipelineRunResult>;

/** What a scheduled verification of a pipeline reports (the CLI passes verify, then reconcile per `verify:`). */
export interface VerificationOutcome {
  /** No object has rows missing or extra that Zuora's later changes do not explain, and no check failed. */
  ok: boolean;
  /** One line for the log and the slot's ledger row. */
  summary: string;
  /** Set when the check itself could not run (Data Query refused, the locks were held...). */
  error?: unknown;
}

/** Verifies one pipeline once (its `verify:` block). Must settle when `signal` aborts. */
export type VerifyPipelineFn = (pipeline: PipelineConfig, options: { signal: AbortSignal }) => Promise<VerificationOutcome>;

export interface SchedulerOptions {
  pool: pg.Pool;
  db: Kysely<StateDatabase>;
  pipelines: PipelineConfig[];
  run: RunPipelineFn;
  /** Runs the scheduled verifications of pipelines that have `verify:` (without it they are not scheduled). */
  verify?: VerifyPipelineFn;
  logger: Logger;
  /** Identifies this replica in slot rows and logs; default `<host>:<pid>:<random>`. */
  replicaId?: string;
  /** How long a claim stays valid without a heartbeat (default 60 s). */
  leaseMs?: number;
  /** How often a running slot's lease is extended (default leaseMs / 4). */
  heartbeatMs?: number;
  /** How often expired leases of other replicas are looked for (default leaseMs / 4). */
  sweepMs?: number;
  /** Takeovers of one slot before it is given up as abandoned (default 3 attempts in all). */
  maxAttempts?: number;
}

export interface StopResult {
  /** Pipelines whose run was still going when the grace period ended and was cut off. */
  abandoned: string[];
  /** Runs that did not settle even after being cut off (the caller should exit the process). */
  unsettled: string[];
}

/** Per-pipeline counters of this replica, for /metrics. */
export interface PipelineCounters {
  runs: Record<Exclude<SlotStatus, 'running'>, number>;
  /** Rows inserted, changed or deleted in the warehouse. */
  rowsWritten: number;
  rowsRead: number;
  rowsQuarantined: number;
  failures: number;
}

/** What /metrics needs for one pipeline. Times are Unix seconds. */
export interface PipelineMetrics {
  pipeline: string;
  /** Last succeeded scheduled run, on any replica. */
  lastSuccessAt: number | undefined;
  /** The last finished scheduled run (any outcome), on any replica. */
  lastRunDurationSeconds: number | undefined;
  lastRunRowsWritten: number | undefined;
  /** now - watermark; undefined before the first load. */
  watermarkLagSeconds: number | undefined;
  /** Seconds Zuora took to run the last completed sync job (submitted to completed), on any replica. */
  lastJobWaitSeconds?: number | undefined;
  running: boolean;
  /** Quarantined rows not resolved (aquasync.rejected_rows), on any replica. */
  quarantinedRows: number;
  /** Tables owing a complete snapshot (aquasync.snapshots), on any replica. */
  snapshotsOwed: number;
  counters: PipelineCounters;
  /** The last verification of each object (aquasync.verifications, any replica or command). */
  verifications?: ObjectVerificationMetrics[];
}

export interface ObjectVerificationMetrics {
  object: string;
  ok: boolean;
  /** The check itself failed (no counts). */
  failed: boolean;
  rowsMissing: number;
  rowsExtra: number;
  rowsPending: number;
  ageSeconds: number;
}
