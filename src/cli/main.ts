// The aquasync command line: parses arguments, dispatches to a command, turns errors into messages and exit codes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AquasyncError, errorMessage } from '../errors.ts';
import { createLogger, redact, type LogFormat, type Logger } from '../log.ts';

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface CommandContext {
  logger: Logger;
  logFormat: LogFormat;
  /** Prints a result for people (stdout). */
  print(text: string): void;
}

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  run(args: { values: Record<string, unknown>; positionals: string[] }, ctx: CommandContext): Promise<number>;
}

const common = {
  help: { type: 'boolean', short: 'h' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

const configOption = { config: { type: 'string', short: 'c' } } as const;

const commands: Record<string, Command> = {
  sync: {
    summary: 'run each pipeline once: submit or resume its AQuA job and load the result',
    usage: `aquasync sync [--config FILE] [--pipeline NAME ...] [--log-format human|json]

Runs one stateful AQuA job per pipeline (default: every pipeline in the config) and applies it to the
warehouse in one transaction. Exits 0 only if every run was fully loaded.

  -c, --config FILE     pipelines file (default: ./pipelines.yaml)
  -p, --pipeline NAME   run only this pipeline; repeat for several`,
    options: { ...configOption, pipeline: { type: 'string', short: 'p', multiple: true } },
    run: async (args, ctx) => (await import('./sync.ts')).syncCommand(args.values, ctx),
  },
  status: {
    summary: 'show watermarks, last runs, in-flight jobs and row counts',
    usage: `aquasync status [--config FILE] [--json]

Per pipeline: the watermark, the last run (when, rows, outcome), any in-flight Zuora job, and row counts per
table. Also prints where the warehouse is (the embedded server's port, for psql).

  -c, --config FILE   pipelines file (default: ./pipelines.yaml)
      --json          print one JSON object instead of tables`,
    options: { ...configOption, json: { type: 'boolean' } },
    run: async (args, ctx) => (await import('./status.ts')).statusCommand(args.values, ctx),
  },
  query: {
    summary: 'run SQL on the warehouse and print the result as a table',
    usage: `aquasync query "SQL" [--json]

Runs one SQL statement against the warehouse (DATABASE_URL, or the embedded server) and prints the rows.

      --json   print rows as JSON lines`,
    options: { json: { type: 'boolean' } },
    allowPositionals: true,
    run: async (args, ctx) => (await import('./query.ts')).queryCommand(args.values, args.positionals, ctx),
  },
  migrate: {
    summary: 'create or upgrade the aquasync state schema',
    usage: `aquasync migrate

Applies the migrations in migrations/ to the warehouse database (sync also does this on start).`,
    options: {},
    run: async (_args, ctx) => (await import('./migrate.ts')).migrateCommand(ctx),
  },
  emulator: {
    summary: 'serve the local AQuA emulator (a stand-in for Zuora)',
    usage: `aquasync emulator [--port N] [--seed N] [--rows N] [--client-id ID --client-secret SECRET]

Starts the AQuA emulator on 127.0.0.1 and serves until SIGINT/SIGTERM. Prints its URL and credentials.`,
    options: {},
    allowPositionals: true,
    run: async () => {
      throw new Error('handled before parsing');
    },
  },
};

function topHelp(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return `aquasync: keep a Postgres warehouse in sync with Zuora through the AQuA API

Usage: aquasync <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run "aquasync <command> --help" for a command's options.
Environment: DATABASE_URL (warehouse; embedded Postgres when unset), AQUASYNC_HOME (default ./.aquasync),
ZUORA_BASE_URL, ZUORA_CLIENT_ID, ZUORA_CLIENT_SECRET (used by the default pipelines.yaml).`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${topHelp()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('aquasync 0.1.0\n');
    return EXIT.ok;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`aquasync: unknown command "${name}"\n\n${topHelp()}\n`);
    return EXIT.usage;
  }
  if (name === 'emulator') {
    const { runEmulatorCommand } = await import('../emulator/cli.ts');
    return runEmulatorCommand(rest);
  }

  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...common, ...command.options },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    }) as { values: Record<string, unknown>; positionals: string[] };
  } catch (error) {
    process.stderr.write(`aquasync ${name}: ${errorMessage(error)}\n\nUsage: ${command.usage}\n`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    process.stdout.write(`Usage: ${command.usage}\n`);
    return EXIT.ok;
  }
  const logFormat = parsed.values['log-format'] ?? 'human';
  const logLevel = parsed.values['log-level'] ?? 'info';
  if (logFormat !== 'human' && logFormat !== 'json') {
    process.stderr.write(`aquasync ${name}: --log-format must be "human" or "json", not "${String(logFormat)}"\n`);
    return EXIT.usage;
  }
  if (!['debug', 'info', 'warn', 'error'].includes(String(logLevel))) {
    process.stderr.write(`aquasync ${name}: --log-level must be debug, info, warn or error\n`);
    return EXIT.usage;
  }
  const logger = createLogger({ format: logFormat, level: logLevel as 'info' });
  const ctx: CommandContext = {
    logger,
    logFormat,
    print: (text) => process.stdout.write(`${redact(text)}\n`),
  };
  try {
    return await command.run(parsed, ctx);
  } catch (error) {
    reportError(error, logger);
    if (error instanceof AquasyncError && error.code === 'INTERRUPTED') return EXIT.interrupted;
    return error instanceof AquasyncError && error.code === 'CONFIG_INVALID' ? EXIT.usage : EXIT.failed;
  }
}

export function reportError(error: unknown, logger: Logger): void {
  if (error instanceof AquasyncError) {
    logger.error(error.describe(), { code: error.code });
    return;
  }
  logger.error(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}
