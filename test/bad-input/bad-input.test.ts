// Bad input, table-driven, through the real CLI: broken configs, refusals from Zuora and damaged result files.
// Each must end in a message that says what and where, a non-zero exit, and an untouched warehouse and watermark.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openWarehouse } from '../../src/db/index.ts';
import { startEmulator, type Emulator, type Fault } from '../../src/emulator/index.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { aquasync, cliEnv, configYaml, diffTable, tablesOf, warehouseFingerprint, type PipelineYaml } from '../chaos/harness.ts';

let emulator: Emulator;
let db: TestDatabase;
let pool: pg.Pool;
let home: string;

function source(overrides: { clientSecret?: string } = {}): { baseUrl: string; clientId: string; clientSecret: string } {
  return { baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: overrides.clientSecret ?? emulator.clientSecret };
}

function writeConfig(name: string, text: string): string {
  const file = join(home, name);
  writeFileSync(file, text);
  return file;
}

/** The pipelines that were loaded once before the cases run; file faults hit their incremental jobs. */
const LOADED: PipelineYaml[] = [
  { name: 'gz', format: 'gzip' },
  { name: 'zp', format: 'zip' },
];

interface ConfigCase {
  name: string;
  yaml: () => string;
  env?: Record<string, string>;
  message: RegExp;
}

const okYaml = (): string => configYaml(source(), [{ name: 'fresh' }]);

const configCases: ConfigCase[] = [
  { name: 'malformed YAML', yaml: () => `${okYaml()}\n  - name: [unclosed\n`, message: /bad\.yaml:\d+/ },
  {
    name: 'an unknown key',
    yaml: () => okYaml().replace('deletes: soft', 'deltes: soft'),
    message: /bad\.yaml:\d+: unknown key "deltes" \(did you mean "deletes"\?\)/,
  },
  {
    name: 'a missing environment variable',
    yaml: () => okYaml().replace(`clientSecret: ${emulator.clientSecret}`, 'clientSecret: ${AQ_TEST_NOT_SET}'),
    message: /bad\.yaml:\d+.*AQ_TEST_NOT_SET/,
  },
  { name: 'an invalid cron', yaml: () => okYaml().replace('"0 2 * * *"', '"61 * * * *"'), message: /bad\.yaml:\d+.*(cron|schedule)/i },
  {
    name: 'duplicate pipeline names',
    yaml: () => configYaml(source(), [{ name: 'twin' }, { name: 'twin', project: 'other' }]),
    message: /bad\.yaml:\d+.*twin/,
  },
  {
    name: 'an object name that tries SQL injection',
    yaml: () => okYaml().replace('- name: Account', '- name: Account"; drop table x; --'),
    message: /bad\.yaml:\d+.*(object|name)/i,
  },
  {
    name: 'a table name that tries SQL injection',
    yaml: () => okYaml().replace('table: account\n', 'table: acc"; drop schema aquasync cascade; --\n'),
    message: /bad\.yaml:\d+.*table/i,
  },
  {
    name: 'a column (field) name that tries SQL injection',
    yaml: () => okYaml().replace('fields: [Id, Name,', 'fields: [Id, "Name\\"); drop table x; --",'),
    message: /bad\.yaml:\d+.*(field|column)/i,
  },
  {
    name: 'a column type override that tries SQL injection',
    yaml: () => okYaml().replace('table: account\n', 'table: account\n        types: { balance: "numeric); drop table x; --" }\n'),
    message: /bad\.yaml:\d+.*(type|balance)/i,
  },
  {
    name: 'a schema name that tries SQL injection',
    yaml: () => okYaml().replace('schema: zuora', 'schema: zuora"; drop schema aquasync cascade; --'),
    message: /bad\.yaml:\d+.*schema/i,
  },
];

interface RunCase {
  name: string;
  /** Pipeline to run (one of LOADED, or a fresh one defined by `pipeline`). */
  run: string;
  pipeline?: PipelineYaml;
  secret?: string;
  faults?: Fault[];
  message: RegExp;
}

const runCases: RunCase[] = [
  { name: 'an unknown object', run: 'noobj', pipeline: { name: 'noobj', accountFields: ['Id'] }, message: /\[noobj\].*(NoSuchThing|data source could not be found)/ },
  { name: 'credentials Zuora refuses (401)', run: 'creds', pipeline: { name: 'creds' }, secret: 'wrong-secret-123', message: /\[creds\].*credentials/ },
  { name: 'a query error (90005)', run: 'e90005', pipeline: { name: 'e90005', accountFields: ['Id', 'NoSuchField'] }, message: /\[e90005\].*(90005|NoSuchField)/ },
  ...(['90017', '90019', '90028'] as const).map((code) => ({
    name: `an HTTP 200 error body ${code}`,
    run: `e${code}`,
    // 90028 is retried while the job's time allows (a queue, not a failure); a short jobTimeout ends the wait.
    pipeline: { name: `e${code}`, ...(code === '90028' ? { jobTimeout: 3 } : {}) },
    faults: [{ kind: 'submit-error', errorCode: code, message: `emulated ${code}`, times: 1000 } as Fault],
    message: new RegExp(`\\[e${code}\\].*${code}`),
  })),
  { name: 'a CSV header not matching the query', run: 'gz', faults: [{ kind: 'wrong-header' }], message: /\[gz\].*(Unexpected\.Column|header)/i },
  { name: 'an unbalanced quote', run: 'gz', faults: [{ kind: 'corrupt-file', mode: 'unbalanced-quote', times: 4 }], message: /\[gz\].*(quote|CSV)/i },
  { name: 'a truncated gzip', run: 'gz', faults: [{ kind: 'corrupt-file', mode: 'truncate-gzip', times: 4 }], message: /\[gz\].*(gzip|truncated|unexpected end)/i },
  { name: 'a zip with no entry', run: 'zp', faults: [{ kind: 'corrupt-file', mode: 'zip-entries', entries: 0, times: 4 }], message: /\[zp\].*(zip|entr)/i },
  { name: 'a zip with two entries', run: 'zp', faults: [{ kind: 'corrupt-file', mode: 'zip-entries', entries: 2, times: 4 }], message: /\[zp\].*(zip|entr)/i },
  { name: 'a row count that disagrees with recordCount', run: 'gz', faults: [{ kind: 'wrong-record-count', delta: 3 }], message: /\[gz\].*reported \d+ row/ },
  { name: 'an expired file', run: 'gz', faults: [{ kind: 'expired-file', times: 20 }], message: /\[gz\].*expired/i },
  { name: 'an oversized file (403)', run: 'gz', faults: [{ kind: 'too-large', times: 20 }], message: /\[gz\].*(size|large)/i },
];

describe('bad input', () => {
  beforeAll(async () => {
    emulator = await startEmulator({
      seed: 11,
      rows: 80,
      timing: { queuedMs: 5, executingMs: 10 },
      clockStart: Date.parse('2026-03-02T12:00:00Z'),
    });
    db = await createTestDatabase('badinput');
    const warehouse = await openWarehouse({ databaseUrl: db.url });
    await migrate(warehouse.db);
    await warehouse.close();
    pool = testPool({ connectionString: db.url, max: 2 });
    home = mkdtempSync(join(tmpdir(), 'aquasync-bad-'));
    chmodSync(home, 0o755);

    const good = writeConfig('good.yaml', configYaml(source(), LOADED));
    const first = await aquasync(['sync', '--config', good], cliEnv(home, db.url)).done;
    expect(first.code, first.stderr).toBe(0);
    // Changes for the incremental jobs the file faults will damage: rows in every object's file.
    const { admin } = emulator;
    admin.clock.advance(60_000);
    const account = admin.rows('Account').find((r) => r.deletedAt === undefined);
    admin.update('Account', String(account?.values.Id), { Name: 'changed after the first load' });
    const item = admin.rows('InvoiceItem').find((r) => r.deletedAt === undefined);
    admin.update('InvoiceItem', String(item?.values.Id), { Quantity: '42' });
    admin.insert('Account', { Name: 'inserted after the first load', Status: 'Active' });
    admin.clock.advance(60_000);
  });
  afterAll(async () => {
    await pool?.end();
    await emulator?.close();
    await db?.drop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it.each(configCases)('$name: says where, exits 2, touches nothing', async (c) => {
    const before = await warehouseFingerprint(pool, 'zuora');
    const file = writeConfig('bad.yaml', c.yaml());
    const out = await aquasync(['sync', '--config', file], cliEnv(home, db.url, c.env ?? {})).done;
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(c.message);
    expect(out.stderr).not.toMatch(/unexpected error|at .*\.ts:\d+/);
    expect(await warehouseFingerprint(pool, 'zuora')).toBe(before);
  });

  it.each(runCases)('$name: says what and where, exits 1, warehouse and watermark unchanged', async (c) => {
    const before = await warehouseFingerprint(pool, 'zuora');
    const pipelines = c.pipeline ? [c.pipeline] : LOADED;
    let text = configYaml(source(c.secret ? { clientSecret: c.secret } : {}), pipelines);
    if (c.run === 'noobj') text = text.replace('- name: Account', '- name: NoSuchThing');
    const file = writeConfig(`case-${c.run}.yaml`, text);
    for (const fault of c.faults ?? []) emulator.admin.faults.add(fault);
    try {
      const out = await aquasync(['sync', '--config', file, '--pipeline', c.run], cliEnv(home, db.url)).done;
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(c.message);
      expect(out.stderr).not.toMatch(/unexpected error/);
      expect(await warehouseFingerprint(pool, 'zuora')).toBe(before);
      const runs = await pool.query<{ status: string; error_message: string }>(
        'select status, error_message from aquasync.runs where pipeline = $1 order by id desc limit 1',
        [c.run],
      );
      expect(runs.rows[0]?.status).toBe('failed');
    } finally {
      emulator.admin.faults.clear();
    }
  });

  it('a NUL byte in a file is removed, and a value no column can take is quarantined: the run succeeds and says so', async () => {
    const { admin } = emulator;
    const good = writeConfig('good.yaml', configYaml(source(), LOADED));
    // Earlier cases may have left a job to resume: finish it first, so the next run's job sees the new values.
    const drained = await aquasync(['sync', '--config', good, '--pipeline', 'gz'], cliEnv(home, db.url)).done;
    expect(drained.code, drained.stderr).toBe(0);
    admin.clock.advance(60_000);
    const poisoned = admin.rows('Account').find((r) => r.deletedAt === undefined);
    admin.update('Account', String(poisoned?.values.Id), { BillCycleDay: '99999999999999999999' });
    admin.clock.advance(60_000);
    admin.faults.add({ kind: 'corrupt-file', mode: 'nul-byte', times: 4 });
    const out = await aquasync(['sync', '--config', good, '--pipeline', 'gz'], cliEnv(home, db.url)).done;
    admin.faults.clear();
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/\[gz\].*1 NUL byte\(s\).*removed/);
    expect(out.stdout).toMatch(/1 row\(s\) held a value Postgres could not take and were quarantined in aquasync\.rejected_rows/);
    const status = await aquasync(['status', '--config', good], cliEnv(home, db.url)).done;
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/quarantine: 1 row\(s\) Postgres could not take.*select \* from aquasync\.rejected_rows where pipeline = 'gz'/);
    const rejected = await pool.query("select raw_line from aquasync.rejected_rows where pipeline = 'gz'");
    expect(rejected.rows).toEqual([{ raw_line: expect.stringContaining('99999999999999999999') }]);
    // Repaired by hand (the README's recipe) so the last check compares a clean warehouse.
    admin.update('Account', String(poisoned?.values.Id), { BillCycleDay: '7' });
    admin.clock.advance(60_000);
  });

  it('loads everything once the files are served intact again', async () => {
    const good = writeConfig('good.yaml', configYaml(source(), LOADED));
    const out = await aquasync(['sync', '--config', good], cliEnv(home, db.url)).done;
    expect(out.code, out.stderr).toBe(0);
    for (const check of LOADED.flatMap(tablesOf)) {
      const diff = await diffTable(pool, 'zuora', check, emulator.admin.rows(check.object));
      expect(diff.problems).toEqual([]);
    }
  });
});
