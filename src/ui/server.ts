// `aquasync ui`: the status page on its own, for a machine that runs `aquasync sync` from cron instead of
// `aquasync schedule`. Loopback only unless told otherwise; GET and HEAD only.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { probeWarehouse } from '../db/index.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { StatusPage } from './handler.ts';

export const DEFAULT_UI_HOST = '127.0.0.1';

export interface UiServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startUiServer(options: { port: number; host?: string; page: StatusPage; pool: pg.Pool; logger: Logger }): Promise<UiServer> {
  const { page, pool, logger } = options;
  const host = options.host ?? DEFAULT_UI_HOST;
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'text/plain', 'method not allowed\n');
        return;
      }
      try {
        if (await page.handle(req, res)) return;
        if ((req.url ?? '/').split('?')[0] === '/healthz') {
          const database = await probeWarehouse(pool, logger);
          send(res, database === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify({ status: database === 'ok' ? 'ok' : 'unhealthy', database })}\n`);
          return;
        }
        send(res, 404, 'text/plain', 'not found: the status page is at /, its API at /api\n');
      } catch (error) {
        logger.warn(`status page request failed: ${errorMessage(error)}`);
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
        else res.destroy();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
