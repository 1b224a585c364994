// What src/db hands to the rest of aquasync.
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { StateDatabase } from '../state/types.ts';

export interface Warehouse {
  pool: pg.Pool;
  db: Kysely<StateDatabase>;
  /** The connection URL with its password replaced by `***`: safe to print. */
  url: string;
  /** Set when aquasync runs (or reuses) its embedded Postgres rather than DATABASE_URL. */
  embedded: { port: number; dataDir: string } | undefined;
  /** Ends the pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
}
