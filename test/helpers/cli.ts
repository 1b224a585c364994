// The aquasync CLI as a child process, for every test that runs it as a user would (the built bin/aquasync.js),
// and the environments it runs in.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/aquasync.js');

export interface CliOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcessWithoutNullStreams;
  /** Everything written so far to stdout and stderr, interleaved. */
  output(): string;
  done: Promise<CliOutcome>;
}

export interface CliOptions {
  cwd?: string;
  /** Written to standard input, which is then closed (closed at once when not given). */
  input?: string;
  /** A process group of its own, as a shell starts a foreground job, so the test can signal the whole group. */
  detached?: boolean;
  /** Sees every line of stdout and stderr as it arrives. */
  onLine?: (line: string) => void;
}

/** Starts `aquasync <args>`. */
export function aquasync(args: string[], env: NodeJS.ProcessEnv, options: CliOptions = {}): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env, detached: options.detached === true, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let both = '';
  let partial = '';
  const take = (text: string): void => {
    both += text;
    if (!options.onLine) return;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    take(d.toString());
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    take(d.toString());
  });
  child.stdin.on('error', () => undefined); // a child that exits before reading its input
  child.stdin.end(options.input ?? '');
  const done = new Promise<CliOutcome>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
  return { child, output: () => both, done };
}

/** `aquasync <args>` to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, options: CliOptions = {}): Promise<CliOutcome> {
  return aquasync(args, env, options).done;
}

/** This database, this home, no stray Zuora/PG settings. */
export function cliEnv(home: string, databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AQUASYNC_HOME: home, DATABASE_URL: databaseUrl };
  for (const key of Object.keys(env)) {
    if (key.startsWith('ZUORA_') || key.startsWith('PG')) delete env[key];
  }
  return { ...env, ...extra };
}

/**
 * A fresh machine: no database, no Zuora settings. The embedded server gets a free port: the default (54329) may be
 * in use by another suite running on this machine.
 */
export function bareEnv(home: string, pgPort: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AQUASYNC_HOME: home, AQUASYNC_PG_PORT: String(pgPort) };
  for (const key of Object.keys(env)) {
    if (key === 'DATABASE_URL' || key.startsWith('ZUORA_') || key.startsWith('PG')) delete env[key];
  }
  return env;
}
