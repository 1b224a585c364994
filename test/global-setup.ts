// Runs once before the test files.
// - It builds dist/ (incremental: about 2 s when nothing changed), so the tests that spawn bin/aquasync.js run the
//   compiled CLI users run, never a stale one.
// - Every temp folder of the run (the tests', the CLI processes', the embedded servers') goes under one folder
//   that teardown removes: processes the tests SIGKILL on purpose cannot clean up after themselves.
// - When DATABASE_URL is not set, an embedded Postgres is started in a temporary home and its URL exported, so
//   `npm test` passes on a machine with no Postgres installed; teardown stops it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/index.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const build = spawnSync(process.execPath, [path.join(import.meta.dirname, '../scripts/build.mjs')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  const runTemp = await fs.mkdtemp(path.join(os.tmpdir(), 'aquasync-tests-'));
  // mkdtemp makes the dir 0700; when we run as root the postgres user must be able to enter it.
  await fs.chmod(runTemp, 0o755);
  process.env.TMPDIR = runTemp;
  let stopServer = async (): Promise<void> => undefined;
  if (!process.env.DATABASE_URL) {
    const home = await fs.mkdtemp(path.join(runTemp, 'embedded-'));
    await fs.chmod(home, 0o755);
    const server = await startEmbeddedPostgres({ home });
    process.env.DATABASE_URL = server.connectionString('postgres');
    process.env.AQUASYNC_TEST_EMBEDDED = '1';
    stopServer = () => server.stop();
  }
  return async () => {
    await stopServer();
    await fs.rm(runTemp, { recursive: true, force: true });
  };
}
