// `aquasync migrate`: applies the state-schema migrations (sync does the same on start).
import { EXIT, type CommandContext } from './command.ts';
import { openMigratedWarehouse } from './common.ts';

export async function migrateCommand(ctx: CommandContext): Promise<number> {
  const warehouse = await openMigratedWarehouse(ctx.logger);
  await warehouse.close();
  ctx.print(`migrations applied to ${warehouse.embedded ? `the embedded Postgres (port ${warehouse.embedded.port})` : warehouse.url}`);
  return EXIT.ok;
}
