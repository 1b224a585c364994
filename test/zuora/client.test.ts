import { afterEach, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import {
  InterruptedError,
  ZuoraAuthError,
  ZuoraFileExpiredError,
  ZuoraFileTooLargeError,
  ZuoraJobFailedError,
  ZuoraJobTimeoutError,
  ZuoraRejectedError,
  ZuoraTransientError,
} from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { ZuoraClient, type AquaJobRequest, type ZuoraClientOptions } from '../../src/zuora/index.ts';
import { CLIENT_ID, CLIENT_SECRET, jobBody, json, send, startFakeZuora, tokenRoute, type FakeZuora, type Route } from './fake-zuora.ts';

let server: FakeZuora | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(
  routes: Record<string, Route>,
  options: Partial<ZuoraClientOptions> = {},
): Promise<{ zuora: FakeZuora; client: ZuoraClient }> {
  server = await startFakeZuora(routes);
  const client = new ZuoraClient({
    baseUrl: `${server.url}/`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 2000 },
    poll: { minIntervalMs: 10, maxIntervalMs: 40 },
    requestTimeoutMs: 2000,
    ...options,
  });
  return { zuora: server, client };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const request: AquaJobRequest = {
  format: 'gzip',
  version: '1.1',
  name: 'aquasync-billing',
  encrypted: 'none',
  useQueryLabels: 'true',
  dateTimeUtc: 'true',
  partner: 'p',
  project: 'q',
  queries: [{ name: 'Account', query: 'select Id from Account', type: 'zoqlexport' }],
};

const JOB = 'GET /v1/batch-query/jobs/j1';
const completed = jobBody('j1', 'completed', [{ fileId: 'f1', recordCount: '2' }]);

describe('authentication', () => {
  it('fetches one token, caches it, and sends the documented headers', async () => {
    const { zuora, client } = await setup({ [JOB]: (_q, res) => json(res, 200, completed) }, { entityId: 'ent-1' });
    await client.getJob('j1');
    await client.getJob('j1');
    const [token, ...rest] = zuora.calls('/');
    expect(zuora.calls('/oauth/token')).toHaveLength(1);
    expect(token?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(token?.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(token?.body))).toEqual({
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_type: 'client_credentials',
    });
    expect(rest).toHaveLength(2);
    for (const call of rest) {
      expect(call.headers).toMatchObject({
        authorization: 'Bearer tok-1',
        accept: 'application/json',
        'user-agent': 'aquasync/0.1',
        'zuora-entity-ids': 'ent-1',
      });
    }
  });

  it('refreshes the token before it expires (90% of a short lifetime)', async () => {
    const { zuora, client } = await setup({
      'POST /oauth/token': tokenRoute(1),
      [JOB]: (_q, res) => json(res, 200, completed),
    });
    await client.getJob('j1');
    await new Promise((r) => setTimeout(r, 1000));
    await client.getJob('j1');
    expect(zuora.calls('/oauth/token')).toHaveLength(2);
    expect(zuora.calls('/v1/').map((c) => c.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  it('on a 401 fetches a new token once and repeats the call', async () => {
    const { zuora, client } = await setup({
      [JOB]: (q, res) => (q.headers.authorization === 'Bearer tok-1' ? json(res, 401, {}) : json(res, 200, completed)),
    });
    const job = await client.getJob('j1');
    expect(job.status).toBe('completed');
    expect(zuora.calls('/oauth/token')).toHaveLength(2);
  });

  it('a 401 right after a fresh token is an auth error', async () => {
    const { zuora, client } = await setup({ [JOB]: (_q, res) => json(res, 401, {}) });
    const error = await caught(client.getJob('j1'));
    expect(error).toBeInstanceOf(ZuoraAuthError);
    expect(zuora.calls('/v1/')).toHaveLength(2);
  });

  it.each([400, 401, 403])('refused credentials (HTTP %i) give a clear message without the secret', async (status) => {
    const lines: string[] = [];
    const { zuora, client } = await setup(
      { 'POST /oauth/token': (_q, res) => json(res, status, { error: 'invalid_client' }) },
      { logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }) },
    );
    const error = await caught(client.describe('Account'));
    expect(error).toBeInstanceOf(ZuoraAuthError);
    const auth = error as ZuoraAuthError;
    expect(auth.message).toBe(`Zuora refused the client credentials (HTTP ${status}) at ${zuora.url}/oauth/token`);
    expect(auth.hint).toMatch(/ZUORA_CLIENT_ID \/ ZUORA_CLIENT_SECRET.*data center/);
    const everything = JSON.stringify([auth.message, auth.hint, auth.context, auth.describe(), lines]);
    expect(everything).not.toContain(CLIENT_SECRET);
    expect(zuora.calls('/oauth/token')).toHaveLength(1); // not retried
  });
});

describe('retries', () => {
  it('honours Retry-After on a 429', async () => {
    const { zuora, client } = await setup({
      [JOB]: (_q, res, n) => (n === 1 ? json(res, 429, {}, { 'retry-after': '1' }) : json(res, 200, completed)),
    });
    await client.getJob('j1');
    const [first, second] = zuora.calls('/v1/');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it.each([500, 502, 503, 504])('retries HTTP %i and then succeeds', async (status) => {
    const { zuora, client } = await setup({
      [JOB]: (_q, res, n) => (n < 3 ? json(res, status, { reasons: [{ code: 'SystemError' }] }) : json(res, 200, completed)),
    });
    const job = await client.getJob('j1');
    expect(job.batches[0]?.recordCount).toBe(2);
    expect(zuora.calls('/v1/')).toHaveLength(3);
  });

  it('gives up after the last attempt with a transient error naming the operation', async () => {
    const { zuora, client } = await setup({ [JOB]: (_q, res) => json(res, 502, {}) }, { retry: { attempts: 3, baseDelayMs: 1 } });
    const error = await caught(client.getJob('j1'));
    expect(error).toBeInstanceOf(ZuoraTransientError);
    expect((error as ZuoraTransientError).status).toBe(502);
    expect((error as ZuoraTransientError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/get AQuA job j1: HTTP 502 after 3 attempt/);
    expect((error as ZuoraTransientError).context).toMatchObject({ operation: 'get job', jobId: 'j1' });
    expect(zuora.calls('/v1/')).toHaveLength(3);
  });

  it('times out a server that never answers', async () => {
    const { zuora, client } = await setup(
      { [JOB]: () => undefined },
      { requestTimeoutMs: 150, retry: { attempts: 2, baseDelayMs: 1 } },
    );
    const error = await caught(client.getJob('j1'));
    expect(error).toBeInstanceOf(ZuoraTransientError);
    expect((error as Error).message).toMatch(/no answer within 150 ms after 2 attempt/);
    expect(zuora.calls('/v1/')).toHaveLength(2);
  });

  it('retries a connection reset', async () => {
    const { zuora, client } = await setup({
      [JOB]: (_q, res, n) => (n === 1 ? void res.socket?.destroy() : json(res, 200, completed)),
    });
    expect((await client.getJob('j1')).id).toBe('j1');
    expect(zuora.calls('/v1/')).toHaveLength(2);
  });

  it('retries a refused connection and reports it', async () => {
    const closed = await startFakeZuora({});
    await closed.close();
    const client = new ZuoraClient({
      baseUrl: closed.url,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      retry: { attempts: 2, baseDelayMs: 1 },
    });
    const error = await caught(client.getJob('j1'));
    expect(error).toBeInstanceOf(ZuoraTransientError);
    expect((error as Error).message).toMatch(/get an OAuth token: connection refused by 127\.0\.0\.1:\d+ after 2 attempt/);
    expect((error as ZuoraTransientError).hint).toMatch(/ZUORA_BASE_URL/);
  });

  it('does not retry other 4xx', async () => {
    const { zuora, client } = await setup({ [JOB]: (_q, res) => json(res, 404, { errorCode: '90002', message: 'Invalid Job Id.' }) });
    const error = await caught(client.getJob('j1'));
    expect(error).toBeInstanceOf(ZuoraRejectedError);
    expect((error as ZuoraRejectedError).zuoraCode).toBe('90002');
    expect((error as Error).message).toMatch(/HTTP 404.*Invalid Job Id/);
    expect(zuora.calls('/v1/')).toHaveLength(1);
  });

  it('stops waiting when the run-wide signal aborts', async () => {
    const controller = new AbortController();
    const { client } = await setup(
      { [JOB]: (_q, res) => json(res, 503, {}, { 'retry-after': '30' }) },
      { signal: controller.signal, retry: { attempts: 3, maxDelayMs: 60_000 } },
    );
    setTimeout(() => controller.abort(), 100);
    expect(await caught(client.getJob('j1'))).toBeInstanceOf(InterruptedError);
  });
});

describe('submitJob', () => {
  it('posts the request with an Idempotency-Key, the same on a retried submit', async () => {
    const { zuora, client } = await setup({
      'POST /v1/batch-query/': (_q, res, n) => (n === 1 ? json(res, 503, {}) : json(res, 200, jobBody('j1', 'Submitted', [{ status: 'pending' }]))),
    });
    const job = await client.submitJob(request, 'key-123');
    expect(job).toMatchObject({ id: 'j1', status: 'submitted' });
    const submits = zuora.calls('/v1/batch-query/');
    expect(submits).toHaveLength(2);
    for (const s of submits) {
      expect(s.headers['idempotency-key']).toBe('key-123');
      expect(s.headers['content-type']).toBe('application/json');
      expect(JSON.parse(s.body)).toEqual(request);
    }
  });

  it.each([
    ['90005', 'There is a syntax error in one of the queries in the AQuA input', /object and field names in pipelines\.yaml/, false],
    ['90017', 'Objects included in the queries do not support the querying of deleted records.', /deletes: ignore/, false],
    ['90019', 'Partner ID is not recognized.', /partner id/, false],
    ['90028', 'The total number of concurrent jobs has exceeded the limit allowed by the system.', /concurrent/, true],
  ])('an HTTP-200 rejection %s becomes ZuoraRejectedError', async (code, message, hint, retryable) => {
    const { zuora, client } = await setup({
      'POST /v1/batch-query/': (_q, res) =>
        json(res, 200, { errorCode: code, message, status: 'error', name: request.name, batches: [{ name: 'Account', status: 'pending' }] }),
    });
    const error = await caught(client.submitJob(request, 'k'));
    expect(error).toBeInstanceOf(ZuoraRejectedError);
    const rejected = error as ZuoraRejectedError;
    expect(rejected.zuoraCode).toBe(code);
    expect(rejected.message).toBe(`Zuora rejected AQuA job "aquasync-billing" (errorCode ${code}): ${message}`);
    expect(rejected.hint).toMatch(hint);
    expect(rejected.retryable).toBe(retryable);
    expect(rejected.context).toMatchObject({ operation: 'submit job', jobName: 'aquasync-billing' });
    expect(zuora.calls('/v1/')).toHaveLength(1);
  });

  it('a malformed-request body on HTTP 400 is a rejection with its code', async () => {
    const { client } = await setup({
      'POST /v1/batch-query/': (_q, res) =>
        json(res, 400, { success: false, code: 50000090, message: 'Oops, request is malformed. Please check your request.' }),
    });
    const error = (await caught(client.submitJob(request, 'k'))) as ZuoraRejectedError;
    expect(error).toBeInstanceOf(ZuoraRejectedError);
    expect(error.zuoraCode).toBe('50000090');
    expect(error.message).toMatch(/malformed/);
  });

  it('an answer without an id is a rejection even without an errorCode', async () => {
    const { client } = await setup({ 'POST /v1/batch-query/': (_q, res) => json(res, 200, { status: 'submitted' }) });
    expect(await caught(client.submitJob(request, 'k'))).toBeInstanceOf(ZuoraRejectedError);
  });
});

describe('waitForJob', () => {
  it('polls through submitted and executing to completed', async () => {
    const statuses = ['submitted', 'executing', 'executing', 'completed'];
    const { client } = await setup({
      [JOB]: (_q, res, n) => json(res, 200, jobBody('j1', statuses[n - 1] ?? 'completed', [{ fileId: 'f1' }])),
    });
    const seen: string[] = [];
    const job = await client.waitForJob('j1', { timeoutMs: 10_000, onStatus: (j) => seen.push(j.status) });
    expect(seen).toEqual(statuses);
    expect(job.batches[0]?.fileId).toBe('f1');
  });

  it('an aborted job fails with the batch messages', async () => {
    const { client } = await setup({
      [JOB]: (_q, res) =>
        json(
          res,
          200,
          jobBody('j1', 'aborted', [
            { name: 'Account', status: 'aborted', message: 'java.lang.RuntimeException: You must specify a select.' },
          ]),
        ),
    });
    const error = (await caught(client.waitForJob('j1', { timeoutMs: 10_000 }))) as ZuoraJobFailedError;
    expect(error).toBeInstanceOf(ZuoraJobFailedError);
    expect(error.status).toBe('aborted');
    expect(error.message).toContain('batch Account: java.lang.RuntimeException: You must specify a select.');
    expect(error.context).toMatchObject({ jobId: 'j1', operation: 'wait for job' });
  });

  it.each(['failed', 'cancelled', 'error'])('status %s is terminal', async (status) => {
    const { zuora, client } = await setup({ [JOB]: (_q, res) => json(res, 200, { ...jobBody('j1', status), errorCode: '90029' }) });
    const error = (await caught(client.waitForJob('j1', { timeoutMs: 10_000 }))) as ZuoraJobFailedError;
    expect(error).toBeInstanceOf(ZuoraJobFailedError);
    expect(error.status).toBe(status);
    expect(error.message).toMatch(new RegExp(`ended "${status}": errorCode 90029`));
    expect(zuora.calls('/v1/')).toHaveLength(1);
  });

  it('times out while the job keeps executing', async () => {
    const { client } = await setup({ [JOB]: (_q, res) => json(res, 200, jobBody('j1', 'executing')) });
    const error = await caught(client.waitForJob('j1', { timeoutMs: 150 }));
    expect(error).toBeInstanceOf(ZuoraJobTimeoutError);
    expect((error as Error).message).toMatch(/still "executing"/);
  });

  it('refreshes the token during a long poll', async () => {
    const { zuora, client } = await setup(
      {
        'POST /oauth/token': tokenRoute(1),
        [JOB]: (_q, res, n) => json(res, 200, jobBody('j1', n < 8 ? 'executing' : 'completed')),
      },
      { poll: { minIntervalMs: 200, maxIntervalMs: 200 } },
    );
    await client.waitForJob('j1', { timeoutMs: 10_000 });
    const tokens = new Set(zuora.calls('/v1/').map((c) => c.headers.authorization));
    expect(tokens.size).toBeGreaterThanOrEqual(2);
    expect(zuora.calls('/oauth/token').length).toBe(tokens.size);
  });
});

describe('lastCompletedJob and cancelJob', () => {
  const LAST = 'GET /v1/batch-query/jobs/partner/p%201/project/q';
  it('returns the job', async () => {
    const { client } = await setup({ [LAST]: (_q, res) => json(res, 200, completed) });
    expect((await client.lastCompletedJob('p 1', 'q'))?.id).toBe('j1');
  });
  it.each<[string, (res: ServerResponse) => void]>([
    ['404', (res) => json(res, 404, {})],
    ['an error body', (res) => json(res, 200, { errorCode: '90002', message: 'Invalid Job Id.' })],
  ])('returns undefined on %s', async (_name, answer) => {
    const { client } = await setup({ [LAST]: (_q, res) => answer(res) });
    expect(await client.lastCompletedJob('p 1', 'q')).toBeUndefined();
  });
  it('cancels with DELETE and reports a refusal', async () => {
    const { zuora, client } = await setup({
      'DELETE /v1/batch-query/jobs/j1': (_q, res) => json(res, 200, jobBody('j1', 'cancelled')),
      'DELETE /v1/batch-query/jobs/j2': (_q, res) => json(res, 200, { errorCode: '90003', message: 'Invalid Job Id for job cancellation.' }),
    });
    await client.cancelJob('j1');
    expect(zuora.calls('/v1/')).toHaveLength(1);
    const error = (await caught(client.cancelJob('j2'))) as ZuoraRejectedError;
    expect(error.zuoraCode).toBe('90003');
  });
});

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

describe('openFile', () => {
  const FILE = 'GET /v1/files/f1';
  it('streams the body with its type and length', async () => {
    const { zuora, client } = await setup({
      [FILE]: (_q, res) => {
        res.writeHead(200, { 'content-type': 'text/csv;charset=UTF-8', 'content-length': '13' });
        res.end('Account.Id\na\n');
      },
    });
    const file = await client.openFile('f1');
    expect(file.contentType).toBe('text/csv;charset=UTF-8');
    expect(file.contentLength).toBe(13);
    expect(await readAll(file.body)).toBe('Account.Id\na\n');
    expect(zuora.calls('/v1/files/f1')[0]?.headers.authorization).toBe('Bearer tok-1');
  });

  it('retries transient statuses before the body starts', async () => {
    const { client } = await setup({
      [FILE]: (_q, res, n) => (n === 1 ? json(res, 503, {}) : send(res, 200, 'text/csv', 'x\n')),
    });
    expect(await readAll((await client.openFile('f1')).body)).toBe('x\n');
  });

  it.each<[string, (res: ServerResponse) => void, (e: unknown) => void]>([
    ['404 -> expired', (res) => json(res, 404, {}), (e) => expect(e).toBeInstanceOf(ZuoraFileExpiredError)],
    [
      '403 max-object-size -> too large',
      (res) => send(res, 403, 'text/xml', '<security:max-object-size>2047MB</security:max-object-size>'),
      (e) => expect(e).toBeInstanceOf(ZuoraFileTooLargeError),
    ],
    [
      'other 403 -> permission',
      (res) => json(res, 403, { reasons: [{ code: 'Forbidden', message: 'no' }] }),
      (e) => {
        expect(e).toBeInstanceOf(ZuoraRejectedError);
        expect((e as ZuoraRejectedError).hint).toMatch(/Enable DataSource Exports Reporting/);
      },
    ],
  ])('%s', async (_name, answer, check) => {
    const { client } = await setup({ [FILE]: (_q, res) => answer(res) });
    const error = await caught(client.openFile('f1'));
    check(error);
    expect((error as ZuoraFileExpiredError).context).toMatchObject({ fileId: 'f1' });
  });

  it('a connection reset mid-body reaches the consumer as a retryable transient error', async () => {
    const { client } = await setup({
      [FILE]: (_q, res) => {
        res.writeHead(200, { 'content-type': 'text/csv', 'content-length': '100000' });
        res.write('Account.Id\n'.repeat(100));
        setTimeout(() => res.socket?.destroy(), 50);
      },
    });
    const file = await client.openFile('f1');
    const error = await caught(readAll(file.body));
    expect(error).toBeInstanceOf(ZuoraTransientError);
    expect((error as ZuoraTransientError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/download of result file f1 broke off/);
  });

  it('a body that stalls is aborted after requestTimeoutMs', async () => {
    const { client } = await setup(
      {
        [FILE]: (_q, res) => {
          res.writeHead(200, { 'content-type': 'text/csv' });
          res.write('Account.Id\n');
        },
      },
      { requestTimeoutMs: 200 },
    );
    const error = await caught(readAll((await client.openFile('f1')).body));
    expect(error).toBeInstanceOf(ZuoraTransientError);
    expect((error as Error).message).toMatch(/no data for 200 ms/);
  });
});

const DESCRIBE_XML = `<?xml version="1.0" encoding="UTF-8"?>
<object>
  <name>Account</name>
  <label>Customer &amp; Account</label>
  <fields>
    <field>
      <name>Id</name><label>Account ID</label><type>text</type>
      <contexts><context>export</context><context>soap</context></contexts>
    </field>
    <field>
      <name>Balance</name><label>Balance &lt;USD&gt;</label><type>decimal</type>
      <contexts><context>export</context></contexts>
    </field>
    <field><name>Secret__c</name><label>S</label><type>text</type><contexts/></field>
  </fields>
  <related-objects>
    <object href="https://rest.zuora.com/v1/describe/Contact"><name>BillToContact</name><label>Bill To</label></object>
    <object href="https://rest.zuora.com/v1/describe/Contact"><name>SoldToContact</name><label>Sold To</label></object>
  </related-objects>
</object>`;

describe('describe', () => {
  it('parses fields, contexts and related objects', async () => {
    const { client } = await setup({
      'GET /v1/describe/Account': (_q, res) => send(res, 200, 'text/xml', DESCRIBE_XML),
    });
    expect(await client.describe('Account')).toEqual({
      name: 'Account',
      fields: [
        { name: 'Id', label: 'Account ID', type: 'text', contexts: ['export', 'soap'] },
        { name: 'Balance', label: 'Balance <USD>', type: 'decimal', contexts: ['export'] },
        { name: 'Secret__c', label: 'S', type: 'text', contexts: [] },
      ],
      relatedObjects: ['BillToContact', 'SoldToContact'],
    });
  });

  it.each<[string, (res: ServerResponse) => void]>([
    ['404', (res) => json(res, 404, {})],
    ['an error body', (res) => json(res, 200, { success: false, reasons: [{ code: 50000040, message: 'Cannot find entity by key' }] })],
  ])('an unknown object (%s) is a rejection naming it', async (_name, answer) => {
    const { client } = await setup({ 'GET /v1/describe/Acount': (_q, res) => answer(res) });
    const error = (await caught(client.describe('Acount'))) as ZuoraRejectedError;
    expect(error).toBeInstanceOf(ZuoraRejectedError);
    expect(error.message).toMatch(/Zuora does not know the object "Acount"/);
    expect(error.hint).toMatch(/object name in pipelines\.yaml/);
  });
});
