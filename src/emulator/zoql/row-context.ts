// What a compiled query evaluates against: one base row at a time, its joined rows looked up lazily.
import type { FieldDef, FieldType, ObjectDef, OutputColumn, Snapshot, StoredRow, Value } from '../model.ts';

/** Per-row evaluation state: the base row and its joined rows, resolved lazily and at most once. */
export interface RowContext {
  base: StoredRow;
  deleted: boolean;
  joined: (StoredRow | null | undefined)[];
  snapshot: Snapshot;
  /** Last parent looked up per join, shared by one rows() call: children of one parent come in runs. */
  lastJoin: JoinCache;
}

export interface JoinCache {
  keys: (string | undefined)[];
  rows: (StoredRow | null)[];
}

export interface Join {
  name: string;
  target: ObjectDef;
  via: string;
}

export type Getter = (rc: RowContext) => Value;
/** Three-valued SQL logic: null = unknown (comparisons with null), excluded like false. */
export type Predicate = (rc: RowContext) => boolean | null;

export interface FieldRef {
  join: number | undefined;
  field: FieldDef;
  header: string;
  labelHeader: string;
  get: Getter;
}

export interface SelectColumn extends OutputColumn {
  get: Getter;
}

export interface OrderKey {
  get: Getter;
  type: FieldType;
  descending: boolean;
}

export function rowContext(snapshot: Snapshot, row: StoredRow, lastJoin: JoinCache): RowContext {
  return { base: row, deleted: row.deletedAt !== undefined, joined: [], snapshot, lastJoin };
}

/** Reads `name` from the row that join number `index` reaches; a deleted base row joins nothing. */
export function joinedGetter(index: number, join: Join, name: string): Getter {
  return (rc) => {
    let row = rc.joined[index];
    if (row === undefined) {
      row = rc.deleted ? null : lookUpParent(rc, index, join);
      rc.joined[index] = row;
    }
    return row === null ? null : (row.values[name] ?? null);
  };
}

function lookUpParent(rc: RowContext, index: number, join: Join): StoredRow | null {
  const key = rc.base.values[join.via];
  if (typeof key !== 'string') return null;
  if (rc.lastJoin.keys[index] === key) return rc.lastJoin.rows[index] ?? null;
  const found = rc.snapshot.get(join.target.name, key);
  // A parent deleted as of the snapshot joins like a missing one.
  const row = found !== undefined && found.deletedAt === undefined ? found : null;
  rc.lastJoin.keys[index] = key;
  rc.lastJoin.rows[index] = row;
  return row;
}
