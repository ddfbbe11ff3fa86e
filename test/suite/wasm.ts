/**
 * The WebAssembly backend (`WasmGRU`) and the backend choice (`createGRU`), in Node and in headless
 * Chromium like the rest of the suite (these cases ignore the GPU device, except the choice).
 *
 * Every configuration of the core matrix, the activation set and the weight formats runs against
 * the float64 reference under each kernel build, forced: SIMD128 and relaxed SIMD on one thread,
 * and the engine's choice on 3 threads (shared memory: Node, and the test page is cross-origin
 * isolated). Tolerance: F32_TOLERANCE (1e-5 absolute + 1e-5 relative), as for the GPU; the
 * weight formats keep their own (test/suite/formats.ts).
 */
import gruSource from '../../assembly/gru.ts?raw';
import {
  createGRU,
  GRU,
  GRUError,
  gruReference,
  WasmGRU,
  type WasmGRUState,
  type GRUOptions,
  type WasmBackendOptions,
} from '../../src/index.js';
import { CFG_FIELDS } from '../../src/wasm/layout.js';
import { liveWorkers } from '../../src/wasm/pool.js';
import { ACTIVATION_CONFIGS } from './activations.js';
import { SHAPES, TOLERANCE } from './formats.js';
import { MATRIX, matrixData } from './matrix.js';
import type { Case } from './registry.js';
import {
  assertClose,
  expectGRUError,
  F32_TOLERANCE,
  randomWeights,
  rng,
  uniform,
  type CaseData,
  type Difference,
  type Tolerance,
} from './util.js';

/** The largest error of the wasm backend against the reference over the f32 cases, for the report. */
export const wasmWorst: Difference = { maxAbs: 0, maxRel: 0 };

const VARIANTS: WasmBackendOptions[] = [
  { simd: 'simd128', threads: 1 },
  { simd: 'relaxed', threads: 1 },
  { threads: 3, poolThreshold: 0 },
];

const variantName = (v: WasmBackendOptions) => `${v.simd ?? 'auto'}×${v.threads}`;

async function checkWasm(d: CaseData, variants: WasmBackendOptions[], tol: Tolerance = F32_TOLERANCE): Promise<void> {
  const want = gruReference(d.options, d.weights, d.input, d.args);
  for (const v of variants) {
    const gru = await WasmGRU.create(d.options, d.weights, v);
    try {
      const got = await gru.forward(d.input, d.args);
      const a = assertClose(`${variantName(v)} output`, got.output, want.output, tol);
      const b = assertClose(`${variantName(v)} hN`, got.hN, want.hN, tol);
      if (tol === F32_TOLERANCE) {
        wasmWorst.maxAbs = Math.max(wasmWorst.maxAbs, a.maxAbs, b.maxAbs);
        wasmWorst.maxRel = Math.max(wasmWorst.maxRel, a.maxRel, b.maxRel);
      }
      if (gru.memoryBytes === 0) throw new Error('memoryBytes is 0 on a live GRU');
    } finally {
      gru.destroy();
    }
    if (gru.memoryBytes !== 0)
      throw new Error(`${variantName(v)}: ${gru.memoryBytes} bytes of wasm memory still allocated after destroy()`);
  }
}

const matrixCases: Case[] = MATRIX.map(({ config, name }, index) => ({
  name: `wasm ${name}`,
  timeoutMs: 60_000,
  run: () => checkWasm(matrixData(config, index), VARIANTS),
}));

const activationCases: Case[] = ACTIVATION_CONFIGS.map((c) => ({
  name: `wasm ${c.name}`,
  run: () => checkWasm(c.data(), VARIANTS.slice(0, 2)),
}));

/**
 * Weights past 1 MB take gemm's chunked loop order (rows in chunks of 436 here, 600 rows in all),
 * which the small shapes above never reach.
 */
const chunkedCase: Case = {
  name: 'wasm matrix products over weights past 1 MB: I = H = 300, T = 150, B = 4 (chunked rows)',
  timeoutMs: 60_000,
  async run() {
    const o: GRUOptions = { inputSize: 300, hiddenSize: 300, resetAfter: false };
    const args = { steps: 150, batch: 4, seqLengths: Int32Array.of(150, 149, 7, 0) };
    const input = uniform(rng(31), 150 * 4 * 300, 1);
    await checkWasm({ options: o, weights: randomWeights(o, 32), input, args }, VARIANTS.slice(0, 1));
  },
};

const formatCases: Case[] = (['f16', 'int8'] as const).map((format) => ({
  name: `wasm weightFormat ${format}: every shape of test/suite/formats.ts`,
  async run() {
    for (const [index, { o, steps, batch }] of SHAPES.entries()) {
      const options = { ...o, weightFormat: format };
      const input = uniform(rng(700 + index), steps * batch * o.inputSize, 1);
      await checkWasm(
        { options, weights: randomWeights(o, 710 + index), input, args: { steps, batch } },
        VARIANTS.slice(0, 1),
        TOLERANCE[format],
      );
    }
  },
}));

/** Streaming through the same kernels as forward, one step per call: the sums are the same, in the same order. */
const SAME: Tolerance = { rtol: 1e-6, atol: 1e-6 };
const EXACT: Tolerance = { rtol: 0, atol: 0 };

const streamingCases: Case[] = [true, false].map((resetAfter) => ({
  name: `wasm streaming: stepSync/step/get/set/reset match forward (${resetAfter ? 'resetAfter' : 'resetFirst'}, 2 layers)`,
  async run() {
    const o: GRUOptions = { inputSize: 17, hiddenSize: 65, numLayers: 2, resetAfter, gateOrder: resetAfter ? 'rzn' : 'zrn' };
    const T = 12;
    const B = 3;
    const H = o.hiddenSize;
    const random = rng(resetAfter ? 81 : 82);
    const input = uniform(random, T * B * o.inputSize, 1);
    const h0 = uniform(random, 2 * B * H, 1);
    const gru = WasmGRU.createSync(o, randomWeights(o, 83));
    try {
      const whole = await gru.forward(input, { steps: T, batch: B, h0 });
      const state = gru.createState(B, { h0 });
      assertClose('state.get() after createState', await state.get(), h0, EXACT);
      const out = new Float32Array(B * H);
      let view: Float32Array | undefined;
      for (let t = 0; t < T; t++) {
        const x = input.subarray(t * B * o.inputSize, (t + 1) * B * o.inputSize);
        const want = whole.output.subarray(t * B * H, (t + 1) * B * H);
        if (t % 3 === 0) {
          const got = gru.stepSync(x, state);
          // No allocation per step: the same view of the GRU's memory every time.
          if (view && got !== view) throw new Error("stepSync without `out` returned a new array; expected the state's view");
          view = got;
          assertClose(`stepSync t=${t}`, got, want, SAME);
        } else if (t % 3 === 1) {
          const got = gru.stepSync(x, state, out);
          if (got !== out) throw new Error('stepSync(x, state, out) did not return `out`');
          assertClose(`stepSync(out) t=${t}`, out, want, SAME);
        } else {
          assertClose(`step t=${t}`, await gru.step(x, state), want, SAME);
        }
      }
      assertClose('state.get() at the end (= hN)', state.getSync(), whole.hN, SAME);
      state.reset();
      assertClose('state after reset()', await state.get(), new Float32Array(2 * B * H), EXACT);
      state.set(h0);
      assertClose('state after set(h0)', await state.get(), h0, EXACT);
      const again = gru.stepSync(input.subarray(0, B * o.inputSize), state).slice();
      assertClose('first step after set(h0)', again, whole.output.subarray(0, B * H), SAME);
      state.destroy();
      state.destroy();
      await expectGRUError(
        () => gru.stepSync(input.subarray(0, B * o.inputSize), state),
        /^state: expected a live GRUState, got one that was destroyed$/,
      );
    } finally {
      gru.destroy();
    }
  },
}));

/** A bad call on either backend: each must throw a GRUError with the same message. */
async function sameError(label: string, gpu: () => unknown, wasm: () => unknown): Promise<void> {
  const message = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (error) {
      if (!(error instanceof GRUError)) throw new Error(`${label}: expected a GRUError, got ${String(error)}`);
      return error.message;
    }
    throw new Error(`${label}: expected a GRUError, got no error`);
  };
  const [a, b] = [await message(gpu), await message(wasm)];
  if (a !== b) throw new Error(`${label}: the backends disagree:\n  webgpu: ${a}\n  wasm:   ${b}`);
}

const errorCases: Case[] = [
  {
    name: 'wasm errors: the same GRUErrors as the WebGPU GRU, and its own options named',
    async run(device) {
      const base: GRUOptions = { inputSize: 3, hiddenSize: 4, numLayers: 2 };
      const weights = randomWeights(base, 2);
      await sameError(
        'bad option',
        () => GRU.create(device, { ...base, hiddenSize: 0 }, weights),
        () => WasmGRU.create({ ...base, hiddenSize: 0 }, weights),
      );
      await sameError(
        'bad weights',
        () => GRU.create(device, base, weights.slice(1)),
        () => WasmGRU.create(base, weights.slice(1)),
      );
      const gpu = await GRU.create(device, base, weights);
      const wasm = await WasmGRU.create(base, weights);
      try {
        const input = new Float32Array(5 * 2 * 3);
        const bad: [string, Float32Array, unknown][] = [
          ['input length', input, { steps: 5, batch: 3 }],
          ['steps', input, { steps: 0, batch: 2 }],
          ['h0', input, { steps: 5, batch: 2, h0: new Float32Array(3) }],
          ['seqLengths', input, { steps: 5, batch: 2, seqLengths: Int32Array.of(3, 6) }],
          ['unknown key', input, { steps: 5, batch: 2, lengths: 3 }],
          ['args', input, undefined],
        ];
        for (const [label, x, args] of bad) {
          await sameError(
            label,
            () => gpu.forward(x, args as { steps: number; batch: number }),
            () => wasm.forward(x, args as { steps: number; batch: number }),
          );
        }
        await sameError(
          'createState batch',
          () => gpu.createState(0),
          () => wasm.createState(0),
        );
        await sameError(
          'createState h0',
          () => gpu.createState(2, { h0: new Float32Array(1) }),
          () => wasm.createState(2, { h0: new Float32Array(1) }),
        );
        const badInit = { h1: new Float32Array(1) } as { h0?: Float32Array };
        await sameError(
          'createState init key',
          () => gpu.createState(2, badInit),
          () => wasm.createState(2, badInit),
        );
        const gs = gpu.createState(2);
        const ws = wasm.createState(2);
        await sameError(
          'step x',
          () => gpu.step(new Float32Array(5), gs),
          () => wasm.step(new Float32Array(5), ws),
        );
        await sameError(
          'state.set',
          () => gs.set(new Float32Array(1)),
          () => ws.set(new Float32Array(1)),
        );
        await expectGRUError(
          () => wasm.stepSync(new Float32Array(6), ws, new Float32Array(3)),
          /^out: expected \[B, H\] = \[2, 4\] = 8 values, got 3$/,
        );
        // A state too large for the memory names its batch (found by the fuzzer, test/fuzz/).
        await expectGRUError(
          () => wasm.createState(2 ** 40),
          /^batch: expected a state that fits this GRU's memory, got 1099511627776 rows \(wasm backend: a streaming state of 1099511627776 rows: x needs \d+ bytes/,
        );
        await expectGRUError(
          () => wasm.step(new Float32Array(6), gs as unknown as WasmGRUState),
          /^state: expected a WasmGRUState made by this GRU's createState, got a GRUState$/,
        );
        gpu.destroy();
        wasm.destroy();
        await sameError(
          'destroyed',
          () => gpu.forward(input, { steps: 5, batch: 2 }),
          () => wasm.forward(input, { steps: 5, batch: 2 }),
        );
        await sameError(
          'destroyed state',
          () => gs.get(),
          () => ws.get(),
        );
      } finally {
        gpu.destroy();
        wasm.destroy();
      }
      await expectGRUError(
        () => WasmGRU.create(base, weights, { threads: 0 }),
        /^wasmOptions\.threads: expected an integer in \[1, 64\], got 0$/,
      );
      await expectGRUError(
        () => WasmGRU.create(base, weights, { simd: 'avx' as 'auto' }),
        /^wasmOptions\.simd: expected 'auto', 'relaxed' or 'simd128', got "avx"$/,
      );
      await expectGRUError(
        () => WasmGRU.create(base, weights, { thread: 2 } as WasmBackendOptions),
        /^wasmOptions: unknown option "thread"; expected one of threads, poolThreshold, simd, module$/,
      );
      await expectGRUError(
        () => createGRU(base, weights, { backend: 'cuda' as 'auto' }),
        /^init\.backend: expected 'auto', 'webgpu' or 'wasm', got "cuda"$/,
      );
      await expectGRUError(
        () => createGRU(base, weights, { backend: 'webgpu', gpu: { requestAdapter: async () => null } as unknown as GPU }),
        /^init\.backend: 'webgpu' needs a WebGPU adapter, got none from requestAdapter\(\)$/,
      );
    },
  },
  {
    name: 'wasm memory: 1000 create/forward/destroy cycles free all memory; threaded GRUs end their workers',
    timeoutMs: 120_000,
    async run() {
      const o: GRUOptions = { inputSize: 3, hiddenSize: 17 };
      const weights = randomWeights(o, 5);
      const input = uniform(rng(6), 4 * 2 * 3, 1);
      const want = gruReference(o, weights, input, { steps: 4, batch: 2 });
      const workers = liveWorkers();
      for (let i = 0; i < 1000; i++) {
        const gru = WasmGRU.createSync(o, weights);
        const state = gru.createState(1 + (i % 3));
        const got = await gru.forward(input, { steps: 4, batch: 2 });
        if (i % 100 === 0) assertClose(`cycle ${i}`, got.output, want.output, F32_TOLERANCE);
        if (i % 2) state.destroy();
        gru.destroy();
        if (gru.memoryBytes !== 0) throw new Error(`cycle ${i}: ${gru.memoryBytes} bytes still allocated after destroy()`);
      }
      for (let i = 0; i < 10; i++) {
        const gru = await WasmGRU.create(o, weights, { threads: 3, poolThreshold: 0 });
        assertClose(`threaded cycle ${i}`, (await gru.forward(input, { steps: 4, batch: 2 })).output, want.output, F32_TOLERANCE);
        if (liveWorkers() !== workers + 2) throw new Error(`threads: 3 should run 2 workers, ${liveWorkers() - workers} are live`);
        gru.destroy();
      }
      if (liveWorkers() !== workers) throw new Error(`${liveWorkers() - workers} workers left running after destroy()`);
    },
  },
  {
    name: 'wasm threads: a worker that dies mid-forward; the forward is redone on the calling thread',
    async run() {
      const o: GRUOptions = { inputSize: 9, hiddenSize: 33, direction: 'bidirectional' };
      const weights = randomWeights(o, 7);
      const input = uniform(rng(8), 20 * 4 * 9, 1);
      const args = { steps: 20, batch: 4 };
      const want = gruReference(o, weights, input, args);
      const gru = await WasmGRU.create(o, weights, { threads: 2, poolThreshold: 0 });
      try {
        assertClose('forward on the pool', (await gru.forward(input, args)).output, want.output, F32_TOLERANCE);
        const pending = gru.forward(input, args);
        // Kill worker 0 with an uncaught exception, as a crash would: it never answers its phase.
        (gru as unknown as { pool: { workers: { postMessage(m: unknown): void }[] } }).pool.workers[0].postMessage({ module: 1 });
        assertClose('forward with a dead worker', (await pending).output, want.output, F32_TOLERANCE);
        assertClose('forward after', (await gru.forward(input, args)).output, want.output, F32_TOLERANCE);
      } finally {
        gru.destroy();
      }
    },
  },
  {
    name: 'wasm kernels: the recur argument struct of assembly/gru.ts has the fields src/wasm/layout.ts writes',
    async run() {
      const body = /@unmanaged class Cfg \{([\s\S]*?)\n\}/.exec(gruSource)?.[1];
      if (!body) throw new Error('class Cfg not found in assembly/gru.ts');
      const fields = [...body.matchAll(/^\s+(\w+): (\w+);/gm)].map((m) => `${m[1]}:${m[2]}`);
      const floats = new Set(['fAlpha', 'fBeta', 'gAlpha', 'gBeta', 'clip']);
      const expected = CFG_FIELDS.map(
        (f) => `${f}:${floats.has(f) ? 'f32' : /^(gx|u|bhn|h|hg|rh|out|lengths)$/.test(f) ? 'usize' : 'i32'}`,
      );
      if (fields.join() !== expected.join())
        throw new Error(`Cfg fields:\n  assembly: ${fields.join(', ')}\n  layout:   ${expected.join(', ')}`);
    },
  },
];

/** A device whose adapter says it is `info`; destroy() is recorded, not done (it is the suite's device). */
function deviceClaiming(device: GPUDevice, info: Partial<GPUAdapterInfo>, destroyed: { count: number }): GPUDevice {
  return new Proxy(device, {
    get(target, key) {
      if (key === 'adapterInfo') return { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false, ...info };
      if (key === 'destroy') return () => destroyed.count++;
      const value = target[key as keyof GPUDevice];
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A `GPU` whose one adapter says it is `info` and hands out `device`. */
function gpuClaiming(device: GPUDevice, info: Partial<GPUAdapterInfo>): GPU {
  const adapter = {
    info: { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false, ...info },
    limits: device.limits,
    features: device.features,
    requestDevice: async () => device,
  };
  return { requestAdapter: async () => adapter } as unknown as GPU;
}

const HARDWARE = { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' };

const choiceCases: Case[] = [
  {
    name: "createGRU 'auto': wasm on a CPU adapter (this one), without WebGPU, and for a small model; WebGPU on hardware",
    async run(device) {
      const big: GRUOptions = { inputSize: 128, hiddenSize: 256 };
      const small: GRUOptions = { inputSize: 8, hiddenSize: 16 };
      const wBig = randomWeights(big, 9);
      const wSmall = randomWeights(small, 10);
      const input = uniform(rng(11), 2 * 128, 1);
      const want = gruReference(big, wBig, input, { steps: 2, batch: 1 });
      const expect = async (label: string, made: Promise<GRU | WasmGRU>, backend: 'webgpu' | 'wasm', reason: RegExp) => {
        const gru = await made;
        try {
          if (gru.backend !== backend) throw new Error(`${label}: chose ${gru.backend} (${gru.reason}), expected ${backend}`);
          if (!reason.test(gru.reason)) throw new Error(`${label}: reason ${JSON.stringify(gru.reason)} does not match ${reason}`);
          if (gru.options.inputSize === 128)
            assertClose(`${label} forward`, (await gru.forward(input, { steps: 2, batch: 1 })).output, want.output, F32_TOLERANCE);
        } finally {
          gru.destroy();
        }
      };
      await expect('the suite device', createGRU(big, wBig, { device }), 'wasm', /adapter \(.*(swiftshader|llvmpipe).*\) runs on the CPU/i);
      const hasGPU = typeof navigator === 'object' && !!(navigator as { gpu?: GPU }).gpu;
      await expect(
        'no arguments',
        createGRU(big, wBig),
        'wasm',
        hasGPU ? /^the WebGPU adapter \(.*swiftshader.*\) runs on the CPU/i : /^there is no WebGPU here/,
      );
      await expect(
        'no adapter',
        createGRU(big, wBig, { gpu: { requestAdapter: async () => null } as unknown as GPU }),
        'wasm',
        /^WebGPU gave no adapter$/,
      );
      await expect(
        'fallback adapter',
        createGRU(big, wBig, { gpu: gpuClaiming(device, { isFallbackAdapter: true }) }),
        'wasm',
        /runs on the CPU/,
      );

      const destroyed = { count: 0 };
      const hardware = deviceClaiming(device, HARDWARE, destroyed);
      await expect(
        'hardware device',
        createGRU(big, wBig, { device: hardware }),
        'webgpu',
        /^the given device's adapter \(nvidia \/ hopper \/ NVIDIA H200\) is hardware$/,
      );
      if (destroyed.count !== 0) throw new Error("destroy() of a GRU made on the caller's device destroyed the device");
      await expect(
        'hardware adapter',
        createGRU(big, wBig, { gpu: gpuClaiming(hardware, HARDWARE) }),
        'webgpu',
        /^the WebGPU adapter \(nvidia .*\) is hardware$/,
      );
      if ((destroyed.count as number) !== 1)
        throw new Error(`the device createGRU requested was destroyed ${destroyed.count} times with its GRU, expected once`);
      await expect(
        'small model on hardware',
        createGRU(small, wSmall, { device: hardware }),
        'wasm',
        /^the model's step \(1152 multiply-adds\) is under 131072/,
      );
      await expect(
        "'webgpu' forced on a CPU adapter",
        createGRU(big, wBig, { device, backend: 'webgpu' }),
        'webgpu',
        /^backend 'webgpu' was asked for/,
      );
      await expect(
        "'wasm' forced",
        createGRU(big, wBig, { device: hardware, backend: 'wasm', threads: 2 }),
        'wasm',
        /^backend 'wasm' was asked for$/,
      );
    },
  },
];

export const wasmCases: Case[] = [
  ...matrixCases,
  chunkedCase,
  ...activationCases,
  ...formatCases,
  ...streamingCases,
  ...errorCases,
  ...choiceCases,
];
