// Network failures described by their cause (refused, DNS, TLS, timeout, reset) with a hint, and the client's
// reaction: retry what may pass (refused, timeout, reset), stop at once on what will not (DNS name, certificate).
// The self-signed certificate in fixtures/ is a test-only key pair for 127.0.0.1 (CN=localhost).
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/index.ts';
import { ZuoraTransientError, ZuoraUnreachableError } from '../../src/errors.ts';
import { describeNetworkError, ZuoraClient } from '../../src/zuora/index.ts';

const coded = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const fetchFailed = (cause: unknown): TypeError => new TypeError('fetch failed', { cause });

describe('describeNetworkError', () => {
  const url = 'https://rest.na.zuora.com/v1/batch-query/';
  it.each([
    ['refused', fetchFailed(coded('ECONNREFUSED', 'connect ECONNREFUSED 1.2.3.4:443')), 'refused', true, 'connection refused by rest.na.zuora.com:443', /ZUORA_BASE_URL/],
    ['refused on every address (AggregateError)', fetchFailed(Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), { code: 'ECONNREFUSED' })), 'refused', true, 'connection refused by rest.na.zuora.com:443', /firewall/],
    ['unknown host', fetchFailed(coded('ENOTFOUND', 'getaddrinfo ENOTFOUND rest.na.zuora.com')), 'dns', false, 'the host name rest.na.zuora.com does not exist (DNS)', /typo/],
    ['DNS timeout', fetchFailed(coded('EAI_AGAIN')), 'dns', true, 'the name rest.na.zuora.com could not be resolved right now (DNS)', /temporary/],
    ['self-signed certificate', fetchFailed(coded('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate')), 'tls', false, 'the TLS connection to rest.na.zuora.com:443 failed (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate)', /NODE_EXTRA_CA_CERTS/],
    ['expired certificate', fetchFailed(coded('CERT_HAS_EXPIRED', 'certificate has expired')), 'tls', false, 'the TLS connection to rest.na.zuora.com:443 failed (CERT_HAS_EXPIRED: certificate has expired)', /never turn verification off/],
    ['plain HTTP spoken to', fetchFailed(coded('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number')), 'tls', false, 'the TLS connection to rest.na.zuora.com:443 failed (ERR_SSL_WRONG_VERSION_NUMBER: wrong version number)', /http vs https/],
    ['connect timeout', fetchFailed(coded('UND_ERR_CONNECT_TIMEOUT')), 'timeout', true, 'no answer from rest.na.zuora.com:443 in time', /retries/],
    ['our own deadline', Object.assign(new Error('no answer within 60000 ms'), { name: 'TimeoutError' }), 'timeout', true, 'no answer from rest.na.zuora.com:443 in time', /firewall/],
    ['reset', fetchFailed(coded('ECONNRESET')), 'reset', true, 'the connection to rest.na.zuora.com:443 broke off', /temporary/],
    ['other side closed', new TypeError('terminated', { cause: new Error('other side closed') }), 'reset', true, 'the connection to rest.na.zuora.com:443 broke off', /temporary/],
    ['no route', fetchFailed(coded('EHOSTUNREACH')), 'unreachable', true, 'rest.na.zuora.com:443 is unreachable from this machine (EHOSTUNREACH)', /network/],
    ['unknown cause, inner message kept', fetchFailed(new Error('something odd')), 'reset', true, 'the request to rest.na.zuora.com:443 failed (something odd)', /temporary/],
  ] as const)('%s', (_name, error, kind, retryable, text, hint) => {
    const info = describeNetworkError(error, url);
    expect(info).toMatchObject({ kind, retryable, text });
    expect(info?.hint).toMatch(hint);
  });

  it('is undefined for errors that are not network failures (bugs surface as themselves)', () => {
    expect(describeNetworkError(new TypeError('x is not a function'), url)).toBeUndefined();
    expect(describeNetworkError(new RangeError('bad'), url)).toBeUndefined();
  });
});

describe('the client on real sockets', () => {
  it('retries a refused connection, then names it and says what to check', async () => {
    const port = await freePort();
    const client = new ZuoraClient({ baseUrl: `http://127.0.0.1:${port}`, clientId: 'id', clientSecret: 'secret-value', retry: { attempts: 2, baseDelayMs: 1 } });
    const error = await client.describe('Account').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ZuoraTransientError);
    expect((error as Error).message).toBe(`could not get an OAuth token: connection refused by 127.0.0.1:${port} after 2 attempt(s)`);
    expect((error as ZuoraTransientError).hint).toMatch(/nothing accepts connections there/);
  });

  it('stops at once on a certificate it cannot trust, instead of retrying', async () => {
    const fixtures = join(import.meta.dirname, 'fixtures');
    let handshakes = 0;
    const server = createHttpsServer(
      { key: readFileSync(join(fixtures, 'self-signed-key.pem')), cert: readFileSync(join(fixtures, 'self-signed-cert.pem')) },
      (_req, res) => res.end('{}'),
    );
    server.on('connection', () => (handshakes += 1)); // TCP accepts: one per attempt
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const client = new ZuoraClient({ baseUrl: `https://127.0.0.1:${port}`, clientId: 'id', clientSecret: 'secret-value', retry: { attempts: 4, baseDelayMs: 1 } });
      const error = await client.describe('Account').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ZuoraUnreachableError);
      expect((error as Error).message).toMatch(new RegExp(`^could not get an OAuth token: the TLS connection to 127\\.0\\.0\\.1:${port} failed \\(DEPTH_ZERO_SELF_SIGNED_CERT`));
      expect((error as ZuoraUnreachableError).hint).toMatch(/NODE_EXTRA_CA_CERTS/);
      expect((error as ZuoraUnreachableError).retryable).toBe(false);
      expect(handshakes).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
