/**
 * The streaming form (createState / step / stepGPU, with get, set and reset of the state) and the
 * GPU-buffer form of forward, each against the array form over the same data.
 * Streaming vs forward: 1e-6 absolute + 1e-6 relative — the same kernels, but the projection
 * tile sees other rows, so a compiler may order the same sums differently. forwardGPU vs forward:
 * exactly equal (the same plan, pipelines and data).
 */
import { GRU, type GPUResult, type GRUOptions, type Schedule } from '../../src/index.js';
import type { Case } from './registry.js';
import { assertClose, expectGRUError, randomWeights, readBuffer, rng, uniform, uploadBuffer, type Tolerance } from './util.js';

const SAME_KERNELS: Tolerance = { rtol: 1e-6, atol: 1e-6 };
const EXACT: Tolerance = { rtol: 0, atol: 0 };

function streamingCase(resetAfter: boolean, schedule: Schedule): Case {
  const o: GRUOptions = { inputSize: 17, hiddenSize: 65, numLayers: 2, resetAfter, gateOrder: resetAfter ? 'rzn' : 'zrn', schedule };
  return {
    name: `streaming step/stepGPU/encodeStep/get/set/reset match forward (${resetAfter ? 'resetAfter' : 'resetFirst'}, 2 layers, ${schedule})`,
    timeoutMs: 60_000,
    async run(device) {
      const T = 12;
      const B = 3;
      const H = o.hiddenSize;
      const I = o.inputSize;
      const random = rng(resetAfter ? 71 : 72);
      const input = uniform(random, T * B * I, 1);
      const h0 = uniform(random, 2 * B * H, 1);
      const gru = await GRU.create(device, o, randomWeights(o, 73));
      try {
        const whole = await gru.forward(input, { steps: T, batch: B, h0 });
        const state = gru.createState(B, { h0 });
        assertClose('state.get() after createState', await state.get(), h0, EXACT);
        for (let t = 0; t < T; t++) {
          const x = input.subarray(t * B * I, (t + 1) * B * I);
          let y: Float32Array;
          if (t % 3 === 0) {
            y = await gru.step(x, state);
          } else {
            const xBuffer = uploadBuffer(device, x, GPUBufferUsage.STORAGE);
            if (t % 3 === 1) {
              y = await readBuffer(device, gru.stepGPU(xBuffer, state), B * H * 4);
            } else {
              const encoder = device.createCommandEncoder();
              const out = gru.encodeStep(encoder, xBuffer, state);
              device.queue.submit([encoder.finish()]);
              y = await readBuffer(device, out, B * H * 4);
            }
            xBuffer.destroy();
          }
          assertClose(`step ${t}`, y, whole.output.subarray(t * B * H, (t + 1) * B * H), SAME_KERNELS);
        }
        assertClose('state.get() after the sequence', await state.get(), whole.hN, SAME_KERNELS);

        // set(h) then the second half of the sequence equals a forward over it from h.
        const mid = 5;
        const tail = input.subarray(mid * B * I);
        const fromMid = await gru.forward(Float32Array.from(tail), { steps: T - mid, batch: B, h0: whole.hN });
        state.set(whole.hN);
        let last: Float32Array = new Float32Array(0);
        for (let t = mid; t < T; t++) last = await gru.step(input.subarray(t * B * I, (t + 1) * B * I), state);
        assertClose('after set()', last, fromMid.output.subarray((T - mid - 1) * B * H), SAME_KERNELS);

        // reset() is a zero state: the first step equals a forward without h0.
        state.reset();
        assertClose('state.get() after reset()', await state.get(), new Float32Array(2 * B * H), EXACT);
        const first = await gru.step(input.subarray(0, B * I), state);
        const noH0 = await gru.forward(input.subarray(0, B * I), { steps: 1, batch: B });
        assertClose('first step after reset()', first, noH0.output, SAME_KERNELS);
        state.destroy();
        await expectGRUError(() => gru.step(input.subarray(0, B * I), state), /state: .*destroyed/);
      } finally {
        gru.destroy();
      }
    },
  };
}

function gpuFormCase(o: GRUOptions, lengths: boolean): Case {
  return {
    name: `forwardGPU equals forward (${o.direction ?? 'forward'}${o.batchFirst ? ', batchFirst' : ''}${lengths ? ', seqLengths, h0 buffer, caller outputs' : ''}); a destroyed input rejects done`,
    async run(device) {
      const T = 9;
      const B = 5;
      const D = o.direction === 'bidirectional' ? 2 : 1;
      const L = o.numLayers ?? 1;
      const H = o.hiddenSize;
      const random = rng(81);
      const input = uniform(random, T * B * o.inputSize, 1);
      const h0 = uniform(random, L * D * B * H, 1);
      const seqLengths = lengths ? Int32Array.from([9, 0, 4, 1, 8]) : undefined;
      const gru = await GRU.create(device, o, randomWeights(o, 82));
      const owned: GPUBuffer[] = [];
      try {
        const want = await gru.forward(input, { steps: T, batch: B, h0, seqLengths });
        const inputBuffer = uploadBuffer(device, input, GPUBufferUsage.STORAGE);
        owned.push(inputBuffer);
        let result: GPUResult;
        if (lengths) {
          const h0Buffer = uploadBuffer(device, h0, GPUBufferUsage.COPY_SRC);
          const output = device.createBuffer({ size: T * B * D * H * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
          const hN = device.createBuffer({ size: L * D * B * H * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
          owned.push(h0Buffer, output, hN);
          result = gru.forwardGPU(inputBuffer, { steps: T, batch: B, h0: h0Buffer, seqLengths, output, hN });
          if (result.output !== output || result.hN !== hN) throw new Error('forwardGPU did not write into the given buffers');
        } else {
          result = gru.forwardGPU(inputBuffer, { steps: T, batch: B, h0 });
          owned.push(result.output, result.hN);
        }
        assertClose('forwardGPU output', await readBuffer(device, result.output, T * B * D * H * 4), want.output, EXACT);
        assertClose('forwardGPU hN', await readBuffer(device, result.hN, L * D * B * H * 4), want.hN, EXACT);
        await result.done;
        // A buffer destroyed before the call: only the device can tell, at the submit. It is
        // reported through `done`, never as an uncaptured WebGPU error.
        inputBuffer.destroy();
        const refused = gru.forwardGPU(inputBuffer, { steps: T, batch: B });
        owned.push(refused.output, refused.hN);
        await expectGRUError(
          () => refused.done,
          /^input, args\.h0, args\.output, args\.hN: expected live GPUBuffers, got one the device refused \(.*destroyed/is,
        );
      } finally {
        for (const b of owned) b.destroy();
        gru.destroy();
      }
    },
  };
}

export const streamingCases: Case[] = [
  ...GRU.schedules.flatMap((schedule) => [streamingCase(true, schedule), streamingCase(false, schedule)]),
  gpuFormCase({ inputSize: 3, hiddenSize: 17, numLayers: 1 }, false),
  gpuFormCase({ inputSize: 5, hiddenSize: 17, numLayers: 2, direction: 'bidirectional', batchFirst: true, resetAfter: false }, true),
];
