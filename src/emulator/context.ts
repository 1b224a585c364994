// What every part of the HTTP side shares: resolved options, the emulator clock, ids.
import { randomBytes } from 'node:crypto';
import type { EmulatorClock, EmulatorOptions, EmulatorTiming, ZuoraReadings } from './types.ts';

export interface ResolvedOptions {
  port: number;
  seed: number;
  rows: number;
  clientId: string;
  clientSecret: string;
  dataCenter: 'us' | 'eu';
  /** Zone incrementalTime and `pacific` startTimes are read in: Pacific for us, UTC for eu. */
  dataCenterZone: string;
  tenantZone: string;
  partners: string[];
  segmentation: boolean;
  segmentSize: number;
  timing: EmulatorTiming;
  fileRetentionMs: number;
  renderFilesAhead: boolean;
  concurrencyLimit: number;
  concurrencyLimitStatus: 200 | 429;
  tokenTtlSeconds: number;
  spaceLiteralTrap: boolean;
  startTimeFormat: 'pacific' | 'iso';
  clockStart: number | undefined;
  statePath: string | undefined;
  readings: ZuoraReadings;
}

/** Partners accepted when none are configured: aquasync's own, and the one Zuora's documentation examples use. */
export const DEFAULT_PARTNERS: readonly string[] = ['aquasync', 'salesforce'];

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomText(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

/** Zuora-style object id: 32 lowercase hex characters. */
export function hexId(): string {
  return randomBytes(16).toString('hex');
}

export function generateClientId(): string {
  // 36 characters like Zuora's client ids (a hyphenated UUID shape).
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function generateClientSecret(): string {
  return randomText(40);
}

export function resolveOptions(options: EmulatorOptions): ResolvedOptions {
  const positive = (name: string, value: number | undefined, fallback: number, min = 1): number => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v < min) throw new Error(`emulator option ${name} must be a number >= ${min}, got ${String(value)}`);
    return v;
  };
  const dataCenter = options.dataCenter ?? 'us';
  if (dataCenter !== 'us' && dataCenter !== 'eu') {
    throw new Error(`emulator option dataCenter must be 'us' or 'eu', got ${JSON.stringify(dataCenter)}`);
  }
  return {
    port: positive('port', options.port, 0, 0),
    seed: options.seed ?? 1,
    rows: positive('rows', options.rows, 1000, 0),
    clientId: options.clientId ?? generateClientId(),
    clientSecret: options.clientSecret ?? generateClientSecret(),
    dataCenter,
    dataCenterZone: dataCenter === 'us' ? 'America/Los_Angeles' : 'UTC',
    tenantZone: options.tenantZone ?? 'America/Los_Angeles',
    partners: options.partners ?? [...DEFAULT_PARTNERS],
    segmentation: options.segmentation ?? true,
    segmentSize: positive('segmentSize', options.segmentSize, 500_000),
    timing: {
      queuedMs: positive('timing.queuedMs', options.timing?.queuedMs, 300, 0),
      executingMs: positive('timing.executingMs', options.timing?.executingMs, 700, 0),
    },
    renderFilesAhead: options.renderFilesAhead ?? false,
    fileRetentionMs: positive('fileRetentionMs', options.fileRetentionMs, 3 * 86_400_000),
    concurrencyLimit: positive('concurrencyLimit', options.concurrencyLimit, 50),
    concurrencyLimitStatus: options.concurrencyLimitStatus ?? 200,
    tokenTtlSeconds: positive('tokenTtlSeconds', options.tokenTtlSeconds, 3599),
    spaceLiteralTrap: options.spaceLiteralTrap ?? true,
    startTimeFormat: options.startTimeFormat ?? 'pacific',
    clockStart: options.clockStart,
    statePath: options.statePath,
    readings: {
      fullHonoursIncrementalTime: options.readings?.fullHonoursIncrementalTime ?? false,
      incrementalTimeBoundary: options.readings?.incrementalTimeBoundary ?? 'inclusive',
      deleteMovesUpdatedDate: options.readings?.deleteMovesUpdatedDate ?? true,
      idempotencyKey: options.readings?.idempotencyKey ?? 'honoured',
    },
  };
}

/** Emulator clock: real time shifted by a delta that set/advance move. */
export class Clock implements EmulatorClock {
  constructor(
    public delta: number,
    private readonly onChange: () => void,
  ) {}

  now(): number {
    return Date.now() + this.delta;
  }

  set(ms: number): void {
    if (!Number.isFinite(ms)) throw new Error(`clock.set: expected epoch ms, got ${String(ms)}`);
    this.delta = ms - Date.now();
    this.onChange();
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new Error(`clock.advance: expected ms, got ${String(ms)}`);
    this.delta += ms;
    this.onChange();
  }
}
