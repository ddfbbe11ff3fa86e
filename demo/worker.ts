/**
 * The demo's worker: loads the model through the package's importer (safetensors → ImportedGRU,
 * `charModelFromSafetensors`), runs it on WebGPU (`CharModel`) or on the CPU reference
 * (`CharModelReference`: gruReference and the layer twins), and streams every generated character
 * to the page with its step time. All of it runs here, so the page's main thread stays free.
 */
import { CharModel, CharModelReference, charModelFromSafetensors, requestDeviceWithAdapterLimits, type CharGenerator } from '../src/index.js';
import modelUrl from './model/char-gru.safetensors?url';
import vocabJson from './model/vocab.json';
import type { AdapterInfo, FromWorker, GenerateRequest, ToWorker } from './protocol.js';

const post = (message: FromWorker) => (self as unknown as Worker).postMessage(message);

let gpu: CharModel | undefined;
let cpu: CharModelReference | undefined;
let stop: AbortController | undefined;
let queue: Promise<void> = Promise.resolve();

async function load(): Promise<void> {
  const t0 = performance.now();
  if (!('gpu' in navigator) || !navigator.gpu) {
    throw new Error('WebGPU is not available in this browser (navigator.gpu is missing in the worker)');
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null: no WebGPU adapter');
  const device = await requestDeviceWithAdapterLimits(adapter, { label: 'webgpu-gru demo' });
  device.addEventListener('uncapturederror', (event) => {
    post({ type: 'error', message: `WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}` });
  });
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') post({ type: 'error', message: `WebGPU device lost: ${info.message}` });
  });

  const response = await fetch(modelUrl);
  if (!response.ok) throw new Error(`fetching the model (${modelUrl}) failed: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const weights = charModelFromSafetensors(bytes, { vocab: vocabJson.chars });
  gpu = await CharModel.create(device, weights);
  cpu = new CharModelReference(weights);

  const o = weights.gru.options;
  const parameters =
    weights.embedding.length +
    weights.head.weight.length +
    (weights.head.bias?.length ?? 0) +
    weights.gru.weights.reduce((n, w) => n + w.weightIh.length + w.weightHh.length + (w.biasIh?.length ?? 0) + (w.biasHh?.length ?? 0), 0);
  const info: AdapterInfo = { vendor: adapter.info.vendor, architecture: adapter.info.architecture, description: adapter.info.description };
  post({
    type: 'ready',
    adapter: info,
    model: { vocabSize: gpu.vocabSize, embeddingSize: gpu.embeddingSize, hiddenSize: gpu.hiddenSize, numLayers: o.numLayers ?? 1, parameters, bytes: bytes.length },
    loadMs: performance.now() - t0,
  });
}

async function generate(request: GenerateRequest): Promise<void> {
  const model: CharGenerator | undefined = request.backend === 'gpu' ? gpu : cpu;
  if (!model) throw new Error('the model is not loaded');
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
    backend: request.backend,
    text: result.text ?? '',
    stepMs: result.stepMs,
    prefillMs: result.prefillMs,
    totalMs: performance.now() - t0,
    aborted: result.aborted,
  });
}

const loaded = load();
loaded.catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'stop') {
    stop?.abort();
    return;
  }
  // One run at a time, in order; a failed load fails every run with its reason.
  queue = queue
    .then(() => loaded)
    .then(() => generate(message))
    .catch((e: unknown) => post({ type: 'error', run: message.run, message: e instanceof Error ? e.message : String(e) }));
};
