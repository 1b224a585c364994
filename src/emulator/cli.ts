// `aquasync emulator`: runs the emulator in the foreground until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { startEmulator } from './emulator.ts';
import type { EmulatorOptions } from './types.ts';

const USAGE = `Usage: aquasync emulator [options]

Runs a local Zuora AQuA + Data Query emulator on 127.0.0.1 until Ctrl-C.

Options:
  --port N                 port to listen on (default: a free port)
  --seed N                 data generator seed (default 1)
  --rows N                 InvoiceItem rows; other objects scale from it (default 1000)
  --client-id ID           OAuth client id (default: generated)
  --client-secret SECRET   OAuth client secret (default: generated)
  --segment-size N         rows per segment of stateful full loads (default 500000)
  --data-center us|eu      zone of incrementalTime: Pacific (us) or UTC (eu) (default us)
  --help                   show this help
`;

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

export async function runEmulatorCommand(argv: string[]): Promise<number> {
  let options: EmulatorOptions;
  try {
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
        'segment-size': { type: 'string' },
        'data-center': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
    if (values.help === true) {
      process.stdout.write(USAGE);
      return 0;
    }
    if ((values['client-id'] === undefined) !== (values['client-secret'] === undefined)) {
      throw new Error('--client-id and --client-secret go together: give both or neither');
    }
    const dataCenter = values['data-center'];
    if (dataCenter !== undefined && dataCenter !== 'us' && dataCenter !== 'eu') {
      throw new Error(`--data-center must be us or eu, got ${JSON.stringify(dataCenter)}`);
    }
    options = {
      port: integer('port', values.port, 0),
      seed: integer('seed', values.seed, 0),
      rows: integer('rows', values.rows, 0),
      segmentSize: integer('segment-size', values['segment-size'], 1),
      clientId: values['client-id'],
      clientSecret: values['client-secret'],
      dataCenter,
    };
  } catch (err) {
    process.stderr.write(`aquasync emulator: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const given = options.clientId !== undefined;
  const emulator = await startEmulator(options);
  const lines = [`Zuora emulator listening on ${emulator.url}`];
  if (given) lines.push('credentials: the --client-id / --client-secret you gave');
  else lines.push(`client id:     ${emulator.clientId}`, `client secret: ${emulator.clientSecret}`);
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
