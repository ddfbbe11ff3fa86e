/**
 * GPU forward against the CPU reference over a covering matrix: every (reset variant, gate order,
 * direction) combination, twice, with sizes, batch, steps, layers, batchFirst, h0 and sequence
 * lengths cycled so that every value of each list appears in several combinations — and each
 * configuration under every kernel schedule, forced in turn ('wavefront' on the configurations of
 * one direction: it refuses bidirectional stacks, test/suite/errors.ts).
 * Tolerance: F32_TOLERANCE (1e-5 absolute + 1e-5 relative), float32 kernels vs float64 reference.
 */
import { GRU, type Direction, type GRUOptions } from '../../src/index.js';
import type { Case } from './registry.js';
import { checkAgainstReference, randomWeights, rng, uniform, type CaseData } from './util.js';

const SIZES = [1, 3, 17, 65, 257];
const BATCHES = [1, 2, 5];
const STEPS = [1, 7, 64];
const DIRECTIONS: Direction[] = ['forward', 'reverse', 'bidirectional'];

/** Lengths covering 0, 1, short and full, unsorted. */
export function mixedLengths(steps: number, batch: number, seed: number): Int32Array {
  const pool = [steps, 0, 1, Math.max(1, steps >> 1), Math.max(0, steps - 1)];
  const lengths = Int32Array.from({ length: batch }, (_, b) => pool[(b + seed) % pool.length]);
  return lengths;
}

export interface MatrixConfig {
  options: GRUOptions;
  steps: number;
  batch: number;
  h0: boolean;
  lengths: boolean;
}

function matrix(): MatrixConfig[] {
  const configs: MatrixConfig[] = [];
  let i = 0;
  for (const round of [0, 1]) {
    for (const resetAfter of [true, false]) {
      for (const gateOrder of ['rzn', 'zrn'] as const) {
        for (const direction of DIRECTIONS) {
          const inputSize = SIZES[(i + round) % SIZES.length];
          const hiddenSize = SIZES[(i * 2 + 1 + round) % SIZES.length];
          const numLayers = 1 + ((i + round) % 3);
          let steps = STEPS[(i + 2 * round) % STEPS.length];
          const batch = BATCHES[(i + round) % BATCHES.length];
          // Keep the CPU reference of the biggest combinations to a second or two.
          const D = direction === 'bidirectional' ? 2 : 1;
          if (hiddenSize * (hiddenSize + inputSize) * steps * batch * numLayers * D > 4e7) steps = 7;
          configs.push({
            options: { inputSize, hiddenSize, numLayers, direction, resetAfter, gateOrder, batchFirst: i % 2 === 1 },
            steps,
            batch,
            h0: (i >> 1) % 2 === 0,
            lengths: (i + round) % 3 !== 0,
          });
          i++;
        }
      }
    }
  }
  return configs;
}

function describeConfig(c: MatrixConfig): string {
  const o = c.options;
  return (
    `matrix ${o.direction} ${o.resetAfter ? 'resetAfter' : 'resetFirst'} ${o.gateOrder} ` +
    `I=${o.inputSize} H=${o.hiddenSize} L=${o.numLayers} T=${c.steps} B=${c.batch}` +
    `${o.batchFirst ? ' batchFirst' : ''}${c.h0 ? ' h0' : ''}${c.lengths ? ' seqLengths' : ''}`
  );
}

/** The options, weights, input and arguments of matrix configuration `index` (seeded). */
export function matrixData(c: MatrixConfig, index: number, schedule?: GRUOptions['schedule']): CaseData {
  const seed = 1000 + index;
  const o = schedule ? { ...c.options, schedule } : c.options;
  const D = o.direction === 'bidirectional' ? 2 : 1;
  const random = rng(seed);
  const input = uniform(random, c.steps * c.batch * o.inputSize, 1);
  const h0 = c.h0 ? uniform(random, (o.numLayers ?? 1) * D * c.batch * o.hiddenSize, 1) : undefined;
  const seqLengths = c.lengths ? mixedLengths(c.steps, c.batch, index) : undefined;
  return { options: o, weights: randomWeights(o, seed), input, args: { steps: c.steps, batch: c.batch, h0, seqLengths } };
}

export const MATRIX: { config: MatrixConfig; name: string }[] = matrix().map((config) => ({ config, name: describeConfig(config) }));

export const matrixCases: Case[] = MATRIX.flatMap(({ config: c, name }, index) =>
  GRU.schedules
    .filter((schedule) => schedule !== 'wavefront' || c.options.direction !== 'bidirectional')
    .map((schedule) => ({
      name: `${name} ${schedule}`,
      timeoutMs: 60_000,
      async run(device: GPUDevice) {
        const d = matrixData(c, index, schedule);
        await checkAgainstReference(device, d.options, d.weights, d.input, d.args);
      },
    })),
);
