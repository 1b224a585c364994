// Rendered result files kept on disk, as Zuora keeps pre-rendered files: a file is rendered once (while its first
// download streams, or ahead of time when the emulator is asked to) and later downloads read the cached bytes.
// Rendering and reading are streamed, so memory stays flat whatever the file size. The directory is the cache's
// own temp dir, removed on close.
import { createReadStream, createWriteStream, mkdtempSync, renameSync, unlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class FileCache {
  private dir: string | undefined;
  private readonly ready = new Map<string, string>();
  /** Files being written; a second download meanwhile renders live instead of waiting. */
  private readonly writing = new Map<string, Promise<void>>();
  private closed = false;
  private serial = 0;
  /** Aborts every write to the cache on close, so none adds a file while the folder is removed. */
  private readonly closing = new AbortController();
  private readonly filling = new Set<Promise<void>>();

  /** A stream of the cached bytes, or undefined when the file is not (yet) cached. */
  read(id: string): Readable | undefined {
    const path = this.ready.get(id);
    return path === undefined ? undefined : createReadStream(path, { highWaterMark: 256 * 1024 });
  }

  has(id: string): boolean {
    return this.ready.has(id);
  }

  /**
   * Serves `render()` to the caller while writing the same bytes to the cache. The cache entry only appears once
   * the whole file was rendered; a client that disconnects early does not stop the cache copy.
   */
  tee(id: string, rendered: Readable): Readable {
    if (this.closed || this.writing.has(id)) return rendered;
    const toClient = new PassThrough();
    const tmp = this.tempPath(id);
    const toDisk = createWriteStream(tmp);
    let failed = false;
    const fail = (): void => {
      if (failed) return;
      failed = true;
      rendered.unpipe(toDisk);
      toDisk.destroy();
      removeQuietly(tmp);
    };
    toDisk.on('error', fail);
    this.closing.signal.addEventListener('abort', fail, { once: true });
    rendered.on('error', (error) => {
      fail();
      toClient.destroy(error);
    });
    const done = new Promise<void>((resolve) => {
      toDisk.once('close', () => {
        this.closing.signal.removeEventListener('abort', fail);
        this.writing.delete(id);
        if (!failed && toDisk.writableFinished) this.commit(id, tmp);
        resolve();
      });
    });
    this.writing.set(id, done);
    rendered.pipe(toDisk);
    rendered.pipe(toClient);
    return toClient;
  }

  /** Renders the file into the cache without serving it (ahead of the first download). */
  async fill(id: string, rendered: Readable): Promise<void> {
    if (this.closed || this.ready.has(id)) {
      rendered.destroy();
      return;
    }
    const tmp = this.tempPath(id);
    const written = pipeline(rendered, createWriteStream(tmp), { signal: this.closing.signal });
    const settled = written.then(
      () => undefined,
      () => undefined,
    );
    this.filling.add(settled);
    try {
      await written;
    } catch (error) {
      removeQuietly(tmp);
      if (this.closed) return;
      throw error;
    } finally {
      this.filling.delete(settled);
    }
    this.commit(id, tmp);
  }

  delete(id: string): void {
    const path = this.ready.get(id);
    if (path === undefined) return;
    this.ready.delete(id);
    removeQuietly(path);
  }

  /**
   * Stops every write in flight and removes the folder once they have let go of it: a write stream opens its file
   * asynchronously, so one still opening while the folder was removed made the removal fail (ENOTEMPTY, seen in CI).
   */
  async close(): Promise<void> {
    this.closed = true;
    this.ready.clear();
    this.closing.abort();
    await Promise.all([...this.writing.values(), ...this.filling]);
    const dir = this.dir;
    this.dir = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }

  private commit(id: string, tmp: string): void {
    if (this.closed) {
      removeQuietly(tmp);
      return;
    }
    const path = join(this.directory(), `${encodeURIComponent(id)}.bin`);
    renameSync(tmp, path);
    this.ready.set(id, path);
  }

  private tempPath(id: string): string {
    this.serial += 1;
    return join(this.directory(), `${encodeURIComponent(id)}.${this.serial}.tmp`);
  }

  private directory(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'aquasync-emulator-files-'));
    return this.dir;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone (the directory was removed on close): nothing to clean up.
  }
}
