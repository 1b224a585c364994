import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { redact } from '../../src/log.ts';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pipelines.yaml');

// Line numbers in the error tables below refer to this text.
const base = `source:
  baseUrl: \${ZUORA_BASE_URL:-emulator}
  clientId: \${ZUORA_CLIENT_ID:-}
  clientSecret: \${ZUORA_CLIENT_SECRET:-}
warehouse:
  schema: zuora
pipelines:
  - name: billing
    schedule: "0 2 * * *"
    partner: aquasync
    project: billing-warehouse
    objects:
      - name: Account
        fields: [Id, Name, Balance, UpdatedDate]
        deletes: soft
      - name: InvoiceItem
        query: select Id, UpdatedDate, Invoice.Id from InvoiceItem
`;

function expectConfigError(run: () => unknown, message: RegExp): ConfigError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  expect((caught as ConfigError).message).toMatch(message);
  return caught as ConfigError;
}

describe('parseConfig', () => {
  it('reads the documented example with every default applied', async () => {
    const config = await loadConfig(fixture, {});
    expect(config.file).toBe(fixture);
    expect(config.warehouse).toEqual({ schema: 'zuora' });
    expect(config.pipelines).toEqual([
      {
        name: 'billing',
        schedule: '0 2 * * *',
        timezone: 'UTC',
        partner: 'aquasync',
        project: 'billing-warehouse',
        format: 'gzip',
        offset: 0,
        lookback: 3600,
        startDate: new Date('2000-01-01T00:00:00Z'),
        jobTimeout: 10_800,
        concurrency: 4,
        source: { baseUrl: 'emulator', clientId: '', clientSecret: '', dataCenter: 'us', entityId: 'optional', minDownloadSpeed: 64 },
        objects: [
          {
            name: 'Account',
            fields: ['Id', 'Name', 'Balance', 'Status', 'UpdatedDate'],
            query: undefined,
            table: 'account',
            primaryKey: ['Id'],
            deletes: 'soft',
            types: { balance: 'numeric(22,9)' },
          },
          {
            name: 'InvoiceItem',
            fields: undefined,
            query: 'select Id, ChargeAmount, ServiceStartDate, UpdatedDate, Invoice.Id from InvoiceItem',
            table: 'invoice_item',
            primaryKey: ['Id'],
            deletes: 'soft',
            types: {},
          },
        ],
      },
    ]);
  });

  it('applies defaults for everything optional', () => {
    const config = parseConfig(base, 'pipelines.yaml', {});
    const [pipeline] = config.pipelines;
    expect(pipeline).toMatchObject({
      timezone: 'UTC',
      format: 'gzip',
      offset: 0,
      lookback: 3600,
      startDate: new Date('2000-01-01T00:00:00Z'),
      jobTimeout: 10_800,
      concurrency: 4,
      source: { baseUrl: 'emulator', dataCenter: 'us', entityId: undefined, minDownloadSpeed: 64 },
    });
    expect(pipeline?.objects.map((object) => [object.table, object.primaryKey, object.deletes, object.types])).toEqual([
      ['account', ['Id'], 'soft', {}],
      ['invoice_item', ['Id'], 'soft', {}],
    ]);
    expect(path.isAbsolute(config.file)).toBe(true);
  });

  it.each<[string, string, Record<string, string>, (config: ReturnType<typeof parseConfig>) => unknown, unknown]>([
    [
      'env values and defaults',
      base,
      { ZUORA_BASE_URL: 'https://rest.eu.zuora.com/', ZUORA_CLIENT_ID: 'id', ZUORA_CLIENT_SECRET: 'shh-secret' },
      (c) => c.pipelines[0]?.source,
      { baseUrl: 'https://rest.eu.zuora.com', clientId: 'id', clientSecret: 'shh-secret', dataCenter: 'us', entityId: undefined, minDownloadSpeed: 64 },
    ],
    [
      ':- default also replaces an empty value',
      base,
      { ZUORA_BASE_URL: '' },
      (c) => c.pipelines[0]?.source.baseUrl,
      'emulator',
    ],
    [
      '$${ is a literal ${',
      base.replace('partner: aquasync', () => 'partner: "a$${b}"'),
      {},
      (c) => c.pipelines[0]?.partner,
      'a${b}',
    ],
    [
      'plain numeric interpolation becomes a number',
      base.replace('partner:', 'offset: ${OFFSET:-120}\n    partner:'),
      {},
      (c) => c.pipelines[0]?.offset,
      120,
    ],
    [
      'quoted interpolation stays a string',
      base.replace('partner: aquasync', 'partner: "${PARTNER}"'),
      { PARTNER: '42' },
      (c) => c.pipelines[0]?.partner,
      '42',
    ],
    [
      'pipeline source overrides the defaults key by key',
      base.replace('objects:', 'source:\n      dataCenter: eu\n      entityId: e1\n    objects:'),
      {},
      (c) => c.pipelines[0]?.source,
      { baseUrl: 'emulator', clientId: '', clientSecret: '', dataCenter: 'eu', entityId: 'e1', minDownloadSpeed: 64 },
    ],
    [
      'minDownloadSpeed per pipeline',
      base.replace('objects:', 'source:\n      minDownloadSpeed: 8\n    objects:'),
      {},
      (c) => c.pipelines[0]?.source.minDownloadSpeed,
      8,
    ],
    [
      'type overrides normalised',
      base.replace('deletes: soft', 'deletes: hard\n        types: { balance: "Numeric( 22, 9 )", name: "DOUBLE  precision" }'),
      {},
      (c) => [c.pipelines[0]?.objects[0]?.deletes, c.pipelines[0]?.objects[0]?.types],
      ['hard', { balance: 'numeric(22,9)', name: 'double precision' }],
    ],
    [
      'explicit values',
      base.replace(
        'partner:',
        'timezone: Europe/Berlin\n    format: zip\n    offset: 3600\n    lookback: 0\n    startDate: "2024-05-01T02:00:00+02:00"\n    jobTimeout: 60\n    concurrency: 16\n    partner:',
      ),
      {},
      (c) => {
        const p = c.pipelines[0];
        return [p?.timezone, p?.format, p?.offset, p?.lookback, p?.startDate.toISOString(), p?.jobTimeout, p?.concurrency];
      },
      ['Europe/Berlin', 'zip', 3600, 0, '2024-05-01T00:00:00.000Z', 60, 16],
    ],
    [
      'query with trailing ; and lowercase from',
      base.replace('from InvoiceItem', 'from invoiceitem;'),
      {},
      (c) => c.pipelines[0]?.objects[1]?.query,
      'select Id, UpdatedDate, Invoice.Id from invoiceitem;',
    ],
    [
      'six-field cron',
      base.replace('"0 2 * * *"', '"30 0 2 * * *"'),
      {},
      (c) => c.pipelines[0]?.schedule,
      '30 0 2 * * *',
    ],
  ])('%s', (_name, text, env, pick, expected) => {
    expect(pick(parseConfig(text, 'pipelines.yaml', env))).toEqual(expected);
  });

  it.each<[string, string, Record<string, string>, RegExp]>([
    ['misspelt key', base.replace('deletes: soft', 'deltes: soft'), {}, /^pipelines\.yaml:15: unknown key "deltes" \(did you mean "deletes"\?\) in pipeline "billing", object "Account"$/],
    ['unknown top-level key', base.replace('warehouse:', 'warehous:'), {}, /^pipelines\.yaml:5: unknown key "warehous" \(did you mean "warehouse"\?\)/],
    ['unknown key without suggestion', base.replace('deletes: soft', 'colour: red'), {}, /^pipelines\.yaml:15: unknown key "colour" \(allowed: name, fields, query/],
    ['YAML syntax error', base.replace('fields: [Id, Name, Balance, UpdatedDate]', 'fields: [Id, Name'), {}, /^pipelines\.yaml:\d+: YAML: /],
    ['duplicate YAML key', base.replace('deletes: soft', 'deletes: soft\n        deletes: hard'), {}, /^pipelines\.yaml:16: YAML: Map keys must be unique/],
    ['unset variable', base.replace('${ZUORA_CLIENT_ID:-}', '${ZUORA_CLIENT_ID}'), {}, /^pipelines\.yaml:3: environment variable ZUORA_CLIENT_ID is not set: export ZUORA_CLIENT_ID, or give a default with \$\{ZUORA_CLIENT_ID:-value\}$/],
    ['bad variable reference', base.replace('partner: aquasync', 'partner: ${1X}'), {}, /^pipelines\.yaml:10: bad variable reference "\$\{1X\}"/],
    ['unterminated reference', base.replace('partner: aquasync', 'partner: ${X'), {}, /^pipelines\.yaml:10: unterminated/],
    ['empty file', '', {}, /^pipelines\.yaml:1: the file is empty/],
    ['top level not a map', '- a\n- b\n', {}, /^pipelines\.yaml:1: the top level must be a map/],
    ['no pipelines', 'pipelines: []\n', {}, /^pipelines\.yaml:1: at least one pipeline is needed/],
    ['missing pipelines key', 'warehouse:\n  schema: zuora\n', {}, /^pipelines\.yaml:1: missing required key "pipelines"/],
    ['missing required key', base.replace('    partner: aquasync\n', ''), {}, /^pipelines\.yaml:8: pipeline "billing": missing required key "partner"/],
    ['no objects', base.replace(/ {4}objects:[\s\S]*$/, '    objects: []\n'), {}, /^pipelines\.yaml:12: pipeline "billing": a pipeline needs at least one object/],
    ['duplicate pipeline names', `${base}  - name: billing\n    schedule: "0 3 * * *"\n    partner: p\n    project: q\n    objects:\n      - name: Account\n        fields: [Id]\n`, {}, /^pipelines\.yaml:18: pipeline name "billing" is used twice/],
    ['bad pipeline name', base.replace('name: billing', 'name: Billing Pipeline'), {}, /^pipelines\.yaml:8: .*pipeline name must match/],
    ['duplicate tables', base.replace('query: select Id, UpdatedDate, Invoice.Id from InvoiceItem', 'query: select Id, UpdatedDate, Invoice.Id from InvoiceItem\n        table: account'), {}, /^pipelines\.yaml:18: pipeline "billing": objects "Account" and "InvoiceItem" both load table "account"/],
    [
      'two pipelines writing one table',
      `${base}  - name: active\n    schedule: "0 3 * * *"\n    partner: p\n    project: q\n    objects:\n      - name: Account\n        query: select Id from Account where Status = 'Active'\n`,
      {},
      /^pipelines\.yaml:23: table "zuora\.account" is loaded by pipeline "billing" \(object Account\) and by pipeline "active" \(object Account\); a table has one writer/,
    ],
    ['schema injection', base.replace('schema: zuora', 'schema: "zuora; drop table x"'), {}, /^pipelines\.yaml:6: schema must match/],
    ['table injection', base.replace('deletes: soft', 'table: "a\\"b"'), {}, /^pipelines\.yaml:15: pipeline "billing", object "Account": table must match/],
    ['object name injection', base.replace('name: Account', 'name: "Account; x"'), {}, /^pipelines\.yaml:13: .*object name must be a Zuora API name/],
    ['field injection', base.replace('fields: [Id, Name, Balance, UpdatedDate]', 'fields: [Id, "Name from Account --"]'), {}, /^pipelines\.yaml:14: .*field must be a Zuora field name/],
    ['primaryKey injection', base.replace('deletes: soft', 'primaryKey: ["Id)"]'), {}, /^pipelines\.yaml:15: .*primaryKey entry must be a Zuora field name/],
    ['type not allowed', base.replace('deletes: soft', 'types: { balance: "text; drop table x" }'), {}, /^pipelines\.yaml:15: .*type "text; drop table x" for balance is not allowed/],
    ['numeric scale > precision', base.replace('deletes: soft', 'types: { balance: "numeric(2,9)" }'), {}, /^pipelines\.yaml:15: .*type "numeric\(2,9\)" for balance is not allowed/],
    ['types key not a column name', base.replace('deletes: soft', 'types: { Balance: numeric }'), {}, /^pipelines\.yaml:15: .*types key "Balance" must be a warehouse column name/],
    ['both fields and query', base.replace('deletes: soft', 'query: select Id from Account'), {}, /^pipelines\.yaml:13: .*needs exactly one of fields or query/],
    ['neither fields nor query', base.replace('        fields: [Id, Name, Balance, UpdatedDate]\n', ''), {}, /^pipelines\.yaml:13: .*needs exactly one of fields or query/],
    ['query not a select', base.replace('query: select Id', 'query: delete Id'), {}, /^pipelines\.yaml:17: pipeline "billing", object "InvoiceItem": query must start with select/],
    ['query from another object', base.replace('from InvoiceItem', 'from Invoice'), {}, /^pipelines\.yaml:17: .*query must select from InvoiceItem \(the object's name\), not Invoice/],
    ['bad cron', base.replace('"0 2 * * *"', '"0 25 * * *"'), {}, /^pipelines\.yaml:9: .*schedule is not a valid cron expression/],
    ['bad timezone', base.replace('partner:', 'timezone: Mars/Olympus\n    partner:'), {}, /^pipelines\.yaml:10: .*timezone is not a known IANA zone/],
    ['bad verify cron', base.replace('partner:', 'verify: { schedule: "0 6 * * 9" }\n    partner:'), {}, /^pipelines\.yaml:10: .*verify\.schedule is not a valid cron expression/],
    ['bad verify reconcile', base.replace('partner:', 'verify: { schedule: "0 6 * * 0", reconcile: always }\n    partner:'), {}, /^pipelines\.yaml:10: .*verify\.reconcile must be report or apply/],
    ['unknown verify key', base.replace('partner:', 'verify: { schedule: "0 6 * * 0", reconcil: apply }\n    partner:'), {}, /^pipelines\.yaml:10: .*reconcil.*did you mean "reconcile"/],
    ['offset too big', base.replace('partner:', 'offset: 3601\n    partner:'), {}, /^pipelines\.yaml:10: .*offset must be an integer from 0 to 3600/],
    ['offset fractional', base.replace('partner:', 'offset: 1.5\n    partner:'), {}, /^pipelines\.yaml:10: .*offset must be an integer/],
    ['lookback negative', base.replace('partner:', 'lookback: -1\n    partner:'), {}, /^pipelines\.yaml:10: .*lookback must be an integer >= 0/],
    ['concurrency too big', base.replace('partner:', 'concurrency: 17\n    partner:'), {}, /^pipelines\.yaml:10: .*concurrency must be an integer from 1 to 16/],
    ['offset as text', base.replace('partner:', 'offset: "60"\n    partner:'), {}, /^pipelines\.yaml:10: .*offset must be an integer/],
    ['startDate without zone', base.replace('partner:', 'startDate: "2024-01-01T00:00:00"\n    partner:'), {}, /^pipelines\.yaml:10: .*startDate must be an ISO instant with a zone/],
    ['startDate impossible', base.replace('partner:', 'startDate: "2024-02-30T00:00:00Z"\n    partner:'), {}, /^pipelines\.yaml:10: .*startDate must be an ISO instant/],
    ['bad format', base.replace('partner:', 'format: json\n    partner:'), {}, /^pipelines\.yaml:10: .*format must be csv, gzip or zip/],
    ['bad deletes', base.replace('deletes: soft', 'deletes: sometimes'), {}, /^pipelines\.yaml:15: .*deletes must be soft, hard or ignore/],
    ['bad dataCenter', base.replace('warehouse:', '  dataCenter: apac\nwarehouse:'), {}, /^pipelines\.yaml:5: dataCenter must be us or eu/],
    ['bad baseUrl', base, { ZUORA_BASE_URL: 'ftp://zuora.example' }, /^pipelines\.yaml:2: baseUrl must be an https URL, not ftp:/],
    // The client secret and tokens would cross the network readable by anyone on the path.
    ['plain http to another host', base, { ZUORA_BASE_URL: 'http://rest.na.zuora.com' }, /^pipelines\.yaml:2: baseUrl must use https: plain http would send the OAuth client secret/],
    ['plain http to a lookalike of loopback', base, { ZUORA_BASE_URL: 'http://127.0.0.1.evil.example' }, /^pipelines\.yaml:2: baseUrl must use https/],
    ['missing credentials', base, { ZUORA_BASE_URL: 'https://rest.na.zuora.com' }, /^pipelines\.yaml:3: pipeline "billing": source\.clientId is empty .*set ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET \(missing: ZUORA_CLIENT_ID\).*\npipelines\.yaml:4: .*missing: ZUORA_CLIENT_SECRET/],
    ['missing baseUrl', base.replace('  baseUrl: ${ZUORA_BASE_URL:-emulator}\n', ''), {}, /^pipelines\.yaml:7: pipeline "billing": source\.baseUrl is not set/],
  ])('%s', (_name, text, env, message) => {
    expectConfigError(() => parseConfig(text, 'pipelines.yaml', env), message);
  });

  it('reads verify: {schedule, reconcile} with reconcile defaulting to report; without it there is no scheduled verification', () => {
    const yaml = (verify: string) =>
      `source: { baseUrl: https://x, clientId: a, clientSecret: b }\npipelines:\n  - name: billing\n    schedule: "0 2 * * *"\n    partner: p\n    project: q\n${verify}    objects:\n      - name: Account\n        fields: [Id]\n`;
    expect(parseConfig(yaml('    verify: { schedule: "0 6 * * 0" }\n'), 'p.yaml', {}).pipelines[0]?.verify).toEqual({ schedule: '0 6 * * 0', reconcile: 'report' });
    expect(parseConfig(yaml('    verify: { schedule: "0 6 * * 0", reconcile: apply }\n'), 'p.yaml', {}).pipelines[0]?.verify).toEqual({
      schedule: '0 6 * * 0',
      reconcile: 'apply',
    });
    expect(parseConfig(yaml(''), 'p.yaml', {}).pipelines[0]?.verify).toBeUndefined();
  });

  it('reports every problem at once, sorted by line', () => {
    const text = base.replace('deletes: soft', 'deltes: soft').replace('partner:', 'offset: -1\n    partner:');
    const error = expectConfigError(() => parseConfig(text, 'pipelines.yaml', {}), /offset/);
    expect(error.message.split('\n').map((line) => line.split(':')[1])).toEqual(['10', '16']);
    expect(error.context).toMatchObject({ file: 'pipelines.yaml', line: 10 });
  });

  it('keeps the client secret out of messages and registers it for redaction', () => {
    const secret = 'very-secret-value-123';
    const text = base.replace('partner: aquasync', 'partner: ""');
    const error = expectConfigError(
      () => parseConfig(text, 'pipelines.yaml', { ZUORA_BASE_URL: 'https://rest.na.zuora.com', ZUORA_CLIENT_SECRET: secret }),
      /partner must not be empty/,
    );
    expect(error.message).not.toContain(secret);
    parseConfig(base, 'pipelines.yaml', {
      ZUORA_BASE_URL: 'https://rest.na.zuora.com',
      ZUORA_CLIENT_ID: 'id',
      ZUORA_CLIENT_SECRET: secret,
    });
    expect(redact(`token for ${secret}`)).toBe('token for ***');
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'aquasync-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the missing file and --config', async () => {
    const missing = path.join(dir, 'nope.yaml');
    const error = await loadConfig(missing, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(`config file ${missing} not found (use --config <file> to pick another)`);
  });

  it('names the file as given in line errors', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, base.replace('deletes: soft', 'deltes: soft'));
    const error = await loadConfig(file, {}).catch((e: unknown) => e);
    expect((error as ConfigError).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:15: unknown key "deltes"`));
  });

  it('reports a directory as unreadable', async () => {
    const error = await loadConfig(dir, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/cannot read config file .*EISDIR/);
  });
});
