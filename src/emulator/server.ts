// The emulator's HTTP front: path variants, OAuth and Bearer auth, Zuora headers, the request log, idempotency
// replay, request-level faults, and streaming of result files (with reset/slow faults applied to the body).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';
import { describeIndexXml, describeXml } from './data.ts';
import type { Tenant } from './model.ts';
import type { Clock, ResolvedOptions } from './context.ts';
import { damageFile, type FaultRegistry } from './faults.ts';
import type { AquaService } from './jobs.ts';
import type { FileBody, Reply } from './jobs/types.ts';
import type { DataQueryService } from './data-query.ts';
import type { FaultRoute, RequestLogEntry } from './types.ts';
import { handleAdmin } from './admin.ts';
import type { AdminBackend } from './admin.ts';

const IDEMPOTENCY_TTL_MS = 86_400_000;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const CONCURRENCY_LIMIT = 40;
const RATE_LIMIT_PER_MINUTE = 50_000;

interface StoredReply {
  method: string;
  path: string;
  status: number;
  body: string;
  at: number;
}

interface RouteMatch {
  route: FaultRoute | 'admin' | 'results';
  handle: () => Promise<void> | void;
}

/** Request-scoped facts the handlers need. */
interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  url: URL;
  body: unknown;
  rawBody: Buffer;
}

export interface ServerDeps {
  options: ResolvedOptions;
  tenant: Tenant;
  clock: Clock;
  faults: FaultRegistry;
  aqua: AquaService;
  dataQuery: DataQueryService;
  admin: AdminBackend;
}

export class EmulatorServer {
  private readonly tokens = new Map<string, number>();
  private readonly idempotency = new Map<string, StoredReply>();
  private readonly log: RequestLogEntry[] = [];
  private inFlight = 0;
  private rateWindow = { minute: 0, count: 0 };

  constructor(private readonly deps: ServerDeps) {}

  requests(): RequestLogEntry[] {
    return this.log.map((e) => ({ ...e }));
  }

  clearRequests(): void {
    this.log.length = 0;
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  /** node:http request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    this.handle(req, res).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) this.json(req, res, 500, { reasons: [{ code: 'SystemError', message: `internal server error: ${message}` }] });
      else res.destroy(err instanceof Error ? err : undefined);
    });
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Not `new URL(req.url, base)`: a target starting with `//` would be read as a host ("//apps//api/..." -> host apps).
    const target = req.url ?? '/';
    const url = target.startsWith('/') ? new URL(`http://emulator${target}`) : new URL(target, 'http://emulator');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = normalisePath(url.pathname);
    this.commonHeaders(req, res);
    const rawBody = await readBody(req);
    const body = parseBody(req.headers['content-type'], rawBody);
    const call: Call = { req, res, method, path, url, body, rawBody };
    const match = this.route(call);
    if (match?.route !== 'admin') this.record(call);
    if (match === undefined) {
      this.json(req, res, 404, { reasons: [{ code: 'NotFound', message: `No route for ${method} ${url.pathname}` }] });
      return;
    }
    if (match.route === 'admin') {
      await match.handle();
      return;
    }
    const route = match.route === 'results' ? 'file' : match.route;
    const status = this.deps.faults.take('status', route);
    if (status !== undefined) {
      if (status.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(status.retryAfterSeconds));
      if (status.status === 429) res.setHeader('RateLimit-Remaining', '0');
      this.json(req, res, status.status, {
        reasons: [{ code: status.status === 429 ? 'TooManyRequests' : 'SystemError', message: `injected HTTP ${status.status}` }],
      });
      return;
    }
    if (this.deps.faults.take('expire-tokens', route) !== undefined) this.expireTokens();
    const delay = this.deps.faults.take('delay', route);
    if (delay !== undefined) holdResponse(res, delay.ms);
    if (route !== 'token' && match.route !== 'results' && !this.authorized(req)) {
      this.json(req, res, 401, { success: false, reasons: [{ code: 90000011, message: 'Authentication error' }] });
      return;
    }
    await match.handle();
  }

  private route(c: Call): RouteMatch | undefined {
    const { method, path } = c;
    const { aqua, dataQuery } = this.deps;
    const reply = (r: Reply): (() => void) => () => this.json(c.req, c.res, r.status, r.body);
    let m: RegExpExecArray | null;
    if (path === '/__admin' || path.startsWith('/__admin/')) {
      return { route: 'admin', handle: () => handleAdmin(this.deps.admin, c.method, path, c.body, c.req, c.res) };
    }
    if (path === '/oauth/token' && method === 'POST') return { route: 'token', handle: () => this.token(c) };
    const aq = '(?:/v1|/apps/api|/apps/v1)';
    if (new RegExp(`^${aq}/batch-query$`).test(path) && method === 'POST') {
      return { route: 'submit', handle: () => this.idempotent(c, () => aqua.submit(c.body)) };
    }
    if ((m = new RegExp(`^${aq}/batch-query/jobs/partner/([^/]+)/project/([^/]+)$`).exec(path)) && method === 'GET') {
      const [partner, project] = [decodeURIComponent(m[1] ?? ''), decodeURIComponent(m[2] ?? '')];
      return { route: 'job', handle: () => reply(aqua.lastCompleted(partner, project))() };
    }
    if ((m = new RegExp(`^${aq}/batch-query/jobs/([^/]+)$`).exec(path))) {
      const id = decodeURIComponent(m[1] ?? '');
      if (method === 'GET') return { route: 'job', handle: () => reply(this.miscount(aqua.get(id)))() };
      if (method === 'DELETE') return { route: 'job', handle: () => reply(aqua.cancel(id))() };
    }
    if ((m = /^\/v1\/files\/([^/]+)\/status$/.exec(path)) && method === 'GET') {
      const id = decodeURIComponent(m[1] ?? '');
      return {
        route: 'file',
        handle: () =>
          aqua.fileStatus(id) === 'ok'
            ? this.json(c.req, c.res, 200, { success: true, accessible: true, status: 'RESTORED' })
            : this.json(c.req, c.res, 404, { success: false, reasons: [{ code: 'NotFound', message: `File ${id} not found` }] }),
      };
    }
    if ((m = new RegExp(`^${aq}(?:/batch-query)?/files?/([^/]+)$`).exec(path)) && method === 'GET') {
      const id = decodeURIComponent(m[1] ?? '');
      return { route: 'file', handle: () => this.sendFile(c, aqua.openFile(id), id) };
    }
    if ((m = /^(?:\/v1|\/apps\/api|\/\d+(?:\.\d+)?)\/describe(?:\/([^/]+))?$/.exec(path)) && method === 'GET') {
      const name = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
      return { route: 'describe', handle: () => this.describe(c, name) };
    }
    if (path === '/query/jobs') {
      if (method === 'POST') {
        return { route: 'query', handle: () => this.idempotent(c, () => dataQuery.submit(c.req.headers['content-type'], c.body)) };
      }
      if (method === 'GET') {
        return { route: 'query', handle: reply(dataQuery.list(c.url.searchParams.get('queryStatus'), c.url.searchParams.get('pageSize'))) };
      }
    }
    if ((m = /^\/query\/jobs\/([^/]+)$/.exec(path))) {
      const id = decodeURIComponent(m[1] ?? '');
      if (method === 'GET') return { route: 'query', handle: () => reply(dataQuery.get(id))() };
      if (method === 'DELETE') return { route: 'query', handle: () => reply(dataQuery.cancel(id))() };
    }
    if ((m = /^\/query-results\/([0-9a-f]{32})\/([^/]+)$/.exec(path)) && method === 'GET') {
      const [token, name] = [m[1] ?? '', decodeURIComponent(m[2] ?? '')];
      return { route: 'results', handle: () => this.sendFile(c, dataQuery.openFile(token, name), name) };
    }
    return undefined;
  }

  // ---- auth ----

  private token(c: Call): void {
    const form = c.body as Record<string, unknown> | undefined;
    const isForm = (c.req.headers['content-type'] ?? '').toLowerCase().includes('application/x-www-form-urlencoded');
    if (!isForm || typeof form !== 'object' || form === null) {
      this.json(c.req, c.res, 400, { error: 'invalid_request', error_description: 'Expected a form-encoded body' });
      return;
    }
    if (form.grant_type !== 'client_credentials') {
      this.json(c.req, c.res, 400, { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
      return;
    }
    const { clientId, clientSecret, tokenTtlSeconds } = this.deps.options;
    if (form.client_id !== clientId || form.client_secret !== clientSecret) {
      this.json(c.req, c.res, 401, { error: 'invalid_client', error_description: 'Bad client credentials' });
      return;
    }
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, this.deps.clock.now() + tokenTtlSeconds * 1000);
    this.json(c.req, c.res, 200, {
      access_token: token,
      expires_in: tokenTtlSeconds,
      jti: randomBytes(16).toString('hex'),
      scope: `user.${randomBytes(16).toString('hex')} entity.${randomUUID()} service.echo.read tenant.19`,
      token_type: 'bearer',
    });
  }

  private authorized(req: IncomingMessage): boolean {
    const { clientId, clientSecret } = this.deps.options;
    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth);
    if (bearer !== null) {
      const expiresAt = this.tokens.get(bearer[1] ?? '');
      return expiresAt !== undefined && expiresAt > this.deps.clock.now();
    }
    // Zuora's legacy authentication (Basic, or apiAccessKeyId headers), still used by tap-zuora against /apps/api.
    const basic = /^Basic\s+(\S+)$/i.exec(auth);
    if (basic !== null) return Buffer.from(basic[1] ?? '', 'base64').toString('utf8') === `${clientId}:${clientSecret}`;
    return req.headers.apiaccesskeyid === clientId && req.headers.apisecretaccesskey === clientSecret;
  }

  // ---- handlers ----

  private idempotent(c: Call, run: () => Reply): void {
    const key = c.req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '' || this.deps.options.readings.idempotencyKey === 'ignored') {
      const r = run();
      this.json(c.req, c.res, r.status, r.body);
      return;
    }
    const now = this.deps.clock.now();
    const stored = this.idempotency.get(key);
    if (stored !== undefined && now - stored.at < IDEMPOTENCY_TTL_MS) {
      if (stored.method !== c.method || stored.path !== c.path) {
        this.json(c.req, c.res, 422, { success: false, reasons: [{ code: 50000090, message: 'Idempotency-Key was used with a different request' }] });
        return;
      }
      this.sendJsonText(c.req, c.res, stored.status, stored.body);
      return;
    }
    const r = run();
    const text = JSON.stringify(r.body);
    this.idempotency.set(key, { method: c.method, path: c.path, status: r.status, body: text, at: now });
    this.sendJsonText(c.req, c.res, r.status, text);
  }

  private describe(c: Call, name: string | undefined): void {
    const { tenant } = this.deps;
    const origin = `http://${c.req.headers.host ?? '127.0.0.1'}`;
    if (name === undefined) {
      this.xml(c, 200, describeIndexXml(tenant.objects, origin));
      return;
    }
    const def = tenant.object(name);
    if (def === undefined) {
      this.json(c.req, c.res, 404, { success: false, reasons: [{ code: 50000040, message: `Object ${name} does not exist` }] });
      return;
    }
    this.xml(c, 200, describeXml(def, tenant.objects, origin));
  }

  private async sendFile(c: Call, file: FileBody | undefined, id: string): Promise<void> {
    const { res, req } = c;
    const notFound = (): void =>
      this.json(req, res, 404, { success: false, reasons: [{ code: 'NotFound', message: `File ${id} not found or expired` }] });
    if (file === undefined) return notFound();
    if (this.deps.faults.take('expired-file') !== undefined) {
      file.stream.destroy();
      return notFound();
    }
    if (this.deps.faults.take('too-large') !== undefined) {
      file.stream.destroy();
      res.writeHead(403, { 'Content-Type': 'application/xml;charset=UTF-8' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Your file exceeds the maximum size allowed</Message>' +
          '<security:max-object-size>2047MB</security:max-object-size></Error>\n',
      );
      return;
    }
    const damage = this.deps.faults.take('corrupt-file') ?? this.deps.faults.take('wrong-header');
    if (damage !== undefined) {
      const chunks: Buffer[] = [];
      for await (const chunk of file.stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
      const damaged = await damageFile(damage, Buffer.concat(chunks), file.filename);
      res.writeHead(200, {
        'Content-Type': file.contentType,
        'Content-Disposition': `attachment; filename="${file.filename}"`,
        'Content-Length': String(damaged.length),
      });
      res.end(damaged);
      return;
    }
    const reset = this.deps.faults.take('reset');
    const slow = this.deps.faults.take('slow');
    res.writeHead(200, {
      'Content-Type': file.contentType,
      'Content-Disposition': `attachment; filename="${file.filename}"`,
    });
    await pumpBody(file.stream, res, reset?.afterBytes, slow?.bytesPerSecond);
  }

  /** Applies a `wrong-record-count` fault to a completed job's status (the files stay as they are). */
  private miscount(r: Reply): Reply {
    const body = r.body as { status?: unknown; batches?: { recordCount: number }[] } | undefined;
    const first = body?.batches?.[0];
    if (r.status !== 200 || body?.status !== 'completed' || first === undefined) return r;
    const fault = this.deps.faults.take('wrong-record-count');
    if (fault === undefined) return r;
    const batches = body.batches?.map((b, i) => (i === 0 ? { ...b, recordCount: b.recordCount + fault.delta } : b));
    return { ...r, body: { ...body, batches } };
  }

  // ---- response helpers ----

  private commonHeaders(req: IncomingMessage, res: ServerResponse): void {
    const track = req.headers['zuora-track-id'];
    if (typeof track === 'string') res.setHeader('Zuora-Track-Id', track);
    res.setHeader('Zuora-Request-Id', randomUUID());
    const now = Date.now();
    const minute = Math.floor(now / 60_000);
    if (this.rateWindow.minute !== minute) this.rateWindow = { minute, count: 0 };
    this.rateWindow.count++;
    res.setHeader('RateLimit-Limit', `${RATE_LIMIT_PER_MINUTE}, ${RATE_LIMIT_PER_MINUTE};w=60`);
    res.setHeader('RateLimit-Remaining', String(Math.max(0, RATE_LIMIT_PER_MINUTE - this.rateWindow.count)));
    res.setHeader('RateLimit-Reset', String(60 - Math.floor((now % 60_000) / 1000)));
    res.setHeader('Concurrency-Limit-Type', 'Default');
    res.setHeader('Concurrency-Limit-Limit', String(CONCURRENCY_LIMIT));
    res.setHeader('Concurrency-Limit-Remaining', String(Math.max(0, CONCURRENCY_LIMIT - this.inFlight)));
  }

  private json(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
    this.sendJsonText(req, res, status, JSON.stringify(body));
  }

  private sendJsonText(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
    sendText(req, res, status, 'application/json;charset=UTF-8', text);
  }

  private xml(c: Call, status: number, text: string): void {
    sendText(c.req, c.res, status, 'text/xml;charset=UTF-8', text);
  }

  private record(c: Call): void {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(c.req.headers)) {
      if (value === undefined) continue;
      const text = Array.isArray(value) ? value.join(', ') : value;
      headers[name] = redactHeader(name, text);
    }
    this.log.push({ at: this.deps.clock.now(), method: c.method, path: c.url.pathname + c.url.search, headers, body: redactBody(c.body) });
  }
}

/**
 * Zuora's front end treats `//` like `/` anywhere in the path and ignores a trailing slash, and real clients rely
 * on it (zuora-aqua-client-cli polls `/v1/batch-query//jobs/{id}`), so routing sees the collapsed form.
 */
export function normalisePath(pathname: string): string {
  const collapsed = pathname.replace(/\/{2,}/g, '/');
  return collapsed.length > 1 ? collapsed.replace(/\/$/, '') : collapsed;
}

function sendText(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, text: string): void {
  let payload: Buffer = Buffer.from(text, 'utf8');
  const headers: Record<string, string> = { 'Content-Type': contentType };
  // Zuora gzips JSON/XML bodies over 1000 bytes when the client accepts it.
  if (payload.length > 1000 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    payload = gzipSync(payload);
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = String(payload.length);
  res.writeHead(status, headers);
  res.end(payload);
}

function redactHeader(name: string, value: string): string {
  const lower = name.toLowerCase();
  if (lower === 'authorization') {
    const scheme = /^(\S+)\s/.exec(value)?.[1] ?? 'Bearer';
    return `${scheme} ***`;
  }
  if (lower === 'apisecretaccesskey' || lower === 'cookie') return '***';
  return value;
}

function redactBody(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const k of Object.keys(out)) {
    if (/secret|password|token/i.test(k) && k !== 'grant_type') out[k] = '***';
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** JSON or form body; undefined when empty; the raw text when it does not parse (handlers reject it). */
function parseBody(contentType: string | undefined, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: keep the text so the handler answers "malformed" the way Zuora does.
    return text;
  }
}

/** Resolves on 'drain' or 'close', removing both listeners (one pair per wait, never accumulating). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Streams a file body with backpressure; `resetAfter` cuts the connection, `bytesPerSecond` throttles. */
async function pumpBody(source: Readable, res: ServerResponse, resetAfter: number | undefined, bytesPerSecond: number | undefined): Promise<void> {
  let sent = 0;
  let closed = false;
  res.once('close', () => {
    closed = true;
    source.destroy();
  });
  try {
    for await (const raw of source) {
      if (closed) return;
      let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as string);
      if (resetAfter !== undefined && sent + chunk.length >= resetAfter) {
        chunk = chunk.subarray(0, Math.max(0, resetAfter - sent));
        await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
        res.socket?.destroy();
        source.destroy();
        return;
      }
      if (bytesPerSecond !== undefined) {
        const step = Math.max(1, Math.floor(bytesPerSecond / 10));
        for (let i = 0; i < chunk.length && !closed; i += step) {
          const piece = chunk.subarray(i, i + step);
          if (!res.write(piece)) await drained(res);
          await new Promise((r) => setTimeout(r, (piece.length / bytesPerSecond) * 1000));
        }
      } else if (!res.write(chunk)) {
        await drained(res);
      }
      sent += chunk.length;
    }
    if (resetAfter !== undefined) {
      // The whole body was shorter than afterBytes: still cut before the terminating chunk.
      res.socket?.destroy();
      return;
    }
    res.end();
  } catch (err) {
    res.destroy(err instanceof Error ? err : undefined);
  }
}

/** Lets the handler act on the request now but delays the end of its response (see the `delay` fault). */
function holdResponse(res: ServerResponse, ms: number): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    setTimeout(() => end(...args), ms);
    return res;
  }) as ServerResponse['end'];
}
