// The status page's JSON API and HTTP behaviour over a real warehouse and real HTTP: states, numbers, filters,
// validation, security headers, fixed assets, no secrets, cached row counts, and the same page on `schedule`'s port.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freePort } from '../../src/db/index.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { Scheduler, startStatusServer } from '../../src/scheduler/index.ts';
import { COUNT_TTL_MS, StatusApi } from '../../src/ui/api.ts';
import { CONTENT_SECURITY_POLICY, createStatusPage, startUiServer, type UiServer } from '../../src/ui/index.ts';
import type { EventsResponse, PipelinesResponse, RunsResponse, TablesResponse } from '../../src/ui/types.ts';
import { openTestWarehouse } from '../helpers/db.ts';
import { CLIENT_SECRET, fixturePipelines, HOSTILE_ERROR, SECRET, seedWorld } from './fixtures.ts';

type TestWarehouse = Awaited<ReturnType<typeof openTestWarehouse>>;

describe('status page API', () => {
  let world: TestWarehouse;
  let server: UiServer;
  const { pipelines, schema } = fixturePipelines();
  const get = async <T>(path: string): Promise<{ status: number; body: T; headers: Headers }> => {
    const response = await fetch(new URL(path, server.url));
    return { status: response.status, body: (await response.json()) as T, headers: response.headers };
  };

  beforeAll(async () => {
    world = await openTestWarehouse('ui_api');
    await seedWorld(world.warehouse.pool);
    const api = new StatusApi({ pool: world.warehouse.pool, schema, pipelines });
    server = await startUiServer({ port: 0, page: createStatusPage({ api, logger: silentLogger }), pool: world.warehouse.pool, logger: silentLogger });
  });
  afterAll(async () => {
    await server?.close();
    await world?.close();
  });

  it('listens on loopback by default', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('/api/pipelines: one state per pipeline, with the last run, running runs and the in-flight job', async () => {
    const { status, body } = await get<PipelinesResponse>('/api/pipelines');
    expect(status).toBe(200);
    const byName = new Map(body.pipelines.map((p) => [p.name, p]));
    expect(body.pipelines.map((p) => p.name)).toEqual(['billing', 'usage', 'payments', 'catalog', 'ledger']);
    expect(Object.fromEntries(body.pipelines.map((p) => [p.name, p.state]))).toEqual({
      billing: 'ok',
      usage: 'late',
      payments: 'failing',
      catalog: 'ok',
      ledger: 'waiting',
    });
    const usage = byName.get('usage');
    expect(usage?.lagSeconds).toBeGreaterThan(3 * 86_400);
    expect(usage?.reason).toMatch(/has not loaded its data yet/);
    expect(Date.parse(usage?.expectedWatermark ?? '')).toBeGreaterThan(Date.parse(usage?.watermark ?? ''));
    expect(Date.parse(usage?.nextFiring ?? '')).toBeGreaterThan(Date.now());

    const payments = byName.get('payments');
    expect(payments?.lastRun?.status).toBe('failed');
    expect(payments?.lastRun?.error).toBe(`ZUORA_JOB_FAILED: ${HOSTILE_ERROR}`);
    expect(payments?.lastRun?.durationSeconds).toBe(75);

    const billing = byName.get('billing');
    expect(billing?.lastRun?.status).toBe('succeeded');
    expect(billing?.lastRun?.rowsRead).toBeGreaterThan(billing?.lastRun?.rowsWritten ?? Infinity);
    expect(billing?.running).toEqual([]);

    const catalog = byName.get('catalog');
    expect(catalog?.lastRun?.kind).toBe('scheduled'); // the later backfill does not count as the last sync
    expect(catalog?.running.map((r) => [r.status, r.zuoraJobId])).toEqual([['running', '2c92c0fb-catalog-live']]);
    expect(catalog?.jobs).toEqual([
      expect.objectContaining({ zuoraJobId: '2c92c0fb-catalog-live', phase: 'submitted', zuoraStatus: 'executing', files: 8, filesStaged: 3 }),
    ]);
    expect(byName.get('ledger')).toMatchObject({ watermark: null, lagSeconds: null, lastRun: null, running: [], jobs: [] });
  });

  it('/api/runs: the last 30 days by default, oldest first; days narrows it', async () => {
    const { body } = await get<RunsResponse>('/api/runs');
    const count = (pipeline: string, status?: string): number => body.runs.filter((r) => r.pipeline === pipeline && (!status || r.status === status)).length;
    expect(body.truncated).toBe(false);
    expect(count('billing')).toBe(120);
    expect(count('billing', 'failed')).toBe(2);
    expect(count('billing', 'abandoned')).toBe(1);
    expect(count('catalog', 'running')).toBe(1);
    expect(count('usage')).toBe(27); // the run of 30 days ago is just outside
    const starts = body.runs.map((r) => Date.parse(r.startedAt));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));

    const day = await get<RunsResponse>('/api/runs?days=1&pipeline=billing');
    expect(day.body.runs.map((r) => r.pipeline)).toEqual(['billing', 'billing', 'billing', 'billing']);
  });

  it('/api/tables: rows, deleted, open quarantined rows, the latest verification and owed snapshots', async () => {
    const { body } = await get<TablesResponse>('/api/tables');
    const byTable = new Map(body.tables.map((t) => [t.table, t]));
    expect(byTable.get('zuora.account')).toMatchObject({ pipeline: 'billing', exists: true, rows: 13_000, deleted: 160, quarantined: 3 });
    expect(byTable.get('zuora.account')?.verification).toMatchObject({ ok: true, rowsMissing: 0 });
    expect(byTable.get('zuora.invoice')?.verification).toMatchObject({ ok: false, rowsMissing: 50, zuoraRows: 48_260 });
    expect(byTable.get('zuora.usage')?.snapshotOwed?.reason).toMatch(/complete snapshot is owed/);
    expect(byTable.get('zuora.journal_entry')).toMatchObject({ exists: false, rows: 0, verification: null });
  });

  it('/api/events: newest first, limited', async () => {
    const { body } = await get<EventsResponse>('/api/events?limit=2');
    expect(body.events.map((e) => e.kind)).toEqual(['job-abandoned', 'file-expired']);
    expect(body.events[0]?.zuoraJobId).toBe('2c92c0fb-catalog-live');
  });

  it('answers 400 for bad parameters, 404 for an unknown pipeline or endpoint, 405 for writes', async () => {
    for (const path of ['/api/runs?days=0', '/api/runs?days=91', '/api/runs?days=1e3', '/api/events?limit=-1']) {
      const { status, body } = await get<{ error: string }>(path);
      expect([path, status]).toEqual([path, 400]);
      expect(body.error).toMatch(/must be a whole number/);
    }
    expect((await get<{ error: string }>('/api/pipelines?pipeline=nope')).status).toBe(404);
    expect((await get<{ error: string }>('/api/nothing')).status).toBe(404);
    expect((await fetch(new URL('/api/pipelines', server.url), { method: 'POST' })).status).toBe(405);
    expect((await get<{ endpoints: object }>('/api')).body.endpoints).toHaveProperty('/api/pipelines');
  });

  it('never shows a secret: not the client secret, not a password quoted in a message, not the source URL', async () => {
    const bodies = await Promise.all(
      ['/api/pipelines', '/api/runs', '/api/tables', '/api/events?limit=500', '/'].map(async (path) => (await fetch(new URL(path, server.url))).text()),
    );
    const all = bodies.join('\n');
    expect(all).toContain('postgres://sync:***@db.internal'); // the event is there, its password is not
    for (const secret of [SECRET, CLIENT_SECRET, 'ui-test-client', 'rest.na.zuora.com', world.database.url]) expect(all).not.toContain(secret);
  });

  it('serves the page and a fixed set of assets with a strict CSP; nothing else from disk', async () => {
    const page = await fetch(server.url);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//); // no CDN: every asset comes from this server
    expect(html).not.toMatch(/<script>|<style>| on[a-z]+=/); // nothing inline for the CSP to allow

    const uplot = await fetch(new URL('/assets/uplot.js', server.url));
    const expected = readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
    expect(Buffer.from(await uplot.arrayBuffer()).equals(expected)).toBe(true);
    const etag = uplot.headers.get('etag') ?? '';
    const again = await fetch(new URL('/assets/uplot.js', server.url), { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);

    for (const path of ['/assets/../package.json', '/assets/%2e%2e/package.json', '/assets/', '/assets/app.ts', '/package.json', '/src/ui/api.ts']) {
      expect([path, (await fetch(new URL(path, server.url))).status]).toEqual([path, 404]);
    }
    expect((await fetch(new URL('/healthz', server.url))).status).toBe(200);
  });

  it('counts table rows at most once a minute, however often the page asks', async () => {
    let now = Date.now();
    const api = new StatusApi({ pool: world.warehouse.pool, schema, pipelines, clock: () => now });
    const rows = async (): Promise<number | undefined> => (await api.tables(['catalog'])).tables[0]?.rows;
    expect(await rows()).toBe(423);
    await world.warehouse.pool.query(`INSERT INTO zuora.product (id, updated_date) VALUES ('new-1', now())`);
    now += COUNT_TTL_MS - 1;
    expect(await rows()).toBe(423);
    now += 1;
    expect(await rows()).toBe(424);
    await world.warehouse.pool.query(`DELETE FROM zuora.product WHERE id = 'new-1'`);
  });

  it('is served on the port of `aquasync schedule --port` beside /healthz and /metrics', async () => {
    const pool = world.warehouse.pool;
    const scheduler = new Scheduler({
      pool,
      db: world.warehouse.db,
      pipelines,
      logger: silentLogger,
      run: () => Promise.reject(new Error('not started in this test')),
    });
    const api = new StatusApi({ pool, schema, pipelines });
    const status = await startStatusServer({ port: 0, host: '127.0.0.1', scheduler, pool, logger: silentLogger, page: createStatusPage({ api, logger: silentLogger }) });
    try {
      const [page, pipelinesBody, metrics] = await Promise.all([
        fetch(`${status.url}/`),
        fetch(`${status.url}/api/pipelines`).then((r) => r.json() as Promise<PipelinesResponse>),
        fetch(`${status.url}/metrics`).then((r) => r.text()),
      ]);
      expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(pipelinesBody.pipelines.find((p) => p.name === 'usage')?.state).toBe('late');
      expect(metrics).toMatch(/^aquasync_watermark_lag_seconds\{pipeline="usage"\} \d+/m);
      expect((await fetch(`${status.url}/nothing`)).status).toBe(404);
    } finally {
      await status.close();
    }
  });

  it('`schedule --port` listens on loopback unless --host says otherwise', async () => {
    const scheduler = new Scheduler({ pool: world.warehouse.pool, db: world.warehouse.db, pipelines, logger: silentLogger, run: () => Promise.reject(new Error('unused')) });
    const status = await startStatusServer({ port: 0, scheduler, pool: world.warehouse.pool, logger: silentLogger });
    try {
      expect(status.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await status.close();
    }
  });

  it('/healthz on both servers says the warehouse is unreachable without the database error text; the log has it', async () => {
    // A pool to a closed port, with a user and password that must not surface: the driver's message names the
    // address (ECONNREFUSED 127.0.0.1:port); a server's would name users, databases or hosts.
    const closed = await freePort();
    const broken = new pg.Pool({ connectionString: `postgres://healthz_user:healthz-pw@127.0.0.1:${closed}/healthz_db`, connectionTimeoutMillis: 2000 });
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    const scheduler = new Scheduler({ pool: broken, db: world.warehouse.db, pipelines, logger: silentLogger, run: () => Promise.reject(new Error('unused')) });
    const api = new StatusApi({ pool: broken, schema, pipelines });
    const servers = [
      await startStatusServer({ port: 0, scheduler, pool: broken, logger }),
      await startUiServer({ port: 0, page: createStatusPage({ api, logger }), pool: broken, logger }),
    ];
    try {
      for (const s of servers) {
        const health = await fetch(new URL('/healthz', s.url));
        expect(health.status).toBe(503);
        const text = await health.text();
        expect(JSON.parse(text)).toMatchObject({ status: 'unhealthy', database: 'unreachable' });
        for (const leak of ['ECONNREFUSED', String(closed), 'healthz_user', 'healthz-pw', 'healthz_db']) expect(text).not.toContain(leak);
      }
      expect(lines.join('\n')).toMatch(/health check: the warehouse does not answer: .*ECONNREFUSED/);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      await broken.end();
    }
  });
});
