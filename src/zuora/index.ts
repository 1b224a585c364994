// The Zuora stage: the AQuA HTTP client and the wire types it speaks.
export { ZuoraClient, type ApiReply, type ApiRequest, type OpenedFile, type WaitForJobOptions, type ZuoraClientOptions } from './client.ts';
export * from './types.ts';
export {
  DATA_QUERY_LIMITS,
  DataQueryClient,
  dataQueryErrorText,
  normalizeDataQueryJob,
  sqlString,
  sqlTimestamp,
  type DataQueryClientOptions,
  type DataQuerySubmitOptions,
  type DataQueryJob,
  type DataQueryRow,
  type DataQueryStatus,
} from './data-query.ts';
export { describeNetworkError, type NetworkErrorInfo, type NetworkErrorKind } from './network-error.ts';
export { lookUpSession, type SessionLookup } from './session-lookup.ts';
