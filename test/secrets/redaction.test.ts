// Redaction of every form a password takes (userinfo, ?password=, percent-encoded, JSON-escaped) on the finished
// output of both log formats, and in what `status`, `status --json` and `migrate` print (the built CLI, a real
// Postgres: trust authentication ignores the password, so the canary can ride in the URL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/db/index.ts';
import { createLogger, redact, registerSecret } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';

async function aquasync(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const { code, stdout, stderr } = await runCli(args, env);
  return { code, out: stdout + stderr };
}

describe('redact', () => {
  it.each([
    ['userinfo of any scheme', 'at postgres://loader:Canary-1a@db/w and mysql://root:Canary-1b@h', ['Canary-1a', 'Canary-1b']],
    ['?password= and &PASSWORD=', 'postgres://u@db/w?sslmode=require&password=Canary-2a x?PASSWORD=Canary-2b', ['Canary-2a', 'Canary-2b']],
    ['a percent-encoded parameter name', 'postgres://u@db/w?pass%77ord=Canary-3', ['Canary-3']],
    ['a percent-encoded password', 'postgres://u:Can%40ary%2F4@db/w', ['Can%40ary%2F4', 'Can@ary/4']],
    ['client_secret in a form body', 'client_id=x&client_secret=Canary-5&grant_type=client_credentials', ['Canary-5']],
  ])('%s', (_name, text, canaries) => {
    const out = redact(text);
    for (const canary of canaries) expect(out).not.toContain(canary);
    expect(out).toContain('***');
  });

  it('leaves ordinary text alone', () => {
    const text = 'loaded 3 row(s) at 12:30 from https://rest.na.zuora.com/v1/files/abc?x=1 for me@example.com (attempt=1 of=6)';
    expect(redact(text)).toBe(text);
  });

  it('redactUrl hides ?password= too', () => {
    expect(redactUrl('postgres://u:pw-a@db:5432/w?password=pw-b&sslmode=require')).toBe('postgres://u:***@db:5432/w?password=***&sslmode=require');
  });
});

describe('both log formats, on their finished lines', () => {
  // A secret with a quote and a backslash: JSON.stringify writes them \" and \\, so a redactor that looks for the
  // plain secret in the JSON line misses it.
  const secret = 'Qu"ote\\Back-Canary-6';
  registerSecret(secret);

  it.each(['json', 'human'] as const)('%s', (format) => {
    const lines: string[] = [];
    const logger = createLogger({ format, level: 'debug', write: (line) => lines.push(line) }).child({ pipeline: 'p' });
    logger.info(`message with ${secret}`, { detail: `field with ${secret}`, url: 'postgres://u@h/d?password=Canary-7' });
    logger.warn('an unregistered URL', { url: 'postgres://u:Qu%22o%5Cte-Canary-8@h/d' });
    const text = lines.join('\n');
    for (const leak of ['Canary-6', 'Canary-7', 'Canary-8', JSON.stringify(secret).slice(1, -1)]) expect(text).not.toContain(leak);
    if (format === 'json') {
      const first = JSON.parse(lines[0] ?? '{}') as Record<string, string>;
      expect(first.msg).toBe('message with ***');
      expect(first.detail).toBe('field with ***');
      expect(first.url).toBe('postgres://u@h/d?password=***');
    }
  });
});

describe('the CLI prints no password of DATABASE_URL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('redact');
  });
  afterAll(async () => database?.drop());

  it.each([
    ['?password=', (url: string) => `${url}?password=Canary-Query-9`],
    ['a password with " and \\ (percent-encoded)', (url: string) => url.replace('://postgres@', '://postgres:Canary%22Quote%5CBack-10@')],
  ])('%s: status, status --json, migrate, in human and JSON logs', async (_name, withPassword) => {
    const url = withPassword(database.url);
    expect(url).toMatch(/Canary/);
    const env = { ...process.env, DATABASE_URL: url };
    for (const args of [['migrate'], ['status'], ['status', '--json'], ['migrate', '--log-format', 'json'], ['status', '--log-format', 'json']]) {
      const { code, out } = await aquasync(args, env);
      expect(code, `${args.join(' ')}: ${out}`).toBe(0);
      expect(out, args.join(' ')).not.toMatch(/Canary|Quote|Back-10/);
      if (args[0] === 'status' && args.length === 1) expect(out).toMatch(/warehouse: postgres:\/\/postgres(:\*\*\*)?@127\.0\.0\.1/);
    }
  }, 120_000);
});
