// `--fault` text -> the admin API's fault objects (pure).
import { describe, expect, it } from 'vitest';
import { parseFaultSpec } from '../../src/emulator/fault-spec.ts';

describe('parseFaultSpec', () => {
  it.each([
    ['429:every=5', { kind: 'status', status: 429, every: 5 }],
    ['503:token,times=2,retryAfterSeconds=7', { kind: 'status', status: 503, route: 'token', times: 2, retryAfterSeconds: 7 }],
    ['status:status=500,route=submit', { kind: 'status', status: 500, route: 'submit' }],
    ['reset:file', { kind: 'reset', afterBytes: 1000 }],
    ['reset:afterBytes=10', { kind: 'reset', afterBytes: 10 }],
    ['slow', { kind: 'slow', bytesPerSecond: 1024 }],
    ['delay:submit,ms=3000', { kind: 'delay', ms: 3000, route: 'submit' }],
    ['stuck', { kind: 'stuck' }],
    ['corrupt-file:mode=zip-entries,entries=2', { kind: 'corrupt-file', mode: 'zip-entries', entries: 2 }],
    ['submit-error:errorCode=90028', { kind: 'submit-error', errorCode: '90028', message: 'rejected by a --fault given to the emulator' }],
    ['abort-batch:object=Account,message=boom', { kind: 'abort-batch', object: 'Account', message: 'boom' }],
  ])('%s', (spec, fault) => {
    expect(parseFaultSpec(spec)).toEqual(fault);
  });

  it.each([
    ['', /missing the kind/],
    ['teapot', /unknown fault kind "teapot"/],
    ['418', /status must be 429, 500, 502 or 503/],
    ['429:every=0', /every must be a positive integer/],
    ['429:sometimes', /neither key=value nor a route/],
    ['stuck:file', /does not take a route/],
    ['corrupt-file:mode=melted', /mode must be one of/],
    ['submit-error', /needs errorCode/],
  ])('%j is refused', (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(message);
  });
});
