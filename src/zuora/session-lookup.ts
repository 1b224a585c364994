// The read-only look at a stateful AQuA session that `aquasync check` can make without submitting a job:
// GET /v1/batch-query/jobs/partner/{partner}/project/{project}, the session's last completed job. Zuora checks a
// partner id when a job is submitted (90019); whether this lookup also rejects an unknown partner is not
// documented, so every answer is kept apart here and check.ts says what each one proves.
import type { ZuoraClient } from './client.ts';
import { normalizeJob, readRejection } from './normalize.ts';

export type SessionLookup =
  /** The session has a completed job: Zuora accepted this partner and project. */
  | { kind: 'job'; jobId: string; startTime: string | undefined }
  /** No completed job (HTTP 404, or errorCode 90002 "Invalid Job Id"): a new session, or one Zuora forgot. */
  | { kind: 'none'; detail: string }
  /** Zuora refused the lookup with another code (90019 unknown partner, 90009 not authorized...). */
  | { kind: 'rejected'; code: string | undefined; message: string };

const NO_JOB_CODES = new Set(['90002', '90001']);

export async function lookUpSession(client: ZuoraClient, partner: string, project: string): Promise<SessionLookup> {
  const reply = await client.request({
    operation: `look up the last completed job of partner "${partner}" project "${project}"`,
    method: 'GET',
    path: `/v1/batch-query/jobs/partner/${encodeURIComponent(partner)}/project/${encodeURIComponent(project)}`,
    context: { operation: 'look up session', partner, project },
  });
  if (reply.status === 404) return { kind: 'none', detail: 'HTTP 404' };
  let body: unknown;
  try {
    body = JSON.parse(reply.text) as unknown;
  } catch {
    return { kind: 'rejected', code: undefined, message: `HTTP ${reply.status} with a body that is not JSON` };
  }
  const rejection = readRejection(body);
  if (rejection) {
    if (rejection.code !== undefined && NO_JOB_CODES.has(rejection.code)) return { kind: 'none', detail: `errorCode ${rejection.code}: ${rejection.message}` };
    return { kind: 'rejected', code: rejection.code, message: rejection.message };
  }
  if (reply.status < 200 || reply.status >= 300) return { kind: 'rejected', code: undefined, message: `HTTP ${reply.status}` };
  const job = normalizeJob(body, { operation: 'look up session', partner, project });
  return { kind: 'job', jobId: job.id, startTime: job.startTime };
}
