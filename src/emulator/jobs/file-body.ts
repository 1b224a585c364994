// One result file as a download (docs/aqua.md#files): its CSV rendered from the batch's rows, then encoded in the
// job's format (csv, gzip or zip) with the content type and file name Zuora sends.
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import yazl from 'yazl';
import { renderCsv } from '../csv.ts';
import type { CompiledQuery } from '../model.ts';
import type { AquaBatch, AquaJob, ResultRow } from './types.ts';

/** A file ready to send; `render` streams it from the job's snapshot (nothing kept in memory). */
export interface RenderableFile {
  contentType: string;
  filename: string;
  render: () => Readable;
}

export interface FileSource {
  job: AquaJob;
  batch: AquaBatch;
  /** Segment index, undefined for an unsegmented batch. */
  segment: number | undefined;
  compiled: () => CompiledQuery;
  /** The file's rows (called once per render). */
  rows: () => Iterable<ResultRow>;
  tenantZone: string;
  /** The zip entry's mtime when the job has not finished (it always has by the time files exist). */
  now: () => number;
}

export function renderableFile(source: FileSource): RenderableFile {
  const { job, batch, segment } = source;
  const base = batch.name === '' ? job.id : batch.name;
  const suffix = segment === undefined ? '' : `_${segment + 1}`;
  const csv = (): Readable => csvStream(source);
  if (job.format === 'gzip') {
    return { contentType: 'application/x-gzip;charset=UTF-8', filename: `${base}${suffix}.csv.gz`, render: () => csv().pipe(createGzip()) };
  }
  if (job.format === 'zip') {
    const render = (): Readable => {
      const zip = new yazl.ZipFile();
      zip.addReadStream(csv(), `${base}.csv`, { mtime: new Date(job.finishedAt ?? source.now()) });
      zip.end();
      return Readable.from(zip.outputStream);
    };
    return { contentType: 'application/zip;charset=UTF-8', filename: `${base}${suffix}.zip`, render };
  }
  return { contentType: 'text/csv;charset=UTF-8', filename: `${base}${suffix}.csv`, render: csv };
}

function csvStream(source: FileSource): Readable {
  const { job, batch } = source;
  const compiled = source.compiled();
  const selected = source.rows();
  return renderCsv(
    selected,
    compiled.columns,
    {
      useQueryLabels: job.useQueryLabels,
      dateTimeUtc: job.dateTimeUtc,
      nullReplacement: job.nullReplacement,
      deleted: batch.deleted === undefined ? undefined : { column: batch.deleted.column, format: batch.deleted.format },
      tenantZone: source.tenantZone,
    },
    compiled.baseObject,
  );
}

/** Rows [from, to) of `rows`: one segment of a segmented batch. */
export function* sliceRows<T>(rows: Iterable<T>, from: number, to: number): Iterable<T> {
  let i = 0;
  for (const row of rows) {
    if (i >= to) return;
    if (i >= from) yield row;
    i++;
  }
}
