/**
 * The two long-haul shapes: a 10 000-step sequence (stepwise: one encoder of 10 001 dispatches;
 * persistent: chunks of 2048 steps, which also covers the chunk boundaries) and a large layer
 * (H = 1024, B = 64). GPU vs reference at F32_TOLERANCE.
 */
import type { GRUOptions } from '../../src/index.js';
import type { Case } from './registry.js';
import { checkAgainstReference, randomWeights, rng, uniform } from './util.js';

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
  // iterations, which a 256-wide layer reached after 76 steps before the chunks were sized to it.
  ...(['persistent', 'persistent-split'] as const).map(
    (schedule): Case => ({
      name: `large: H = I = 256, T = 300, B = 1, ${schedule} (inner loops past 65 535 iterations)`,
      timeoutMs: 300_000,
      async run(device) {
        const o: GRUOptions = { inputSize: 256, hiddenSize: 256, schedule };
        const random = rng(35);
        await checkAgainstReference(device, o, randomWeights(o, 36), uniform(random, 300 * 256, 1), { steps: 300, batch: 1 });
      },
    }),
  ),
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
