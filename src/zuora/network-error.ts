// What went wrong when a request to Zuora never got an HTTP answer, in words a person can act on: refused, DNS,
// TLS, timeout, reset. fetch only says "fetch failed"; the reason is in its cause chain (an Error with a `code`,
// sometimes inside an AggregateError when several addresses were tried). Pure: no I/O, table-tested.

export type NetworkErrorKind = 'refused' | 'dns' | 'tls' | 'timeout' | 'reset' | 'unreachable' | 'bad-port';

export interface NetworkErrorInfo {
  kind: NetworkErrorKind;
  /** The driver's code, e.g. ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED. */
  code: string;
  /** What happened, naming the host: `connection refused by rest.zuora.com:443`. */
  text: string;
  /** What to do about it. */
  hint: string;
  /** True when trying again later may work (refused, timeouts, resets); false for DNS names and certificates. */
  retryable: boolean;
}

const TLS_CODE = /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|EPROTO$|HOSTNAME_MISMATCH$)/;

/** Every error in the cause chain (and inside AggregateErrors), outermost first. */
function chain(error: unknown): { code?: unknown; name?: unknown; message?: unknown }[] {
  const out: { code?: unknown; name?: unknown; message?: unknown }[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < 12) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null) continue;
    out.push(current as { code?: unknown });
    const { cause, errors } = current as { cause?: unknown; errors?: unknown };
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
    if (cause !== undefined) queue.push(cause);
  }
  return out;
}

function where(url: string | undefined): { host: string; hostPort: string } {
  try {
    const parsed = new URL(url ?? '');
    const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
    return { host: parsed.hostname, hostPort: `${parsed.hostname}:${port}` };
  } catch {
    return { host: 'the Zuora host', hostPort: 'the Zuora host' };
  }
}

/**
 * Classifies a fetch failure, or returns undefined when `error` is not a network failure (a bug, or an abort we
 * caused ourselves). `url` is only used to name the host in the text and hint.
 */
export function describeNetworkError(error: unknown, url?: string): NetworkErrorInfo | undefined {
  const { host, hostPort } = where(url);
  const baseUrlHint = 'check baseUrl in pipelines.yaml (ZUORA_BASE_URL), e.g. https://rest.na.zuora.com for US Cloud 1';
  for (const e of chain(error)) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    const message = typeof e.message === 'string' ? e.message : '';
    if (code === 'ECONNREFUSED') {
      return {
        kind: 'refused',
        code,
        text: `connection refused by ${hostPort}`,
        hint: `nothing accepts connections there: ${baseUrlHint}, and that no firewall blocks it`,
        retryable: true,
      };
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
      const temporary = code === 'EAI_AGAIN';
      return {
        kind: 'dns',
        code,
        text: temporary ? `the name ${host} could not be resolved right now (DNS)` : `the host name ${host} does not exist (DNS)`,
        hint: temporary ? "this machine's DNS did not answer; usually temporary" : `${baseUrlHint}; look for a typo in the host name`,
        retryable: temporary,
      };
    }
    if (code !== undefined && TLS_CODE.test(code)) {
      return {
        kind: 'tls',
        code,
        text: `the TLS connection to ${hostPort} failed (${code}: ${message})`,
        hint:
          code === 'EPROTO' || code.startsWith('ERR_SSL_')
            ? `${hostPort} does not speak TLS as expected: check http vs https in baseUrl`
            : 'the server certificate was not accepted; if a proxy re-signs TLS traffic, give its CA certificate with NODE_EXTRA_CA_CERTS=/path/ca.pem (never turn verification off)',
        retryable: false,
      };
    }
    if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || e.name === 'TimeoutError') {
      return {
        kind: 'timeout',
        code: code ?? 'TIMEOUT',
        text: `no answer from ${hostPort} in time`,
        hint: 'the network path is slow or blocked (firewall, proxy) or Zuora is slow; aquasync retries',
        retryable: true,
      };
    }
    if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH' || code === 'ENETDOWN') {
      return {
        kind: 'unreachable',
        code,
        text: `${hostPort} is unreachable from this machine (${code})`,
        hint: 'check the network connection and routes of this machine',
        retryable: true,
      };
    }
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED' || /socket hang up|other side closed/i.test(message)) {
      return {
        kind: 'reset',
        code: code ?? 'ECONNRESET',
        text: `the connection to ${hostPort} broke off`,
        hint: 'usually temporary; aquasync retries',
        retryable: true,
      };
    }
    if (message === 'bad port') {
      return {
        kind: 'bad-port',
        code: 'BAD_PORT',
        text: `the port in ${hostPort} is one fetch refuses to use`,
        hint: baseUrlHint,
        retryable: false,
      };
    }
  }
  // "fetch failed" with no code we know, or a stream that "terminated": still a network fault, described as it is.
  const all = chain(error);
  const first = all.find((e) => typeof e.message === 'string' && /fetch failed|terminated/i.test(e.message as string));
  if (first) {
    // The innermost message says the most ("fetch failed" says nothing).
    const inner = [...all].reverse().find((e) => typeof e.message === 'string' && e.message !== '' && e.message !== 'fetch failed');
    return {
      kind: 'reset',
      code: 'UNKNOWN',
      text: `the request to ${hostPort} failed (${String(inner?.message ?? first.message)})`,
      hint: 'usually temporary; aquasync retries',
      retryable: true,
    };
  }
  return undefined;
}
