// Closing the emulator's result file cache while renders still write to it: the close waits for them to let go of
// the folder, then removes it (a write stream opening its file as the folder was removed failed the close).
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { FileCache } from '../../src/emulator/file-cache.ts';

/** A render that never ends on its own: a chunk every few milliseconds. */
function endless(): Readable {
  let timer: NodeJS.Timeout | undefined;
  return new Readable({
    read() {
      timer = setTimeout(() => this.push(Buffer.alloc(4096, 120)), 2);
    },
    destroy(error, callback) {
      clearTimeout(timer);
      callback(error);
    },
  });
}

describe('FileCache.close', () => {
  it('with downloads and fills in flight, at every moment: resolves, and the folder is gone', async () => {
    for (let round = 0; round < 60; round++) {
      const cache = new FileCache();
      await cache.fill('done', Readable.from([Buffer.from('cached')]));
      const cached = cache.read('done') as Readable & { path: string };
      expect(await text(cached)).toBe('cached');
      const folder = dirname(cached.path);
      const served = cache.tee(`served-${round}`, endless());
      served.resume();
      const filling = cache.fill(`ahead-${round}`, endless());
      if (round % 3 === 1) await new Promise((resolve) => setImmediate(resolve));
      if (round % 3 === 2) await new Promise((resolve) => setTimeout(resolve, 10));
      await cache.close();
      await filling;
      expect(existsSync(folder), `round ${round}`).toBe(false);
      served.destroy();
    }
  }, 60_000);
});
