// The optional state file: sessions, jobs, files, clock and data mutations as JSON, written after every change
// (to a temporary file, then renamed) so a restarted emulator continues where it was.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataQueryJob } from './data-query.ts';
import type { AquaState } from './jobs/types.ts';
import type { Tenant, Value } from './model.ts';
import type { EmulatorOptions } from './types.ts';

export type Mutation =
  | { op: 'insert'; object: string; values: Record<string, Value>; at: number; id: string }
  | { op: 'update'; object: string; id: string; values: Record<string, Value>; at: number }
  | { op: 'remove'; object: string; id: string; at: number };

export interface PersistedState {
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

/** The saved state for these options, undefined when there is none; throws when it cannot be used. */
export function loadSavedState(options: EmulatorOptions): PersistedState | undefined {
  const saved = options.statePath === undefined ? undefined : loadState(options.statePath);
  if (saved !== undefined && (saved.seed !== (options.seed ?? 1) || saved.rows !== (options.rows ?? 1000))) {
    throw new Error(
      `emulator state file ${options.statePath} was made with seed ${saved.seed} and rows ${saved.rows}, ` +
        `not seed ${options.seed ?? 1} and rows ${options.rows ?? 1000}; use the same options or delete the file`,
    );
  }
  return saved;
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

/** Replays saved mutations in order; an insert must mint the id it minted the first time. */
export function replayMutations(tenant: Tenant, saved: readonly Mutation[], statePath: string | undefined): Mutation[] {
  const mutations: Mutation[] = [];
  for (const m of saved) {
    if (m.op === 'insert') {
      const id = tenant.insert(m.object, m.values, m.at);
      if (id !== m.id) {
        throw new Error(`emulator state file ${statePath}: replayed insert into ${m.object} gave id ${id}, not ${m.id}; delete the file`);
      }
    } else if (m.op === 'update') tenant.update(m.object, m.id, m.values, m.at);
    else tenant.remove(m.object, m.id, m.at);
    mutations.push(m);
  }
  return mutations;
}

/** Everything the state file holds besides the options. */
export type StateSource = Omit<PersistedState, 'version' | 'seed' | 'rows' | 'clientId' | 'clientSecret'>;

/** Writes the state file; silent until `ready()`, so nothing is written while the saved state is being loaded. */
export class StateWriter {
  private source: (() => StateSource) | undefined;
  private readonly tmpSuffix = `${process.pid}-${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly statePath: string | undefined,
    private readonly identity: Pick<PersistedState, 'seed' | 'rows' | 'clientId' | 'clientSecret'>,
  ) {}

  readonly persist = (): void => {
    if (this.source === undefined || this.statePath === undefined) return;
    const { seed, rows, clientId, clientSecret } = this.identity;
    const { generatedBefore, clockDelta, mutations, aqua, dataQuery } = this.source();
    // Written in this key order always, so state files stay comparable across versions.
    const state: PersistedState = {
      version: 1,
      seed,
      rows,
      generatedBefore,
      clockDelta,
      clientId,
      clientSecret,
      mutations,
      aqua,
      dataQuery,
    };
    mkdirSync(dirname(this.statePath), { recursive: true });
    // A temporary file of this writer's own: two commands starting the built-in emulator at once write one state
    // file, and a shared temporary name let one rename the other's file away (ENOENT).
    const tmp = `${this.statePath}.${this.tmpSuffix}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.statePath);
  };

  /** Loading is over: from now on every change is written, starting with one write now. */
  ready(source: () => StateSource): void {
    this.source = source;
    this.persist();
  }
}

/** The clock a (re)started emulator runs on: the saved offset, else `clockStart`, else real time. */
export function clockDelta(saved: PersistedState | undefined, clockStart: number | undefined): number {
  return saved?.clockDelta ?? (clockStart === undefined ? 0 : clockStart - Date.now());
}
