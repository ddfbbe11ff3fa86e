/**
 * The demo page: controls, the streamed output, which backend runs and why, and the latency table.
 * Every model operation happens in ./worker.ts; this thread only renders (the pulsing dot and the
 * frame counter in the footer show that it stays free while a generation runs).
 */
import expected from './model/expected.json';
import type { BackendChoice, BackendInfo, BackendName, FromWorker, GenerateRequest } from './protocol.js';

type Done = Extract<FromWorker, { type: 'done' }>;

interface RunRecord extends Done {
  /** What the run asked for ('auto' or a forced backend); `backend` is where it ran. */
  choice: BackendChoice;
  prompt: string;
  length: number;
  temperature: number;
  seed: number;
}

/** What the end-to-end test (test/demo.test.ts) reads. */
export interface DemoHandle {
  state(): string;
  error: string | null;
  /** The backend 'auto' chose, once the model is loaded. */
  auto: BackendInfo | null;
  results: RunRecord[];
}

const NAMES: Record<BackendName, string> = { webgpu: 'WebGPU', wasm: 'WebAssembly' };

declare global {
  interface Window {
    __demo: DemoHandle;
  }
}

const $ = <T extends HTMLElement>(selector: string) => {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`the page has no ${selector}`);
  return element;
};

const promptInput = $<HTMLInputElement>('#prompt');
const lengthInput = $<HTMLInputElement>('#length');
const temperatureInput = $<HTMLInputElement>('#temperature');
const temperatureValue = $<HTMLOutputElement>('#temperature-value');
const seedInput = $<HTMLInputElement>('#seed');
const generateButton = $<HTMLButtonElement>('#generate');
const compareButton = $<HTMLButtonElement>('#compare');
const stopButton = $<HTMLButtonElement>('#stop');
const status = $('#status');
const backendInfo = $('#backend-info');
const autoLabel = $('#auto-label');
const webgpuRadio = $<HTMLInputElement>('input[name="backend"][value="webgpu"]');
const verdict = $('#verdict');
const promptSpan = $('#output .prompt');
const generatedSpan = $('#output .generated');

const handle: DemoHandle = { state: () => document.body.dataset.state ?? '', error: null, auto: null, results: [] };
window.__demo = handle;

promptInput.value = expected.prompt;
lengthInput.value = String(expected.length);

function setState(state: 'loading' | 'ready' | 'running' | 'done' | 'error', label: string): void {
  document.body.dataset.state = state;
  status.textContent = label;
  const busy = state === 'running' || state === 'loading' || state === 'error';
  generateButton.disabled = busy;
  // Without a WebGPU adapter there is nothing to compare with.
  compareButton.disabled = busy || webgpuRadio.disabled;
  stopButton.disabled = state !== 'running';
}

function showTemperature(): void {
  const t = Number(temperatureInput.value);
  temperatureValue.textContent = t === 0 ? '0 (greedy)' : t.toFixed(2);
  seedInput.disabled = t === 0;
}
temperatureInput.addEventListener('input', showTemperature);
showTemperature();

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
let run = 0;
let pending: BackendChoice[] = [];
let current: GenerateRequest | undefined;
let generatedText: Text = document.createTextNode('');
generatedSpan.append(generatedText);

function fail(message: string): void {
  handle.error = message;
  verdict.textContent = message;
  verdict.className = 'verdict bad';
  setState('error', 'error');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

// A WebAssembly step is tens of microseconds (timed to 5 µs: the page is cross-origin isolated).
const ms = (v: number) => (v < 1 ? `${Math.round(v * 1000)} µs` : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`);

function showStats(r: RunRecord): void {
  const row = $(`#stats tr[data-backend="${r.backend}"]`);
  const sorted = [...r.stepMs].sort((a, b) => a - b);
  const cells = row.querySelectorAll('td');
  cells.forEach((c) => {
    c.remove();
  });
  const values =
    sorted.length === 0
      ? ['0', '–', '–', '–', '–', ms(r.prefillMs)]
      : [
          String(sorted.length),
          ms(percentile(sorted, 0.5)),
          ms(percentile(sorted, 0.99)),
          ms(sorted.reduce((a, b) => a + b, 0) / sorted.length),
          (1000 / (sorted.reduce((a, b) => a + b, 0) / sorted.length)).toFixed(0),
          ms(r.prefillMs),
        ];
  for (const [i, v] of values.entries()) {
    const td = document.createElement('td');
    td.textContent = v;
    if (i === 1) td.dataset.p50 = String(percentile(sorted, 0.5) ?? '');
    if (i === 2) td.dataset.p99 = String(percentile(sorted, 0.99) ?? '');
    row.append(td);
  }
}

/** Where a run goes; the buttons are enabled only once the model is loaded, and with it handle.auto. */
const backendOf = (choice: BackendChoice): BackendName => (choice === 'auto' ? handle.auto!.backend : choice);

/** The index of the first character where two texts differ. */
function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
}

/**
 * Which backend ran (or will run 'auto') and why. A forced run's own reason is only that it was
 * asked for; 'auto''s reason, which says what suits this machine, is the one worth showing.
 */
function showBackend(choice: BackendChoice, ran: BackendInfo): void {
  const auto = handle.auto!;
  const why =
    choice === 'auto'
      ? `: ${auto.reason}`
      : ran.backend === auto.backend
        ? `, which auto chooses too: ${auto.reason}`
        : `; auto chooses ${NAMES[auto.backend]}: ${auto.reason}`;
  backendInfo.replaceChildren(
    choice === 'auto' ? 'auto runs ' : 'forced onto ',
    Object.assign(document.createElement('strong'), { textContent: NAMES[ran.backend] }),
    ` (${ran.detail})${why}`,
  );
}

/** Against PyTorch's greedy output for the committed prompt, and against the other backend's run. */
function judge(r: RunRecord): void {
  const notes: string[] = [];
  let good = true;
  if (r.temperature === 0 && r.prompt === expected.prompt && r.length === expected.length && !r.aborted) {
    if (r.text === expected.text) {
      notes.push(`✓ identical to PyTorch's greedy output (${expected.length} characters)`);
    } else {
      good = false;
      notes.push(`✗ differs from PyTorch's greedy output from character ${firstDifference(r.text, expected.text)}`);
    }
  }
  const other = [...handle.results]
    .reverse()
    .find(
      (o) =>
        o.backend !== r.backend &&
        o.prompt === r.prompt &&
        o.length === r.length &&
        o.temperature === r.temperature &&
        o.seed === r.seed &&
        !o.aborted,
    );
  if (other && !r.aborted) {
    if (other.text === r.text) notes.push('✓ WebGPU and WebAssembly agree');
    else {
      // Both sum in float32, in different orders: where two characters' logits (greedy), or a
      // sample's draw and a cumulative probability, are within rounding, the backends may part ways.
      good = false;
      notes.push(
        `✗ WebGPU and WebAssembly differ from character ${firstDifference(r.text, other.text)} (usually a near-tie there, decided differently by their float32 rounding)`,
      );
    }
  }
  if (r.aborted) notes.push(`stopped after ${r.text.length} characters`);
  verdict.textContent = notes.join(' · ');
  verdict.className = `verdict ${good ? 'good' : 'bad'}`;
}

function start(choice: BackendChoice): void {
  const length = Number(lengthInput.value);
  if (!Number.isInteger(length) || length < 1 || length > 5000) {
    verdict.textContent = 'Characters: a whole number from 1 to 5000';
    verdict.className = 'verdict bad';
    pending = [];
    return;
  }
  run += 1;
  current = {
    type: 'generate',
    run,
    backend: choice,
    prompt: promptInput.value,
    length,
    temperature: Number(temperatureInput.value),
    seed: Math.trunc(Number(seedInput.value) || 0),
  };
  promptSpan.textContent = current.prompt;
  generatedText = document.createTextNode('');
  generatedSpan.replaceChildren(generatedText);
  verdict.textContent = '';
  setState('running', `running on ${NAMES[backendOf(choice)]}`);
  worker.postMessage(current);
}

const selectedBackend = () => (document.querySelector<HTMLInputElement>('input[name="backend"]:checked')?.value ?? 'auto') as BackendChoice;

generateButton.addEventListener('click', () => {
  pending = [];
  start(selectedBackend());
});
compareButton.addEventListener('click', () => {
  pending = ['wasm'];
  start('webgpu');
});
stopButton.addEventListener('click', () => {
  pending = [];
  worker.postMessage({ type: 'stop' });
});

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  switch (m.type) {
    case 'ready': {
      const { model, adapter } = m;
      $('#model-info').textContent =
        `Embedding ${model.vocabSize}×${model.embeddingSize} → GRU ${model.numLayers}×${model.hiddenSize} → Linear ${model.hiddenSize}→${model.vocabSize} · ` +
        `${(model.parameters / 1000).toFixed(0)}k parameters · ${(model.bytes / 1e6).toFixed(2)} MB safetensors · loaded in ${m.loadMs.toFixed(0)} ms`;
      $('#adapter').textContent = adapter
        ? `WebGPU adapter: ${[adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' · ') || 'unknown'}`
        : 'WebGPU adapter: none';
      webgpuRadio.disabled = adapter === null;
      handle.auto = m.auto;
      autoLabel.textContent = `auto (${NAMES[m.auto.backend]})`;
      showBackend('auto', m.auto);
      setState('ready', 'ready');
      break;
    }
    case 'building':
      if (m.run === run) status.textContent = `building the ${NAMES[m.backend]} model`;
      break;
    case 'token':
      if (m.run !== run) break;
      // The model is built (a 'building' label goes) once its first character arrives.
      if (m.index === 0) status.textContent = `running on ${NAMES[backendOf(current!.backend)]}`;
      generatedText.appendData(m.char);
      break;
    case 'done': {
      if (m.run !== run || !current) break;
      const record: RunRecord = {
        ...m,
        choice: current.backend,
        prompt: current.prompt,
        length: current.length,
        temperature: current.temperature,
        seed: current.seed,
      };
      generatedText.data = m.text;
      showBackend(current.backend, m);
      showStats(record);
      handle.results.push(record);
      judge(record);
      const next = pending.shift();
      if (next) start(next);
      else setState('done', m.aborted ? 'stopped' : 'done');
      break;
    }
    case 'error':
      fail(m.message);
      break;
  }
};
worker.onerror = (event) => fail(`the worker failed: ${event.message || 'could not load worker.ts'}`);

// Frames per second of this (main) thread, to show that it stays free during a generation.
const fps = $('#fps');
let frames = 0;
let since = performance.now();
const tick = (now: number) => {
  frames += 1;
  if (now - since >= 1000) {
    fps.textContent = `${Math.round((frames * 1000) / (now - since))} fps`;
    frames = 0;
    since = now;
  }
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
