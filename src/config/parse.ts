// pipelines.yaml -> Config: YAML with source positions, ${VAR} interpolation, zod validation, cross checks and
// the source merge. Every problem is reported as `file:line: message`, all of them at once.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document, Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { registerSecret } from '../log.ts';
import { snakeCase } from './names.ts';
import { didYouMean } from './did-you-mean.ts';
import { interpolate } from './interpolate.ts';
import { allowedKeysAt, configSchema, normalizePgType, parseIsoInstant, SQL_IDENTIFIER } from './schema.ts';
import type { RawConfig } from './schema.ts';
import type { Config, ObjectConfig, PipelineConfig, SourceConfig } from './types.ts';

type Path = readonly PropertyKey[];

interface Problem {
  line: number;
  message: string;
}

class Positions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  lineOfOffset(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  private lineOfNode(node: unknown): number | undefined {
    const range = (node as Node | null | undefined)?.range;
    return range ? this.lineOfOffset(range[0]) : undefined;
  }

  /** Line of the value at `path`, or of the deepest key/parent that exists. `atKey` prefers the key's line. */
  lineOf(path: Path, atKey = false): number {
    let node: unknown = this.doc.contents;
    let line = this.lineOfNode(node) ?? 1;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
        if (!pair) return line;
        line = this.lineOfNode(pair.key) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
      } else {
        return line;
      }
      if (!(atKey && segment === path[path.length - 1])) line = this.lineOfNode(node) ?? line;
    }
    return line;
  }
}

function valueAt(data: unknown, path: Path): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** `pipeline "billing", object "Account"` for a path, so a message says where even without the line. */
function describePlace(data: unknown, path: Path): string {
  const parts: string[] = [];
  if (path[0] === 'pipelines' && typeof path[1] === 'number') {
    const name = valueAt(data, ['pipelines', path[1], 'name']);
    parts.push(typeof name === 'string' ? `pipeline "${name}"` : `pipelines[${path[1]}]`);
    if (path[2] === 'objects' && typeof path[3] === 'number') {
      const object = valueAt(data, [...path.slice(0, 4), 'name']);
      parts.push(typeof object === 'string' ? `object "${object}"` : `objects[${path[3]}]`);
    }
  }
  return parts.length > 0 ? `${parts.join(', ')}: ` : '';
}

const inPlace = (place: string): string => (place ? ` in ${place.slice(0, -2)}` : '');

function problemsFromZod(issues: readonly z.core.$ZodIssue[], data: unknown, positions: Positions): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(issue.path);
      for (const key of issue.keys) {
        const suggestion = didYouMean(key, allowed);
        const advice = suggestion ? `did you mean "${suggestion}"?` : `allowed: ${allowed.join(', ')}`;
        problems.push({
          line: positions.lineOf([...issue.path, key], true),
          message: `unknown key "${key}" (${advice})${inPlace(describePlace(data, issue.path))}`,
        });
      }
      continue;
    }
    const place = describePlace(data, issue.path);
    const key = issue.path[issue.path.length - 1];
    if (issue.code === 'invalid_type' && valueAt(data, issue.path) === undefined && typeof key === 'string') {
      problems.push({ line: positions.lineOf(issue.path), message: `${place}missing required key "${key}"` });
      continue;
    }
    problems.push({ line: positions.lineOf(issue.path), message: `${place}${issue.message}` });
  }
  return problems;
}

function fail(file: string, problems: Problem[]): never {
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  const lines = [...new Set(sorted.map((problem) => `${file}:${problem.line}: ${problem.message}`))];
  const first = sorted[0];
  throw new ConfigError(lines.join('\n'), { context: { file, line: first?.line } });
}

/** Replaces ${VAR} in every value scalar; a plain scalar that becomes a number (`offset: ${OFFSET:-0}`) is one. */
function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv, positions: Positions): Problem[] {
  const problems: Problem[] = [];
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string') return;
      const result = interpolate(node.value, env);
      const line = node.range ? positions.lineOfOffset(node.range[0]) : 1;
      if (!result.ok) {
        problems.push({ line, message: result.error });
        return;
      }
      if (!result.replaced) return;
      node.value = node.type === 'PLAIN' && /^-?\d+$/.test(result.value) ? Number(result.value) : result.value;
    },
  });
  return problems;
}

type RawSource = NonNullable<RawConfig['source']>;

const CREDENTIAL_VARIABLES = { clientId: 'ZUORA_CLIENT_ID', clientSecret: 'ZUORA_CLIENT_SECRET' } as const;

/** source.minDownloadSpeed when not set, KiB/s (the Zuora client's own default). */
export const DEFAULT_MIN_DOWNLOAD_SPEED = 64;

/** Merges the top-level source with a pipeline's; checks what only the merged result can tell. */
function mergeSource(
  raw: RawConfig,
  index: number,
  data: unknown,
  positions: Positions,
  problems: Problem[],
): SourceConfig {
  const top = raw.source;
  const own = raw.pipelines[index]?.source;
  const name = raw.pipelines[index]?.name ?? String(index);
  const pick = <K extends keyof RawSource>(key: K): RawSource[K] | undefined =>
    own?.[key] !== undefined ? own[key] : top?.[key];
  const where = (key: string): number =>
    valueAt(data, ['pipelines', index, 'source', key]) !== undefined
      ? positions.lineOf(['pipelines', index, 'source', key])
      : valueAt(data, ['source', key]) !== undefined
        ? positions.lineOf(['source', key])
        : positions.lineOf(['pipelines', index, 'name']);
  const baseUrl = pick('baseUrl');
  const source: SourceConfig = {
    baseUrl: baseUrl === undefined || baseUrl === 'emulator' ? (baseUrl ?? '') : baseUrl.replace(/\/+$/, ''),
    clientId: pick('clientId') ?? '',
    clientSecret: pick('clientSecret') ?? '',
    dataCenter: pick('dataCenter') ?? 'us',
    entityId: pick('entityId') || undefined,
    minDownloadSpeed: pick('minDownloadSpeed') ?? DEFAULT_MIN_DOWNLOAD_SPEED,
  };
  registerSecret(source.clientSecret);
  if (baseUrl === undefined) {
    problems.push({
      line: where('baseUrl'),
      message:
        `pipeline "${name}": source.baseUrl is not set ` +
        '(a Zuora REST URL such as https://rest.na.zuora.com, or "emulator")',
    });
  } else if (baseUrl !== 'emulator') {
    for (const key of ['clientId', 'clientSecret'] as const) {
      if (source[key] === '') {
        problems.push({
          line: where(key),
          message:
            `pipeline "${name}": source.${key} is empty but baseUrl is ${source.baseUrl}: ` +
            `set ${CREDENTIAL_VARIABLES.clientId} and ${CREDENTIAL_VARIABLES.clientSecret} ` +
            `(missing: ${CREDENTIAL_VARIABLES[key]}), or use baseUrl "emulator"`,
        });
      }
    }
  }
  return source;
}

function buildConfig(raw: RawConfig, data: unknown, file: string, positions: Positions): Config {
  const problems: Problem[] = [];
  const pipelineNames = new Set<string>();
  const schema = raw.warehouse?.schema ?? 'zuora';
  // One table, one writer: two pipelines' full snapshots would each delete the other's rows.
  const writers = new Map<string, string>();
  const pipelines: PipelineConfig[] = raw.pipelines.map((pipeline, index) => {
    if (pipelineNames.has(pipeline.name)) {
      problems.push({
        line: positions.lineOf(['pipelines', index, 'name']),
        message: `pipeline name "${pipeline.name}" is used twice; names must be unique`,
      });
    }
    pipelineNames.add(pipeline.name);
    const tables = new Map<string, string>();
    const objects: ObjectConfig[] = pipeline.objects.map((object, objectIndex) => {
      const at = ['pipelines', index, 'objects', objectIndex] as const;
      const table = object.table ?? snakeCase(object.name);
      if (!SQL_IDENTIFIER.test(table)) {
        problems.push({
          line: positions.lineOf([...at, 'name']),
          message:
            `pipeline "${pipeline.name}", object "${object.name}": table name "${table}" is not a valid ` +
            'identifier; set table: explicitly',
        });
      }
      const other = tables.get(table);
      if (other !== undefined) {
        problems.push({
          line: positions.lineOf(object.table === undefined ? [...at, 'name'] : [...at, 'table']),
          message:
            `pipeline "${pipeline.name}": objects "${other}" and "${object.name}" both load table "${table}"; ` +
            'set a different table:',
        });
      }
      tables.set(table, object.name);
      const writer = writers.get(table);
      if (writer !== undefined && other === undefined) {
        problems.push({
          line: positions.lineOf(object.table === undefined ? [...at, 'name'] : [...at, 'table']),
          message:
            `table "${schema}.${table}" is loaded by ${writer} and by pipeline "${pipeline.name}" (object ${object.name}); ` +
            'a table has one writer (a snapshot of one would delete the rows of the other): set a different table:',
        });
      }
      writers.set(table, `pipeline "${pipeline.name}" (object ${object.name})`);
      const types: Record<string, string> = {};
      for (const [column, type] of Object.entries(object.types)) types[column] = normalizePgType(type) ?? type;
      return {
        name: object.name,
        fields: object.fields,
        query: object.query,
        table,
        primaryKey: object.primaryKey,
        deletes: object.deletes,
        types,
      };
    });
    return {
      name: pipeline.name,
      schedule: pipeline.schedule,
      timezone: pipeline.timezone,
      partner: pipeline.partner,
      project: pipeline.project,
      format: pipeline.format,
      offset: pipeline.offset,
      lookback: pipeline.lookback,
      // Already validated by the schema.
      startDate: parseIsoInstant(pipeline.startDate) ?? new Date(NaN),
      jobTimeout: pipeline.jobTimeout,
      concurrency: pipeline.concurrency,
      objects,
      source: mergeSource(raw, index, data, positions, problems),
      verify: pipeline.verify === undefined ? undefined : { schedule: pipeline.verify.schedule.trim(), reconcile: pipeline.verify.reconcile },
    };
  });
  if (problems.length > 0) fail(file, problems);
  return { file: path.resolve(file), warehouse: { schema }, pipelines };
}

/** Parses and validates pipelines.yaml text. `file` is used in messages as given and resolved for Config.file. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const positions = new Positions(doc, lines);
  if (doc.errors.length > 0) {
    fail(
      file,
      doc.errors.map((error) => ({ line: positions.lineOfOffset(error.pos[0]), message: `YAML: ${error.message}` })),
    );
  }
  const interpolation = interpolateDocument(doc, env, positions);
  if (interpolation.length > 0) fail(file, interpolation);

  let data: unknown;
  try {
    // The yaml library refuses to expand aliases past a budget (an "alias bomb": a few lines that expand to
    // billions of nodes) by throwing a ReferenceError; that is a problem of the file, not a crash.
    data = doc.toJS();
  } catch (error) {
    fail(file, [{ line: 1, message: `YAML: ${error instanceof Error ? error.message : String(error)} (too many *alias references expand to too much data)` }]);
  }
  if (data === null || data === undefined) {
    fail(file, [{ line: 1, message: 'the file is empty: it needs at least a pipelines: list' }]);
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    fail(file, [{ line: 1, message: 'the top level must be a map with source:, warehouse: and pipelines:' }]);
  }
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) fail(file, problemsFromZod(parsed.error.issues, data, positions));
  return buildConfig(parsed.data, data, file, positions);
}

/** Reads and parses the config file. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const absolute = path.resolve(file);
    if (code === 'ENOENT') {
      throw new ConfigError(`config file ${absolute} not found (use --config <file> to pick another)`, {
        context: { file: absolute },
      });
    }
    throw new ConfigError(`cannot read config file ${absolute}: ${code ?? String(error)}`, {
      hint: 'check the path and its permissions, or use --config <file> to pick another',
      context: { file: absolute },
    });
  }
  return parseConfig(text, file, env);
}

