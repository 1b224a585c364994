// `npm run schema`: writes schema/pipelines.schema.json and the configuration reference in README.md from the zod
// schema of pipelines.yaml (src/config/schema.ts). Run it after adding or changing a config key; the test
// test/config/json-schema.test.ts fails until you do. `--check` only reports whether the files are current.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SCHEMA_FILE, schemaFileText, withReference } from '../src/config/json-schema.ts';

const root = resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const targets = [
  { file: join(root, SCHEMA_FILE), text: schemaFileText() },
  { file: join(root, 'README.md'), text: withReference(readFileSync(join(root, 'README.md'), 'utf8')) },
];
let stale = 0;
for (const { file, text } of targets) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing: written below
  }
  if (current === text) continue;
  stale += 1;
  if (check) process.stderr.write(`${file} is out of date: run npm run schema\n`);
  else {
    writeFileSync(file, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}
if (!check && stale === 0) process.stdout.write('schema/pipelines.schema.json and README.md are up to date\n');
process.exitCode = check && stale > 0 ? 1 : 0;
