// The decode stage: result file bytes (csv / gzip / zip) -> CSV bytes and their header row.
export { decodeResultFile, type DecodeContext } from './decode-result-file.ts';
export { probeHeader, readCsvHeader, type CsvHeaderContext } from './csv-header.ts';
export { CsvSanitizer, sanitizeBytes, type SanitizeReport } from './sanitize.ts';
