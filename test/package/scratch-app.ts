/**
 * The sources of the scratch consumer app that test/package.test.ts installs the npm tarball into.
 * They are strings, not files beside this one: as .ts files under test/ the repository's own
 * `tsc -p tsconfig.json` would type-check them and resolve `webgpu-gru` to this very checkout
 * (and fail on a clean clone, before dist/ exists). In the scratch app they are what a user writes.
 * The Node app is a plain file (test/package/node-app.mjs): JavaScript is not type-checked here.
 */

/** The case every consumer runs: small, two layers, both directions, a batch of two. */
export function consumerCase() {
  const options = { inputSize: 3, hiddenSize: 5, numLayers: 2, direction: 'bidirectional' as const };
  const args = { steps: 4, batch: 2 };
  const D = 2;
  const H = options.hiddenSize;
  let seed = 0;
  // Values are rounded to f32 here, so that JSON carries exactly what every consumer computes on.
  const random = (n: number) => Array.from({ length: n }, () => Math.fround(Math.sin(++seed * 12.9898) * 0.5));
  const weights = Array.from({ length: options.numLayers * D }, (_, k) => {
    const inputs = k < D ? options.inputSize : D * H;
    return { weightIh: random(3 * H * inputs), weightHh: random(3 * H * H), biasIh: random(3 * H), biasHh: random(3 * H) };
  });
  return { options, args, weights, input: random(args.steps * args.batch * options.inputSize) };
}

export type ConsumerCase = ReturnType<typeof consumerCase>;

export const INDEX_HTML = `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <link rel="icon" href="data:," />
    <title>webgpu-gru consumer</title>
  </head>
  <body>
    <script type="module" src="/main.ts"></script>
  </body>
</html>
`;

/**
 * The Vite app's entry: one forward on WebGPU (whatever adapter the page gets), one on WasmGRU and
 * one through createGRU, all returned to the test as plain arrays with the bundled reference.
 */
export const MAIN_TS = `import { createGRU, GRU, gruReference, WasmGRU, type GRUOptions, type GRUResult, type GRUWeights, type RunArgs } from 'webgpu-gru';
import data from './case.json';

interface Case {
  options: GRUOptions;
  args: RunArgs;
  weights: { weightIh: number[]; weightHh: number[]; biasIh: number[]; biasHh: number[] }[];
  input: number[];
}

interface Plain {
  output: number[];
  hN: number[];
}

export interface ConsumerPageResult {
  adapter: string;
  webgpu: Plain;
  wasm: Plain;
  auto: { backend: string; reason: string; result: Plain };
  reference: Plain;
}

declare global {
  interface Window {
    __consumer: Promise<ConsumerPageResult | { error: string }>;
  }
}

const c = data as unknown as Case;
const weights: GRUWeights[] = c.weights.map((w) => ({
  weightIh: Float32Array.from(w.weightIh),
  weightHh: Float32Array.from(w.weightHh),
  biasIh: Float32Array.from(w.biasIh),
  biasHh: Float32Array.from(w.biasHh),
}));
const input = Float32Array.from(c.input);
const plain = (r: GRUResult): Plain => ({ output: Array.from(r.output), hN: Array.from(r.hN) });

async function run(): Promise<ConsumerPageResult> {
  if (!navigator.gpu) throw new Error('no navigator.gpu');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() gave no adapter');
  const device = await adapter.requestDevice();
  const gpu = await GRU.create(device, c.options, weights);
  const webgpu = plain(await gpu.forward(input, c.args));
  gpu.destroy();
  const wasmGRU = await WasmGRU.create(c.options, weights);
  const wasm = plain(await wasmGRU.forward(input, c.args));
  wasmGRU.destroy();
  const chosen = await createGRU(c.options, weights, { device });
  const auto = { backend: chosen.backend, reason: chosen.reason, result: plain(await chosen.forward(input, c.args)) };
  chosen.destroy();
  device.destroy();
  const info = adapter.info;
  return {
    adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' / '),
    webgpu,
    wasm,
    auto,
    reference: plain(gruReference(c.options, weights, input, c.args)),
  };
}

window.__consumer = run().catch((e: unknown) => ({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
`;

/**
 * A TypeScript user of every entry point, type-checked (never run) against the tarball's
 * declarations: the classes, createGRU, the importers and webgpu-gru/node. The @ts-expect-error
 * lines fail the check if the declarations ever degrade to \`any\`.
 */
export const CONSUMER_TS = `import {
  createGRU,
  fromONNX,
  fromPyTorch,
  fromSafetensors,
  fromTFJSLayersModel,
  fromWebNN,
  GRU,
  GRUError,
  gruReference,
  WasmGRU,
  type CreateGRUOptions,
  type GRUOptions,
  type GRUResult,
  type GRUWeights,
  type ImportedGRU,
  type RunArgs,
} from 'webgpu-gru';
import { adapterDescription, requestDevice, type NodeDeviceOptions } from 'webgpu-gru/node';

export async function consume(safetensors: Uint8Array, onnx: Uint8Array, modelJson: unknown, weightData: ArrayBuffer): Promise<GRUResult> {
  const fromFile: ImportedGRU = fromSafetensors(safetensors, { prefix: 'gru.' });
  const graph: ImportedGRU[] = fromONNX(onnx);
  const keras: ImportedGRU[] = fromTFJSLayersModel(modelJson, weightData);
  const webnn: ImportedGRU = fromWebNN({ weight: new Float32Array(45), recurrentWeight: new Float32Array(75), inputSize: 3, hiddenSize: 5 });
  const torch: ImportedGRU = fromPyTorch({ weight_ih_l0: new Float32Array(45), weight_hh_l0: new Float32Array(75) });

  const nodeOptions: NodeDeviceOptions = { adapter: 'auto', quiet: true };
  const device: GPUDevice = await requestDevice(nodeOptions);
  const adapter: string | undefined = adapterDescription(device);

  const gru: GRU = await GRU.create(device, fromFile.options, fromFile.weights);
  const args: RunArgs = { steps: 4, batch: 1 };
  const result: GRUResult = await gru.forward(new Float32Array(12), args);
  const state = gru.createState(1);
  const h: Float32Array = await gru.step(new Float32Array(3), state);
  gru.destroy();

  const wasm: WasmGRU = WasmGRU.createSync(webnn.options, webnn.weights, { threads: 1, simd: 'auto' });
  const out: Float32Array = wasm.stepSync(new Float32Array(3), wasm.createState(1), new Float32Array(5));
  wasm.destroy();

  const init: CreateGRUOptions = { backend: 'auto', device };
  const chosen: GRU | WasmGRU = await createGRU(torch.options, torch.weights, init);
  const backend: 'webgpu' | 'wasm' = chosen.backend;
  const reason: string = chosen.reason;
  chosen.destroy();

  const options: GRUOptions = {
    inputSize: 3,
    hiddenSize: 5,
    direction: 'bidirectional',
    activations: ['sigmoid', { name: 'leakyRelu', alpha: 0.1 }],
  };
  const weights: GRUWeights[] = [];
  const reference: GRUResult = gruReference(options, weights, new Float32Array(0), args);
  try {
    // @ts-expect-error hiddenSize is a number: the options are typed, not any
    await GRU.create(device, { inputSize: 3, hiddenSize: '5' }, weights);
    // @ts-expect-error the backend is 'auto', 'webgpu' or 'wasm'
    await createGRU(options, weights, { backend: 'cuda' });
  } catch (error) {
    if (error instanceof GRUError) console.log(error.message);
  }
  console.log(graph.length, keras.length, adapter, h, out, backend, reason, reference.hN);
  return result;
}
`;

/** The scratch app's tsconfig for one way of resolving modules; strict, and the libraries checked too. */
export function tsconfig(resolution: 'bundler' | 'node16' | 'node10') {
  const module = { bundler: 'ESNext', node16: 'Node16', node10: 'ESNext' }[resolution];
  return {
    compilerOptions: {
      target: 'ES2022',
      module,
      moduleResolution: resolution,
      lib: ['ES2022', 'DOM'],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      ...(resolution === 'bundler' ? { resolveJsonModule: true } : {}),
    },
    // The Vite entry is bundler code (it imports JSON, as Vite allows); the consumer fits all three.
    files: resolution === 'bundler' ? ['consumer.ts', 'main.ts'] : ['consumer.ts'],
  };
}
