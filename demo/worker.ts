/**
 * The demo's worker: loads the model through the package's importer (safetensors → ImportedGRU,
 * `charModelFromSafetensors`), builds it with `createCharModel` (both in ./char-model.ts, the
 * demo's model around the package's GRU and layers) on the backend `createGRU` picks for this
 * machine ('auto': WebGPU on a hardware adapter, WebAssembly where WebGPU runs on the CPU or is
 * missing), builds the other backend when a run forces it, and streams every generated character
 * to the page with its step time. All of it runs here, so the page's main thread stays free.
 *
 * No WebGPU adapter is not an error: 'auto' then runs on wasm, and the page says why.
 */
import { requestDeviceWithAdapterLimits, type CreateGRUOptions } from '../src/index.js';
import { charModelFromSafetensors, createCharModel, type CharModel, type CharModelWasm, type CharModelWeights } from './char-model.js';
import modelUrl from './model/char-gru.safetensors?url';
import vocabJson from './model/vocab.json';
import type { AdapterInfo, BackendChoice, BackendInfo, BackendName, FromWorker, GenerateRequest, ToWorker } from './protocol.js';

const post = (message: FromWorker) => (self as unknown as Worker).postMessage(message);

interface Loaded {
  weights: CharModelWeights;
  /** The worker's WebGPU device, handed to createGRU so that its errors reach the page; none without an adapter. */
  device: GPUDevice | undefined;
  adapterText: string;
  auto: BackendName;
  models: Map<BackendName, CharModel | CharModelWasm>;
}

let stop: AbortController | undefined;
let queue: Promise<void> = Promise.resolve();

async function load(): Promise<Loaded> {
  const t0 = performance.now();
  const adapter = 'gpu' in navigator && navigator.gpu ? await navigator.gpu.requestAdapter() : null;
  let device: GPUDevice | undefined;
  let info: AdapterInfo | null = null;
  if (adapter) {
    device = await requestDeviceWithAdapterLimits(adapter, { label: 'webgpu-gru demo' });
    device.addEventListener('uncapturederror', (event) => {
      post({ type: 'error', message: `WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}` });
    });
    void device.lost.then((lost) => {
      if (lost.reason !== 'destroyed') post({ type: 'error', message: `WebGPU device lost: ${lost.message}` });
    });
    info = { vendor: adapter.info.vendor, architecture: adapter.info.architecture, description: adapter.info.description };
  }

  const response = await fetch(modelUrl);
  if (!response.ok) throw new Error(`fetching the model (${modelUrl}) failed: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const weights = charModelFromSafetensors(bytes, { vocab: vocabJson.chars });
  const model = await createCharModel(weights, device ? { device } : {});
  const loaded: Loaded = {
    weights,
    device,
    adapterText: info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' · ') || 'unknown adapter' : 'no adapter',
    auto: model.backend,
    models: new Map([[model.backend, model]]),
  };

  const o = weights.gru.options;
  const parameters =
    weights.embedding.length +
    weights.head.weight.length +
    (weights.head.bias?.length ?? 0) +
    weights.gru.weights.reduce((n, w) => n + w.weightIh.length + w.weightHh.length + (w.biasIh?.length ?? 0) + (w.biasHh?.length ?? 0), 0);
  post({
    type: 'ready',
    adapter: info,
    auto: describeBackend(loaded, model),
    model: {
      vocabSize: model.vocabSize,
      embeddingSize: model.embeddingSize,
      hiddenSize: model.hiddenSize,
      numLayers: o.numLayers ?? 1,
      parameters,
      bytes: bytes.length,
    },
    loadMs: performance.now() - t0,
  });
  return loaded;
}

function describeBackend(loaded: Loaded, model: CharModel | CharModelWasm): BackendInfo {
  const detail = model.backend === 'wasm' ? (model.gru.simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD128') : loaded.adapterText;
  return { backend: model.backend, reason: model.reason, detail };
}

/** The model of a run's backend; the first run forced onto the backend 'auto' did not choose builds it. */
async function modelFor(loaded: Loaded, choice: BackendChoice, run: number): Promise<CharModel | CharModelWasm> {
  const backend = choice === 'auto' ? loaded.auto : choice;
  let model = loaded.models.get(backend);
  if (!model) {
    post({ type: 'building', run, backend });
    const init: CreateGRUOptions = { backend };
    if (loaded.device) init.device = loaded.device;
    model = await createCharModel(loaded.weights, init);
    loaded.models.set(backend, model);
  }
  return model;
}

async function generate(loaded: Loaded, request: GenerateRequest): Promise<void> {
  const model = await modelFor(loaded, request.backend, request.run);
  stop = new AbortController();
  const t0 = performance.now();
  let last = t0;
  const result = await model.generate(request.prompt, request.length, {
    temperature: request.temperature,
    seed: request.seed,
    signal: stop.signal,
    onToken: (_token, char, index) => {
      const now = performance.now();
      post({ type: 'token', run: request.run, char: char ?? '', ms: now - last, index });
      last = now;
    },
  });
  post({
    type: 'done',
    run: request.run,
    ...describeBackend(loaded, model),
    text: result.text ?? '',
    stepMs: result.stepMs,
    prefillMs: result.prefillMs,
    totalMs: performance.now() - t0,
    aborted: result.aborted,
  });
}

const loading = load();
loading.catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'stop') {
    stop?.abort();
    return;
  }
  // One run at a time, in order; a failed load fails every run with its reason.
  queue = queue
    .then(() => loading)
    .then((loaded) => generate(loaded, message))
    .catch((e: unknown) => post({ type: 'error', run: message.run, message: e instanceof Error ? e.message : String(e) }));
};
