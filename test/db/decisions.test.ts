// Pure decisions behind the warehouse connection and the embedded Postgres.
import { describe, expect, it } from 'vitest';
import {
  choosePort,
  connectionError,
  connectionTarget,
  decideRunAs,
  DEFAULT_EMBEDDED_PORT,
  firstUntraversable,
  parsePostmasterPid,
  redactUrl,
  relocatedPgDir,
} from '../../src/db/index.ts';
import { WarehouseError } from '../../src/errors.ts';

describe('decideRunAs', () => {
  it.each([
    ['normal user, no postgres user', 1000, undefined, 'self'],
    ['normal user, postgres user exists', 1000, { uid: 101, gid: 104 }, 'self'],
    ['no getuid (Windows)', undefined, undefined, 'self'],
    ['root with a postgres user', 0, { uid: 101, gid: 104 }, 'postgres-user'],
    ['root without a postgres user', 0, undefined, 'refuse'],
  ] as const)('%s', (_name, uid, postgresUser, kind) => {
    expect(decideRunAs({ uid, postgresUser }).kind).toBe(kind);
  });

  it('tells root without a postgres user what to do', () => {
    const decision = decideRunAs({ uid: 0, postgresUser: undefined });
    expect(decision.kind).toBe('refuse');
    if (decision.kind !== 'refuse') return;
    expect(decision.message).toMatch(/root/);
    expect(decision.hint).toMatch(/user named postgres/);
    expect(decision.hint).toMatch(/normal user/);
    expect(decision.hint).toMatch(/DATABASE_URL/);
  });

  it('carries the postgres uid and gid', () => {
    expect(decideRunAs({ uid: 0, postgresUser: { uid: 101, gid: 104 } })).toEqual({ kind: 'postgres-user', uid: 101, gid: 104 });
  });
});

describe('firstUntraversable', () => {
  const root = { path: '/', mode: 0o40755, uid: 0, gid: 0 };
  it.each([
    ['all world-traversable', [root, { path: '/tmp', mode: 0o41777, uid: 0, gid: 0 }], undefined],
    ['/root is 0700', [root, { path: '/root', mode: 0o40700, uid: 0, gid: 0 }, { path: '/root/x', mode: 0o40755, uid: 0, gid: 0 }], '/root'],
    ['owned by postgres, 0700', [root, { path: '/srv', mode: 0o40700, uid: 101, gid: 0 }], undefined],
    ['group postgres, 0750', [root, { path: '/srv', mode: 0o40750, uid: 0, gid: 104 }], undefined],
    ['group other, 0750', [root, { path: '/srv', mode: 0o40750, uid: 0, gid: 5 }], '/srv'],
    ['owner without x even if others have it', [root, { path: '/srv', mode: 0o40601, uid: 101, gid: 0 }], '/srv'],
  ] as const)('%s', (_name, entries, expected) => {
    expect(firstUntraversable(entries, 101, 104)).toBe(expected);
  });
});

describe('parsePostmasterPid', () => {
  it.each([
    ['8657\n/tmp/pg/data\n1795568507\n54329\n\n127.0.0.1\n  2146445         9\nready   \n', { pid: 8657, port: 54329, status: 'ready' }],
    ['8657\n/tmp/pg/data\n1795568507\n54329\n\n127.0.0.1\n  2146445         9\nstopping\n', { pid: 8657, port: 54329, status: 'stopping' }],
    ['123\n/d\n1\n5432\n', { pid: 123, port: 5432 }],
    ['', undefined],
    ['abc\n/d\n1\n5432\n', undefined],
    ['123\n/d\n', undefined],
  ])('%j', (text, expected) => {
    expect(parsePostmasterPid(text)).toEqual(expected);
  });
});

describe('choosePort', () => {
  it.each([
    ['an explicit option wins', { option: 6000, env: '7000', remembered: '8000' }, { port: 6000, source: 'option' }],
    ['then AQUASYNC_PG_PORT', { env: '7000', remembered: '8000' }, { port: 7000, source: 'env' }],
    ['then the port this home last ran on', { env: '', remembered: '8000\n' }, { port: 8000, source: 'remembered' }],
    ['then the default', {}, { port: DEFAULT_EMBEDDED_PORT, source: 'default' }],
    ['a garbled remembered port is ignored', { remembered: 'x' }, { port: DEFAULT_EMBEDDED_PORT, source: 'default' }],
  ] as const)('%s', (_name, input, expected) => {
    expect(choosePort(input)).toEqual(expected);
  });

  it.each(['fast', '0', '65536', '54 329', '-1'])('refuses AQUASYNC_PG_PORT=%s', (env) => {
    expect(choosePort({ env })).toEqual({ error: expect.stringMatching(/AQUASYNC_PG_PORT must be a port number from 1 to 65535/) });
  });
});

describe('relocatedPgDir', () => {
  it('names the directory after the home, one per home, under the given root', () => {
    const a = relocatedPgDir('/root/aquasync/.aquasync', '/var/lib/aquasync');
    expect(a).toMatch(/^\/var\/lib\/aquasync\/pg-aquasync-[0-9a-f]{12}$/);
    expect(relocatedPgDir('/root/aquasync/.aquasync', '/var/lib/aquasync')).toBe(a);
    expect(relocatedPgDir('/root/other/.aquasync', '/var/lib/aquasync')).not.toBe(a);
    expect(relocatedPgDir('/tmp/we ird$/.aquasync', '/r')).toMatch(/^\/r\/pg-we_ird_-[0-9a-f]{12}$/);
  });
});

describe('connection errors', () => {
  const url = 'postgres://loader:hunter2secret@db.example.com:6543/warehouse';
  const target = connectionTarget(url);

  it('parses the target without the password', () => {
    expect(target).toEqual({ host: 'db.example.com', port: '6543', database: 'warehouse', user: 'loader' });
    expect(JSON.stringify(target)).not.toContain('hunter2secret');
  });

  it.each([
    ['ECONNREFUSED', /connection refused/, true],
    ['ENOTFOUND', /not found/, false],
    ['28P01', /authentication failed for user "loader"/, false],
    ['3D000', /database "warehouse" does not exist/, false],
    ['53300', /too many connections/, true],
    ['XX999', /something odd/, false],
  ])('%s', (code, message, retryable) => {
    const error = connectionError(Object.assign(new Error('something odd'), { code }), target);
    expect(error).toBeInstanceOf(WarehouseError);
    expect(error.message).toMatch(message);
    expect(error.message).toContain('db.example.com:6543/warehouse');
    expect(error.hint).toBeTruthy();
    expect(error.retryable).toBe(retryable);
    expect(`${error.message} ${error.hint ?? ''} ${JSON.stringify(error.context)}`).not.toContain('hunter2secret');
  });

  it.each([
    [url, 'postgres://loader:***@db.example.com:6543/warehouse'],
    ['postgres://u@h/d', 'postgres://u@h/d'],
    ['not a url', '(invalid database URL)'],
  ])('redactUrl(%s)', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});
