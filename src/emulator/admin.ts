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
  _req: IncomingMessage,
  res: ServerResponse,
): void {
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
    const res = await fetch(`${baseUrl.replace(/\/$/, '')}/__admin/${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
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
