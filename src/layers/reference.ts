/**
 * CPU twins of the layer kernels (shaders/embedding.wgsl, shaders/head.wgsl): the suite's ground
 * truth, and a way to run these layers without WebGPU (the demo's CPU models, demo/char-model.ts,
 * do). Sums accumulate in float64; results are float32 like the GPU's.
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
