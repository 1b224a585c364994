// Counting what a set of chaos trials did: kills per phase aimed at and really hit, per target, faults per kind,
// variants, recovery runs. Used by the chaos test and by `npm run chaos`.
import { PHASES, type TrialPlan } from './plan.ts';
import type { TrialResult } from './trial.ts';

export interface ChaosSummary {
  trials: number;
  failures: TrialResult[];
  /** `<target>@<phase>` -> kills that really landed there. */
  hits: Map<string, number>;
  /** Aimed phases never hit by any kill. */
  missedPhases: string[];
  lines: string[];
}

function count(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return new Map([...m].sort(([a], [b]) => a.localeCompare(b)));
}

export function summarize(results: TrialResult[], plans: TrialPlan[]): ChaosSummary {
  const kills = results.flatMap((r) => r.kills);
  const hits = count(kills.filter((k) => k.observed === k.aimed.phase).map((k) => `${k.aimed.target}@${k.observed}${k.recovery ? ' (in recovery)' : ''}`));
  const observedPhases = new Set(kills.filter((k) => k.observed === k.aimed.phase).map((k) => k.observed));
  const missedPhases = PHASES.filter((p) => !observedPhases.has(p));
  const line = (k: string, v: string | number): string => `${k.padEnd(40)} ${String(v)}`;
  const section = (title: string, m: Map<string, number>): string[] => [title, ...[...m].map(([k, v]) => line(`  ${k}`, v))];
  const misses = count(kills.filter((k) => k.observed !== k.aimed.phase).map((k) => `${k.aimed.phase} -> ${k.observed}`));
  const formats = count(plans.flatMap((p) => p.pipelines.map((x) => String(x.format))));
  const deletes = count(plans.flatMap((p) => p.pipelines.map((x) => String(x.deletes))));
  const readings = count(plans.flatMap((p) => [
    p.readings.fullHonoursIncrementalTime ? 'full batch honours incrementalTime' : 'full batch ignores incrementalTime',
    `incrementalTime ${p.readings.incrementalTimeBoundary}`,
    p.readings.deleteMovesUpdatedDate ? 'deletion moves UpdatedDate' : 'deletion keeps UpdatedDate',
    `Idempotency-Key ${p.readings.idempotencyKey}`,
    `data center ${p.dataCenter}`,
    `${p.pipelines.length} pipeline(s)`,
  ]));
  const rounds = count(plans.flatMap((p) => p.rounds.flatMap((r) => [r.configChange ? 'query change' : '', r.poison ? 'poison values' : '', r.concurrent ?? ''].filter(Boolean))));
  const failures = results.filter((r) => r.problems.length > 0);
  const lines = [
    line('trials', results.length),
    line('failures', failures.length),
    line('rows compared', results.reduce((n, r) => n + r.rowsCompared, 0)),
    line('duration (s)', Math.round(results.reduce((n, r) => n + r.durationMs, 0) / 1000)),
    ...section('kills that hit the phase aimed at', hits),
    ...section('kills that landed elsewhere (aimed -> landed)', misses),
    ...section('faults injected', count(results.flatMap((r) => r.faults))),
    ...section('pipelines by format', formats),
    ...section('pipelines by delete mode', deletes),
    ...section('readings and shapes', readings),
    ...section('rounds with', rounds),
    ...section('recovery runs per round', count(results.flatMap((r) => r.recoveryRuns.map(String)))),
    missedPhases.length ? `phases never hit: ${missedPhases.join(', ')}` : 'every phase was hit at least once',
  ];
  return { trials: results.length, failures, hits, missedPhases, lines };
}
