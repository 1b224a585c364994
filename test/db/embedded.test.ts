// The embedded Postgres: cold start, reuse by a second open, stop on close, warm restart with data kept.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedPaths, openWarehouse, runningEmbeddedServer, type Warehouse } from '../../src/db/index.ts';

let home: string;
const open: Warehouse[] = [];

beforeAll(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'aquasync-embedded-'));
  await fs.chmod(home, 0o755); // the postgres user must enter it when the tests run as root
});

afterAll(async () => {
  for (const w of open.reverse()) await w.close();
  await fs.rm(home, { recursive: true, force: true });
});

async function openEmbedded(): Promise<Warehouse> {
  const w = await openWarehouse({ home });
  open.push(w);
  return w;
}

describe('embedded Postgres', () => {
  it('starts, reuses a running server, stops on close and keeps data across restarts', async () => {
    const paths = embeddedPaths(home);
    const first = await openEmbedded();
    expect(first.embedded?.dataDir).toBe(paths.dataDir);
    const port = first.embedded?.port;
    expect(port).toBeGreaterThan(0);
    expect((await fs.readFile(paths.portFile, 'utf8')).trim()).toBe(String(port));
    expect(await runningEmbeddedServer(home)).toMatchObject({ port });
    expect(first.url).toBe(`postgres://postgres:***@127.0.0.1:${port}/aquasync`);

    const { rows } = await first.pool.query<{ db: string; tz: string }>(
      "SELECT current_database() AS db, current_setting('TimeZone') AS tz",
    );
    expect(rows[0]).toEqual({ db: 'aquasync', tz: 'UTC' });
    await first.pool.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');

    // A second open of the same home connects to the running server instead of starting another.
    const second = await openEmbedded();
    expect(second.embedded?.port).toBe(port);
    await second.close();
    const stillUp = await first.pool.query<{ v: number }>('SELECT v FROM kept');
    expect(stillUp.rows).toEqual([{ v: 42 }]);

    await first.close();
    expect(await runningEmbeddedServer(home)).toBeUndefined();
    await expect(fs.access(path.join(paths.dataDir, 'postmaster.pid'))).rejects.toThrow();

    // Warm start: the cluster is reused (no initdb), data is still there.
    const pgVersionBefore = await fs.stat(path.join(paths.dataDir, 'PG_VERSION'));
    const third = await openEmbedded();
    const again = await third.pool.query<{ v: number }>('SELECT v FROM kept');
    expect(again.rows).toEqual([{ v: 42 }]);
    const pgVersionAfter = await fs.stat(path.join(paths.dataDir, 'PG_VERSION'));
    expect(pgVersionAfter.mtimeMs).toBe(pgVersionBefore.mtimeMs);
    await third.close();
    expect(await runningEmbeddedServer(home)).toBeUndefined();
  });
});
