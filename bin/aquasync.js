#!/usr/bin/env node
// Entry point: runs the compiled CLI in dist/ (built by `npm ci` through the `prepare` script, or `npm run build`).
// No TypeScript loader at run time: nothing is compiled or cached in a temp folder when aquasync starts.
let cli;
try {
  cli = await import('../dist/src/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/src/cli/main.js')) throw error;
  process.stderr.write('aquasync is not built: run `npm run build` (npm ci does it) in the aquasync folder\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
