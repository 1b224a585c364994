// How AQuA says no: the malformed-request body, numbered errors (HTTP 200 with status "error"), and the two
// exceptions submit validation throws to reach them.

export const MALFORMED = {
  success: false,
  code: 50000090,
  message: 'Oops, request is malformed. Please check your request.',
} as const;

const ERROR_MESSAGES: Record<string, string> = {
  '90002': 'Invalid Job Id.',
  '90003': 'Invalid Job Id for job cancellation.',
  '90004': 'Invalid number of queries allowed. A maximum of 50 queries are supported in an AQuA request.',
  '90005': 'There is a syntax error in one of the queries in the AQuA input.',
  '90012': 'Stateless AQuA does not support deleted columns.',
  '90014': 'notifyURL must be less than 5000 characters in length.',
  '90015': 'The incremental timestamp is invalid.',
  '90016': 'There are no queries included in the AQuA version 1.0 request.',
  '90017':
    'Objects included in the queries do not support the querying of deleted records. Remove "Deleted" section in the JSON request and retry the request.',
  '90019': 'Partner ID is not recognized. (Submit a request at Zuora Global Support to obtain a partner ID.)',
  '90028': 'The total number of concurrent jobs has exceeded the limit allowed by the system.',
  '90029': 'The job was marked as Error as it exceeded maximum time limit in Processing status.',
};

export function errorMessage(code: string): string {
  return ERROR_MESSAGES[code] ?? 'Internal Server Error.';
}

/** The request does not have AQuA's shape: answered with MALFORMED. */
export class Malformed extends Error {}

/** The request is well formed but refused with an AQuA error code. */
export class Rejected extends Error {
  constructor(
    readonly errorCode: string,
    message?: string,
  ) {
    super(message ?? errorMessage(errorCode));
  }
}

/** A numbered error without a job (unknown id, nothing to cancel). */
export function plainError(code: string): Record<string, unknown> {
  return { errorCode: code, message: errorMessage(code), status: 'error' };
}

/** A rejected submit: the error plus the request's own fields and queries echoed back as pending batches. */
export function submitErrorBody(rawBody: unknown, errorCode: string, message: string): Record<string, unknown> {
  const body = typeof rawBody === 'object' && rawBody !== null ? (rawBody as Record<string, unknown>) : {};
  const queries = Array.isArray(body.queries) ? (body.queries as unknown[]) : [];
  return {
    errorCode,
    message,
    status: 'error',
    name: typeof body.name === 'string' ? body.name : undefined,
    encrypted: 'none',
    useLastCompletedJobQueries: false,
    batches: queries.map((raw) => {
      const q = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      return {
        localizedStatus: 'pending',
        recordCount: 0,
        batchType: q.type,
        apiVersion: q.apiVersion ?? '91.0',
        full: true,
        status: 'pending',
        name: q.name,
        query: q.query,
      };
    }),
  };
}
