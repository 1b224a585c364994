// Configuration mistakes end as configuration errors: exit 2, a message that names the problem, no stack trace, and
// nothing left in the temp folder. The built CLI as a child process, with a temp folder of its own to look into.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as aquasync } from '../helpers/cli.ts';

// Nine nested levels of nine aliases: a few hundred bytes that expand to 9^9 (387 million) nodes.
const ALIAS_BOMB = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  ...'bcdefghi'.split('').map((name, i) => {
    const prev = 'abcdefghi'[i];
    return `${name}: &${name} [${Array.from({ length: 9 }, () => `*${prev}`).join(',')}]`;
  }),
  'pipelines: *i',
  '',
].join('\n');

describe('configuration mistakes', () => {
  let dir: string;
  let tmp: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aquasync-mistakes-'));
    writeFileSync(join(dir, 'bomb.yaml'), ALIAS_BOMB);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['a YAML alias bomb', ['sync', '--config', 'BOMB'], {}, /bomb\.yaml:1: YAML: Excessive alias count/],
    [
      'a bad % escape in the database password',
      ['status'],
      { DATABASE_URL: 'postgres://loader:50%off-Canary@127.0.0.1:5432/w' },
      /DATABASE_URL is not a valid URL: .*a % is not followed by two hex digits/,
    ],
    ['a bad % escape in the database name', ['migrate'], { DATABASE_URL: 'postgres://loader@127.0.0.1:5432/w%zz' }, /DATABASE_URL is not a valid URL/],
    ['plain http to Zuora', ['sync'], { ZUORA_BASE_URL: 'http://rest.na.zuora.com', ZUORA_CLIENT_ID: 'i', ZUORA_CLIENT_SECRET: 's' }, /baseUrl must use https/],
  ];

  it.each(cases)('%s: exit 2, the problem named, no stack trace, no temp folder left', async (_name, args, extra, message) => {
    tmp = mkdtempSync(join(tmpdir(), 'aquasync-mistakes-tmp-'));
    try {
      const env = { ...process.env, TMPDIR: tmp, ...extra };
      const out = await aquasync(args.map((a) => (a === 'BOMB' ? join(dir, 'bomb.yaml') : a)), env);
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr).toMatch(message);
      expect(out.stderr).not.toMatch(/unexpected error|\n\s+at |URIError|ReferenceError/);
      expect(out.stdout + out.stderr).not.toContain('Canary');
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});
