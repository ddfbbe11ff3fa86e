/**
 * Every kind of bad argument throws a GRUError whose message names the argument, the expected and
 * the given value — never a WebGPU validation error (the guard around each case fails on those).
 */
import { GRU, GRUError, gruReference, type GRUOptions, type GRUWeights } from '../../src/index.js';
import type { Case } from './registry.js';
import { expectGRUError, randomWeights } from './util.js';

const base: GRUOptions = { inputSize: 3, hiddenSize: 4 };

/** Options that must be rejected, with the message each must produce. */
const BAD_OPTIONS: [string, unknown, RegExp][] = [
  ['not an object', 7, /^options: expected an object of GRUOptions, got 7$/],
  ['unknown key', { ...base, hiddensize: 4 }, /^options: unknown option "hiddensize"; expected one of inputSize, hiddenSize/],
  ['inputSize 0', { ...base, inputSize: 0 }, /^options\.inputSize: expected a positive integer, got 0$/],
  ['inputSize 2.5', { ...base, inputSize: 2.5 }, /^options\.inputSize: expected a positive integer, got 2\.5$/],
  ['hiddenSize string', { ...base, hiddenSize: '4' }, /^options\.hiddenSize: expected a positive integer, got "4"$/],
  ['numLayers 0', { ...base, numLayers: 0 }, /^options\.numLayers: expected a positive integer, got 0$/],
  [
    'direction',
    { ...base, direction: 'sideways' },
    /^options\.direction: expected one of 'forward', 'reverse', 'bidirectional', got "sideways"$/,
  ],
  ['batchFirst', { ...base, batchFirst: 'yes' }, /^options\.batchFirst: expected a boolean, got "yes"$/],
  ['resetAfter', { ...base, resetAfter: 1 }, /^options\.resetAfter: expected a boolean, got 1$/],
  ['gateOrder', { ...base, gateOrder: 'nzr' }, /^options\.gateOrder: expected one of 'rzn', 'zrn', got "nzr"$/],
  [
    'activations length',
    { ...base, activations: ['sigmoid'] },
    /^options\.activations: expected \[gate activation, candidate activation\] \(an array of 2\), got array\(1\)$/,
  ],
  [
    'activation name',
    { ...base, activations: ['sigmoid', 'swish'] },
    /^options\.activations\[1\]: expected an activation \(sigmoid, tanh, relu, hardSigmoid/,
  ],
  [
    'lower-case ONNX name',
    { ...base, activations: ['hardsigmoid', 'tanh'] },
    /^options\.activations\[0\]: expected an activation \(sigmoid, tanh, relu, hardSigmoid, .*, or as ONNX spells them: Sigmoid, HardSigmoid, …\), got "hardsigmoid"$/,
  ],
  [
    'activation object name',
    { ...base, activations: [{ name: 'Swish' }, 'tanh'] },
    /^options\.activations\[0\]\.name: expected one of sigmoid, tanh, relu, hardSigmoid, .* \(or as ONNX spells them\), got "Swish"$/,
  ],
  [
    'activation alpha',
    { ...base, activations: ['sigmoid', { name: 'elu', alpha: NaN }] },
    /^options\.activations\[1\]\.alpha: expected a finite number, got NaN$/,
  ],
  [
    'activation key',
    { ...base, activations: ['sigmoid', { name: 'elu', gamma: 1 }] },
    /^options\.activations\[1\]: unknown option "gamma"/,
  ],
  ['clip', { ...base, clip: -1 }, /^options\.clip: expected a finite number > 0, got -1$/],
  ['weightFormat other', { ...base, weightFormat: 'bf16' }, /^options\.weightFormat: expected one of 'f32', 'f16', 'int8', got "bf16"$/],
];

function badWeights(): [string, (w: GRUWeights[]) => unknown, RegExp][] {
  return [
    ['not an array', () => ({}), /^weights: expected an array of 2 GRUWeights \(numLayers × directions = 1 × 2\), got an object$/],
    ['count', (w) => w.slice(1), /^weights: expected 2 entries \(numLayers × directions = 1 × 2\), got 1$/],
    [
      'weightIh length',
      (w) => [w[0], { ...w[1], weightIh: new Float32Array(5) }],
      /^weights\[1\]\.weightIh: expected \[3H, 3\] = \[12, 3\] = 36 values, got 5$/,
    ],
    [
      'weightHh type',
      (w) => [{ ...w[0], weightHh: new Float64Array(48) }, w[1]],
      /^weights\[0\]\.weightHh: expected a Float32Array of \[3H, H\] = \[12, 4\] = 48 values, got Float64Array\(48\)$/,
    ],
    [
      'biasHh length',
      (w) => [w[0], { ...w[1], biasHh: new Float32Array(4) }],
      /^weights\[1\]\.biasHh: expected \[3H\] = \[12\] = 12 values, got 4$/,
    ],
    [
      'unknown key',
      (w) => [{ ...w[0], bias: new Float32Array(12) }, w[1]],
      /^weights\[0\]: unknown option "bias"; expected one of weightIh, weightHh, biasIh, biasHh$/,
    ],
  ];
}

export const errorCases: Case[] = [
  {
    name: 'errors: every bad option is a GRUError naming it (GRU.create and gruReference)',
    async run(device) {
      for (const [, options, pattern] of BAD_OPTIONS) {
        await expectGRUError(() => GRU.create(device, options as GRUOptions, []), pattern);
        await expectGRUError(() => gruReference(options as GRUOptions, [], new Float32Array(0), { steps: 1, batch: 1 }), pattern);
      }
      await expectGRUError(() => GRU.create({} as GPUDevice, base, []), /^device: expected a GPUDevice, got an object$/);
    },
  },
  {
    name: 'errors: every bad weight is a GRUError naming the tensor and both shapes',
    async run(device) {
      const o: GRUOptions = { ...base, direction: 'bidirectional' };
      for (const [, mutate, pattern] of badWeights()) {
        await expectGRUError(() => GRU.create(device, o, mutate(randomWeights(o, 1)) as GRUWeights[]), pattern);
      }
    },
  },
  {
    name: 'errors: bad forward arguments, destroyed GRU, GPU-buffer and streaming misuse',
    async run(device) {
      const o: GRUOptions = { ...base, numLayers: 2 };
      const gru = await GRU.create(device, o, randomWeights(o, 2));
      const other = await GRU.create(device, o, randomWeights(o, 3));
      const input = new Float32Array(5 * 2 * 3);
      const f = (x: unknown, args: unknown) => () => gru.forward(x as Float32Array, args as { steps: number; batch: number });
      try {
        await expectGRUError(f(input, { steps: 5, batch: 3 }), /^input: expected \[T, B, I\] = \[5, 3, 3\] = 45 values, got 30$/);
        await expectGRUError(
          f(Array.from(input), { steps: 5, batch: 2 }),
          /^input: expected a Float32Array of \[T, B, I\] = \[5, 2, 3\] = 30 values, got array\(30\)$/,
        );
        await expectGRUError(f(input, { steps: 0, batch: 2 }), /^args\.steps: expected a positive integer, got 0$/);
        await expectGRUError(f(input, { steps: 5, batch: 1.5 }), /^args\.batch: expected a positive integer, got 1\.5$/);
        await expectGRUError(
          f(input, { steps: 5, batch: 2, h0: new Float32Array(3) }),
          /^args\.h0: expected \[L·D, B, H\] = \[2, 2, 4\] = 16 values, got 3$/,
        );
        await expectGRUError(
          f(input, { steps: 5, batch: 2, seqLengths: [5, 5] }),
          /^args\.seqLengths: expected an Int32Array of \[B\] = 2 lengths, got array\(2\)$/,
        );
        await expectGRUError(
          f(input, { steps: 5, batch: 2, seqLengths: Int32Array.of(5) }),
          /^args\.seqLengths: expected \[B\] = 2 lengths, got 1$/,
        );
        await expectGRUError(
          f(input, { steps: 5, batch: 2, seqLengths: Int32Array.of(3, 6) }),
          /^args\.seqLengths\[1\]: expected a length in \[0, steps = 5\], got 6$/,
        );
        await expectGRUError(
          f(input, { steps: 5, batch: 2, seqLengths: Int32Array.of(-1, 2) }),
          /^args\.seqLengths\[0\]: expected a length in \[0, steps = 5\], got -1$/,
        );
        await expectGRUError(
          f(input, { steps: 5, batch: 2, lengths: 3 }),
          /^args: unknown option "lengths"; expected one of steps, batch, h0, seqLengths$/,
        );
        await expectGRUError(f(input, undefined), /^args: expected \{ steps, batch, h0\?, seqLengths\? \}, got undefined$/);

        const noStorage = device.createBuffer({ size: 120, usage: GPUBufferUsage.COPY_DST });
        const small = device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE });
        try {
          await expectGRUError(
            () => gru.forwardGPU(noStorage, { steps: 5, batch: 2 }),
            /^input: expected a GPUBuffer with STORAGE \(\[T, B, I\] = \[5, 2, 3\]\) usage, got usage flags 0x8$/,
          );
          await expectGRUError(
            () => gru.forwardGPU(small, { steps: 5, batch: 2 }),
            /^input: expected a GPUBuffer of at least 120 bytes, got 64$/,
          );
          await expectGRUError(
            () => gru.forwardGPU(input as unknown as GPUBuffer, { steps: 5, batch: 2 }),
            /^input: expected a GPUBuffer of at least 120 bytes with STORAGE/,
          );
          await expectGRUError(
            () => gru.forwardGPU(small, { steps: 1, batch: 2, output: noStorage }),
            /^args\.output: expected a GPUBuffer of at least 64 bytes, got 120|^args\.output: expected a GPUBuffer with STORAGE usage/,
          );
        } finally {
          noStorage.destroy();
          small.destroy();
        }

        await expectGRUError(() => gru.createState(0), /^batch: expected a positive integer, got 0$/);
        await expectGRUError(
          () => gru.createState(2, { h0: new Float32Array(1) }),
          /^h: expected \[L, B, H\] = \[2, 2, 4\] = 16 values, got 1$/,
        );
        const state = gru.createState(2);
        await expectGRUError(() => gru.step(new Float32Array(5), state), /^x: expected \[B, I\] = \[2, 3\] = 6 values, got 5$/);
        await expectGRUError(
          () => other.step(new Float32Array(6), state),
          /^state: expected a GRUState made by this GRU's createState, got a GRUState$/,
        );
        const bidirectional = await GRU.create(
          device,
          { ...base, direction: 'bidirectional' },
          randomWeights({ ...base, direction: 'bidirectional' }, 4),
        );
        await expectGRUError(
          () => bidirectional.createState(1),
          /^createState: expected a GRU with direction 'forward' .*got "bidirectional"$/,
        );
        bidirectional.destroy();

        gru.destroy();
        gru.destroy(); // twice is harmless
        await expectGRUError(f(input, { steps: 5, batch: 2 }), /^this GRU: expected a live GRU, got one that was destroyed/);
        await expectGRUError(() => gru.step(new Float32Array(6), state), /^this GRU: expected a live GRU, got one that was destroyed/);
        await expectGRUError(() => state.get(), /^state: expected a live GRUState, got one that was destroyed$/);
        if (!(new GRUError('x') instanceof Error)) throw new Error('GRUError must be an Error');
      } finally {
        gru.destroy();
        other.destroy();
      }
    },
  },
  {
    name: 'errors: sizes past the device limits name the limit, before any GPU work',
    async run(device) {
      const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
      // Recurrent weights of a hidden size whose Uᵀ alone is over the limit; the error comes
      // before the (huge) weights would even be read.
      const H = Math.ceil(Math.sqrt(limit / 12)) + 1;
      // weightHh is a stand-in that passes the type and length checks without allocating the
      // gigabyte-sized array; the limit check must come before anything reads it.
      const weightHh = Object.setPrototypeOf({ length: 3 * H * H }, Float32Array.prototype) as Float32Array;
      const hollow: GRUWeights = { weightIh: new Float32Array(3 * H), weightHh };
      await expectGRUError(
        () => GRU.create(device, { inputSize: 1, hiddenSize: H }, [hollow]),
        /^weights: layer 0's weights \(U \[D, H, 3H\] and W \[K, D·3H\]\) needs \d+ bytes, over this device's max(StorageBufferBindingSize|BufferSize) \(\d+ bytes\)$/,
      );
      // A forced persistent schedule whose h does not fit in workgroup memory.
      const wide = Math.floor(device.limits.maxComputeWorkgroupStorageSize / 8) + 4;
      const wideHh = Object.setPrototypeOf({ length: 3 * wide * wide }, Float32Array.prototype) as Float32Array;
      await expectGRUError(
        () =>
          GRU.create(device, { inputSize: 1, hiddenSize: wide, schedule: 'persistent' }, [
            { weightIh: new Float32Array(3 * wide), weightHh: wideHh },
          ]),
        /^options\.schedule: 'persistent' with hiddenSize \d+ needs \d+ bytes of workgroup memory, over this device's maxComputeWorkgroupStorageSize \(\d+\); use 'auto' or 'stepwise'$/,
      );
      await expectGRUError(
        () => GRU.create(device, { inputSize: 1, hiddenSize: 1, schedule: 'fast' as 'auto' }, []),
        /^options\.schedule: expected one of 'auto', 'stepwise', 'persistent', 'persistent-split', 'wavefront', got "fast"$/,
      );
      // A forced wavefront on a bidirectional stack, and on a stack whose layers each fit a
      // binding but not all of them together (hollow weights again: nothing may read them).
      const bi: GRUOptions = { inputSize: 3, hiddenSize: 4, numLayers: 2, direction: 'bidirectional', schedule: 'wavefront' };
      await expectGRUError(
        () => GRU.create(device, bi, randomWeights(bi, 6)),
        /^options\.schedule: 'wavefront' runs a stack of one direction \(layer l \+ 1 needs all of layer l's reverse pass\); expected direction 'forward' or 'reverse', got 'bidirectional'$/,
      );
      const tall = Math.floor(Math.sqrt(limit / 30));
      const hollowHh = Object.setPrototypeOf({ length: 3 * tall * tall }, Float32Array.prototype) as Float32Array;
      await expectGRUError(
        () =>
          GRU.create(device, { inputSize: 1, hiddenSize: tall, numLayers: 2, schedule: 'wavefront' }, [
            { weightIh: new Float32Array(3 * tall), weightHh: hollowHh },
            { weightIh: hollowHh, weightHh: hollowHh },
          ]),
        /^options\.schedule: 'wavefront' binds every layer's weights at once, \d+ bytes, over this device's maxStorageBufferBindingSize or maxBufferSize \(\d+\); use 'auto' or 'stepwise'$/,
      );
      // A forward past the limits runs in pieces (test/suite/split.ts), except a bidirectional row
      // longer than a binding holds: its projection buffer is the largest of a forward.
      const o: GRUOptions = { inputSize: 2, hiddenSize: 64, direction: 'bidirectional' };
      const gru = await GRU.create(device, o, randomWeights(o, 5));
      try {
        const steps = Math.ceil(limit / (2 * 3 * 64 * 4)) + 1;
        await expectGRUError(
          () => gru.forward(new Float32Array(steps * 2), { steps, batch: 1 }),
          /^args\.steps: a bidirectional forward cannot be split in time, and one row of \d+ steps needs \d+ bytes in one binding/,
        );
      } finally {
        gru.destroy();
      }
    },
  },
];
