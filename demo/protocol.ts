/** The messages between the demo page (main.ts) and its worker (worker.ts). */
import type { BackendName } from '../src/index.js';

export type { BackendName };

/** 'auto': the backend `createGRU` chose for this machine when the worker loaded the model. */
export type BackendChoice = BackendName | 'auto';

/** A backend as the page shows it. */
export interface BackendInfo {
  backend: BackendName;
  /** `createGRU`'s sentence saying why this backend runs. */
  reason: string;
  /** What runs it: the WebAssembly SIMD level, or the WebGPU adapter. */
  detail: string;
}

export interface GenerateRequest {
  type: 'generate';
  /** Echoed in every reply about this run. */
  run: number;
  backend: BackendChoice;
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
  /** adapter: null where this browser has no WebGPU adapter ('auto' then runs on wasm). */
  | { type: 'ready'; adapter: AdapterInfo | null; auto: BackendInfo; model: ModelInfo; loadMs: number }
  /** A run's backend is being built (the first forced run on the backend 'auto' did not choose). */
  | { type: 'building'; run: number; backend: BackendName }
  | { type: 'error'; message: string; run?: number }
  | { type: 'token'; run: number; char: string; ms: number; index: number }
  /** The run's backend, why it ran there, and what it generated. */
  | (BackendInfo & {
      type: 'done';
      run: number;
      text: string;
      stepMs: number[];
      prefillMs: number;
      totalMs: number;
      aborted: boolean;
    });
