// The warehouse misbehaving under a real `aquasync sync`: a statement timeout, a full disk during COPY, the
// connection terminated mid-COPY and mid-upsert (pg_terminate_backend), and the server restarting mid-run. Each run
// fails with a clear message, leaves the watermark where it was, and the next run recovers everything.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openWarehouse, startEmbeddedPostgres } from '../../src/db/index.ts';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { aquasync, cliEnv, configYaml, diffTable, TABLES, watermarkOf, type CliOutcome } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';

let emulator: Emulator;
let db: TestDatabase;
let pool: pg.Pool;
let home: string;
let config: string;

function changeZuora(): void {
  const { admin } = emulator;
  admin.clock.advance(60_000);
  for (const row of admin.rows('Account').filter((r) => r.deletedAt === undefined).slice(0, 3)) {
    admin.update('Account', String(row.values.Id), { Name: `changed ${admin.clock.now()}` });
  }
  admin.insert('Account', { Name: `new ${admin.clock.now()}`, Status: 'Active' });
  const item = admin.rows('InvoiceItem').find((r) => r.deletedAt === undefined);
  admin.update('InvoiceItem', String(item?.values.Id), { Quantity: String(admin.clock.now() % 97) });
  admin.clock.advance(60_000);
}

async function expectInSync(p: pg.Pool): Promise<void> {
  for (const check of TABLES) {
    const diff = await diffTable(p, 'zuora', check, emulator.admin.rows(check.object));
    expect(diff.problems).toEqual([]);
  }
}

/** Backend pid of the sync child in `database` whose query matches, or that waits on a lock. */
async function backendOf(database: string, pattern: RegExp, waitingOnLock = false): Promise<number | undefined> {
  const { rows } = await pool.query<{ pid: number; query: string; wait_event_type: string | null }>(
    'select pid, query, wait_event_type from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
    [database],
  );
  return rows.find((r) => pattern.test(r.query) && (!waitingOnLock || r.wait_event_type === 'Lock'))?.pid;
}

function sync(url = db.url): { done: Promise<CliOutcome>; exited: () => boolean } {
  const run = aquasync(['sync', '--config', config], cliEnv(home, url));
  let exited = false;
  void run.done.then(() => (exited = true));
  return { done: run.done, exited: () => exited };
}

beforeAll(async () => {
    emulator = await startEmulator({ seed: 5, rows: 300, timing: { queuedMs: 5, executingMs: 10 }, clockStart: Date.parse('2026-05-04T10:00:00Z') });
    db = await createTestDatabase('pgfaults');
    const warehouse = await openWarehouse({ databaseUrl: db.url });
    await migrate(warehouse.db);
    await warehouse.close();
    pool = testPool({ connectionString: db.url, max: 3 });
    home = mkdtempSync(join(tmpdir(), 'aquasync-pgfaults-'));
    chmodSync(home, 0o755);
    config = join(home, 'pipelines.yaml');
    writeFileSync(
      config,
      configYaml({ baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret }, [{ name: 'pg', format: 'csv' }]),
    );
    const first = await sync().done;
    expect(first.code, first.stderr).toBe(0);
});
afterAll(async () => {
    await pool?.end();
    await emulator?.close();
    await db?.drop();
    if (home) rmSync(home, { recursive: true, force: true });
});

describe('Postgres faults during a sync', () => {

  async function failsThenRecovers(provoke: (run: ReturnType<typeof sync>) => Promise<void>, message: RegExp): Promise<void> {
    changeZuora();
    const before = await watermarkOf(pool, 'pg');
    const run = sync();
    await provoke(run);
    const out = await run.done;
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).not.toMatch(/unexpected error/);
    expect(await watermarkOf(pool, 'pg')).toEqual(before);
    emulator.admin.faults.clear();
    let next = await sync().done;
    expect(next.code, next.stderr).toBe(0);
    // A resumed job loads Zuora as of when it started; the run after it brings the changes made since.
    if (/resuming unfinished job/.test(next.stdout)) next = await sync().done;
    expect(next.code, next.stderr).toBe(0);
    await expectInSync(pool);
  }

  it('fails clearly on a statement timeout and recovers', async () => {
    const locker = await pool.connect();
    await pool.query(`alter database "${db.name}" set statement_timeout = '1500ms'`);
    try {
      await locker.query('begin');
      await locker.query('lock table zuora.account in access exclusive mode');
      await failsThenRecovers(async (run) => {
        await run.done;
        await locker.query('rollback');
        await pool.query(`alter database "${db.name}" reset statement_timeout`);
      }, /\[pg\].*statement timeout/i);
    } finally {
      locker.release();
      await pool.query(`alter database "${db.name}" reset statement_timeout`);
    }
  });

  it('fails clearly when the disk is full during COPY and recovers', async () => {
    // Every new staging table gets a trigger failing its rows with SQLSTATE 53100, as a full disk fails COPY.
    await pool.query(`
      create function public.disk_full() returns trigger language plpgsql as $$
      begin raise exception 'could not extend file "base/1/2": No space left on device' using errcode = '53100'; end $$;
      create function public.arm_disk_full() returns event_trigger language plpgsql as $$
      declare r record;
      begin
        for r in select * from pg_event_trigger_ddl_commands() where command_tag = 'CREATE TABLE' loop
          execute format('create trigger disk_full before insert on %s for each row execute function public.disk_full()', r.object_identity);
        end loop;
      end $$;
      create event trigger arm_disk_full on ddl_command_end when tag in ('CREATE TABLE') execute function public.arm_disk_full();
    `);
    try {
      await failsThenRecovers(async (run) => {
        await run.done;
        await pool.query('drop event trigger arm_disk_full');
      }, /\[pg\].*(No space left|disk)/i);
    } finally {
      await pool.query('drop event trigger if exists arm_disk_full');
    }
  });

  it('recovers when the connection is terminated mid-COPY', async () => {
    // A slow file keeps the COPY open long enough to find and kill its backend.
    // The incremental files hold a few rows (about 1 KB): 300 B/s keeps each COPY open for seconds.
    emulator.admin.faults.add({ kind: 'slow', bytesPerSecond: 300, times: 4 });
    await failsThenRecovers(async (run) => {
      const pid = await waitFor('a COPY in progress', () => backendOf(db.name, /^\s*copy /i), { abandon: run.exited, intervalMs: 10 });
      expect(pid, 'a COPY was in progress').toBeDefined();
      await pool.query('select pg_terminate_backend($1)', [pid]);
    }, /\[pg\].*(terminat|connection)/i);
  });

  it('recovers when the connection is terminated mid-upsert', async () => {
    // Holding a lock on the table parks the upsert, so its backend can be found and killed mid-statement.
    const locker = await pool.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table zuora.account in access exclusive mode');
      await failsThenRecovers(async (run) => {
        const pid = await waitFor('an upsert waiting on its lock', () => backendOf(db.name, /zuora"?\."?account/i, true), { abandon: run.exited, intervalMs: 10 });
        expect(pid, 'an upsert was waiting').toBeDefined();
        await pool.query('select pg_terminate_backend($1)', [pid]);
        await locker.query('rollback');
      }, /\[pg\].*(terminat|connection)/i);
    } finally {
      locker.release();
    }
  });
});

describe('the warehouse server restarting mid-run', () => {
  let pgHome: string;
  beforeAll(() => {
    pgHome = mkdtempSync(join(tmpdir(), 'aquasync-pgrestart-'));
    chmodSync(pgHome, 0o755); // the embedded server runs as the postgres user when tests run as root
  });
  afterAll(() => rmSync(pgHome, { recursive: true, force: true }));

  it('fails the interrupted run clearly and recovers once the server is back', async () => {
    let server = await startEmbeddedPostgres({ home: pgHome });
    const admin = new pg.Client({ connectionString: server.connectionString('postgres') });
    await admin.connect();
    await admin.query('create database restart');
    await admin.end();
    const url = server.connectionString('restart');
    try {
      const first = await sync(url).done;
      expect(first.code, first.stderr).toBe(0);
      changeZuora();
      // The incremental files hold a few rows (about 1 KB): 300 B/s keeps each COPY open for seconds.
      emulator.admin.faults.add({ kind: 'slow', bytesPerSecond: 300, times: 4 });
      const run = sync(url);
      const restartPool = testPool({ connectionString: url, max: 1 });
      const before = await watermarkOf(restartPool, 'pg');
      const copying = await waitFor(
        'a COPY in progress',
        async () => {
          const { rows } = await restartPool.query("select 1 from pg_stat_activity where query ilike 'copy %'");
          return rows.length ? true : undefined;
        },
        { abandon: run.exited, intervalMs: 10 },
      );
      await restartPool.end();
      expect(copying).toBe(true);
      await server.stop();
      const out = await run.done;
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/\[pg\].*(terminat|connect|shut)/i);
      expect(out.stderr).not.toMatch(/unexpected error/);
      server = await startEmbeddedPostgres({ home: pgHome });
      emulator.admin.faults.clear();
      const after = testPool({ connectionString: server.connectionString('restart'), max: 1 });
      try {
        expect(await watermarkOf(after, 'pg')).toEqual(before);
        const next = await sync(server.connectionString('restart')).done;
        expect(next.code, next.stderr).toBe(0);
        await expectInSync(after);
      } finally {
        await after.end();
      }
    } finally {
      await server.stop();
    }
  }, 120_000);
});
