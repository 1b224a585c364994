// Names in a query resolved against the tenant schema: the FROM object's fields and the relationships it joins.
import type { FieldDef, ObjectDef, Tenant } from '../model.ts';
import { ZoqlError } from '../model.ts';
import { relationLabel } from '../schema.ts';
import type { TokenCursor } from './cursor.ts';
import { joinedGetter } from './row-context.ts';
import type { FieldRef, Join, SelectColumn } from './row-context.ts';

export const NO_SOURCE = 'The requested data source could not be found';

export class Scope {
  /** Relationships used so far, in first-use order; a FieldRef names one by its index here. */
  readonly joins: Join[] = [];

  constructor(
    readonly base: ObjectDef,
    private readonly tenant: Tenant,
  ) {}

  joinIndex(written: string): number {
    const base = this.base;
    const name = Object.keys(base.related).find((rel) => rel.toLowerCase() === written.toLowerCase());
    if (name === undefined) throw new ZoqlError('90005', NO_SOURCE);
    const existing = this.joins.findIndex((join) => join.name === name);
    if (existing >= 0) return existing;
    const relation = base.related[name];
    const target = relation === undefined ? undefined : this.tenant.object(relation.object);
    if (relation === undefined || target === undefined) throw new ZoqlError('90005', NO_SOURCE);
    this.joins.push({ name, target, via: relation.via });
    return this.joins.length - 1;
  }

  /** `Field`, `Base.Field` or `Relationship.Field`. */
  fieldRef(first: string, second: string | undefined): FieldRef {
    const base = this.base;
    if (second === undefined || first.toLowerCase() === base.name.toLowerCase()) {
      const written = second ?? first;
      const field = exportableField(base, written, written);
      const name = field.name;
      return {
        join: undefined,
        field,
        header: `${base.name}.${name}`,
        labelHeader: `${base.label}: ${field.label}`,
        get: (rc) => rc.base.values[name] ?? null,
      };
    }
    const join = this.joinIndex(first);
    const field = exportableField(this.join(join).target, second, `${first}.${second}`);
    return this.joinedRef(join, field);
  }

  private joinedRef(index: number, field: FieldDef): FieldRef {
    const join = this.join(index);
    return {
      join: index,
      field,
      header: `${join.name}.${field.name}`,
      labelHeader: `${relationLabel(join.name, join.target)}: ${field.label}`,
      get: joinedGetter(index, join, field.name),
    };
  }

  private join(index: number): Join {
    return this.joins[index] as Join;
  }

  /** `*` (join undefined) and `Rel.*`: exportable fields, foreign keys excluded (they are selected as joins). */
  ownColumns(join: number | undefined): SelectColumn[] {
    const object = join === undefined ? this.base : this.join(join).target;
    return object.fields
      .filter((f) => f.exportable && f.references === undefined)
      .map((field) => {
        const ref = join === undefined ? this.fieldRef(field.name, undefined) : this.joinedRef(join, field);
        return { header: ref.header, labelHeader: ref.labelHeader, type: field.type, get: ref.get };
      });
  }

  /** `Base.*` or `Relationship.*`. */
  starColumns(written: string): SelectColumn[] {
    if (written.toLowerCase() === this.base.name.toLowerCase()) return this.ownColumns(undefined);
    return this.ownColumns(this.joinIndex(written));
  }
}

function exportableField(object: ObjectDef, written: string, shown: string): FieldDef {
  const field = object.fields.find((f) => f.name.toLowerCase() === written.toLowerCase());
  if (field === undefined || !field.exportable) throw new ZoqlError('90005', `There is no field named ${shown}`);
  return field;
}

export function parseFieldRef(cursor: TokenCursor, scope: Scope): FieldRef {
  const first = cursor.expectIdent('a field name');
  if (cursor.acceptPunct('.')) return scope.fieldRef(first, cursor.expectIdent('a field name after "."'));
  return scope.fieldRef(first, undefined);
}
