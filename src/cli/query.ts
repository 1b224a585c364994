// `aquasync query "SQL"`: for people without psql at hand.
import { ConfigError, WarehouseError } from '../errors.ts';
import { EXIT, type CommandContext } from './main.ts';
import { openMigratedWarehouse } from './common.ts';
import { formatTable } from './table.ts';

export async function queryCommand(values: Record<string, unknown>, positionals: string[], ctx: CommandContext): Promise<number> {
  const sql = positionals.join(' ').trim();
  if (!sql) throw new ConfigError('aquasync query needs an SQL statement, e.g. aquasync query "select count(*) from zuora.account"');
  const warehouse = await openMigratedWarehouse(ctx.logger);
  try {
    let result;
    try {
      result = await warehouse.pool.query({ text: sql, rowMode: 'array' });
    } catch (error) {
      throw new WarehouseError(`query failed: ${(error as Error).message}`, { cause: error });
    }
    const results = Array.isArray(result) ? result : [result];
    for (const r of results) {
      const headers = r.fields.map((f: { name: string }) => f.name);
      const rows = r.rows as unknown[][];
      if (values.json) {
        for (const row of rows) ctx.print(JSON.stringify(Object.fromEntries(headers.map((h: string, i: number) => [h, row[i]]))));
        continue;
      }
      if (headers.length === 0) {
        ctx.print(`${r.command ?? 'OK'} ${r.rowCount ?? ''}`.trim());
        continue;
      }
      ctx.print(formatTable(headers, rows.map((row) => row.map((v) => (v instanceof Date ? v.toISOString() : v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v))))));
      ctx.print(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
    }
    return EXIT.ok;
  } finally {
    await warehouse.close();
  }
}
