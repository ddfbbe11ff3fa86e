/**
 * CPU twins of the layer kernels (shaders/embedding.wgsl, shaders/head.wgsl), used by the suite
 * as ground truth and by `CharModelReference` (./char-model.ts) to run a whole model without
 * WebGPU. Sums accumulate in float64; results are float32 like the GPU's.
 */

/** `ids` [B] → [B, E]; an id outside [0, V) gives a row of zeros, as the kernel does. */
export function embeddingReference(weight: Float32Array, vocabSize: number, embeddingSize: number, ids: ArrayLike<number>): Float32Array {
  const E = embeddingSize;
  const out = new Float32Array(ids.length * E);
  for (let b = 0; b < ids.length; b++) {
    const id = ids[b];
    if (Number.isInteger(id) && id >= 0 && id < vocabSize) out.set(weight.subarray(id * E, (id + 1) * E), b * E);
  }
  return out;
}

/** y [B, OUT] = x [B, IN] · Wᵀ + b, with W [OUT, IN] row-major (nn.Linear). */
export function linearReference(
  weight: Float32Array,
  bias: Float32Array | undefined,
  inFeatures: number,
  outFeatures: number,
  x: ArrayLike<number>,
  batch: number,
): Float32Array {
  const y = new Float32Array(batch * outFeatures);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outFeatures; o++) {
      let acc = bias ? bias[o] : 0;
      const row = o * inFeatures;
      for (let k = 0; k < inFeatures; k++) acc += weight[row + k] * x[b * inFeatures + k];
      y[b * outFeatures + o] = acc;
    }
  }
  return y;
}

/** The first index of each row's maximum (torch.argmax), rows of `size` values. */
export function argmaxReference(logits: ArrayLike<number>, size: number, batch: number): Uint32Array {
  const ids = new Uint32Array(batch);
  for (let b = 0; b < batch; b++) {
    let best = 0;
    for (let n = 1; n < size; n++) if (logits[b * size + n] > logits[b * size + best]) best = n;
    ids[b] = best;
  }
  return ids;
}

/**
 * Sampling from softmax(logits / temperature) by inverse CDF at `u` ∈ [0, 1): the smallest index
 * whose cumulative probability exceeds u. Float64 throughout; the GPU and the CPU model both
 * sample with this function, from their own logits.
 */
export function sampleLogits(logits: ArrayLike<number>, temperature: number, u: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const weights = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    weights[i] = Math.exp((logits[i] - max) / temperature);
    sum += weights[i];
  }
  const target = u * sum;
  let acc = 0;
  for (let i = 0; i < logits.length; i++) {
    acc += weights[i];
    if (acc > target) return i;
  }
  return logits.length - 1;
}

/** mulberry32: a small seeded generator of uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
