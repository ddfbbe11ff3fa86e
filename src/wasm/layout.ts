/**
 * The memory layout the WebAssembly kernels (assembly/gru.ts) read: weights packed in panels of
 * 8 columns, and the argument struct of `recur`.
 *
 * Columns of a layer's projection are (direction, gate, unit) with gates in r, z, n order and H
 * padded to Hp (a multiple of 8, so a gate is whole panels): column (d·3 + gate)·Hp + j. Its bias
 * folds b_ih, plus b_hh for r and z — and for n when the reset gate comes first, since then b_hn
 * is inside U_n·(r ⊙ h) + b_hn; with the reset gate after, b_hn stays apart (`bhn`), as on the GPU
 * (src/weights.ts `packLayer`).
 */
import type { ResolvedOptions } from '../options.js';
import { halfToFloat, toHalf } from '../half.js';
import { gateBlocks, layerInputSize, type GRUWeights } from '../weights.js';

/** H rounded up to whole panels of 8. */
export function panelHidden(H: number): number {
  return Math.ceil(H / 8) * 8;
}

/**
 * The fields of `class Cfg` in assembly/gru.ts, in order, each 4 bytes: 'f' fields are f32, the
 * rest i32 (pointers are byte offsets). test/suite/wasm.ts checks this list against the source.
 */
export const CFG_FIELDS = [
  'gx',
  'gStrideT',
  'gStrideB',
  'u',
  'bhn',
  'h',
  'hg',
  'rh',
  'out',
  'oStrideT',
  'oStrideB',
  'b0',
  'rows',
  'steps',
  'lengths',
  'reverse',
  'hidden',
  'hiddenPadded',
  'resetAfter',
  'fCode',
  'fAlpha',
  'fBeta',
  'gCode',
  'gAlpha',
  'gBeta',
  'clip',
] as const;
export type CfgField = (typeof CFG_FIELDS)[number];
const FLOAT_FIELDS = new Set<CfgField>(['fAlpha', 'fBeta', 'gAlpha', 'gBeta', 'clip']);
export const CFG_BYTES = CFG_FIELDS.length * 4;

/** Writes a `recur` argument struct at byte `at`, by field name. */
export function writeCfg(memory: WebAssembly.Memory, at: number, values: Record<CfgField, number>): void {
  const i32 = new Int32Array(memory.buffer, at, CFG_FIELDS.length);
  const f32 = new Float32Array(memory.buffer, at, CFG_FIELDS.length);
  CFG_FIELDS.forEach((field, i) => {
    if (FLOAT_FIELDS.has(field)) f32[i] = values[field];
    else i32[i] = values[field];
  });
}

/** The fields of a struct that depend on the options alone. */
export function optionFields(
  o: ResolvedOptions,
): Pick<
  Record<CfgField, number>,
  'hidden' | 'hiddenPadded' | 'resetAfter' | 'fCode' | 'fAlpha' | 'fBeta' | 'gCode' | 'gAlpha' | 'gBeta' | 'clip'
> {
  const [f, g] = o.activations;
  return {
    hidden: o.hiddenSize,
    hiddenPadded: panelHidden(o.hiddenSize),
    resetAfter: o.resetAfter ? 1 : 0,
    fCode: f.code,
    fAlpha: f.alpha,
    fBeta: f.beta,
    gCode: g.code,
    gAlpha: g.alpha,
    gBeta: g.beta,
    clip: o.clip,
  };
}

/**
 * U as the kernels compute with it: weightFormat 'f16' and 'int8' round the recurrent weights as
 * the GPU stores them (binary16; q = round(127·w / max|row|), w' = q/127 · max|row|), so the two
 * backends agree; the wasm backend keeps them as f32 in memory.
 */
function recurrentWeight(o: ResolvedOptions, weightHh: Float32Array, row: number): (k: number) => number {
  const H = o.hiddenSize;
  const base = row * H;
  if (o.weightFormat === 'f16') return (k) => halfToFloat(toHalf(weightHh[base + k]));
  if (o.weightFormat === 'int8') {
    let scale = 0;
    for (let k = 0; k < H; k++) scale = Math.max(scale, Math.abs(weightHh[base + k]));
    return (k) => (scale > 0 ? (Math.max(-127, Math.min(127, Math.round((weightHh[base + k] / scale) * 127))) / 127) * scale : 0);
  }
  return (k) => weightHh[base + k];
}

/**
 * Writes one layer's packed weights at the given float offsets of `f32`:
 * - `proj`: Wᵀ panels [N/8][K][8] with N = D·3·Hp, then the folded bias [N];
 * - `rec[d]`: Uᵀ panels [3·Hp/8][H][8] of direction d, then b_hn [Hp].
 */
export function packLayerWasm(
  o: ResolvedOptions,
  weights: readonly GRUWeights[],
  layer: number,
  f32: Float32Array,
  proj: number,
  rec: readonly number[],
): void {
  const H = o.hiddenSize;
  const Hp = panelHidden(H);
  const D = o.numDirections;
  const K = layerInputSize(o, layer);
  const N = D * 3 * Hp;
  const blocks = gateBlocks(o.gateOrder);
  const source = [blocks.r, blocks.z, blocks.n];
  f32.fill(0, proj, proj + K * N + N);
  for (let d = 0; d < D; d++) f32.fill(0, rec[d], rec[d] + 3 * Hp * H + Hp);
  for (let d = 0; d < D; d++) {
    const w = weights[layer * D + d];
    for (let gate = 0; gate < 3; gate++) {
      const src = source[gate] * H;
      const foldHh = gate < 2 || !o.resetAfter;
      for (let j = 0; j < H; j++) {
        const col = (d * 3 + gate) * Hp + j;
        const panel = proj + (col >> 3) * K * 8 + (col & 7);
        const row = (src + j) * K;
        for (let k = 0; k < K; k++) f32[panel + k * 8] = w.weightIh[row + k];
        f32[proj + K * N + col] = (w.biasIh?.[src + j] ?? 0) + (foldHh ? (w.biasHh?.[src + j] ?? 0) : 0);

        const ucol = gate * Hp + j;
        const upanel = rec[d] + (ucol >> 3) * H * 8 + (ucol & 7);
        const u = recurrentWeight(o, w.weightHh, src + j);
        for (let k = 0; k < H; k++) f32[upanel + k * 8] = u(k);
      }
    }
    if (o.resetAfter) {
      for (let j = 0; j < H; j++) f32[rec[d] + 3 * Hp * H + j] = w.biasHh?.[blocks.n * H + j] ?? 0;
    }
  }
}

/** Floats of one layer's projection block (panels + bias) and of one direction's recurrent block. */
export function layerFloats(o: ResolvedOptions, layer: number): { proj: number; rec: number } {
  const Hp = panelHidden(o.hiddenSize);
  const N = o.numDirections * 3 * Hp;
  return { proj: (layerInputSize(o, layer) + 1) * N, rec: 3 * Hp * o.hiddenSize + Hp };
}
