// Opens the warehouse: the user's Postgres (DATABASE_URL) or the embedded one under AQUASYNC_HOME. The embedded
// server is a shared local service: opening starts it when needed, closing leaves it running for other commands.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { EmbeddedPostgresError } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { StateDatabase } from './schema.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded.ts';
import { checkConnection, connectionsClosed, createPool, endLockPool, redactUrl } from './pool.ts';
import { quoteIdent } from './sql.ts';
import type { Warehouse } from './types.ts';

export const EMBEDDED_DATABASE = 'aquasync';

export interface OpenWarehouseOptions {
  /** The user's Postgres. When absent, the embedded Postgres is used. */
  databaseUrl?: string;
  /** aquasync's home directory (embedded data lives in `<home>/pg`); defaults to $AQUASYNC_HOME or ./.aquasync. */
  home?: string;
  /** Port of the embedded server when it has to be started (see StartEmbeddedOptions.port); default 'configured'. */
  embeddedPort?: number | 'configured';
  logger?: Logger;
}

export function resolveHome(home?: string): string {
  return home ?? process.env.AQUASYNC_HOME ?? './.aquasync';
}

export async function openWarehouse(options: OpenWarehouseOptions): Promise<Warehouse> {
  const logger = options.logger ?? silentLogger;
  if (options.databaseUrl) return openUrl(options.databaseUrl, logger, undefined);

  const home = resolveHome(options.home);
  const server = await startEmbeddedPostgres({ home, logger, port: options.embeddedPort ?? 'configured' });
  if (server.startedNow) {
    logger.debug("started the embedded Postgres", { port: server.port, dataDir: server.dataDir });
  }
  await ensureDatabase(server.connectionString('postgres'), EMBEDDED_DATABASE);
  return openUrl(server.connectionString(EMBEDDED_DATABASE), logger, server);
}

async function openUrl(url: string, logger: Logger, server: EmbeddedServer | undefined): Promise<Warehouse> {
  const pool = createPool(url, { logger });
  try {
    await checkConnection(pool, url);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const db = new Kysely<StateDatabase>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    pool,
    db,
    url: redactUrl(url),
    embedded: server
      ? { port: server.port, dataDir: server.dataDir, pgDir: server.pgDir, passwordFile: server.passwordFile, startedNow: server.startedNow }
      : undefined,
    async close() {
      if (closed) return;
      closed = true;
      await endLockPool(pool);
      const allClosed = connectionsClosed(pool);
      await db.destroy(); // ends the pool, but only when Kysely has used it
      if (!pool.ending) await pool.end();
      await allClosed;
    },
  };
}

/** Creates `database` on the server if it is missing (several processes may race here; the loser's error is expected). */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'aquasync' });
  try {
    await client.connect();
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
      } catch (error) {
        // 42P04 duplicate_database / 23505: another process created it between our check and our CREATE.
        const code = (error as { code?: string }).code;
        if (code !== '42P04' && code !== '23505') throw error;
      }
    }
  } catch (error) {
    throw new EmbeddedPostgresError(`cannot create the database "${database}" in the embedded Postgres: ${(error as Error).message}`, {
      hint: 'the embedded server started but refused the connection; remove <home>/pg to start over, or set DATABASE_URL',
      cause: error,
    });
  } finally {
    await client.end().catch(() => undefined); // the connection may never have opened; nothing to clean up then
  }
}
