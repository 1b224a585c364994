// Chaos in every `npm test`: a small set of trials pinned so that together they cover every phase of a run, both
// kill targets (aquasync itself and the warehouse server), and all three result formats; everything else (faults,
// readings of Zuora's undocumented behaviour, delete modes, lookback, offset, joined fields, concurrent work, query
// changes, poison values) comes from each trial's seed. `npm run chaos -- --trials N --seed S` runs many more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORMATS, KILL_TARGETS, PHASES, planTrial, type TrialPlan } from './plan.ts';
import { summarize } from './summary.ts';
import { runTrial, startChaosWorld, type ChaosWorld, type TrialResult } from './trial.ts';

const SEED = Number(process.env.AQUASYNC_CHAOS_SEED ?? 7100);

describe('chaos: kills in every phase, of aquasync and of the warehouse, with faults and changing data', () => {
  let world: ChaosWorld;
  beforeAll(async () => {
    world = await startChaosWorld();
  }, 120_000);
  afterAll(async () => world?.close());

  it('recovers every time with the warehouse equal to Zuora', async () => {
    const plans: TrialPlan[] = PHASES.map((phase, i) =>
      planTrial(SEED + i, {
        format: FORMATS[i % FORMATS.length],
        kill: { phase, target: KILL_TARGETS[i % KILL_TARGETS.length] ?? 'process' },
        // One trial always carries poison values, so quarantine and NUL removal are under chaos in every run.
        poison: phase === 'merging',
      }),
    );
    const results: TrialResult[] = [];
    for (const plan of plans) results.push(await runTrial(world, plan));
    const summary = summarize(results, plans);
    console.log(`chaos (seeds ${SEED}..${SEED + plans.length - 1}):\n${summary.lines.join('\n')}`);
    const failures = summary.failures.map((r) => {
      const i = r.seed - SEED;
      const replay = `npm run chaos -- --trials 1 --seed ${r.seed} --kill ${KILL_TARGETS[i % KILL_TARGETS.length]}@${PHASES[i]} --format ${FORMATS[i % FORMATS.length]}${PHASES[i] === 'merging' ? ' --poison' : ''}`;
      return `seed ${r.seed} (${r.description}; replay: ${replay}):\n  ${r.problems.slice(0, 8).join('\n  ')}`;
    });
    expect(failures, failures.join('\n')).toEqual([]);
    expect(summary.missedPhases, 'every phase was really hit by a kill').toEqual([]);
    expect(results.every((r) => r.rowsCompared > 100)).toBe(true);
    expect(plans.some((p) => p.rounds.some((r) => r.kill?.target === 'warehouse'))).toBe(true);
  }, 600_000);
});
