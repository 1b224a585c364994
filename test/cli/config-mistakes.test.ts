// Configuration mistakes end as configuration errors: exit 2, a message that names the problem, no stack trace, and
// nothing left in the temp folder. The built CLI as a child process, with a temp folder of its own to look into.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/aquasync.js');

function aquasync(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

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
