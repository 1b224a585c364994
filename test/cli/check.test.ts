// `aquasync check` as a user runs it: a real child process against the emulator and a real test database. It
// catches a misspelled field, bad credentials, an unreachable Zuora, a warehouse it may not write to, a partner
// Zuora rejects, and a partner/project that changed since the last load, and it never submits a job.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/index.ts';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';
import { createTestDatabase, serverUrl, type TestDatabase } from '../helpers/db.ts';
import { runCli as aquasync, type CliOutcome } from '../helpers/cli.ts';

interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
  fix?: string;
}

function checksOf(out: CliOutcome): Check[] {
  try {
    return (JSON.parse(out.stdout) as { checks: Check[] }).checks;
  } catch {
    throw new Error(`not JSON:\n${out.stdout}\n${out.stderr}`);
  }
}

function find(checks: Check[], name: string | RegExp): Check {
  const found = checks.find((c) => (typeof name === 'string' ? c.name === name : name.test(c.name)));
  if (!found) throw new Error(`no check ${String(name)} in ${JSON.stringify(checks, null, 2)}`);
  return found;
}

/** A Zuora in front of the emulator that answers the session lookup with Zuora's 90019 error body. */
async function partnerRejectingProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (/^\/v1\/batch-query\/jobs\/partner\//.test(req.url ?? '')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errorCode: '90019', message: 'Partner ID is not recognized.', status: 'error' }));
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
      fetch(`${target}${req.url ?? ''}`, { method: req.method ?? 'GET', headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) })
        .then(async (upstream) => {
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(Buffer.from(await upstream.arrayBuffer()));
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('aquasync check', () => {
  let emulator: Emulator;
  let database: TestDatabase;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  function writeConfig(name: string, opts: { baseUrl?: string; secret?: string; partner?: string; accountFields?: string; extra?: string } = {}): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `source:
  baseUrl: ${opts.baseUrl ?? emulator.url}
  clientId: ${emulator.clientId}
  clientSecret: ${opts.secret ?? emulator.clientSecret}
pipelines:
  - name: billing
    schedule: "0 2 * * *"
    partner: ${opts.partner ?? 'aquasync'}
    project: p-check
    objects:
      - name: Account
        fields: [${opts.accountFields ?? 'Id, Name, Balance, UpdatedDate, BillToContact.Id'}]
      - name: InvoiceItem
        query: select Id, ChargeAmount, UpdatedDate, Invoice.Id, Invoice.InvoiceNumber from InvoiceItem
${opts.extra ?? ''}`,
    );
    return file;
  }

  beforeAll(async () => {
    emulator = await startEmulator({ seed: 4, rows: 100, timing: { queuedMs: 5, executingMs: 50 } });
    database = await createTestDatabase('cli_check');
    dir = mkdtempSync(join(tmpdir(), 'aquasync-check-'));
    chmodSync(dir, 0o755);
    env = { ...process.env, DATABASE_URL: database.url, AQUASYNC_HOME: dir };
    for (const key of Object.keys(env)) if (key.startsWith('ZUORA_')) delete env[key];
  });

  afterAll(async () => {
    await emulator?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('passes a correct set-up, warns that a new partner cannot be proven without a job, and submits nothing', async () => {
    emulator.admin.clearRequests();
    const out = await aquasync(['check', '--config', writeConfig('good'), '--json'], env);
    expect(out.code, out.stderr + out.stdout).toBe(0);
    const checks = checksOf(out);
    expect(find(checks, 'config').status).toBe('ok');
    expect(find(checks, 'warehouse')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/can create schema "zuora"/) });
    expect(find(checks, /^zuora /)).toMatchObject({ status: 'ok' });
    expect(find(checks, 'billing: Account')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^5 field\(s\) exist/) });
    expect(find(checks, 'billing: InvoiceItem')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^5 field\(s\) exist/) });
    expect(find(checks, 'billing: partner/project')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/not verifiable without submitting a job/) });
    expect(find(checks, /^data query/)).toMatchObject({ status: 'ok' });
    // Read-only: no AQuA or Data Query job, no POST at all except the OAuth token.
    expect(emulator.admin.jobs()).toEqual([]);
    const posts = emulator.admin.requests().filter((r) => r.method !== 'GET' && r.path !== '/oauth/token');
    expect(posts).toEqual([]);
    // ...and nothing written to the warehouse: not even the state schema.
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT nspname FROM pg_namespace WHERE nspname IN ('aquasync', 'zuora')");
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }

    const strict = await aquasync(['check', '--config', writeConfig('good'), '--strict'], env);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/^WARN\s+billing: partner\/project/m);
    expect(strict.stdout).toMatch(/no job was submitted/);
  }, 180_000);

  it('catches a misspelled field, an unknown joined object and an unknown object, with a fix', async () => {
    const file = writeConfig('typo', {
      accountFields: 'Id, Name, Balanse, UpdatedDate, BillToContct.Id',
      extra: '      - name: Acount\n        fields: [Id, UpdatedDate]\n        table: acount\n',
    });
    const out = await aquasync(['check', '--config', file], env);
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout).toMatch(/^FAIL\s+billing: Account\s+Account has no field "Balanse" \(did you mean "Balance"\?\); Account has no joined object "BillToContct" \(did you mean "BillToContact"\?\)/m);
    expect(out.stdout).toMatch(/fix: correct the fields "Balanse", "BillToContct\.Id" of object Account in pipeline billing/);
    expect(out.stdout).toMatch(/^FAIL\s+billing: Acount\s+Zuora does not know the object "Acount"/m);
    expect(out.stdout).toMatch(/^ok\s+billing: InvoiceItem/m);
    expect(emulator.admin.jobs()).toEqual([]);
  }, 180_000);

  it('catches bad credentials and skips what needs them', async () => {
    const out = await aquasync(['check', '--config', writeConfig('creds', { secret: 'not-the-secret' }), '--json'], env);
    expect(out.code).toBe(1);
    const checks = checksOf(out);
    expect(find(checks, /^zuora /)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/refused the client credentials \(HTTP 401\)/), fix: expect.stringMatching(/ZUORA_CLIENT_SECRET/) });
    expect(find(checks, /^billing: partner, objects and fields/)).toMatchObject({ status: 'skip' });
    expect(out.stdout + out.stderr).not.toContain('not-the-secret');
    expect(emulator.admin.jobs()).toEqual([]);
  }, 180_000);

  it('says why Zuora cannot be reached (connection refused), quickly', async () => {
    const closed = await freePort();
    const out = await aquasync(['check', '--config', writeConfig('down', { baseUrl: `http://127.0.0.1:${closed}` }), '--json'], env);
    expect(out.code).toBe(1);
    expect(find(checksOf(out), /^zuora /)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(new RegExp(`connection refused by 127\\.0\\.0\\.1:${closed}`)),
      fix: expect.stringMatching(/ZUORA_BASE_URL/),
    });
  }, 180_000);

  it('fails a partner Zuora rejects on the session lookup (90019)', async () => {
    const proxy = await partnerRejectingProxy(emulator.url);
    try {
      const out = await aquasync(['check', '--config', writeConfig('rejected', { baseUrl: proxy.url, partner: 'nobody' }), '--json'], env);
      expect(out.code).toBe(1);
      expect(find(checksOf(out), 'billing: partner/project')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/errorCode 90019/),
        fix: expect.stringMatching(/ask Zuora Global Support/),
      });
    } finally {
      await proxy.close();
    }
  }, 180_000);

  it('after a load: confirms the session, and flags a partner changed since then', async () => {
    const file = writeConfig('loaded');
    const sync = await aquasync(['sync', '--config', file], env);
    expect(sync.code, sync.stderr).toBe(0);
    const jobs = emulator.admin.jobs().length;

    const same = await aquasync(['check', '--config', file, '--json'], env);
    expect(same.code).toBe(0);
    expect(find(checksOf(same), 'billing: partner/project')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/accepted by Zuora: the session's last completed job is /) });

    const changed = await aquasync(['check', '--config', writeConfig('changed', { partner: 'salesforce' }), '--json'], env);
    expect(find(checksOf(changed), 'billing: partner/project')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/last loaded from partner "aquasync", project "p-check"/),
      fix: expect.stringMatching(/full snapshot/),
    });
    expect(emulator.admin.jobs()).toHaveLength(jobs);
  }, 180_000);

  it('fails a warehouse the user may not write to', async () => {
    const role = `aquasync_ro_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
    const readOnly = await createTestDatabase('cli_check_ro');
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      const owner = new pg.Client({ connectionString: readOnly.url });
      await owner.connect();
      await owner.query(`REVOKE CREATE ON DATABASE "${readOnly.name}" FROM PUBLIC; REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
      await owner.end();
      const url = new URL(readOnly.url);
      url.username = role;
      const out = await aquasync(['check', '--config', writeConfig('ro'), '--json'], { ...env, DATABASE_URL: url.toString() });
      expect(out.code).toBe(1);
      expect(find(checksOf(out), 'warehouse')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/not writable: permission denied/), fix: expect.stringMatching(/grant the user CREATE/) });
    } finally {
      await readOnly.drop();
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  }, 180_000);
});
