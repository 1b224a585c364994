// Is a pipeline fresh? Pure: its watermark, last finished run and schedule in, one of four states out, with the
// sentence that explains it. The status page and its JSON API show exactly this.

export type FreshnessState = 'ok' | 'late' | 'failing' | 'waiting';

export interface FreshnessInput {
  now: Date;
  watermark: Date | undefined;
  /** Outcome of the pipeline's last finished sync (scheduled or manual run; backfills do not move the watermark). */
  lastOutcome: 'succeeded' | 'failed' | 'abandoned' | undefined;
  /** The latest firing whose run should have finished by now (see dueFiring); undefined when none is known. */
  dueFiring: Date | undefined;
  /** The pipeline's `offset`: a run at T leaves the watermark at about T - offset. */
  offsetSeconds: number;
}

export interface Freshness {
  state: FreshnessState;
  /** now - watermark, in seconds; undefined before the first load. */
  lagSeconds: number | undefined;
  /** The watermark the due firing should have reached (late when the watermark is older). */
  expectedWatermark: Date | undefined;
  reason: string;
}

/** Zuora's clock and ours may disagree by a little; a watermark this much short of expected is still on time. */
export const CLOCK_SLACK_SECONDS = 300;
const MIN_GRACE_MS = 5 * 60_000;
const MAX_GRACE_MS = 60 * 60_000;

/**
 * How long after a firing its run may take before the pipeline counts as late: half the interval between
 * firings, at least 5 minutes and at most an hour (a nightly job may queue at Zuora for a while; one every
 * 10 minutes must not be an hour behind before anyone notices).
 */
export function graceMs(previous: Date | undefined, next: Date | undefined): number {
  if (!previous || !next) return MAX_GRACE_MS;
  return Math.min(MAX_GRACE_MS, Math.max(MIN_GRACE_MS, (next.getTime() - previous.getTime()) / 2));
}

export function freshness(input: FreshnessInput): Freshness {
  const { now, watermark, dueFiring } = input;
  const lagSeconds = watermark ? Math.max(0, (now.getTime() - watermark.getTime()) / 1000) : undefined;
  const expectedWatermark = dueFiring ? new Date(dueFiring.getTime() - (input.offsetSeconds + CLOCK_SLACK_SECONDS) * 1000) : undefined;
  const base = { lagSeconds, expectedWatermark };
  if (input.lastOutcome === 'failed') {
    return { ...base, state: 'failing', reason: 'the last run failed' };
  }
  if (!watermark) {
    return { ...base, state: 'waiting', reason: 'nothing loaded yet: the first run loads everything' };
  }
  if (dueFiring && expectedWatermark && watermark < expectedWatermark) {
    return { ...base, state: 'late', reason: `the run due at ${dueFiring.toISOString()} has not loaded its data yet` };
  }
  return { ...base, state: 'ok', reason: dueFiring ? `loaded through the run due at ${dueFiring.toISOString()}` : 'loaded' };
}
