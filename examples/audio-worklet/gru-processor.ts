/**
 * The AudioWorkletProcessor that runs a GRU on every render quantum, on the audio thread: the 128
 * input samples of the block are x_t (inputSize 128), and h_t (hiddenSize 128) is written straight
 * into the block's output channel. `process()` allocates nothing: `WasmGRU.stepSync` reads the
 * input channel and writes the output channel in place, h stays in the GRU's WebAssembly memory
 * between blocks, and a disconnected input reads a block of silence made once. That keeps the
 * audio thread free of garbage-collection pauses, which a 2.67 ms budget (128 samples at 48 kHz)
 * cannot absorb.
 *
 * Options, weights and (optionally) the compiled kernels come through `processorOptions` (see
 * protocol.ts); the GRU is built synchronously in the constructor, the only place it can be, since
 * the processor must be ready for its first `process()`. Stats go to the page on request, never
 * from `process()`.
 *
 * The library is imported statically: served by Vite, the module and its imports load into the
 * AudioWorkletGlobalScope as they are (README.md, findings).
 */
import { GRUError, WasmGRU, type WasmGRUState } from '../../src/index.js';
import { BLOCK, PROCESSOR_NAME, type FromProcessor, type GRUProcessorOptions, type ToProcessor } from './protocol.js';

// The AudioWorkletGlobalScope, as far as this file uses it: TypeScript's lib.dom describes only the
// page's side of an AudioWorklet.
declare abstract class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: AudioWorkletNodeOptions);
}
declare function registerProcessor(name: string, processor: new (options: AudioWorkletNodeOptions) => AudioWorkletProcessor): void;
declare const sampleRate: number;

class GRUProcessor extends AudioWorkletProcessor {
  private readonly gru: WasmGRU;
  private readonly state: WasmGRUState;
  /** The input of a block whose input is not connected. */
  private readonly silence = new Float32Array(BLOCK);
  private blocks = 0;
  private stepMs = 0;

  constructor(nodeOptions: AudioWorkletNodeOptions) {
    super(nodeOptions);
    try {
      const init = nodeOptions.processorOptions as GRUProcessorOptions | undefined;
      if (typeof init !== 'object' || init === null) {
        throw new GRUError(`processorOptions: expected { options, weights, simd, module? }, got ${String(init)}`);
      }
      const { inputSize, hiddenSize } = init.options;
      if (inputSize !== BLOCK || hiddenSize !== BLOCK) {
        throw new GRUError(
          `processorOptions.options: expected inputSize = hiddenSize = ${BLOCK} (a render quantum of samples in and out), ` +
            `got inputSize ${String(inputSize)}, hiddenSize ${String(hiddenSize)}`,
        );
      }
      this.gru = WasmGRU.createSync(init.options, init.weights, { simd: init.simd, ...(init.module ? { module: init.module } : {}) });
      this.state = this.gru.createState(1);
      this.post({ type: 'ready', simd: this.gru.simd, compiledIn: init.module ? 'page' : 'worklet', sampleRate });
    } catch (error) {
      // The node's `processorerror` event carries no message: the page learns why from the port.
      this.post({ type: 'error', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      throw error;
    }
    this.port.onmessage = (event: MessageEvent<ToProcessor>) => {
      if (event.data.type === 'stats') this.post({ type: 'stats', blocks: this.blocks, stepMs: this.stepMs });
    };
  }

  private post(message: FromProcessor): void {
    this.port.postMessage(message);
  }

  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const x = inputs[0]?.[0] ?? this.silence;
    const y = outputs[0]![0]!;
    const start = Date.now();
    this.gru.stepSync(x, this.state, y);
    this.stepMs += Date.now() - start;
    this.blocks++;
    // Kept alive without input: h decays over the following blocks instead of being cut off.
    return true;
  }
}

registerProcessor(PROCESSOR_NAME, GRUProcessor);
