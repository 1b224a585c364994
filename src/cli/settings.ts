// Every environment variable aquasync reads, in one place: what it is for, and its check. main() checks them all
// before a command runs, so a bad value is a configuration error (exit 2) up front, never a failure mid-run; the
// places that use a value read it through the same parsers.
import { choosePort, PORT_ENV } from '../db/index.ts';
import { ConfigError } from '../errors.ts';
import { databaseUrlFromEnv } from './common.ts';
import { jobBudgetFromEnv } from './job-budget.ts';

/** Tunes the scheduler's lease (seconds); heartbeats and sweeps run at a quarter of it. */
export const LEASE_ENV = 'AQUASYNC_SCHEDULER_LEASE_SECONDS';
export const DEFAULT_LEASE_SECONDS = 60;

/** A non-negative number of seconds (fractions allowed) from an option or a variable (`what` names it in the error). */
export function parseSeconds(value: unknown, what: string, fallback: number, min = 0): number {
  if (value === undefined || value === '') return fallback;
  const seconds = Number(value);
  if (typeof value !== 'string' || !/^\d+(\.\d+)?$/.test(value.trim()) || seconds < min) {
    throw new ConfigError(`${what} must be a number of seconds${min > 0 ? ` of at least ${min}` : ''}, not "${String(value)}"`, {
      hint: `e.g. ${what} ${fallback}`,
    });
  }
  return seconds;
}

export interface Setting {
  name: string;
  /** What it sets, one line in the top-level --help. */
  meaning: string;
  /** Throws a ConfigError when the value (set and not empty) is unusable. */
  check(env: NodeJS.ProcessEnv): void;
}

export const SETTINGS: readonly Setting[] = [
  { name: 'DATABASE_URL', meaning: 'the warehouse (postgres:// URL); the embedded Postgres when unset', check: (env) => void databaseUrlFromEnv(env) },
  {
    name: 'AQUASYNC_HOME',
    meaning: 'where the embedded Postgres, the built-in emulator state and temp files live (default ./.aquasync)',
    check: (env) => {
      if (env.AQUASYNC_HOME !== undefined && env.AQUASYNC_HOME.trim() === '') throw new ConfigError('AQUASYNC_HOME is set but empty', { hint: 'unset it for ./.aquasync, or give a folder' });
    },
  },
  {
    name: PORT_ENV,
    meaning: 'the embedded Postgres port (default: the port it last used, else 54329)',
    check: (env) => {
      const choice = choosePort({ env: env[PORT_ENV] });
      if ('error' in choice) throw new ConfigError(choice.error, { hint: `e.g. export ${PORT_ENV}=54330` });
    },
  },
  { name: 'AQUASYNC_JOB_BUDGET', meaning: 'AQuA jobs in flight per Zuora tenant across every aquasync process (1-100, default 8)', check: (env) => void jobBudgetFromEnv(env) },
  { name: LEASE_ENV, meaning: "seconds a scheduler replica's claim on a firing lasts without a heartbeat (default 60)", check: (env) => void parseSeconds(env[LEASE_ENV], LEASE_ENV, DEFAULT_LEASE_SECONDS, 1) },
];

/** Checks every setting that is set; the first problem is a ConfigError naming the variable. */
export function checkSettings(env: NodeJS.ProcessEnv = process.env): void {
  for (const setting of SETTINGS) setting.check(env);
}

/** The settings for --help, one line each. */
export function describeSettings(): string {
  return SETTINGS.map((s) => `  ${s.name}: ${s.meaning}`).join('\n');
}
