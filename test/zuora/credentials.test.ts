// Credentials go only to the configured Zuora host, and a download cannot hold a run by trickling. Two real HTTP
// servers on 127.0.0.1 (different ports, so different origins): "zuora" is the configured one, "elsewhere" is where
// a redirect points; the test checks what elsewhere actually received.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, ZuoraRedirectError, ZuoraTransientError } from '../../src/errors.ts';
import { ZuoraClient, type ZuoraClientOptions } from '../../src/zuora/index.ts';
import { CLIENT_ID, CLIENT_SECRET, json, send, startFakeZuora, type FakeZuora, type Route } from './fake-zuora.ts';

const servers: FakeZuora[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(routes: Record<string, Route>): Promise<FakeZuora> {
  const server = await startFakeZuora(routes);
  servers.push(server);
  return server;
}

function clientOf(zuora: FakeZuora, options: Partial<ZuoraClientOptions> = {}): ZuoraClient {
  return new ZuoraClient({
    baseUrl: zuora.url,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 50 },
    requestTimeoutMs: 2000,
    ...options,
  });
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function redirect(to: string, status = 307): Route {
  return (_req, res) => {
    res.writeHead(status, { location: to });
    res.end();
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

const DESCRIBE = '<?xml version="1.0"?><object><name>Account</name><fields></fields></object>';

describe('redirects that leave the Zuora host', () => {
  it('a 307 from /oauth/token to another host is refused: the client secret never reaches it', async () => {
    const elsewhere = await serve({ 'POST /oauth/token': (_q, res) => json(res, 200, { access_token: 'stolen', expires_in: 3600 }) });
    const zuora = await serve({ 'POST /oauth/token': redirect(`${elsewhere.url}/oauth/token`) });
    const error = await caught(clientOf(zuora).describe('Account'));
    expect(error).toBeInstanceOf(ZuoraRedirectError);
    expect((error as ZuoraRedirectError).code).toBe('ZUORA_REDIRECT_REFUSED');
    expect((error as Error).message).toContain(`refused a redirect of "get an OAuth token" from ${zuora.url} to ${elsewhere.url}`);
    expect((error as ZuoraRedirectError).retryable).toBe(false);
    expect(elsewhere.requests).toEqual([]);
    expect(zuora.calls('/oauth/token')).toHaveLength(1); // not retried either
  });

  it.each([
    ['an API call', '/v1/describe/Account', (c: ZuoraClient) => c.describe('Account')],
    ['a result-file download', '/v1/files/f1', async (c: ZuoraClient) => readAll((await c.openFile('f1')).body)],
  ])('%s redirected elsewhere is refused: the bearer token never reaches it', async (_what, path, call) => {
    const elsewhere = await serve({ [`GET ${path}`]: (_q, res) => send(res, 200, 'text/xml', DESCRIBE) });
    const zuora = await serve({ [`GET ${path}`]: redirect(`${elsewhere.url}${path}`, 302) });
    const error = await caught(call(clientOf(zuora)));
    expect(error).toBeInstanceOf(ZuoraRedirectError);
    expect(elsewhere.requests).toEqual([]);
  });

  it('a redirect within the Zuora host is followed (with the same credentials)', async () => {
    const zuora = await serve({
      'GET /v1/describe/Account': redirect('/v2/describe/Account', 308),
      'GET /v2/describe/Account': (_q, res) => send(res, 200, 'text/xml', DESCRIBE),
    });
    expect((await clientOf(zuora).describe('Account')).name).toBe('Account');
    expect(zuora.calls('/v2/describe/Account')[0]?.headers.authorization).toBe('Bearer tok-1');
  });
});

describe('https only', () => {
  it.each(['http://rest.na.zuora.com', 'http://10.0.0.5:8080', 'http://127.0.0.1.example.com', 'ftp://rest.zuora.com'])(
    'refuses %s before any request',
    (baseUrl) => {
      expect(() => new ZuoraClient({ baseUrl, clientId: 'id', clientSecret: 'secret' })).toThrow(ConfigError);
    },
  );

  it.each(['https://rest.na.zuora.com', 'http://127.0.0.1:9999', 'http://localhost:1', 'http://[::1]:80'])('accepts %s', (baseUrl) => {
    expect(() => new ZuoraClient({ baseUrl, clientId: 'id', clientSecret: 'secret' })).not.toThrow();
  });
});

describe('download pace', () => {
  it('a body that trickles (never silent for the inactivity limit) fails with a retryable error, and a new download works', async () => {
    const timers: NodeJS.Timeout[] = [];
    const zuora = await serve({
      'GET /v1/files/f1': (_q, res, n) => {
        if (n > 1) return send(res, 200, 'text/csv', 'Account.Id\na\n');
        res.writeHead(200, { 'content-type': 'text/csv', 'content-length': '100000' });
        // One byte every 50 ms: well inside the 2 s inactivity limit, far below 1000 bytes/s.
        timers.push(setInterval(() => res.write('x'), 50));
      },
    });
    const client = clientOf(zuora, { download: { minBytesPerSecond: 1000, graceMs: 300 } });
    const started = Date.now();
    try {
      const error = await caught(readAll((await client.openFile('f1')).body));
      expect(error).toBeInstanceOf(ZuoraTransientError);
      expect((error as ZuoraTransientError).retryable).toBe(true);
      expect((error as Error).message).toMatch(/download of result file f1 broke off: too slow: \d+ byte\(s\) in [\d.]+ s, below the minimum of 1000 bytes\/s/);
      expect(Date.now() - started).toBeLessThan(1900); // the pace, not the 2 s inactivity limit, ended it
      expect(await readAll((await client.openFile('f1')).body)).toBe('Account.Id\na\n');
    } finally {
      timers.forEach(clearInterval);
    }
  });

  it('a fast body is not cut off by the pace check', async () => {
    const zuora = await serve({
      'GET /v1/files/f1': (_q, res) => {
        res.writeHead(200, { 'content-type': 'text/csv' });
        let sent = 0;
        const timer = setInterval(() => {
          res.write('y'.repeat(500));
          if (++sent === 20) {
            clearInterval(timer);
            res.end();
          }
        }, 20);
      },
    });
    const client = clientOf(zuora, { download: { minBytesPerSecond: 1000, graceMs: 100 } });
    expect((await readAll((await client.openFile('f1')).body)).length).toBe(10_000);
  });
});
