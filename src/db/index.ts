// src/db: the pg pool and Kysely instance, the embedded Postgres, migrations, transactions, identifier quoting.
export type { EmbeddedInfo, Warehouse } from './types.ts';
export { openWarehouse, resolveHome, ensureDatabase, EMBEDDED_DATABASE, type OpenWarehouseOptions } from './warehouse.ts';
export { createPool, lockPoolFor, endLockPool, endPool, connectionsClosed, checkConnection, connectionError, connectionTarget, redactUrl, urlPasswords, probeWarehouse, type ConnectionTarget, type PoolOptions } from './pool.ts';
export {
  startEmbeddedPostgres,
  stopEmbeddedPostgres,
  embeddedStatus,
  runningEmbeddedServer,
  freePort,
  type EmbeddedServer,
  type EmbeddedStatus,
  type StartEmbeddedOptions,
} from './embedded.ts';
export {
  embeddedPaths,
  decideRunAs,
  firstUntraversable,
  parsePostmasterPid,
  choosePort,
  relocatedPgDir,
  DEFAULT_EMBEDDED_PORT,
  PORT_ENV,
  type EmbeddedPaths,
  type RunAsDecision,
  type PathEntry,
  type PostmasterInfo,
} from './embedded-layout.ts';
export { migrate, STATE_SCHEMA } from './migrate.ts';
export { postgresBinaries, type PostgresBinaries } from './embedded-binaries.ts';
export { withTransaction, kyselyForClient } from './transaction.ts';
export { quoteIdent } from './sql.ts';
export { STATE_COLUMNS } from './schema.ts';
export type * from './schema.ts';
