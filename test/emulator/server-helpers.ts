// Shared bits of the emulator HTTP tests: a tiny real-HTTP client (fetch), waiting for jobs, decoding files.
import { gunzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import { parse } from 'csv-parse/sync';
import { startEmulator } from '../../src/emulator/index.ts';
import type { Emulator, EmulatorOptions } from '../../src/emulator/index.ts';

export const FAST = { queuedMs: 10, executingMs: 20 } as const;

export function start(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ rows: 40, timing: FAST, clockStart: Date.UTC(2026, 5, 1, 12), ...options });
}

export async function token(emu: Emulator): Promise<string> {
  const res = await fetch(`${emu.url}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: emu.clientId, client_secret: emu.clientSecret, grant_type: 'client_credentials' }),
  });
  if (res.status !== 200) throw new Error(`token: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class Client {
  constructor(
    readonly emu: Emulator,
    public bearer: string,
  ) {}

  static async for(emu: Emulator): Promise<Client> {
    return new Client(emu, await token(emu));
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.emu.url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.bearer}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  }

  async json(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Json> {
    const res = await this.request(method, path, body, headers);
    return (await res.json()) as Json;
  }

  submit(body: unknown, path = '/v1/batch-query/'): Promise<Json> {
    return this.json('POST', path, body);
  }

  /** Polls until the job is terminal. */
  async wait(id: string, path = '/v1/batch-query/jobs/'): Promise<Json> {
    for (let i = 0; i < 400; i++) {
      const job = await this.json('GET', `${path}${id}`);
      if (!['submitted', 'executing', 'pending'].includes(job.status as string)) return job;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`job ${id} did not finish`);
  }

  async run(body: unknown): Promise<Json> {
    const submitted = await this.submit(body);
    if (typeof submitted.id !== 'string') throw new Error(`submit rejected: ${JSON.stringify(submitted)}`);
    return this.wait(submitted.id);
  }

  async file(id: string, path = '/v1/files/'): Promise<Buffer> {
    const res = await this.request('GET', `${path}${id}`);
    if (res.status !== 200) throw new Error(`file ${id}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Every row of a completed batch (all segments), parsed with csv-parse; header rows dropped. */
  async rows(batch: Json, format: 'csv' | 'gzip' | 'zip' = 'csv'): Promise<{ header: string[]; rows: string[][] }> {
    const ids: string[] = (batch.segments as string[] | undefined) ?? [batch.fileId as string];
    let header: string[] = [];
    const rows: string[][] = [];
    for (const id of ids) {
      const raw = await this.file(id);
      const text = await decode(raw, format);
      const records = parse(text, { relax_column_count: false }) as string[][];
      header = records[0] ?? [];
      rows.push(...records.slice(1));
    }
    return { header, rows };
  }
}

export async function decode(raw: Buffer, format: 'csv' | 'gzip' | 'zip'): Promise<string> {
  if (format === 'csv') return raw.toString('utf8');
  if (format === 'gzip') return gunzipSync(raw).toString('utf8');
  const entries = await unzip(raw);
  if (entries.length !== 1) throw new Error(`zip has ${entries.length} entries`);
  return entries[0]!.content.toString('utf8');
}

export function unzip(raw: Buffer): Promise<{ name: string; content: Buffer }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(raw, { lazyEntries: true }, (err, zip) => {
      if (err !== null || zip === undefined) return reject(err ?? new Error('no zip'));
      const out: { name: string; content: Buffer }[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e !== null || stream === undefined) return reject(e ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.push({ name: entry.fileName, content: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

export const stateful = (query: string, extra: Json = {}, queryExtra: Json = {}): Json => ({
  format: 'csv',
  version: '1.1',
  name: 'test',
  partner: 'aquasync',
  project: 'proj',
  useQueryLabels: true,
  dateTimeUtc: true,
  ...extra,
  queries: [{ name: 'q', type: 'zoqlexport', query, ...queryExtra }],
});

export const stateless = (query: string, extra: Json = {}, queryExtra: Json = {}): Json => ({
  format: 'csv',
  version: '1.0',
  name: 'test',
  useQueryLabels: true,
  dateTimeUtc: true,
  ...extra,
  queries: [{ name: 'q', type: 'zoqlexport', query, ...queryExtra }],
});
