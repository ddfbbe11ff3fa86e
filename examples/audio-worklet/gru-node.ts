/**
 * The page's side of the GRU processor (gru-processor.ts): `createGRUNode(context, init)` loads the
 * processor module into the context's AudioWorklet (once per context), compiles the kernels on the
 * page unless told to leave that to the worklet, and resolves with an AudioWorkletNode whose
 * processor has built its GRU, so that an OfflineAudioContext rendered right after runs the GRU
 * from its first block. Shared by this example's page (main.ts) and the test page of
 * test/worklet.test.ts.
 *
 * The kernels are compiled here by default because compiling takes milliseconds that the audio
 * thread, where the processor's constructor runs, would take from rendering; the module reaches the
 * worklet through `processorOptions` (a structured clone). The node is mono in and out: the GRU
 * sees one channel of 128-sample blocks.
 */
import { compileWasmKernels, type GRUOptions, type GRUWeights, type WasmSimd } from '../../src/index.js';
import processorUrl from './gru-processor.ts?worker&url';
import {
  PROCESSOR_NAME,
  type FromProcessor,
  type GRUProcessorOptions,
  type ProcessorInfo,
  type ProcessorStats,
  type ToProcessor,
} from './protocol.js';

export interface GRUNodeInit {
  /** inputSize = hiddenSize = 128; any number of layers, direction 'forward'. */
  options: GRUOptions;
  weights: GRUWeights[];
  /** Default 'auto': relaxed SIMD where the engine has it. */
  simd?: WasmSimd | 'auto';
  /** Where to compile the kernels (default 'page'); 'worklet' compiles them in the processor's constructor. */
  compileIn?: 'page' | 'worklet';
}

export interface GRUNode {
  node: AudioWorkletNode;
  info: ProcessorInfo;
  /** The processor's count of blocks and time in the GRU so far. */
  stats(): Promise<ProcessorStats>;
}

const loaded = new WeakMap<BaseAudioContext, Promise<void>>();

function loadProcessor(context: BaseAudioContext): Promise<void> {
  if (!context.audioWorklet) {
    throw new Error(
      `context.audioWorklet: expected an AudioWorklet (a secure context: https or localhost), got ${String(context.audioWorklet)}`,
    );
  }
  let done = loaded.get(context);
  if (!done) {
    done = context.audioWorklet.addModule(processorUrl);
    loaded.set(context, done);
  }
  return done;
}

/** The next message from the processor of the given type, or its error. */
function receive<T extends FromProcessor['type']>(node: AudioWorkletNode, type: T): Promise<Extract<FromProcessor, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (event: MessageEvent<FromProcessor>) => {
      if (event.data.type === 'error') {
        cleanUp();
        reject(new Error(`the GRU processor failed: ${event.data.message}`));
      } else if (event.data.type === type) {
        cleanUp();
        resolve(event.data as Extract<FromProcessor, { type: T }>);
      }
    };
    // Only a fallback: the processor posts its error before throwing, and this event has no message.
    const onError = () => {
      cleanUp();
      reject(new Error('the GRU processor failed (processorerror) without saying why'));
    };
    const cleanUp = () => {
      node.port.removeEventListener('message', onMessage);
      node.removeEventListener('processorerror', onError);
    };
    node.port.addEventListener('message', onMessage);
    node.addEventListener('processorerror', onError);
    node.port.start();
  });
}

export async function createGRUNode(context: BaseAudioContext, init: GRUNodeInit): Promise<GRUNode> {
  const compileIn = init.compileIn ?? 'page';
  if (compileIn !== 'page' && compileIn !== 'worklet')
    throw new Error(`init.compileIn: expected 'page' or 'worklet', got ${String(compileIn)}`);
  const simd = init.simd ?? 'auto';
  const [module] = await Promise.all([compileIn === 'page' ? compileWasmKernels(simd) : undefined, loadProcessor(context)]);
  const processorOptions: GRUProcessorOptions = { options: init.options, weights: init.weights, simd, ...(module ? { module } : {}) };
  const node = new AudioWorkletNode(context, PROCESSOR_NAME, {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [1],
    channelCount: 1,
    channelCountMode: 'explicit',
    processorOptions,
  });
  const { type: _, ...info } = await receive(node, 'ready');
  return {
    node,
    info,
    async stats() {
      const reply = receive(node, 'stats');
      node.port.postMessage({ type: 'stats' } satisfies ToProcessor);
      const { type: __, ...stats } = await reply;
      return stats;
    },
  };
}
