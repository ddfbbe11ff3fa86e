/**
 * GPU memory hygiene: live buffers return to their starting count after 100
 * create/forward/destroy cycles (and after calls that throw), destroy() twice is harmless, and the
 * caller's device stays usable.
 */
import { GRU, type GRUOptions } from '../../src/index.js';
import type { Case } from './registry.js';
import { countingBuffers, expectGRUError, randomWeights, rng, uniform } from './util.js';

export const leakCases: Case[] = [
  {
    name: 'leaks: 100 create/forward/destroy cycles (and failing calls) leave no live buffer',
    timeoutMs: 120_000,
    async run(device) {
      await countingBuffers(device, async (live) => {
        const start = live();
        const o: GRUOptions = { inputSize: 3, hiddenSize: 5, numLayers: 2, direction: 'bidirectional', resetAfter: false };
        const weights = randomWeights(o, 9);
        const random = rng(10);
        for (let i = 0; i < 100; i++) {
          const steps = 1 + (i % 4);
          const batch = 1 + (i % 3);
          const gru = await GRU.create(device, o, weights);
          await gru.forward(uniform(random, steps * batch * 3, 1), { steps, batch });
          if (i % 10 === 0) {
            // A second shape replaces the kept plan; GPU-form results belong to the caller.
            const input = device.createBuffer({ size: 2 * 2 * 3 * 4, usage: GPUBufferUsage.STORAGE });
            const result = gru.forwardGPU(input, { steps: 2, batch: 2 });
            input.destroy();
            result.output.destroy();
            result.hN.destroy();
          }
          if (i % 25 === 0) {
            await expectGRUError(() => gru.forward(new Float32Array(1), { steps: 1, batch: 1 }), /^input:/);
            await expectGRUError(() => gru.forward(new Float32Array(3), { steps: 1, batch: 1, h0: new Float32Array(1) }), /^args\.h0:/);
          }
          gru.destroy();
          gru.destroy();
        }
        // Streaming states die with their GRU.
        const uni = { inputSize: 3, hiddenSize: 5 };
        const streaming = await GRU.create(device, uni, randomWeights(uni, 11));
        const state = streaming.createState(2);
        await streaming.step(new Float32Array(6), state);
        streaming.createState(3);
        streaming.destroy();
        state.destroy();
        // A create that throws leaves nothing behind.
        await expectGRUError(() => GRU.create(device, o, weights.slice(1)), /^weights:/);
        if (live() !== start) throw new Error(`expected ${start} live buffers after the cycles, found ${live()}`);
      });
      // The device is the caller's: still alive and usable.
      const o = { inputSize: 2, hiddenSize: 3 };
      const gru = await GRU.create(device, o, randomWeights(o, 12));
      const { output } = await gru.forward(new Float32Array(2), { steps: 1, batch: 1 });
      gru.destroy();
      if (output.length !== 3 || output.some((v) => !Number.isFinite(v))) throw new Error('device unusable after destroy cycles');
    },
  },
];
