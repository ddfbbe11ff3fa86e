/**
 * The seeded fuzzer (test/fuzz/fuzz.ts) for a few hundred iterations, in Node and in headless
 * Chromium: valid calls against the reference on both backends, broken ones for a GRUError naming
 * the argument, corrupted files for a GRUError or a valid parse, and no WebGPU error, leak or hang.
 * The kernel-shaping options come from POOL drawn shapes so that the CPU adapters compile each
 * pipeline once; `npm run fuzz` draws a new shape every iteration. A failure lists each failing
 * iteration with the command that replays it.
 */
import { formatSummary, runFuzz } from '../fuzz/fuzz.js';
import type { Case } from './registry.js';

const SEED = 20_261_126;
const ITERATIONS = 400;
const POOL = 8;

export const fuzzCases: Case[] = [
  {
    name: `fuzz: ${ITERATIONS} seeded iterations (seed ${SEED}, ${POOL} shapes), both backends, importers`,
    timeoutMs: 240_000,
    async run(device) {
      const summary = await runFuzz(device, { seed: SEED, iterations: ITERATIONS, pool: POOL });
      if (summary.failures.length > 0 || summary.iterations !== ITERATIONS) throw new Error(formatSummary(summary));
    },
  },
];
