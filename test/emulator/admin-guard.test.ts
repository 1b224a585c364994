// The admin API changes the emulator's data, so a web page in the developer's browser must not reach it: only
// JSON bodies for changes, only loopback Host (and Origin, when sent), never a CORS header.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.ts';
import { rawRequest, requestBytes, type RawResponse } from './raw-http.ts';
import { start } from './server-helpers.ts';

let emu: Emulator;
let port: number;

beforeAll(async () => {
  emu = await start();
  port = Number(new URL(emu.url).port);
});
afterAll(() => emu.close());

const products = (): number => emu.admin.rows('Product').length;

function admin(method: string, path: string, headers: [string, string][], body = ''): Promise<RawResponse> {
  const withLength: [string, string][] = body === '' ? headers : [...headers, ['Content-Length', String(Buffer.byteLength(body))]];
  return rawRequest(port, requestBytes(`${method} /__admin/${path} HTTP/1.1`, [...withLength, ['Connection', 'close']], body));
}

const noCors = (res: RawResponse): void => {
  expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
};

describe('admin API against cross-site requests', () => {
  it('refuses a cross-site style text/plain POST (what a form or a no-preflight fetch can send)', async () => {
    const before = products();
    const res = await admin(
      'POST',
      'rows/Product',
      [
        ['Host', `127.0.0.1:${port}`],
        ['Origin', 'https://attacker.example'],
        ['Content-Type', 'text/plain;charset=UTF-8'],
      ],
      '{"values":{"Name":"planted"}}',
    );
    expect(res.status).toBe(403);
    noCors(res);
    // The same without an Origin (some browsers omit it): the content type alone refuses it.
    const bare = await admin('POST', 'rows/Product', [['Host', `127.0.0.1:${port}`], ['Content-Type', 'text/plain']], '{"values":{"Name":"planted"}}');
    expect(bare.status).toBe(415);
    expect(JSON.parse(bare.body.toString()).error).toMatch(/application\/json/);
    const form = await admin('POST', 'clock', [['Host', `127.0.0.1:${port}`], ['Content-Type', 'application/x-www-form-urlencoded']], 'advance=86400000');
    expect(form.status).toBe(415);
    expect(products()).toBe(before);
  });

  it('refuses a foreign Host header even with a JSON body (DNS rebinding)', async () => {
    const before = products();
    const clock = emu.admin.clock.now();
    for (const host of [`attacker.example:${port}`, 'attacker.example', `192.168.1.20:${port}`, `127.0.0.1.attacker.example:${port}`]) {
      const res = await admin('POST', 'rows/Product', [['Host', host], ['Content-Type', 'application/json']], '{"values":{"Name":"planted"}}');
      expect(res.status, host).toBe(403);
      noCors(res);
      expect((await admin('GET', 'requests', [['Host', host]])).status, host).toBe(403);
    }
    expect((await admin('POST', 'clock', [['Host', 'evil.example'], ['Content-Type', 'application/json']], '{"advance":86400000}')).status).toBe(403);
    expect(products()).toBe(before);
    expect(emu.admin.clock.now() - clock).toBeLessThan(60_000);
  });

  it('answers a CORS preflight without allowing anything, and bodiless POSTs need JSON too', async () => {
    const preflight = await admin('OPTIONS', 'rows/Product', [
      ['Host', `127.0.0.1:${port}`],
      ['Origin', `http://127.0.0.1:${port}`],
      ['Access-Control-Request-Method', 'POST'],
    ]);
    expect(preflight.status).toBe(405);
    noCors(preflight);
    const token = await (
      await fetch(`${emu.url}/oauth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: emu.clientId, client_secret: emu.clientSecret, grant_type: 'client_credentials' }),
      })
    ).json();
    const expire = await admin('POST', 'expire-tokens', [['Host', `localhost:${port}`]]);
    expect(expire.status).toBe(415);
    const still = await fetch(`${emu.url}/v1/batch-query/jobs/x`, { headers: { Authorization: `Bearer ${(token as { access_token: string }).access_token}` } });
    expect(still.status).toBe(200);
  });

  it('serves loopback JSON requests (127.0.0.1, localhost, [::1], a loopback Origin) with no CORS headers', async () => {
    const before = products();
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const res = await admin('POST', 'rows/Product', [['Host', host], ['Content-Type', 'application/json; charset=utf-8']], '{"values":{"Name":"ok"}}');
      expect(res.status, host).toBe(200);
      noCors(res);
    }
    const withOrigin = await admin(
      'GET',
      'clock',
      [
        ['Host', `127.0.0.1:${port}`],
        ['Origin', `http://localhost:${port}`],
      ],
    );
    expect(withOrigin.status).toBe(200);
    noCors(withOrigin);
    expect(products()).toBe(before + 3);
  });
});
