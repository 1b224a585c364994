// One transaction on one pooled client, shared by raw pg (COPY, merge SQL) and Kysely builder queries.
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { WarehouseError } from '../errors.ts';
import type { StateDatabase } from './schema.ts';

/**
 * A Kysely instance whose every query runs on `client` (docs/design/libraries.md#transactions). It never ends the client:
 * whoever took it from the pool releases it.
 */
export function kyselyForClient<DB = StateDatabase>(client: pg.PoolClient): Kysely<DB> {
  return new Kysely<DB>({
    dialect: new PostgresDialect({
      pool: {
        connect: async () => ({ query: client.query.bind(client), release: () => undefined }),
        end: async () => undefined,
      },
    }),
  });
}

/**
 * Runs `fn` inside BEGIN/COMMIT on one pooled client and rolls back if it throws (the error is rethrown as is).
 * The Kysely handed to `fn` is a transaction on that same client, so its queries and raw `client.query` calls
 * commit or roll back together; calling `db.transaction()` on it is refused by Kysely, which is what we want.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient, db: Kysely<StateDatabase>) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new WarehouseError(`cannot get a warehouse connection: ${(error as Error).message}`, {
      hint: 'check that the warehouse is reachable',
      retryable: true,
      cause: error,
    });
  }
  let broken: Error | undefined;
  try {
    const trx = await kyselyForClient<StateDatabase>(client).startTransaction().execute();
    let result: T;
    try {
      result = await fn(client, trx);
    } catch (error) {
      try {
        await trx.rollback().execute();
      } catch (rollbackError) {
        // The connection is unusable (it dropped mid-transaction): destroy it rather than return it to the pool.
        broken = rollbackError as Error;
      }
      throw error;
    }
    try {
      await trx.commit().execute();
    } catch (error) {
      broken = error as Error;
      throw new WarehouseError(`the warehouse transaction could not commit: ${(error as Error).message}`, {
        hint: 'nothing of this transaction was applied; the run can be retried',
        retryable: true,
        cause: error,
      });
    }
    return result;
  } finally {
    client.release(broken);
  }
}
