// The embedded Postgres as a local service, seen through the aquasync command: `db start|status|url|stop`, a query
// while `schedule` runs (/healthz stays 200), Ctrl-C to the whole process group during a scheduled load (the grace
// is honoured and the server survives), SQL from a file or standard input, and the configuration errors around the
// warehouse URL. Real processes, a real emulator, a real embedded Postgres on a free port.
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, stopEmbeddedPostgres } from '../../src/db/index.ts';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { aquasync as start, runCli, type CliOutcome, type CliRun } from '../helpers/cli.ts';

/** Starts aquasync in a process group of its own (as a shell starts a foreground job), so the test can signal the group. */
function launch(args: string[], env: NodeJS.ProcessEnv): CliRun {
  return start(args, env, { detached: true });
}

function aquasync(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliOutcome> {
  return runCli(args, env, input === undefined ? {} : { input });
}

function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, context?: () => string): Promise<T> {
  return waitFor(what, probe, { timeoutMs, context });
}

async function healthz(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/healthz`)).status;
  } catch {
    return 0;
  }
}

interface HistoryRow {
  id: number;
  kind: string;
  status: string;
  rowsWritten: number;
  rowsRead: number;
  error: string | null;
}

describe('the embedded Postgres as a service, through the CLI', () => {
  let home: string;
  let pgPort: number;
  let emulator: Emulator;
  let env: NodeJS.ProcessEnv;
  let config: string;
  const launched: CliRun[] = [];

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'aquasync-service-'));
    chmodSync(home, 0o755); // the embedded server runs as the postgres user when tests run as root
    pgPort = await freePort();
    emulator = await startEmulator({ seed: 3, rows: 400, timing: { queuedMs: 5, executingMs: 200 } });
    env = { ...process.env, AQUASYNC_HOME: home, AQUASYNC_PG_PORT: String(pgPort) };
    for (const key of Object.keys(env)) if (key === 'DATABASE_URL' || key.startsWith('ZUORA_') || key.startsWith('PG')) delete env[key];
    config = join(home, 'pipelines.yaml');
    writeFileSync(
      config,
      `source:
  baseUrl: ${emulator.url}
  clientId: ${emulator.clientId}
  clientSecret: ${emulator.clientSecret}
pipelines:
  - name: billing
    schedule: "* * * * * *"
    partner: aquasync
    project: p-service
    format: csv
    objects:
      - name: Account
        fields: [Id, Name, Balance, UpdatedDate]
      - name: InvoiceItem
        fields: [Id, ChargeAmount, ChargeName, UpdatedDate]
`,
    );
  });

  afterAll(async () => {
    for (const r of launched) if (r.child.exitCode === null && r.child.signalCode === null) process.kill(-r.child.pid!, 'SIGKILL');
    await stopEmbeddedPostgres(home).catch(() => undefined);
    await emulator?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('db start, status, url and stop manage one server on the configured port; stop refuses while a session is open', async () => {
    const before = await aquasync(['db', 'status'], env);
    expect(before.code).toBe(3);
    expect(before.stdout).toMatch(/is not running \(not created yet\)/);
    expect(before.stdout).toContain('npx aquasync db start');

    const started = await aquasync(['db', 'start'], env);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain(`embedded Postgres started on 127.0.0.1:${pgPort}`);
    expect(started.stdout).toContain(`psql -h 127.0.0.1 -p ${pgPort} -U postgres aquasync`);
    const again = await aquasync(['db', 'start'], env);
    expect(again.stdout).toContain(`already running on 127.0.0.1:${pgPort}`);

    const url = (await aquasync(['db', 'url'], env)).stdout.trim();
    expect(url).toMatch(new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${pgPort}/aquasync$`));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const refused = await aquasync(['db', 'stop'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/not stopping the embedded Postgres: 1 session\(s\) use it/);
      expect(refused.stderr).toContain('npx aquasync db stop --force');
      expect((await aquasync(['db', 'status'], env)).code).toBe(0);
    } finally {
      await client.end();
    }
    const stopped = await aquasync(['db', 'stop'], env);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/stopped the embedded Postgres/);
    expect((await aquasync(['db', 'status'], env)).code).toBe(3);
    // --force ends other sessions.
    const restarted = await aquasync(['db', 'start'], env);
    expect(restarted.code).toBe(0);
    const holder = new pg.Client({ connectionString: url });
    holder.on('error', () => undefined); // the forced stop ends this session
    await holder.connect();
    const forced = await aquasync(['db', 'stop', '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
    await holder.end().catch(() => undefined);
    expect((await aquasync(['db', 'status'], env)).code).toBe(3);
  }, 300_000);

  it('query reads SQL from an argument, a file, or standard input', async () => {
    const file = join(home, 'q.sql');
    writeFileSync(file, 'select 40 + 2 as answer;\n');
    const fromFile = await aquasync(['query', '-f', file, '--json'], env);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout.trim().split('\n').pop()).toBe('{"answer":42}');
    const fromStdin = await aquasync(['query', '--json'], env, 'select 7 as seven');
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout.trim().split('\n').pop()).toBe('{"seven":7}');
    const dash = await aquasync(['query', '-f', '-', '--json'], env, 'select 8 as eight');
    expect(dash.stdout.trim().split('\n').pop()).toBe('{"eight":8}');
    const empty = await aquasync(['query'], env, '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/no SQL in standard input/);
    const both = await aquasync(['query', 'select 1', '-f', file], env);
    expect(both.code).toBe(2);
    const missing = await aquasync(['query', '-f', join(home, 'nope.sql')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read SQL from .*nope\.sql: ENOENT/);
  }, 240_000);

  it('a query while schedule runs leaves /healthz at 200; Ctrl-C to the process group lets the load finish within the grace', async () => {
    const schedule = launch(['schedule', '--config', config, '--port', '0', '--grace', '60'], env);
    launched.push(schedule);
    try {
      const base = await until('the status server', () => /\/healthz and \/metrics on (http:\/\/\S+)/.exec(schedule.output())?.[1], 60_000, schedule.output);
      expect(base, 'schedule listens on loopback unless --host says otherwise').toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const statusUrl = base;
      await until('/healthz 200', async () => (await healthz(statusUrl)) === 200 || undefined, 30_000, schedule.output);

      const query = await aquasync(['query', 'select 1 as one'], env);
      expect(query.code, query.stderr).toBe(0);
      expect(query.stdout).not.toMatch(/started the embedded Postgres/); // schedule's server, found again
      const status = await aquasync(['status', '--config', config], env);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(`embedded Postgres on 127.0.0.1:${pgPort} (keeps running until "npx aquasync db stop")`);
      expect(await healthz(statusUrl)).toBe(200);

      // From now on result files trickle (a few bytes a second), so the next load is still downloading when
      // Ctrl-C arrives. A load is downloading while it has logged more "completed: N file(s)" than "staged" lines.
      // Only after the first (full) load is in: trickling its 412 rows would outlast the grace.
      await until('the first load', () => /run finished/.test(schedule.output()) || undefined, 60_000, schedule.output);
      emulator.admin.faults.add({ kind: 'slow', bytesPerSecond: 20, times: 2 });
      const count = (pattern: RegExp): number => schedule.output().match(pattern)?.length ?? 0;
      const completedBefore = count(/completed: \d+ file/g);
      await until(
        'a load downloading its files',
        () => (count(/completed: \d+ file/g) > completedBefore && count(/completed: \d+ file/g) > count(/staged \d+ file/g)) || undefined,
        60_000,
        schedule.output,
      );
      process.kill(-schedule.child.pid!, 'SIGINT'); // what Ctrl-C in a terminal does: the whole foreground group
      const exit = await schedule.done;
      const out = schedule.output();
      expect(exit.code, out).toBe(0);
      expect(out).toMatch(/SIGINT received: no new runs; a running load may finish within 60 s/);
      expect(out).toMatch(/stopped cleanly/);
      expect(out).not.toMatch(/ERROR|connection lost|terminating connection/);
      // The load that was downloading finished after the signal.
      expect(out.lastIndexOf('status=succeeded')).toBeGreaterThan(out.indexOf('SIGINT received'));
    } finally {
      emulator.admin.faults.clear();
      if (schedule.child.exitCode === null && schedule.child.signalCode === null) process.kill(-schedule.child.pid!, 'SIGKILL');
    }

    // The server was not in the group: it still runs, and every run is recorded as finished.
    expect((await aquasync(['db', 'status'], env)).code).toBe(0);
    const history = await aquasync(['history', '--json', '--limit', '10000'], env);
    const runs = history.stdout.trim().split('\n').map((line) => JSON.parse(line) as HistoryRow);
    expect(runs.some((r) => r.status === 'running')).toBe(false);
    const scheduled = runs.filter((r) => r.kind === 'scheduled');
    expect(scheduled.length).toBeGreaterThan(0);
    expect(scheduled.every((r) => r.status === 'succeeded')).toBe(true);
    expect(scheduled.some((r) => r.rowsRead > 0)).toBe(true);
  }, 240_000);

  it('a scheduled load that cannot finish within the grace is abandoned: exit 130 and no run left running', async () => {
    emulator.admin.faults.add({ kind: 'stuck' });
    const schedule = launch(['schedule', '--config', config, '--grace', '1'], env);
    launched.push(schedule);
    let exit: { code: number | null };
    try {
      await until('a submitted job', () => /submitted sync job/.test(schedule.output()) || undefined, 60_000, schedule.output);
      process.kill(-schedule.child.pid!, 'SIGINT');
      exit = await schedule.done;
    } finally {
      emulator.admin.faults.clear();
      if (schedule.child.exitCode === null && schedule.child.signalCode === null) process.kill(-schedule.child.pid!, 'SIGKILL');
    }
    expect(exit.code, schedule.output()).toBe(130);
    expect((await aquasync(['db', 'status'], env)).code).toBe(0);
    const runs = (await aquasync(['history', '--json', '--limit', '5'], env)).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as HistoryRow);
    expect(runs.some((r) => r.status === 'running'), JSON.stringify(runs) + schedule.output()).toBe(false);
    expect(runs[0]).toMatchObject({ kind: 'scheduled' });
    expect(runs[0]!.status).not.toBe('succeeded');
  }, 240_000);
});

describe('two commands starting the embedded Postgres at once', () => {
  it('share one server: neither fails for want of a warehouse', async () => {
    const home = mkdtempSync(join(tmpdir(), 'aquasync-race-'));
    chmodSync(home, 0o755);
    const env: NodeJS.ProcessEnv = { ...process.env, AQUASYNC_HOME: home, AQUASYNC_PG_PORT: String(await freePort()) };
    for (const key of Object.keys(env)) if (key === 'DATABASE_URL' || key.startsWith('ZUORA_') || key.startsWith('PG')) delete env[key];
    try {
      const [a, b] = await Promise.all([aquasync(['sync'], env), aquasync(['sync'], env)]);
      for (const out of [a, b]) {
        // Either it loaded, or the other one held the pipeline's lock at that moment: never a warehouse failure.
        if (out.code !== 0) {
          expect(out.code).toBe(1);
          expect(out.stdout + out.stderr).toMatch(/another run of pipeline "billing" is in progress/);
          expect(out.stdout).toMatch(/next: wait for it to finish/);
        }
        expect(out.stdout + out.stderr).not.toMatch(/warehouse|connection|EMBEDDED_POSTGRES|terminat/i);
      }
      expect([a.code, b.code]).toContain(0);
      expect(a.stdout.includes('started the embedded Postgres') !== b.stdout.includes('started the embedded Postgres')).toBe(true);
    } finally {
      await stopEmbeddedPostgres(home);
      rmSync(home, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('warehouse URL and temp folders', () => {
  it('accepts only postgres:// and postgresql:// URLs (a configuration error, exit 2)', async () => {
    const env = { ...process.env, DATABASE_URL: 'mysql://user:secret-pw@db.example.com/shop' };
    const out = await aquasync(['status'], env);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL, not mysql:\/\//);
    expect(out.stderr).not.toContain('secret-pw');
    expect(out.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 120_000);

  it('a failed warehouse open leaves no temp folder behind', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'aquasync-tmpcheck-'));
    try {
      const closed = await freePort();
      const env = { ...process.env, TMPDIR: tmp, DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/nowhere` };
      for (const command of [['sync'], ['backfill', '--pipeline', 'billing', '--since', '2026-01-01']]) {
        const out = await aquasync(command, env);
        expect(out.code, out.stderr).toBe(1);
        expect(out.stderr).toMatch(/connection refused/);
      }
      // Nothing at all: no aquasync- folder, and no compiler cache either (the CLI runs compiled JavaScript; tsx kept
      // its cache in $TMPDIR/tsx-<uid> and ran code planted there).
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 180_000);
});
