// A crash while submitting: the process is SIGKILLed after Zuora created the job but before aquasync learned its
// id (the emulator holds the submit's response back). The next run resubmits with the same Idempotency-Key:
// Zuora answers with the job it already made, so one run never leaves two stateful jobs behind. Whether AQuA's
// submit honours Idempotency-Key is undocumented; when it does not, the orphan job is harmless (incrementalTime
// comes from our watermark, never from Zuora's session marker) and nothing is lost.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openWarehouse } from '../../src/db/index.ts';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { aquasync, cliEnv, configYaml, diffTable, TABLES } from './harness.ts';

let emulator: Emulator | undefined;
let db: TestDatabase | undefined;
let pool: pg.Pool | undefined;
let home: string | undefined;

afterEach(async () => {
  await pool?.end();
  await emulator?.close();
  await db?.drop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe.each(['honoured', 'ignored'] as const)('a crash while submitting (Idempotency-Key %s by Zuora)', (idempotencyKey) => {
  it('the next run resumes the job instead of losing or duplicating rows', async () => {
    emulator = await startEmulator({ seed: 4, rows: 200, timing: { queuedMs: 5, executingMs: 10 }, readings: { idempotencyKey } });
    db = await createTestDatabase('submitcrash');
    const warehouse = await openWarehouse({ databaseUrl: db.url });
    await migrate(warehouse.db);
    await warehouse.close();
    pool = testPool({ connectionString: db.url, max: 1 });
    home = mkdtempSync(join(tmpdir(), 'aquasync-submitcrash-'));
    chmodSync(home, 0o755);
    const config = join(home, 'pipelines.yaml');
    writeFileSync(config, configYaml({ baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret }, [{ name: 'sc' }]));

    emulator.admin.faults.add({ kind: 'delay', ms: 60_000, route: 'submit' });
    const run = aquasync(['sync', '--config', config], cliEnv(home, db.url));
    const stateful = (): number => emulator!.admin.jobs().filter((j) => j.api === 'aqua' && j.mode === 'stateful').length;
    while (stateful() === 0) await new Promise((r) => setTimeout(r, 10));
    run.child.kill('SIGKILL');
    await run.done;
    const recorded = await pool.query('select status, zuora_job_id from aquasync.jobs');
    expect(recorded.rows).toEqual([{ status: 'submitting', zuora_job_id: null }]);

    emulator.admin.faults.clear();
    const next = await aquasync(['sync', '--config', config], cliEnv(home, db.url)).done;
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/resuming unfinished job \(not yet acknowledged by Zuora\)/);
    expect(stateful()).toBe(idempotencyKey === 'honoured' ? 1 : 2);
    const jobs = await pool.query('select count(*)::int as n from aquasync.jobs');
    expect(jobs.rows).toEqual([{ n: 1 }]);
    for (const check of TABLES) {
      expect((await diffTable(pool, 'zuora', check, emulator.admin.rows(check.object))).problems).toEqual([]);
    }
  });
});
