/**
 * The dispatch schedule is part of the contract (one submit per forward; no per-step queue
 * writes), so it is counted: the encoder's dispatches and the queue's submits and writes are
 * wrapped while one forward runs.
 */
import { GRU, type GRUOptions } from '../../src/index.js';
import type { Case } from './registry.js';
import { resolveOptions } from '../../src/options.js';
import { persistentChunk } from '../../src/schedule.js';
import { randomWeights } from './util.js';

interface Counts {
  dispatches: number;
  submits: number;
  writes: number;
}

async function count(device: GPUDevice, fn: () => Promise<unknown>): Promise<Counts> {
  const counts: Counts = { dispatches: 0, submits: 0, writes: 0 };
  const createEncoder = device.createCommandEncoder;
  const queue = device.queue;
  const submit = queue.submit;
  const writeBuffer = queue.writeBuffer;
  device.createCommandEncoder = (descriptor?: GPUCommandEncoderDescriptor) => {
    const encoder = createEncoder.call(device, descriptor);
    const beginComputePass = encoder.beginComputePass;
    encoder.beginComputePass = (passDescriptor?: GPUComputePassDescriptor) => {
      const pass = beginComputePass.call(encoder, passDescriptor);
      const dispatch = pass.dispatchWorkgroups;
      pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
        counts.dispatches++;
        dispatch.call(pass, x, y, z);
      };
      return pass;
    };
    return encoder;
  };
  queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
    counts.submits++;
    submit.call(queue, buffers);
  };
  queue.writeBuffer = ((...args: Parameters<GPUQueue['writeBuffer']>) => {
    counts.writes++;
    writeBuffer.apply(queue, args);
  }) as GPUQueue['writeBuffer'];
  try {
    await fn();
  } finally {
    device.createCommandEncoder = createEncoder;
    queue.submit = submit;
    queue.writeBuffer = writeBuffer;
  }
  return counts;
}

function dispatchCase(label: string, o: GRUOptions, steps: number, counts: Counts | ((device: GPUDevice) => Counts)): Case {
  const named = typeof counts === 'function' ? 'chunked' : `${counts.dispatches}`;
  return {
    name: `dispatches: ${label}: ${named} dispatches, 1 submit per forward`,
    async run(device) {
      const expected = typeof counts === 'function' ? counts(device) : counts;
      const gru = await GRU.create(device, o, randomWeights(o, 40));
      try {
        const input = new Float32Array(steps * 2 * o.inputSize);
        await gru.forward(input, { steps, batch: 2 }); // the first forward builds the plan
        const counts = await count(device, () => gru.forward(input, { steps, batch: 2 }));
        // Per forward the queue writes only the input, the lengths and (with h0) the state.
        if (counts.dispatches !== expected.dispatches || counts.submits !== expected.submits || counts.writes > expected.writes) {
          throw new Error(`expected ${JSON.stringify(expected)} (writes at most), counted ${JSON.stringify(counts)}`);
        }
      } finally {
        gru.destroy();
      }
    },
  };
}

const one: GRUOptions = { inputSize: 3, hiddenSize: 5 };
const stack: GRUOptions = { inputSize: 3, hiddenSize: 5, numLayers: 2, direction: 'bidirectional' };
const deep: GRUOptions = { inputSize: 3, hiddenSize: 5, numLayers: 3 };

export const dispatchCases: Case[] = [
  dispatchCase('1 layer, 100 steps, stepwise', { ...one, schedule: 'stepwise' }, 100, { dispatches: 101, submits: 1, writes: 2 }),
  dispatchCase('1 layer, 100 steps, persistent', { ...one, schedule: 'persistent' }, 100, { dispatches: 1, submits: 1, writes: 2 }),
  dispatchCase('1 layer, 100 steps, persistent-split', { ...one, schedule: 'persistent-split' }, 100, {
    dispatches: 2,
    submits: 1,
    writes: 2,
  }),
  // Reset first: one pass per step where a workgroup holds all H units (H ≤ 256), else two.
  dispatchCase('1 layer, 100 steps, reset first, stepwise', { ...one, resetAfter: false, schedule: 'stepwise' }, 100, {
    dispatches: 101,
    submits: 1,
    writes: 2,
  }),
  dispatchCase(
    '1 layer H = 257, 100 steps, reset first, stepwise',
    { ...one, hiddenSize: 257, resetAfter: false, schedule: 'stepwise' },
    100,
    { dispatches: 201, submits: 1, writes: 2 },
  ),
  dispatchCase('2 layers bidirectional, 100 steps, stepwise', { ...stack, schedule: 'stepwise' }, 100, {
    dispatches: 202,
    submits: 1,
    writes: 2,
  }),
  dispatchCase('2 layers bidirectional, 100 steps, persistent', { ...stack, schedule: 'persistent' }, 100, {
    dispatches: 2,
    submits: 1,
    writes: 2,
  }),
  dispatchCase('2 layers bidirectional, 100 steps, persistent-split', { ...stack, schedule: 'persistent-split' }, 100, {
    dispatches: 4,
    submits: 1,
    writes: 2,
  }),
  // Wavefront: layer 0's projection, then T + L − 1 waves (two dispatches each with the reset gate first).
  dispatchCase('3 layers, 100 steps, stepwise', { ...deep, schedule: 'stepwise' }, 100, { dispatches: 303, submits: 1, writes: 2 }),
  dispatchCase('3 layers, 100 steps, wavefront', { ...deep, schedule: 'wavefront' }, 100, { dispatches: 103, submits: 1, writes: 2 }),
  dispatchCase('3 layers, 100 steps, persistent', { ...deep, schedule: 'persistent' }, 100, { dispatches: 1, submits: 1, writes: 2 }),
  dispatchCase('3 layers, 100 steps, reset first, wavefront', { ...deep, resetAfter: false, schedule: 'wavefront' }, 100, {
    dispatches: 103,
    submits: 1,
    writes: 2,
  }),
  dispatchCase(
    '3 layers H = 257, 100 steps, reset first, wavefront',
    { ...deep, hiddenSize: 257, resetAfter: false, schedule: 'wavefront' },
    100,
    { dispatches: 205, submits: 1, writes: 2 },
  ),
  // Chunks of 2048 steps, fewer where the adapter bounds loops (llvmpipe): see persistentChunk.
  dispatchCase('1 layer, 5000 steps, persistent', { ...one, schedule: 'persistent' }, 5000, (device) => ({
    dispatches: Math.ceil(5000 / persistentChunk(device, resolveOptions({ ...one, schedule: 'persistent' }))),
    submits: 1,
    writes: 2,
  })),
];
