// `aquasync query "SQL"` (or -f FILE, or SQL on standard input): for people without psql at hand.
import { readFile } from 'node:fs/promises';
import { ConfigError, WarehouseError } from '../errors.ts';
import { EXIT, type CommandContext } from './command.ts';
import { openMigratedWarehouse } from './common.ts';
import { aquasyncCommand } from './invocation.ts';
import { formatTable } from './table.ts';

/** Where the SQL comes from: the arguments, `-f FILE` (`-` = stdin), or stdin when it is not a terminal. Pure. */
export function sqlSource(input: { positionals: string[]; file: unknown; stdinIsTTY: boolean }): { from: 'args' | 'file' | 'stdin'; path?: string } {
  const file = typeof input.file === 'string' ? input.file : undefined;
  if (file !== undefined && input.positionals.length > 0) {
    throw new ConfigError('aquasync query takes the SQL either as an argument or from --file, not both');
  }
  if (file === '-') return { from: 'stdin' };
  if (file !== undefined) return { from: 'file', path: file };
  if (input.positionals.length > 0) return { from: 'args' };
  if (!input.stdinIsTTY) return { from: 'stdin' };
  throw new ConfigError('aquasync query needs SQL', {
    hint: `e.g. ${aquasyncCommand()} query "select count(*) from zuora.account", ${aquasyncCommand()} query -f report.sql, or pipe it in`,
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readSql(values: Record<string, unknown>, positionals: string[]): Promise<string> {
  const source = sqlSource({ positionals, file: values.file, stdinIsTTY: Boolean(process.stdin.isTTY) });
  let sql: string;
  if (source.from === 'args') sql = positionals.join(' ');
  else if (source.from === 'stdin') sql = await readStdin();
  else {
    try {
      sql = await readFile(source.path ?? '', 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read SQL from ${source.path ?? ''}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
        hint: 'give the path of a file holding the SQL, or - to read standard input',
      });
    }
  }
  if (!sql.trim()) throw new ConfigError(`no SQL in ${source.from === 'args' ? 'the arguments' : source.from === 'file' ? (source.path ?? '') : 'standard input'}`);
  return sql;
}

export async function queryCommand(values: Record<string, unknown>, positionals: string[], ctx: CommandContext): Promise<number> {
  const sql = await readSql(values, positionals);
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
