// `npm run chaos -- --trials N --seed S [--workers W]`: many chaos trials (test/chaos/trial.ts), each drawn from its
// seed alone (plan.ts), on private Postgres clusters the trials crash; then a summary: kills per phase aimed at and
// hit, faults per kind, variants, recovery runs. Any failing trial prints its seed; `--seed <it> --trials 1`
// replays it. Exits 1 on a failure, or when some phase was never hit in 20 trials or more.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describePlan, FORMATS, KILL_TARGETS, PHASES, planTrial, type Kill, type PlanOverrides, type TrialPlan } from '../test/chaos/plan.ts';
import { summarize } from '../test/chaos/summary.ts';
import { runTrial, startChaosWorld, type TrialResult } from '../test/chaos/trial.ts';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '50' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    workers: { type: 'string', default: '1' },
    // Pin what the chaos test pins, to replay one of its trials exactly: --kill process@committed --format gzip
    kill: { type: 'string' },
    format: { type: 'string' },
    poison: { type: 'boolean' },
  },
});
const trials = Number(values.trials);
const firstSeed = Number(values.seed);
const workers = Number(values.workers);
if (![trials, firstSeed, workers].every(Number.isInteger) || trials < 1 || workers < 1) {
  process.stderr.write('usage: npm run chaos -- --trials N --seed S [--workers W]   (N, W >= 1, S an integer)\n');
  process.exit(2);
}

const pinned = ((): PlanOverrides => {
  const out: PlanOverrides = {};
  if (values.kill !== undefined) {
    const [target, phase] = values.kill.split('@');
    if (!KILL_TARGETS.includes(target as never) || !PHASES.includes(phase as never)) {
      process.stderr.write(`--kill must be <${KILL_TARGETS.join('|')}>@<${PHASES.join('|')}>\n`);
      process.exit(2);
    }
    out.kill = { target: target as Kill['target'], phase: phase as Kill['phase'] };
  }
  if (values.format !== undefined) {
    if (!FORMATS.includes(values.format as never)) {
      process.stderr.write(`--format must be one of ${FORMATS.join(', ')}\n`);
      process.exit(2);
    }
    out.format = values.format as (typeof FORMATS)[number];
  }
  if (values.poison) out.poison = true;
  return out;
})();
const plans: TrialPlan[] = Array.from({ length: trials }, (_, i) => planTrial(firstSeed + i, pinned));
const results: TrialResult[] = new Array<TrialResult>(trials);
let next = 0;
let done = 0;
const started = Date.now();
// Every temp folder of the run (the killed CLI processes' too: SIGKILL leaves them behind) goes under one folder
// removed at the end. 0755: the clusters' postgres user must be able to enter it when this runs as root.
const runTemp = mkdtempSync(join(tmpdir(), 'aquasync-chaos-run-'));
chmodSync(runTemp, 0o755);
process.env.TMPDIR = runTemp;

async function worker(): Promise<void> {
  const world = await startChaosWorld();
  try {
    for (let i = next++; i < trials; i = next++) {
      const plan = plans[i] as TrialPlan;
      const r = await runTrial(world, plan);
      results[i] = r;
      done += 1;
      const verdict = r.problems.length ? 'FAIL' : 'ok';
      const kills = r.kills.map((k) => `${k.aimed.target}@${k.aimed.phase}->${k.observed}${k.recovery ? '(recovery)' : ''}`).join(' ');
      process.stdout.write(`[${done}/${trials}] seed ${plan.seed}: ${verdict} ${(r.durationMs / 1000).toFixed(1)} s  kills [${kills}]  ${describePlan(plan)}\n`);
      for (const p of r.problems.slice(0, 12)) process.stdout.write(`    ${p}\n`);
    }
  } finally {
    await world.close();
  }
}

try {
  await Promise.all(Array.from({ length: workers }, () => worker()));
} finally {
  rmSync(runTemp, { recursive: true, force: true });
}
const summary = summarize(results, plans);
process.stdout.write(`\nchaos summary (seeds ${firstSeed}..${firstSeed + trials - 1}, ${Math.round((Date.now() - started) / 1000)} s wall)\n${summary.lines.join('\n')}\n`);
if (summary.failures.length) {
  process.stdout.write(`failing seeds: ${summary.failures.map((f) => f.seed).join(', ')} (replay: npm run chaos -- --trials 1 --seed <seed>)\n`);
  process.exitCode = 1;
}
if (trials >= 20 && summary.missedPhases.length) process.exitCode = 1;
