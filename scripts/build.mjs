#!/usr/bin/env node
// The build (`npm run build`, and `prepare`, so `npm ci` builds): TypeScript to JavaScript in dist/ with tsc, then
// the files the code reads at run time next to the module that reads them (import.meta.url): the status page's
// assets. Plain JavaScript so it runs before anything is compiled and with no TypeScript loader.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/** Folders copied as they are: source folder -> folder under dist/. */
const ASSETS = [['src/ui/assets', 'src/ui/assets']];

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm ci --omit=dev` has no compiler: a tree that already has dist/ (a packed release) keeps it.
  if (existsSync(join(dist, 'src/cli/main.js'))) {
    console.log('build: typescript is not installed; keeping the existing dist/');
    process.exit(0);
  }
  console.error('build: typescript is not installed and dist/ is missing: run `npm ci` without --omit=dev');
  process.exit(1);
}

const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);

for (const [from, to] of ASSETS) {
  const target = join(dist, to);
  rmSync(target, { recursive: true, force: true });
  cpSync(join(root, from), target, { recursive: true });
}
