import { defineConfig } from 'vitest/config';

// Node (Dawn) and headless Chromium both run the whole core suite on a CPU adapter that uses both
// cores, so the files run one after another rather than fighting over the CPU.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
