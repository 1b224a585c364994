// The lock that keeps two processes from initialising or starting one embedded Postgres at once.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireStartLock } from '../../src/db/start-lock.ts';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
});
function lockFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aquasync-lock-'));
  dirs.push(dir);
  return join(dir, 'start.lock');
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('acquireStartLock', () => {
  it('admits one holder at a time among many contenders', async () => {
    const file = lockFile();
    let holding = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        const release = await acquireStartLock(file, 30_000);
        most = Math.max(most, ++holding);
        await sleep(5);
        holding--;
        await release();
      }),
    );
    expect(most).toBe(1);
  }, 60_000);

  it('takes over the lock of a process that died', async () => {
    const file = lockFile();
    writeFileSync(file, '2147483646 deadbeef');
    const release = await acquireStartLock(file, 5_000);
    await release();
  });

  it('takes over an unreadable lock once it is old, and waits for a live holder until the deadline', async () => {
    const file = lockFile();
    writeFileSync(file, '');
    utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const release = await acquireStartLock(file, 5_000);
    await expect(acquireStartLock(file, 300)).rejects.toThrow(new RegExp(`pid ${process.pid}.*starting the embedded Postgres`));
    await release();
  });
});
