// The admin surface over HTTP (/__admin/...), for tests that run the emulator in another process, and a small
// client for it. Same operations as the in-process EmulatorAdmin handle.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredRow, Value } from './model.ts';
import type { EmulatorAdmin, Fault, JobSummary, RequestLogEntry } from './types.ts';

export type AdminBackend = EmulatorAdmin;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? { ok: true });
  res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function values(body: unknown): Record<string, Value> {
  const v = (body as { values?: unknown } | undefined)?.values;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON body {"values": {...}}');
  return v as Record<string, Value>;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function loopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return LOOPBACK_HOSTS.has(h) || /^127(?:\.\d{1,3}){3}$/.test(h) || h.endsWith('.localhost');
}

/** Host without its port; undefined when the header is missing or not host[:port]. */
function hostOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+)(?::\d+)?$/.exec(header.trim());
  return m?.[1];
}

/**
 * Why a request may not use the admin API, or undefined when it may. The admin API changes the emulator's data,
 * so a web page open in the developer's browser must not reach it: a cross-site "simple" request (form or
 * `text/plain` fetch) is refused by the content type rule, a DNS-rebinding page by the Host rule, and no CORS
 * header is ever sent, so browsers block the preflight of anything else.
 */
export function adminRefusal(method: string, req: IncomingMessage): { status: number; error: string } | undefined {
  const host = hostOf(req.headers.host);
  if (host === undefined || !loopbackHost(host)) {
    return { status: 403, error: `the admin API answers only requests addressed to a loopback host, not Host: ${JSON.stringify(req.headers.host ?? '')}` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).hostname;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || !loopbackHost(originHost)) {
      return { status: 403, error: `the admin API refuses cross-origin requests (Origin: ${JSON.stringify(origin)})` };
    }
  }
  if (method === 'OPTIONS') return { status: 405, error: 'the admin API does not allow cross-origin requests (no CORS)' };
  if (method !== 'GET' && method !== 'HEAD') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      return { status: 415, error: `admin changes need Content-Type: application/json, got ${JSON.stringify(req.headers['content-type'] ?? '')}` };
    }
  }
  return undefined;
}

/**
 * Routes: GET|POST /__admin/clock ({set} or {advance}), GET|POST /__admin/rows/{object}, PATCH|DELETE
 * /__admin/rows/{object}/{id}, POST|DELETE /__admin/faults, GET|DELETE /__admin/requests, GET /__admin/jobs,
 * POST /__admin/expire-files, POST /__admin/expire-tokens.
 */
export function handleAdmin(
  admin: AdminBackend,
  method: string,
  path: string,
  body: unknown,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const refused = adminRefusal(method, req);
  if (refused !== undefined) return send(res, refused.status, { error: refused.error });
  try {
    const parts = path.split('/').slice(2).map(decodeURIComponent);
    const [what, object, id] = parts;
    const route = `${method} ${what ?? ''}${object === undefined ? '' : '/:object'}${id === undefined ? '' : '/:id'}`;
    switch (route) {
      case 'GET clock':
        return send(res, 200, { now: admin.clock.now() });
      case 'POST clock': {
        const b = (body ?? {}) as { set?: unknown; advance?: unknown };
        if (typeof b.set === 'number') admin.clock.set(b.set);
        else if (typeof b.advance === 'number') admin.clock.advance(b.advance);
        else throw new Error('expected {"set": epochMs} or {"advance": ms}');
        return send(res, 200, { now: admin.clock.now() });
      }
      case 'GET rows/:object':
        return send(res, 200, admin.rows(object ?? ''));
      case 'POST rows/:object':
        return send(res, 200, { id: admin.insert(object ?? '', values(body)) });
      case 'PATCH rows/:object/:id':
        admin.update(object ?? '', id ?? '', values(body));
        return send(res, 200, { ok: true });
      case 'DELETE rows/:object/:id':
        admin.remove(object ?? '', id ?? '');
        return send(res, 200, { ok: true });
      case 'POST faults':
        return send(res, 200, { id: admin.faults.add(body as Fault) });
      case 'DELETE faults':
        admin.faults.clear();
        return send(res, 200, { ok: true });
      case 'GET requests':
        return send(res, 200, admin.requests());
      case 'DELETE requests':
        admin.clearRequests();
        return send(res, 200, { ok: true });
      case 'GET jobs':
        return send(res, 200, admin.jobs());
      case 'POST expire-files':
        admin.expireFiles();
        return send(res, 200, { ok: true });
      case 'POST expire-tokens':
        admin.expireTokens();
        return send(res, 200, { ok: true });
      default:
        return send(res, 404, { error: `unknown admin route ${method} ${path}` });
    }
  } catch (err) {
    send(res, 400, { error: err instanceof Error ? err.message : String(err) });
  }
}

/** The admin handle of an emulator running elsewhere, over /__admin (every call is async). */
export interface RemoteEmulatorAdmin {
  clock: { now(): Promise<number>; set(ms: number): Promise<void>; advance(ms: number): Promise<void> };
  insert(object: string, values: Record<string, Value>): Promise<string>;
  update(object: string, id: string, values: Record<string, Value>): Promise<void>;
  remove(object: string, id: string): Promise<void>;
  rows(object: string): Promise<StoredRow[]>;
  faults: { add(fault: Fault): Promise<string>; clear(): Promise<void> };
  requests(): Promise<RequestLogEntry[]>;
  clearRequests(): Promise<void>;
  jobs(): Promise<JobSummary[]>;
  expireFiles(): Promise<void>;
  expireTokens(): Promise<void>;
}

export function connectAdmin(baseUrl: string): RemoteEmulatorAdmin {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    // Every change is sent as JSON (an empty object when it has no body): the admin API refuses other types.
    const change = method !== 'GET';
    const res = await fetch(`${baseUrl.replace(/\/$/, '')}/__admin/${path}`, {
      method,
      headers: change ? { 'Content-Type': 'application/json' } : {},
      ...(change ? { body: JSON.stringify(body ?? {}) } : {}),
    });
    const json = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`emulator admin ${method} ${path} failed (HTTP ${res.status}): ${json.error ?? ''}`);
    return json;
  };
  const enc = encodeURIComponent;
  return {
    clock: {
      now: async () => (await call<{ now: number }>('GET', 'clock')).now,
      set: async (ms) => void (await call('POST', 'clock', { set: ms })),
      advance: async (ms) => void (await call('POST', 'clock', { advance: ms })),
    },
    insert: async (object, v) => (await call<{ id: string }>('POST', `rows/${enc(object)}`, { values: v })).id,
    update: async (object, id, v) => void (await call('PATCH', `rows/${enc(object)}/${enc(id)}`, { values: v })),
    remove: async (object, id) => void (await call('DELETE', `rows/${enc(object)}/${enc(id)}`)),
    rows: (object) => call<StoredRow[]>('GET', `rows/${enc(object)}`),
    faults: {
      add: async (fault) => (await call<{ id: string }>('POST', 'faults', fault)).id,
      clear: async () => void (await call('DELETE', 'faults')),
    },
    requests: () => call<RequestLogEntry[]>('GET', 'requests'),
    clearRequests: async () => void (await call('DELETE', 'requests')),
    jobs: () => call<JobSummary[]>('GET', 'jobs'),
    expireFiles: async () => void (await call('POST', 'expire-files')),
    expireTokens: async () => void (await call('POST', 'expire-tokens')),
  };
}
