// The zod schema of pipelines.yaml after interpolation: shape, defaults and every check that looks at one value or
// one object. Cross-pipeline checks and the source merge happen in parse.ts.
import cron from 'node-cron';
import { z } from 'zod';
import { isSelectQuery, queryBaseObject } from './query-text.ts';
import { baseUrlProblem } from './url.ts';

export const PIPELINE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
export const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
export const OBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$/;
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export const DEFAULT_START_DATE = '2000-01-01T00:00:00Z';

/**
 * Normalises a Postgres type override from the allow-list (`Numeric(22, 9)` -> `numeric(22,9)`), or undefined
 * when it is not on the list. Only these reach DDL, so nothing else can be injected through `types`.
 */
export function normalizePgType(text: string): string | undefined {
  const type = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const simple = [
    'text',
    'numeric',
    'bigint',
    'integer',
    'smallint',
    'boolean',
    'date',
    'timestamptz',
    'timestamp',
    'double precision',
    'jsonb',
  ];
  if (simple.includes(type)) return type;
  const numeric = /^numeric ?\( ?(\d{1,4}) ?(?:, ?(\d{1,4}) ?)?\)$/.exec(type);
  if (!numeric) return undefined;
  const precision = Number(numeric[1]);
  const scale = numeric[2] === undefined ? undefined : Number(numeric[2]);
  if (precision < 1 || precision > 1000 || (scale !== undefined && scale > precision)) return undefined;
  return scale === undefined ? `numeric(${precision})` : `numeric(${precision},${scale})`;
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A full ISO 8601 instant with Z or ±hh:mm whose date and time exist (2026-02-30 does not). */
export function parseIsoInstant(text: string): Date | undefined {
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const check = new Date(Date.UTC(Number(m[1]), month - 1, day, hour, minute, second));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const offset = m[7];
  const badOffset =
    offset !== undefined && offset !== 'Z' && (Number(offset.slice(1, 3)) > 23 || Number(offset.slice(4, 6)) > 59);
  if (badOffset) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}


function isCron(expression: string): boolean {
  try {
    return cron.validate(expression);
  } catch {
    return false;
  }
}

const integer = (min: number, max: number | undefined, what: string) => {
  const message =
    max === undefined ? `${what} must be an integer >= ${min}` : `${what} must be an integer from ${min} to ${max}`;
  const base = z.number({ error: message }).int({ error: message }).min(min, { error: message });
  return max === undefined ? base : base.max(max, { error: message });
};

const optionalText = z
  .string({ error: 'must be a string' })
  .nullish()
  .transform((value) => value ?? undefined);

export const sourceSchema = z.strictObject({
  baseUrl: z
    .string({ error: 'baseUrl must be "emulator" or an https URL' })
    .superRefine((text, ctx) => {
      const problem = text === 'emulator' ? undefined : baseUrlProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: `baseUrl ${problem}; e.g. https://rest.na.zuora.com or "emulator"` });
    })
    .optional()
    .describe('Zuora REST base URL of your data center (e.g. https://rest.na.zuora.com), or "emulator" for the built-in AQuA emulator'),
  clientId: optionalText.describe('OAuth client id of a Zuora API user with AQuA access'),
  clientSecret: optionalText.describe('OAuth client secret (use ${ZUORA_CLIENT_SECRET}; never logged)'),
  dataCenter: z
    .enum(['us', 'eu'], { error: 'dataCenter must be us or eu' })
    .optional()
    .describe('us (default): incrementalTime is Pacific wall time; eu: UTC'),
  entityId: optionalText.describe('sent as Zuora-Entity-Ids on every call (multi-entity tenants)'),
  minDownloadSpeed: integer(1, undefined, 'minDownloadSpeed')
    .optional()
    .describe(
      'KiB per second a result-file download must average (default 64): a file gets 60 s plus its size at this speed; ' +
        'a slower or stalled transfer fails and is downloaded again, instead of holding the pipeline',
    ),
});

export const objectSchema = z
  .strictObject({
    name: z
      .string({ error: 'object name must be a string' })
      .regex(OBJECT_NAME, { error: 'object name must be a Zuora API name (letters, digits, _; e.g. InvoiceItem)' })
      .describe('Zuora object (AQuA data source) API name, e.g. InvoiceItem'),
    fields: z
      .array(
        z
          .string({ error: 'field must be a string' })
          .regex(FIELD_NAME, { error: 'field must be a Zuora field name, e.g. Balance or Invoice.Id' }),
        { error: 'fields must be a list of field names' },
      )
      .min(1, { error: 'fields must list at least one field' })
      .optional()
      .describe('fields to export: own fields (Balance) and joined ones (Invoice.Id); exactly one of fields or query'),
    query: z
      .string({ error: 'query must be a string' })
      .min(1, { error: 'query must not be empty' })
      .optional()
      .describe('a full Export ZOQL query selecting from this object, used as written; exactly one of fields or query'),
    table: z
      .string({ error: 'table must be a string' })
      .regex(SQL_IDENTIFIER, { error: 'table must match ^[a-z_][a-z0-9_]{0,62}$ (lower-case snake_case)' })
      .optional()
      .describe('warehouse table name in the warehouse schema (default: snake_case of the object name)'),
    primaryKey: z
      .array(
        z
          .string({ error: 'primaryKey entry must be a string' })
          .regex(FIELD_NAME, { error: 'primaryKey entry must be a Zuora field name, e.g. Id' }),
        { error: 'primaryKey must be a list of field names' },
      )
      .min(1, { error: 'primaryKey must list at least one field' })
      .default(['Id'])
      .describe('Zuora fields that identify a row'),
    deletes: z
      .enum(['soft', 'hard', 'ignore'], { error: 'deletes must be soft, hard or ignore' })
      .default('soft')
      .describe('rows deleted in Zuora: soft (flag _aquasync_deleted), hard (delete the row) or ignore (keep it; for objects without deleted-row export)'),
    types: z
      .record(z.string(), z.string({ error: 'type override must be a string such as "numeric(22,9)"' }), {
        error: 'types must be a map of column name to Postgres type',
      })
      .default({})
      .describe('per-column Postgres type overrides, e.g. { balance: "numeric(22,9)" }; allowed: text, numeric, numeric(p), numeric(p,s), bigint, integer, smallint, boolean, date, timestamptz, timestamp, double precision, jsonb'),
  })
  .superRefine((object, ctx) => {
    if ((object.fields === undefined) === (object.query === undefined)) {
      ctx.addIssue({ code: 'custom', message: `object ${object.name} needs exactly one of fields or query`, path: [] });
    }
    if (object.query !== undefined) {
      if (!isSelectQuery(object.query)) {
        ctx.addIssue({ code: 'custom', message: 'query must start with select', path: ['query'] });
      } else {
        const from = queryBaseObject(object.query);
        if (from === undefined || from.toLowerCase() !== object.name.toLowerCase()) {
          ctx.addIssue({
            code: 'custom',
            message: `query must select from ${object.name} (the object's name), not ${from ?? '(no from clause)'}`,
            path: ['query'],
          });
        }
      }
    }
    for (const [column, type] of Object.entries(object.types)) {
      if (!SQL_IDENTIFIER.test(column)) {
        ctx.addIssue({
          code: 'custom',
          message: `types key "${column}" must be a warehouse column name (^[a-z_][a-z0-9_]{0,62}$, e.g. balance)`,
          path: ['types', column],
        });
      }
      if (normalizePgType(type) === undefined) {
        ctx.addIssue({
          code: 'custom',
          message:
            `type "${type}" for ${column} is not allowed: use text, numeric, numeric(p), numeric(p,s), bigint, ` +
            'integer, smallint, boolean, date, timestamptz, timestamp, double precision or jsonb',
          path: ['types', column],
        });
      }
    }
  });

export const verifySchema = z.strictObject({
  schedule: z
    .string({ error: 'verify.schedule must be a cron expression string' })
    .refine(isCron, { error: 'verify.schedule is not a valid cron expression (e.g. "0 6 * * 0")' })
    .describe('cron expression (read in the pipeline timezone) on which aquasync schedule verifies the pipeline against Zuora'),
  reconcile: z
    .enum(['report', 'apply'], { error: 'verify.reconcile must be report or apply' })
    .default('report')
    .describe('when the verification finds rows missing or extra: report (compare every Id and record which) or apply (also repair them, then verify again)'),
});

export const pipelineSchema = z.strictObject({
  name: z
    .string({ error: 'pipeline name must be a string' })
    .regex(PIPELINE_NAME, { error: 'pipeline name must match ^[a-z][a-z0-9_-]{0,62}$ (e.g. billing)' })
    .describe('name of the pipeline (aquasync sync --pipeline NAME); state is kept per name'),
  schedule: z
    .string({ error: 'schedule must be a cron expression string' })
    .refine(isCron, { error: 'schedule is not a valid cron expression (e.g. "0 2 * * *")' })
    .describe('cron expression (5 fields, or 6 with seconds first) read in timezone; used by aquasync schedule'),
  timezone: z
    .string({ error: 'timezone must be a string' })
    .refine(isTimeZone, { error: 'timezone is not a known IANA zone (e.g. UTC, Europe/Berlin)' })
    .default('UTC')
    .describe('IANA time zone the schedule is read in'),
  partner: z
    .string({ error: 'partner must be a string' })
    .min(1, { error: 'partner must not be empty' })
    .describe('AQuA partner id issued by Zuora Global Support; with project it names the stateful session'),
  project: z
    .string({ error: 'project must be a string' })
    .min(1, { error: 'project must not be empty' })
    .describe('AQuA project name; a new value starts a new session (a full snapshot)'),
  format: z
    .enum(['csv', 'gzip', 'zip'], { error: 'format must be csv, gzip or zip' })
    .default('gzip')
    .describe('result file format Zuora writes'),
  offset: integer(0, 3600, 'offset')
    .default(0)
    .describe('seconds (0-3600) sent to Zuora: the window ends this long before the job starts'),
  lookback: integer(0, undefined, 'lookback')
    .default(3600)
    .describe('seconds of overlap subtracted from the watermark (rows read twice are deduplicated)'),
  startDate: z
    .string({ error: 'startDate must be a quoted ISO instant such as "2000-01-01T00:00:00Z"' })
    .refine((text) => parseIsoInstant(text) !== undefined, {
      error: 'startDate must be an ISO instant with a zone, such as "2000-01-01T00:00:00Z"',
    })
    .default(DEFAULT_START_DATE)
    .describe('incrementalTime of the first run, an ISO instant with a zone'),
  jobTimeout: integer(1, undefined, 'jobTimeout')
    .default(10_800)
    .describe('seconds a job may take before the run stops polling it (the next run resumes it)'),
  concurrency: integer(1, 16, 'concurrency')
    .default(4)
    .describe('result files downloaded and staged at once'),
  objects: z
    .array(objectSchema, { error: 'objects must be a list' })
    .min(1, { error: 'a pipeline needs at least one object' })
    .describe('the Zuora objects this pipeline exports, one query each in one AQuA job'),
  source: sourceSchema.optional().describe("overrides of the top-level source: for this pipeline"),
  verify: verifySchema
    .optional()
    .describe('scheduled self-verification: aquasync schedule compares the warehouse with Zuora on this schedule (results in aquasync.verifications and /metrics)'),
});

export const configSchema = z.strictObject({
  source: sourceSchema.optional().describe('where and how to reach Zuora; defaults for every pipeline'),
  warehouse: z
    .strictObject({
      schema: z
        .string({ error: 'schema must be a string' })
        .regex(SQL_IDENTIFIER, { error: 'schema must match ^[a-z_][a-z0-9_]{0,62}$' })
        .default('zuora')
        .describe('Postgres schema of the warehouse tables (state is always in schema aquasync)'),
    })
    .optional()
    .describe('the warehouse side (its connection is DATABASE_URL, or the embedded Postgres)'),
  pipelines: z
    .array(pipelineSchema, { error: 'pipelines must be a list' })
    .min(1, { error: 'at least one pipeline is needed under pipelines:' })
    .describe('one stateful AQuA session each, run by aquasync sync and on schedule by aquasync schedule'),
});

export type RawConfig = z.output<typeof configSchema>;

/** Allowed keys per place in the file, for did-you-mean suggestions. */
export function allowedKeysAt(path: readonly PropertyKey[]): string[] {
  const names = path.filter((segment) => typeof segment === 'string');
  const last = names[names.length - 1];
  if (names.length === 0) return Object.keys(configSchema.shape);
  if (last === 'source') return Object.keys(sourceSchema.shape);
  if (last === 'warehouse') return ['schema'];
  if (last === 'objects') return Object.keys(objectSchema.shape);
  if (last === 'pipelines') return Object.keys(pipelineSchema.shape);
  if (last === 'verify') return Object.keys(verifySchema.shape);
  return [];
}
