/**
 * Device loss: a call in flight when the device goes rejects with a DeviceLostError (never WebGPU's
 * bare AbortError, never an unhandled rejection), every later call throws it at once, `GRU.lost`
 * resolves with it, and a caller who kept the state carries on on a new device or on the CPU with
 * the same result as an uninterrupted run. Each case loses a device of its own (env.newDevice).
 */
import { Argmax, DeviceLostError, Embedding, GRU, GRUError, gruReference, Linear, WasmGRU, type GRUOptions } from '../../src/index.js';
import type { Case } from './registry.js';
import { assertClose, F32_TOLERANCE, randomWeights, record, rng, uniform, withoutUnhandled } from './util.js';

const OPTIONS: GRUOptions = { inputSize: 17, hiddenSize: 33, numLayers: 2 };

/** Awaits `p`: its value, or the DeviceLostError it rejected with; any other outcome throws. */
async function valueOrLoss<T>(label: string, p: Promise<T>): Promise<T | DeviceLostError> {
  try {
    return await p;
  } catch (error) {
    if (error instanceof DeviceLostError) return error;
    throw new Error(`${label}: expected a DeviceLostError, got ${String(error)} (${(error as Error)?.constructor?.name})`);
  }
}

/** Runs `call` and checks that it throws (or rejects with) exactly `expected`. */
async function throwsLoss(label: string, expected: DeviceLostError, call: () => unknown): Promise<void> {
  let thrown: unknown;
  try {
    await call();
  } catch (error) {
    thrown = error;
  }
  if (thrown !== expected)
    throw new Error(`${label}: expected the GRU's DeviceLostError, got ${thrown === undefined ? 'no error' : String(thrown)}`);
}

export const lossCases: Case[] = [
  {
    name: 'device loss: calls in flight reject with a DeviceLostError, later ones throw it at once, nothing unhandled',
    timeoutMs: 60_000,
    async run(_device, env) {
      await withoutUnhandled(env, async () => {
        const device = await env.newDevice();
        const weights = randomWeights(OPTIONS, 91);
        const gru = await GRU.create(device, OPTIONS, weights);
        const state = gru.createState(3);
        const random = rng(92);
        const T = 40;
        const B = 3;
        const input = uniform(random, T * B * OPTIONS.inputSize, 1);
        const x = uniform(random, B * OPTIONS.inputSize, 1);
        // In flight together: a forward, a step and a state read; then the device goes.
        const forward = gru.forward(input, { steps: T, batch: B });
        const step = gru.step(x, state);
        const get = state.get();
        device.destroy();
        // Each handled from the start, as a caller awaiting them together would.
        const [result, ...outcomes] = await Promise.all([
          valueOrLoss('forward', forward),
          valueOrLoss('step', step),
          valueOrLoss('state.get', get),
        ]);
        const lost = await gru.lost;
        if (!(lost instanceof DeviceLostError) || !(lost instanceof GRUError)) throw new Error('gru.lost: expected a DeviceLostError');
        if (lost.reason !== 'destroyed') throw new Error(`lost.reason: expected 'destroyed', got ${lost.reason}`);
        if (!/^device: expected a live GPUDevice, got one that was lost \(destroyed/.test(lost.message)) {
          throw new Error(`lost.message: ${lost.message}`);
        }
        // A call that lost the race returns the very error of gru.lost; one that won returns its result.
        for (const o of [result, ...outcomes]) {
          if (o instanceof DeviceLostError && o !== lost) throw new Error('a call rejected with another DeviceLostError');
        }
        if (!(result instanceof DeviceLostError)) {
          const want = gruReference(OPTIONS, weights, input, { steps: T, batch: B });
          assertClose('forward that finished before the loss', result.output, want.output, F32_TOLERANCE);
        }

        await throwsLoss('forward', lost, () => gru.forward(input, { steps: T, batch: B }));
        await throwsLoss('forwardGPU', lost, () => gru.forwardGPU({} as GPUBuffer, { steps: T, batch: B }));
        await throwsLoss('createState', lost, () => gru.createState(1));
        await throwsLoss('step', lost, () => gru.step(x, state));
        await throwsLoss('stepGPU', lost, () => gru.stepGPU({} as GPUBuffer, state));
        await throwsLoss('state.get', lost, () => state.get());
        await throwsLoss('state.set', lost, () => state.set(new Float32Array(2 * B * OPTIONS.hiddenSize)));
        await throwsLoss('state.reset', lost, () => state.reset());
        await throwsLoss('GRU.create', lost, () => GRU.create(device, OPTIONS, weights));
        await throwsLoss('Linear.create', lost, () =>
          Linear.create(device, { weight: new Float32Array(6), inFeatures: 3, outFeatures: 2 }),
        );
        await throwsLoss('Embedding.create', lost, () =>
          Embedding.create(device, { weight: new Float32Array(6), vocabSize: 3, embeddingSize: 2 }),
        );
        await throwsLoss('Argmax.create', lost, () => Argmax.create(device, { size: 4 }));
        // Freeing what is left still works, and twice.
        gru.destroy();
        gru.destroy();
      });
    },
  },
  {
    name: 'device loss: GRU.create and the layers reject with a DeviceLostError when the device goes during create',
    timeoutMs: 60_000,
    async run(_device, env) {
      await withoutUnhandled(env, async () => {
        const device = await env.newDevice();
        // A shape no other case compiles, so that nothing is cached on this device either.
        const options: GRUOptions = { inputSize: 5, hiddenSize: 7, direction: 'bidirectional', resetAfter: false };
        const creating = [
          GRU.create(device, options, randomWeights(options, 93)),
          Linear.create(device, { weight: new Float32Array(15), inFeatures: 5, outFeatures: 3 }),
          Embedding.create(device, { weight: new Float32Array(15), vocabSize: 5, embeddingSize: 3 }),
          Argmax.create(device, { size: 9 }),
        ];
        device.destroy();
        const names = ['GRU.create', 'Linear.create', 'Embedding.create', 'Argmax.create'];
        for (const [i, p] of creating.entries()) {
          const outcome = await valueOrLoss(names[i], p as Promise<unknown>);
          if (!(outcome instanceof DeviceLostError)) throw new Error(`${names[i]}: resolved on a device destroyed during it`);
        }
      });
    },
  },
  {
    name: 'device loss: a stream carries on from its last get() on a new device and on the CPU, equal to an unbroken run',
    timeoutMs: 60_000,
    async run(_device, env) {
      await withoutUnhandled(env, async () => {
        const o: GRUOptions = { inputSize: 3, hiddenSize: 17, numLayers: 2, resetAfter: false, gateOrder: 'rzn' };
        const weights = randomWeights(o, 94);
        const B = 3;
        const T = 9;
        const lostAt = 4;
        const input = uniform(rng(95), T * B * o.inputSize, 1);
        const x = (t: number) => input.subarray(t * B * o.inputSize, (t + 1) * B * o.inputSize);
        const want = gruReference(o, weights, input, { steps: T, batch: B });
        const check = (label: string, t: number, got: Float32Array) => {
          const rows = want.output.subarray(t * B * o.hiddenSize, (t + 1) * B * o.hiddenSize);
          record(assertClose(`${label}, step ${t}`, got, rows, F32_TOLERANCE));
        };

        const first = await env.newDevice();
        const gru = await GRU.create(first, o, weights);
        const state = gru.createState(B);
        for (let t = 0; t < lostAt; t++) check('before the loss', t, await gru.step(x(t), state));
        const kept = await state.get();
        first.destroy();
        const lost = await gru.lost;
        await throwsLoss('step after the loss', lost, () => gru.step(x(lostAt), state));

        // The documented way on: the same weights on a new device, and on the CPU, from the kept h.
        const second = await env.newDevice();
        try {
          const again = await GRU.create(second, o, weights);
          const cpu = await WasmGRU.create(o, weights);
          const onGPU = again.createState(B, { h0: kept });
          const onCPU = cpu.createState(B, { h0: kept });
          for (let t = lostAt; t < T; t++) {
            check('new device', t, await again.step(x(t), onGPU));
            check('wasm', t, cpu.stepSync(x(t), onCPU));
          }
          again.destroy();
          cpu.destroy();
        } finally {
          second.destroy();
        }
        gru.destroy();
      });
    },
  },
];
