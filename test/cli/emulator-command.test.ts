// `aquasync emulator` as a client author runs it: a real child process, its banner, the curl walkthrough it prints
// run by a real shell, options for partners, state, job time and faults.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(resolve(import.meta.dirname, '../..'), 'bin/aquasync.js');
const home = mkdtempSync(join(tmpdir(), 'aquasync-emulator-cli-'));
const env = { PATH: process.env.PATH ?? '', HOME: home };
const run = promisify(execFile);

afterAll(() => rmSync(home, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  banner: string;
  url: string;
  stop(): Promise<number | null>;
}

function emulator(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--rows', '60', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolvePromise, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Press Ctrl-C to stop.')) {
        const url = /listening on (http:\/\/\S+)/.exec(out)?.[1] ?? '';
        resolvePromise({
          child,
          banner: out,
          url,
          stop: () =>
            new Promise((done) => {
              child.once('exit', done);
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${String(code)}: ${out}`)));
  });
}

/** The shell lines of the banner's walkthrough, as a user would paste them. */
const walkthrough = (banner: string): string =>
  banner
    .split('\n')
    .filter((l) => /^ {2}(BASE=|TOKEN=|JOB=|until |FILE=|curl )/.test(l))
    .join('\n');

async function token(url: string, banner: string): Promise<string> {
  const id = /client id:\s+(\S+)/.exec(banner)?.[1] ?? '';
  const secret = /client secret:\s+(\S+)/.exec(banner)?.[1] ?? '';
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: id, client_secret: secret, grant_type: 'client_credentials' }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('aquasync emulator', () => {
  it('accepts --partner mypartner, lists it, and its curl walkthrough works as pasted; --state keeps the session', async () => {
    const state = join(home, 'state.json');
    const first = await emulator(['--partner', 'mypartner', '--job-time', '200', '--state', state]);
    try {
      expect(first.banner).toContain('partners accepted: aquasync, salesforce, mypartner');
      expect(first.banner).toContain('job time: 200 ms');
      expect(first.banner).toContain(`state file: ${state}`);
      const script = walkthrough(first.banner);
      expect(script.split('\n')).toHaveLength(6);
      expect(script).toContain('"partner":"mypartner"');
      const { stdout } = await run('bash', ['-ec', script], { env, timeout: 30_000 });
      const lines = stdout.trim().split(/\r?\n/);
      expect(lines[0]).toBe('Account: ID,Account: Account Name,Account: Updated Date');
      expect(lines.length).toBeGreaterThan(5);
      // A partner nobody registered is still refused, as on Zuora.
      const bearer = await token(first.url, first.banner);
      const other = await fetch(`${first.url}/v1/batch-query/`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ format: 'csv', version: '1.1', partner: 'otherpartner', project: 'p', queries: [{ name: 'q', type: 'zoqlexport', query: 'select Id from Account' }] }),
      });
      expect(((await other.json()) as { errorCode: string }).errorCode).toBe('90019');
    } finally {
      expect(await first.stop()).toBe(0);
    }
    // Restarted on the same state file: same credentials, and the walkthrough's project continues incrementally.
    const second = await emulator(['--partner', 'mypartner', '--job-time', '200', '--state', state]);
    try {
      expect(/client secret:\s+(\S+)/.exec(second.banner)?.[1]).toBe(/client secret:\s+(\S+)/.exec(first.banner)?.[1]);
      const script = walkthrough(second.banner).split('\n').slice(0, 4).join('\n');
      const { stdout } = await run('bash', ['-ec', `${script}\ncurl -s "$BASE/v1/batch-query/jobs/$JOB" -H "Authorization: Bearer $TOKEN"`], { env, timeout: 30_000 });
      expect(stdout).toContain('"full":false');
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 60_000);

  it('arms a --fault given on the command line: 429 on every second token request', async () => {
    const emu = await emulator(['--fault', '429:token,every=2', '--fault', 'reset:file']);
    try {
      expect(emu.banner).toContain('faults armed: 429:token,every=2  reset:file');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${emu.url}/oauth/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
        statuses.push(res.status);
      }
      // Bad credentials answer 400/401; every second request is the injected 429 instead.
      expect(statuses.map((s) => s === 429)).toEqual([false, true, false, true]);
    } finally {
      expect(await emu.stop()).toBe(0);
    }
  }, 30_000);

  it('refuses a malformed --fault or reading with exit 2 and the reason', async () => {
    const bad = await run(process.execPath, [BIN, 'emulator', '--fault', 'teapot'], { env }).catch((err: { code: number; stderr: string }) => err);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toContain('unknown fault kind "teapot"');
    const reading = await run(process.execPath, [BIN, 'emulator', '--incremental-time-boundary', 'sometimes'], { env }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect((reading as { code: number }).code).toBe(2);
    expect((reading as { stderr: string }).stderr).toContain('--incremental-time-boundary must be inclusive or exclusive');
  }, 30_000);
});
