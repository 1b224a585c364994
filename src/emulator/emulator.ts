// startEmulator: builds the tenant, the AQuA and Data Query services and the HTTP server, loads and saves the
// optional state file (sessions, jobs, files, clock, mutations) so a restarted emulator continues where it was.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createTenant } from './data.ts';
import type { StoredRow, Value } from './model.ts';
import { Clock, resolveOptions } from './context.ts';
import { FaultRegistry } from './faults.ts';
import { AquaService } from './jobs.ts';
import type { AquaState } from './jobs/types.ts';
import { DataQueryService } from './data-query.ts';
import type { DataQueryJob } from './data-query.ts';
import { EmulatorServer } from './server.ts';
import type { Emulator, EmulatorAdmin, EmulatorOptions } from './types.ts';

type Mutation =
  | { op: 'insert'; object: string; values: Record<string, Value>; at: number; id: string }
  | { op: 'update'; object: string; id: string; values: Record<string, Value>; at: number }
  | { op: 'remove'; object: string; id: string; at: number };

interface PersistedState {
  version: 1;
  seed: number;
  rows: number;
  generatedBefore: number;
  clockDelta: number;
  clientId: string;
  clientSecret: string;
  mutations: Mutation[];
  aqua: AquaState;
  dataQuery: DataQueryJob[];
}

function loadState(path: string): PersistedState | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`emulator state file ${path} is not valid JSON; delete it to start a fresh emulator`, { cause });
  }
  const state = parsed as Partial<PersistedState>;
  if (state.version !== 1 || state.aqua === undefined) {
    throw new Error(`emulator state file ${path} has an unknown layout; delete it to start a fresh emulator`);
  }
  return state as PersistedState;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const saved = options.statePath === undefined ? undefined : loadState(options.statePath);
  if (saved !== undefined && (saved.seed !== (options.seed ?? 1) || saved.rows !== (options.rows ?? 1000))) {
    throw new Error(
      `emulator state file ${options.statePath} was made with seed ${saved.seed} and rows ${saved.rows}, ` +
        `not seed ${options.seed ?? 1} and rows ${options.rows ?? 1000}; use the same options or delete the file`,
    );
  }
  // Generated credentials survive restarts through the state file, so a client's config keeps working.
  const resolved = resolveOptions({
    ...options,
    clientId: options.clientId ?? saved?.clientId,
    clientSecret: options.clientSecret ?? saved?.clientSecret,
  });
  let loading = true;
  const persist = (): void => {
    if (loading || resolved.statePath === undefined) return;
    const state: PersistedState = {
      version: 1,
      seed: resolved.seed,
      rows: resolved.rows,
      generatedBefore,
      clockDelta: clock.delta,
      clientId: resolved.clientId,
      clientSecret: resolved.clientSecret,
      mutations,
      aqua: aqua.exportState(),
      dataQuery: dataQuery.exportState(),
    };
    mkdirSync(dirname(resolved.statePath), { recursive: true });
    const tmp = `${resolved.statePath}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, resolved.statePath);
  };
  const clock = new Clock(saved?.clockDelta ?? (resolved.clockStart === undefined ? 0 : resolved.clockStart - Date.now()), persist);
  const generatedBefore = saved?.generatedBefore ?? clock.now();
  const tenant = createTenant({
    seed: resolved.seed,
    rows: resolved.rows,
    generatedBefore,
    deleteMovesUpdatedDate: resolved.readings.deleteMovesUpdatedDate,
  });
  const mutations: Mutation[] = [];
  for (const m of saved?.mutations ?? []) {
    if (m.op === 'insert') {
      const id = tenant.insert(m.object, m.values, m.at);
      if (id !== m.id) {
        throw new Error(`emulator state file ${resolved.statePath}: replayed insert into ${m.object} gave id ${id}, not ${m.id}; delete the file`);
      }
    } else if (m.op === 'update') tenant.update(m.object, m.id, m.values, m.at);
    else tenant.remove(m.object, m.id, m.at);
    mutations.push(m);
  }

  const faults = new FaultRegistry();
  const aqua = new AquaService(resolved, tenant, clock, faults, persist);
  let baseUrl = '';
  const dataQuery = new DataQueryService(resolved, tenant, clock, persist, () => baseUrl);

  const admin: EmulatorAdmin = {
    clock,
    insert(object, values) {
      const at = clock.now();
      const id = tenant.insert(object, values, at);
      mutations.push({ op: 'insert', object, values, at, id });
      persist();
      return id;
    },
    update(object, id, values) {
      const at = clock.now();
      tenant.update(object, id, values, at);
      mutations.push({ op: 'update', object, id, values, at });
      persist();
    },
    remove(object, id) {
      const at = clock.now();
      tenant.remove(object, id, at);
      mutations.push({ op: 'remove', object, id, at });
      persist();
    },
    rows(object): StoredRow[] {
      const def = tenant.object(object);
      if (def === undefined) throw new Error(`unknown object ${JSON.stringify(object)}`);
      return [...tenant.snapshot(clock.now()).scan(def.name)];
    },
    faults: { add: (fault) => faults.add(fault), clear: () => faults.clear() },
    requests: () => server.requests(),
    clearRequests: () => server.clearRequests(),
    jobs: () => [...aqua.summaries(), ...dataQuery.summaries()],
    expireFiles: () => aqua.expireFiles(),
    expireTokens: () => server.expireTokens(),
  };
  const server = new EmulatorServer({ options: resolved, tenant, clock, faults, aqua, dataQuery, admin });

  if (saved !== undefined) {
    aqua.importState(saved.aqua);
    dataQuery.importState(saved.dataQuery);
  }
  loading = false;
  persist();

  const http = createServer(server.listener);
  http.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(resolved.port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url: baseUrl,
    clientId: resolved.clientId,
    clientSecret: resolved.clientSecret,
    admin,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve, reject) => {
        aqua.close();
        dataQuery.close();
        persist();
        http.close((err) => (err === undefined ? resolve() : reject(err)));
        http.closeAllConnections();
      });
      return closed;
    },
  };
}
