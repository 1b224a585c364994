// `--fault` text -> the same Fault objects the admin API takes: `KIND[:ARG,...]` where an ARG is `key=value` (a
// field of the fault, numbers parsed) or a bare route name. `429:every=5`, `503:token,times=2`, `reset:file`,
// `delay:submit,ms=3000`, `corrupt-file:mode=nul-byte`.
import { validateFault } from './faults.ts';
import type { Fault, FaultRoute } from './types.ts';

const ROUTES: readonly FaultRoute[] = ['token', 'submit', 'job', 'file', 'describe', 'query', 'any'];
/** Kinds whose `route` field picks the requests they fire on. */
const ROUTED = new Set(['status', 'expire-tokens', 'delay']);
/** Kinds that only ever act on file downloads: `:file` is accepted as a readable no-op. */
const FILE_ONLY = new Set(['reset', 'slow', 'corrupt-file', 'wrong-header', 'too-large', 'expired-file']);

/** What a bare kind means on the command line, where typing every field would be a chore. */
const DEFAULTS: Record<string, Record<string, unknown>> = {
  reset: { afterBytes: 1000 },
  slow: { bytesPerSecond: 1024 },
  delay: { ms: 5000 },
  'abort-batch': { message: 'aborted by a --fault given to the emulator' },
  'submit-error': { message: 'rejected by a --fault given to the emulator' },
  'wrong-record-count': { delta: 1 },
};

export const FAULT_SPEC_HELP = `KIND[:ARG,...]; KIND is a fault kind of the admin API or an HTTP status (429, 500, 502, 503);
an ARG is key=value (a field of the fault: times, every, route, afterBytes, ms, ...) or a route
(token, submit, job, file, describe, query, any). Examples: 429:every=5  503:token,times=2  reset:file`;

function value(text: string): unknown {
  if (/^-?\d+(?:\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

export function parseFaultSpec(spec: string): Fault {
  const colon = spec.indexOf(':');
  const head = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  const args = colon < 0 ? [] : spec.slice(colon + 1).split(',').map((a) => a.trim()).filter((a) => a !== '');
  if (head === '') throw new Error(`--fault ${JSON.stringify(spec)}: missing the kind (${FAULT_SPEC_HELP})`);
  const fields: Record<string, unknown> = /^\d{3}$/.test(head) ? { kind: 'status', status: Number(head) } : { kind: head };
  const kind = String(fields.kind);
  Object.assign(fields, DEFAULTS[kind] ?? {});
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 0) {
      if (!ROUTES.includes(arg as FaultRoute)) {
        throw new Error(`--fault ${JSON.stringify(spec)}: ${JSON.stringify(arg)} is neither key=value nor a route (${ROUTES.join(', ')})`);
      }
      if (ROUTED.has(kind)) fields.route = arg;
      else if (!(FILE_ONLY.has(kind) && arg === 'file')) throw new Error(`--fault ${JSON.stringify(spec)}: fault ${kind} does not take a route`);
      continue;
    }
    const key = arg.slice(0, eq).trim();
    if (key === 'kind' || key === '') throw new Error(`--fault ${JSON.stringify(spec)}: bad argument ${JSON.stringify(arg)}`);
    fields[key] = value(arg.slice(eq + 1).trim());
  }
  const fault = fields as unknown as Fault;
  try {
    validateFault(fault);
  } catch (err) {
    throw new Error(`--fault ${JSON.stringify(spec)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (fault.kind === 'submit-error' && typeof fault.errorCode !== 'string' && typeof fault.errorCode !== 'number') {
    throw new Error(`--fault ${JSON.stringify(spec)}: submit-error needs errorCode=<AQuA error code>, e.g. errorCode=90028`);
  }
  if (fault.kind === 'submit-error') fault.errorCode = String(fault.errorCode);
  return fault;
}
