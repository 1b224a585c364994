// The submit body as AQuA accepts it (POST /v1/batch-query/): anything of the wrong shape is Malformed. Checks
// that depend on the tenant (partners, sessions, the schema) come later, in submit.ts.
import { Malformed } from './errors.ts';
import type { AquaFormat, DeletedSpec } from './types.ts';

export interface QueryRequest {
  name: string;
  query: string;
  type: 'zoql' | 'zoqlexport';
  apiVersion: string;
  deleted: DeletedSpec | undefined;
}

export interface JobRequest {
  format: AquaFormat;
  /** As written (`1.1`), echoed back in the job. */
  versionText: string;
  version: number;
  name: string;
  partner: string | null;
  project: string | null;
  encrypted: string;
  useQueryLabels: boolean | undefined;
  dateTimeUtc: boolean | undefined;
  nullReplacement: string | undefined;
  offset: number;
  notifyUrl: string | undefined;
  queries: QueryRequest[];
  /** Validated later: a bad one is error 90015, not a malformed request. */
  incrementalTime: unknown;
}

export function parseJobRequest(rawBody: unknown): JobRequest {
  if (typeof rawBody !== 'object' || rawBody === null || Array.isArray(rawBody)) throw new Malformed();
  const body = rawBody as Record<string, unknown>;
  const format = body.format === undefined ? 'csv' : typeof body.format === 'string' ? body.format.toLowerCase() : '';
  if (format !== 'csv' && format !== 'zip' && format !== 'gzip') throw new Malformed();
  const versionText = body.version === undefined ? '1.0' : String(body.version as string | number);
  const version = Number(versionText);
  if (!Number.isFinite(version)) throw new Malformed();
  const name = optionalString(body.name) ?? '';
  const partner = optionalString(body.partner);
  const project = optionalString(body.project);
  const encrypted = optionalString(body.encrypted) ?? 'none';
  const useQueryLabels = strictBool(body.useQueryLabels);
  const dateTimeUtc = strictBool(body.dateTimeUtc);
  const nullReplacement = body.nullReplacement === undefined || body.nullReplacement === null ? undefined : body.nullReplacement;
  if (nullReplacement !== undefined && typeof nullReplacement !== 'string') throw new Malformed();
  const offset = parseOffset(body.offset);
  const notifyUrl = optionalString(body.notifyUrl) ?? undefined;
  if (body.queries !== undefined && body.queries !== null && !Array.isArray(body.queries)) throw new Malformed();
  const queries = ((body.queries as unknown[] | undefined) ?? []).map(parseQueryItem);
  return {
    format,
    versionText,
    version,
    name,
    partner,
    project,
    encrypted,
    useQueryLabels,
    dateTimeUtc,
    nullReplacement,
    offset,
    notifyUrl,
    queries,
    incrementalTime: body.incrementalTime,
  };
}

/** A string field: null when absent or empty, Malformed when not a string. */
function optionalString(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new Malformed();
  return v;
}

function asBool(v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/** A boolean flag (true, false, "true", "false"): undefined when absent, Malformed when anything else. */
function strictBool(v: unknown): boolean | undefined {
  const parsed = asBool(v);
  if (v !== undefined && parsed === undefined) throw new Malformed();
  return parsed;
}

/** Seconds the window end moves back (docs/aqua.md#window): 0 to 3600. */
function parseOffset(v: unknown): number {
  if (v === undefined || v === null) return 0;
  const offset = Number(v);
  if (!Number.isInteger(offset) || offset < 0 || offset > 3600) throw new Malformed();
  return offset;
}

function parseQueryItem(raw: unknown): QueryRequest {
  if (typeof raw !== 'object' || raw === null) throw new Malformed();
  const q = raw as Record<string, unknown>;
  if (typeof q.query !== 'string' || (q.name !== undefined && typeof q.name !== 'string')) throw new Malformed();
  const type = typeof q.type === 'string' ? q.type.toLowerCase() : undefined;
  if (type !== 'zoql' && type !== 'zoqlexport') throw new Malformed();
  let apiVersion = '91.0';
  if (typeof q.apiVersion === 'string' || typeof q.apiVersion === 'number') apiVersion = String(q.apiVersion);
  const deleted = q.deleted === undefined || q.deleted === null ? undefined : parseDeleted(q.deleted);
  return { name: (q.name as string | undefined) ?? '', query: q.query, type, apiVersion, deleted };
}

function parseDeleted(raw: unknown): DeletedSpec {
  const d = raw as Record<string, unknown>;
  if (typeof d !== 'object' || typeof d.column !== 'string' || d.column === '') throw new Malformed();
  // Capitalisation matters at Zuora: "Boolean", not "boolean".
  if (d.format !== 'Boolean' && d.format !== 'Numeric') throw new Malformed();
  const forceExport = strictBool(d.forceExport);
  return { column: d.column, format: d.format, ...(forceExport === undefined ? {} : { forceExport }) };
}
