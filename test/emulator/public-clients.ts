// The request sequences of three public Zuora clients, byte for byte as they put them on the wire (only Host, the
// token and the ids the server hands out differ). Read from each client's code and checked against a capture of
// Python requests 2.34.2 / urllib3 2.7.0 sending those same calls:
//  - singer-io/tap-zuora 1.6 (tap_zuora/client.py, apis.py, utils.py, discover.py), auth_type BASIC: every AQuA
//    call carries apiAccessKeyId/apiSecretAccessKey; requests are built with requests.Request(...).prepare() and
//    Session.send, so only urllib3's own headers are added (Accept-Encoding: identity, python-urllib3 agent).
//  - molnarjani/zuora-aqua-client-cli (zuora_aqua_client_cli/api.py): OAuth, submit to `/v1/batch-query/`, polls
//    `query_url + "/jobs/{id}"`, i.e. `/v1/batch-query//jobs/{id}`, and downloads `/apps/api/file/{id}`.
//  - airbytehq/airbyte source-zuora 0.1.3 (source_zuora/source.py, zuora_auth.py) on the Airbyte CDK of its day:
//    Data Query `SHOW TABLES`, `DESCRIBE account`, then a windowed `select *`, polling without a pause and reading
//    the unauthenticated dataFile URL.
import { rawRequest, requestBytes, type RawResponse } from './raw-http.ts';

export interface Target {
  port: number;
  clientId: string;
  clientSecret: string;
}

const URLLIB3_AGENT = 'python-urllib3/2.7.0';
const REQUESTS_AGENT = 'python-requests/2.34.2';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function json(res: RawResponse): Json {
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
  return JSON.parse(res.body.toString('utf8')) as Json;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every request sent, in order, as the emulator must have seen it (method and path). */
export interface Replay {
  sent: string[];
}

// ---- tap-zuora (BASIC auth, AQuA) ----

export async function tapZuora(t: Target, partner: string): Promise<Replay & { files: string[]; discoverJob: Json }> {
  const host = `127.0.0.1:${t.port}`;
  const sent: string[] = [];
  const send = async (line: string, headers: [string, string][], body = ''): Promise<RawResponse> => {
    sent.push(line.replace(/ HTTP\/1\.1$/, ''));
    return rawRequest(t.port, requestBytes(line, headers, body));
  };
  const aqua: [string, string][] = [
    ['Host', host],
    ['Accept-Encoding', 'identity'],
    ['User-Agent', URLLIB3_AGENT],
    ['apiAccessKeyId', t.clientId],
    ['apiSecretAccessKey', t.clientSecret],
  ];
  const withBody = (body: string): [string, string][] => [
    ...aqua,
    ['Content-Length', String(Buffer.byteLength(body))],
    ['Content-Type', 'application/json'],
  ];
  const rest: [string, string][] = [...aqua, ['X-Zuora-WSDL-Version', '91.0'], ['Content-Type', 'application/json']];

  // Client.get_url: a probe job on the first candidate URL, cancelled at once.
  const probe =
    `{"name": "discover", "partner": "${partner}", "project": "discover", "format": "csv", "version": "1.2", ` +
    `"encrypted": "none", "useQueryLabels": "true", "dateTimeUtc": "true", "queries": [{"name": "discover", ` +
    `"query": "select * from Account limit 1", "type": "zoqlexport"}]}`;
  const discoverJob = json(await send('POST /v1/batch-query/ HTTP/1.1', withBody(probe), probe));
  json(await send(`DELETE /v1/batch-query/jobs/${String(discoverJob.id)} HTTP/1.1`, [...aqua, ['Content-Length', '0']]));
  // discover.py: the object list and each object's fields.
  const index = await send('GET /v1/describe HTTP/1.1', rest);
  if (index.status !== 200 || !index.body.toString('utf8').includes('<name>Account</name>')) throw new Error('describe index');
  const account = await send('GET /v1/describe/Account HTTP/1.1', rest);
  if (account.status !== 200 || !account.body.toString('utf8').includes('<name>UpdatedDate</name>')) throw new Error('describe Account');

  // sync: one stateful job per stream; project = name = "<Stream>_<version>", incrementalTime in US/Pacific.
  const job =
    `{"name": "Account_1767225600", "partner": "${partner}", "project": "Account_1767225600", "format": "csv", ` +
    `"version": "1.2", "encrypted": "none", "useQueryLabels": "true", "dateTimeUtc": "true", "queries": [{"name": ` +
    `"Account_1767225600", "query": "select Id, Name, Balance, UpdatedDate from Account order by UpdatedDate asc", ` +
    `"type": "zoqlexport", "deleted": {"column": "Deleted", "format": "Boolean"}}], "incrementalTime": "2025-12-31 16:00:00"}`;
  const submitted = json(await send('POST /v1/batch-query/ HTTP/1.1', withBody(job), job));
  if (typeof submitted.id !== 'string') throw new Error(`tap-zuora submit rejected: ${JSON.stringify(submitted)}`);
  const jobPath = `GET /v1/batch-query/jobs/${submitted.id} HTTP/1.1`;
  // poll_job_until_done: job_ready until completed, then get_file_ids reads the job once more.
  for (let i = 0; ; i++) {
    const status = json(await send(jobPath, aqua)).status as string;
    if (status === 'completed') break;
    if (status === 'failed' || i > 200) throw new Error(`tap-zuora job ended ${status}`);
    await pause(20);
  }
  const batch = (json(await send(jobPath, aqua)).batches as Json[])[0]!;
  const ids = (batch.segments as string[] | undefined) ?? [batch.fileId as string];
  const files: string[] = [];
  for (const id of ids) {
    const res = await send(`GET /v1/file/${id} HTTP/1.1`, aqua);
    if (res.status !== 200) throw new Error(`tap-zuora file ${id}: HTTP ${res.status}`);
    files.push(res.body.toString('utf8'));
  }
  return { sent, files, discoverJob };
}

// ---- zuora-aqua-client-cli (OAuth, AQuA) ----

const requestsDefaults = (host: string): [string, string][] => [
  ['Host', host],
  ['User-Agent', REQUESTS_AGENT],
  ['Accept-Encoding', 'gzip, deflate'],
  ['Accept', '*/*'],
  ['Connection', 'keep-alive'],
];

function formToken(host: string, body: string): string {
  return requestBytes(
    'POST /oauth/token HTTP/1.1',
    [...requestsDefaults(host), ['Content-Length', String(Buffer.byteLength(body))], ['Content-Type', 'application/x-www-form-urlencoded']],
    body,
  );
}

export async function zuoraAquaClientCli(
  t: Target,
  partner: string,
): Promise<Replay & { files: string[]; responses: RawResponse[] }> {
  const host = `127.0.0.1:${t.port}`;
  const sent: string[] = [];
  const responses: RawResponse[] = [];
  const send = async (bytes: string): Promise<RawResponse> => {
    sent.push(bytes.slice(0, bytes.indexOf(' HTTP/1.1')));
    const res = await rawRequest(t.port, bytes);
    responses.push(res);
    return res;
  };
  const token = json(await send(formToken(host, `client_id=${t.clientId}&client_secret=${t.clientSecret}&grant_type=client_credentials`)))
    .access_token as string;
  const headers: [string, string][] = [...requestsDefaults(host), ['Content-Type', 'application/json'], ['Authorization', `Bearer ${token}`]];
  // start_job with partner and project_prefix: project "<prefix>_<datetime.now()>", queries without names (a
  // query file holds several, separated by blank lines).
  const body =
    `{"format": "csv", "version": "1.1", "encrypted": "none", "useQueryLabels": "true", "dateTimeUtc": "true", ` +
    `"queries": [{"query": "select Id, Name from Account", "type": "zoqlexport"}, {"query": "select Id, ChargeAmount ` +
    `from InvoiceItem", "type": "zoqlexport"}, {"query": "select Id, WorkEmail from Contact", "type": "zoqlexport"}], ` +
    `"partner": "${partner}", "project": "myproject_2026-06-01 09:30:15.123456"}`;
  const submitted = json(await send(requestBytes('POST /v1/batch-query/ HTTP/1.1', [...headers, ['Content-Length', String(Buffer.byteLength(body))]], body)));
  if (typeof submitted.id !== 'string') throw new Error(`zacc submit rejected: ${JSON.stringify(submitted)}`);
  // poll_job: `query_url + "/jobs/{}"` where query_url ends in "/".
  let job: Json;
  for (let i = 0; ; i++) {
    job = json(await send(requestBytes(`GET /v1/batch-query//jobs/${submitted.id} HTTP/1.1`, headers)));
    if (job.status === 'completed') break;
    if (i > 200) throw new Error(`zacc job stuck in ${String(job.status)}`);
    await pause(20);
  }
  const files: string[] = [];
  for (const batch of job.batches as Json[]) {
    const res = await send(requestBytes(`GET /apps/api/file/${String(batch.fileId)} HTTP/1.1`, headers));
    if (res.status !== 200) throw new Error(`zacc file: HTTP ${res.status}`);
    files.push(res.body.toString('utf8'));
  }
  return { sent, files, responses };
}

// ---- airbyte source-zuora (OAuth, Data Query) ----

export async function airbyteSourceZuora(t: Target, query: string): Promise<Replay & { tables: Json[]; columns: Json[]; rows: Json[] }> {
  const host = `127.0.0.1:${t.port}`;
  const sent: string[] = [];
  const send = async (bytes: string): Promise<RawResponse> => {
    sent.push(bytes.slice(0, bytes.indexOf(' HTTP/1.1')));
    return rawRequest(t.port, bytes);
  };
  // The CDK's Oauth2Authenticator body, with grant_type replaced and refresh_token popped by zuora_auth.OAuth.
  const token = json(await send(formToken(host, `grant_type=client_credentials&client_id=${t.clientId}&client_secret=${t.clientSecret}`)))
    .access_token as string;
  const run = async (sql: string): Promise<Json[]> => {
    const body = `{"compression": "NONE", "output": {"target": "S3"}, "outputFormat": "JSON", "query": ${pyString(sql)}}`;
    const submit = requestBytes(
      'POST /query/jobs HTTP/1.1',
      [
        ...requestsDefaults(host),
        ['Content-Length', String(Buffer.byteLength(body))],
        ['Content-Type', 'application/json'],
        ['Authorization', `Bearer ${token}`],
      ],
      body,
    );
    const id = json(await send(submit)).data.id as string;
    // ZuoraJobStatusCheck: the same prepared request, sent again at once until completed.
    const poll = requestBytes(`GET /query/jobs/${id} HTTP/1.1`, [...requestsDefaults(host), ['Authorization', `Bearer ${token}`]]);
    let data: Json;
    for (let i = 0; ; i++) {
      data = json(await send(poll)).data as Json;
      if (data.queryStatus === 'completed') break;
      if (['failed', 'canceled', 'aborted'].includes(data.queryStatus as string)) throw new Error(`airbyte job ${String(data.queryStatus)}: ${String(data.errorMessage)}`);
      if (i > 5000) throw new Error('airbyte job never completed');
    }
    // ZuoraGetJobResult: a fresh stream with no authenticator reads the dataFile URL.
    const url = new URL(data.dataFile as string);
    const res = await send(requestBytes(`GET ${url.pathname}${url.search} HTTP/1.1`, requestsDefaults(`${url.hostname}:${url.port}`)));
    if (res.status !== 200) throw new Error(`airbyte dataFile: HTTP ${res.status}`);
    return res.body
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Json);
  };
  const tables = await run('SHOW TABLES');
  const columns = await run('DESCRIBE account');
  const rows = await run(query);
  return { sent, tables, columns, rows };
}

/** A string as Python's json.dumps writes it (ASCII only, `\n` escaped). */
function pyString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The windowed query of ZuoraObjectsBase.query with the slice bounds of stream_slices (`%Y-%m-%d %H:%M:%S.%f %Z`
 * on a machine in US/Pacific), indentation included.
 */
export function airbyteWindowQuery(table: string, start: string, end: string): string {
  return `
            select *
            from ${table} where
            updateddate >= TIMESTAMP '${start}' and
            updateddate <= TIMESTAMP '${end}'
            order by updateddate asc
            `;
}
