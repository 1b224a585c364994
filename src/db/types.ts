// What src/db hands to the rest of aquasync.
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { StateDatabase } from './schema.ts';

export interface Warehouse {
  pool: pg.Pool;
  db: Kysely<StateDatabase>;
  /** The connection URL with its password replaced by `***`: safe to print. */
  url: string;
  /** Set when aquasync uses its embedded Postgres rather than DATABASE_URL. */
  embedded: EmbeddedInfo | undefined;
  /** Ends the pool and waits for its connections to close. The embedded server keeps running. */
  close(): Promise<void>;
}

export interface EmbeddedInfo {
  port: number;
  dataDir: string;
  pgDir: string;
  /** The superuser password's file (mode 0600); point people at it, never print the password. */
  passwordFile: string;
  /** This open started the server (it was not running). */
  startedNow: boolean;
}
