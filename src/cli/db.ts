// `aquasync db start|stop|status|url`: the embedded Postgres as a local service (as `supabase start/stop/status`).
// It starts on first use by any command and keeps running until `aquasync db stop`, on a stable port, so psql and
// BI tools can reach it between commands.
import pg from 'pg';
import {
  embeddedStatus,
  EMBEDDED_DATABASE,
  ensureDatabase,
  PORT_ENV,
  startEmbeddedPostgres,
  stopEmbeddedPostgres,
  type EmbeddedServer,
} from '../db/index.ts';
import { ConfigError, WarehouseError } from '../errors.ts';
import { EXIT, type CommandContext } from './command.ts';
import { aquasyncHome } from './common.ts';
import { aquasyncCommand } from './invocation.ts';

/** `pg_ctl status` and `systemctl status` exit 3 for "not running"; scripts can tell it from a failure. */
export const EXIT_NOT_RUNNING = 3;

export const DB_ACTIONS = ['start', 'stop', 'status', 'url'] as const;

interface Session {
  pid: number;
  application: string;
  client: string | null;
  since: Date;
}

/** The psql line for a running server: the password comes from its file, so it is never printed. */
export function psqlLine(port: number, passwordFile: string): string {
  return `PGPASSWORD=$(cat ${passwordFile}) psql -h 127.0.0.1 -p ${port} -U postgres ${EMBEDDED_DATABASE}`;
}

async function ensureRunning(ctx: CommandContext): Promise<EmbeddedServer> {
  const server = await startEmbeddedPostgres({ home: aquasyncHome(), logger: ctx.logger, port: 'configured' });
  await ensureDatabase(server.connectionString('postgres'), EMBEDDED_DATABASE);
  return server;
}

async function otherSessions(server: { connectionString(database: string): string }): Promise<Session[]> {
  const client = new pg.Client({ connectionString: server.connectionString('postgres'), application_name: 'aquasync db stop' });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; application: string; client: string | null; since: Date }>(
      `SELECT pid, application_name AS application, client_addr::text AS client, backend_start AS since
       FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY backend_start`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

function describeServer(server: EmbeddedServer, state: string): string {
  const cmd = aquasyncCommand();
  return [
    `embedded Postgres ${state} on 127.0.0.1:${server.port} (pid ${server.pid})`,
    `  data:  ${server.dataDir}`,
    `  psql:  ${psqlLine(server.port, server.passwordFile)}`,
    `  url:   ${cmd} db url   (prints postgres://... with the password, for BI tools)`,
    `  stop:  ${cmd} db stop  (it keeps running until then)`,
  ].join('\n');
}

export async function dbCommand(values: Record<string, unknown>, positionals: string[], ctx: CommandContext): Promise<number> {
  const [action, ...extra] = positionals;
  if (!action || !(DB_ACTIONS as readonly string[]).includes(action) || extra.length > 0) {
    throw new ConfigError(`aquasync db needs one of ${DB_ACTIONS.join(', ')}${action ? `, not "${[action, ...extra].join(' ')}"` : ''}`, {
      hint: `e.g. ${aquasyncCommand()} db status`,
    });
  }
  if (process.env.DATABASE_URL) {
    ctx.logger.warn('DATABASE_URL is set: the other aquasync commands use that server, not this embedded one');
  }
  switch (action) {
    case 'start': {
      const server = await ensureRunning(ctx);
      ctx.print(describeServer(server, server.startedNow ? 'started' : 'already running'));
      return EXIT.ok;
    }
    case 'url': {
      const server = await ensureRunning(ctx);
      // The one place the password is printed: asked for explicitly, for tools that need a URL. The server only
      // listens on 127.0.0.1. (ctx.print would redact it.)
      process.stdout.write(`${server.connectionString(EMBEDDED_DATABASE)}\n`);
      return EXIT.ok;
    }
    case 'status':
      return status(values, ctx);
    default:
      return stop(values, ctx);
  }
}

async function status(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const found = await embeddedStatus(aquasyncHome());
  const cmd = aquasyncCommand();
  if (values.json) {
    ctx.print(
      JSON.stringify(
        {
          running: Boolean(found.running),
          pid: found.running?.pid ?? null,
          port: found.running?.port ?? null,
          home: found.home,
          dataDir: found.dataDir,
          initialised: found.initialised,
          passwordFile: found.passwordFile,
          logFile: found.logFile,
          psql: found.running ? psqlLine(found.running.port, found.passwordFile) : null,
        },
        null,
        2,
      ),
    );
    return found.running ? EXIT.ok : EXIT_NOT_RUNNING;
  }
  if (!found.running) {
    ctx.print(
      `embedded Postgres of ${found.home} is not running` +
        (found.initialised ? ` (data in ${found.dataDir})` : ' (not created yet)') +
        `\n  start: ${cmd} db start   (any command that needs it also starts it; port: ${PORT_ENV}, else the last one used, else 54329)`,
    );
    return EXIT_NOT_RUNNING;
  }
  const server = await ensureRunning(ctx);
  const sessions = await otherSessions(server);
  ctx.print(describeServer(server, 'running'));
  ctx.print(`  sessions: ${sessions.length} open`);
  return EXIT.ok;
}

async function stop(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const home = aquasyncHome();
  const found = await embeddedStatus(home);
  if (!found.running) {
    ctx.print(`embedded Postgres of ${found.home} is not running`);
    return EXIT.ok;
  }
  if (!values.force) {
    const server = await ensureRunning(ctx);
    const sessions = await otherSessions(server);
    if (sessions.length > 0) {
      const who = sessions.map((s) => `pid ${s.pid} ${s.application || '(no application name)'} since ${s.since.toISOString()}`);
      throw new WarehouseError(`not stopping the embedded Postgres: ${sessions.length} session(s) use it:\n  ${who.join('\n  ')}`, {
        hint: `stop the programs using it first (for example a running "aquasync schedule"), or end their sessions: ${aquasyncCommand()} db stop --force`,
      });
    }
  }
  await stopEmbeddedPostgres(home);
  ctx.print(`stopped the embedded Postgres of ${found.home} (data kept in ${found.dataDir})`);
  return EXIT.ok;
}
