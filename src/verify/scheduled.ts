// A scheduled self-verification (`verify:` in pipelines.yaml, run by `aquasync schedule` once per firing across
// replicas): verify every object; for objects with rows missing or extra, reconcile them by Id (report: record
// which Ids; apply: repair them, then verify those objects again, so the last recorded verification is the state
// after the repair and repaired rows are not reported again).
import type { PipelineConfig } from '../config/types.ts';
import { errorMessage } from '../errors.ts';
import type { ZuoraClient } from '../zuora/index.ts';
import { runReconcile, type BackfillRunner } from './reconcile.ts';
import { runVerify, type VerifyContext, type VerifyObjectResult } from './verify.ts';

export interface ScheduledVerificationOptions {
  backfill: BackfillRunner;
  tempDir: string;
  signal?: AbortSignal;
  poll?: { minIntervalMs?: number; maxIntervalMs?: number };
}

export interface ScheduledVerificationResult {
  ok: boolean;
  summary: string;
  error?: unknown;
  results: VerifyObjectResult[];
}

export async function runScheduledVerification(
  ctx: VerifyContext & { client: ZuoraClient },
  pipeline: PipelineConfig,
  options: ScheduledVerificationOptions,
): Promise<ScheduledVerificationResult> {
  const mode = pipeline.verify?.reconcile ?? 'report';
  let results = await runVerify(ctx, pipeline, { trigger: 'scheduled' });
  const differing = results.filter((r) => !r.ok && r.error === undefined).map((r) => r.object);
  let error: unknown;
  if (differing.length > 0) {
    try {
      await runReconcile(ctx, pipeline, {
        objects: differing,
        apply: mode === 'apply',
        trigger: 'scheduled',
        backfill: options.backfill,
        tempDir: options.tempDir,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.poll ? { poll: options.poll } : {}),
      });
      if (mode === 'apply') {
        const again = await runVerify(ctx, pipeline, { objects: differing, trigger: 'scheduled' });
        results = results.map((r) => again.find((a) => a.object === r.object) ?? r);
      }
    } catch (caught) {
      error = caught;
    }
  }
  const sum = (pick: (r: VerifyObjectResult) => number): number => results.reduce((n, r) => n + pick(r), 0);
  const failedChecks = results.filter((r) => r.error !== undefined);
  const ok = error === undefined && results.every((r) => r.ok);
  const summary =
    `${results.filter((r) => r.ok).length} of ${results.length} object(s) match Zuora; ` +
    `${sum((r) => r.rowsMissing)} missing, ${sum((r) => r.rowsExtra)} extra, ${sum((r) => r.rowsPending)} pending` +
    (differing.length > 0 ? `; reconcile (${mode}) of ${differing.join(', ')}` : '') +
    (failedChecks.length > 0 ? `; failed: ${failedChecks.map((r) => `${r.object}: ${r.error ?? ''}`).join('; ')}` : '') +
    (error === undefined ? '' : `; reconcile failed: ${errorMessage(error)}`);
  return { ok, summary, results, ...(error === undefined ? {} : { error }) };
}
