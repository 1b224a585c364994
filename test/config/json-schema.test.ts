// The JSON Schema of pipelines.yaml and the README's configuration reference are generated from the zod schema:
// these tests fail when either file drifts from it (run `npm run schema`), when a key has no description, and when
// the schema would flag the checked-in pipelines.yaml (with its ${VAR} references) in an editor.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configReference, README_END, README_START, SCHEMA_FILE, schemaFileText, undocumentedKeys } from '../../src/config/json-schema.ts';
import { configSchema } from '../../src/config/schema.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

type Json = Record<string, unknown>;

/**
 * A validator for the subset of JSON Schema draft-07 the generated schema uses (type, enum, pattern, minLength,
 * minimum, maximum, properties, required, additionalProperties, items, minItems, anyOf, oneOf). Returns the paths
 * and reasons of what fails, as an editor would underline them.
 */
function validate(schema: Json, value: unknown, at = '$'): string[] {
  const problems: string[] = [];
  if (Array.isArray(schema.anyOf)) {
    const passes = (schema.anyOf as Json[]).some((s) => validate(s, value, at).length === 0);
    if (!passes) problems.push(`${at}: matches none of anyOf`);
  }
  if (Array.isArray(schema.oneOf)) {
    const passing = (schema.oneOf as Json[]).filter((s) => validate(s, value, at).length === 0).length;
    if (passing !== 1) problems.push(`${at}: matches ${passing} of oneOf`);
  }
  if (Array.isArray(schema.required) && typeof value === 'object' && value !== null) {
    for (const key of schema.required as string[]) if (!(key in value)) problems.push(`${at}: missing ${key}`);
  }
  const types = schema.type === undefined ? undefined : Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  if (types) {
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
    const ok = types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
    if (!ok) return [...problems, `${at}: ${actual} is not ${types.join('|')}`];
  }
  if (Array.isArray(schema.enum) && !(schema.enum as unknown[]).includes(value)) problems.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) problems.push(`${at}: does not match ${schema.pattern}`);
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) problems.push(`${at}: too short`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${at}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) problems.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((item, i) => problems.push(...validate(schema.items as Json, item, `${at}[${i}]`)));
  } else if (typeof value === 'object' && value !== null) {
    const properties = (schema.properties ?? {}) as Record<string, Json>;
    for (const [key, child] of Object.entries(value)) {
      if (properties[key]) problems.push(...validate(properties[key], child, `${at}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${at}: unknown key ${key}`);
      else if (typeof schema.additionalProperties === 'object') problems.push(...validate(schema.additionalProperties as Json, child, `${at}.${key}`));
    }
  }
  return problems;
}

describe('schema/pipelines.schema.json', () => {
  const shipped = JSON.parse(read(SCHEMA_FILE)) as Json;

  it('is what the zod schema generates (after changing src/config/schema.ts, run npm run schema)', () => {
    expect(read(SCHEMA_FILE), 'schema/pipelines.schema.json is out of date: run npm run schema').toBe(schemaFileText());
  });

  it('describes every key, so the README reference has no empty cell', () => {
    expect(undocumentedKeys()).toEqual([]);
  });

  it('knows every key zod knows', () => {
    const props = shipped.properties as Record<string, Json>;
    expect(Object.keys(props).sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it('is referenced by the checked-in pipelines.yaml, which it accepts with its ${VAR} references', () => {
    const text = read('pipelines.yaml');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./schema/pipelines.schema.json');
    expect(validate(shipped, parse(text) as unknown)).toEqual([]);
  });

  it.each([
    ['a misspelled key', 'pipelines:\n  - name: b\n    schedule: "0 2 * * *"\n    partner: p\n    project: q\n    objects:\n      - name: Account\n        fields: [Id]\n        deltes: soft\n', /unknown key deltes/],
    ['a wrong enum value', 'pipelines:\n  - name: b\n    schedule: "0 2 * * *"\n    partner: p\n    project: q\n    format: json\n    objects:\n      - name: Account\n        fields: [Id]\n', /format: matches none of anyOf/],
    ['an offset out of range', 'pipelines:\n  - name: b\n    schedule: "0 2 * * *"\n    partner: p\n    project: q\n    offset: 7200\n    objects:\n      - name: Account\n        fields: [Id]\n', /offset: matches none of anyOf/],
    ['an object with both fields and query', 'pipelines:\n  - name: b\n    schedule: "0 2 * * *"\n    partner: p\n    project: q\n    objects:\n      - name: Account\n        fields: [Id]\n        query: select Id from Account\n', /matches 2 of oneOf/],
    ['a missing partner', 'pipelines:\n  - name: b\n    schedule: "0 2 * * *"\n    project: q\n    objects:\n      - name: Account\n        fields: [Id]\n', /missing partner/],
  ])('flags %s as an editor would', (_name, yaml, problem) => {
    expect(validate(shipped, parse(yaml) as unknown).join('\n')).toMatch(problem);
  });

  it('accepts ${VAR} wherever a value goes, numbers and enums included', () => {
    const yaml = 'pipelines:\n  - name: ${NAME}\n    schedule: "0 2 * * *"\n    partner: p\n    project: q\n    offset: ${OFFSET:-0}\n    format: ${FORMAT:-gzip}\n    objects:\n      - name: Account\n        fields: [Id]\n';
    expect(validate(shipped, parse(yaml) as unknown)).toEqual([]);
  });
});

describe("README.md's configuration reference", () => {
  it('is the one generated from the schema (run npm run schema)', () => {
    const readme = read('README.md');
    const start = readme.indexOf(README_START);
    const end = readme.indexOf(README_END);
    expect(start, 'README.md lacks the config-reference markers').toBeGreaterThan(0);
    expect(readme.slice(start + README_START.length, end).trim(), 'the README reference is out of date: run npm run schema').toBe(configReference());
  });
});
