/**
 * The example page: plays a sawtooth, a sine or white noise through the GRU processor on a live
 * AudioContext (created on Start: browsers start audio only after a user gesture), with a switch
 * that takes the GRU out of the path to compare, and shows where the kernels were compiled, which
 * SIMD they use and how much of each block's time budget the GRU step takes.
 */
import { createGRUNode, type GRUNode } from './gru-node.js';
import { softClipper } from './model.js';
import { BLOCK } from './protocol.js';

type SourceName = 'sawtooth' | 'sine' | 'noise';

interface Playing {
  context: AudioContext;
  gru: GRUNode;
  source: AudioScheduledSourceNode;
  /** Where the source or the GRU connects: a quiet gain before the speakers. */
  out: GainNode;
  timer: number;
}

const $ = <T extends HTMLElement>(selector: string) => {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`the page has no ${selector}`);
  return element;
};
const startButton = $<HTMLButtonElement>('#start');
const stopButton = $<HTMLButtonElement>('#stop');
const sourceSelect = $<HTMLSelectElement>('#source');
const gruBox = $<HTMLInputElement>('#gru');
const status = $<HTMLOutputElement>('#status');

let playing: Playing | undefined;

function makeSource(context: AudioContext, name: SourceName): AudioScheduledSourceNode {
  if (name === 'noise') {
    const buffer = context.createBuffer(1, 2 * context.sampleRate, context.sampleRate);
    const samples = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) samples[i] = Math.random() * 2 - 1;
    return new AudioBufferSourceNode(context, { buffer, loop: true });
  }
  return new OscillatorNode(context, { type: name, frequency: name === 'sawtooth' ? 110 : 220 });
}

/** source → GRU → out, or source → out with the GRU switched off. */
function route(p: Playing): void {
  p.source.disconnect();
  p.gru.node.disconnect();
  if (gruBox.checked) p.source.connect(p.gru.node).connect(p.out);
  else p.source.connect(p.out);
}

async function start(): Promise<void> {
  startButton.disabled = true;
  status.textContent = 'Starting…';
  const context = new AudioContext({ latencyHint: 'interactive' });
  try {
    const { options, weights } = softClipper(4, 0.05);
    const gru = await createGRUNode(context, { options, weights });
    const out = new GainNode(context, { gain: 0.2 });
    out.connect(context.destination);
    const source = makeSource(context, sourceSelect.value as SourceName);
    source.start();
    const budgetUs = (BLOCK / context.sampleRate) * 1e6;
    const p: Playing = { context, gru, source, out, timer: 0 };
    route(p);
    const show = async () => {
      const stats = await gru.stats();
      const meanUs = stats.blocks ? (stats.stepMs / stats.blocks) * 1000 : 0;
      status.textContent =
        `Kernels compiled on the ${gru.info.compiledIn}, ${gru.info.simd} SIMD, ${context.sampleRate} Hz, base latency ${(context.baseLatency * 1000).toFixed(1)} ms.\n` +
        `GRU step: ${meanUs.toFixed(0)} µs a block, mean over ${stats.blocks} blocks ` +
        `(${((meanUs / budgetUs) * 100).toFixed(1)} % of the ${(budgetUs / 1000).toFixed(2)} ms a block lasts).`;
    };
    p.timer = window.setInterval(() => void show().catch(fail), 500);
    playing = p;
    stopButton.disabled = false;
    await context.resume();
  } catch (error) {
    await context.close();
    throw error;
  }
}

async function stop(): Promise<void> {
  const p = playing;
  if (!p) return;
  playing = undefined;
  window.clearInterval(p.timer);
  stopButton.disabled = true;
  await p.context.close();
  startButton.disabled = false;
  status.textContent = 'Stopped.';
}

function fail(error: unknown): void {
  status.textContent = `Error: ${error instanceof Error ? error.message : String(error)}`;
  startButton.disabled = playing !== undefined;
}

startButton.addEventListener('click', () => void start().catch(fail));
stopButton.addEventListener('click', () => void stop().catch(fail));
gruBox.addEventListener('change', () => {
  if (playing) route(playing);
});
sourceSelect.addEventListener('change', () => {
  const p = playing;
  if (!p) return;
  p.source.stop();
  p.source.disconnect();
  p.source = makeSource(p.context, sourceSelect.value as SourceName);
  p.source.start();
  route(p);
});
