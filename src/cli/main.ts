// The aquasync command line: parses arguments, dispatches to a command, turns errors into messages and exit codes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AquasyncError, errorMessage } from '../errors.ts';
import { createLogger, redact, type LogFormat, type Logger, type LogLevel } from '../log.ts';
import { EXIT, type CommandContext } from './command.ts';
import { writeLogLine } from './progress.ts';



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
  -p, --pipeline NAME   run only this pipeline; repeat for several
      --dry-run         print the exact AQuA payloads (secrets redacted) and windows without submitting`,
    options: { ...configOption, pipeline: { type: 'string', short: 'p', multiple: true }, 'dry-run': { type: 'boolean' } },
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
       aquasync query -f FILE [--json]
       aquasync query [--json] < FILE

Runs SQL against the warehouse (DATABASE_URL, or the embedded server) and prints the rows. The SQL comes from
the arguments, from a file (-f; "-" is standard input), or from standard input when it is not a terminal.

  -f, --file FILE   read the SQL from FILE ("-" for standard input)
      --json        print rows as JSON lines`,
    options: { json: { type: 'boolean' }, file: { type: 'string', short: 'f' } },
    allowPositionals: true,
    run: async (args, ctx) => (await import('./query.ts')).queryCommand(args.values, args.positionals, ctx),
  },
  check: {
    summary: 'check the set-up without moving data: config, warehouse, Zuora credentials, partner, objects, fields',
    usage: `aquasync check [--config FILE] [--pipeline NAME ...] [--json] [--strict]

Checks, one line each, with a fix for every problem: the config file, the warehouse (reachable and writable),
Zuora OAuth, each pipeline's partner and project, every configured object and field (against Zuora's describe),
and Data Query (used by verify and reconcile). Submits no job and loads no data. Exits 1 when a check fails
(with --strict also on warnings), 2 when the config file itself is invalid.

  -c, --config FILE     pipelines file (default: ./pipelines.yaml)
  -p, --pipeline NAME   check only this pipeline; repeat for several
      --json            print the checks as JSON
      --strict          treat warnings (checks that could not be completed) as failures`,
    options: { ...configOption, pipeline: { type: 'string', short: 'p', multiple: true }, json: { type: 'boolean' }, strict: { type: 'boolean' } },
    run: async (args, ctx) => (await import('./check.ts')).checkCommand(args.values, ctx),
  },
  history: {
    summary: 'show past runs: kind, start, duration, rows written and read, watermark, outcome, error',
    usage: `aquasync history [--pipeline NAME] [--limit N] [--json]

The run history from aquasync.runs, newest first: kind (manual, scheduled, backfill, reconcile), when it started,
how long it took, rows written to the warehouse vs rows read from Zuora's files, how far the watermark moved,
the outcome and the error.

  -p, --pipeline NAME   only this pipeline
  -n, --limit N         how many runs (default 20)
      --json            one JSON object per run, one per line`,
    options: { pipeline: { type: 'string', short: 'p' }, limit: { type: 'string', short: 'n' }, json: { type: 'boolean' } },
    run: async (args, ctx) => (await import('./history.ts')).historyCommand(args.values, ctx),
  },
  db: {
    summary: 'manage the embedded Postgres: start, stop, status, url',
    usage: `aquasync db start | stop [--force] | status [--json] | url

The embedded Postgres (used when DATABASE_URL is unset) is a local service per AQUASYNC_HOME: any command that
needs it starts it, and it keeps running until "aquasync db stop", on 127.0.0.1 and a stable port
(AQUASYNC_PG_PORT, else the port it last used, else 54329).

  start    start it (or say where it already runs), with the psql line to connect
  stop     stop it; refuses while other sessions use it unless --force (which ends them)
  status   running or not, port, data directory; exits 3 when it is not running
  url      print its postgres:// URL, password included (starts it when needed), e.g. psql "$(aquasync db url)"`,
    options: { json: { type: 'boolean' }, force: { type: 'boolean' } },
    allowPositionals: true,
    run: async (args, ctx) => (await import('./db.ts')).dbCommand(args.values, args.positionals, ctx),
  },
  migrate: {
    summary: 'create or upgrade the aquasync state schema',
    usage: `aquasync migrate

Applies the migrations in migrations/ to the warehouse database (sync also does this on start).`,
    options: {},
    run: async (_args, ctx) => (await import('./migrate.ts')).migrateCommand(ctx),
  },
  schedule: {
    summary: 'run pipelines on their cron schedules (a long-lived service; safe with several replicas)',
    usage: `aquasync schedule [--config FILE] [--port N] [--host ADDR] [--grace SECONDS]

Runs each pipeline on its schedule, never two runs of one pipeline at once across all replicas.

  -c, --config FILE     pipelines file (default: ./pipelines.yaml)
      --port N          serve GET /healthz, GET /metrics (Prometheus) and the status page (/, /api) on this port
      --host ADDR       address for --port (default 127.0.0.1: this machine only; 0.0.0.0 in a container)
      --grace SECONDS   on SIGTERM/SIGINT, let a running load finish for this long (default 30)`,
    options: { ...configOption, port: { type: 'string' }, host: { type: 'string' }, grace: { type: 'string' } },
    run: async (args, ctx) => (await import('./schedule.ts')).scheduleCommand(args.values, ctx),
  },
  // ---- status page (issue 18) ----
  ui: {
    summary: 'serve the read-only status page and its JSON API, without scheduling',
    usage: `aquasync ui [--config FILE] [--port N] [--host ADDR]

Serves the status page (freshness per pipeline, runs, tables, events) at / and its JSON API at /api, for a
machine that runs \`aquasync sync\` from cron. \`aquasync schedule --port N\` serves the same page.

  -c, --config FILE   pipelines file (default: ./pipelines.yaml)
      --port N        port to listen on (default 9464; 0 picks a free one)
      --host ADDR     address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for every interface)`,
    options: { ...configOption, port: { type: 'string' }, host: { type: 'string' } },
    run: async (args, ctx) => (await import('./ui.ts')).uiCommand(args.values, ctx),
  },
  // ---- end status page ----
  backfill: {
    summary: 're-pull a time range with stateless AQuA jobs, without touching the nightly session',
    usage: `aquasync backfill --pipeline NAME --since ISO [--until ISO] [--object NAME ...] [--window 30d] [--dry-run]

Loads every row updated in [since, until) through stateless AQuA jobs split into windows. Never moves the
pipeline's watermark and never overwrites a newer row; a re-run skips windows already loaded.

  -c, --config FILE     pipelines file (default: ./pipelines.yaml)
  -p, --pipeline NAME   the pipeline whose objects and tables to use
      --since ISO       start of the range (inclusive), e.g. 2026-01-01T00:00:00Z
      --until ISO       end of the range (exclusive; default: now)
      --object NAME     only this object; repeat for several (default: all of the pipeline's)
      --window SIZE     window length: 30d, 12h, 90m (default 30d)
      --dry-run         print the AQuA payloads and windows without submitting anything`,
    options: {
      ...configOption,
      pipeline: { type: 'string', short: 'p' },
      since: { type: 'string' },
      until: { type: 'string' },
      object: { type: 'string', multiple: true },
      window: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
    run: async (args, ctx) => (await import('./backfill.ts')).backfillCommand(args.values, ctx),
  },
  verify: {
    summary: 'compare row counts per UpdatedDate day with Zuora (Data Query)',
    usage: `aquasync verify [--config FILE] [--pipeline NAME] [--object NAME ...] [--since ISO] [--json]

For each object, counts rows per UpdatedDate day in Zuora (one Data Query per object) and in the warehouse, up to
the watermark. Differences that Zuora's changes since the watermark explain are reported as pending (the next
sync brings them); for the rest it names the days and Ids and exits non-zero.

      --json   print one JSON object with the same fields as the table (and the Ids per day)`,
    options: {
      ...configOption,
      pipeline: { type: 'string', short: 'p' },
      object: { type: 'string', multiple: true },
      since: { type: 'string' },
      json: { type: 'boolean' },
    },
    run: async (args, ctx) => (await import('./verify.ts')).verifyCommand(args.values, ctx),
  },
  reconcile: {
    summary: 'compare the full set of Ids with Zuora; --apply repairs the differences',
    usage: `aquasync reconcile [--config FILE] [--pipeline NAME] [--object NAME ...] [--apply] [--json]

Compares every Id in Zuora (Data Query, paged) with the warehouse's live Ids. Reports rows missing from the
warehouse and rows that no longer exist in Zuora; with --apply, marks the latter deleted and re-pulls the former
(under the pipeline's sync and backfill locks). Rows Zuora changed since the watermark are pending, not repaired.

      --json   print one JSON object with the same fields as the table (and sample Ids)`,
    options: {
      ...configOption,
      pipeline: { type: 'string', short: 'p' },
      object: { type: 'string', multiple: true },
      apply: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    run: async (args, ctx) => (await import('./reconcile.ts')).reconcileCommand(args.values, ctx),
  },
  emulator: {
    summary: 'serve the local AQuA emulator (a stand-in for Zuora)',
    usage: `aquasync emulator [--port N] [--rows N] [--partner NAME ...] [--state FILE] [--job-time MS] [--fault SPEC ...]

Starts the AQuA emulator on 127.0.0.1 and serves until SIGINT/SIGTERM. Prints its URL, credentials, the partners
it accepts and a curl walkthrough. \`aquasync emulator --help\` lists every option.`,
    options: {},
    allowPositionals: true,
    run: async () => {
      throw new Error('handled before parsing');
    },
  },
};

/** The environment variables come from src/cli/settings.ts, loaded only when help is shown. */
async function topHelp(): Promise<string> {
  const settings = (await import('./settings.ts')).describeSettings();
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return `aquasync: keep a Postgres warehouse in sync with Zuora through the AQuA API

Usage: aquasync <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run "aquasync <command> --help" for a command's options.
Environment (checked before any command runs):
${settings}
  ZUORA_BASE_URL, ZUORA_CLIENT_ID, ZUORA_CLIENT_SECRET: read by the default pipelines.yaml`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await topHelp()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('aquasync 0.1.0\n');
    return EXIT.ok;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`aquasync: unknown command "${name}"\n\n${await topHelp()}\n`);
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
  const logger = createLogger({ format: logFormat, level: logLevel as 'info', write: logLineWriter(logFormat) });
  const ctx: CommandContext = {
    logger,
    logFormat,
    print: (text) => process.stdout.write(`${redact(text)}\n`),
  };
  try {
    // Every environment setting is checked before any command touches anything (a bad one exits 2).
    (await import('./settings.ts')).checkSettings();
    return await command.run(parsed, ctx);
  } catch (error) {
    reportError(error, logger);
    if (error instanceof AquasyncError && error.code === 'INTERRUPTED') return EXIT.interrupted;
    return error instanceof AquasyncError && error.code === 'CONFIG_INVALID' ? EXIT.usage : EXIT.failed;
  }
}

/**
 * Where log lines go: warn/error to stderr, the rest to stdout; human lines start with a UTC timestamp (JSON lines
 * carry `time`); and a progress bar on the terminal is cleared and redrawn around each line.
 */
export function logLineWriter(format: LogFormat, now: () => Date = () => new Date()): (line: string, level: LogLevel) => void {
  return (line, level) => {
    const stream = level === 'warn' || level === 'error' ? process.stderr : process.stdout;
    writeLogLine(stream, format === 'human' ? `${humanTimestamp(now())} ${line}` : line);
  };
}

/** `2026-12-03T09:06:36Z`: UTC, whole seconds, like the watermarks aquasync prints. */
export function humanTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function reportError(error: unknown, logger: Logger): void {
  if (error instanceof AquasyncError) {
    logger.error(error.describe(), { code: error.code });
    return;
  }
  logger.error(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}
