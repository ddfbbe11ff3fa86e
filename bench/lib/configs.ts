/**
 * The benchmark's configurations, their FLOP counts, the seeded weights and inputs, and the
 * conversions of our weight layout (PyTorch: rows [3H, K], gate blocks r, z, n) to the peers'.
 * Shared by the browser page (bench/page/main.ts) and the Node form (bench/node.ts).
 */
import type { GRUOptions, GRUWeights } from '../../src/index.js';
import { seededRandom } from '../../test/suite/random.js';
import { encodeGRUModel } from './onnx.js';

export interface BenchConfig {
  id: string;
  batch: number;
  steps: number;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  direction: 'forward' | 'bidirectional';
  /** S: one step through the streaming API (createState + step); the peers run a T = 1 forward. */
  streaming: boolean;
  /** Only in the full run (the browser's --quick leaves it out; the Node form always runs it). */
  fullOnly: boolean;
  what: string;
}

function config(id: string, batch: number, steps: number, hidden: number, what: string, extra: Partial<BenchConfig> = {}): BenchConfig {
  return {
    id,
    batch,
    steps,
    inputSize: hidden,
    hiddenSize: hidden,
    numLayers: 1,
    direction: 'forward',
    streaming: false,
    fullOnly: false,
    what,
    ...extra,
  };
}

export const CONFIGS: readonly BenchConfig[] = [
  config('A', 1, 100, 64, 'small, latency-bound'),
  config('B', 1, 100, 256, 'one sequence, mid-size'),
  config('C', 16, 50, 256, 'small batch'),
  config('D', 64, 32, 512, 'large batch'),
  config('E', 1, 1000, 32, 'long sequence, tiny state'),
  config('F', 8, 100, 128, '2 layers, bidirectional', { numLayers: 2, direction: 'bidirectional' }),
  config('W', 16, 50, 128, '3 layers, one direction (wavefront)', { numLayers: 3 }),
  config('G', 64, 32, 1024, 'throughput, H = 1024', { fullOnly: true }),
  config('S', 1, 1, 256, 'one streaming step', { streaming: true }),
];

export function configById(id: string): BenchConfig {
  const c = CONFIGS.find((x) => x.id === id);
  if (!c) throw new Error(`no benchmark config ${JSON.stringify(id)}; expected one of ${CONFIGS.map((x) => x.id).join(', ')}`);
  return c;
}

export function numDirections(c: BenchConfig): 1 | 2 {
  return c.direction === 'bidirectional' ? 2 : 1;
}

export function layerInput(c: BenchConfig, layer: number): number {
  return layer === 0 ? c.inputSize : numDirections(c) * c.hiddenSize;
}

/**
 * FLOPs of one forward: Σ over layers and directions of T·B·(2·3H·K + 2·3H·H), K the layer's input
 * size — the two matrix products, a multiply and an add per weight; the gates' element-wise work
 * (about 10·H per row and step) is left out, as is usual.
 */
export function flops(c: BenchConfig): number {
  const H = c.hiddenSize;
  let total = 0;
  for (let l = 0; l < c.numLayers; l++) {
    total += numDirections(c) * c.steps * c.batch * (2 * 3 * H * layerInput(c, l) + 2 * 3 * H * H);
  }
  return total;
}

export function gruOptions(c: BenchConfig, resetAfter = true): GRUOptions {
  return {
    inputSize: c.inputSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    direction: c.direction,
    resetAfter,
  };
}

function uniform(random: () => number, length: number, scale: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (random() * 2 - 1) * scale;
  return out;
}

export interface BenchData {
  /** Ours, gate order r, z, n; one entry per (layer, direction). */
  weights: GRUWeights[];
  /** [T, B, I] */
  input: Float32Array;
}

/** PyTorch's initialisation, U(−1/√H, 1/√H); input U(−1, 1). The same seed gives the same data everywhere. */
export function makeData(c: BenchConfig, seed = 20261126): BenchData {
  const random = seededRandom(seed ^ c.id.charCodeAt(0));
  const H = c.hiddenSize;
  const s = 1 / Math.sqrt(H);
  const weights: GRUWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const K = layerInput(c, l);
    for (let d = 0; d < numDirections(c); d++) {
      weights.push({
        weightIh: uniform(random, 3 * H * K, s),
        weightHh: uniform(random, 3 * H * H, s),
        biasIh: uniform(random, 3 * H, s),
        biasHh: uniform(random, 3 * H, s),
      });
    }
  }
  return { weights, input: uniform(random, c.steps * c.batch * c.inputSize, 1) };
}

/** Rows [3H, cols] with gate blocks r, z, n → z, r, n (ONNX's and Keras' order). */
export function rznToZrn(a: Float32Array, H: number, cols = 1): Float32Array {
  const block = H * cols;
  const out = new Float32Array(a.length);
  out.set(a.subarray(block, 2 * block), 0);
  out.set(a.subarray(0, block), block);
  out.set(a.subarray(2 * block, 3 * block), 2 * block);
  return out;
}

/** [rows, cols] → [cols, rows] */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

const zeros = (n: number) => new Float32Array(n);

/** ONNX GRU initializers for one layer: W [D, 3H, K], R [D, 3H, H], B [D, 6H] (Wb then Rb), gates z, r, h. */
export function onnxLayerWeights(
  c: BenchConfig,
  weights: readonly GRUWeights[],
  layer: number,
): { W: Float32Array; R: Float32Array; B: Float32Array } {
  const H = c.hiddenSize;
  const K = layerInput(c, layer);
  const D = numDirections(c);
  const W = new Float32Array(D * 3 * H * K);
  const R = new Float32Array(D * 3 * H * H);
  const B = new Float32Array(D * 6 * H);
  for (let d = 0; d < D; d++) {
    const w = weights[layer * D + d]!;
    W.set(rznToZrn(w.weightIh, H, K), d * 3 * H * K);
    R.set(rznToZrn(w.weightHh, H, H), d * 3 * H * H);
    B.set(rznToZrn(w.biasIh ?? zeros(3 * H), H), d * 6 * H);
    B.set(rznToZrn(w.biasHh ?? zeros(3 * H), H), d * 6 * H + 3 * H);
  }
  return { W, R, B };
}

/** The ONNX model the ORT runners load: one GRU node per layer, with these weights. */
export function onnxModel(c: BenchConfig, weights: readonly GRUWeights[]): Uint8Array {
  return encodeGRUModel({
    steps: c.steps,
    batch: c.batch,
    inputSize: c.inputSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    direction: c.direction,
    layers: Array.from({ length: c.numLayers }, (_, l) => onnxLayerWeights(c, weights, l)),
  });
}

/**
 * Keras (tfjs-layers) GRUCell weights for one (layer, direction), reset_after = false: kernel [K, 3H],
 * recurrent_kernel [H, 3H], bias [3H], gates z, r, h. Keras has one bias there; with reset_after =
 * false every bias of ours folds into it (b_hn sits outside U_n·(r ⊙ h)), so the math is the same.
 */
export function kerasCellWeights(
  c: BenchConfig,
  w: GRUWeights,
  layer: number,
): { kernel: Float32Array; recurrent: Float32Array; bias: Float32Array } {
  const H = c.hiddenSize;
  const K = layerInput(c, layer);
  const bias = new Float32Array(3 * H);
  const bi = w.biasIh ?? zeros(3 * H);
  const bh = w.biasHh ?? zeros(3 * H);
  for (let i = 0; i < 3 * H; i++) bias[i] = bi[i]! + bh[i]!;
  return {
    kernel: transpose(rznToZrn(w.weightIh, H, K), 3 * H, K),
    recurrent: transpose(rznToZrn(w.weightHh, H, H), 3 * H, H),
    bias: rznToZrn(bias, H),
  };
}

/** [A, B, C] → [B, A, C] (time-major ↔ batch-major). */
export function swap01(a: Float32Array, A: number, B: number, C: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < A; i++) for (let j = 0; j < B; j++) out.set(a.subarray((i * B + j) * C, (i * B + j + 1) * C), (j * A + i) * C);
  return out;
}

/** Largest |a − b|, Infinity for a length mismatch or a NaN. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
