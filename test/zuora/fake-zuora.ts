// A scriptable Zuora stand-in for client tests: a real node:http server on 127.0.0.1, port 0, that records every
// request (with the server-side arrival time) and answers through per-test route handlers.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Date.now() on the server when the request body was complete. */
  at: number;
}

/** `n` counts the requests to this route so far, starting at 1. */
export type Route = (req: RecordedRequest, res: ServerResponse, n: number) => void | Promise<void>;

export interface FakeZuora {
  url: string;
  requests: RecordedRequest[];
  /** Requests whose path starts with `prefix` (e.g. '/oauth/token'). */
  calls(prefix: string): RecordedRequest[];
  close(): Promise<void>;
}

export const CLIENT_ID = 'client-id-0123456789';
export const CLIENT_SECRET = 'very-secret-client-secret-42';

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Answers with a non-JSON body. */
export function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType });
  res.end(body);
}

/** Issues tok-1, tok-2, ... with the given lifetime. */
export function tokenRoute(expiresIn = 3599): Route {
  return (_req, res, n) => json(res, 200, { access_token: `tok-${n}`, expires_in: expiresIn, token_type: 'bearer' });
}

/**
 * Routes are matched as "METHOD /path" (exact) first, then "METHOD /prefix*". /oauth/token defaults to tokenRoute().
 * Unmatched requests get 599 so that a test fails loudly.
 */
export async function startFakeZuora(routes: Record<string, Route>): Promise<FakeZuora> {
  const all: Record<string, Route> = { 'POST /oauth/token': tokenRoute(), ...routes };
  const counts = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(recorded);
      const exact = `${recorded.method} ${recorded.path}`;
      const key =
        exact in all
          ? exact
          : Object.keys(all).find((k) => k.endsWith('*') && exact.startsWith(k.slice(0, -1)));
      const route = key ? all[key] : undefined;
      if (!key || !route) {
        json(res, 599, { error: `no route for ${exact}` });
        return;
      }
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      void Promise.resolve(route(recorded, res, n)).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    calls: (prefix) => requests.filter((r) => r.path.startsWith(prefix)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A completed job body in Zuora's shape, with strings where Zuora sometimes sends strings. */
export function jobBody(id: string, status: string, batches: Record<string, unknown>[] = []): Record<string, unknown> {
  return {
    id,
    name: 'aquasync-billing',
    status,
    version: '1.1',
    format: 'CSV',
    partner: 'p',
    project: 'q',
    batches: batches.map((b, i) => ({
      batchId: `b${i}`,
      name: 'Account',
      query: 'select Id from Account',
      batchType: 'zoqlexport',
      status,
      recordCount: 0,
      full: true,
      ...b,
    })),
  };
}
