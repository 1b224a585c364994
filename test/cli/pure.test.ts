// The pure decisions behind the command line's messages: what a failure means for the next run, where SQL comes
// from, how far a watermark moved, log line timestamps and the progress bar, how to name the command in a hint,
// which DATABASE_URLs are accepted, what the session lookup proves, and which configured fields describe lacks.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkExitCode, formatChecks, judgeSession, type CheckResult } from '../../src/cli/check.ts';
import { checkFields, selectedFields } from '../../src/cli/check-fields.ts';
import { databaseUrlFromEnv } from '../../src/cli/common.ts';
import { failureAdvice } from '../../src/cli/failure-advice.ts';
import { watermarkMove, parseLimit } from '../../src/cli/history.ts';
import { chooseInvocation } from '../../src/cli/invocation.ts';
import { humanTimestamp } from '../../src/cli/main.ts';
import { createProgress, progressBar, writeLogLine } from '../../src/cli/progress.ts';
import { sqlSource } from '../../src/cli/query.ts';
import type { ObjectConfig } from '../../src/config/types.ts';
import {
  ConfigError,
  DataError,
  InterruptedError,
  PipelineBusyError,
  WarehouseError,
  ZuoraAuthError,
  ZuoraFileExpiredError,
  ZuoraJobFailedError,
  ZuoraRejectedError,
  ZuoraTransientError,
  ZuoraUnreachableError,
} from '../../src/errors.ts';
import type { ObjectDescription } from '../../src/zuora/index.ts';

describe('failureAdvice: "resumes" only when the next run will recover by itself', () => {
  it.each([
    ['interrupted with a job', new InterruptedError(), 'j1', 'automatic', /resumes job j1/],
    ['interrupted before submitting', new InterruptedError(), undefined, 'automatic', /starts it again/],
    ['another run holds the pipeline', new PipelineBusyError('another run of pipeline "b" is in progress', 'wait for it to finish'), undefined, 'automatic', /^wait for it to finish$/],
    ['a network fault', new ZuoraTransientError('could not submit: connection refused', { hint: 'check baseUrl' }), 'j2', 'automatic', /check baseUrl; the next run tries again and resumes job j2/],
    ['the warehouse went away', new WarehouseError('the warehouse Postgres failed', { retryable: true }), undefined, 'automatic', /tries again/],
    ['an invalid file', new DataError('bad CSV'), 'j3', 'automatic', /covers the same window with a new job/],
    ['expired files', new ZuoraFileExpiredError('f1'), 'j3', 'automatic', /new job/],
    ['a job Zuora cancelled', new ZuoraJobFailedError('j4', 'cancelled', 'cancelled'), 'j4', 'automatic', /submits a new job/],
    ['an aborted query', new ZuoraJobFailedError('j5', 'aborted', 'no such field', { hint: 'fix the field' }), 'j5', 'fix', /^fix the field; then run again/],
    ['an unknown partner', new ZuoraRejectedError('rejected (90019)', { zuoraCode: '90019', hint: 'ask Zuora Global Support for a partner id' }), undefined, 'fix', /^ask Zuora Global Support.*fails the same way/],
    ['refused credentials', new ZuoraAuthError('401', { hint: 'check ZUORA_CLIENT_SECRET' }), undefined, 'fix', /^check ZUORA_CLIENT_SECRET/],
    ['a host that does not resolve', new ZuoraUnreachableError('dns', { hint: 'look for a typo' }), undefined, 'fix', /^look for a typo/],
    ['a config error', new ConfigError('bad'), undefined, 'fix', /fails the same way/],
    ['a bug', new TypeError('x is undefined'), undefined, 'fix', /unexpected error/],
  ] as const)('%s', (_name, error, job, kind, text) => {
    const advice = failureAdvice(error, job);
    expect(advice.kind).toBe(kind);
    expect(advice.text).toMatch(text);
    if (kind === 'fix') expect(advice.text).not.toMatch(/resume/);
  });
});

describe('sqlSource', () => {
  it.each([
    ['arguments', { positionals: ['select', '1'], file: undefined, stdinIsTTY: true }, { from: 'args' }],
    ['arguments win over a piped stdin', { positionals: ['select 1'], file: undefined, stdinIsTTY: false }, { from: 'args' }],
    ['a file', { positionals: [], file: 'q.sql', stdinIsTTY: true }, { from: 'file', path: 'q.sql' }],
    ['- is standard input', { positionals: [], file: '-', stdinIsTTY: true }, { from: 'stdin' }],
    ['piped standard input', { positionals: [], file: undefined, stdinIsTTY: false }, { from: 'stdin' }],
  ] as const)('%s', (_name, input, expected) => {
    expect(sqlSource({ ...input, positionals: [...input.positionals] })).toEqual(expected);
  });

  it('asks for SQL on a terminal with nothing given, and refuses both an argument and a file', () => {
    expect(() => sqlSource({ positionals: [], file: undefined, stdinIsTTY: true })).toThrow(ConfigError);
    expect(() => sqlSource({ positionals: ['select 1'], file: 'q.sql', stdinIsTTY: true })).toThrow(/either as an argument or from --file/);
  });
});

describe('history', () => {
  const at = (iso: string): Date => new Date(iso);
  it.each([
    [undefined, undefined, '-'],
    [undefined, at('2026-01-01T00:00:00Z'), 'first load'],
    [at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'), 'none'],
    [at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:05Z'), '+5.0 s'],
    [at('2026-01-01T00:00:00Z'), at('2026-01-01T03:20:00Z'), '+3 h 20 min'],
    [at('2026-01-01T00:00:00Z'), at('2026-01-03T06:00:00Z'), '+2 d 6 h'],
    [at('2000-01-01T00:00:00Z'), at('2026-12-03T00:00:00Z'), '+26.9 y'],
    [at('2026-01-02T00:00:00Z'), at('2026-01-01T00:00:00Z'), '-1 d 0 h'],
  ])('watermarkMove(%s, %s) = %s', (before, after, expected) => {
    expect(watermarkMove(before, after)).toBe(expected);
  });

  it.each([[undefined, 20], ['5', 5], ['10000', 10_000]])('--limit %s', (value, expected) => {
    expect(parseLimit(value)).toBe(expected);
  });
  it.each(['0', '-1', 'ten', '1.5', '10001'])('refuses --limit %s', (value) => {
    expect(() => parseLimit(value)).toThrow(ConfigError);
  });
});

describe('log lines and the progress bar', () => {
  it('stamps human lines with UTC whole seconds', () => {
    expect(humanTimestamp(new Date('2026-12-03T09:06:36.789Z'))).toBe('2026-12-03T09:06:36Z');
  });

  function tty(): PassThrough & { isTTY: boolean; columns: number; text(): string } {
    const stream = new PassThrough() as PassThrough & { isTTY: boolean; columns: number; text(): string };
    let written = '';
    stream.on('data', (d: Buffer) => (written += d.toString()));
    stream.isTTY = true;
    stream.columns = 80;
    stream.text = () => written;
    return stream;
  }

  it('clears the bar before a log line and draws it again after, so they never overwrite each other', () => {
    const err = tty();
    const out = tty();
    const bar = createProgress(err as unknown as NodeJS.WriteStream);
    bar.draw(progressBar('[billing] staging', 1, 4, '1/4 files'));
    writeLogLine(out, 'a log line');
    bar.done();
    writeLogLine(out, 'after the bar');
    expect(err.text()).toBe('\r\x1b[2K[billing] staging [######..................] 1/4 files\r\x1b[2K[billing] staging [######..................] 1/4 files\r\x1b[2K');
    expect(out.text()).toBe('a log line\nafter the bar\n');
  });

  it('draws nothing when stderr is not a terminal', () => {
    const err = tty();
    err.isTTY = false;
    const bar = createProgress(err as unknown as NodeJS.WriteStream);
    bar.draw('x');
    bar.done();
    expect(err.text()).toBe('');
  });
});

describe('chooseInvocation', () => {
  it.each([
    ['not on PATH, inside the project', { script: '/p/bin/aquasync.js', onPath: undefined, projectHasIt: true }, 'npx aquasync'],
    ['not on PATH, elsewhere', { script: '/p/bin/aquasync.js', onPath: undefined, projectHasIt: false }, 'node /p/bin/aquasync.js'],
    ['another aquasync on PATH', { script: '/p/bin/aquasync.js', onPath: '/nonexistent/aquasync', projectHasIt: false }, 'node /p/bin/aquasync.js'],
  ])('%s', (_name, facts, expected) => {
    expect(chooseInvocation(facts)).toBe(expected);
  });
});

describe('databaseUrlFromEnv', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['postgres://u@h/d', 'postgres://u@h/d'],
    ['postgresql://u:p@h:5433/d?sslmode=require', 'postgresql://u:p@h:5433/d?sslmode=require'],
    ['POSTGRES://u@h/d', 'POSTGRES://u@h/d'],
  ])('accepts %s', (url, expected) => {
    expect(databaseUrlFromEnv({ DATABASE_URL: url })).toBe(expected);
  });
  it.each(['mysql://u:secret-pw@h/d', 'http://h/d', 'h:5432/d', 'pg://h/d'])('refuses %s with a configuration error that hides the password', (url) => {
    let error: unknown;
    try {
      databaseUrlFromEnv({ DATABASE_URL: url });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect((error as ConfigError).describe()).not.toContain('secret-pw');
  });
});

describe('judgeSession: what the read-only session lookup proves', () => {
  const pipeline = { name: 'billing', partner: 'aquasync', project: 'warehouse' };
  const sameLoad = { partner: 'aquasync', project: 'warehouse', zuoraJobId: 'j0', appliedAt: new Date() };
  const otherLoad = { partner: 'old', project: 'warehouse', zuoraJobId: 'j0', appliedAt: new Date() };
  const job = { kind: 'job', jobId: 'j9', startTime: '2026-12-01 01:00:00' } as const;
  const none = { kind: 'none', detail: 'errorCode 90002' } as const;
  it.each([
    ['a completed job proves the pair', job, undefined, 'ok', /accepted by Zuora/],
    ['same pair as the last load', job, sameLoad, 'ok', /accepted by Zuora/],
    ['accepted, but another pair loaded last', job, otherLoad, 'warn', /last loaded from partner "old"/],
    ['Zuora rejects the partner', { kind: 'rejected', code: '90019', message: 'Partner ID is not recognized.' }, undefined, 'fail', /errorCode 90019/],
    ['a new session that cannot be proven', none, undefined, 'warn', /not verifiable without submitting a job/],
    ['the pair changed since the last load', none, otherLoad, 'warn', /last loaded from partner "old"/],
    ['the session Zuora forgot (or another tenant)', none, sameLoad, 'warn', /no completed job for this session, although this pipeline loaded from it/],
  ] as const)('%s', (_name, lookup, loaded, status, detail) => {
    const result = judgeSession(pipeline, lookup, loaded);
    expect(result.status).toBe(status);
    expect(result.detail).toMatch(detail);
    if (status !== 'ok') expect(result.fix).toBeTruthy();
  });
});

describe('checkFields', () => {
  const field = (name: string, contexts = ['soap', 'export']): ObjectDescription['fields'][number] => ({ name, label: name, type: 'text', contexts });
  const account: ObjectDescription = {
    name: 'Account',
    fields: [field('Id'), field('Name'), field('Balance'), field('UpdatedDate'), field('SecretThing', ['soap'])],
    relatedObjects: ['BillToContact', 'ParentAccount'],
  };
  const contact: ObjectDescription = { name: 'Contact', fields: [field('Id'), field('WorkEmail')], relatedObjects: [] };
  const object = (fields: string[]): ObjectConfig => ({ name: 'Account', fields, query: undefined, table: 'account', primaryKey: ['Id'], deletes: 'soft', types: {} });
  const check = (fields: string[], related = new Map([['billtocontact', contact]])) =>
    checkFields('Account', selectedFields(object(fields))!, account, related as ReadonlyMap<string, ObjectDescription | undefined>);

  it.each([
    ['all exist', ['Id', 'Name', 'BillToContact.WorkEmail'], []],
    ['names are case-insensitive', ['id', 'balance'], []],
    ['a misspelled field', ['Id', 'Balanse'], ['Account has no field "Balanse" (did you mean "Balance"?)']],
    ['a field nothing resembles', ['Zzzzzzzz'], ['Account has no field "Zzzzzzzz"']],
    ['a field that cannot be exported', ['SecretThing'], ['Account.SecretThing cannot be exported (its describe lacks the export context)']],
    ['an unknown joined object', ['BillToContct.Id'], ['Account has no joined object "BillToContct" (did you mean "BillToContact"?)']],
    ['an unknown field of a joined object', ['BillToContact.WorkEmial'], ['BillToContact (joined from Account) has no field "WorkEmial" (did you mean "WorkEmail"?)']],
  ])('%s', (_name, fields, messages) => {
    expect(check(fields).problems.map((p) => p.message)).toEqual(messages);
  });

  it('leaves joined fields unchecked when the joined object could not be described', () => {
    expect(check(['ParentAccount.Name'], new Map())).toEqual({ problems: [], unchecked: ['ParentAccount.Name'] });
  });

  it('reads the select list of a query, and gives up on one it cannot read', () => {
    const query = (q: string): ObjectConfig => ({ ...object([]), fields: undefined, query: q });
    expect(selectedFields(query('select Id, Balance, BillToContact.Id from Account'))).toEqual([
      { text: 'Id', relation: undefined, field: 'Id' },
      { text: 'Balance', relation: undefined, field: 'Balance' },
      { text: 'BillToContact.Id', relation: 'BillToContact', field: 'Id' },
    ]);
    expect(selectedFields(query('select * from Account'))).toBeUndefined();
  });
});

describe('check output', () => {
  const results: CheckResult[] = [
    { name: 'config', status: 'ok', detail: 'fine' },
    { name: 'billing: partner/project', status: 'warn', detail: 'unproven', fix: 'the first sync tells' },
  ];
  it('a warning fails only with --strict; a failure always', () => {
    expect(checkExitCode(results, false)).toBe(0);
    expect(checkExitCode(results, true)).toBe(1);
    expect(checkExitCode([...results, { name: 'x', status: 'fail', detail: 'broken' }], false)).toBe(1);
  });
  it('prints one line per check, the fix under it, and a count', () => {
    expect(formatChecks(results).split('\n')).toEqual([
      'ok    config                    fine',
      'WARN  billing: partner/project  unproven',
      '                                fix: the first sync tells',
      '',
      '1 ok, 1 warning(s), 0 failed; no job was submitted',
    ]);
  });
});
