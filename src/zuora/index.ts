// The Zuora stage: the AQuA HTTP client and the wire types it speaks.
export { ZuoraClient, type OpenedFile, type WaitForJobOptions, type ZuoraClientOptions } from './client.ts';
export * from './types.ts';
