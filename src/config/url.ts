// Which Zuora base URLs credentials may be sent to: https anywhere, plain http only to this machine (the emulator,
// test servers). Shared by the configuration check (early, with file:line) and the Zuora client (last line).

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine, so plain http exposes nothing. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Why a base URL may not carry credentials, or undefined when it may. */
export function baseUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an https URL, not ${url.protocol}`;
  if (url.hostname === '') return 'has no host';
  if (url.username || url.password) return 'must not carry a user or password (use clientId and clientSecret)';
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return 'must use https: plain http would send the OAuth client secret and tokens unencrypted (http is allowed only for 127.0.0.1/localhost)';
  }
  return undefined;
}
