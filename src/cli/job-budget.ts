// The per-tenant AQuA job budget of this process's runs (sync and backfill), from the environment.
import { ConfigError } from '../errors.ts';
import { DEFAULT_JOB_BUDGET } from '../sync/index.ts';

/** The job budget per tenant: AQUASYNC_JOB_BUDGET, else the default. */
export function jobBudgetFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AQUASYNC_JOB_BUDGET;
  if (raw === undefined || raw.trim() === '') return DEFAULT_JOB_BUDGET;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new ConfigError(`AQUASYNC_JOB_BUDGET must be a whole number from 1 to 100, not "${raw}"`);
  }
  return n;
}
