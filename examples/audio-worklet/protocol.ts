/**
 * What the page (gru-node.ts) and the GRU processor (gru-processor.ts) say to each other: the
 * `processorOptions` the node is created with and the messages on its port. In a file of its own
 * because the two sides run in different global scopes and must not import each other: the
 * processor module would pull the page's code into the AudioWorkletGlobalScope, and the page would
 * run `registerProcessor`, which exists only there.
 */
import type { GRUOptions, GRUWeights, WasmSimd } from '../../src/index.js';

/** The name the processor is registered under. */
export const PROCESSOR_NAME = 'webgpu-gru-processor';

/** Samples per render quantum: the block every `process()` call gets (Web Audio's fixed 128). */
export const BLOCK = 128;

/** `processorOptions` of the node: the structured clone carries typed arrays and a WebAssembly.Module. */
export interface GRUProcessorOptions {
  /** inputSize = hiddenSize = BLOCK: a block of samples in, h_t out as the block's output samples. */
  options: GRUOptions;
  weights: GRUWeights[];
  simd: WasmSimd | 'auto';
  /** The kernels compiled on the page; absent: the processor compiles them itself. */
  module?: WebAssembly.Module;
}

/** The processor's GRU, once built. */
export interface ProcessorInfo {
  simd: WasmSimd;
  /** Where the kernels were compiled: on the page (passed in processorOptions) or in the worklet. */
  compiledIn: 'page' | 'worklet';
  /** The worklet's `sampleRate`. */
  sampleRate: number;
}

/**
 * Time spent in the GRU step, measured with `Date.now()` around each `stepSync` (an
 * AudioWorkletGlobalScope has no `performance`): whole milliseconds, so a mean is only meaningful
 * over many blocks, where the ticks that fall inside a step average out to its length.
 */
export interface ProcessorStats {
  blocks: number;
  stepMs: number;
}

export type FromProcessor = ({ type: 'ready' } & ProcessorInfo) | { type: 'error'; message: string } | ({ type: 'stats' } & ProcessorStats);

export type ToProcessor = { type: 'stats' };
