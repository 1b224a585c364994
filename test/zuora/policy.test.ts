import { describe, expect, it } from 'vitest';
import { ZuoraProtocolError } from '../../src/errors.ts';
import { decodeEntities, parseDescribeXml, parseXml } from '../../src/zuora/describe-xml.ts';
import { normalizeJob, readRejection, rejectionAdvice, submitRejection } from '../../src/zuora/normalize.ts';
import { backoffDelayMs, networkFault, parseRetryAfter, tokenRefreshDelayMs } from '../../src/zuora/retry-policy.ts';

const policy = { baseDelayMs: 1000, maxDelayMs: 60_000 };

describe('backoffDelayMs', () => {
  it.each([
    // attempt, retryAfterMs, random, expected
    [1, undefined, 0.5, 500],
    [2, undefined, 0.5, 1000],
    [3, undefined, 0.999, 3996],
    [10, undefined, 0.5, 30_000], // capped at maxDelayMs before jitter
    [1, 2000, 0.1, 2000], // Retry-After wins over jitter
    [1, 120_000, 0.1, 60_000], // ... but is capped too
    [1, -5, 0.1, 0],
    [1, undefined, 0, 0],
  ])('attempt %i retryAfter %s random %s -> %i ms', (attempt, retryAfter, random, expected) => {
    expect(backoffDelayMs(attempt, policy, retryAfter, () => random)).toBe(expected);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it.each([
    ['1', 1000],
    ['0', 0],
    [' 30 ', 30_000],
    ['1.5', 1500],
    ['Wed, 01 May 2024 12:00:10 GMT', 10_000],
    ['Wed, 01 May 2024 11:59:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ])('%j -> %s', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('tokenRefreshDelayMs', () => {
  it.each([
    [3599, 3299_000], // 300 s margin
    [3000, 2700_000], // 300 s is exactly 10%
    [60, 54_000], // short lifetime: 90%
    [1, 900],
    [0, 0],
  ])('expires_in %i -> refresh after %i ms', (expiresIn, expected) => {
    expect(tokenRefreshDelayMs(expiresIn)).toBe(expected);
  });
});

describe('networkFault', () => {
  const withCode = (code: string): Error => Object.assign(new Error('boom'), { code });
  it.each([
    [new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }), 'ECONNREFUSED'],
    [new TypeError('fetch failed', { cause: new Error('something odd') }), 'fetch failed'],
    [withCode('ECONNRESET'), 'ECONNRESET'],
    [new Error('socket hang up'), 'socket hang up'],
    [new TypeError('terminated', { cause: withCode('UND_ERR_SOCKET') }), 'UND_ERR_SOCKET'],
    [new Error('Unexpected token < in JSON'), undefined],
    ['not an error', undefined],
  ])('%s -> %s', (error, expected) => {
    expect(networkFault(error)).toBe(expected);
  });
});

describe('submitRejection', () => {
  it.each([
    [{ id: 'j1', status: 'submitted' }, undefined],
    [{ errorCode: '90005', message: 'syntax', status: 'error' }, { code: '90005', message: 'syntax' }],
    [{ id: 'j1', status: 'error', message: 'bad' }, { code: undefined, message: 'bad' }],
    [{ id: 'j1', status: 'submitted', errorCode: 90028, message: 'limit' }, { code: '90028', message: 'limit' }],
    [{ success: false, code: 50000090, message: 'malformed' }, { code: '50000090', message: 'malformed' }],
    [
      { success: false, reasons: [{ code: 53100320, message: 'nope' }] },
      { code: '53100320', message: 'nope' },
    ],
    [{ status: 'submitted' }, { code: undefined, message: 'Zuora gave no message' }],
    [[1, 2], { code: undefined, message: 'Zuora answered with something that is not a JSON object' }],
  ])('%j', (body, expected) => {
    expect(submitRejection(body)).toEqual(expected);
  });

  it('readRejection accepts a job whose status is error (a real job that ended badly)', () => {
    expect(readRejection({ id: 'j1', status: 'error' })).toBeUndefined();
    expect(readRejection({ id: 'j1', status: 'error', errorCode: '90029' })).toBeUndefined();
    expect(readRejection({ id: 'j1', success: false, message: 'x' })).toEqual({ code: undefined, message: 'x' });
    expect(readRejection({ errorCode: '90002', message: 'Invalid Job Id.' })).toEqual({ code: '90002', message: 'Invalid Job Id.' });
  });
});

describe('rejectionAdvice', () => {
  it.each([
    ['90005', /object and field names in pipelines\.yaml/, false],
    ['90017', /deletes: ignore/, false],
    ['90019', /Zuora Global Support/, false],
    ['90015', /incrementalTime/, false],
    ['90012', /forceExport/, false],
    ['50000090', /malformed/, false],
    ['90028', /concurrent/, true],
    ['90022', /retry/, true],
    [undefined, /error code list/, false],
  ])('%s', (code, hint, retryable) => {
    const advice = rejectionAdvice(code);
    expect(advice.hint).toMatch(hint);
    expect(advice.retryable).toBe(retryable);
  });
});

describe('normalizeJob', () => {
  it('normalises Zuora\'s loose types', () => {
    const job = normalizeJob({
      id: 'j1',
      status: 'Completed',
      offset: '30',
      incrementalTime: 1421865001000,
      startTime: '2021-01-18T17:13:48+0000',
      batches: [
        { batchId: 'b1', name: 'Account', query: 'q', status: 'Completed', recordCount: '12', fileId: 'f1' },
        { batchId: 'b2', name: 'Invoice', status: 'completed', recordCount: 3, full: 'true', segments: ['s1', 's2'], message: '' },
      ],
    });
    expect(job).toEqual({
      id: 'j1',
      status: 'completed',
      offset: 30,
      incrementalTime: 1421865001000,
      startTime: '2021-01-18T17:13:48+0000',
      batches: [
        { batchId: 'b1', name: 'Account', query: 'q', status: 'completed', recordCount: 12, full: false, fileId: 'f1' },
        { batchId: 'b2', name: 'Invoice', query: '', status: 'completed', recordCount: 3, full: true, segments: ['s1', 's2'] },
      ],
    });
  });

  it.each([
    ['no id', { status: 'completed', batches: [] }, /without an id/],
    ['unknown status', { id: 'j1', status: 'sleeping' }, /unknown status "sleeping"/],
    ['batches not a list', { id: 'j1', status: 'completed', batches: {} }, /not a list/],
    ['batch without batchId', { id: 'j1', status: 'completed', batches: [{ name: 'A', status: 'completed' }] }, /lacks batchId/],
    ['non-numeric recordCount', { id: 'j1', status: 'completed', batches: [{ batchId: 'b', name: 'A', status: 'x', recordCount: 'many' }] }, /recordCount/],
    ['segments not strings', { id: 'j1', status: 'completed', batches: [{ batchId: 'b', name: 'A', status: 'x', segments: [1] }] }, /segments/],
  ])('%s -> ZuoraProtocolError', (_name, body, message) => {
    expect(() => normalizeJob(body)).toThrow(ZuoraProtocolError);
    expect(() => normalizeJob(body)).toThrow(message);
  });
});

describe('XML', () => {
  it.each([
    ['a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;', 'a <b> & "c" \'d\''],
    ['&#233;t&#xE9;', 'été'],
    ['&unknown; &#xZZ;', '&unknown; &#xZZ;'],
  ])('decodeEntities(%j)', (input, expected) => {
    expect(decodeEntities(input)).toBe(expected);
  });

  it.each([
    ['<a><b></a>', /does not match/],
    ['<a>', /never closed/],
    ['', /no root element/],
    ['<a/><b/>', /second root/],
    ['<a><!-- x', /unterminated/],
    ['<a b=c></a>', /malformed tag/],
  ])('rejects %j', (xml, message) => {
    expect(() => parseXml(xml)).toThrow(message);
  });

  it('reads comments, CDATA, attributes and self-closing tags', () => {
    const root = parseXml(`<?xml version="1.0"?><!-- c --><r x='1' y="&amp;"><e/><t><![CDATA[<raw>]]> &amp; more</t></r>`);
    expect(root.attributes).toEqual({ x: '1', y: '&' });
    expect(root.children.map((c) => c.name)).toEqual(['e', 't']);
    expect(root.children[1]?.text).toBe('<raw> & more');
  });

  it('parseDescribeXml rejects a document that is not an object', () => {
    expect(() => parseDescribeXml('<error><message>x</message></error>')).toThrow(/expected <object>/);
    expect(() => parseDescribeXml('<object><fields/></object>')).toThrow(/no object <name>/);
  });
});
