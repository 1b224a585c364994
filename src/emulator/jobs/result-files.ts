// Result files of completed batches (docs/aqua.md#files): one per batch, or one per segment of `segmentSize` rows
// for a segmented batch. A file is rendered from its job's snapshot, either ahead (as the job completes) or on its
// first download, and then served from the on-disk cache until it expires.
import type { Clock, ResolvedOptions } from '../context.ts';
import { hexId } from '../context.ts';
import { FileCache } from '../file-cache.ts';
import type { CompiledQuery, Snapshot } from '../model.ts';
import { renderableFile, sliceRows } from './file-body.ts';
import type { RenderableFile } from './file-body.ts';
import type { AquaBatch, AquaJob, FileBody, FileRecord, ResultRow, RowWindow } from './types.ts';

/** What the files need from the job side: jobs by id, each batch's compiled query and the job's snapshot. */
export interface BatchSource {
  job(id: string): AquaJob | undefined;
  compiled(job: AquaJob, index: number): CompiledQuery;
  snapshot(job: AquaJob): Snapshot;
}

export function rowOptions(b: AquaBatch): { window?: RowWindow; includeDeleted: boolean } {
  return b.window === undefined ? { includeDeleted: b.includeDeleted } : { window: b.window, includeDeleted: b.includeDeleted };
}

export class ResultFiles {
  private readonly files = new Map<string, FileRecord>();
  private readonly cache = new FileCache();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly clock: Clock,
    private readonly source: BatchSource,
  ) {}

  list(): FileRecord[] {
    return [...this.files.values()];
  }

  load(files: FileRecord[]): void {
    for (const f of files) this.files.set(f.id, f);
  }

  close(): Promise<void> {
    return this.cache.close();
  }

  /** Completes a batch without rendering: rows are counted now, files rendered on their first download. */
  completeBatch(job: AquaJob, index: number, now: number): void {
    const b = job.batches[index];
    if (b === undefined) return;
    const compiled = this.source.compiled(job, index);
    let count = 0;
    for (const _row of compiled.rows(this.source.snapshot(job), rowOptions(b))) count += 1;
    b.recordCount = count;
    b.status = 'completed';
    b.segmented = this.segmentedBatch(job, b, compiled);
    const fileCount = b.segmented ? Math.max(1, Math.ceil(count / this.options.segmentSize)) : 1;
    for (let s = 0; s < fileCount; s++) this.addFile(job, index, b.segmented ? s : undefined, now);
  }

  /**
   * Completes every batch in one pass over its rows: they are counted while they are rendered into the cache,
   * a new segment file starting every segmentSize rows (instead of one pass to count and one per segment).
   */
  async renderAhead(job: AquaJob, now: number): Promise<void> {
    for (const [index, b] of job.batches.entries()) await this.renderBatch(job, index, b, now);
  }

  private async renderBatch(job: AquaJob, index: number, b: AquaBatch, now: number): Promise<void> {
    const compiled = this.source.compiled(job, index);
    b.segmented = this.segmentedBatch(job, b, compiled);
    // A restart in the middle of rendering runs this again: forget the files of the first attempt.
    for (const id of b.fileIds) {
      this.files.delete(id);
      this.cache.delete(id);
    }
    b.fileIds = [];
    const iterator = compiled.rows(this.source.snapshot(job), rowOptions(b))[Symbol.iterator]();
    let next = iterator.next();
    const size = b.segmented ? this.options.segmentSize : Number.POSITIVE_INFINITY;
    let count = 0;
    function* segmentRows(): Generator<ResultRow> {
      for (let n = 0; n < size && next.done !== true; n++) {
        const row = next.value;
        next = iterator.next();
        count += 1;
        yield row;
      }
    }
    for (let s = 0; s === 0 || next.done !== true; s++) {
      const id = this.addFile(job, index, b.segmented ? s : undefined, now);
      const file = this.describe(id, segmentRows());
      if (file !== undefined) await this.cache.fill(id, file.render());
    }
    b.recordCount = count;
    b.status = 'completed';
  }

  /** Segments only for stateful full loads on a segmenting tenant, and never with functions or aliases. */
  private segmentedBatch(job: AquaJob, b: AquaBatch, compiled: CompiledQuery): boolean {
    return this.options.segmentation && job.mode === 'stateful' && b.full && !compiled.usesFunctions && !compiled.usesAliases;
  }

  private addFile(job: AquaJob, batchIndex: number, segment: number | undefined, now: number): string {
    const file: FileRecord = { id: hexId(), jobId: job.id, batchIndex, segment, createdAt: now, expired: false };
    this.files.set(file.id, file);
    job.batches[batchIndex]?.fileIds.push(file.id);
    return file.id;
  }

  expireAll(): void {
    for (const f of this.files.values()) {
      f.expired = true;
      this.cache.delete(f.id);
    }
  }

  status(id: string): 'ok' | 'gone' {
    const f = this.files.get(id);
    return f === undefined || this.isExpired(f) ? 'gone' : 'ok';
  }

  private isExpired(f: FileRecord): boolean {
    return f.expired || this.clock.now() - f.createdAt >= this.options.fileRetentionMs;
  }

  /** Serves the file from the on-disk cache, rendering it from the job's snapshot on the first download. */
  open(id: string): FileBody | undefined {
    const file = this.describe(id);
    if (file === undefined) {
      this.cache.delete(id);
      return undefined;
    }
    const stream = this.cache.read(id) ?? this.cache.tee(id, file.render());
    return { contentType: file.contentType, filename: file.filename, stream };
  }

  /** What a download of the file sends: `given` rows when rendering ahead, else the file's rows of the snapshot. */
  private describe(id: string, given?: Iterable<ResultRow>): RenderableFile | undefined {
    const f = this.files.get(id);
    if (f === undefined || this.isExpired(f)) return undefined;
    const job = this.source.job(f.jobId);
    const batch = job?.batches[f.batchIndex];
    if (job === undefined || batch === undefined) return undefined;
    const compiled = (): CompiledQuery => this.source.compiled(job, f.batchIndex);
    const rows = (): Iterable<ResultRow> => {
      if (given !== undefined) return given;
      const all = compiled().rows(this.source.snapshot(job), rowOptions(batch));
      const size = this.options.segmentSize;
      return f.segment === undefined ? all : sliceRows(all, f.segment * size, (f.segment + 1) * size);
    };
    const now = (): number => this.clock.now();
    return renderableFile({ job, batch, segment: f.segment, compiled, rows, tenantZone: this.options.tenantZone, now });
  }
}
