// Zuora's describe XML (`GET /v1/describe` and `GET /v1/describe/{Object}`): the field list with types and
// `<contexts>` (export present only for exportable fields, which clients filter on), picklist options, and the
// `<related-objects>` whose names are the relationship names Export ZOQL joins through.

import type { ObjectDef } from './model.ts';
import { PICKLISTS, relationLabel } from './schema.ts';

const DEFAULT_BASE_URL = 'https://rest.zuora.com';

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function element(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/**
 * Describe XML of one object. `baseUrl` (the emulator's own origin) prefixes the related objects' `href`s.
 * Fields that are not exportable list only the `soap` context, like Zuora's fields that AQuA cannot select.
 */
export function describeXml(
  object: ObjectDef,
  objects: readonly ObjectDef[],
  baseUrl: string = DEFAULT_BASE_URL,
): string {
  const origin = baseUrl.replace(/\/+$/, '');
  const fields = object.fields.map((field) => {
    const options = field.type === 'picklist' ? PICKLISTS[`${object.name}.${field.name}`] : undefined;
    const optionsXml =
      options === undefined ? '' : `<options>${options.map((o) => element('option', o)).join('')}</options>`;
    const readOnly = ['Id', 'CreatedById', 'CreatedDate', 'UpdatedById', 'UpdatedDate'].includes(field.name);
    const contexts = field.exportable ? '<context>soap</context><context>export</context>' : '<context>soap</context>';
    return (
      '<field>' +
      element('name', field.name) +
      element('label', field.label) +
      element('type', field.type) +
      optionsXml +
      element('selectable', 'true') +
      element('createable', String(!readOnly)) +
      element('updateable', String(!readOnly)) +
      element('filterable', 'true') +
      element('custom', 'false') +
      element('required', 'false') +
      `<contexts>${contexts}</contexts>` +
      '</field>'
    );
  });
  const related = Object.entries(object.related).map(([name, relation]) => {
    const target = objects.find((o) => o.name === relation.object);
    if (target === undefined) {
      throw new Error(`describeXml: ${object.name}.${name} points at unknown object ${relation.object}`);
    }
    return (
      `<object href="${escapeXml(`${origin}/v1/describe/${target.name}`)}">` +
      element('name', name) +
      element('label', relationLabel(name, target)) +
      '</object>'
    );
  });
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<object>' +
    element('name', object.name) +
    element('label', object.label) +
    `<fields>${fields.join('')}</fields>` +
    `<related-objects>${related.join('')}</related-objects>` +
    '</object>'
  );
}

/** `GET /v1/describe`: the list of objects, each linking to its own describe. */
export function describeIndexXml(objects: readonly ObjectDef[], baseUrl: string = DEFAULT_BASE_URL): string {
  const origin = baseUrl.replace(/\/+$/, '');
  const items = objects.map(
    (object) =>
      `<object href="${escapeXml(`${origin}/v1/describe/${object.name}`)}">` +
      element('name', object.name) +
      element('label', object.label) +
      '</object>',
  );
  return `<?xml version="1.0" encoding="UTF-8"?><objects>${items.join('')}</objects>`;
}
