// The pg pool every part of aquasync shares, and the translation of connection failures into WarehouseError.
import pg from 'pg';
import { WarehouseError } from '../errors.ts';
import { registerSecret, silentLogger, type Logger } from '../log.ts';

const INT8_OID = 20;

// bigint columns (ids, row counts) come back as JS numbers: they stay far below 2^53, and every caller would
// otherwise have to parse strings. Scoped to our pools instead of patching pg.types globally.
const poolTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  }) as typeof pg.types.getTypeParser,
};

export interface ConnectionTarget {
  host: string;
  port: string;
  database: string;
  user: string;
}

/** Host, port, database and user of a URL, for messages. Never the password. */
export function connectionTarget(url: string): ConnectionTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WarehouseError('the database URL is not a valid URL', {
      hint: 'use the form postgres://user:password@host:5432/database',
    });
  }
  return {
    host: parsed.hostname || 'localhost',
    port: parsed.port || '5432',
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres',
    user: decodeURIComponent(parsed.username) || 'postgres',
  };
}

/**
 * 'ok', or 'unreachable' when a trivial query fails, for health endpoints: whoever polls /healthz learns that the
 * warehouse is down, never its host names, user names or server messages. The reason goes to the log, once per
 * distinct reason (an orchestrator polls every few seconds).
 */
export async function probeWarehouse(pool: pg.Pool, logger: Logger): Promise<'ok' | 'unreachable'> {
  try {
    await pool.query('SELECT 1');
    lastProbeFailure = undefined;
    return 'ok';
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (reason !== lastProbeFailure) logger.warn(`health check: the warehouse does not answer: ${reason}`);
    lastProbeFailure = reason;
    return 'unreachable';
  }
}
let lastProbeFailure: string | undefined;

/** Query parameters of a connection string that carry a password (libpq and pg read `?password=`). */
const PASSWORD_PARAM = /pass(word)?|pwd/i;

/** The URL with its password replaced by `***`, in the userinfo and in any password-named query parameter. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // URLSearchParams decodes the names, so `pass%77ord=` is found too.
    for (const key of [...new Set(parsed.searchParams.keys())]) {
      if (PASSWORD_PARAM.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return '(invalid database URL)';
  }
}

/** Every password a connection URL carries (userinfo and query), as written and decoded, for the redactor. */
export function urlPasswords(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const found = [parsed.password, ...[...parsed.searchParams].filter(([key]) => PASSWORD_PARAM.test(key)).map(([, value]) => value)];
  const out: string[] = [];
  for (const value of found.filter(Boolean)) {
    out.push(value);
    try {
      out.push(decodeURIComponent(value));
    } catch {
      // A bad escape: databaseUrlFromEnv refuses such a URL before it gets here; the raw form is registered.
    }
  }
  return out;
}

export interface PoolOptions {
  max?: number;
  logger?: Logger;
  applicationName?: string;
}

/** A pool whose connections all run in UTC and parse bigint as number. Registers the URL's password as a secret. */
export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const logger = options.logger ?? silentLogger;
  const target = connectionTarget(url);
  for (const password of urlPasswords(url)) registerSecret(password);
  const pool = new pg.Pool({
    connectionString: url,
    application_name: options.applicationName ?? 'aquasync',
    max: options.max ?? 10,
    types: poolTypes,
    // Awaited by pg-pool before the client is handed out; a failure fails that checkout and discards the client.
    onConnect: async (client: pg.ClientBase) => {
      // A checked-out client whose connection dies (server restart, pg_terminate_backend) emits 'error' besides
      // rejecting its query; without a listener that event would crash the process instead of failing the run.
      client.on('error', (error: Error) => {
        logger.debug('warehouse connection lost while in use', { host: target.host, error: error.message });
      });
      await client.query("SET TIME ZONE 'UTC'");
    },
  });
  // An idle client losing its connection (server restart) must not crash the process; the next query reconnects.
  pool.on('error', (error) => {
    logger.warn('idle warehouse connection lost', { host: target.host, database: target.database, error: error.message });
  });
  return pool;
}

interface PgLikeError {
  code?: string;
  message?: string;
}

/**
 * Turns a failure to reach the warehouse into a WarehouseError saying where and what to do. Pure: the message is
 * built from the target (host, port, database, user) and the driver's code, never from the URL itself.
 */
export function connectionError(error: unknown, target: ConnectionTarget): WarehouseError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as PgLikeError;
  const where = `${target.host}:${target.port}/${target.database}`;
  const detail = typeof e.message === 'string' ? e.message : String(error);
  const make = (what: string, hint: string, retryable: boolean): WarehouseError =>
    new WarehouseError(`cannot connect to the warehouse at ${where}: ${what}`, {
      hint,
      retryable,
      cause: error,
      context: { host: target.host, port: target.port, database: target.database, user: target.user, code: e.code },
    });
  switch (e.code) {
    case 'ECONNREFUSED':
      return make('connection refused', `is Postgres running and listening on ${target.host}:${target.port}? Check DATABASE_URL, or unset it to use the embedded Postgres`, true);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make(`host "${target.host}" not found`, 'check the host name in DATABASE_URL', e.code === 'EAI_AGAIN');
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return make('the connection timed out or was reset', 'check the network path to the database; this may be temporary', true);
    case '28P01':
    case '28000':
      return make(`authentication failed for user "${target.user}"`, 'check the user and password in DATABASE_URL (and pg_hba.conf on the server)', false);
    case '3D000':
      return make(`database "${target.database}" does not exist`, `create it (createdb ${target.database}) or fix the database name in DATABASE_URL`, false);
    case '53300':
      return make('too many connections', 'the server has no free connection slots; lower concurrency or raise max_connections', true);
    case '57P03':
      return make('the server is starting up or shutting down', 'wait a moment and retry', true);
    default:
      return make(detail, 'check DATABASE_URL and that the server is reachable', false);
  }
}

/** Opens one connection and runs `SELECT 1`, so a bad URL fails here with a clear message rather than mid-sync. */
export async function checkConnection(pool: pg.Pool, url: string): Promise<void> {
  const target = connectionTarget(url);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw connectionError(error, target);
  }
  try {
    await client.query('SELECT 1');
  } catch (error) {
    throw connectionError(error, target);
  } finally {
    client.release();
  }
}

const lockPools = new WeakMap<pg.Pool, pg.Pool>();

/**
 * Connections that hold session-level advisory locks for a whole run (pipeline locks, job-budget slots) come from a
 * pool of their own. Taken from the work pool, twenty waiting runs would hold every connection while the runs that
 * hold a lock wait for one to stage or apply: a deadlock, found by the twenty-pipeline load test.
 */
export function lockPoolFor(pool: pg.Pool): pg.Pool {
  let lockPool = lockPools.get(pool);
  if (!lockPool) {
    lockPool = new pg.Pool({ ...pool.options, max: 64, idleTimeoutMillis: 1000, allowExitOnIdle: true });
    // An idle lock connection holds no lock; a busy one's holder listens for its errors itself.
    lockPool.on('error', () => undefined);
    lockPools.set(pool, lockPool);
  }
  return lockPool;
}

export async function endLockPool(pool: pg.Pool): Promise<void> {
  const lockPool = lockPools.get(pool);
  if (!lockPool) return;
  lockPools.delete(pool);
  await endPool(lockPool);
}

/**
 * Ends a pool and waits until every one of its connections has really closed. pg-pool's end() resolves as soon as
 * it has asked its idle clients to end, while their sockets are still open: a server stopped right after (the
 * embedded one used to be) then terminated those sessions, and each showed up as "idle warehouse connection lost".
 */
export async function endPool(pool: pg.Pool): Promise<void> {
  const closed = connectionsClosed(pool);
  await pool.end();
  await closed;
}

/**
 * Resolves once every connection the pool has now has closed (call it before ending the pool some other way, e.g.
 * Kysely's destroy()). Gives up after `timeoutMs`: a connection that never finishes closing must not hold the
 * process, and its socket ends with the process anyway.
 */
export function connectionsClosed(pool: pg.Pool, timeoutMs = 5_000): Promise<void> {
  let open = pool.totalCount;
  if (open === 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    function done(): void {
      clearTimeout(timer);
      pool.off('remove', onRemove);
      resolve();
    }
    function onRemove(): void {
      open -= 1;
      if (open <= 0) done();
    }
    pool.on('remove', onRemove);
  });
}
