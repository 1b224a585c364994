// The emulator's data side in one import for the HTTP side: schema, tenant, Export ZOQL, CSV and describe XML.

export { OBJECTS, PICKLISTS, relationLabel } from './schema.ts';
export { createTenant, NASTY_DECIMALS, NASTY_EMPTY_INDEX, NASTY_PERIOD, NASTY_TEXTS } from './tenant.ts';
export { compileQuery, DELETED_RETENTION_MS } from './zoql.ts';
export { csvField, csvHeader, formatDateTime, renderCsv } from './csv.ts';
export { describeIndexXml, describeXml, escapeXml } from './describe.ts';
