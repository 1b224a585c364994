// Pure pieces of the client's retry and token policy, kept apart so they can be tested with tables of cases.

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** HTTP statuses worth retrying: rate limiting and gateway/server faults. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/**
 * Delay before retry number `attempt` (1 = the first retry). Retry-After wins when the server sent one; otherwise
 * exponential backoff with full jitter (AWS style), so many clients hitting the same limit spread out.
 */
export function backoffDelayMs(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Returns milliseconds from `nowMs`. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * How long a fresh token may be used before we fetch another: 300 s before it expires (Zuora's own guidance), or at
 * 90% of its lifetime when the lifetime is too short for a 300 s margin.
 */
export function tokenRefreshDelayMs(expiresInSeconds: number): number {
  const lifetime = Math.max(0, expiresInSeconds);
  return Math.floor((lifetime - Math.min(300, lifetime * 0.1)) * 1000);
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** A short description when `error` (or its cause chain) is a network fault worth retrying, else undefined. */
export function networkFault(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (/socket hang up|other side closed|terminated|fetch failed/i.test(current.message)) {
      const cause: unknown = current.cause;
      const inner = cause instanceof Error ? networkFault(cause) : undefined;
      return inner ?? current.message;
    }
    current = current.cause;
  }
  return undefined;
}
