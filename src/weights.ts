/**
 * The public weight layout (one entry per layer and direction, gate blocks in `gateOrder`), its
 * validation, and the packing into the GPU layout the kernels read.
 */
import { checkFloatArray, checkKeys } from './args.js';
import { GRUError, fail } from './errors.js';
import { bindingLimit } from './gpu.js';
import { toHalf } from './half.js';
import type { ResolvedOptions, WeightFormat } from './options.js';

/**
 * The weights of one layer and direction, row-major, in three H-row gate blocks ordered by
 * `options.gateOrder` (PyTorch's `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`,
 * `bias_hh_l{k}` with the default 'rzn'). A GRU takes L·D of them, at index `layer · D + direction`;
 * a wrong count, a missing or unknown key or a wrong length throws a {@link GRUError} naming the entry.
 */
export interface GRUWeights {
  /** `[3H, K]` input weights W, K the layer's input size: I for layer 0, D·H after it. */
  weightIh: Float32Array;
  /** `[3H, H]` recurrent weights U. */
  weightHh: Float32Array;
  /** `[3H]` input bias; default zeros. */
  biasIh?: Float32Array;
  /** `[3H]` recurrent bias; default zeros. */
  biasHh?: Float32Array;
}

const WEIGHT_KEYS = new Set(['weightIh', 'weightHh', 'biasIh', 'biasHh']);

/** Input features of layer `layer`: I for the first, D·H after it. */
export function layerInputSize(o: ResolvedOptions, layer: number): number {
  return layer === 0 ? o.inputSize : o.numDirections * o.hiddenSize;
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
    checkFloatArray(`${name}.weightIh`, entry.weightIh, 3 * H * K, `[3H, ${K}] = [${3 * H}, ${K}]`);
    checkFloatArray(`${name}.weightHh`, entry.weightHh, 3 * H * H, `[3H, H] = [${3 * H}, ${H}]`);
    for (const key of ['biasIh', 'biasHh'] as const) {
      if (entry[key] !== undefined) checkFloatArray(`${name}.${key}`, entry[key], 3 * H, `[3H] = [${3 * H}]`);
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

/** k per weight pack of shaders/recurrence.wgsl: a vec4<u32> holds 1, 2 or 4 k of 4 units. */
export const K_PER_PACK: Record<WeightFormat, number> = { f32: 1, f16: 2, int8: 4 };
export const FORMAT_CODES: Record<WeightFormat, number> = { f32: 0, f16: 1, int8: 2 };

/** Bytes of a layer's packed recurrent weights: packs, scales and b_hn. */
export function recurrentBytes(o: ResolvedOptions): number {
  const C = paddedHidden(o.hiddenSize) / 4;
  const packs = paddedHidden(o.hiddenSize) / K_PER_PACK[o.weightFormat];
  return 16 * o.numDirections * C * (packs * 3 + 3 + 1);
}

/**
 * Where each layer's weights go on the device: layer l's packed Uᵀ at byte `offsets[l]` of one
 * buffer, its Wᵀ and bias `projectionOffset` bytes further, every offset a multiple of `align`
 * (minStorageBufferOffsetAlignment). `shared` says whether the whole stack fits one buffer binding
 * (the wavefront kernels bind every layer at once); if not, each layer gets a buffer of its own
 * and every offset is 0.
 */
export interface WeightLayout {
  projectionOffset: number;
  /** Bytes of layer l's Uᵀ block plus its Wᵀ and bias. */
  bytes: number[];
  offsets: number[];
  /** Bytes of the one buffer of the whole stack. */
  total: number;
  shared: boolean;
}

export function weightLayout(
  o: ResolvedOptions,
  limits: { minStorageBufferOffsetAlignment: number; maxStorageBufferBindingSize: number; maxBufferSize: number },
): WeightLayout {
  const align = Math.max(16, limits.minStorageBufferOffsetAlignment);
  const alignUp = (n: number) => Math.ceil(n / align) * align;
  const projectionOffset = alignUp(recurrentBytes(o));
  const N = o.numDirections * 3 * paddedHidden(o.hiddenSize);
  const bytes = Array.from({ length: o.numLayers }, (_, l) => projectionOffset + (layerInputSize(o, l) + 1) * N * 4);
  const offsets = bytes.map((_, l) => bytes.slice(0, l).reduce((sum, b) => sum + alignUp(b), 0));
  const total = offsets[o.numLayers - 1] + bytes[o.numLayers - 1];
  const shared = total <= bindingLimit(limits);
  return { projectionOffset, bytes, offsets: shared ? offsets : offsets.map(() => 0), total, shared };
}

/**
 * The GPU layout of one layer (both directions), always in r, z, n order:
 * - `projection` (f32): Wᵀ as [K][N] with N = D·3·H4 (column d·3H4 + gate·H4 + j; the columns from
 *   H to H4 of each block stay zero), then the folded bias [N]: b_ih for every gate, plus b_hh for
 *   r and z — and for n too when the reset gate comes first, because then b_hn sits outside
 *   r ⊙ (…). A vec4 of neighbouring columns is one load in shaders/projection.wgsl.
 * - `recurrent`: Uᵀ in packs of 16 bytes, [D][H4/KP][3][C]: the weights of KP consecutive k for
 *   the 4 units of block c (f32: 1 k; f16: 2 k as pack2x16float pairs; int8: 4 k, each a u32 of 4
 *   snorm bytes, q = round(127·w / max|row|)), so an invocation of shaders/recurrence.wgsl reads
 *   its 4 units next to its neighbour's; then per-unit scales [D][3][C] (int8: max |row|, else
 *   1) and b_hn [D][C] as f32, which only the reset-after kernels read. The input projection
 *   stays f32 in every format: it is read once per 32-row tile, the recurrence once per step.
 */
export function packLayer(
  o: ResolvedOptions,
  weights: readonly GRUWeights[],
  layer: number,
): { projection: Float32Array; recurrent: Uint32Array } {
  const H = o.hiddenSize;
  const H4 = paddedHidden(H);
  const C = H4 / 4;
  const D = o.numDirections;
  const K = layerInputSize(o, layer);
  const N = D * 3 * H4;
  const KP = K_PER_PACK[o.weightFormat];
  const packs = H4 / KP; // covering H4, so the persistent kernels can read h 4 k at a time
  const blocks = gateBlocks(o.gateOrder);
  const source = [blocks.r, blocks.z, blocks.n];
  const projection = new Float32Array(K * N + N);
  const recurrent = new Uint32Array(recurrentBytes(o) / 4);
  const floats = new Float32Array(recurrent.buffer);
  const scaleBase = D * packs * 3 * C * 4;
  const biasBase = scaleBase + D * 3 * C * 4;
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
        let scale = 1;
        if (o.weightFormat === 'int8') {
          scale = 0;
          for (let k = 0; k < H; k++) scale = Math.max(scale, Math.abs(w.weightHh[urow + k]));
        }
        floats[scaleBase + (d * 3 + gate) * H4 + j] = scale;
        const c = j >> 2;
        const e = j & 3;
        for (let k = 0; k < H; k++) {
          const pack = (((d * packs + Math.floor(k / KP)) * 3 + gate) * C + c) * 4;
          const i = k % KP;
          const value = w.weightHh[urow + k];
          if (o.weightFormat === 'f32') {
            floats[pack + e] = value;
          } else if (o.weightFormat === 'f16') {
            // word 2i + (e >> 1), low half for even units
            recurrent[pack + 2 * i + (e >> 1)] |= toHalf(value) << ((e & 1) * 16);
          } else {
            const q = scale > 0 ? Math.max(-127, Math.min(127, Math.round((value / scale) * 127))) : 0;
            recurrent[pack + i] |= (q & 0xff) << (e * 8);
          }
        }
      }
    }
    if (o.resetAfter) {
      for (let j = 0; j < H; j++) floats[biasBase + d * H4 + j] = w.biasHh?.[blocks.n * H + j] ?? 0;
    }
  }
  return { projection, recurrent };
}
