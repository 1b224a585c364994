// `aquasync check`: the configured fields of one object against Zuora's describe, so a misspelled field is caught
// before any job is submitted. Pure: the describes are fetched by check.ts.
import { didYouMean } from '../config/index.ts';
import type { ObjectConfig } from '../config/types.ts';
import { expectedHeaders } from '../plan/index.ts';
import type { ObjectDescription } from '../zuora/index.ts';

export interface FieldReference {
  /** As written in the config: `Balance` or `Invoice.Id`. */
  text: string;
  /** The joined object (relationship name) for `Invoice.Id`; undefined for the object's own fields. */
  relation: string | undefined;
  field: string;
}

/** The fields an object selects, or undefined for a free-form query whose select list cannot be read (`*`, functions). */
export function selectedFields(object: ObjectConfig): FieldReference[] | undefined {
  const headers = expectedHeaders(object);
  if (headers === undefined) return undefined;
  const base = object.query === undefined ? object.name : (headers[0]?.split('.')[0] ?? object.name);
  return headers.map((header) => {
    const [prefix = '', field = ''] = header.split('.');
    const own = prefix.toLowerCase() === base.toLowerCase() || prefix.toLowerCase() === object.name.toLowerCase();
    return own ? { text: field, relation: undefined, field } : { text: header, relation: prefix, field };
  });
}

export interface FieldProblem {
  field: string;
  message: string;
}

export interface FieldCheck {
  problems: FieldProblem[];
  /** Joined fields whose object could not be described (the relationship exists; the field was not checked). */
  unchecked: string[];
}

function findField(described: ObjectDescription, name: string) {
  return described.fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
}

function suggestion(name: string, candidates: readonly string[]): string {
  const close = didYouMean(name, candidates);
  return close ? ` (did you mean "${close}"?)` : '';
}

/**
 * Every selected field must exist in the object's describe and be exportable (its contexts include `export`, when
 * Zuora lists contexts); a joined field needs the relationship, and its field in the joined object when that
 * object's describe is known.
 */
export function checkFields(
  object: string,
  fields: readonly FieldReference[],
  described: ObjectDescription,
  related: ReadonlyMap<string, ObjectDescription | undefined>,
): FieldCheck {
  const problems: FieldProblem[] = [];
  const unchecked: string[] = [];
  for (const ref of fields) {
    if (ref.relation === undefined) {
      const found = findField(described, ref.field);
      if (!found) {
        problems.push({
          field: ref.text,
          message: `${object} has no field "${ref.field}"${suggestion(ref.field, described.fields.map((f) => f.name))}`,
        });
      } else if (found.contexts.length > 0 && !found.contexts.some((c) => c.toLowerCase() === 'export')) {
        problems.push({ field: ref.text, message: `${object}.${found.name} cannot be exported (its describe lacks the export context)` });
      }
      continue;
    }
    const relation = described.relatedObjects.find((r) => r.toLowerCase() === ref.relation?.toLowerCase());
    if (!relation) {
      problems.push({
        field: ref.text,
        message: `${object} has no joined object "${ref.relation}"${suggestion(ref.relation, described.relatedObjects)}`,
      });
      continue;
    }
    const joined = related.get(relation.toLowerCase());
    if (!joined) {
      unchecked.push(ref.text);
      continue;
    }
    if (!findField(joined, ref.field)) {
      problems.push({
        field: ref.text,
        message: `${relation} (joined from ${object}) has no field "${ref.field}"${suggestion(ref.field, joined.fields.map((f) => f.name))}`,
      });
    }
  }
  return { problems, unchecked };
}
