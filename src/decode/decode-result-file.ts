// Result file bytes -> CSV bytes. Errors of the download itself (network, Zuora) pass through untouched so they stay
// retryable; only faults of the file's own content become DataError.

import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { DataError } from '../errors.ts';
import type { AquaFormat } from '../zuora/types.ts';

export interface DecodeContext {
  fileId: string;
  /** Zuora object of the batch, for messages. */
  object: string;
  /** Where zip files are spooled while they are read (a zip's directory is at its end). */
  tempDir: string;
}

const REDOWNLOAD_HINT = 'the file will be downloaded again on the next run';

function where(ctx: DecodeContext): string {
  return `result file ${ctx.fileId} (${ctx.object})`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Returns the decompressed CSV bytes of a result file. */
export async function decodeResultFile(body: Readable, format: AquaFormat, ctx: DecodeContext): Promise<Readable> {
  switch (format) {
    case 'csv':
      return body;
    case 'gzip':
      return gunzip(body, ctx);
    case 'zip':
      return unzipSingleEntry(body, ctx);
  }
}

function gunzip(body: Readable, ctx: DecodeContext): Readable {
  const inflate = createGunzip();
  const out = new PassThrough();
  // Wired by hand rather than with pipeline(): pipeline would hand `out` the raw error of whichever stage failed,
  // and the two kinds of failure must stay apart (download fault: retryable; zlib fault: DataError).
  body.once('error', (error) => out.destroy(error));
  inflate.once('error', (error) =>
    out.destroy(
      new DataError(`${where(ctx)}: gzip data is truncated or corrupt: ${error.message}`, {
        hint: REDOWNLOAD_HINT,
        context: { fileId: ctx.fileId, object: ctx.object },
        cause: error,
      }),
    ),
  );
  out.once('close', () => {
    if (!body.destroyed) body.destroy();
    if (!inflate.destroyed) inflate.destroy();
  });
  body.pipe(inflate).pipe(out);
  return out;
}

async function unzipSingleEntry(body: Readable, ctx: DecodeContext): Promise<Readable> {
  await mkdir(ctx.tempDir, { recursive: true });
  const path = join(ctx.tempDir, `${ctx.fileId.replace(/[^\w.-]/g, '_')}-${randomUUID()}.zip`);
  const removeTemp = (): Promise<void> => rm(path, { force: true });
  const corrupt = (error: unknown): DataError =>
    new DataError(`${where(ctx)}: zip data is truncated or corrupt: ${message(error)}`, {
      hint: REDOWNLOAD_HINT,
      context: { fileId: ctx.fileId, object: ctx.object },
      cause: error,
    });

  let zip: ZipFile | undefined;
  try {
    // A download error rejects here with its own (retryable) error.
    await pipeline(body, createWriteStream(path));
    try {
      zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false });
    } catch (error) {
      throw corrupt(error);
    }
    if (zip.entryCount !== 1) {
      throw new DataError(`${where(ctx)}: expected exactly one CSV file inside the zip, found ${zip.entryCount}`, {
        hint: 'AQuA writes one file per batch; report the job to Zuora support if this persists',
        context: { fileId: ctx.fileId, object: ctx.object, entries: zip.entryCount },
      });
    }
    const entry = await firstEntry(zip).catch((error: unknown) => Promise.reject(corrupt(error)));
    const stream = await zip.openReadStreamPromise(entry).catch((error: unknown) => Promise.reject(corrupt(error)));
    return cleanupOnClose(stream, zip, removeTemp, corrupt);
  } catch (error) {
    zip?.close();
    await removeTemp();
    throw error;
  }
}

function firstEntry(zip: ZipFile): Promise<Entry> {
  return new Promise((resolve, reject) => {
    zip.once('entry', resolve);
    zip.once('error', reject);
    zip.once('end', () => reject(new Error('the zip directory lists no entry')));
    zip.readEntry();
  });
}

function cleanupOnClose(
  stream: Readable,
  zip: ZipFile,
  removeTemp: () => Promise<void>,
  corrupt: (error: unknown) => DataError,
): Readable {
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    if (!cleaned) {
      zip.close();
      cleaned = removeTemp();
    }
    return cleaned;
  };
  // The temp file is gone before 'end' is emitted, so a consumer that finished leaves nothing behind.
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, chunk);
    },
    flush(callback) {
      cleanup().then(() => callback(), callback);
    },
  });
  stream.once('error', (error) => out.destroy(corrupt(error)));
  out.once('close', () => {
    if (!stream.destroyed) stream.destroy();
    // Nothing useful to do if this late delete fails: the temp dir is ours and is cleared by the next run anyway.
    cleanup().catch(() => undefined);
  });
  stream.pipe(out);
  return out;
}
