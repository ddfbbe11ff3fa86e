/**
 * The page half of test/worklet.test.ts: renders a signal through the example's GRU processor
 * (examples/audio-worklet/) with an OfflineAudioContext, source → AudioWorkletNode → destination,
 * and hands the rendered samples back. The Node half makes the weights and the signal and checks
 * the samples against the float64 reference, so this page holds no expectations of its own.
 *
 * `ready` rejects, naming what is missing, where the browser has no OfflineAudioContext, no
 * AudioWorklet or no WebAssembly SIMD: the test then fails rather than skips.
 */
import { createGRUNode } from '../../examples/audio-worklet/gru-node.js';
import { BLOCK, type ProcessorInfo, type ProcessorStats } from '../../examples/audio-worklet/protocol.js';
import { wasmSupport, type GRUOptions } from '../../src/index.js';

/** Plain arrays: what page.evaluate can carry. */
export interface RenderRequest {
  options: GRUOptions;
  weights: { weightIh: number[]; weightHh: number[]; biasIh: number[]; biasHh: number[] }[];
  /** blocks · 128 samples. */
  signal: number[];
  sampleRate: number;
  compileIn: 'page' | 'worklet';
}

export interface RenderResult {
  output: number[];
  info: ProcessorInfo;
  stats: ProcessorStats;
  /** Wall time of startRendering(), whole graph. */
  renderMs: number;
}

export interface WorkletHarness {
  /** The user agent, once the page has checked what the test needs. */
  ready: Promise<string>;
  render(request: RenderRequest): Promise<RenderResult>;
}

declare global {
  interface Window {
    __worklet: WorkletHarness;
  }
}

async function checkSupport(): Promise<string> {
  if (typeof OfflineAudioContext !== 'function')
    throw new Error(`OfflineAudioContext: expected a constructor, got ${typeof OfflineAudioContext}`);
  const worklet = 'audioWorklet' in OfflineAudioContext.prototype;
  if (typeof AudioWorkletNode !== 'function' || !worklet) {
    throw new Error(
      'AudioWorklet: expected AudioWorkletNode and BaseAudioContext.audioWorklet (a secure context), ' +
        `got AudioWorkletNode ${typeof AudioWorkletNode === 'function' ? 'present' : 'absent'}, audioWorklet ${worklet ? 'present' : 'absent'}`,
    );
  }
  const support = wasmSupport();
  if (!support.simd128) throw new Error('WebAssembly SIMD128: expected an engine that validates the kernels, got one that does not');
  return navigator.userAgent;
}

async function render(request: RenderRequest): Promise<RenderResult> {
  const { signal, sampleRate } = request;
  if (signal.length === 0 || signal.length % BLOCK !== 0)
    throw new Error(`signal: expected a positive multiple of ${BLOCK} samples, got ${signal.length}`);
  const context = new OfflineAudioContext({ numberOfChannels: 1, length: signal.length, sampleRate });
  const buffer = context.createBuffer(1, signal.length, sampleRate);
  buffer.copyToChannel(Float32Array.from(signal), 0);
  const source = new AudioBufferSourceNode(context, { buffer });
  const weights = request.weights.map((w) => ({
    weightIh: Float32Array.from(w.weightIh),
    weightHh: Float32Array.from(w.weightHh),
    biasIh: Float32Array.from(w.biasIh),
    biasHh: Float32Array.from(w.biasHh),
  }));
  const gru = await createGRUNode(context, { options: request.options, weights, compileIn: request.compileIn });
  source.connect(gru.node).connect(context.destination);
  source.start(0);
  const start = performance.now();
  const rendered = await context.startRendering();
  const renderMs = performance.now() - start;
  const stats = await gru.stats();
  return { output: Array.from(rendered.getChannelData(0)), info: gru.info, stats, renderMs };
}

window.__worklet = { ready: checkSupport(), render };
