// Secret hygiene: every kind of CLI invocation the suite makes, run with a known client secret (given through
// ${ZUORA_CLIENT_SECRET}), and then a search for that secret, a wrong secret, the database password and every access
// token the emulator minted in all their output, in every row of every table of the database, and in the emulator's
// request log. Some runs meet Zuora error text that echoes a credential, so removing redaction makes this fail.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type Fault } from '../../src/emulator/index.ts';
import { aquasync, cliEnv, configYaml, type CliOutcome } from '../chaos/harness.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { waitFor } from '../scheduler/helpers.ts';
import { startTokenTap, type TokenTap } from './token-tap.ts';

const SECRET = 'S3cr3t-aquasync-canary-7f1e0c9b2d4a';
const WRONG_SECRET = 'Wr0ng-aquasync-canary-3b8e51d0c7f2';
const DB_PASSWORD = 'Pg-aquasync-canary-a91c4e7d';
const CLOCK_START = Date.parse('2026-03-02T12:00:00Z');

let emulator: Emulator;
let tap: TokenTap;
let db: TestDatabase;
let databaseUrl: string;
let pool: pg.Pool;
let home: string;
let configFile: string;
/** Canaries besides the tokens (the database password only when the server accepts a URL carrying one). */
const canaries: { name: string; value: string }[] = [
  { name: 'client secret', value: SECRET },
  { name: 'wrong client secret', value: WRONG_SECRET },
];
const outputs: { label: string; out: CliOutcome }[] = [];

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cliEnv(home, databaseUrl, { ZUORA_CLIENT_SECRET: SECRET, ...extra });
}

async function cli(label: string, args: string[], extra: Record<string, string> = {}): Promise<CliOutcome> {
  const out = await aquasync([...args, '--config', configFile], env(extra)).done;
  outputs.push({ label, out });
  return out;
}

async function withFaults(faults: Fault[], body: () => Promise<void>): Promise<void> {
  for (const fault of faults) emulator.admin.faults.add(fault);
  try {
    await body();
  } finally {
    emulator.admin.faults.clear();
  }
}

/** The URL with a password: with trust auth the server ignores it, and the CLI must still never print it. */
async function urlWithPassword(url: string): Promise<string> {
  const parsed = new URL(url);
  if (parsed.password) {
    canaries.push({ name: 'database password', value: decodeURIComponent(parsed.password) });
    return url;
  }
  parsed.password = DB_PASSWORD;
  const client = new pg.Client({ connectionString: parsed.toString() });
  try {
    await client.connect();
  } catch {
    return url; // the server wants a real password: leave this canary out
  } finally {
    await client.end().catch(() => undefined);
  }
  canaries.push({ name: 'database password', value: DB_PASSWORD });
  return parsed.toString();
}

/** Every row of every table outside the system schemas, as JSON text, one line per row. */
async function dumpDatabase(): Promise<{ tables: number; rows: number; text: string }> {
  const { rows: tables } = await pool.query<{ s: string; t: string }>(
    `select table_schema as s, table_name as t from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
      order by 1, 2`,
  );
  const lines: string[] = [];
  for (const { s, t } of tables) {
    const { rows } = await pool.query<{ j: string }>(`select row_to_json(x)::text as j from "${s}"."${t}" x`);
    for (const row of rows) lines.push(`${s}.${t}: ${row.j}`);
  }
  return { tables: tables.length, rows: lines.length, text: lines.join('\n') };
}

function findings(haystacks: { where: string; text: string }[], needles: { name: string; value: string }[]): string[] {
  const found: string[] = [];
  for (const { where, text } of haystacks) {
    for (const { name, value } of needles) {
      const at = text.indexOf(value);
      if (at >= 0) found.push(`${name} in ${where}: …${text.slice(Math.max(0, at - 80), at + value.length + 20)}…`);
    }
  }
  return found;
}

function tokenCanaries(): { name: string; value: string }[] {
  return [...tap.tokens].map((value, i) => ({ name: `access token #${i + 1}`, value }));
}

describe('secret hygiene across the CLI', () => {
  beforeAll(async () => {
    emulator = await startEmulator({
      seed: 23,
      rows: 60,
      clientId: 'aquasync-canary-client',
      clientSecret: SECRET,
      timing: { queuedMs: 5, executingMs: 10 },
      clockStart: CLOCK_START,
    });
    tap = await startTokenTap(emulator.url);
    db = await createTestDatabase('secrets');
    databaseUrl = await urlWithPassword(db.url);
    pool = testPool({ connectionString: db.url, max: 2 });
    home = mkdtempSync(join(tmpdir(), 'aquasync-secrets-'));
    chmodSync(home, 0o755);
    configFile = join(home, 'pipelines.yaml');
    // The secret is not in the file: the CLI resolves ${ZUORA_CLIENT_SECRET} from its environment.
    writeFileSync(
      configFile,
      configYaml({ baseUrl: tap.url, clientId: emulator.clientId, clientSecret: '${ZUORA_CLIENT_SECRET}' }, [{ name: 'canary' }]),
    );
  });
  afterAll(async () => {
    await pool?.end();
    await tap?.close();
    await emulator?.close();
    await db?.drop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('syncs, in human and JSON form at debug level, and dry-runs', async () => {
    expect((await cli('sync --dry-run (no watermark)', ['sync', '--dry-run'])).code).toBe(0);
    const first = await cli('sync (human, debug)', ['sync', '--log-level', 'debug']);
    expect(first.code, first.stderr).toBe(0);
    emulator.admin.clock.advance(60_000);
    const account = emulator.admin.rows('Account').find((r) => r.deletedAt === undefined);
    emulator.admin.update('Account', String(account?.values.Id), { Name: 'renamed for the second run' });
    emulator.admin.clock.advance(60_000);
    const second = await cli('sync (json, debug)', ['sync', '--log-format', 'json', '--log-level', 'debug']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^\{"time":/m);
    const dry = await cli('sync --dry-run (watermark)', ['sync', '--dry-run', '--log-level', 'debug']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/"incrementalTime"/);
  });

  it('backfills (and dry-runs the backfill)', async () => {
    const range = ['--pipeline', 'canary', '--since', '2026-02-01T00:00:00Z', '--until', '2026-03-02T00:00:00Z', '--window', '15d'];
    const dry = await cli('backfill --dry-run', ['backfill', ...range, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/"windows"/);
    const real = await cli('backfill', ['backfill', ...range, '--log-level', 'debug']);
    expect(real.code, real.stderr).toBe(0);
  });

  it('reports: status, status --json, query, verify, reconcile', async () => {
    const status = await cli('status', ['status']);
    expect(status.code, status.stderr).toBe(0);
    // The warehouse URL is printed, so a password in it is really exposed to the search (when there is one).
    if (canaries.some((c) => c.name === 'database password')) expect(status.stdout).toMatch(/warehouse: postgres(ql)?:\/\/[^:]+:\*\*\*@/);
    const json = await cli('status --json', ['status', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { pipelines: unknown[] }).pipelines).toHaveLength(1);
    const query = await aquasync(['query', 'select count(*) as n from zuora.account', '--json'], env()).done;
    outputs.push({ label: 'query', out: query });
    expect(query.code, query.stderr).toBe(0);
    const verify = await cli('verify', ['verify', '--pipeline', 'canary', '--log-level', 'debug']);
    expect([0, 1], verify.stderr).toContain(verify.code);
    expect(verify.stdout + verify.stderr).toMatch(/Account/i);
    const reconcile = await cli('reconcile', ['reconcile', '--pipeline', 'canary', '--log-level', 'debug']);
    expect([0, 1], reconcile.stderr).toContain(reconcile.code);
    expect(reconcile.stdout + reconcile.stderr).toMatch(/Account/i);
  });

  it('fails on a wrong secret (401) without printing or storing it', async () => {
    const out = await cli('sync with a wrong secret', ['sync', '--log-level', 'debug'], { ZUORA_CLIENT_SECRET: WRONG_SECRET });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/credentials/);
  });

  it('survives transient faults (503 on the token and the submit)', async () => {
    await withFaults(
      [
        { kind: 'status', status: 503, route: 'token' },
        { kind: 'status', status: 503, route: 'submit' },
      ],
      async () => {
        const out = await cli('sync after 503s', ['sync', '--log-format', 'json', '--log-level', 'debug']);
        expect(out.code, out.stderr).toBe(0);
      },
    );
  });

  it('redacts Zuora error text that echoes a credential (an aborted batch, a rejected submit)', async () => {
    // Zuora (or a gateway in front of it) echoing credentials back is the case only redaction protects against.
    await withFaults([{ kind: 'abort-batch', message: `query rejected for client ${emulator.clientId} with secret ${SECRET}` }], async () => {
      const out = await cli('sync with an aborted batch', ['sync', '--log-level', 'debug']);
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/query rejected/);
    });
    const seen = [...tap.tokens].at(-1);
    expect(seen).toBeDefined();
    await withFaults(
      [{ kind: 'submit-error', errorCode: '90005', message: `bad request (Authorization: Bearer ${seen ?? ''}; client_secret=${SECRET})`, times: 5 }],
      async () => {
        const out = await cli('sync with a rejected submit', ['sync', '--log-format', 'json']);
        expect(out.code).toBe(1);
        expect(out.stderr).toMatch(/90005/);
      },
    );
  });

  it('runs `aquasync schedule` for one firing and stops on SIGTERM', async () => {
    const file = join(home, 'scheduled.yaml');
    writeFileSync(
      file,
      configYaml({ baseUrl: tap.url, clientId: emulator.clientId, clientSecret: '${ZUORA_CLIENT_SECRET}' }, [{ name: 'canary' }]).replace(
        '"0 2 * * *"',
        '"*/2 * * * * *"',
      ),
    );
    const started = Date.now();
    const run = aquasync(['schedule', '--config', file, '--log-format', 'json', '--log-level', 'debug', '--grace', '10'], env());
    try {
      await waitFor('a succeeded scheduled run', async () => {
        const { rows } = await pool.query(
          "select 1 from aquasync.runs where kind = 'scheduled' and status = 'succeeded' and started_at >= $1",
          [new Date(started - 1000)],
        );
        return rows.length > 0;
      });
    } finally {
      run.child.kill('SIGTERM');
    }
    const out = await run.done;
    outputs.push({ label: 'schedule', out });
    expect(out.code, out.stderr).toBe(0);
  }, 40_000);

  it('leaves no secret or token in any output, any table or the emulator request log', async () => {
    const tokens = tokenCanaries();
    // Not vacuous: every process got its own token, and the request log really holds the credential exchange.
    expect(tokens.length).toBeGreaterThanOrEqual(8);
    const log = emulator.admin.requests();
    expect(log.some((r) => r.path.startsWith('/oauth/token') && (r.body as Record<string, unknown>).client_secret === '***')).toBe(true);
    const dump = await dumpDatabase();
    expect(dump.tables).toBeGreaterThan(5);
    expect(dump.text).toMatch(/query rejected/); // the echoing error text was stored, redacted
    expect(dump.text).toMatch(/90005/);

    const haystacks = [
      ...outputs.flatMap(({ label, out }) => [
        { where: `${label} stdout`, text: out.stdout },
        { where: `${label} stderr`, text: out.stderr },
      ]),
      { where: 'the database', text: dump.text },
      { where: 'the emulator request log', text: JSON.stringify(log) },
    ];
    expect(findings(haystacks, [...canaries, ...tokens])).toEqual([]);
  });
});
