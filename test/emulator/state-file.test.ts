// The state file under concurrent writers: two commands that start the built-in emulator at once share one
// AQUASYNC_HOME, so two processes write the same state file; neither may fail for the other's temporary file.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const stateFile = fileURLToPath(new URL('../../src/emulator/state-file.ts', import.meta.url));

/** A process that writes the state file `times` times as fast as it can; resolves with its exit code and stderr. */
function writer(path: string, times: number): Promise<{ code: number | null; stderr: string }> {
  const script = `
    import { StateWriter } from ${JSON.stringify(stateFile)};
    const writer = new StateWriter(${JSON.stringify(path)}, { seed: 1, rows: 10, clientId: 'c', clientSecret: 's' });
    writer.ready(() => ({ generatedBefore: 0, clockDelta: 0, mutations: [], aqua: { sessions: {}, jobs: [], files: [] }, dataQuery: [] }));
    for (let i = 0; i < ${times}; i++) writer.persist();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('StateWriter', () => {
  it('two processes writing one state file at once both succeed, and the file is whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquasync-state-'));
    try {
      const path = join(dir, 'state.json');
      const results = await Promise.all([writer(path, 2000), writer(path, 2000)]);
      for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });
      expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ version: 1, seed: 1 });
      expect(readdirSync(dir)).toEqual(['state.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
