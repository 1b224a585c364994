// Injectable faults: a list of armed faults, each firing `times` times on the requests or jobs it matches.
import { randomUUID } from 'node:crypto';
import type { Fault, FaultKind, FaultRoute } from './types.ts';

interface ArmedFault {
  id: string;
  fault: Fault;
  remaining: number;
}

type FaultOf<K extends FaultKind> = Extract<Fault, { kind: K }>;

export class FaultRegistry {
  private armed: ArmedFault[] = [];
  private readonly onClear: (() => void)[] = [];

  add(fault: Fault): string {
    validateFault(fault);
    const id = randomUUID();
    this.armed.push({ id, fault, remaining: fault.times ?? 1 });
    return id;
  }

  clear(): void {
    this.armed = [];
    for (const listener of this.onClear) listener();
  }

  /** Called on clear(): stuck jobs resume. */
  whenCleared(listener: () => void): void {
    this.onClear.push(listener);
  }

  /** Takes one firing of the first armed fault of `kind` matching `route`. */
  take<K extends FaultKind>(kind: K, route?: FaultRoute, filter?: (fault: FaultOf<K>) => boolean): FaultOf<K> | undefined {
    for (const a of this.armed) {
      if (a.fault.kind !== kind || a.remaining <= 0) continue;
      const fault = a.fault as FaultOf<K>;
      if (route !== undefined && 'route' in fault) {
        const wanted = fault.route ?? 'any';
        if (wanted !== 'any' && wanted !== route) continue;
      }
      if (filter !== undefined && !filter(fault)) continue;
      a.remaining -= 1;
      if (a.remaining <= 0) this.armed = this.armed.filter((x) => x !== a);
      return fault;
    }
    return undefined;
  }

  /** True while a fault of `kind` is armed (stuck jobs wait on this). */
  has(kind: FaultKind): boolean {
    return this.armed.some((a) => a.fault.kind === kind);
  }
}

const KINDS: readonly FaultKind[] = [
  'status',
  'reset',
  'slow',
  'abort-batch',
  'stuck',
  'job-error',
  'too-large',
  'expired-file',
  'submit-error',
  'expire-tokens',
];

/** Rejects malformed faults early (they usually arrive as JSON over /__admin). */
export function validateFault(fault: Fault): void {
  if (!KINDS.includes(fault.kind)) {
    throw new Error(`unknown fault kind ${JSON.stringify(fault.kind)}; expected one of ${KINDS.join(', ')}`);
  }
  if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0)) {
    throw new Error(`fault ${fault.kind}: times must be a positive integer, got ${String(fault.times)}`);
  }
  if (fault.kind === 'status' && ![429, 500, 502, 503].includes(fault.status)) {
    throw new Error(`fault status: status must be 429, 500, 502 or 503, got ${String(fault.status)}`);
  }
  if (fault.kind === 'reset' && !(fault.afterBytes >= 0)) {
    throw new Error('fault reset: afterBytes must be a number >= 0');
  }
  if (fault.kind === 'slow' && !(fault.bytesPerSecond > 0)) {
    throw new Error('fault slow: bytesPerSecond must be a number > 0');
  }
}
