// Mutations over the generated tenant: every insert, update and delete is a version stamped with the emulator clock,
// so a snapshot at any instant picks the version current then. Values are checked against the schema on the way in.
import type { FieldDef, ObjectDef, StoredRow, Value } from '../model.ts';

export interface Version {
  at: number;
  values: Record<string, Value>;
  deletedAt: number | undefined;
}

/** The version current at `at` (the last one not after it), or undefined when the row did not exist yet. */
export function versionAt(versions: readonly Version[], at: number): Version | undefined {
  for (let i = versions.length - 1; i >= 0; i--) {
    const version = versions[i];
    if (version !== undefined && version.at <= at) return version;
  }
  return undefined;
}

export function fromVersion(version: Version): StoredRow {
  return { values: version.values, updatedAt: Math.max(version.at, version.values.UpdatedDate as number), deletedAt: version.deletedAt };
}

/** Object -> id -> versions in clock order, plus the ids inserted per object in insertion order. */
export class Overlay {
  private readonly versions: Map<string, Map<string, Version[]>>;
  private readonly insertedIds: Map<string, string[]>;

  constructor(objects: readonly ObjectDef[]) {
    this.versions = new Map(objects.map((def) => [def.name, new Map()]));
    this.insertedIds = new Map(objects.map((def) => [def.name, []]));
  }

  of(object: string): Map<string, Version[]> {
    const overlay = this.versions.get(object);
    if (overlay === undefined) throw new Error(`Unknown object "${object}"`);
    return overlay;
  }

  inserted(object: string): readonly string[] {
    return this.insertedIds.get(object) ?? [];
  }

  addInserted(object: string, id: string): void {
    const ids = this.insertedIds.get(object) ?? [];
    ids.push(id);
    this.insertedIds.set(object, ids);
  }

  push(object: string, id: string, version: Version): void {
    const overlay = this.of(object);
    const versions = overlay.get(id);
    if (versions === undefined) overlay.set(id, [version]);
    else versions.push(version);
  }

  /** The last version's time, so mutations can be kept in clock order. */
  lastAt(object: string, id: string): number | undefined {
    const versions = this.of(object).get(id);
    return versions?.[versions.length - 1]?.at;
  }
}

/** Field names matched case-insensitively and canonicalised; unknown fields, Id and mistyped values rejected. */
export function normaliseValues(def: ObjectDef, values: Record<string, Value>): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [key, value] of Object.entries(values)) {
    const fieldDef = def.fields.find((f) => f.name.toLowerCase() === key.toLowerCase());
    if (fieldDef === undefined) {
      throw new Error(
        `Unknown field "${key}" on object ${def.name}: known fields are ${def.fields.map((f) => f.name).join(', ')}`,
      );
    }
    if (fieldDef.name === 'Id') throw new Error(`${def.name}.Id is assigned by the tenant and cannot be set`);
    checkValueType(def.name, fieldDef, value);
    out[fieldDef.name] = value;
  }
  return out;
}

function checkValueType(object: string, def: FieldDef, value: Value): void {
  if (value === null) return;
  const where = `${object}.${def.name}`;
  const fail = (expected: string): never => {
    throw new Error(`Invalid value ${JSON.stringify(value)} for ${where} (${def.type}): expected ${expected}`);
  };
  switch (def.type) {
    case 'boolean':
      if (typeof value !== 'boolean') fail('true or false');
      break;
    case 'datetime':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail('epoch milliseconds');
      break;
    case 'decimal':
      if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) fail('a decimal string such as "-12.50"');
      break;
    case 'integer':
      if (typeof value !== 'string' || !/^-?\d+$/.test(value)) fail('a string of digits');
      break;
    case 'date':
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) fail('a YYYY-MM-DD string');
      break;
    case 'text':
    case 'picklist':
      if (typeof value !== 'string') fail('a string');
      break;
  }
}
