// src/db: the pg pool and Kysely instance, the embedded Postgres, migrations, transactions, identifier quoting.
export type { Warehouse } from './types.ts';
export { openWarehouse, resolveHome, ensureDatabase, EMBEDDED_DATABASE, type OpenWarehouseOptions } from './warehouse.ts';
export { createPool, lockPoolFor, endLockPool, checkConnection, connectionError, connectionTarget, redactUrl, type ConnectionTarget, type PoolOptions } from './pool.ts';
export {
  startEmbeddedPostgres,
  runningEmbeddedServer,
  embeddedPaths,
  decideRunAs,
  firstUntraversable,
  parsePostmasterPid,
  type EmbeddedServer,
  type EmbeddedPaths,
  type RunAsDecision,
  type PathEntry,
  type PostmasterInfo,
  type StartEmbeddedOptions,
} from './embedded.ts';
export { migrate, STATE_SCHEMA } from './migrate.ts';
export { withTransaction, kyselyForClient } from './transaction.ts';
export { quoteIdent } from './sql.ts';
