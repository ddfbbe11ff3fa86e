/**
 * Forwards past the device's buffer limits run in pieces (src/split.ts) inside one call: along
 * the batch, along time carrying every layer's h (backwards for 'reverse'), or both. On a device
 * reporting a binding limit of a few KiB (withLimits), every direction, both reset variants,
 * batchFirst, h0 and seqLengths (including 0 and lengths that end inside and before a piece) run
 * against the reference at F32_TOLERANCE and against the same forward unsplit on the real limits.
 */
import { GRU, gruReference, type GRUOptions, type RunArgs } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import { splitFor } from '../../src/split.js';
import { withLimits } from './limits.js';
import type { Case } from './registry.js';
import {
  assertClose,
  expectGRUError,
  F32_TOLERANCE,
  randomWeights,
  readBuffer,
  record,
  rng,
  uniform,
  uploadBuffer,
  type Tolerance,
} from './util.js';

/** The same kernels on other piece sizes: the sums may be ordered differently by a compiler, no more. */
const SAME_KERNELS: Tolerance = { rtol: 1e-6, atol: 1e-6 };

interface SplitConfig {
  label: string;
  options: GRUOptions;
  steps: number;
  batch: number;
  /** The lowered binding limit, in bytes. */
  limit: number;
  /** What the split must cut: 'rows', 'steps' or both. */
  expect: 'rows' | 'steps' | 'both';
}

const CONFIGS: SplitConfig[] = [
  {
    label: 'forward, 2 layers, reset after: time pieces',
    options: { inputSize: 3, hiddenSize: 17, numLayers: 2 },
    steps: 129,
    batch: 3,
    limit: 16384,
    expect: 'steps',
  },
  {
    label: 'reverse, 2 layers, reset first, batchFirst: time pieces walked backwards',
    options: { inputSize: 5, hiddenSize: 9, numLayers: 2, direction: 'reverse', resetAfter: false, gateOrder: 'zrn', batchFirst: true },
    steps: 33,
    batch: 5,
    limit: 4096,
    expect: 'steps',
  },
  {
    label: 'bidirectional, 2 layers: row pieces',
    options: { inputSize: 4, hiddenSize: 7, numLayers: 2, direction: 'bidirectional' },
    steps: 17,
    batch: 9,
    limit: 8192,
    expect: 'rows',
  },
  {
    label: 'forward, 1 layer, batchFirst, reset first: rows and time',
    options: { inputSize: 2, hiddenSize: 5, resetAfter: false, batchFirst: true },
    steps: 257,
    batch: 70,
    limit: 4096,
    expect: 'both',
  },
];

function splitCase(c: SplitConfig): Case {
  return {
    name: `split: ${c.label} (T = ${c.steps}, B = ${c.batch}, binding limit ${c.limit} bytes) equals the reference and the unsplit forward`,
    timeoutMs: 120_000,
    async run(device) {
      const o = c.options;
      const weights = randomWeights(o, 71);
      const random = rng(72);
      const D = o.direction === 'bidirectional' ? 2 : 1;
      const L = o.numLayers ?? 1;
      const input = uniform(random, c.steps * c.batch * o.inputSize, 1);
      // Lengths that end before, inside and at the end of the pieces, and a row of none.
      const seqLengths = Int32Array.from({ length: c.batch }, (_, b) =>
        b === 1 ? 0 : b % 3 === 0 ? c.steps : Math.floor(random() * c.steps),
      );
      const h0 = uniform(random, L * D * c.batch * o.hiddenSize, 0.5);
      const tight = withLimits(device, { maxStorageBufferBindingSize: c.limit });
      const split = splitFor(tight, resolveOptions(o), c.steps, c.batch);
      const cut = split && { rows: split.rows < c.batch, steps: split.steps < c.steps };
      const expected = { rows: c.expect !== 'steps', steps: c.expect !== 'rows' };
      if (!cut || cut.rows !== expected.rows || cut.steps !== expected.steps) {
        throw new Error(`splitFor gave ${JSON.stringify(split)} for T = ${c.steps}, B = ${c.batch}: expected pieces of ${c.expect}`);
      }
      const pieced = await GRU.create(tight, o, weights);
      const whole = await GRU.create(device, o, weights);
      try {
        for (const args of [
          { steps: c.steps, batch: c.batch },
          { steps: c.steps, batch: c.batch, h0, seqLengths },
        ] as RunArgs[]) {
          const what = args.seqLengths ? 'with h0 and seqLengths' : 'plain';
          const got = await pieced.forward(input, args);
          const want = gruReference(o, weights, input, args);
          record(assertClose(`output, ${what}`, got.output, want.output, F32_TOLERANCE));
          record(assertClose(`hN, ${what}`, got.hN, want.hN, F32_TOLERANCE));
          const unsplit = await whole.forward(input, args);
          assertClose(`output against the unsplit forward, ${what}`, got.output, unsplit.output, SAME_KERNELS);
          assertClose(`hN against the unsplit forward, ${what}`, got.hN, unsplit.hN, SAME_KERNELS);
          // forwardGPU: the same pieces, copied between the caller's buffers (h0 as a buffer).
          const x = uploadBuffer(device, input, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
          const h0Buffer = args.h0 && uploadBuffer(device, args.h0, GPUBufferUsage.COPY_SRC);
          const r = pieced.forwardGPU(x, { ...args, h0: h0Buffer });
          try {
            assertClose(`forwardGPU output, ${what}`, await readBuffer(device, r.output, got.output.byteLength), got.output, SAME_KERNELS);
            assertClose(`forwardGPU hN, ${what}`, await readBuffer(device, r.hN, got.hN.byteLength), got.hN, SAME_KERNELS);
          } finally {
            for (const b of [x, h0Buffer, r.output, r.hN]) b?.destroy();
          }
        }
      } finally {
        pieced.destroy();
        whole.destroy();
      }
    },
  };
}

export const splitCases: Case[] = [
  ...CONFIGS.map(splitCase),
  {
    name: 'split: a bidirectional row longer than a binding holds is refused with the sizes; forwardGPU in pieces needs COPY_SRC; a GRU destroyed between pieces stops',
    timeoutMs: 60_000,
    async run(device) {
      const o: GRUOptions = { inputSize: 2, hiddenSize: 8, direction: 'bidirectional' };
      const tight = withLimits(device, { maxStorageBufferBindingSize: 4096 });
      const gru = await GRU.create(tight, o, randomWeights(o, 73));
      try {
        await expectGRUError(
          () => gru.forward(new Float32Array(200 * 2), { steps: 200, batch: 1 }),
          /^args\.steps: a bidirectional forward cannot be split in time, and one row of 200 steps needs \d+ bytes in one binding \(at most \d+ steps fit this device's limits\); run it in fewer steps$/,
        );
        // forwardGPU in pieces copies out of its input: it needs COPY_SRC.
        const storageOnly = device.createBuffer({ size: 20 * 64 * 2 * 4, usage: GPUBufferUsage.STORAGE });
        try {
          await expectGRUError(
            () => gru.forwardGPU(storageOnly, { steps: 20, batch: 64 }),
            /^input: expected a GPUBuffer with STORAGE and COPY_SRC \(a forward past this device's limits runs in pieces: \d+ rows × 20 steps\) usage, got usage flags 0x80$/,
          );
        } finally {
          storageOnly.destroy();
        }
        // Rows pieces of a forward whose GRU is destroyed while the first piece runs.
        const running = gru.forward(new Float32Array(20 * 64 * 2), { steps: 20, batch: 64 });
        gru.destroy();
        await expectGRUError(() => running, /^this GRU: expected a live GRU, got one that was destroyed/);
      } finally {
        gru.destroy();
      }
    },
  },
];
