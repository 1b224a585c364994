// `aquasync check` (as `dbt debug` and Airbyte's "check connection"): one line per check of the set-up, a fix for
// each problem, and a non-zero exit when something fails. It reads only: no AQuA or Data Query job is submitted,
// no data is loaded, the warehouse gets no migration (its write test runs in a transaction that is rolled back).
import { randomBytes } from 'node:crypto';
import type { PipelineConfig } from '../config/types.ts';
import { quoteIdent, type Warehouse } from '../db/index.ts';
import { AquasyncError, ConfigError, errorMessage, ZuoraAuthError, ZuoraRejectedError } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { lastLoadedSession, type LoadedSession } from '../state/index.ts';
import { lookUpSession, ZuoraClient, type ObjectDescription, type SessionLookup } from '../zuora/index.ts';
import { checkFields, selectedFields } from './check-fields.ts';
import { EXIT, type CommandContext } from './command.ts';
import { openConfiguredWarehouse, readConfig, resolveSources, zuoraClientFor, type Sources } from './common.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

function failed(name: string, error: unknown): CheckResult {
  const hint = error instanceof AquasyncError ? error.hint : undefined;
  return { name, status: 'fail', detail: firstLine(errorMessage(error)), ...(hint ? { fix: hint } : {}) };
}

/**
 * What the session lookup proves about a pipeline's partner and project, with what the warehouse remembers of its
 * last load. Pure. Zuora documents checking a partner id only at submit (90019), so a session with no completed
 * job cannot prove or disprove the partner without submitting one: that is a warning, never a silent "ok".
 */
export function judgeSession(pipeline: Pick<PipelineConfig, 'name' | 'partner' | 'project'>, lookup: SessionLookup, loaded: LoadedSession | undefined): CheckResult {
  const name = `${pipeline.name}: partner/project`;
  const pair = `partner "${pipeline.partner}", project "${pipeline.project}"`;
  const changed =
    loaded !== undefined &&
    loaded.partner !== undefined &&
    loaded.project !== undefined &&
    (loaded.partner !== pipeline.partner || loaded.project !== pipeline.project);
  if (lookup.kind === 'rejected') {
    const fix =
      lookup.code === '90019'
        ? 'Zuora does not recognise this partner id: ask Zuora Global Support for one and set `partner` in pipelines.yaml'
        : lookup.code === '90009'
          ? "the API user may not use AQuA: check its role in Zuora (AQuA needs \"Enable DataSource Exports Reporting\")"
          : 'check `partner` and `project` in pipelines.yaml';
    return { name, status: 'fail', detail: `Zuora refused the lookup of ${pair}${lookup.code ? ` (errorCode ${lookup.code})` : ''}: ${lookup.message}`, fix };
  }
  if (lookup.kind === 'job') {
    if (changed) {
      return {
        name,
        status: 'warn',
        detail: `${pair} accepted by Zuora (last completed job ${lookup.jobId}), but this pipeline last loaded from partner "${loaded.partner}", project "${loaded.project}"`,
        fix: 'the next run continues that other session from its own position; put back the old values unless you mean to switch',
      };
    }
    return { name, status: 'ok', detail: `${pair} accepted by Zuora: the session's last completed job is ${lookup.jobId}${lookup.startTime ? ` (${lookup.startTime})` : ''}` };
  }
  if (changed) {
    return {
      name,
      status: 'warn',
      detail: `${pair}: this pipeline last loaded from partner "${loaded.partner}", project "${loaded.project}", and Zuora has no completed job for the new pair`,
      fix:
        'the next run starts a new session with a full snapshot (rows missing from it are marked deleted), or fails with 90019 if Zuora does not know the partner; put back the old values unless you mean to start over',
    };
  }
  if (loaded !== undefined) {
    return {
      name,
      status: 'warn',
      detail: `${pair}: Zuora has no completed job for this session, although this pipeline loaded from it (job ${loaded.zuoraJobId ?? '?'})`,
      fix: 'baseUrl may point at another tenant (sandbox vs production), or the session expired after 180 idle days; then the next run loads a full snapshot',
    };
  }
  return {
    name,
    status: 'warn',
    detail: `${pair}: not verifiable without submitting a job (the session has no completed job yet, and Zuora checks a partner id only at submit)`,
    fix: 'the first sync tells: it fails with errorCode 90019 if Zuora does not know the partner (ask Zuora Global Support for one)',
  };
}

async function checkWarehouse(warehouse: Warehouse, schema: string): Promise<CheckResult> {
  const client = await warehouse.pool.connect();
  try {
    const info = await client.query<{ version: string; user: string; state: string | null }>(
      "SELECT current_setting('server_version') AS version, current_user AS user, to_regclass('aquasync.runs')::text AS state",
    );
    const row = info.rows[0];
    const probe = `_aquasync_check_${randomBytes(4).toString('hex')}`;
    await client.query('BEGIN');
    try {
      // The write test: everything a first sync creates, rolled back, so the check leaves no trace.
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query(`CREATE TABLE ${quoteIdent(schema)}.${quoteIdent(probe)} (id int PRIMARY KEY)`);
      await client.query(`INSERT INTO ${quoteIdent(schema)}.${quoteIdent(probe)} VALUES (1)`);
      await client.query('CREATE SCHEMA IF NOT EXISTS aquasync');
    } finally {
      await client.query('ROLLBACK');
    }
    const where = warehouse.embedded ? `embedded Postgres on 127.0.0.1:${warehouse.embedded.port}` : warehouse.url;
    return {
      name: 'warehouse',
      status: 'ok',
      detail: `${where} (PostgreSQL ${row?.version ?? '?'}, user ${row?.user ?? '?'}): reachable, can create schema "${schema}" and tables in it; state schema ${row?.state ? 'present' : 'not created yet (the first sync creates it)'}`,
    };
  } catch (error) {
    return {
      name: 'warehouse',
      status: 'fail',
      detail: `reachable, but not writable: ${firstLine((error as Error).message)}`,
      fix: `grant the user CREATE on the database (for schemas "${schema}" and "aquasync"), or use a database where it has it; a read-only replica cannot be a warehouse`,
    };
  } finally {
    client.release();
  }
}

/** describe(), once per object name, remembering failures too. */
function describer(client: ZuoraClient): (object: string) => Promise<ObjectDescription | Error> {
  const cache = new Map<string, Promise<ObjectDescription | Error>>();
  return (object) => {
    const key = object.toLowerCase();
    let entry = cache.get(key);
    if (!entry) {
      entry = client.describe(object).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      cache.set(key, entry);
    }
    return entry;
  };
}

async function checkObjects(pipeline: PipelineConfig, describe: (object: string) => Promise<ObjectDescription | Error>): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const object of pipeline.objects) {
    const name = `${pipeline.name}: ${object.name}`;
    const described = await describe(object.name);
    if (described instanceof Error) {
      results.push(failed(name, described));
      continue;
    }
    const fields = selectedFields(object);
    if (fields === undefined) {
      results.push({ name, status: 'warn', detail: 'the object exists; the fields of its query could not be read (*, functions or aliases) and were not checked' });
      continue;
    }
    const related = new Map<string, ObjectDescription | undefined>();
    for (const relation of new Set(fields.flatMap((f) => (f.relation ? [f.relation] : [])))) {
      const match = described.relatedObjects.find((r) => r.toLowerCase() === relation.toLowerCase());
      if (!match) continue;
      const joined = await describe(match);
      related.set(match.toLowerCase(), joined instanceof Error ? undefined : joined);
    }
    const check = checkFields(object.name, fields, described, related);
    if (check.problems.length > 0) {
      results.push({
        name,
        status: 'fail',
        detail: check.problems.map((p) => p.message).join('; '),
        fix: `correct ${check.problems.length === 1 ? 'the field' : 'the fields'} ${check.problems.map((p) => `"${p.field}"`).join(', ')} of object ${object.name} in pipeline ${pipeline.name} (pipelines.yaml)`,
      });
      continue;
    }
    results.push({
      name,
      status: 'ok',
      detail: `${fields.length} field(s) exist and can be exported${check.unchecked.length ? ` (joined ${check.unchecked.join(', ')}: relationship exists, field not checked)` : ''}`,
    });
  }
  return results;
}

async function checkDataQuery(client: ZuoraClient): Promise<CheckResult> {
  const name = 'data query (verify, reconcile)';
  try {
    // Listing jobs reads only; submitting even `select 1` would start a job in the tenant.
    const reply = await client.request({ operation: 'list Data Query jobs', method: 'GET', path: '/query/jobs?pageSize=1', context: { operation: 'check data query' } });
    if (reply.status >= 200 && reply.status < 300) return { name, status: 'ok', detail: 'reachable; the API user may use it' };
    return {
      name,
      status: 'warn',
      detail: `Zuora answered HTTP ${reply.status} to a Data Query job listing`,
      fix:
        reply.status === 403
          ? 'give the API user the Data Query permission to use aquasync verify and reconcile (sync does not need it)'
          : 'Data Query may not be enabled for this tenant: aquasync verify and reconcile need it (sync does not)',
    };
  } catch (error) {
    return { ...failed(name, error), status: 'warn' };
  }
}

interface SourceGroup {
  label: string;
  pipelines: PipelineConfig[];
}

function groupBySource(pipelines: readonly PipelineConfig[]): SourceGroup[] {
  const groups = new Map<string, SourceGroup>();
  for (const p of pipelines) {
    const key = JSON.stringify([p.source.baseUrl, p.source.clientId, p.source.entityId ?? '']);
    const group = groups.get(key) ?? { label: p.source.baseUrl, pipelines: [] };
    group.pipelines.push(p);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** A check should answer in seconds: one retry, not the patient schedule a nightly sync uses. */
function clientFor(pipeline: PipelineConfig, logger: Logger): ZuoraClient {
  return zuoraClientFor(pipeline, logger, undefined, { retry: { attempts: 2, baseDelayMs: 500, maxDelayMs: 2000 }, requestTimeoutMs: 20_000 });
}

async function checkSource(group: SourceGroup, warehouse: Warehouse | undefined, builtIn: boolean, logger: Logger): Promise<CheckResult[]> {
  const first = group.pipelines[0];
  if (!first) return [];
  const results: CheckResult[] = [];
  const zuoraName = `zuora ${builtIn ? '(built-in emulator)' : group.label}`;
  if (!first.source.clientId || !first.source.clientSecret) {
    return [
      {
        name: zuoraName,
        status: 'fail',
        detail: 'no OAuth client id or secret configured',
        fix: 'set ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET (used by the default pipelines.yaml), or clientId/clientSecret under source:',
      },
    ];
  }
  const client = clientFor(first, logger);
  const describe = describer(client);
  // The first call fetches the OAuth token: its failure says whether Zuora is reachable and takes the credentials.
  const probe = await describe(first.objects[0]?.name ?? 'Account');
  if (probe instanceof ZuoraAuthError || (probe instanceof AquasyncError && !(probe instanceof ZuoraRejectedError))) {
    results.push(failed(zuoraName, probe));
    for (const p of group.pipelines) results.push({ name: `${p.name}: partner, objects and fields`, status: 'skip', detail: 'Zuora could not be reached or refused the credentials' });
    return results;
  }
  results.push({ name: zuoraName, status: 'ok', detail: `reachable; OAuth client "${first.source.clientId}" got a token` });
  for (const pipeline of group.pipelines) {
    try {
      const lookup = await lookUpSession(client, pipeline.partner, pipeline.project);
      const loaded = warehouse ? await lastLoadedSession(warehouse.db, pipeline.name) : undefined;
      results.push(judgeSession(pipeline, lookup, loaded));
    } catch (error) {
      results.push(failed(`${pipeline.name}: partner/project`, error));
    }
    results.push(...(await checkObjects(pipeline, describe)));
  }
  results.push(await checkDataQuery(client));
  return results;
}

export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.min(40, Math.max(...results.map((r) => r.name.length)));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${LABEL[r.status].padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}`);
    if (r.fix && (r.status === 'fail' || r.status === 'warn')) lines.push(`${' '.repeat(6 + width)}  fix: ${r.fix}`);
  }
  const count = (s: CheckStatus): number => results.filter((r) => r.status === s).length;
  lines.push('', `${count('ok')} ok, ${count('warn')} warning(s), ${count('fail')} failed${count('skip') ? `, ${count('skip')} skipped` : ''}; no job was submitted`);
  return lines.join('\n');
}

export function checkExitCode(results: readonly CheckResult[], strict: boolean): number {
  if (results.some((r) => r.status === 'fail')) return EXIT.failed;
  if (strict && results.some((r) => r.status === 'warn' || r.status === 'skip')) return EXIT.failed;
  return EXIT.ok;
}

export async function checkCommand(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const config = await readConfig(values);
  const wanted = (values.pipeline as string[] | undefined) ?? [];
  for (const name of wanted) {
    if (!config.pipelines.some((p) => p.name === name)) {
      throw new ConfigError(`${config.file}: no pipeline named "${name}"`, { hint: `pipelines in this file: ${config.pipelines.map((p) => p.name).join(', ')}` });
    }
  }
  const selected = wanted.length ? config.pipelines.filter((p) => wanted.includes(p.name)) : config.pipelines;
  const results: CheckResult[] = [
    {
      name: 'config',
      status: 'ok',
      detail: `${config.file}: ${selected.length} pipeline(s), ${selected.reduce((n, p) => n + p.objects.length, 0)} object(s)`,
    },
  ];

  let warehouse: Warehouse | undefined;
  let sources: Sources | undefined;
  try {
    try {
      warehouse = await openConfiguredWarehouse(ctx.logger);
      results.push(await checkWarehouse(warehouse, config.warehouse.schema));
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      results.push(failed('warehouse', error));
    }
    sources = await resolveSources(selected, ctx.logger);
    const builtIn = new Set(selected.filter((p) => p.source.baseUrl === 'emulator').map((p) => p.name));
    for (const group of groupBySource(sources.pipelines)) {
      results.push(...(await checkSource(group, warehouse, group.pipelines.every((p) => builtIn.has(p.name)), silentLogger)));
    }
  } finally {
    await sources?.close();
    await warehouse?.close();
  }

  if (values.json) ctx.print(JSON.stringify({ ok: checkExitCode(results, false) === EXIT.ok, checks: results }, null, 2));
  else ctx.print(formatChecks(results));
  return checkExitCode(results, values.strict === true);
}
