/**
 * The peers, in the browser page only: onnxruntime-web (its `webgpu` build, which has a WebGPU GRU
 * kernel, on the `webgpu` and the `wasm` execution providers) and TensorFlow.js (tf.layers.gru on
 * the `webgpu` and `wasm` backends).
 *
 * onnxruntime-web is loaded from /__peers/ort/ (bench/run.mjs serves the package's dist/ there,
 * untransformed): `ort.webgpu.min.mjs` is what `import 'onnxruntime-web/webgpu'` resolves to under
 * the package's `onnxruntime-web-use-extern-wasm` condition; its .mjs/.wasm glue comes from the same
 * folder (`env.wasm.wasmPaths`), also for its worker threads. The default `onnxruntime-web` build
 * has no WebGPU GRU and would run the node on wasm with 0 dispatches (see docs/cpu-adapters.md).
 * ORT reads `env.wasm.numThreads` once, when its wasm module starts, so each thread count gets an
 * instance of its own: the same file imported under another URL (`?threads=N`) is another module,
 * with its own env and wasm. `ort-webgpu` and `ort-wasm:threads=N` share the all-threads instance.
 *
 * tfjs is pre-bundled by Vite (its CommonJS dependencies need it); its wasm binaries come from
 * /__peers/tfjs-wasm/. Its wasm backend reads the thread count (`setThreadsCount`) when the backend
 * is made, once, and its kernels keep module-level handles into that one backend's wasm, so two
 * cannot live side by side: a cell whose thread count differs from the live backend's removes it
 * and registers its factory again (before the cell's clock starts); the cell records what
 * `getThreadsCount()` then says. tf.layers.gru rejects resetAfter: true, so it runs resetAfter
 * false with the sigmoid recurrent activation (its default is hardSigmoid), built with zero
 * initializers (its default ones queue minutes of SwiftShader work) and then given our weights; it
 * is checked against and compared with our GRU with resetAfter false (ours-ra0; the wasm backend
 * with ours-wasm-ra0 at the same thread count).
 */
import type * as Ort from 'onnxruntime-web';
import { kerasCellWeights, numDirections, onnxModel, swap01 } from '../lib/configs.js';
import { DEFAULT_TOLERANCE, type ConfigContext, type RunnerDef, type RunnerInstance } from '../lib/harness.js';
import { withThreads } from '../lib/names.mjs';

type OrtModule = typeof Ort;

export interface PeerInfo {
  ortVersion?: string;
  /** Per ORT instance, the thread count asked → env.wasm.numThreads once its wasm started. */
  ortWasmThreads?: Record<string, number>;
  tfjsVersion?: string;
  /** Per thread count asked of tfjs' wasm backend (setThreadsCount), what getThreadsCount() then said. */
  tfjsWasmThreads?: Record<string, number>;
  tfjsWasmBuild?: string;
}

export const peerInfo: PeerInfo = {};

const ortInstances = new Map<number, Promise<OrtModule>>();

/** The ORT instance whose wasm runs on `threads` threads (one module instance per count: see above). */
function loadOrt(threads: number): Promise<OrtModule> {
  let p = ortInstances.get(threads);
  if (!p) {
    p = (async () => {
      const url = `/__peers/ort/ort.webgpu.min.mjs?threads=${threads}`;
      const ort = (await import(/* @vite-ignore */ url)) as OrtModule;
      ort.env.wasm.wasmPaths = '/__peers/ort/';
      ort.env.wasm.numThreads = threads;
      ort.env.logLevel = 'error';
      peerInfo.ortVersion = ort.env.versions?.web ?? 'unknown';
      return ort;
    })();
    ortInstances.set(threads, p);
  }
  return p;
}

/**
 * ORT on `ep`, on the instance of `threads` threads: the wasm EP is compared with ours-wasm at the
 * same count; the webgpu EP is given the all-threads instance (for its CPU-side work).
 */
function ortRunner(ep: 'webgpu' | 'wasm', threads: number): RunnerDef {
  return {
    id: ep === 'webgpu' ? 'ort-webgpu' : withThreads('ort-wasm', threads),
    family: 'peer',
    baseline: ep === 'webgpu' ? 'ours' : withThreads('ours-wasm', threads),
    what:
      `onnxruntime-web (webgpu build) on the '${ep}' execution provider; ONNX GRU, linear_before_reset=1` +
      (ep === 'wasm' ? `; env.wasm.numThreads = ${threads}` : ''),
    check: { resetAfter: true, tolerance: DEFAULT_TOLERANCE },
    prepare(ctx: ConfigContext) {
      return onnxModel(ctx.config, ctx.data.weights);
    },
    async create(ctx, prepared): Promise<RunnerInstance> {
      const ort = await loadOrt(threads);
      const c = ctx.config;
      const session = await ort.InferenceSession.create(prepared as Uint8Array, {
        executionProviders: [ep],
        graphOptimizationLevel: 'all',
      });
      // ORT falls back to 1 thread where shared memory is missing (a page that is not cross-origin
      // isolated); what it runs on is what env.wasm.numThreads says once its wasm has started.
      const actual = ort.env.wasm.numThreads ?? threads;
      peerInfo.ortWasmThreads = { ...peerInfo.ortWasmThreads, [threads]: actual };
      let last: Float32Array | undefined;
      return {
        ...(ep === 'wasm' ? { threads: actual } : {}),
        async run() {
          const x = new ort.Tensor('float32', ctx.input, [c.steps, c.batch, c.inputSize]);
          const { Y } = await session.run({ X: x });
          last = (await Y!.getData()) as Float32Array;
          Y!.dispose();
        },
        // Y is [T, B, D·H]; S (T = 1) compares with our step's [B, H], the same values.
        output: async () => last!,
        dispose: () => session.release(),
      };
    },
  };
}

type Tf = typeof import('@tensorflow/tfjs-core');
type Tfl = typeof import('@tensorflow/tfjs-layers');

let tfPromise: Promise<{ tf: Tf; tfl: Tfl }> | undefined;
let webgpuReady: Promise<unknown> | undefined;
let tfWasm: Promise<typeof import('@tensorflow/tfjs-backend-wasm')> | undefined;
/** The thread count the live wasm backend was made with (undefined: not made yet). */
let wasmThreadsAsked: number | undefined;

/**
 * tfjs on `backend`; for 'wasm', a backend made with setThreadsCount(threads) (made again when the
 * live one was made with another count). Returns the thread count the wasm backend reports.
 */
async function loadTf(backend: 'webgpu' | 'wasm', threads = 1): Promise<{ tf: Tf; tfl: Tfl; wasmThreads?: number }> {
  tfPromise ??= (async () => {
    const [tf, tfl] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-layers')]);
    peerInfo.tfjsVersion = tf.version_core;
    return { tf, tfl };
  })();
  const m = await tfPromise;
  const tf = m.tf;
  if (backend === 'webgpu') {
    webgpuReady ??= import('@tensorflow/tfjs-backend-webgpu');
    await webgpuReady;
  } else {
    tfWasm ??= import('@tensorflow/tfjs-backend-wasm').then((wasm) => {
      wasm.setWasmPaths('/__peers/tfjs-wasm/');
      return wasm;
    });
    const wasm = await tfWasm;
    if (wasmThreadsAsked !== threads) {
      if (wasmThreadsAsked !== undefined) {
        const factory = tf.findBackendFactory('wasm');
        if (!factory)
          throw new Error("tfjs: no factory registered for the 'wasm' backend, so it cannot be made again with another thread count");
        tf.removeBackend('wasm');
        tf.registerBackend('wasm', factory);
      }
      wasm.setThreadsCount(threads);
      wasmThreadsAsked = undefined;
      if (!(await tf.setBackend('wasm'))) throw new Error(`tf.setBackend('wasm') failed (after setThreadsCount(${threads}))`);
      wasmThreadsAsked = threads;
      peerInfo.tfjsWasmThreads = { ...peerInfo.tfjsWasmThreads, [threads]: wasm.getThreadsCount() };
      peerInfo.tfjsWasmBuild = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'threaded-simd available' : 'no wasm threads';
    }
  }
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  return backend === 'wasm' ? { ...m, wasmThreads: (await tfWasm!).getThreadsCount() } : m;
}

/** tf.layers.gru on `backend`; 'wasm' at setThreadsCount(threads), compared with ours-wasm-ra0 at the same count. */
function tfjsRunner(backend: 'webgpu' | 'wasm', threads = 1): RunnerDef {
  return {
    id: backend === 'webgpu' ? 'tfjs-webgpu' : withThreads('tfjs-wasm', threads),
    family: 'peer',
    baseline: backend === 'webgpu' ? 'ours-ra0' : withThreads('ours-wasm-ra0', threads),
    what:
      `TensorFlow.js tf.layers.gru on the '${backend}' backend (resetAfter false, recurrentActivation sigmoid)` +
      (backend === 'wasm' ? `; setThreadsCount(${threads})` : ''),
    check: { resetAfter: false, tolerance: DEFAULT_TOLERANCE },
    async prepare(ctx: ConfigContext) {
      // The backend first (for wasm, made with this cell's thread count): not part of the cell's setup.
      await loadTf(backend, threads);
      const c = ctx.config;
      const D = numDirections(c);
      return {
        // tfjs is batch-major: [B, T, I].
        input: swap01(ctx.input, c.steps, c.batch, c.inputSize),
        layers: Array.from({ length: c.numLayers }, (_, l) =>
          Array.from({ length: D }, (_, d) => kerasCellWeights(c, ctx.data.weights[l * D + d]!, l)),
        ),
      };
    },
    async create(ctx, prepared): Promise<RunnerInstance> {
      const { tf, tfl, wasmThreads } = await loadTf(backend, threads);
      const c = ctx.config;
      const p = prepared as { input: Float32Array; layers: ReturnType<typeof kerasCellWeights>[][] };
      const H = c.hiddenSize;
      const D = numDirections(c);
      const model = tfl.sequential();
      for (let l = 0; l < c.numLayers; l++) {
        const K = l === 0 ? c.inputSize : D * H;
        const cell = {
          units: H,
          returnSequences: true,
          resetAfter: false,
          activation: 'tanh',
          recurrentActivation: 'sigmoid',
          kernelInitializer: 'zeros',
          recurrentInitializer: 'zeros',
          biasInitializer: 'zeros',
        } as const;
        if (D === 2) {
          model.add(tfl.layers.bidirectional({ layer: tfl.layers.gru(cell) as never, mergeMode: 'concat', inputShape: [c.steps, K] }));
        } else {
          model.add(tfl.layers.gru({ ...cell, inputShape: [c.steps, K] }));
        }
      }
      model.layers.forEach((layer, l) => {
        const tensors = p.layers[l]!.flatMap((w) => [
          tf.tensor2d(w.kernel, [l === 0 ? c.inputSize : D * H, 3 * H]),
          tf.tensor2d(w.recurrent, [H, 3 * H]),
          tf.tensor1d(w.bias),
        ]);
        layer.setWeights(tensors);
        for (const t of tensors) t.dispose();
      });
      let last: Float32Array | undefined;
      return {
        ...(wasmThreads !== undefined ? { threads: wasmThreads } : {}),
        async run() {
          const x = tf.tensor3d(p.input, [c.batch, c.steps, c.inputSize]);
          const y = model.predict(x, { batchSize: c.batch }) as import('@tensorflow/tfjs-core').Tensor;
          last = (await y.data()) as Float32Array;
          x.dispose();
          y.dispose();
        },
        // [B, T, D·H] → ours' [T, B, D·H].
        output: async () => swap01(last!, c.batch, c.steps, D * H),
        dispose() {
          model.dispose();
        },
      };
    },
  };
}

/**
 * The peers' runners; their CPU builds on 1 thread and on `threads` (every thread of the page: ORT's
 * `ort-wasm:threads=N`, tfjs' `tfjs-wasm:threads=N`), compared with ours at equal thread counts.
 */
export function peerRunners(threads: number): RunnerDef[] {
  const counts = threads > 1 ? [1, threads] : [1];
  return [
    ortRunner('webgpu', threads),
    ...counts.map((t) => ortRunner('wasm', t)),
    tfjsRunner('webgpu'),
    ...counts.map((t) => tfjsRunner('wasm', t)),
  ];
}
