// The aquasync command as a user runs it: a real child process, real exit codes, real output.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, stopEmbeddedPostgres } from '../../src/db/index.ts';
import { bareEnv, BIN, ROOT, runCli as aquasync } from '../helpers/cli.ts';

describe('aquasync CLI', () => {
  let home: string;
  let pgPort: number;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'aquasync-cli-'));
    chmodSync(home, 0o755); // the embedded server runs as the postgres user when tests run as root
    pgPort = await freePort();
  });
  afterAll(async () => {
    await stopEmbeddedPostgres(home);
    rmSync(home, { recursive: true, force: true });
  });

  it('zero set-up: syncs the built-in emulator into an embedded Postgres, then incrementally', async () => {
    const env = bareEnv(home, pgPort);
    const first = await aquasync(['sync'], env);
    expect(first.stderr).not.toMatch(/ERROR|WARN/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/zuora\.invoice_item\s+full\s+5,000/);
    expect(first.stdout).toMatch(/1 of 1 pipeline\(s\) loaded: 7,500 row\(s\) written from 7,500 row\(s\) in the result files/);
    // Human log lines carry a UTC timestamp; the first command says where the embedded server runs and until when.
    expect(first.stdout).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ started the embedded Postgres on 127\\.0\\.0\\.1:${pgPort} .*until "npx aquasync db stop"`, 'm'));
    expect(first.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[billing\] submitted sync job/m);

    const second = await aquasync(['sync'], env);
    expect(second.code).toBe(0);
    expect(second.stderr).not.toMatch(/connection lost|WARN/);
    expect(second.stdout).toMatch(/zuora\.account\s+incremental/);
    expect(second.stdout).not.toMatch(/\bfull\b/);
    expect(second.stdout).not.toMatch(/started the embedded Postgres/); // the first command left it running
    // An incremental load reads more rows than it writes (unchanged rows are not rewritten): both are reported.
    const totals = /loaded: ([\d,]+) row\(s\) written from ([\d,]+) row\(s\) in the result files/.exec(second.stdout);
    expect(totals).not.toBeNull();
    expect(Number(totals![1]!.replace(/,/g, ''))).toBeLessThan(Number(totals![2]!.replace(/,/g, '')));

    const status = await aquasync(['status', '--json'], env);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as {
      warehouse: { embedded: boolean; port: number };
      pipelines: { name: string; lastRun: { status: string }; tables: { table: string; rows: number }[] }[];
    };
    expect(parsed.warehouse.embedded).toBe(true);
    expect(parsed.warehouse.port).toBe(pgPort);
    expect(parsed.pipelines[0]?.lastRun.status).toBe('succeeded');
    expect(parsed.pipelines[0]?.tables.find((t) => t.table === 'zuora.invoice_item')?.rows).toBe(5000);

    const query = await aquasync(['query', 'select count(*) as n from zuora.account'], env);
    expect(query.code).toBe(0);
    expect(query.stdout).toMatch(/\bn\b[\s\S]*\b12[0-9]\b/);

    const history = await aquasync(['history'], env);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/^id\s+pipeline\s+kind\s+started \(UTC\)\s+duration\s+outcome\s+written\s+read\s+watermark\s+moved\s+error$/m);
    expect(history.stdout).toMatch(/^\s*1\s+billing\s+manual\s+\S+Z\s+.*succeeded\s+7,500\s+7,500\s+\S+Z\s+\+\d/m);
    const runs = (await aquasync(['history', '--json', '--limit', '1'], env)).stdout.trim().split('\n');
    expect(runs).toHaveLength(1);
    expect(JSON.parse(runs[0]!)).toMatchObject({ id: 2, kind: 'manual', status: 'succeeded', rowsWritten: Number(totals![1]!.replace(/,/g, '')) });
  }, 300_000);

  it('zero set-up: verify right after sync passes though the built-in emulator changed rows since (pending), with --json; status shows it', async () => {
    const env = bareEnv(home, pgPort);
    // Every start of the built-in emulator changes a few rows, as a live tenant does between syncs.
    const verify = await aquasync(['verify', '--json'], env);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    const report = JSON.parse(verify.stdout.slice(verify.stdout.indexOf('{'))) as {
      ok: boolean;
      objects: { object: string; result: string; rowsMissing: number; rowsExtra: number; rowsPending: number; daysChecked: number; days: unknown[] }[];
    };
    expect(report.ok).toBe(true);
    expect(report.objects.map((o) => [o.object, o.result, o.rowsMissing, o.rowsExtra, o.days])).toEqual(
      report.objects.map((o) => [o.object, 'ok', 0, 0, []]),
    );
    expect(report.objects.reduce((n, o) => n + o.rowsPending, 0)).toBeGreaterThan(0);

    const table = await aquasync(['verify'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^pipeline\s+object\s+result\s+days checked\s+days matching\s+rows missing\s+rows extra\s+rows pending\s+worst day \(UTC\)$/m);
    expect(table.stdout).toMatch(/pending \(the next sync brings them\)/);

    const reconcile = await aquasync(['reconcile', '--json'], env);
    expect(reconcile.code, reconcile.stderr + reconcile.stdout).toBe(0);
    const ids = JSON.parse(reconcile.stdout.slice(reconcile.stdout.indexOf('{'))) as { ok: boolean; objects: { missing: number; goneFromZuora: number; staleJoins: number }[] };
    expect(ids.ok).toBe(true);
    expect(ids.objects.every((o) => o.missing + o.goneFromZuora + o.staleJoins === 0)).toBe(true);

    const status = await aquasync(['status'], env);
    expect(status.stdout).toMatch(/^ {2}verified: {3}\S+Z \(manual\): ok; [\d,]+ pending$/m);
    const json = JSON.parse((await aquasync(['status', '--json'], env)).stdout) as { pipelines: { lastVerification: { ok: boolean } }[] };
    expect(json.pipelines[0]?.lastVerification.ok).toBe(true);
  }, 300_000);

  it('serves the emulator until SIGTERM, with the URL and credentials it prints', async () => {
    const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--rows', '200'], {
      cwd: ROOT,
      env: bareEnv(home, pgPort),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const banner = await new Promise<string>((resolvePromise, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/client secret: \S+/.test(out)) resolvePromise(out);
      });
      child.on('exit', (code) => reject(new Error(`emulator exited with ${String(code)}: ${out}`)));
    });
    const url = /listening on (http:\/\/\S+)/.exec(banner)?.[1];
    const id = /client id:\s+(\S+)/.exec(banner)?.[1];
    const secret = /client secret:\s+(\S+)/.exec(banner)?.[1];
    expect(url && id && secret).toBeTruthy();
    const token = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: id!, client_secret: secret!, grant_type: 'client_credentials' }),
    });
    expect(token.status).toBe(200);
    expect(((await token.json()) as { access_token: string }).access_token).toMatch(/^[0-9a-f]{32}$/);
    const exited = new Promise<number | null>((resolvePromise) => child.on('exit', resolvePromise));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('prints --help for every command', async () => {
    // The commands are read from the top-level help, so a new command cannot slip past this test.
    const top = await aquasync(['--help'], bareEnv(home, pgPort));
    expect(top.code).toBe(0);
    const listed = top.stdout.split('Commands:\n')[1]?.split('\n\n')[0]?.split('\n').map((line) => line.trim().split(/\s+/)[0]!) ?? [];
    expect(listed).toEqual(expect.arrayContaining(['sync', 'schedule', 'backfill', 'verify', 'reconcile', 'ui', 'emulator', 'db']));
    for (const command of listed) {
      const out = await aquasync([command, '--help'], bareEnv(home, pgPort));
      expect(out.code, command).toBe(0);
      expect(out.stdout, command).toMatch(new RegExp(`aquasync ${command}`));
    }
  });

  it('names the file and line of a bad config and exits 2 without touching anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquasync-badcfg-'));
    const file = join(dir, 'pipelines.yaml');
    writeFileSync(
      file,
      'source:\n  baseUrl: emulator\npipelines:\n  - name: billing\n    schedule: "0 2 * * *"\n    partner: p\n    project: q\n    objects:\n      - name: Account\n        fields: [Id]\n        deltes: soft\n',
    );
    const out = await aquasync(['sync', '--config', file], bareEnv(home, pgPort));
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/pipelines\.yaml:11: unknown key "deltes" \(did you mean "deletes"\?\)/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects an unknown command and unknown options with usage', async () => {
    expect((await aquasync(['sink'], bareEnv(home, pgPort))).code).toBe(2);
    const out = await aquasync(['sync', '--pipelne', 'x'], bareEnv(home, pgPort));
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/Unknown option '--pipelne'/);
  });
});
