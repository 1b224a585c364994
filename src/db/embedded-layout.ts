// Pure decisions behind the embedded Postgres: who runs it, where its files live, which port it listens on, and
// how to read Postgres's own postmaster.pid. No I/O here: embedded.ts gathers the facts and acts on the answers.
import { createHash } from 'node:crypto';
import path from 'node:path';

export const EMBEDDED_USER = 'postgres';

/** The port the embedded Postgres listens on when nothing else is said (54329: "5432" and a 9, rarely taken). */
export const DEFAULT_EMBEDDED_PORT = 54329;

/** Environment variable that chooses the embedded server's port. */
export const PORT_ENV = 'AQUASYNC_PG_PORT';

/** Where a root-run aquasync keeps embedded data the postgres user could not reach under the home directory. */
export const SYSTEM_DATA_ROOT = '/var/lib/aquasync';

export interface EmbeddedPaths {
  /** `<pg dir>`: password, remembered port, start lock; `<home>/pg` or where that symlink points. */
  pgDir: string;
  /** `<pg dir>/data`: the Postgres cluster. */
  dataDir: string;
  portFile: string;
  passwordFile: string;
  lockFile: string;
  /** The server's log (inside the data dir: the server user must be able to write it). */
  logFile: string;
}

export function pathsIn(pgDir: string): EmbeddedPaths {
  const dataDir = path.join(pgDir, 'data');
  return {
    pgDir,
    dataDir,
    portFile: path.join(pgDir, 'port'),
    passwordFile: path.join(pgDir, 'password'),
    lockFile: path.join(pgDir, 'start.lock'),
    logFile: path.join(dataDir, 'server.log'),
  };
}

/** The paths of `<home>/pg` as written (embedded.ts resolves a relocation symlink before using them). */
export function embeddedPaths(home: string): EmbeddedPaths {
  return pathsIn(path.join(path.resolve(home), 'pg'));
}

/**
 * Where the pg dir of `home` goes when the postgres user cannot enter the home (root working under /root or in a
 * mode-700 directory): under /var/lib/aquasync, named after the home's real path so each home keeps its own data.
 */
export function relocatedPgDir(realHome: string, root = SYSTEM_DATA_ROOT): string {
  const digest = createHash('sha256').update(realHome).digest('hex').slice(0, 12);
  const name = path.basename(path.dirname(realHome)).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40) || 'home';
  return path.join(root, `pg-${name}-${digest}`);
}

export type RunAsDecision =
  | { kind: 'self' }
  | { kind: 'postgres-user'; uid: number; gid: number }
  | { kind: 'refuse'; message: string; hint: string };

/** Who runs initdb/postgres. `uid` is ours (undefined on Windows), `postgresUser` the `postgres` account. */
export function decideRunAs(input: { uid: number | undefined; postgresUser: { uid: number; gid: number } | undefined }): RunAsDecision {
  if (input.uid !== 0) return { kind: 'self' };
  if (input.postgresUser) return { kind: 'postgres-user', uid: input.postgresUser.uid, gid: input.postgresUser.gid };
  return {
    kind: 'refuse',
    message: 'cannot start the embedded Postgres: aquasync runs as root, Postgres refuses to run as root, and there is no "postgres" user to run it as',
    hint: 'create a non-root user named postgres (useradd --system postgres), run aquasync as a normal user, or set DATABASE_URL to use your own Postgres',
  };
}

export interface PathEntry {
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

/**
 * The first directory on the way to a path that user `uid`/`gid` cannot traverse (no x bit for it), if any.
 * Supplementary groups are ignored, which can only make this stricter than the kernel.
 */
export function firstUntraversable(entries: readonly PathEntry[], uid: number, gid: number): string | undefined {
  for (const entry of entries) {
    const bit = entry.uid === uid ? 0o100 : entry.gid === gid ? 0o010 : 0o001;
    if ((entry.mode & bit) === 0) return entry.path;
  }
  return undefined;
}

export interface PostmasterInfo {
  pid: number;
  port: number;
  /** Line 8 when present: starting, ready, stopping or standby. */
  status?: string;
}

/** Parses postmaster.pid: line 1 is the pid, line 4 the port, line 8 the server's state. */
export function parsePostmasterPid(text: string): PostmasterInfo | undefined {
  const lines = text.split('\n');
  const pid = Number(lines[0]?.trim());
  const port = Number(lines[3]?.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  const status = lines[7]?.trim();
  return status ? { pid, port, status } : { pid, port };
}

export type PortChoice = { port: number; source: 'option' | 'env' | 'remembered' | 'default' } | { error: string };

/**
 * The port to start on: an explicit option, then AQUASYNC_PG_PORT, then the port this home last ran on (so the psql
 * line people saved keeps working after a reboot), then the default.
 */
export function choosePort(input: { option?: number | undefined; env?: string | undefined; remembered?: string | undefined }): PortChoice {
  if (input.option !== undefined) return { port: input.option, source: 'option' };
  const env = input.env?.trim();
  if (env) {
    const port = Number(env);
    if (!/^\d+$/.test(env) || port < 1 || port > 65535) return { error: `${PORT_ENV} must be a port number from 1 to 65535, not "${env}"` };
    return { port, source: 'env' };
  }
  const remembered = Number(input.remembered?.trim());
  if (Number.isInteger(remembered) && remembered > 0 && remembered <= 65535) return { port: remembered, source: 'remembered' };
  return { port: DEFAULT_EMBEDDED_PORT, source: 'default' };
}
