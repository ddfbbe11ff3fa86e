/**
 * The CPU twin of every GPU kernel: a direct, float64-accumulating transcription of the GRU
 * equations, used by the tests as the ground truth and by users without WebGPU.
 *
 *   r = f(clip(W_r·x + b_ir + U_r·h + b_hr))
 *   z = f(clip(W_z·x + b_iz + U_z·h + b_hz))
 *   n = g(clip(W_n·x + b_in + r ⊙ (U_n·h + b_hn)))        resetAfter (default)
 *   n = g(clip(W_n·x + b_in + U_n·(r ⊙ h) + b_hn))        !resetAfter
 *   h' = (1 − z) ⊙ n + z ⊙ h
 */
import { checkRunArgs, type RunArgs } from './args.js';
import type { GRUOptions, ResolvedActivation, ResolvedOptions } from './options.js';
import { resolveOptions } from './options.js';
import { gateBlocks, layerInputSize, validateWeights, type GRUWeights } from './weights.js';

/** What a forward returns, as CPU arrays: `GRU.forward`, `WasmGRU.forward` and {@link gruReference}. */
export interface GRUResult {
  /**
   * `[T, B, D·H]` (`[B, T, D·H]` if batchFirst): the last layer's h at every step, directions
   * concatenated; 0 past a row's `seqLengths`.
   */
  output: Float32Array;
  /** `[L·D, B, H]`: each layer's and direction's last valid state, at index `layer · D + direction`. */
  hN: Float32Array;
}

/** The activation functions, as the ONNX operator set defines them. */
export function activate(a: ResolvedActivation, x: number): number {
  switch (a.name) {
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh(x);
    case 'relu':
      return Math.max(0, x);
    case 'hardSigmoid':
      return Math.max(0, Math.min(1, a.alpha * x + a.beta));
    case 'leakyRelu':
      return x < 0 ? a.alpha * x : x;
    case 'elu':
      return x < 0 ? a.alpha * (Math.exp(x) - 1) : x;
    case 'softsign':
      return x / (1 + Math.abs(x));
    case 'softplus':
      return Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
    case 'scaledTanh':
      return a.alpha * Math.tanh(a.beta * x);
    case 'affine':
      return a.alpha * x + a.beta;
    case 'thresholdedRelu':
      return x > a.alpha ? x : 0;
  }
}

/**
 * Runs the GRU on the CPU, accumulating in float64: the ground truth the GPU and WebAssembly
 * kernels are tested against. Same options, weights, arguments, result and errors as `GRU.forward`.
 *
 * @param options - the network, as for `GRU.create`.
 * @param weights - one entry per (layer, direction), at index `layer · D + direction`.
 * @param input - `[T, B, I]` (`[B, T, I]` if batchFirst).
 * @param args - `steps` T and `batch` B, and optionally `h0` and `seqLengths`.
 * @throws a {@link GRUError} on bad options, weights, input or arguments.
 */
export function gruReference(options: GRUOptions, weights: readonly GRUWeights[], input: Float32Array, args: RunArgs): GRUResult {
  const o = resolveOptions(options);
  const w = validateWeights(o, weights);
  const a = checkRunArgs(o, input, args);
  return referenceForward(o, w, input, a.steps, a.batch, a.h0, a.seqLengths);
}

function referenceForward(
  o: ResolvedOptions,
  weights: readonly GRUWeights[],
  input: Float32Array,
  T: number,
  B: number,
  h0: Float32Array | undefined,
  seqLengths: Int32Array | undefined,
): GRUResult {
  const H = o.hiddenSize;
  const D = o.numDirections;
  const L = o.numLayers;
  const hN = new Float32Array(L * D * B * H);
  // Layer input as time-major [T, B, K] in float64; layer 0 is read through strides.
  let layerIn: Float64Array = Float64Array.from(input);
  let inStrideT = o.batchFirst ? o.inputSize : B * o.inputSize;
  let inStrideB = o.batchFirst ? T * o.inputSize : o.inputSize;
  let layerOut = new Float64Array(T * B * D * H);
  for (let l = 0; l < L; l++) {
    const K = layerInputSize(o, l);
    layerOut = new Float64Array(T * B * D * H);
    for (let d = 0; d < D; d++) {
      const reverse = o.direction === 'reverse' || d === 1;
      const wt = weights[l * D + d];
      for (let b = 0; b < B; b++) {
        const len = seqLengths ? seqLengths[b] : T;
        const h = new Float64Array(H);
        if (h0) for (let j = 0; j < H; j++) h[j] = h0[((l * D + d) * B + b) * H + j];
        for (let s = 0; s < len; s++) {
          const t = reverse ? len - 1 - s : s;
          const next = cell(o, wt, layerIn, t * inStrideT + b * inStrideB, K, h);
          h.set(next);
          for (let j = 0; j < H; j++) layerOut[(t * B + b) * D * H + d * H + j] = next[j];
        }
        for (let j = 0; j < H; j++) hN[((l * D + d) * B + b) * H + j] = h[j];
      }
    }
    layerIn = layerOut;
    inStrideT = B * D * H;
    inStrideB = D * H;
  }
  let output: Float32Array;
  if (o.batchFirst) {
    output = new Float32Array(T * B * D * H);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < D * H; i++) output[(b * T + t) * D * H + i] = layerOut[(t * B + b) * D * H + i];
      }
    }
  } else {
    output = Float32Array.from(layerOut);
  }
  return { output, hN };
}

/** One step of one direction for one batch row: returns h'. */
function cell(o: ResolvedOptions, w: GRUWeights, x: Float64Array, xOffset: number, K: number, h: Float64Array): Float64Array {
  const H = o.hiddenSize;
  const { r: rb, z: zb, n: nb } = gateBlocks(o.gateOrder);
  const [f, g] = o.activations;
  const clip = (v: number) => (o.clip > 0 ? Math.min(o.clip, Math.max(-o.clip, v)) : v);
  const wx = (block: number, j: number) => {
    const row = (block * H + j) * K;
    let acc = w.biasIh?.[block * H + j] ?? 0;
    for (let k = 0; k < K; k++) acc += w.weightIh[row + k] * x[xOffset + k];
    return acc;
  };
  const uh = (block: number, j: number, v: Float64Array) => {
    const row = (block * H + j) * H;
    let acc = w.biasHh?.[block * H + j] ?? 0;
    for (let k = 0; k < H; k++) acc += w.weightHh[row + k] * v[k];
    return acc;
  };
  const r = new Float64Array(H);
  const z = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    r[j] = activate(f, clip(wx(rb, j) + uh(rb, j, h)));
    z[j] = activate(f, clip(wx(zb, j) + uh(zb, j, h)));
  }
  const rh = new Float64Array(H);
  if (!o.resetAfter) for (let k = 0; k < H; k++) rh[k] = r[k] * h[k];
  const next = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    const pre = o.resetAfter ? wx(nb, j) + r[j] * uh(nb, j, h) : wx(nb, j) + uh(nb, j, rh);
    const n = activate(g, clip(pre));
    next[j] = (1 - z[j]) * n + z[j] * h[j];
  }
  return next;
}
