// Backfills against the emulator over real HTTP into real Postgres: windows and resume, deletes, the UpdatedDate
// guard beside a concurrent sync, the job budget, dry runs and the command line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/command.ts';
import type { RequestLogEntry } from '../../src/emulator/index.ts';
import { silentLogger } from '../../src/log.ts';
import { heldJobPermits } from '../../src/state/index.ts';
import { runBackfill, tenantKey, type BackfillOptions, type BackfillResult } from '../../src/sync/index.ts';
import { expectTableMatches } from '../helpers/truth.ts';
import { clientFor, pipelineFrom, startWorld, syncOnce, watermarkOf, type SyncWorld } from '../sync/helpers.ts';
import { waitFor } from '../helpers/wait.ts';

const ACCOUNT_FIELDS = ['Id', 'Name', 'Balance', 'Status', 'UpdatedDate'];
const ITEM_FIELDS = ['Id', 'ChargeAmount', 'Quantity', 'UpdatedDate'];
const CLOCK_START = Date.parse('2026-10-20T12:00:00Z');
const DAY = 86_400_000;
// The generated tenant's UpdatedDates start in late 2023.
const SINCE = new Date('2023-11-01T00:00:00Z');
const UNTIL = new Date('2026-10-25T00:00:00Z');

function yamlFor(name: string, schema: string, source?: { url: string; clientId: string; clientSecret: string }): string {
  return `
source:
  baseUrl: ${source?.url ?? 'https://placeholder'}
  clientId: ${source?.clientId ?? 'id'}
  clientSecret: ${source?.clientSecret ?? 'secret'}
warehouse:
  schema: ${schema}
pipelines:
  - name: ${name}
    schedule: "0 2 * * *"
    partner: aquasync
    project: p-${name}
    format: gzip
    lookback: 3600
    objects:
      - name: Account
        fields: [${ACCOUNT_FIELDS.join(', ')}]
      - name: InvoiceItem
        query: select ${ITEM_FIELDS.join(', ')} from InvoiceItem
`;
}

async function expectInSync(world: SyncWorld, schema: string): Promise<void> {
  await expectTableMatches(world.warehouse.pool, schema, { object: 'Account', table: 'account', fields: ACCOUNT_FIELDS }, world.emulator.admin.rows('Account'), { deletes: 'soft' });
  await expectTableMatches(world.warehouse.pool, schema, { object: 'InvoiceItem', table: 'invoice_item', fields: ITEM_FIELDS }, world.emulator.admin.rows('InvoiceItem'), { deletes: 'soft' });
}

function backfill(
  world: SyncWorld,
  target: ReturnType<typeof pipelineFrom>,
  options: Partial<BackfillOptions> & { jobBudget?: number } = {},
): Promise<BackfillResult> {
  const { jobBudget, ...rest } = options;
  return runBackfill(
    { warehouse: world.warehouse, client: clientFor(world), schema: target.schema, ...(jobBudget ? { jobBudget } : {}) },
    target.pipeline,
    {
      since: SINCE,
      until: UNTIL,
      windowMs: 300 * DAY,
      logger: silentLogger,
      tempDir: world.tempDir,
      poll: { minIntervalMs: 10, maxIntervalMs: 50 },
      ...rest,
    },
  );
}

function submits(world: SyncWorld): RequestLogEntry[] {
  return world.emulator.admin.requests().filter((r) => r.method === 'POST' && /batch-query\/?$/.test(r.path));
}

interface SubmittedBody {
  partner?: string;
  project?: string;
  queries: { query: string; deleted?: { forceExport?: boolean } }[];
}

describe('backfill against the emulator', () => {
  let world: SyncWorld;
  beforeAll(async () => {
    world = await startWorld('backfill', { segmentSize: 120, clockStart: CLOCK_START });
  });
  afterAll(async () => world?.close());

  it('splits into windows, stops at a failed window, and a re-run skips the loaded ones and loads the rest', async () => {
    const target = pipelineFrom(yamlFor('bf', 'bf'));
    const { admin } = world.emulator;
    admin.clock.advance(60_000);
    const gone = admin.rows('Account').find((r) => r.deletedAt === undefined);
    admin.remove('Account', String(gone?.values.Id));
    admin.clock.advance(60_000);

    admin.clearRequests();
    const progress: number[] = [];
    // Budget 1: windows run one after another, so the fault armed after window 1 hits window 2.
    const first = await backfill(world, target, {
      jobBudget: 1,
      onProgress: (p) => {
        progress.push(p.windowsDone);
        if (p.windowsDone === 1) admin.faults.add({ kind: 'abort-batch', message: 'java.lang.RuntimeException: window boom' });
      },
    });
    expect(first.ok).toBe(false);
    expect(String((first.error as Error).message)).toMatch(/window boom/);
    expect(first.windows.map((w) => w.status)).toEqual(['loaded', 'failed', 'failed', 'failed']);
    expect(first.windows.map((w) => w.since.toISOString())).toEqual([
      '2023-11-01T00:00:00.000Z',
      '2024-08-27T00:00:00.000Z',
      '2025-06-23T00:00:00.000Z',
      '2026-04-19T00:00:00.000Z',
    ]);
    expect(progress).toEqual([0, 1, 2]);
    expect(submits(world)).toHaveLength(2);
    expect(await watermarkOf(world, 'bf')).toBeUndefined();

    admin.clearRequests();
    const second = await backfill(world, target);
    expect(second.error).toBeUndefined();
    expect(second.ok).toBe(true);
    expect(second.windows.map((w) => w.status)).toEqual(['skipped', 'loaded', 'loaded', 'loaded']);
    expect(second.rowsWritten).toBe(second.windows.reduce((n, w) => n + w.rows, 0));
    const bodies = submits(world).map((r) => r.body as SubmittedBody);
    expect(bodies).toHaveLength(3);
    const windowStarts = bodies.map((b) => /UpdatedDate >= '([^']+)'/.exec(b.queries[0]!.query)?.[1]).sort();
    expect(windowStarts).toEqual(['2024-08-27T00:00:00Z', '2025-06-23T00:00:00Z', '2026-04-19T00:00:00Z']);
    for (const body of bodies) {
      expect(body.partner ?? null).toBeNull();
      expect(body.project ?? null).toBeNull();
      for (const q of body.queries) {
        expect(q.query).toMatch(/UpdatedDate >= '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ' and UpdatedDate < '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'/);
        expect(q.query).not.toMatch(/'\d{4}-\d\d-\d\d \d/);
        expect(q.deleted?.forceExport).toBe(true);
      }
    }

    // Everything is in, the deleted account as a soft delete, and no window was merged as a full snapshot.
    await expectInSync(world, 'bf');
    const { rows: tomb } = await world.warehouse.pool.query('select _aquasync_deleted as d from bf.account where id = $1', [gone?.values.Id]);
    expect(tomb).toEqual([{ d: true }]);
    expect(await watermarkOf(world, 'bf')).toBeUndefined();
    const { rows: runs } = await world.warehouse.pool.query(
      "select kind, status, watermark_after from aquasync.runs where pipeline = 'bf' order by id",
    );
    expect(runs).toEqual([
      { kind: 'backfill', status: 'failed', watermark_after: null },
      { kind: 'backfill', status: 'succeeded', watermark_after: null },
    ]);
    expect(await heldJobPermits(world.warehouse.pool, tenantKey(target.pipeline), 8)).toBe(0);

    // A third run has nothing left to do.
    admin.clearRequests();
    const third = await backfill(world, target);
    expect(third.windows.every((w) => w.status === 'skipped')).toBe(true);
    expect(submits(world)).toHaveLength(0);
  });

  it('a window loaded beside a concurrent sync never overwrites the newer rows the sync loaded', async () => {
    const target = pipelineFrom(yamlFor('conc', 'conc'));
    const { admin } = world.emulator;
    expect((await syncOnce(world, target)).ok).toBe(true);
    const markAfterFirstSync = await watermarkOf(world, 'conc');

    // The backfill's job takes its snapshot, then stays executing until the faults are cleared.
    admin.faults.add({ kind: 'stuck' });
    const running = backfill(world, target, { windowMs: 2000 * DAY });
    await waitFor('a backfill job executing', () => admin.jobs().some((j) => j.mode === 'stateless' && j.status === 'executing'), { intervalMs: 5 });

    admin.clock.advance(60_000);
    const accounts = admin.rows('Account').filter((r) => r.deletedAt === undefined);
    const changed = String(accounts[0]?.values.Id);
    const removed = String(accounts[1]?.values.Id);
    admin.update('Account', changed, { Name: 'newer than the backfill snapshot' });
    admin.remove('Account', removed);
    const item = admin.rows('InvoiceItem').find((r) => r.deletedAt === undefined);
    admin.update('InvoiceItem', String(item?.values.Id), { Quantity: '77' });
    admin.clock.advance(60_000);
    const sync = await syncOnce(world, target);
    expect(sync.error).toBeUndefined();
    const markAfterSync = await watermarkOf(world, 'conc');
    expect(markAfterSync!.getTime()).toBeGreaterThan(markAfterFirstSync!.getTime());

    admin.faults.clear();
    const result = await running;
    expect(result.error).toBeUndefined();
    expect(result.windows.map((w) => w.status)).toEqual(['loaded']);
    expect(result.rowsRead).toBeGreaterThan(0);

    const { rows } = await world.warehouse.pool.query('select id, name, _aquasync_deleted as d from conc.account where id in ($1, $2) order by id', [
      changed,
      removed,
    ]);
    expect(rows).toContainEqual({ id: changed, name: 'newer than the backfill snapshot', d: false });
    expect(rows).toContainEqual(expect.objectContaining({ id: removed, d: true }));
    await expectInSync(world, 'conc');
    expect(await watermarkOf(world, 'conc')).toEqual(markAfterSync);

    // The next sync still works from its own session and watermark.
    admin.clock.advance(60_000);
    const next = await syncOnce(world, target);
    expect(next.error).toBeUndefined();
    expect(next.tables.every((t) => !t.full)).toBe(true);
    await expectInSync(world, 'conc');
  });

  it('abandons a window job whose file is invalid, so the next run covers the window with a new job', async () => {
    const target = pipelineFrom(yamlFor('bad', 'bad'));
    const { admin } = world.emulator;
    admin.faults.add({ kind: 'wrong-record-count', delta: 2 });
    const first = await backfill(world, target, { windowMs: 2000 * DAY, jobBudget: 1 });
    expect(first.ok).toBe(false);
    expect(String((first.error as Error).message)).toMatch(/reported \d+ row\(s\) but the result file\(s\) of job \w+ held/);
    const jobs = await world.warehouse.pool.query("select status from aquasync.jobs where pipeline = 'bad' and kind = 'backfill' order by id");
    expect(jobs.rows.map((r) => r.status)).toEqual(['abandoned']);
    const events = await world.warehouse.pool.query("select kind from aquasync.events where pipeline = 'bad'");
    expect(events.rows.map((r) => r.kind)).toEqual(['job-abandoned']);
    const second = await backfill(world, target, { windowMs: 2000 * DAY, jobBudget: 1 });
    expect(second.error).toBeUndefined();
    expect(second.windows.map((w) => w.status)).toEqual(['loaded']);
    const after = await world.warehouse.pool.query("select status from aquasync.jobs where pipeline = 'bad' and kind = 'backfill' order by id");
    expect(after.rows.map((r) => r.status)).toEqual(['abandoned', 'applied']);
    await expectInSync(world, 'bad');
  });

  it('keeps concurrent jobs within the budget and retries Zuora\'s 90028', async () => {
    const target = pipelineFrom(yamlFor('budget', 'budget'));
    const { admin } = world.emulator;
    admin.clearRequests();
    // Zuora refuses the first submit with its concurrency limit; the window is submitted again with a fresh key.
    admin.faults.add({ kind: 'submit-error', errorCode: '90028', message: 'The total number of concurrent jobs has exceeded the limit allowed by the system.' });
    const known = new Set(admin.jobs().map((j) => j.id));
    const result = await backfill(world, target, { windowMs: 200 * DAY, jobBudget: 2 });
    expect(result.error).toBeUndefined();
    expect(result.windows.length).toBe(6);
    // A slot is held from before the submit until the client saw the job finish, so Zuora's own intervals
    // [submitted, finished) of this backfill's jobs never overlap more than the budget.
    const jobs = admin.jobs().filter((j) => !known.has(j.id) && j.mode === 'stateless');
    expect(jobs).toHaveLength(6);
    const overlap = Math.max(...jobs.map((j) => jobs.filter((k) => k.submittedAt <= j.submittedAt && j.submittedAt < (k.finishedAt ?? Infinity)).length));
    expect(overlap).toBeLessThanOrEqual(2);
    const keys = submits(world).map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(7);
    expect(new Set(keys).size).toBe(7);
    await expectInSync(world, 'budget');
  });
});

describe('backfill and sync on the command line', () => {
  let world: SyncWorld;
  let configFile: string;
  const serverUrl = process.env.DATABASE_URL;
  beforeAll(async () => {
    world = await startWorld('backfill_cli', { clockStart: CLOCK_START });
    // The commands open the warehouse named by DATABASE_URL (this file runs in its own process).
    process.env.DATABASE_URL = world.db.url;
    configFile = join(world.tempDir, 'pipelines.yaml');
    writeFileSync(
      configFile,
      yamlFor('cli', 'cli', { url: world.emulator.url, clientId: world.emulator.clientId, clientSecret: world.emulator.clientSecret }).replace(
        `query: select ${ITEM_FIELDS.join(', ')} from InvoiceItem`,
        `query: select ${ITEM_FIELDS.join(', ')} from InvoiceItem where Id != '${world.emulator.clientSecret}'`,
      ),
    );
  });
  afterAll(async () => {
    process.env.DATABASE_URL = serverUrl;
    await world?.close();
  });

  function capture(): { ctx: CommandContext; out: string[] } {
    const out: string[] = [];
    return { out, ctx: { logger: silentLogger, logFormat: 'human', print: (text) => out.push(text) } };
  }

  it('--dry-run prints every window\'s exact payload, redacted, and submits nothing', async () => {
    const { backfillCommand } = await import('../../src/cli/backfill.ts');
    world.emulator.admin.clearRequests();
    const { ctx, out } = capture();
    const code = await backfillCommand(
      { config: configFile, pipeline: 'cli', since: '2026-01-01', until: '2026-03-01T00:00:00Z', window: '30d', 'dry-run': true },
      ctx,
    );
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).not.toContain(world.emulator.clientSecret);
    const doc = JSON.parse(text) as {
      objects: string[];
      windows: { since: string; until: string; action: string; submit: { method: string; path: string; body: SubmittedBody } }[];
    };
    expect(doc.objects).toEqual(['Account', 'InvoiceItem']);
    expect(doc.windows.map((w) => [w.since, w.until, w.action])).toEqual([
      ['2026-01-01T00:00:00.000Z', '2026-01-31T00:00:00.000Z', 'submit'],
      ['2026-01-31T00:00:00.000Z', '2026-03-01T00:00:00.000Z', 'submit'],
    ]);
    const body = doc.windows[1]!.submit.body;
    expect(doc.windows[1]!.submit).toMatchObject({ method: 'POST', path: '/v1/batch-query/' });
    expect(body).not.toHaveProperty('partner');
    expect(body.queries[0]!.query).toBe(
      "select Id, Name, Balance, Status, UpdatedDate from Account where UpdatedDate >= '2026-01-31T00:00:00Z' and UpdatedDate < '2026-03-01T00:00:00Z'",
    );
    expect(body.queries[1]!.query).toContain("where (Id != '***') and (UpdatedDate >= '2026-01-31T00:00:00Z'");
    expect(world.emulator.admin.requests()).toEqual([]);
  });

  it('sync --dry-run shows the incrementalTime from the stored watermark; backfill runs and status shows it', async () => {
    const { syncCommand } = await import('../../src/cli/sync.ts');
    const { backfillCommand } = await import('../../src/cli/backfill.ts');
    const { statusCommand } = await import('../../src/cli/status.ts');
    const target = pipelineFrom(
      yamlFor('cli', 'cli').replace(`from InvoiceItem`, `from InvoiceItem where Id != '${world.emulator.clientSecret}'`),
    );
    const dry = capture();
    expect(await syncCommand({ config: configFile, 'dry-run': true }, dry.ctx)).toBe(0);
    const before = JSON.parse(dry.out.join('\n')) as { watermark: string | null; incrementalTime: string; submit: { body: SubmittedBody } }[];
    expect(before[0]?.watermark).toBeNull();
    expect(before[0]?.submit.body).toMatchObject({ partner: 'aquasync', project: 'p-cli' });

    expect((await syncOnce(world, target)).ok).toBe(true);
    const mark = await watermarkOf(world, 'cli');
    world.emulator.admin.clearRequests();
    const again = capture();
    expect(await syncCommand({ config: configFile, 'dry-run': true }, again.ctx)).toBe(0);
    const after = JSON.parse(again.out.join('\n')) as { watermark: string; incrementalTime: string; submit: { body: { incrementalTime: string } } }[];
    expect(after[0]?.watermark).toBe(mark?.toISOString());
    expect(after[0]?.submit.body.incrementalTime).toBe(after[0]?.incrementalTime);
    expect(again.out.join('\n')).not.toContain(world.emulator.clientSecret);
    expect(world.emulator.admin.requests().filter((r) => r.method === 'POST')).toEqual([]);

    const run = capture();
    const code = await backfillCommand({ config: configFile, pipeline: 'cli', since: '2026-01-01', until: '2026-10-21', window: '120d' }, run.ctx);
    expect(code).toBe(0);
    expect(run.out.join('\n')).toMatch(/3 window\(s\) loaded, 0 skipped/);
    expect(await watermarkOf(world, 'cli')).toEqual(mark);

    const status = capture();
    expect(await statusCommand({ config: configFile, json: true }, status.ctx)).toBe(0);
    const parsed = JSON.parse(status.out.join('\n')) as { pipelines: { lastBackfill: { kind: string; status: string } }[] };
    expect(parsed.pipelines[0]?.lastBackfill).toMatchObject({ kind: 'backfill', status: 'succeeded' });
  });
});
