// The emulated Zuora tenant: generated rows computed on demand from (seed, object, index), plus an overlay of
// versioned mutations so a snapshot sees the tenant exactly as of its instant. Nothing generated is ever stored,
// which keeps memory flat for millions of InvoiceItem rows; only mutated and inserted rows live in memory.
// The pieces: tenant/generators.ts (row values), tenant/ids.ts (ids from object codes), tenant/overlay.ts (versions).

import type { ObjectDef, Snapshot, StoredRow, Tenant, TenantOptions, Value } from './model.ts';
import { OBJECTS } from './schema.ts';
import { countsFor, GENERATORS } from './tenant/generators.ts';
import type { GenContext } from './tenant/generators.ts';
import { IdMinter, KIND_GENERATED, KIND_INSERTED, objectCodes } from './tenant/ids.ts';
import { fromVersion, normaliseValues, Overlay, versionAt } from './tenant/overlay.ts';
import { hashIndex, Rng } from './tenant/random.ts';

export { NASTY_DECIMALS, NASTY_EMPTY_INDEX, NASTY_PERIOD, NASTY_TEXTS } from './tenant/values.ts';

/** Checked as the module loads: two objects sharing a code would share ids. */
const CODES = objectCodes(OBJECTS);
const BY_LOWER_NAME = new Map<string, ObjectDef>(OBJECTS.map((def) => [def.name.toLowerCase(), def]));

export function createTenant(options: TenantOptions): Tenant {
  checkOptions(options);
  const rows = new TenantRows(options);
  return {
    objects: OBJECTS,
    object: (name) => BY_LOWER_NAME.get(name.toLowerCase()),
    snapshot: (at) => rows.snapshot(at),
    insert: (name, values, at) => rows.insert(name, values, at),
    update: (name, id, values, at) => rows.update(name, id, values, at),
    remove: (name, id, at) => rows.remove(name, id, at),
  };
}

function checkOptions(options: TenantOptions): void {
  if (!Number.isFinite(options.seed)) throw new Error(`createTenant: seed must be a finite number`);
  if (!Number.isFinite(options.rows) || options.rows < 0) {
    throw new Error(`createTenant: rows must be a non-negative number, got ${options.rows}`);
  }
  if (!Number.isFinite(options.generatedBefore)) throw new Error('createTenant: generatedBefore must be epoch ms');
}

function resolve(name: string): ObjectDef {
  const def = BY_LOWER_NAME.get(name.toLowerCase());
  if (def === undefined) {
    throw new Error(`Unknown object "${name}": known objects are ${OBJECTS.map((o) => o.name).join(', ')}`);
  }
  return def;
}

/** Generated rows under the overlay of mutations. */
class TenantRows {
  private readonly seed: number;
  private readonly counts: Record<string, number>;
  private readonly ids: IdMinter;
  private readonly ctx: GenContext;
  private readonly overlay = new Overlay(OBJECTS);

  constructor(private readonly options: TenantOptions) {
    this.seed = options.seed >>> 0;
    this.counts = countsFor(options.rows);
    this.ids = new IdMinter(this.seed, CODES, this.counts);
    const counts = this.counts;
    this.ctx = {
      seed: this.seed,
      before: options.generatedBefore,
      counts,
      idOf: (object, index) => this.ids.mint(object, KIND_GENERATED, index),
      count: (object) => counts[object] ?? 0,
    };
  }

  generate(object: string, index: number): StoredRow {
    const generator = GENERATORS[object];
    if (generator === undefined) throw new Error(`No generator for object "${object}"`);
    const values = generator(this.ctx, index, new Rng(hashIndex(this.seed, this.ids.codeOf(object), index)));
    return { values, updatedAt: values.UpdatedDate as number, deletedAt: undefined };
  }

  generatedCount(object: string): number {
    return this.counts[object] ?? 0;
  }

  /** Row state as of `at`: overlay version, else the generated row, else undefined (unknown or not yet inserted). */
  rowAt(object: string, id: string, at: number): StoredRow | undefined {
    const versions = this.overlay.of(object).get(id);
    if (versions !== undefined) {
      const version = versionAt(versions, at);
      if (version !== undefined) return fromVersion(version);
    }
    const index = this.ids.generatedIndex(object, id);
    return index === undefined ? undefined : this.generate(object, index);
  }

  snapshot(at: number): Snapshot {
    return tenantSnapshot(this, this.overlay, at);
  }

  insert(name: string, values: Record<string, Value>, at: number): string {
    const def = resolve(name);
    const given = normaliseValues(def, values);
    const id = this.ids.mint(def.name, KIND_INSERTED, this.overlay.inserted(def.name).length);
    const row: Record<string, Value> = {};
    for (const f of def.fields) row[f.name] = given[f.name] ?? null;
    row.Id = id;
    row.CreatedDate = given.CreatedDate ?? at;
    row.UpdatedDate = at;
    this.overlay.addInserted(def.name, id);
    this.overlay.push(def.name, id, { at, values: row, deletedAt: undefined });
    return id;
  }

  update(name: string, id: string, values: Record<string, Value>, at: number): void {
    const def = resolve(name);
    const given = normaliseValues(def, values);
    const current = this.latest(def, id, at, 'update');
    this.overlay.push(def.name, id, { at, values: { ...current.values, ...given, UpdatedDate: at }, deletedAt: undefined });
  }

  remove(name: string, id: string, at: number): void {
    const def = resolve(name);
    const current = this.latest(def, id, at, 'delete');
    const values = this.options.deleteMovesUpdatedDate === false ? current.values : { ...current.values, UpdatedDate: at };
    this.overlay.push(def.name, id, { at, values, deletedAt: at });
  }

  /** Latest state of an existing row (for mutations), checking the clock does not go backwards. */
  private latest(def: ObjectDef, id: string, at: number, action: string): StoredRow {
    const lastAt = this.overlay.lastAt(def.name, id);
    if (lastAt !== undefined && at < lastAt) {
      throw new Error(
        `Cannot ${action} ${def.name} ${id} at ${at}: it already changed at ${lastAt} (mutations go in clock order)`,
      );
    }
    const row = this.rowAt(def.name, id, Number.POSITIVE_INFINITY);
    if (row === undefined) throw new Error(`Cannot ${action} ${def.name} ${id}: no such row`);
    if (row.deletedAt !== undefined) {
      throw new Error(`Cannot ${action} ${def.name} ${id}: it was deleted at ${row.deletedAt}`);
    }
    return row;
  }
}

/** The tenant frozen at `at`: generated rows in index order, each replaced by its overlay version if any, then inserts. */
function tenantSnapshot(rows: TenantRows, overlay: Overlay, at: number): Snapshot {
  return {
    at,
    *scan(name: string): Iterable<StoredRow> {
      const def = resolve(name);
      const versionsById = overlay.of(def.name);
      const total = rows.generatedCount(def.name);
      for (let index = 0; index < total; index++) {
        const row = rows.generate(def.name, index);
        if (versionsById.size > 0) {
          const versions = versionsById.get(row.values.Id as string);
          const version = versions === undefined ? undefined : versionAt(versions, at);
          if (version !== undefined) {
            yield fromVersion(version);
            continue;
          }
        }
        yield row;
      }
      for (const id of overlay.inserted(def.name)) {
        const versions = versionsById.get(id);
        const version = versions === undefined ? undefined : versionAt(versions, at);
        if (version !== undefined) yield fromVersion(version);
      }
    },
    get(name: string, id: string): StoredRow | undefined {
      return rows.rowAt(resolve(name).name, id, at);
    },
    count(name: string): number {
      const def = resolve(name);
      const versionsById = overlay.of(def.name);
      let visible = 0;
      for (const id of overlay.inserted(def.name)) {
        const versions = versionsById.get(id);
        if (versions !== undefined && versionAt(versions, at) !== undefined) visible++;
      }
      return rows.generatedCount(def.name) + visible;
    },
  };
}
