/** The messages between the demo page (main.ts) and its worker (worker.ts). */

export type Backend = 'gpu' | 'cpu';

export interface GenerateRequest {
  type: 'generate';
  /** Echoed in every reply about this run. */
  run: number;
  backend: Backend;
  prompt: string;
  length: number;
  /** 0: greedy. */
  temperature: number;
  seed: number;
}

export type ToWorker = GenerateRequest | { type: 'stop' };

export interface ModelInfo {
  vocabSize: number;
  embeddingSize: number;
  hiddenSize: number;
  numLayers: number;
  parameters: number;
  bytes: number;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
}

export type FromWorker =
  | { type: 'ready'; adapter: AdapterInfo; model: ModelInfo; loadMs: number }
  | { type: 'error'; message: string; run?: number }
  | { type: 'token'; run: number; char: string; ms: number; index: number }
  | {
      type: 'done';
      run: number;
      backend: Backend;
      text: string;
      stepMs: number[];
      prefillMs: number;
      totalMs: number;
      aborted: boolean;
    };
