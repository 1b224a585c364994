// `aquasync emulator`: runs the emulator in the foreground until SIGINT/SIGTERM, with the options an author of
// any AQuA client needs (partners, a state file, job time, faults, the undocumented readings) and a banner that
// tells them how to talk to it.
import { parseArgs } from 'node:util';
import { startEmulator } from './emulator.ts';
import { FAULT_SPEC_HELP, parseFaultSpec } from './fault-spec.ts';
import { DEFAULT_PARTNERS } from './context.ts';
import { walkthrough } from './walkthrough.ts';
import type { EmulatorOptions, Fault, ZuoraReadings } from './types.ts';

const READINGS_NOTE = "Zuora's documentation does not say; both readings are served";

const USAGE = `Usage: aquasync emulator [options]

Runs a local Zuora (AQuA + Data Query) on 127.0.0.1 until Ctrl-C, for aquasync or any other AQuA client.

Options:
  --port N                 port to listen on (default: a free port)
  --seed N                 data generator seed (default 1)
  --rows N                 InvoiceItem rows; other objects scale from it (default 1000)
  --client-id ID           OAuth client id (default: generated); also the legacy apiAccessKeyId
  --client-secret SECRET   OAuth client secret (default: generated); also the legacy apiSecretAccessKey
  --partner NAME           accept NAME as an AQuA partner (repeatable; ${DEFAULT_PARTNERS.join(' and ')} are always
                           accepted, any other partner gets error 90019 like an unregistered one on Zuora)
  --state FILE             keep sessions, jobs, files, clock and data changes in FILE between runs
  --job-time MS            how long a job takes from submit to completed (default 1000)
  --fault SPEC             arm a fault at start (repeatable), the same kinds as the admin API:
                           ${FAULT_SPEC_HELP.replaceAll('\n', '\n                           ')}
  --segmentation on|off    stateful full loads list their files as "segments" (on, default) or one "fileId"
                           (off: Zuora's default for a tenant; some clients read only fileId)
  --segment-size N         rows per segment of stateful full loads (default 500000)
  --data-center us|eu      zone of incrementalTime: Pacific (us) or UTC (eu) (default us)

Undocumented Zuora behaviour (${READINGS_NOTE}; pick one):
  --full-honours-incremental-time no|yes   a stateful batch reported full still applies incrementalTime (default no)
  --incremental-time-boundary inclusive|exclusive
                           incrementalTime 10:30:01 reads from 10:30:01 or from 10:30:02 (default inclusive)
  --start-time-format pacific|iso
                           job startTime as "yyyy-MM-dd HH:mm:ss" in the data center zone, or ISO with an
                           offset (default pacific)
  --delete-moves-updated-date yes|no       a deletion moves the row's UpdatedDate (default yes)
  --idempotency-key honoured|ignored       Idempotency-Key on the AQuA submit (default honoured)

  --help                   show this help
`;

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

function choice<T extends string>(name: string, text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!allowed.includes(text as T)) throw new Error(`--${name} must be ${allowed.join(' or ')}, got ${JSON.stringify(text)}`);
  return text as T;
}

function yesNo(name: string, text: string | undefined): boolean | undefined {
  const v = choice(name, text, ['yes', 'no'] as const);
  return v === undefined ? undefined : v === 'yes';
}

export interface ParsedEmulatorArgs {
  help: boolean;
  options: EmulatorOptions;
  faults: Fault[];
  /** The fault texts as given, for the banner. */
  faultSpecs: string[];
}

/** Pure: argv -> emulator options; throws an Error with the message to print (exit 2). */
export function parseEmulatorArgs(argv: string[]): ParsedEmulatorArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      seed: { type: 'string' },
      rows: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      partner: { type: 'string', multiple: true },
      state: { type: 'string' },
      'job-time': { type: 'string' },
      fault: { type: 'string', multiple: true },
      segmentation: { type: 'string' },
      'segment-size': { type: 'string' },
      'data-center': { type: 'string' },
      'full-honours-incremental-time': { type: 'string' },
      'incremental-time-boundary': { type: 'string' },
      'start-time-format': { type: 'string' },
      'delete-moves-updated-date': { type: 'string' },
      'idempotency-key': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if ((values['client-id'] === undefined) !== (values['client-secret'] === undefined)) {
    throw new Error('--client-id and --client-secret go together: give both or neither');
  }
  const partners = values.partner ?? [];
  for (const p of partners) {
    if (p.trim() === '' || p.includes('/')) throw new Error(`--partner must be a non-empty name without "/", got ${JSON.stringify(p)}`);
  }
  const jobTime = integer('job-time', values['job-time'], 0);
  const readings: Partial<ZuoraReadings> = {};
  const full = yesNo('full-honours-incremental-time', values['full-honours-incremental-time']);
  if (full !== undefined) readings.fullHonoursIncrementalTime = full;
  const boundary = choice('incremental-time-boundary', values['incremental-time-boundary'], ['inclusive', 'exclusive'] as const);
  if (boundary !== undefined) readings.incrementalTimeBoundary = boundary;
  const moves = yesNo('delete-moves-updated-date', values['delete-moves-updated-date']);
  if (moves !== undefined) readings.deleteMovesUpdatedDate = moves;
  const idem = choice('idempotency-key', values['idempotency-key'], ['honoured', 'ignored'] as const);
  if (idem !== undefined) readings.idempotencyKey = idem;
  const faultSpecs = values.fault ?? [];
  const segmentation = choice('segmentation', values.segmentation, ['on', 'off'] as const);
  const options: EmulatorOptions = {
    port: integer('port', values.port, 0),
    seed: integer('seed', values.seed, 0),
    rows: integer('rows', values.rows, 0),
    segmentSize: integer('segment-size', values['segment-size'], 1),
    segmentation: segmentation === undefined ? undefined : segmentation === 'on',
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
    dataCenter: choice('data-center', values['data-center'], ['us', 'eu'] as const),
    partners: [...new Set([...DEFAULT_PARTNERS, ...partners])],
    statePath: values.state,
    startTimeFormat: choice('start-time-format', values['start-time-format'], ['pacific', 'iso'] as const),
    readings,
  };
  if (jobTime !== undefined) {
    // A quarter queued (`submitted`), the rest executing, so a poller sees both states.
    const queuedMs = Math.round(jobTime / 4);
    options.timing = { queuedMs, executingMs: jobTime - queuedMs };
  }
  return { help: values.help === true, options, faults: faultSpecs.map(parseFaultSpec), faultSpecs };
}

export async function runEmulatorCommand(argv: string[]): Promise<number> {
  let parsed: ParsedEmulatorArgs;
  try {
    parsed = parseEmulatorArgs(argv);
  } catch (err) {
    process.stderr.write(`aquasync emulator: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { options } = parsed;
  const given = options.clientId !== undefined;
  let emulator;
  try {
    emulator = await startEmulator(options);
  } catch (err) {
    // A bad state file or a taken port: say what and stop, no stack trace.
    process.stderr.write(`aquasync emulator: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  for (const fault of parsed.faults) emulator.admin.faults.add(fault);
  const partners = options.partners ?? [...DEFAULT_PARTNERS];
  const lines = [`Zuora emulator listening on ${emulator.url}`];
  if (given) lines.push('credentials: the --client-id / --client-secret you gave');
  else lines.push(`client id:     ${emulator.clientId}`, `client secret: ${emulator.clientSecret}`);
  lines.push(`partners accepted: ${partners.join(', ')} (add one with --partner NAME)`);
  if (options.statePath !== undefined) lines.push(`state file: ${options.statePath} (sessions, jobs, files and data changes survive a restart)`);
  if (parsed.faultSpecs.length > 0) lines.push(`faults armed: ${parsed.faultSpecs.join('  ')}`);
  const timing = options.timing;
  lines.push(`job time: ${timing === undefined ? 1000 : (timing.queuedMs ?? 0) + (timing.executingMs ?? 0)} ms`);
  lines.push('', ...walkthrough(emulator.url, emulator.clientId, emulator.clientSecret, partners.at(-1) ?? 'aquasync'), '');
  lines.push('Press Ctrl-C to stop.');
  process.stdout.write(`${lines.join('\n')}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await emulator.close();
  process.stdout.write('emulator stopped\n');
  return 0;
}
