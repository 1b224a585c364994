// startEmulator: builds the tenant, the AQuA and Data Query services and the HTTP server, loads and saves the
// optional state file (state-file.ts) so a restarted emulator continues where it was.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTenant } from './data.ts';
import type { StoredRow, Tenant } from './model.ts';
import { Clock, resolveOptions } from './context.ts';
import type { ResolvedOptions } from './context.ts';
import { FaultRegistry } from './faults.ts';
import { AquaService } from './jobs.ts';
import { DataQueryService } from './data-query.ts';
import { EmulatorServer } from './server.ts';
import { clockDelta, loadSavedState, replayMutations, StateWriter } from './state-file.ts';
import type { Mutation, PersistedState } from './state-file.ts';
import type { Emulator, EmulatorAdmin, EmulatorOptions } from './types.ts';

/** The emulator's moving parts, before the HTTP server exists. */
interface Parts {
  resolved: ResolvedOptions;
  clock: Clock;
  generatedBefore: number;
  tenant: Tenant;
  mutations: Mutation[];
  faults: FaultRegistry;
  aqua: AquaService;
  dataQuery: DataQueryService;
  writer: StateWriter;
  /** Set once the server listens; Data Query result URLs point at it. */
  endpoint: { baseUrl: string };
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const saved = loadSavedState(options);
  // Generated credentials survive restarts through the state file, so a client's config keeps working.
  const resolved = resolveOptions({
    ...options,
    clientId: options.clientId ?? saved?.clientId,
    clientSecret: options.clientSecret ?? saved?.clientSecret,
  });
  const parts = buildParts(resolved, saved);
  // The admin API reads the server's request log and tokens; it is only called once the server exists.
  const admin = adminHandle(parts, () => server);
  const { tenant, clock, faults, aqua, dataQuery } = parts;
  const server = new EmulatorServer({ options: resolved, tenant, clock, faults, aqua, dataQuery, admin });
  restore(parts, saved);
  const http = await listen(server, resolved.port);
  parts.endpoint.baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return emulatorHandle(parts, http, admin);
}

function buildParts(resolved: ResolvedOptions, saved: PersistedState | undefined): Parts {
  const writer = new StateWriter(resolved.statePath, {
    seed: resolved.seed,
    rows: resolved.rows,
    clientId: resolved.clientId,
    clientSecret: resolved.clientSecret,
  });
  const persist = writer.persist;
  const clock = new Clock(clockDelta(saved, resolved.clockStart), persist);
  const generatedBefore = saved?.generatedBefore ?? clock.now();
  const tenant = createTenant({
    seed: resolved.seed,
    rows: resolved.rows,
    generatedBefore,
    deleteMovesUpdatedDate: resolved.readings.deleteMovesUpdatedDate,
  });
  const mutations = replayMutations(tenant, saved?.mutations ?? [], resolved.statePath);
  const faults = new FaultRegistry();
  const aqua = new AquaService(resolved, tenant, clock, faults, persist);
  const endpoint = { baseUrl: '' };
  const dataQuery = new DataQueryService(resolved, tenant, clock, persist, () => endpoint.baseUrl);
  return { resolved, clock, generatedBefore, tenant, mutations, faults, aqua, dataQuery, writer, endpoint };
}

/** The in-process admin API: data changes are recorded as mutations so a restart can replay them. */
function adminHandle(parts: Parts, server: () => EmulatorServer): EmulatorAdmin {
  const { clock, tenant, mutations, faults, aqua, dataQuery } = parts;
  const persist = parts.writer.persist;
  return {
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
    requests: () => server().requests(),
    clearRequests: () => server().clearRequests(),
    jobs: () => [...aqua.summaries(), ...dataQuery.summaries()],
    expireFiles: () => aqua.expireFiles(),
    expireTokens: () => server().expireTokens(),
  };
}

/** Loads the saved jobs (unfinished ones continue), then starts writing the state file. */
function restore(parts: Parts, saved: PersistedState | undefined): void {
  const { aqua, dataQuery } = parts;
  if (saved !== undefined) {
    aqua.importState(saved.aqua);
    dataQuery.importState(saved.dataQuery);
  }
  parts.writer.ready(() => ({
    generatedBefore: parts.generatedBefore,
    clockDelta: parts.clock.delta,
    mutations: parts.mutations,
    aqua: aqua.exportState(),
    dataQuery: dataQuery.exportState(),
  }));
}

async function listen(server: EmulatorServer, port: number): Promise<Server> {
  const http = createServer(server.listener);
  http.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  return http;
}

function emulatorHandle(parts: Parts, http: Server, admin: EmulatorAdmin): Emulator {
  let closed: Promise<void> | undefined;
  return {
    url: parts.endpoint.baseUrl,
    clientId: parts.resolved.clientId,
    clientSecret: parts.resolved.clientSecret,
    admin,
    close(): Promise<void> {
      closed ??= (async () => {
        const files = parts.aqua.close();
        parts.dataQuery.close();
        parts.writer.persist();
        const served = new Promise<void>((resolve, reject) => http.close((err) => (err === undefined ? resolve() : reject(err))));
        http.closeAllConnections();
        await Promise.all([files, served]);
      })();
      return closed;
    },
  };
}
