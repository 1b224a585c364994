// `npm run bench`: aquasync against the copy limit, the staging ceiling and a naive baseline on the local AQuA emulator.
// A script, not a test: run it on a quiet machine. See bench/report.ts for the flags (or --help).
import { arch, cpus, totalmem } from 'node:os';
import { formatTable, parseBenchArgs, summarize, toJson, USAGE, type BenchOptions } from './report.ts';
import { runBench } from './run-bench.ts';

let options: BenchOptions | undefined;
try {
  options = parseBenchArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  process.exit(2);
}
if (options === undefined) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  process.stderr.write('bench: set DATABASE_URL to a Postgres server (e.g. postgres://postgres@127.0.0.1:5432/postgres)\n');
  process.exit(2);
}

const result = await runBench({ ...options, databaseUrl, log: (line) => process.stderr.write(`${line}\n`) });
const summaries = summarize(result.measurements);
const machine = `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${arch()}), ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ${process.version}`;
const mismatched = result.checks.filter(
  (c) =>
    c.loaded !== c.served ||
    (c.ceilingLoaded ?? c.served) !== c.served ||
    (c.naiveLoaded ?? c.served) !== c.served ||
    (c.copyLimitLoaded ?? c.served) !== c.served,
);
if (options.json) {
  const meta = { rows: options.rows, runs: options.runs, format: options.format, segmentSize: options.segmentSize, concurrency: options.concurrency, vacuum: options.vacuum, mergeSettings: Object.fromEntries(options.mergeSettings), machine, renderSeconds: result.renderSeconds, checks: result.checks };
  process.stdout.write(`${JSON.stringify(toJson(summaries, meta))}\n`);
} else {
  process.stdout.write(
    `\n${formatTable(summaries)}\n\n${options.rows.toLocaleString('en-US')} rows, ${options.format}, segments of ` +
      `${options.segmentSize.toLocaleString('en-US')}, concurrency ${options.concurrency}, median of ${options.runs} run(s); ${machine}\n` +
      `seconds = wall time minus the emulator's job time (queue + rendering the files ahead, ${result.renderSeconds.toFixed(1)} s for the first full load)\n` +
      (options.vacuum ? 'the loaded table was VACUUMed (ANALYZE) before the incrementals\n' : '') +
      (options.mergeSettings.length > 0 ? `ceiling merge with ${options.mergeSettings.map(([k, v]) => `${k}=${v}`).join(', ')}\n` : ''),
  );
}
if (mismatched.length > 0) {
  process.stderr.write(`bench: loaded row counts differ from the rows served: ${JSON.stringify(mismatched)}\n`);
  process.exitCode = 1;
}
