// Chaos: real `aquasync sync` processes SIGKILLed at random moments while the emulator injects faults and its data
// keeps changing (through the DST fall-back hour); after each trial a clean sync must leave the warehouse equal to
// Zuora. `npm run chaos -- --trials N --seed S` runs many more trials with a summary table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTrial, startChaosWorld, type ChaosWorld, type TrialResult } from './chaos-trial.ts';

// Two worlds side by side halve the wall time; each world's trials run one after another.
const WORLDS = 2;
const TRIALS_PER_WORLD = 10;
const SEED = Number(process.env.AQUASYNC_CHAOS_SEED ?? 7000);

describe('chaos: killed syncs, faults and changing data', () => {
  const worlds: ChaosWorld[] = [];
  beforeAll(async () => {
    for (let w = 0; w < WORLDS; w++) worlds.push(await startChaosWorld(SEED + w * 1000));
  });
  afterAll(async () => {
    for (const world of worlds) await world.close();
  });

  it(`recovers from ${WORLDS * TRIALS_PER_WORLD} random kills with the warehouse equal to Zuora`, async () => {
    const results: TrialResult[] = [];
    await Promise.all(
      worlds.map(async (world, w) => {
        for (let i = 0; i < TRIALS_PER_WORLD; i++) results.push(await runTrial(world, SEED + w * 1000 + i));
      }),
    );
    const failures = results
      .filter((r) => r.problems.length > 0)
      .map((r) => `seed ${r.seed} (kill ${r.target} at ${r.observed}, faults [${r.faults.join(' ')}]; replay: npm run chaos -- --trials 1 --seed ${r.seed}):\n  ${r.problems.slice(0, 8).join('\n  ')}`);
    expect(failures, failures.join('\n')).toEqual([]);
    expect(results).toHaveLength(WORLDS * TRIALS_PER_WORLD);
    // The trials really compared rows and really killed runs in flight.
    expect(results.every((r) => r.rowsCompared > 100)).toBe(true);
    expect(results.filter((r) => r.observed !== 'exited-first').length).toBeGreaterThan(results.length / 2);
  }, 240_000);
});
