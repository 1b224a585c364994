// Every statement the loader runs against the warehouse, as functions returning SQL text (pg-boss plans.ts
// style), so a reader finds all warehouse SQL in one folder. Identifiers are always quoted with quoteIdent, the few
// literals with quoteLiteral/timestampLiteral; types are vetted (vetType) before they are spliced in.
export * from './names.ts';
export * from './stage.ts';
export * from './ddl.ts';
export * from './merge.ts';
export * from './quarantine.ts';
export * from './reconcile.ts';
export * from './first-load.ts';
export * from './typed-stage.ts';
