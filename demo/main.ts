/**
 * The demo page: controls, the streamed output and the latency table. Every model operation
 * happens in ./worker.ts; this thread only renders (the pulsing dot and the frame counter in the
 * footer show that it stays free while a generation runs).
 */
import expected from './model/expected.json';
import type { Backend, FromWorker, GenerateRequest } from './protocol.js';

type Done = Extract<FromWorker, { type: 'done' }>;

interface RunRecord extends Done {
  prompt: string;
  length: number;
  temperature: number;
  seed: number;
}

/** What the end-to-end test (test/demo.test.ts) reads. */
export interface DemoHandle {
  state(): string;
  error: string | null;
  results: RunRecord[];
}

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
const verdict = $('#verdict');
const promptSpan = $('#output .prompt');
const generatedSpan = $('#output .generated');

const handle: DemoHandle = { state: () => document.body.dataset.state ?? '', error: null, results: [] };
window.__demo = handle;

promptInput.value = expected.prompt;
lengthInput.value = String(expected.length);

function setState(state: 'loading' | 'ready' | 'running' | 'done' | 'error', label: string): void {
  document.body.dataset.state = state;
  status.textContent = label;
  const busy = state === 'running' || state === 'loading' || state === 'error';
  generateButton.disabled = busy;
  compareButton.disabled = busy;
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
let pending: Backend[] = [];
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

const ms = (v: number) => (v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`);

function showStats(r: RunRecord): void {
  const row = $(`#stats tr[data-backend="${r.backend}"]`);
  const sorted = [...r.stepMs].sort((a, b) => a - b);
  const cells = row.querySelectorAll('td');
  cells.forEach((c) => c.remove());
  const values = sorted.length === 0
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

/** Against PyTorch's greedy output for the committed prompt, and against the other backend's run. */
function judge(r: RunRecord): void {
  const notes: string[] = [];
  let good = true;
  if (r.temperature === 0 && r.prompt === expected.prompt && r.length === expected.length && !r.aborted) {
    if (r.text === expected.text) {
      notes.push(`✓ identical to PyTorch's greedy output (${expected.length} characters)`);
    } else {
      good = false;
      let i = 0;
      while (i < r.text.length && r.text[i] === expected.text[i]) i++;
      notes.push(`✗ differs from PyTorch's greedy output from character ${i}`);
    }
  }
  const other = [...handle.results].reverse().find(
    (o) => o.backend !== r.backend && o.prompt === r.prompt && o.length === r.length && o.temperature === r.temperature && o.seed === r.seed && !o.aborted,
  );
  if (other && !r.aborted) {
    if (other.text === r.text) notes.push('✓ WebGPU and CPU reference agree');
    else {
      good = false;
      notes.push('✗ WebGPU and CPU reference differ');
    }
  }
  if (r.aborted) notes.push(`stopped after ${r.text.length} characters`);
  verdict.textContent = notes.join(' · ');
  verdict.className = `verdict ${good ? 'good' : 'bad'}`;
}

function start(backend: Backend): void {
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
    backend,
    prompt: promptInput.value,
    length,
    temperature: Number(temperatureInput.value),
    seed: Math.trunc(Number(seedInput.value) || 0),
  };
  promptSpan.textContent = current.prompt;
  generatedText = document.createTextNode('');
  generatedSpan.replaceChildren(generatedText);
  verdict.textContent = '';
  setState('running', backend === 'gpu' ? 'running on WebGPU' : 'running on the CPU');
  worker.postMessage(current);
}

const selectedBackend = () => (document.querySelector<HTMLInputElement>('input[name="backend"]:checked')?.value ?? 'gpu') as Backend;

generateButton.addEventListener('click', () => {
  pending = [];
  start(selectedBackend());
});
compareButton.addEventListener('click', () => {
  pending = ['cpu'];
  start('gpu');
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
      $('#adapter').textContent = `WebGPU adapter: ${[adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' · ') || 'unknown'}`;
      setState('ready', 'ready');
      break;
    }
    case 'token':
      if (m.run === run) generatedText.appendData(m.char);
      break;
    case 'done': {
      if (m.run !== run || !current) break;
      const record: RunRecord = { ...m, prompt: current.prompt, length: current.length, temperature: current.temperature, seed: current.seed };
      generatedText.data = m.text;
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
