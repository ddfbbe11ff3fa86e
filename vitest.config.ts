import { defineConfig } from 'vitest/config';
import { wasmKernels } from './scripts/wasm-kernels.mjs';

// Node (Dawn) and headless Chromium both run the whole core suite on a CPU adapter that uses both
// cores, so the files run one after another rather than fighting over the CPU.
export default defineConfig({
  plugins: [wasmKernels()],
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    pool: 'forks',
    // Node 20 validates relaxed-SIMD WebAssembly only behind this flag; the suite forces both builds.
    execArgv: ['--experimental-wasm-relaxed-simd'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
