// `npm run chaos -- --trials N --seed S`: many chaos trials (see test/chaos/chaos-trial.ts) against one emulator and
// one throw-away database, then a summary table. Any failing trial prints its seed; `--seed <it> --trials 1` replays
// it (a trial's randomness depends only on its seed, though the warehouse it starts from depends on earlier trials).
// Needs DATABASE_URL pointing at a Postgres server where it may create and drop a database.
import { parseArgs } from 'node:util';
import { KILL_PHASES, runTrial, startChaosWorld, type TrialResult } from '../test/chaos/chaos-trial.ts';

const { values } = parseArgs({
  options: { trials: { type: 'string', default: '50' }, seed: { type: 'string', default: String(Date.now() % 1_000_000) } },
});
const trials = Number(values.trials);
const firstSeed = Number(values.seed);
if (!Number.isInteger(trials) || trials < 1 || !Number.isInteger(firstSeed)) {
  process.stderr.write('usage: npm run chaos -- --trials N --seed S   (N >= 1, S an integer)\n');
  process.exit(2);
}
if (!process.env.DATABASE_URL) {
  process.stderr.write('chaos: set DATABASE_URL to a Postgres server (e.g. postgres://postgres@127.0.0.1:5432/postgres)\n');
  process.exit(2);
}

const world = await startChaosWorld(firstSeed);
const results: TrialResult[] = [];
const started = Date.now();
try {
  for (let i = 0; i < trials; i++) {
    const seed = firstSeed + i;
    const r = await runTrial(world, seed);
    results.push(r);
    const verdict = r.problems.length ? 'FAIL' : 'ok';
    process.stdout.write(
      `trial ${i + 1}/${trials} seed ${seed}: ${verdict}  kill ${r.target} (at ${r.observed})  faults [${r.faults.join(' ')}]  rows ${r.rowsCompared}${r.notes.length ? `  (${r.notes.join('; ')})` : ''}\n`,
    );
    for (const p of r.problems) process.stdout.write(`    ${p}\n`);
  }
} finally {
  await world.close();
}

const count = <K extends string>(keys: K[]): Map<K, number> => {
  const m = new Map<K, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
};
const failures = results.filter((r) => r.problems.length > 0);
const targets = count(results.map((r) => r.target));
const observed = count(results.map((r) => r.observed));
const faults = count(results.flatMap((r) => r.faults.map((f) => f.replace(/@.*/, ''))));
const line = (k: string, v: string | number): string => `${k.padEnd(28)} ${String(v)}\n`;
process.stdout.write('\nchaos summary\n');
process.stdout.write(line('trials', results.length));
process.stdout.write(line('seeds', `${firstSeed}..${firstSeed + trials - 1}`));
process.stdout.write(line('duration', `${Math.round((Date.now() - started) / 1000)} s`));
for (const phase of KILL_PHASES) process.stdout.write(line(`kills aimed at ${phase}`, targets.get(phase) ?? 0));
for (const [phase, n] of observed) process.stdout.write(line(`  landed at ${phase}`, n));
process.stdout.write(line('faults injected', results.reduce((n, r) => n + r.faults.length, 0)));
for (const [kind, n] of faults) process.stdout.write(line(`  ${kind}`, n));
process.stdout.write(line('data changes', results.reduce((n, r) => n + r.mutations, 0)));
process.stdout.write(line('rows compared', results.reduce((n, r) => n + r.rowsCompared, 0)));
process.stdout.write(line('failures', failures.length));
if (failures.length) {
  process.stdout.write(`failing seeds: ${failures.map((f) => f.seed).join(', ')} (replay: npm run chaos -- --trials 1 --seed <seed>)\n`);
  process.exitCode = 1;
}
