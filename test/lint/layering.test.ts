// The import rules of eslint.config.js on deliberate violations: a circle back up the layers, a deep import into
// another folder, the emulator from the product, migrations outside db. (The tree itself passes `npm run lint`.)
import { ESLint } from 'eslint';
import { expect, it } from 'vitest';

const eslint = new ESLint();

async function restrictions(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

it.each([
  ['src/config/names.ts', "import { runPipeline } from '../sync/index.ts';", /imports go one way/],
  ['src/db/sql.ts', "import { listRuns } from '../state/index.ts';", /imports go one way/],
  ['src/load/sql/names.ts', "import { recordEvent } from '../../state/index.ts';", /imports go one way/],
  ['src/sync/types.ts', "import { parseConfig } from '../config/parse.ts';", /through its index\.ts/],
  ['src/sync/types.ts', "import { startEmulator } from '../emulator/index.ts';", /imports go one way/],
  ['src/state/events.ts', "import { migrations } from '../../migrations/index.ts';", /only src\/db reads the migrations/],
])('%s: %s is refused', async (file, line, why) => {
  const messages = await restrictions(file, `${line}\nexport const probe = 1;\n`);
  expect(messages).toEqual([expect.stringMatching(why)]);
}, 60_000);

it.each([
  ['src/sync/types.ts', "import { loadConfig } from '../config/index.ts';"],
  ['src/load/sql/merge.ts', "import type { TableSpec } from '../../plan/types.ts';"],
  ['src/cli/main.ts', "import { startEmulator } from '../emulator/index.ts';"],
  ['src/db/migrate.ts', "import { migrations } from '../../migrations/index.ts';"],
])('%s: %s is allowed', async (file, line) => {
  expect(await restrictions(file, `${line}\nexport const probe = 1;\n`)).toEqual([]);
}, 60_000);
