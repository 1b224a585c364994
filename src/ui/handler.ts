// HTTP routes of the status page: the page at /, its assets under /assets/ (a fixed list, read from the package
// at start-up: no path from a request ever reaches the file system), and the JSON API under /api/.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { AquasyncError, errorMessage } from '../errors.ts';
import { redact, type Logger } from '../log.ts';
import type { StatusApi } from './api.ts';

/**
 * Everything comes from this server; no inline script or style, no other origin. Even a value that slipped into
 * the page as markup could then run nothing (the page itself builds every value with textContent).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

const require = createRequire(import.meta.url);

/** URL path → file. uPlot is served from its npm package (a production dependency, MIT licence in the package). */
function assetFiles(): Record<string, { file: string; type: string }> {
  const own = (name: string): string => fileURLToPath(new URL(`./assets/${name}`, import.meta.url));
  return {
    '/': { file: own('index.html'), type: 'text/html; charset=utf-8' },
    '/assets/app.js': { file: own('app.js'), type: 'text/javascript; charset=utf-8' },
    '/assets/app.css': { file: own('app.css'), type: 'text/css; charset=utf-8' },
    '/assets/favicon.svg': { file: own('favicon.svg'), type: 'image/svg+xml' },
    '/assets/uplot.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
    '/assets/uplot.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
    '/assets/uplot-LICENSE.txt': { file: require.resolve('uplot/LICENSE'), type: 'text/plain; charset=utf-8' },
  };
}

function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [path, { file, type }] of Object.entries(assetFiles())) {
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (error) {
      throw new AquasyncError('CONFIG_INVALID', `the status page asset ${file} cannot be read: ${errorMessage(error)}`, {
        hint: 'the aquasync installation is incomplete; reinstall it (npm ci)',
      });
    }
    assets.set(path, { type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

export interface StatusPage {
  /** Serves the request when its path belongs to the page (/, /assets/..., /api...); false otherwise. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean>;
}

export const DEFAULT_DAYS = 30;
export const MAX_DAYS = 90;
export const DEFAULT_EVENTS = 50;
export const MAX_EVENTS = 500;

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function intParam(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new BadRequest(400, `${name} must be a whole number from 1 to ${max}`);
  return Number(raw);
}

const API_INDEX = {
  endpoints: {
    '/api/pipelines': 'per pipeline: freshness state (ok, late, failing, waiting) and why, watermark, lag, due and next firing, last run, running runs, unfinished Zuora jobs',
    '/api/runs?days=30': 'runs started in the last `days` days (1-90), oldest first, at most 5000',
    '/api/tables': 'per table: rows, deleted rows, quarantined rows, last verification, owed snapshot',
    '/api/events?limit=50': 'recent events (expired files, abandoned jobs, owed snapshots...), newest first',
  },
  parameters: { pipeline: 'every endpoint takes ?pipeline=NAME to answer for one pipeline' },
};

export function createStatusPage(options: { api: StatusApi; logger: Logger }): StatusPage {
  const { api, logger } = options;
  const assets = loadAssets();

  const send = (res: http.ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, ...headers });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const json = (res: http.ServerResponse, status: number, value: unknown): void =>
    send(res, status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, `${JSON.stringify(value)}\n`);

  async function answer(url: URL): Promise<unknown> {
    const names = api.select(url.searchParams.get('pipeline') ?? undefined);
    if (!names) throw new BadRequest(404, `no pipeline named ${JSON.stringify(url.searchParams.get('pipeline'))} in the configuration`);
    switch (url.pathname) {
      case '/api':
      case '/api/':
        return API_INDEX;
      case '/api/pipelines':
        return api.pipelines(names);
      case '/api/runs':
        return api.runs(names, intParam(url, 'days', DEFAULT_DAYS, MAX_DAYS));
      case '/api/tables':
        return api.tables(names);
      case '/api/events':
        return api.events(names, intParam(url, 'limit', DEFAULT_EVENTS, MAX_EVENTS));
      default:
        throw new BadRequest(404, `no such endpoint; see /api`);
    }
  }

  return {
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://status.invalid');
      const path = url.pathname === '/index.html' ? '/' : url.pathname;
      const asset = assets.get(path);
      if (asset) {
        if (req.headers['if-none-match'] === asset.etag) {
          send(res, 304, { etag: asset.etag, 'cache-control': 'no-cache' }, '');
          return true;
        }
        send(res, 200, { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'no-cache' }, asset.body);
        return true;
      }
      if (path !== '/api' && !path.startsWith('/api/')) return false;
      try {
        json(res, 200, await answer(url));
      } catch (error) {
        if (error instanceof BadRequest) {
          json(res, error.status, { error: error.message });
        } else {
          logger.warn(`status page ${url.pathname} failed: ${errorMessage(error)}`);
          json(res, 503, { error: redact(`the warehouse could not be read: ${errorMessage(error)}`) });
        }
      }
      return true;
    },
  };
}
