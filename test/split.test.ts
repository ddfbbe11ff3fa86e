/**
 * A real forward over 128 MiB of output, in Node, on this machine's device held to 128 MiB
 * bindings (and 256 MiB buffers): it runs in pieces inside one call and equals the reference.
 * `SPLIT_OUTPUT_MIB=1024 npx vitest run test/split.test.ts` runs the same with that much output
 * (1 GiB: about a minute on llvmpipe, 2 GiB of memory for both outputs).
 */
import { expect, it } from 'vitest';
import { GRU, gruReference, type GRUOptions } from '../src/index.js';
import { requestDevice } from '../src/node.js';
import { resolveOptions } from '../src/options.js';
import { splitFor } from '../src/split.js';
import { withLimits } from './suite/limits.js';
import { assertClose, F32_TOLERANCE, randomWeights, rng, uniform } from './suite/util.js';

const MIB = 1 << 20;
const outputMiB = Number(process.env.SPLIT_OUTPUT_MIB ?? 160);

it(`a forward with ${outputMiB} MiB of output on a device with 128 MiB bindings runs in pieces and equals the reference`, async () => {
  const device = await requestDevice({ quiet: true });
  try {
    const tight = withLimits(device, {
      maxStorageBufferBindingSize: Math.min(128 * MIB, device.limits.maxStorageBufferBindingSize),
      maxBufferSize: Math.min(256 * MIB, device.limits.maxBufferSize),
    });
    // H = 8: the most output per multiply-add, so that the CPU reference keeps up.
    const o: GRUOptions = { inputSize: 1, hiddenSize: 8 };
    const steps = 1280;
    const batch = Math.ceil((outputMiB * MIB) / (steps * o.hiddenSize * 4));
    const split = splitFor(tight, resolveOptions(o), steps, batch);
    expect(split, 'the forward must be over the lowered limits').toBeDefined();
    const weights = randomWeights(o, 81);
    const input = uniform(rng(82), steps * batch, 1);
    const gru = await GRU.create(tight, o, weights);
    const t0 = performance.now();
    const got = await gru.forward(input, { steps, batch });
    const ms = performance.now() - t0;
    gru.destroy();
    const want = gruReference(o, weights, input, { steps, batch });
    const d = assertClose('output', got.output, want.output, F32_TOLERANCE);
    assertClose('hN', got.hN, want.hN, F32_TOLERANCE);
    console.log(
      `split: T × B × H = ${steps} × ${batch} × ${o.hiddenSize}, ${(got.output.byteLength / MIB).toFixed(0)} MiB of output in pieces of ` +
        `${split?.rows} rows × ${split?.steps} steps: ${(ms / 1000).toFixed(1)} s, largest |error| ${d.maxAbs.toExponential(2)}`,
    );
  } finally {
    device.destroy();
  }
}, 600_000);
