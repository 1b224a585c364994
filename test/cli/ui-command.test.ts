// `aquasync ui` as a user runs it: a real child process on a real warehouse, its URL on stdout, loopback by
// default, a clean exit on SIGTERM, and usage mistakes as exit 2 without a stack trace.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelinesResponse } from '../../src/ui/types.ts';
import { openTestWarehouse } from '../helpers/db.ts';
import { seedWorld, YAML } from '../ui/fixtures.ts';

const BIN = resolve(import.meta.dirname, '../../bin/aquasync.js');

describe('aquasync ui', () => {
  let world: Awaited<ReturnType<typeof openTestWarehouse>>;
  let dir: string;
  let config: string;

  beforeAll(async () => {
    world = await openTestWarehouse('ui_cli');
    await seedWorld(world.warehouse.pool);
    dir = mkdtempSync(join(tmpdir(), 'aquasync-ui-cli-'));
    config = join(dir, 'pipelines.yaml');
    writeFileSync(config, YAML);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await world?.close();
  });

  function start(args: string[]): { child: ReturnType<typeof spawn>; output: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [BIN, 'ui', '--config', config, ...args], {
      env: { ...process.env, DATABASE_URL: world.database.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    return { child, output: () => output, exited };
  }

  it('serves the page on loopback, prints where, and stops cleanly on SIGTERM', async () => {
    const run = start(['--port', '0']);
    const url = await new Promise<string>((found, fail) => {
      const timer = setInterval(() => {
        const match = /status page: (http:\/\/\S+\/) /.exec(run.output());
        if (match) {
          clearInterval(timer);
          found(match[1]!);
        }
      }, 50);
      void run.exited.then(() => {
        clearInterval(timer);
        fail(new Error(`aquasync ui exited early:\n${run.output()}`));
      });
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const body = (await (await fetch(`${url}api/pipelines`)).json()) as PipelinesResponse;
    expect(body.pipelines.map((p) => `${p.name}:${p.state}`)).toEqual(['billing:ok', 'usage:late', 'payments:failing', 'catalog:ok', 'ledger:waiting']);
    expect(await (await fetch(url)).text()).toContain('<title>aquasync status</title>');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it.each([
    [['--host', 'not a host'], /--host must be an address/],
    [['--port', 'http'], /--port must be a port number/],
    [['--port', '0', '--host', '192.0.2.1'], /cannot serve the status page on 192\.0\.2\.1:0/],
  ])('exits 2 without a stack trace for %j', async (args, message) => {
    const run = start(args);
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(message);
    expect(run.output()).not.toMatch(/\n\s+at /);
  });
});
