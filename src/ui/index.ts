// src/ui: the read-only status page (HTML, assets, JSON API) that `aquasync schedule --port` and `aquasync ui`
// serve. Reads the state schema and the warehouse's row counts; writes nothing.
export { StatusApi, type StatusApiOptions } from './api.ts';
export { createStatusPage, CONTENT_SECURITY_POLICY, type StatusPage } from './handler.ts';
export { startUiServer, DEFAULT_UI_HOST, type UiServer } from './server.ts';
export { freshness, graceMs, type Freshness, type FreshnessState } from './freshness.ts';
export { firingsOf, type Firings } from './cron.ts';
export type * from './types.ts';
