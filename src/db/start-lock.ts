// The lock that keeps two aquasync processes from initialising or starting one embedded Postgres at once (two
// initdb runs in one folder, and the loser's cleanup removes the winner's data folder). A lock file holds its
// holder's pid; a holder that died is detected and its lock taken over.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { EmbeddedPostgresError } from '../errors.ts';

/** How long an unreadable lock file may stay unreadable before it counts as left over by a crash. */
const UNREADABLE_GRACE_MS = 5_000;

/** Waits for the lock (at most `timeoutMs`); resolves with its release. */
export async function acquireStartLock(file: string, timeoutMs: number): Promise<() => Promise<void>> {
  const token = `${process.pid} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await claim(file, token)) {
      return async () => {
        if ((await readIfExists(file)) === token) await fs.rm(file, { force: true });
      };
    }
    const seen = await readIfExists(file);
    if (seen === undefined) continue;
    const holder = Number(seen.split(' ')[0]);
    const readable = Number.isInteger(holder) && holder > 0;
    if (readable ? !isAlive(holder) : await olderThan(file, UNREADABLE_GRACE_MS)) {
      // Only the lock we judged: a contender may have taken the stale lock over and claimed it since.
      if ((await readIfExists(file)) === seen) await fs.rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new EmbeddedPostgresError(
        `another aquasync process (${readable ? `pid ${holder}` : 'unknown pid'}) has been starting the embedded Postgres for over ${timeoutMs / 1000} s`,
        { hint: `if no such process runs, remove ${file}` },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Creates the lock file with the token already in it: the token is written to a file of our own, which is then
 * hard-linked to the lock's name (atomic, fails when the lock exists). Created empty and written after, a lock file
 * could be read empty by a contender, taken for a dead holder's, and removed while its holder starts Postgres.
 */
async function claim(file: string, token: string): Promise<boolean> {
  const draft = `${file}.${token.replace(' ', '-')}`;
  await fs.writeFile(draft, token);
  try {
    await fs.link(draft, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A file system without hard links: create-exclusive; the unreadable grace covers the moment it is empty.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') return createExclusive(file, token);
    throw error;
  } finally {
    await fs.rm(draft, { force: true });
  }
}

async function createExclusive(file: string, token: string): Promise<boolean> {
  try {
    await fs.writeFile(file, token, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await fs.stat(file)).mtimeMs > ms;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** True while `pid` runs. EPERM: the process exists but belongs to another user (the postgres account). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
