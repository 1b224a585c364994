// Injectable faults: a list of armed faults, each firing `times` times on the requests or jobs it matches.
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import yazl from 'yazl';
import type { CorruptMode, Fault, FaultKind, FaultRoute } from './types.ts';

interface ArmedFault {
  id: string;
  fault: Fault;
  remaining: number;
  /** Matches seen so far (for `every`). */
  seen: number;
}

type FaultOf<K extends FaultKind> = Extract<Fault, { kind: K }>;

export class FaultRegistry {
  private armed: ArmedFault[] = [];
  private readonly onClear: (() => void)[] = [];

  add(fault: Fault): string {
    validateFault(fault);
    const id = randomUUID();
    const remaining = fault.times ?? (fault.every === undefined ? 1 : Number.POSITIVE_INFINITY);
    this.armed.push({ id, fault, remaining, seen: 0 });
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
      a.seen += 1;
      if (fault.every !== undefined && a.seen % fault.every !== 0) continue;
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

type FaultCheck<K extends FaultKind> = (fault: FaultOf<K>) => void;
const noFields = (): void => undefined;

/**
 * Every fault kind, with the check of its own fields. Keyed by kind and checked against the Fault type, so a kind
 * added to Fault without an entry here (or an entry for a kind that does not exist) is a type error.
 */
const FAULT_CHECKS = {
  status: (fault) => {
    if (![429, 500, 502, 503].includes(fault.status)) {
      throw new Error(`fault status: status must be 429, 500, 502 or 503, got ${String(fault.status)}`);
    }
  },
  reset: (fault) => {
    if (!(fault.afterBytes >= 0)) throw new Error('fault reset: afterBytes must be a number >= 0');
  },
  slow: (fault) => {
    if (!(fault.bytesPerSecond > 0)) throw new Error('fault slow: bytesPerSecond must be a number > 0');
  },
  'abort-batch': noFields,
  stuck: noFields,
  'job-error': noFields,
  'too-large': noFields,
  'expired-file': noFields,
  'submit-error': noFields,
  'expire-tokens': noFields,
  'corrupt-file': (fault) => {
    if (!CORRUPT_MODES.includes(fault.mode)) {
      throw new Error(`fault corrupt-file: mode must be one of ${CORRUPT_MODES.join(', ')}, got ${JSON.stringify(fault.mode)}`);
    }
    if (fault.mode === 'zip-entries' && fault.entries !== 0 && fault.entries !== 2) {
      throw new Error('fault corrupt-file: mode zip-entries needs entries: 0 or 2');
    }
  },
  'wrong-record-count': (fault) => {
    if (!(Number.isInteger(fault.delta) && fault.delta !== 0)) {
      throw new Error('fault wrong-record-count: delta must be a non-zero integer');
    }
  },
  'wrong-header': noFields,
  delay: (fault) => {
    if (!(Number.isFinite(fault.ms) && fault.ms >= 0)) {
      throw new Error(`fault delay: ms must be a number >= 0, got ${String(fault.ms)}`);
    }
  },
} satisfies { [K in FaultKind]: FaultCheck<K> };

const KINDS = Object.keys(FAULT_CHECKS) as FaultKind[];

/** Every corrupt-file mode, likewise checked against the CorruptMode type. */
const CORRUPT_MODES: readonly CorruptMode[] = Object.keys({
  'unbalanced-quote': true,
  'nul-byte': true,
  'truncate-gzip': true,
  'zip-entries': true,
} satisfies Record<CorruptMode, true>) as CorruptMode[];

/** Rejects malformed faults early (they usually arrive as JSON over /__admin). */
export function validateFault(fault: Fault): void {
  if (!Object.hasOwn(FAULT_CHECKS, fault.kind)) {
    throw new Error(`unknown fault kind ${JSON.stringify(fault.kind)}; expected one of ${KINDS.join(', ')}`);
  }
  if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0)) {
    throw new Error(`fault ${fault.kind}: times must be a positive integer, got ${String(fault.times)}`);
  }
  if (fault.every !== undefined && !(Number.isInteger(fault.every) && fault.every > 0)) {
    throw new Error(`fault ${fault.kind}: every must be a positive integer, got ${String(fault.every)}`);
  }
  (FAULT_CHECKS[fault.kind] as (fault: Fault) => void)(fault);
}

type FileFault = Extract<Fault, { kind: 'corrupt-file' | 'wrong-header' }>;

/**
 * Damages a whole encoded result file (csv, .csv.gz or .zip, told apart by `filename`) the way `fault` asks. The
 * CSV inside is decoded, edited and encoded again, so only the intended damage is visible to the client.
 */
export async function damageFile(fault: FileFault, body: Buffer, filename: string): Promise<Buffer> {
  if (fault.kind === 'corrupt-file' && fault.mode === 'truncate-gzip') {
    const gzipped = filename.endsWith('.gz') ? body : gzipSync(await decodeCsv(body, filename));
    return gzipped.subarray(0, Math.floor(gzipped.length / 2));
  }
  const csv = (await decodeCsv(body, filename)).toString('utf8');
  if (fault.kind === 'corrupt-file' && fault.mode === 'zip-entries') {
    const files = fault.entries === 2 ? [['part_1.csv', csv], ['part_2.csv', csv]] : [];
    return zipOf(files as [string, string][]);
  }
  const lines = csv.split('\n');
  const lastRow = lines.length - (lines.at(-1) === '' ? 2 : 1);
  if (fault.kind === 'wrong-header') {
    const header = (lines[0] ?? '').split(',');
    header[header.length - 1] = 'Unexpected.Column';
    lines[0] = header.join(',');
  } else if (fault.mode === 'unbalanced-quote') {
    if (lastRow >= 1) lines[lastRow] = `"${(lines[lastRow] ?? '').replaceAll('"', '')}`;
  } else if (fault.mode === 'nul-byte') {
    if (lines.length > 1) lines[1] = `${(lines[1] ?? '').slice(0, 1)}\u0000${(lines[1] ?? '').slice(1)}`;
  }
  const edited = Buffer.from(lines.join('\n'), 'utf8');
  if (filename.endsWith('.gz')) return gzipSync(edited);
  if (filename.endsWith('.zip')) return zipOf([[filename.replace(/(_\d+)?\.zip$/, '.csv'), edited.toString('utf8')]]);
  return edited;
}

async function decodeCsv(body: Buffer, filename: string): Promise<Buffer> {
  if (filename.endsWith('.gz')) return gunzipSync(body);
  if (!filename.endsWith('.zip')) return body;
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(body, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  return new Promise<Buffer>((resolve, reject) => {
    zip.once('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.once('end', () => resolve(Buffer.concat(chunks)));
        stream.once('error', reject);
      });
    });
    zip.once('end', () => resolve(Buffer.alloc(0)));
    zip.once('error', reject);
    zip.readEntry();
  });
}

function zipOf(files: [string, string][]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, text] of files) zip.addBuffer(Buffer.from(text, 'utf8'), name);
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.once('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.once('error', reject);
  });
}
