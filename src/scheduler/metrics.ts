// Prometheus text exposition (format 0.0.4) of the scheduler's per-pipeline metrics. Pure: data in, text out.
import type { ObjectVerificationMetrics, PipelineCounters, PipelineMetrics } from './types.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Escapes a label value: backslash, double quote and newline, as the exposition format requires. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value: integers as they are, others with up to millisecond precision, and the special floats spelled out. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isInteger(value)) return String(value);
  return String(Math.round(value * 1000) / 1000);
}

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: { labels: Record<string, string>; value: number | undefined }[];
}

function renderFamily(family: Family): string[] {
  const samples = family.samples.filter((s): s is { labels: Record<string, string>; value: number } => s.value !== undefined);
  if (samples.length === 0) return [];
  const lines = [`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`];
  for (const sample of samples) {
    const labels = Object.entries(sample.labels)
      .map(([key, value]) => `${key}="${escapeLabel(value)}"`)
      .join(',');
    lines.push(`${family.name}${labels ? `{${labels}}` : ''} ${formatValue(sample.value)}`);
  }
  return lines;
}

const OUTCOMES: (keyof PipelineCounters['runs'])[] = ['succeeded', 'failed', 'skipped', 'abandoned'];

/** The whole /metrics body. Gauges without a value (no success yet, no watermark yet) are left out, not zeroed. */
export function renderMetrics(pipelines: PipelineMetrics[], scheduler: { up: boolean; stopping: boolean }): string {
  const per = (value: (p: PipelineMetrics) => number | undefined): Family['samples'] =>
    pipelines.map((p) => ({ labels: { pipeline: p.pipeline }, value: value(p) }));
  const families: Family[] = [
    {
      name: 'aquasync_scheduler_up',
      type: 'gauge',
      help: '1 while this scheduler replica is running and not shutting down.',
      samples: [{ labels: {}, value: scheduler.up && !scheduler.stopping ? 1 : 0 }],
    },
    {
      name: 'aquasync_last_success_timestamp_seconds',
      type: 'gauge',
      help: 'Unix time the last scheduled run of the pipeline succeeded (on any replica).',
      samples: per((p) => p.lastSuccessAt),
    },
    {
      name: 'aquasync_last_run_duration_seconds',
      type: 'gauge',
      help: 'Duration of the last finished scheduled run of the pipeline (on any replica).',
      samples: per((p) => p.lastRunDurationSeconds),
    },
    {
      name: 'aquasync_last_run_rows_written',
      type: 'gauge',
      help: 'Rows written by the last finished scheduled run of the pipeline (on any replica).',
      samples: per((p) => p.lastRunRowsWritten),
    },
    {
      name: 'aquasync_watermark_lag_seconds',
      type: 'gauge',
      help: 'Seconds between now and the pipeline watermark (how stale the warehouse may be).',
      samples: per((p) => p.watermarkLagSeconds),
    },
    {
      name: 'aquasync_last_job_wait_seconds',
      type: 'gauge',
      help: 'Seconds Zuora took to run the last completed sync job of the pipeline (submitted to completed).',
      samples: per((p) => p.lastJobWaitSeconds),
    },
    {
      name: 'aquasync_run_in_progress',
      type: 'gauge',
      help: '1 while this replica runs the pipeline.',
      samples: per((p) => (p.running ? 1 : 0)),
    },
    {
      name: 'aquasync_rows_written_total',
      type: 'counter',
      help: 'Rows inserted, changed or deleted in the warehouse by scheduled runs of this replica.',
      samples: per((p) => p.counters.rowsWritten),
    },
    {
      name: 'aquasync_rows_read_total',
      type: 'counter',
      help: 'Rows in the result files loaded by scheduled runs of this replica.',
      samples: per((p) => p.counters.rowsRead),
    },
    {
      name: 'aquasync_rows_quarantined_total',
      type: 'counter',
      help: 'Rows scheduled runs of this replica sent to aquasync.rejected_rows (a value Postgres could not take).',
      samples: per((p) => p.counters.rowsQuarantined),
    },
    {
      name: 'aquasync_quarantined_rows',
      type: 'gauge',
      help: 'Quarantined rows not marked resolved in aquasync.rejected_rows (any replica).',
      samples: per((p) => p.quarantinedRows),
    },
    {
      name: 'aquasync_snapshots_owed',
      type: 'gauge',
      help: 'Tables of the pipeline still owing a complete snapshot (aquasync.snapshots, any replica).',
      samples: per((p) => p.snapshotsOwed),
    },
    {
      name: 'aquasync_run_failures_total',
      type: 'counter',
      help: 'Scheduled runs of this replica that failed.',
      samples: per((p) => p.counters.failures),
    },
    ...verificationFamilies(pipelines),
    {
      name: 'aquasync_runs_total',
      type: 'counter',
      help: 'Schedule slots handled by this replica, by outcome.',
      samples: pipelines.flatMap((p) =>
        OUTCOMES.map((outcome) => ({ labels: { pipeline: p.pipeline, outcome }, value: p.counters.runs[outcome] })),
      ),
    },
  ];
  return `${families.flatMap(renderFamily).join('\n')}\n`;
}

/** The last verification of each object, labelled {pipeline, object}: what an alert on the warehouse's truth reads. */
function verificationFamilies(pipelines: PipelineMetrics[]): Family[] {
  const per = (value: (v: ObjectVerificationMetrics) => number): Family['samples'] =>
    pipelines.flatMap((p) => (p.verifications ?? []).map((v) => ({ labels: { pipeline: p.pipeline, object: v.object }, value: value(v) })));
  return [
    {
      name: 'aquasync_verification_ok',
      type: 'gauge',
      help: '1 when the last verification of the object found no row missing or extra (pending rows are fine) and ran without error.',
      samples: per((v) => (v.ok && !v.failed ? 1 : 0)),
    },
    {
      name: 'aquasync_verification_rows_missing',
      type: 'gauge',
      help: 'Rows Zuora has and the warehouse lacks, unexplained by later Zuora changes, at the last verification of the object.',
      samples: per((v) => v.rowsMissing),
    },
    {
      name: 'aquasync_verification_rows_extra',
      type: 'gauge',
      help: 'Rows the warehouse has and Zuora does not (or deleted before the watermark), at the last verification of the object.',
      samples: per((v) => v.rowsExtra),
    },
    {
      name: 'aquasync_verification_rows_pending',
      type: 'gauge',
      help: 'Differing rows Zuora changed after the watermark (they arrive with the next sync), at the last verification of the object.',
      samples: per((v) => v.rowsPending),
    },
    {
      name: 'aquasync_verification_age_seconds',
      type: 'gauge',
      help: 'Seconds since the last verification of the object (manual or scheduled, any replica).',
      samples: per((v) => v.ageSeconds),
    },
  ];
}

export function emptyCounters(): PipelineCounters {
  return { runs: { succeeded: 0, failed: 0, skipped: 0, abandoned: 0 }, rowsWritten: 0, rowsRead: 0, rowsQuarantined: 0, failures: 0 };
}
