// What one chaos trial does, drawn from its seed alone (so `--seed N` replays it): the tenant and Zuora's readings
// of its undocumented behaviour, the pipelines (format, data center, delete mode, lookback, offset, joined
// fields), and two rounds (the first load, then changes), each with faults from the whole catalogue, maybe a query
// change or poison values, maybe a concurrent backfill or second sync, and a kill — of aquasync or of the warehouse
// server — aimed at one phase of the run (and maybe a second kill during the recovery). Pure.
import type { CorruptMode, Fault, ZuoraReadings } from '../../src/emulator/index.ts';
import type { PipelineYaml } from './harness.ts';

export const PHASES = ['submitting', 'polling', 'staging', 'snapshot', 'applying', 'merging', 'committed'] as const;
export type Phase = (typeof PHASES)[number];
export const KILL_TARGETS = ['process', 'warehouse'] as const;
export type KillTarget = (typeof KILL_TARGETS)[number];
export const FORMATS = ['gzip', 'csv', 'zip'] as const;

export interface Kill {
  target: KillTarget;
  phase: Phase;
}

/** A Zuora fault and whether it ends the job it hits (the run fails and one more recovery run is justified). */
export interface PlannedFault {
  fault: Fault;
  label: string;
  endsJob: boolean;
}

export interface RoundPlan {
  /** Random inserts, updates and deletes before the run. */
  mutations: number;
  /** Changes made while the run goes on. */
  concurrentMutations: number;
  /** Pipeline 0 selects one more Account field: a changed query, so a complete snapshot is owed. */
  configChange: boolean;
  /** An Account value no column can take (quarantined) and a NUL byte in a name. */
  poison: boolean;
  faults: PlannedFault[];
  kill: Kill | undefined;
  /** A second kill, aimed at the first recovery run. */
  recoveryKill: Kill | undefined;
  concurrent: 'backfill' | 'second-sync' | undefined;
}

export interface TrialPlan {
  seed: number;
  rows: number;
  segmentSize: number;
  dataCenter: 'us' | 'eu';
  startTimeFormat: 'pacific' | 'iso';
  readings: ZuoraReadings;
  pipelines: PipelineYaml[];
  rounds: [RoundPlan, RoundPlan];
}

/** What the caller may pin, so a small set of trials covers every phase, target and format. */
export interface PlanOverrides {
  format?: (typeof FORMATS)[number];
  kill?: Kill;
  /** Round the pinned kill goes to (default: the round the phase is possible in, round 2 when both are). */
  killRound?: 0 | 1;
  /** Poison values (a value no column takes, a NUL byte) in the second round. */
  poison?: boolean;
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

const ROUTES = ['token', 'submit', 'job', 'file', 'describe'] as const;

/** One fault of the catalogue (those the chaos uses to hold a phase open are armed by the trial itself). */
export function drawFault(random: () => number, format: string): PlannedFault {
  const kind = Math.floor(random() * 13);
  switch (kind) {
    case 0:
      return { fault: { kind: 'status', status: 429, retryAfterSeconds: 0, route: pick(random, ROUTES) }, label: '429', endsJob: false };
    case 1: {
      const status = pick(random, [500, 502, 503] as const);
      return { fault: { kind: 'status', status, retryAfterSeconds: 0, route: pick(random, ROUTES) }, label: '5xx', endsJob: false };
    }
    case 2:
      return { fault: { kind: 'reset', afterBytes: 50 + Math.floor(random() * 2000) }, label: 'reset', endsJob: false };
    case 3:
      return { fault: { kind: 'slow', bytesPerSecond: 20_000 + Math.floor(random() * 40_000) }, label: 'slow', endsJob: false };
    case 4:
      return { fault: { kind: 'expire-tokens', route: pick(random, ['job', 'file', 'describe'] as const) }, label: 'token-expiry', endsJob: false };
    case 5:
      return { fault: { kind: 'abort-batch', message: 'chaos: batch aborted by the emulator' }, label: 'aborted', endsJob: true };
    case 6:
      return { fault: { kind: 'job-error' }, label: 'job-error', endsJob: true };
    case 7:
      // Expired once: the same run re-covers the window with a new job.
      return { fault: { kind: 'expired-file' }, label: 'expired-file', endsJob: false };
    case 8:
      return { fault: { kind: 'submit-error', errorCode: '90028', message: 'chaos: concurrency limit', times: 1 + Math.floor(random() * 2) }, label: '90028', endsJob: false };
    case 9: {
      const modes: CorruptMode[] = ['unbalanced-quote', ...(format === 'gzip' ? (['truncate-gzip'] as const) : []), ...(format === 'zip' ? (['zip-entries'] as const) : [])];
      const mode = pick(random, modes);
      return {
        fault: mode === 'zip-entries' ? { kind: 'corrupt-file', mode, entries: pick(random, [0, 2] as const) } : { kind: 'corrupt-file', mode },
        label: `corrupt:${mode}`,
        endsJob: true,
      };
    }
    case 10:
      return { fault: { kind: 'wrong-header' }, label: 'wrong-header', endsJob: true };
    case 11:
      return { fault: { kind: 'wrong-record-count', delta: pick(random, [-1, 2] as const) }, label: 'wrong-record-count', endsJob: true };
    default:
      return { fault: { kind: 'corrupt-file', mode: 'nul-byte' }, label: 'nul-byte', endsJob: false };
  }
}

/** Phases a kill can aim at in a round: merging needs existing tables, snapshot a query change. */
export function phasesFor(round: 0 | 1, configChange: boolean): Phase[] {
  return PHASES.filter((p) => (p !== 'merging' || round === 1) && (p !== 'snapshot' || (round === 1 && configChange)));
}

export function planTrial(seed: number, overrides: PlanOverrides = {}): TrialPlan {
  const random = rng(seed);
  const format = overrides.format ?? pick(random, FORMATS);
  const two = random() < 0.3;
  const pipeline = (name: string, f: string): PipelineYaml => ({
    name,
    format: f as PipelineYaml['format'],
    deletes: pick(random, ['soft', 'soft', 'hard', 'ignore'] as const),
    lookback: pick(random, [0, 0, 5, 3600]),
    offset: pick(random, [0, 0, 30]),
    concurrency: pick(random, [1, 2, 4]),
    ...(random() < 0.4 ? { accountFields: ['Id', 'Name', 'Balance', 'Status', 'AutoPay', 'BillCycleDay', 'Notes', 'UpdatedDate', 'BillToContact.Id'] } : {}),
    ...(random() < 0.4 ? { itemFields: ['Id', 'ChargeAmount', 'ChargeDate', 'Quantity', 'UpdatedDate', 'Invoice.Id'] } : {}),
    jobTimeout: 60,
  });
  const pipelines = [pipeline('chaos', format), ...(two ? [pipeline('chaos2', pick(random, FORMATS))] : [])];
  const readings: ZuoraReadings = {
    fullHonoursIncrementalTime: random() < 0.5,
    incrementalTimeBoundary: random() < 0.5 ? 'inclusive' : 'exclusive',
    deleteMovesUpdatedDate: random() < 0.6,
    idempotencyKey: random() < 0.8 ? 'honoured' : 'ignored',
  };
  const round = (index: 0 | 1): RoundPlan => {
    const configChange = index === 1 && random() < 0.35;
    const faults = Array.from({ length: Math.floor(random() * 3) }, () => drawFault(random, format));
    const possible = phasesFor(index, configChange);
    const kill = random() < 0.8 ? { target: pick(random, KILL_TARGETS), phase: pick(random, possible) } : undefined;
    const recoveryKill = kill && random() < 0.2 ? { target: pick(random, KILL_TARGETS), phase: pick(random, phasesFor(index, false)) } : undefined;
    return {
      mutations: index === 0 ? 0 : 1 + Math.floor(random() * 6),
      concurrentMutations: Math.floor(random() * 3),
      configChange,
      poison: index === 1 && random() < 0.25,
      faults,
      kill,
      recoveryKill,
      concurrent: random() < 0.15 ? 'backfill' : random() < 0.1 ? 'second-sync' : undefined,
    };
  };
  const rounds: [RoundPlan, RoundPlan] = [round(0), round(1)];
  if (overrides.poison) rounds[1].poison = true;
  if (overrides.kill) {
    const phase = overrides.kill.phase;
    const at = overrides.killRound ?? (phase === 'merging' || phase === 'snapshot' ? 1 : random() < 0.5 ? 0 : 1);
    if (phase === 'snapshot') rounds[1].configChange = true;
    rounds[at].kill = overrides.kill;
  }
  return {
    seed,
    rows: 120 + Math.floor(random() * 200),
    segmentSize: pick(random, [40, 80, 500_000]),
    dataCenter: random() < 0.7 ? 'us' : 'eu',
    startTimeFormat: random() < 0.7 ? 'pacific' : 'iso',
    readings,
    pipelines,
    rounds,
  };
}

/** A one-line description of the plan for the summary and failure messages. */
export function describePlan(plan: TrialPlan): string {
  const p = plan.pipelines.map((x) => `${x.format}/${x.deletes}/lb${x.lookback}/off${x.offset}${x.accountFields || x.itemFields ? '/joined' : ''}`).join('+');
  const r = plan.readings;
  const readings = `${r.fullHonoursIncrementalTime ? 'full-honours-it' : 'full-ignores-it'},${r.incrementalTimeBoundary},${r.deleteMovesUpdatedDate ? 'del-moves-ud' : 'del-keeps-ud'},idem-${r.idempotencyKey}`;
  const rounds = plan.rounds
    .map((x, i) => `r${i + 1}[${[x.kill ? `kill ${x.kill.target}@${x.kill.phase}` : 'no kill', x.recoveryKill ? `+recovery kill ${x.recoveryKill.target}@${x.recoveryKill.phase}` : '', x.configChange ? 'query change' : '', x.poison ? 'poison' : '', x.concurrent ?? '', ...x.faults.map((f) => f.label)].filter(Boolean).join(' ')}]`)
    .join(' ');
  return `${p} ${plan.dataCenter} ${plan.startTimeFormat} ${readings} ${rounds}`;
}
