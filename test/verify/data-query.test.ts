// The Data Query client against the emulator over real HTTP: results, UTC day grouping, Id paging, failures,
// retries and the tenant's running/queued limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZuoraJobFailedError } from '../../src/errors.ts';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';
import { DataQueryClient, ZuoraClient } from '../../src/zuora/index.ts';

let emulator: Emulator;
let dq: DataQueryClient;

function client(): ZuoraClient {
  return new ZuoraClient({
    baseUrl: emulator.url,
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    retry: { attempts: 8, baseDelayMs: 5, maxDelayMs: 40 },
    requestTimeoutMs: 10_000,
  });
}

beforeAll(async () => {
  emulator = await startEmulator({ seed: 5, rows: 120, timing: { queuedMs: 5, executingMs: 20 }, tenantZone: 'America/Los_Angeles' });
  dq = new DataQueryClient(client(), { poll: { minIntervalMs: 5, maxIntervalMs: 20 } });
});
afterAll(async () => emulator?.close());

describe('DataQueryClient', () => {
  it('counts live rows per UTC day like the emulator truth, downloading the dataFile without auth', async () => {
    const rows = await dq.query(
      "select date(at_timezone(updateddate, 'UTC')) as day, count(*) as n from account group by 1 order by 1",
    );
    const truth = new Map<string, number>();
    for (const r of emulator.admin.rows('Account')) {
      if (r.deletedAt !== undefined) continue;
      const day = new Date(r.values.UpdatedDate as number).toISOString().slice(0, 10);
      truth.set(day, (truth.get(day) ?? 0) + 1);
    }
    expect(rows).toEqual([...truth.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, n]) => ({ day, n })));
    // Without at_timezone the days are the tenant's (Los Angeles): a different split of the same rows.
    const local = await dq.query('select date(updateddate) as day, count(*) as n from account group by 1 order by 1');
    expect(local).not.toEqual(rows);
    expect(local.reduce((n, r) => n + Number(r.n), 0)).toBe(rows.reduce((n, r) => n + Number(r.n), 0));
    const download = emulator.admin.requests().find((r) => r.path.startsWith('/query-results/'));
    expect(download).toBeDefined();
    expect(Object.keys(download?.headers ?? {}).map((h) => h.toLowerCase())).not.toContain('authorization');
  });

  it('pages Ids in order with `id > x order by id limit n`, covering every live Id once', async () => {
    const seen: string[] = [];
    let after = '';
    for (;;) {
      const page = await dq.query(`select id, updateddate from invoiceitem where id > '${after}' order by id limit 50`);
      seen.push(...page.map((r) => String(r.id)));
      if (page.length < 50) break;
      after = String(page.at(-1)?.id);
    }
    const live = emulator.admin.rows('InvoiceItem').filter((r) => r.deletedAt === undefined).map((r) => String(r.values.Id));
    expect(seen).toEqual([...live].sort());
  });

  it('turns a failed query into ZuoraJobFailedError carrying Zuora’s errorMessage', async () => {
    const error = await dq.query('select id from acccount').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZuoraJobFailedError);
    expect((error as Error).message).toMatch(/failed.*Table owl\.data\.acccount does not exist/);
    const column = await dq.query('select nosuchcolumn from account').catch((e: unknown) => e);
    expect((column as Error).message).toMatch(/Column 'nosuchcolumn' cannot be resolved/);
  });

  it('retries 429/5xx on submit, poll and download, and refreshes an expired token', async () => {
    emulator.admin.faults.add({ kind: 'status', status: 503, route: 'query', times: 2 });
    emulator.admin.faults.add({ kind: 'expire-tokens', route: 'query' });
    const [row] = await dq.query('select count(*) as n from account');
    expect(row?.n).toBe(emulator.admin.rows('Account').filter((r) => r.deletedAt === undefined).length);
  });

  it('keeps at most 5 queries in flight, so 20 at once all succeed under the 5 running + 10 queued limit', async () => {
    // Queries that take a while, so 20 submitted at once would all be open together.
    const slow = await startEmulator({ seed: 5, rows: 20, timing: { queuedMs: 100, executingMs: 200 } });
    try {
      const capped = new DataQueryClient(
        new ZuoraClient({ baseUrl: slow.url, clientId: slow.clientId, clientSecret: slow.clientSecret, retry: { attempts: 8, baseDelayMs: 5, maxDelayMs: 40 }, requestTimeoutMs: 10_000 }),
        { poll: { minIntervalMs: 5, maxIntervalMs: 20 } },
      );
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => capped.query(`select count(*) as n from account where id > '${i}'`)));
      expect(results.every((r) => r.length === 1)).toBe(true);
      // One submission each: without the cap the 16th to 20th are refused with 429 and submitted again.
      const submits = slow.admin.requests().filter((r) => r.method === 'POST' && /\/query\/jobs$/.test(r.path));
      expect(submits).toHaveLength(20);
    } finally {
      await slow.close();
    }
  });

  it('the emulator refuses a 16th concurrent query with 429 (what a client without its own cap would hit)', async () => {
    const body = JSON.stringify({ query: 'select count(*) from account', outputFormat: 'JSON', compression: 'NONE', output: { target: 'S3' } });
    const slow = await startEmulator({ seed: 5, rows: 20, timing: { queuedMs: 5_000, executingMs: 5_000 } });
    try {
      const token = await (
        await fetch(`${slow.url}/oauth/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: slow.clientId, client_secret: slow.clientSecret, grant_type: 'client_credentials' }),
        })
      ).json() as { access_token: string };
      const statuses: number[] = [];
      for (let i = 0; i < 16; i++) {
        const res = await fetch(`${slow.url}/query/jobs`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token.access_token}` },
          body,
        });
        statuses.push(res.status);
        await res.body?.cancel();
      }
      expect(statuses.slice(0, 15).every((s) => s === 200)).toBe(true);
      expect(statuses[15]).toBe(429);
    } finally {
      await slow.close();
    }
  });

  it('never accepts results above the 500,000-row Live output limit, whatever it is configured to', () => {
    const capped = new DataQueryClient(client(), { maxOutputRows: 10_000_000 });
    expect(capped.outputLimit).toBe(500_000);
  });
});
