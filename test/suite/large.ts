/**
 * The two long-haul shapes: a 10 000-step sequence (stepwise: one encoder of 10 001 dispatches;
 * persistent: chunks of 2048 steps, which also covers the chunk boundaries) and a large layer
 * (H = 1024, B = 64); and a stack whose weights are over one binding. GPU vs reference at F32_TOLERANCE.
 */
import { GRU, gruReference, type GRUOptions } from '../../src/index.js';
import { weightLayout } from '../../src/weights.js';
import { withLimits } from './limits.js';
import type { Case } from './registry.js';
import { assertClose, checkAgainstReference, expectGRUError, F32_TOLERANCE, randomWeights, rng, uniform } from './util.js';

export const largeCases: Case[] = [
  ...(['stepwise', 'persistent'] as const).map(
    (schedule): Case => ({
      name: `large: steps = 10 000, H = 8, B = 2, ${schedule} (${schedule === 'stepwise' ? '10 001 dispatches' : '5 chunk dispatches'}, one submit)`,
      timeoutMs: 300_000,
      async run(device) {
        const o: GRUOptions = { inputSize: 4, hiddenSize: 8, schedule };
        const steps = 10_000;
        const batch = 2;
        const random = rng(31);
        await checkAgainstReference(device, o, randomWeights(o, 32), uniform(random, steps * batch * 4, 1), {
          steps,
          batch,
          seqLengths: Int32Array.of(10_000, 9_999),
        });
      },
    }),
  ),
  // Long loops inside one persistent dispatch: llvmpipe silently ends a loop after 65 535
  // iterations, which a 256-wide layer reached after 76 steps before the chunks were sized to it;
  // a stack in one dispatch (sequence_stack) runs every layer's loops in the same invocation.
  ...(
    [
      ['persistent', 1],
      ['persistent-split', 1],
      ['persistent', 2],
    ] as const
  ).map(
    ([schedule, numLayers]): Case => ({
      name: `large: H = I = 256, T = 300, B = 1, ${numLayers} layer${numLayers > 1 ? 's' : ''}, ${schedule} (inner loops past 65 535 iterations)`,
      timeoutMs: 300_000,
      async run(device) {
        const o: GRUOptions = { inputSize: 256, hiddenSize: 256, numLayers, schedule };
        const random = rng(35);
        await checkAgainstReference(device, o, randomWeights(o, 36), uniform(random, 300 * 256, 1), { steps: 300, batch: 1 });
      },
    }),
  ),
  {
    name: 'large: a stack over one buffer binding gets a buffer per layer; auto then runs stepwise (not wavefront) and persistent layer by layer',
    async run(device) {
      const o: GRUOptions = { inputSize: 3, hiddenSize: 17, numLayers: 3, resetAfter: false };
      const weights = randomWeights(o, 37);
      const input = uniform(rng(38), 7 * 9 * 3, 1);
      const args = { steps: 7, batch: 9, seqLengths: Int32Array.of(7, 0, 1, 3, 7, 6, 7, 2, 5) };
      const roomy = await GRU.create(device, o, weights);
      const stackBytes = weightLayout(roomy.options, device.limits).total;
      await roomy.ready;
      const chosen = roomy.scheduleFor(9);
      roomy.destroy();
      if (chosen !== 'wavefront') throw new Error(`auto chose ${chosen} for a 3-layer stack at B = 9, expected wavefront`);
      // The same device, reporting a binding limit one byte under the stack's weights.
      const tight = withLimits(device, { maxStorageBufferBindingSize: stackBytes - 1 });
      const gru = await GRU.create(tight, o, weights);
      try {
        await gru.ready;
        for (const [batch, expected] of [
          [9, 'stepwise'],
          [2, 'persistent'],
        ] as const) {
          const chosen = gru.scheduleFor(batch);
          if (chosen !== expected)
            throw new Error(`auto chose ${chosen} at B = ${batch} with the weights over one binding, expected ${expected}`);
        }
        // B = 9 runs stepwise; the first 2 rows (B·D ≤ 8) run persistent, one dispatch per layer
        // since the layers no longer share a binding.
        for (const batch of [9, 2]) {
          const rows = { steps: 7, batch, seqLengths: args.seqLengths.subarray(0, batch) };
          const x = batch === 9 ? input : input.filter((_, i) => Math.floor(i / 3) % 9 < batch);
          const got = await gru.forward(x, rows);
          const want = gruReference(o, weights, x, rows);
          assertClose(`output B = ${batch}`, got.output, want.output, F32_TOLERANCE);
          assertClose(`hN B = ${batch}`, got.hN, want.hN, F32_TOLERANCE);
        }
      } finally {
        gru.destroy();
      }
      await expectGRUError(
        () => GRU.create(tight, { ...o, schedule: 'wavefront' }, weights),
        /^options\.schedule: 'wavefront' binds every layer's weights at once/,
      );
    },
  },
  {
    name: 'large: H = 1024, B = 64, I = 64, T = 3',
    timeoutMs: 300_000,
    async run(device) {
      const o: GRUOptions = { inputSize: 64, hiddenSize: 1024 };
      const steps = 3;
      const batch = 64;
      const random = rng(33);
      await checkAgainstReference(device, o, randomWeights(o, 34), uniform(random, steps * batch * 64, 1), { steps, batch });
    },
  },
];
