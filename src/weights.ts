/**
 * The public weight layout (one entry per layer and direction, gate blocks in `gateOrder`), its
 * validation, and the packing into the GPU layout the kernels read.
 */
import { GRUError, fail } from './errors.js';
import { checkKeys, type ResolvedOptions } from './options.js';

export interface GRUWeights {
  /** [3H, inputSize of this layer]: layer 0: I, later layers: D·H. */
  weightIh: Float32Array;
  /** [3H, H] */
  weightHh: Float32Array;
  /** [3H], optional (zeros). */
  biasIh?: Float32Array;
  /** [3H], optional (zeros). */
  biasHh?: Float32Array;
}

const WEIGHT_KEYS = new Set(['weightIh', 'weightHh', 'biasIh', 'biasHh']);

/** Input features of layer `layer`: I for the first, D·H after it. */
export function layerInputSize(o: ResolvedOptions, layer: number): number {
  return layer === 0 ? o.inputSize : o.numDirections * o.hiddenSize;
}

function checkArray(argument: string, value: unknown, length: number, shape: string): void {
  if (!(value instanceof Float32Array)) fail(argument, `a Float32Array of ${shape} = ${length} values`, value);
  if (value.length !== length) {
    throw new GRUError(`${argument}: expected ${shape} = ${length} values, got ${value.length}`);
  }
}

export function validateWeights(o: ResolvedOptions, weights: unknown): readonly GRUWeights[] {
  const count = o.numLayers * o.numDirections;
  const shape = `numLayers × directions = ${o.numLayers} × ${o.numDirections}`;
  if (!Array.isArray(weights)) fail('weights', `an array of ${count} GRUWeights (${shape})`, weights);
  if (weights.length !== count) {
    throw new GRUError(`weights: expected ${count} entries (${shape}), got ${weights.length}`);
  }
  const H = o.hiddenSize;
  weights.forEach((w: unknown, index) => {
    const name = `weights[${index}]`;
    if (typeof w !== 'object' || w === null) fail(name, 'a GRUWeights object', w);
    checkKeys(name, w, WEIGHT_KEYS);
    const entry = w as Record<string, unknown>;
    const K = layerInputSize(o, Math.floor(index / o.numDirections));
    checkArray(`${name}.weightIh`, entry.weightIh, 3 * H * K, `[3H, ${K}] = [${3 * H}, ${K}]`);
    checkArray(`${name}.weightHh`, entry.weightHh, 3 * H * H, `[3H, H] = [${3 * H}, ${H}]`);
    for (const key of ['biasIh', 'biasHh'] as const) {
      if (entry[key] !== undefined) checkArray(`${name}.${key}`, entry[key], 3 * H, `[3H] = [${3 * H}]`);
    }
  });
  return weights as GRUWeights[];
}

/** Position of the r, z and n blocks in a caller's weight for each gate order. */
export function gateBlocks(order: 'rzn' | 'zrn'): { r: number; z: number; n: number } {
  return order === 'rzn' ? { r: 0, z: 1, n: 2 } : { r: 1, z: 0, n: 2 };
}

/** H rounded up to a multiple of 4: the column blocks of the projection are vec4-aligned. */
export function paddedHidden(H: number): number {
  return Math.ceil(H / 4) * 4;
}

/**
 * The GPU layout of one layer (both directions), always in r, z, n order:
 * - `projection`: Wᵀ as [K][N] with N = D·3·H4 (column d·3H4 + gate·H4 + j; the columns from H to
 *   H4 of each block stay zero), then the folded bias [N]: b_ih for every gate, plus b_hh for r
 *   and z — and for n too when the reset gate comes first, because then b_hn sits outside
 *   r ⊙ (…). A vec4 of neighbouring columns is one load in shaders/projection.wgsl.
 * - `recurrent`: Uᵀ as [D][H(k)][3][H4] (an invocation of shaders/recurrence.wgsl reads the vec4
 *   of its 4 units, next to its neighbour's), then b_hn [D][H4], which only the reset-after
 *   kernels read.
 */
export function packLayer(
  o: ResolvedOptions,
  weights: readonly GRUWeights[],
  layer: number,
): { projection: Float32Array; recurrent: Float32Array } {
  const H = o.hiddenSize;
  const H4 = paddedHidden(H);
  const D = o.numDirections;
  const K = layerInputSize(o, layer);
  const N = D * 3 * H4;
  const blocks = gateBlocks(o.gateOrder);
  const source = [blocks.r, blocks.z, blocks.n];
  const projection = new Float32Array(K * N + N);
  const recurrent = new Float32Array(D * H * 3 * H4 + D * H4);
  for (let d = 0; d < D; d++) {
    const w = weights[layer * D + d];
    for (let gate = 0; gate < 3; gate++) {
      const src = source[gate] * H;
      for (let j = 0; j < H; j++) {
        const col = (d * 3 + gate) * H4 + j;
        const row = (src + j) * K;
        for (let k = 0; k < K; k++) projection[k * N + col] = w.weightIh[row + k];
        const foldHh = gate < 2 || !o.resetAfter;
        projection[K * N + col] = (w.biasIh?.[src + j] ?? 0) + (foldHh ? (w.biasHh?.[src + j] ?? 0) : 0);
        const urow = (src + j) * H;
        for (let k = 0; k < H; k++) recurrent[((d * H + k) * 3 + gate) * H4 + j] = w.weightHh[urow + k];
      }
    }
    if (o.resetAfter) {
      for (let j = 0; j < H; j++) recurrent[D * H * 3 * H4 + d * H4 + j] = w.biasHh?.[blocks.n * H + j] ?? 0;
    }
  }
  return { projection, recurrent };
}
