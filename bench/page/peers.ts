/**
 * The peers, in the browser page only: onnxruntime-web (its `webgpu` build, which has a WebGPU GRU
 * kernel, on the `webgpu` and the `wasm` execution providers) and TensorFlow.js (tf.layers.gru on
 * the `webgpu` and `wasm` backends).
 *
 * onnxruntime-web is loaded from /__peers/ort/ (bench/run.mjs serves the package's dist/ there,
 * untransformed): `ort.webgpu.min.mjs` is what `import 'onnxruntime-web/webgpu'` resolves to under
 * the package's `onnxruntime-web-use-extern-wasm` condition; its .mjs/.wasm glue comes from the same
 * folder (`env.wasm.wasmPaths`), also for its worker threads. The default `onnxruntime-web` build
 * has no WebGPU GRU and would run the node on wasm with 0 dispatches (see /work/shared/ENV.md).
 *
 * tfjs is pre-bundled by Vite (its CommonJS dependencies need it); its wasm binaries come from
 * /__peers/tfjs-wasm/. tf.layers.gru rejects resetAfter: true, so it runs resetAfter false with the
 * sigmoid recurrent activation (its default is hardSigmoid), built with zero initializers (its
 * default ones queue minutes of SwiftShader work) and then given our weights; it is checked against
 * and compared with our GRU with resetAfter false.
 */
import type * as Ort from 'onnxruntime-web';
import { kerasCellWeights, numDirections, onnxModel, swap01 } from '../lib/configs.js';
import { DEFAULT_TOLERANCE, type ConfigContext, type RunnerDef, type RunnerInstance } from '../lib/harness.js';

type OrtModule = typeof Ort;

export interface PeerInfo {
  ortVersion?: string;
  /** env.wasm.numThreads as set (ORT's wasm EP, and the CPU parts of its webgpu EP). */
  ortWasmThreads?: number;
  tfjsVersion?: string;
  /** What setThreadsCount asked of tfjs' wasm backend, and what its getThreadsCount() then said. */
  tfjsWasmThreadsAsked?: number;
  tfjsWasmThreads?: number;
  tfjsWasmBuild?: string;
}

export const peerInfo: PeerInfo = {};

let ortPromise: Promise<OrtModule> | undefined;

function loadOrt(): Promise<OrtModule> {
  ortPromise ??= (async () => {
    const url = '/__peers/ort/ort.webgpu.min.mjs';
    const ort = (await import(/* @vite-ignore */ url)) as OrtModule;
    ort.env.wasm.wasmPaths = '/__peers/ort/';
    // ORT's default is half the cores (1 on a 2-core machine); give it every core it can use.
    const threads = globalThis.crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    peerInfo.ortVersion = ort.env.versions?.web ?? 'unknown';
    peerInfo.ortWasmThreads = threads;
    return ort;
  })();
  return ortPromise;
}

function ortRunner(ep: 'webgpu' | 'wasm'): RunnerDef {
  return {
    id: `ort-${ep}`,
    family: 'peer',
    baseline: 'ours',
    what: `onnxruntime-web (webgpu build) on the '${ep}' execution provider; ONNX GRU, linear_before_reset=1`,
    check: { resetAfter: true, tolerance: DEFAULT_TOLERANCE },
    prepare(ctx: ConfigContext) {
      return onnxModel(ctx.config, ctx.data.weights);
    },
    async create(ctx, prepared): Promise<RunnerInstance> {
      const ort = await loadOrt();
      const c = ctx.config;
      const session = await ort.InferenceSession.create(prepared as Uint8Array, {
        executionProviders: [ep],
        graphOptimizationLevel: 'all',
      });
      let last: Float32Array | undefined;
      return {
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
const backendReady = new Map<string, Promise<void>>();

async function loadTf(backend: 'webgpu' | 'wasm'): Promise<{ tf: Tf; tfl: Tfl }> {
  tfPromise ??= (async () => {
    const [tf, tfl] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-layers')]);
    peerInfo.tfjsVersion = tf.version_core;
    return { tf, tfl };
  })();
  const m = await tfPromise;
  let ready = backendReady.get(backend);
  if (!ready) {
    ready = (async () => {
      if (backend === 'webgpu') {
        await import('@tensorflow/tfjs-backend-webgpu');
      } else {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        wasm.setWasmPaths('/__peers/tfjs-wasm/');
        // Its default here is 1 thread even where threads work; ask for every core, as for ORT.
        // (Here it still reports 1 after that, with the threaded-simd binary loaded.)
        if (globalThis.crossOriginIsolated) {
          peerInfo.tfjsWasmThreadsAsked = Math.max(1, navigator.hardwareConcurrency || 1);
          wasm.setThreadsCount(peerInfo.tfjsWasmThreadsAsked);
        }
        if (!(await m.tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') failed");
        peerInfo.tfjsWasmThreads = wasm.getThreadsCount();
        peerInfo.tfjsWasmBuild = m.tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'threaded-simd available' : 'no wasm threads';
      }
    })();
    backendReady.set(backend, ready);
  }
  await ready;
  if (m.tf.getBackend() !== backend && !(await m.tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await m.tf.ready();
  return m;
}

function tfjsRunner(backend: 'webgpu' | 'wasm'): RunnerDef {
  return {
    id: `tfjs-${backend}`,
    family: 'peer',
    baseline: 'ours-ra0',
    what: `TensorFlow.js tf.layers.gru on the '${backend}' backend (resetAfter false, recurrentActivation sigmoid)`,
    check: { resetAfter: false, tolerance: DEFAULT_TOLERANCE },
    prepare(ctx: ConfigContext) {
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
      const { tf, tfl } = await loadTf(backend);
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
        tensors.forEach((t) => t.dispose());
      });
      let last: Float32Array | undefined;
      return {
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

export function peerRunners(): RunnerDef[] {
  return [ortRunner('webgpu'), ortRunner('wasm'), tfjsRunner('webgpu'), tfjsRunner('wasm')];
}
