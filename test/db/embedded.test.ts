// The embedded Postgres as a shared local service: started detached in a session of its own, found again by later
// opens, left running by close(), stopped only on request, on the port it is given, data kept across restarts, and
// the initdb password never written to the shared temp folder.
import { watch, type FSWatcher } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  embeddedStatus,
  freePort,
  openWarehouse,
  runningEmbeddedServer,
  startEmbeddedPostgres,
  stopEmbeddedPostgres,
  type Warehouse,
} from '../../src/db/index.ts';
import { EmbeddedPostgresError } from '../../src/errors.ts';

const homes: string[] = [];

async function newHome(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'aquasync-embedded-'));
  await fs.chmod(dir, 0o755); // the postgres user must enter it when the tests run as root
  homes.push(dir);
  return dir;
}

afterAll(async () => {
  for (const home of homes) {
    await stopEmbeddedPostgres(home).catch(() => undefined);
    await fs.rm(home, { recursive: true, force: true });
  }
});

/** Field 6 of /proc/<pid>/stat is the session id. */
async function sessionOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
  } catch {
    return undefined; // no /proc (macOS): nothing to compare
  }
}

describe('embedded Postgres service', () => {
  let home: string;
  let port: number;
  const open: Warehouse[] = [];
  let tmpEvents: string[] = [];
  let watcher: FSWatcher | undefined;
  let savedTmp: string | undefined;

  beforeAll(async () => {
    home = await newHome();
    port = await freePort();
    // Everything written to the temp folder while the cluster is created is recorded: the password must not be.
    savedTmp = process.env.TMPDIR;
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'aquasync-tmpwatch-'));
    homes.push(tmp);
    process.env.TMPDIR = tmp;
    watcher = watch(tmp, (event, name) => tmpEvents.push(`${event} ${String(name)}`));
  });

  afterAll(async () => {
    for (const w of open.reverse()) await w.close();
  });

  it('starts detached, in a session of its own, with the initdb password kept out of the temp folder', async () => {
    const first = await openWarehouse({ home, embeddedPort: port });
    open.push(first);
    watcher?.close();
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    expect(tmpEvents).toEqual([]);
    tmpEvents = [];

    expect(first.embedded).toMatchObject({ port, startedNow: true });
    expect(first.url).toBe(`postgres://postgres:***@127.0.0.1:${port}/aquasync`);
    const running = await runningEmbeddedServer(home);
    expect(running?.port).toBe(port);
    const session = await sessionOf(running!.pid);
    if (session !== undefined) {
      expect(session).toBe(running!.pid); // the postmaster leads its own session: no terminal signal reaches it
      expect(session).not.toBe(await sessionOf(process.pid));
    }
    const { rows } = await first.pool.query<{ db: string; tz: string }>("SELECT current_database() AS db, current_setting('TimeZone') AS tz");
    expect(rows[0]).toEqual({ db: 'aquasync', tz: 'UTC' });
    await first.pool.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
    // No initdb leftovers next to the data.
    expect((await fs.readdir(path.join(home, 'pg'))).filter((f) => f.startsWith('.initdb'))).toEqual([]);
    // The password that stays (for later opens) is readable by its owner only.
    expect((await fs.stat(path.join(home, 'pg', 'password'))).mode & 0o777).toBe(0o600);
  });

  it('is found again by a later open and keeps running when that open closes', async () => {
    const before = await runningEmbeddedServer(home);
    const second = await openWarehouse({ home, embeddedPort: port + 1 }); // a port only matters for a start
    expect(second.embedded).toMatchObject({ port, startedNow: false });
    await second.close();
    expect(await runningEmbeddedServer(home)).toEqual(before);
    const stillUp = await open[0]!.pool.query<{ v: number }>('SELECT v FROM kept');
    expect(stillUp.rows).toEqual([{ v: 42 }]);
  });

  it('stops only on request, keeps its data, and comes back on the port it remembers', async () => {
    for (const w of open.splice(0)) await w.close();
    expect(await runningEmbeddedServer(home)).toBeDefined(); // close() never stops it
    expect(await stopEmbeddedPostgres(home)).toBe(true);
    expect(await runningEmbeddedServer(home)).toBeUndefined();
    expect(await stopEmbeddedPostgres(home)).toBe(false);
    const pgVersion = await fs.stat(path.join(home, 'pg', 'data', 'PG_VERSION'));

    // 'configured' with no AQUASYNC_PG_PORT: the port this home last ran on.
    const again = await startEmbeddedPostgres({ home, port: 'configured', env: {} });
    expect(again).toMatchObject({ port, startedNow: true, timings: { initdbMs: 0 } });
    expect((await fs.stat(path.join(home, 'pg', 'data', 'PG_VERSION'))).mtimeMs).toBe(pgVersion.mtimeMs);
    const w = await openWarehouse({ home });
    try {
      expect((await w.pool.query<{ v: number }>('SELECT v FROM kept')).rows).toEqual([{ v: 42 }]);
    } finally {
      await w.close();
    }
    const status = await embeddedStatus(home);
    expect(status).toMatchObject({ initialised: true, running: { port } });
    await again.stop();
    expect(await runningEmbeddedServer(home)).toBeUndefined();
  });

  it('says clearly when another program holds its port, with a free one to use instead', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const error = await startEmbeddedPostgres({ home, port: 'configured', env: { AQUASYNC_PG_PORT: String(taken) } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(EmbeddedPostgresError);
      expect((error as EmbeddedPostgresError).message).toContain(`port ${taken} on 127.0.0.1`);
      expect((error as EmbeddedPostgresError).message).toMatch(/used by another program/);
      expect((error as EmbeddedPostgresError).hint).toMatch(/export AQUASYNC_PG_PORT=\d+/);
      expect(await runningEmbeddedServer(home)).toBeUndefined();
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('refuses a malformed AQUASYNC_PG_PORT', async () => {
    await expect(startEmbeddedPostgres({ home, port: 'configured', env: { AQUASYNC_PG_PORT: 'fast' } })).rejects.toThrow(
      /AQUASYNC_PG_PORT must be a port number/,
    );
  });
});

describe.runIf(process.getuid?.() === 0)('embedded Postgres as root in a directory the postgres user cannot enter', () => {
  it('keeps the data under /var/lib/aquasync, linked from <home>/pg, and says so', async () => {
    const outer = await fs.mkdtemp(path.join(os.tmpdir(), 'aquasync-private-'));
    homes.push(outer);
    await fs.chmod(outer, 0o700);
    const home = path.join(outer, 'home');
    homes.push(home);
    const lines: string[] = [];
    const logger = (await import('../../src/log.ts')).createLogger({ write: (line) => lines.push(line) });
    const server = await startEmbeddedPostgres({ home, logger });
    try {
      const link = await fs.readlink(path.join(home, 'pg'));
      expect(link).toMatch(/^\/var\/lib\/aquasync\/pg-/);
      expect(server.dataDir).toBe(path.join(link, 'data'));
      expect(lines.join('\n')).toContain(`the postgres user cannot enter ${outer}`);
      expect(lines.join('\n')).toContain(link);
      const found = await startEmbeddedPostgres({ home });
      expect(found).toMatchObject({ startedNow: false, port: server.port, dataDir: server.dataDir });
    } finally {
      await server.stop();
      await fs.rm(await fs.readlink(path.join(home, 'pg')), { recursive: true, force: true });
    }
  });
});
