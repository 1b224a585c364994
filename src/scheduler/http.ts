// GET /healthz and GET /metrics of a scheduler replica (`aquasync schedule --port N`).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { probeWarehouse } from '../db/index.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.ts';
import type { Scheduler } from './scheduler.ts';

export interface StatusServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface StatusServerOptions {
  port: number;
  /** Default: 127.0.0.1 (this machine only); `schedule --host 0.0.0.0` opens it, e.g. in a container. */
  host?: string;
  scheduler: Scheduler;
  pool: pg.Pool;
  logger: Logger;
  /** The status page (src/ui, passed in by the CLI): serves /, /assets/... and /api/... when given. */
  page?: { handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> };
}

/**
 * /healthz answers 200 while the replica schedules and reaches the warehouse, 503 while it shuts down or cannot
 * reach the warehouse (so an orchestrator stops routing to it or restarts it). /metrics is Prometheus text.
 */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const { scheduler, pool, logger } = options;
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'text/plain', 'method not allowed\n');
        return;
      }
      if (path === '/healthz') {
        const database = await probeWarehouse(pool, logger);
        const status = scheduler.isStopping ? 'stopping' : database === 'ok' ? 'ok' : 'unhealthy';
        const body = JSON.stringify({ status, replica: scheduler.replicaId, running: scheduler.running, database });
        send(res, status === 'ok' ? 200 : 503, 'application/json', `${body}\n`);
        return;
      }
      if (path === '/metrics') {
        try {
          const metrics = await scheduler.metrics();
          send(res, 200, METRICS_CONTENT_TYPE, renderMetrics(metrics, { up: true, stopping: scheduler.isStopping }));
        } catch (error) {
          logger.warn(`/metrics failed: ${errorMessage(error)}`);
          send(res, 503, 'text/plain', 'metrics unavailable (the reason is in the log)\n');
        }
        return;
      }
      if (options.page && (await options.page.handle(req, res))) return;
      send(res, 404, 'text/plain', 'not found: try /healthz or /metrics\n');
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
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
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
