// `aquasync ui`: serve the read-only status page without scheduling (for a machine that runs `aquasync sync` from
// cron). Listens on loopback unless --host says otherwise; runs until SIGINT/SIGTERM.
import { ConfigError, errorMessage } from '../errors.ts';
import { createStatusPage, StatusApi, startUiServer, type UiServer } from '../ui/index.ts';
import { EXIT, type CommandContext } from './command.ts';
import { interruptible, openMigratedWarehouse, readConfig } from './common.ts';
import { parseHost } from './listen.ts';
import { parsePort } from './schedule.ts';

export const DEFAULT_UI_PORT = 9464;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export async function uiCommand(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const port = parsePort(values.port) ?? DEFAULT_UI_PORT;
  const host = parseHost(values.host);
  const config = await readConfig(values);
  const log = ctx.logger;
  const stop = interruptible(log);
  const warehouse = await openMigratedWarehouse(log);
  let server: UiServer | undefined;
  try {
    const api = new StatusApi({ pool: warehouse.pool, schema: config.warehouse.schema, pipelines: config.pipelines });
    const page = createStatusPage({ api, logger: log });
    try {
      server = await startUiServer({ port, host, page, pool: warehouse.pool, logger: log });
    } catch (error) {
      throw new ConfigError(`cannot serve the status page on ${host}:${port}: ${errorMessage(error)}`, {
        hint: 'choose another --port (0 picks a free one) or a --host address this machine has',
      });
    }
    if (!LOOPBACK.test(host)) {
      log.warn(`the status page is reachable from other machines (--host ${host}); it shows pipeline names, run errors and row counts (never secrets)`);
    }
    ctx.print(`status page: ${server.url} (JSON API at ${server.url}api); Ctrl-C to stop`);
    await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    return EXIT.ok;
  } finally {
    stop.done();
    await server?.close();
    await warehouse.close();
  }
}
