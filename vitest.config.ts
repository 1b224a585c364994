import { defineConfig } from 'vitest/config';

// Tests talk to real Postgres and real HTTP servers; two forks keep a 2-core machine busy without thrashing.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
