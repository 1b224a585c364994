// Submitting and awaiting AQuA jobs. Submitting happens within the tenant's job budget: wait for a permit (held in Postgres, shared by every process),
// then submit, backing off and retrying when Zuora still answers 90028 (its concurrency limit is shared with
// other integrations of the tenant, which our budget cannot see).
import { randomUUID } from 'node:crypto';
import type { PipelineConfig } from '../config/types.ts';
import { InterruptedError, ZuoraRejectedError } from '../errors.ts';
import type { Logger } from '../log.ts';
import * as state from '../state/index.ts';
import type { AquaJob, AquaJobRequest, ZuoraClient } from '../zuora/index.ts';
import type { Warehouse } from '../db/index.ts';

/** Default bound on concurrent AQuA jobs per tenant (Zuora's own limit is tenant-specific; 8 leaves headroom). */
export const DEFAULT_JOB_BUDGET = 8;
const CONCURRENCY_LIMIT_CODE = '90028';
/** How long a submit keeps backing off on 90028 when the caller does not say (the pipeline's jobTimeout does). */
const DEFAULT_LIMIT_WAIT_MS = 15 * 60_000;

export interface PollBounds {
  minIntervalMs?: number;
  maxIntervalMs?: number;
}

/** The budget's key: one per Zuora tenant, i.e. per REST base URL. */
export function tenantKey(pipeline: PipelineConfig): string {
  const entity = pipeline.source.entityId ? `|${pipeline.source.entityId}` : '';
  return `${pipeline.source.baseUrl.trim().replace(/\/+$/, '').toLowerCase()}${entity}`;
}

/** Waits (with growing pauses, abortable) until a permit of the tenant's job budget is free, and takes it. */
export async function acquireJobPermit(
  warehouse: Warehouse,
  tenant: string,
  budget: number,
  options: { signal?: AbortSignal | undefined; poll?: PollBounds | undefined; logger: Logger },
): Promise<state.JobPermit> {
  let wait = options.poll?.minIntervalMs ?? 2000;
  const max = Math.max(wait, options.poll?.maxIntervalMs ?? 30_000);
  let told = false;
  while (true) {
    const permit = await state.tryAcquireJobPermit(warehouse.pool, tenant, budget);
    if (permit) return permit;
    if (!told) {
      options.logger.info(`all ${budget} AQuA job(s) the tenant's budget allows are in flight; waiting for one to finish`);
      told = true;
    }
    await sleep(wait, options.signal);
    wait = Math.min(wait * 2, max);
  }
}

/**
 * Submits the recorded job row and records Zuora's job id on it (or marks it failed when Zuora refuses the request).
 * On 90028 it gives the row a fresh Idempotency-Key (the old one is bound to the rejection) and tries again after a
 * pause, for up to maxWaitMs; other errors propagate.
 */
export async function submitRecordedJob(
  client: ZuoraClient,
  warehouse: Warehouse,
  job: { id: number; idempotencyKey: string; request: AquaJobRequest; keyPrefix: string },
  options: { signal?: AbortSignal | undefined; poll?: PollBounds | undefined; logger: Logger; maxWaitMs?: number | undefined },
): Promise<AquaJob> {
  let key = job.idempotencyKey;
  let wait = Math.max(options.poll?.minIntervalMs ?? 2000, 1);
  const max = Math.max(wait, options.poll?.maxIntervalMs ?? 60_000);
  // Queue behind Zuora's limit (other integrations share it) for as long as a job may take, then give up clearly.
  const deadline = Date.now() + (options.maxWaitMs ?? DEFAULT_LIMIT_WAIT_MS);
  for (let attempt = 1; ; attempt++) {
    try {
      const submitted = await client.submitJob(job.request, key);
      await state.markJobSubmitted(warehouse.db, job.id, submitted.id);
      return submitted;
    } catch (error) {
      const limited = error instanceof ZuoraRejectedError && error.zuoraCode === CONCURRENCY_LIMIT_CODE;
      if (!limited || Date.now() + wait > deadline) {
        // Zuora refused the request itself: no job exists, and resuming the row would only replay the refusal.
        if (error instanceof ZuoraRejectedError && !error.retryable) {
          await state.markJobStatus(warehouse.db, job.id, 'failed', error.message);
        }
        throw error;
      }
      options.logger.warn(`Zuora's concurrent job limit is reached (90028); submitting again in ${(wait / 1000).toFixed(1)} s`, {
        attempt,
      });
      await sleep(wait, options.signal);
      wait = Math.min(wait * 2, max);
      key = `${job.keyPrefix}-${randomUUID()}`;
      await state.renewIdempotencyKey(warehouse.db, job.id, key);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new InterruptedError('interrupted while waiting'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new InterruptedError('interrupted while waiting'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
