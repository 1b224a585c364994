// End to end: pipelines.yaml -> emulator over real HTTP -> real Postgres, compared with the emulator's truth.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectTableMatches } from '../helpers/truth.ts';
import { pipelineFrom, postsToBatchQuery, startWorld, syncOnce, watermarkOf, type SyncWorld } from './helpers.ts';

const ACCOUNT_FIELDS = ['Id', 'Name', 'Balance', 'Status', 'AutoPay', 'BillCycleDay', 'Notes', 'LastInvoiceDate', 'UpdatedDate'];
const ITEM_FIELDS = ['Id', 'ChargeAmount', 'ChargeDate', 'ServiceStartDate', 'Quantity', 'UpdatedDate'];

function yamlFor(opts: { name: string; project: string; format?: string; schema?: string; deletes?: string; lookback?: number }): string {
  return `
source:
  baseUrl: https://placeholder
  clientId: id
  clientSecret: secret
warehouse:
  schema: ${opts.schema ?? 'zuora'}
pipelines:
  - name: ${opts.name}
    schedule: "0 2 * * *"
    partner: aquasync
    project: ${opts.project}
    format: ${opts.format ?? 'gzip'}
    lookback: ${opts.lookback ?? 3600}
    objects:
      - name: Account
        fields: [${ACCOUNT_FIELDS.join(', ')}, BillToContact.Id]
        deletes: ${opts.deletes ?? 'soft'}
      - name: InvoiceItem
        query: select ${ITEM_FIELDS.join(', ')}, Invoice.Id from InvoiceItem
`;
}

async function expectInSync(world: SyncWorld, schema: string, deletes: 'soft' | 'hard' | 'ignore' = 'soft'): Promise<void> {
  await expectTableMatches(world.warehouse.pool, schema, { object: 'Account', table: 'account', fields: ACCOUNT_FIELDS }, world.emulator.admin.rows('Account'), { deletes });
  await expectTableMatches(world.warehouse.pool, schema, { object: 'InvoiceItem', table: 'invoice_item', fields: ITEM_FIELDS }, world.emulator.admin.rows('InvoiceItem'), { deletes });
}

describe('sync against the emulator', () => {
  let world: SyncWorld;
  beforeAll(async () => {
    world = await startWorld('sync', { segmentSize: 70, clockStart: Date.parse('2026-10-20T12:00:00Z') });
  });
  afterAll(async () => world?.close());

  it('loads a segmented full snapshot of several objects, then incremental inserts, updates and deletes', async () => {
    const target = pipelineFrom(yamlFor({ name: 'billing', project: 'p-main' }));
    const first = await syncOnce(world, target);
    expect(first.error).toBeUndefined();
    expect(first.ok).toBe(true);
    // A first load of a complete snapshot goes in unsorted (the key proves each key once), segments included.
    expect(first.tables.map((t) => [t.table, t.full, t.load])).toEqual([
      ['zuora.account', true, 'copied'],
      ['zuora.invoice_item', true, 'copied'],
    ]);
    const segmented = world.emulator.admin.jobs().at(-1)?.batches.find((b) => b.name === 'invoice_item');
    expect(segmented?.fileIds.length).toBeGreaterThan(1);
    await expectInSync(world, 'zuora');
    const firstMark = await watermarkOf(world, 'billing');
    expect(firstMark).toBeDefined();

    const { admin } = world.emulator;
    admin.clock.advance(60_000);
    const accounts = admin.rows('Account').filter((r) => r.deletedAt === undefined);
    admin.update('Account', String(accounts[0]?.values.Id), { Name: 'Renamed, "quoted"\nand multi-line', Balance: '-12345678901234567890.123456789' });
    admin.remove('Account', String(accounts[1]?.values.Id));
    const inserted = admin.insert('Account', { Name: '  spaced  ', Balance: '0', Status: 'Active', AutoPay: true, BillCycleDay: '7' });
    const item = admin.rows('InvoiceItem')[5];
    admin.update('InvoiceItem', String(item?.values.Id), { ChargeAmount: '99.990000000000000001' });
    admin.clock.advance(60_000);

    const second = await syncOnce(world, target);
    expect(second.error).toBeUndefined();
    expect(second.tables.every((t) => !t.full && t.load === 'merge')).toBe(true);
    await expectInSync(world, 'zuora');
    const { rows } = await world.warehouse.pool.query('select name from zuora.account where id = $1', [inserted]);
    expect(rows[0]?.name).toBe('  spaced  ');
    const secondMark = await watermarkOf(world, 'billing');
    expect(secondMark!.getTime()).toBeGreaterThan(firstMark!.getTime());

    // A run with nothing new writes nothing and still moves the watermark.
    admin.clock.advance(60_000);
    const third = await syncOnce(world, target);
    expect(third.tables.reduce((n, t) => n + t.upserted, 0)).toBe(0);
    await expectInSync(world, 'zuora');
  });

  it.each(['csv', 'zip'])('loads %s result files', async (format) => {
    const schema = `fmt_${format}`;
    const target = pipelineFrom(yamlFor({ name: `fmt-${format}`, project: `p-${format}`, format, schema }));
    const result = await syncOnce(world, target);
    expect(result.error).toBeUndefined();
    await expectInSync(world, schema);
  });

  it('adds a column when the config adds a field, and fills it for every row with a stateless snapshot', async () => {
    const before = pipelineFrom(yamlFor({ name: 'grow', project: 'p-grow', schema: 'grow' }));
    expect((await syncOnce(world, before)).ok).toBe(true);
    world.emulator.admin.clock.advance(60_000);
    const after = pipelineFrom(
      yamlFor({ name: 'grow', project: 'p-grow', schema: 'grow' }).replace('fields: [Id, Name,', 'fields: [Id, AccountNumber, Name,'),
    );
    const result = await syncOnce(world, after);
    expect(result.error).toBeUndefined();
    // A changed query restarts that query's session at Zuora: Account comes back full, InvoiceItem does not; the
    // owed snapshot of Account is paid by a stateless export applied in the same transaction.
    expect(result.tables.map((t) => [t.table, t.full, t.snapshot])).toEqual([
      ['grow.account', true, true],
      ['grow.invoice_item', false, false],
    ]);
    const stateless = world.emulator.admin.jobs().filter((j) => j.api === 'aqua' && j.mode === 'stateless');
    expect(stateless.at(-1)?.batches.map((b) => b.name)).toEqual(['account']);
    const { rows } = await world.warehouse.pool.query('select id, account_number from grow.account');
    const truth = new Map(world.emulator.admin.rows('Account').map((r) => [String(r.values.Id), r.values.AccountNumber || null]));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows as { id: string; account_number: string | null }[]) expect(row.account_number).toBe(truth.get(row.id));
    const owed = await world.warehouse.pool.query("select table_name, owed_reason from aquasync.snapshots where pipeline = 'grow' order by 1");
    expect(owed.rows).toEqual([
      { table_name: 'account', owed_reason: null },
      { table_name: 'invoice_item', owed_reason: null },
    ]);
    await expectInSync(world, 'grow');
  });

  it('explains a full snapshot nobody asked for (a new project) and takes a complete one', async () => {
    const first = pipelineFrom(yamlFor({ name: 'moved', project: 'p-moved-1', schema: 'moved' }));
    expect((await syncOnce(world, first)).ok).toBe(true);
    const { admin } = world.emulator;
    admin.clock.advance(60_000);
    const gone = admin.rows('Account').find((r) => r.deletedAt === undefined);
    admin.remove('Account', String(gone?.values.Id));
    admin.clock.advance(60_000);
    // A new project is a new session at Zuora: every batch comes back full, and full batches list no deletions.
    const moved = pipelineFrom(yamlFor({ name: 'moved', project: 'p-moved-2', schema: 'moved' }));
    const result = await syncOnce(world, moved);
    expect(result.error).toBeUndefined();
    expect(result.tables.every((t) => t.full && t.snapshot)).toBe(true);
    const events = await world.warehouse.pool.query("select kind, message from aquasync.events where pipeline = 'moved'");
    const surprise = events.rows.find((e: { kind: string }) => e.kind === 'unexpected-full-snapshot');
    expect(surprise?.message).toMatch(/last completed job/);
    const row = await world.warehouse.pool.query('select _aquasync_deleted as d from moved.account where id = $1', [String(gone?.values.Id)]);
    expect(row.rows).toEqual([{ d: true }]);
    await expectInSync(world, 'moved');
  });

  it('removes rows with deletes: hard', async () => {
    const target = pipelineFrom(yamlFor({ name: 'hard', project: 'p-hard', schema: 'hard', deletes: 'hard' }));
    expect((await syncOnce(world, target)).ok).toBe(true);
    const { admin } = world.emulator;
    admin.clock.advance(60_000);
    const victim = admin.rows('Account').find((r) => r.deletedAt === undefined);
    admin.remove('Account', String(victim?.values.Id));
    admin.clock.advance(60_000);
    expect((await syncOnce(world, target)).ok).toBe(true);
    await expectInSync(world, 'hard', 'hard');
  });

  it.each(['submitted', 'completed', 'staged', 'applied'] as const)(
    'resumes after a crash right after the job was %s, without losing or duplicating rows',
    async (phase) => {
      const schema = `crash_${phase}`;
      const target = pipelineFrom(yamlFor({ name: `crash-${phase}`, project: `p-crash-${phase}`, schema }));
      expect((await syncOnce(world, target)).ok).toBe(true);
      const { admin } = world.emulator;
      admin.clock.advance(60_000);
      const accounts = admin.rows('Account').filter((r) => r.deletedAt === undefined);
      admin.update('Account', String(accounts[2]?.values.Id), { Name: `changed before crash ${phase}` });
      admin.insert('Account', { Name: `new before crash ${phase}`, Status: 'Draft' });
      admin.clock.advance(60_000);
      const before = await watermarkOf(world, target.pipeline.name);

      admin.clearRequests();
      await expect(syncOnce(world, target, { crashAfter: phase })).rejects.toThrow(/simulated crash/);
      const afterCrash = await watermarkOf(world, target.pipeline.name);
      if (phase === 'applied') expect(afterCrash!.getTime()).toBeGreaterThan(before!.getTime());
      else expect(afterCrash).toEqual(before);

      const resumed = await syncOnce(world, target);
      expect(resumed.error).toBeUndefined();
      expect(resumed.resumed).toBe(phase !== 'applied');
      // Resuming reuses the recorded job: only the crashed run submitted one (plus a fresh one after 'applied').
      expect(postsToBatchQuery(world)).toBe(phase === 'applied' ? 2 : 1);
      await expectInSync(world, schema);
    },
  );

  it('fails an aborted job with Zuora\'s message, keeps the watermark, and recovers on the next run', async () => {
    const target = pipelineFrom(yamlFor({ name: 'aborts', project: 'p-abort', schema: 'aborts' }));
    world.emulator.admin.faults.add({ kind: 'abort-batch', message: 'java.lang.RuntimeException: boom' });
    const failed = await syncOnce(world, target);
    expect(failed.ok).toBe(false);
    expect(String((failed.error as Error).message)).toMatch(/boom/);
    expect(await watermarkOf(world, 'aborts')).toBeUndefined();
    const ok = await syncOnce(world, target);
    expect(ok.error).toBeUndefined();
    await expectInSync(world, 'aborts');
  });

  it('re-covers the window with a new job when the recorded files expired', async () => {
    const target = pipelineFrom(yamlFor({ name: 'expiry', project: 'p-expiry', schema: 'expiry' }));
    await expect(syncOnce(world, target, { crashAfter: 'completed' })).rejects.toThrow(/simulated crash/);
    world.emulator.admin.expireFiles();
    const result = await syncOnce(world, target);
    expect(result.error).toBeUndefined();
    await expectInSync(world, 'expiry');
    const { rows } = await world.warehouse.pool.query("select kind from aquasync.events where pipeline = 'expiry'");
    expect(rows.map((r: { kind: string }) => r.kind)).toContain('file-expired');
  });

  it('retries 429, 503 and a connection reset in the middle of a file', async () => {
    const target = pipelineFrom(yamlFor({ name: 'faults', project: 'p-faults', schema: 'faults' }));
    const { faults } = world.emulator.admin;
    faults.add({ kind: 'status', status: 429, retryAfterSeconds: 0, route: 'submit' });
    faults.add({ kind: 'status', status: 503, route: 'job' });
    faults.add({ kind: 'reset', afterBytes: 2000 });
    const result = await syncOnce(world, target);
    expect(result.error).toBeUndefined();
    await expectInSync(world, 'faults');
  });

  it('reports a query Zuora rejects with HTTP 200 (90005) and changes nothing', async () => {
    const target = pipelineFrom(
      yamlFor({ name: 'badfield', project: 'p-bad', schema: 'badfield' }).replace('fields: [Id,', 'fields: [Id, NoSuchField,'),
    );
    const result = await syncOnce(world, target);
    expect(result.ok).toBe(false);
    expect((result.error as Error).message).toMatch(/90005|NoSuchField/);
    expect(await watermarkOf(world, 'badfield')).toBeUndefined();
    const { rows } = await world.warehouse.pool.query("select status, error_message from aquasync.runs where pipeline = 'badfield'");
    expect(rows).toEqual([{ status: 'failed', error_message: expect.stringMatching(/90005|NoSuchField/) }]);
  });

  it('fails clearly on bad credentials without printing the secret', async () => {
    const target = pipelineFrom(yamlFor({ name: 'badcreds', project: 'p-creds', schema: 'badcreds' }));
    const { clientFor } = await import('./helpers.ts');
    const result = await syncOnce(world, target, { client: clientFor(world, { clientSecret: 'not-the-secret-42' }) });
    expect(result.ok).toBe(false);
    const message = (result.error as Error).message;
    expect(message).toMatch(/refused the client credentials/);
    expect(message).not.toContain('not-the-secret-42');
  });
});

describe('DST fall-back', () => {
  let world: SyncWorld;
  beforeAll(async () => {
    // 2026-11-01 08:10Z is 01:10 PDT, the first pass through the repeated hour.
    world = await startWorld('dst', { clockStart: Date.parse('2026-11-01T08:10:00Z') });
  });
  afterAll(async () => world?.close());

  it('does not lose a change made inside the repeated hour', async () => {
    const target = pipelineFrom(yamlFor({ name: 'dst', project: 'p-dst', lookback: 0 }));
    expect((await syncOnce(world, target)).ok).toBe(true);
    const { admin } = world.emulator;
    admin.clock.set(Date.parse('2026-11-01T08:40:00Z')); // 01:40 PDT
    const victim = admin.rows('Account')[0];
    admin.update('Account', String(victim?.values.Id), { Name: 'changed at 01:40 PDT' });
    admin.clock.set(Date.parse('2026-11-01T09:50:00Z')); // 01:50 PST
    const second = await syncOnce(world, target);
    expect(second.error).toBeUndefined();
    const { rows } = await world.warehouse.pool.query('select name from zuora.account where id = $1', [victim?.values.Id]);
    expect(rows[0]?.name).toBe('changed at 01:40 PDT');
    await expectInSync(world, 'zuora');
  });
});
