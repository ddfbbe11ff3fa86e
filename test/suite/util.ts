/** Seeded data, GRU set-up and float comparison shared by the suite's cases. */
import { GRU, GRUError, gruReference, type GRUOptions, type GRUWeights, type RunArgs } from '../../src/index.js';
import { seededRandom } from './random.js';
import type { SuiteEnv } from './registry.js';

/** mulberry32 (./random.ts): every case is reproducible from its seed (the generator the demo samples with). */
export const rng = seededRandom;

export function uniform(random: () => number, length: number, scale: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (random() * 2 - 1) * scale;
  return out;
}

/** PyTorch's initialisation range, U(−1/√H, 1/√H), unless `scale` says otherwise. */
export function randomWeights(o: GRUOptions, seed: number, scale?: number, bias = true): GRUWeights[] {
  const random = rng(seed);
  const H = o.hiddenSize;
  const D = o.direction === 'bidirectional' ? 2 : 1;
  const L = o.numLayers ?? 1;
  const s = scale ?? 1 / Math.sqrt(H);
  const weights: GRUWeights[] = [];
  for (let l = 0; l < L; l++) {
    const K = l === 0 ? o.inputSize : D * H;
    for (let d = 0; d < D; d++) {
      const w: GRUWeights = { weightIh: uniform(random, 3 * H * K, s), weightHh: uniform(random, 3 * H * H, s) };
      if (bias) {
        w.biasIh = uniform(random, 3 * H, s);
        w.biasHh = uniform(random, 3 * H, s);
      }
      weights.push(w);
    }
  }
  return weights;
}

export interface Tolerance {
  /** Relative part: |a − e| ≤ atol + rtol·|e|. */
  rtol: number;
  atol: number;
}

/** float32 kernels against the float64 reference: both parts at 1e-5 (about 170 float32 ulps at 1). */
export const F32_TOLERANCE: Tolerance = { rtol: 1e-5, atol: 1e-5 };

export interface Difference {
  maxAbs: number;
  maxRel: number;
}

/** Throws unless every element is within tolerance; returns the largest errors seen. */
export function assertClose(label: string, actual: Float32Array, expected: ArrayLike<number>, tol: Tolerance): Difference {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  }
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const diff = Math.abs(a - e);
    if (!(diff <= tol.atol + tol.rtol * Math.abs(e))) {
      const excess = Number.isNaN(diff) ? Infinity : diff - tol.atol - tol.rtol * Math.abs(e);
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
    if (diff > maxAbs) maxAbs = diff;
    if (e !== 0 && diff / Math.abs(e) > maxRel && Math.abs(e) > 1e-3) maxRel = diff / Math.abs(e);
  }
  if (worst >= 0) {
    throw new Error(
      `${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|diff| ${Math.abs(actual[worst] - expected[worst]).toExponential(2)} > atol ${tol.atol} + rtol ${tol.rtol}·|e|); max |diff| ${maxAbs.toExponential(2)}`,
    );
  }
  return { maxAbs, maxRel };
}

/** The largest errors seen across the suite, for the report. */
export const worstSeen: Difference = { maxAbs: 0, maxRel: 0 };

export function record(d: Difference): void {
  worstSeen.maxAbs = Math.max(worstSeen.maxAbs, d.maxAbs);
  worstSeen.maxRel = Math.max(worstSeen.maxRel, d.maxRel);
}

/** One forward's inputs, as a case generates them. */
export interface CaseData {
  options: GRUOptions;
  weights: GRUWeights[];
  input: Float32Array;
  args: RunArgs;
}

/** GPU forward against the CPU reference on the same data; the GRU is destroyed afterwards. */
export async function checkAgainstReference(
  device: GPUDevice,
  options: GRUOptions,
  weights: GRUWeights[],
  input: Float32Array,
  args: RunArgs,
  tol: Tolerance = F32_TOLERANCE,
): Promise<Difference> {
  const gru = await GRU.create(device, options, weights);
  try {
    const got = await gru.forward(input, args);
    const want = gruReference(options, weights, input, args);
    const a = assertClose('output', got.output, want.output, tol);
    const b = assertClose('hN', got.hN, want.hN, tol);
    const d = { maxAbs: Math.max(a.maxAbs, b.maxAbs), maxRel: Math.max(a.maxRel, b.maxRel) };
    if (tol === F32_TOLERANCE) record(d);
    return d;
  } finally {
    gru.destroy();
  }
}

/** Asserts that `fn` throws (or rejects with) a GRUError whose message matches `pattern`. */
export async function expectGRUError(fn: () => unknown, pattern: RegExp): Promise<void> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  if (!(error instanceof GRUError)) {
    throw new Error(`expected a GRUError matching ${pattern}, got ${error === undefined ? 'no error' : String(error)}`);
  }
  if (!pattern.test(error.message)) throw new Error(`GRUError message ${JSON.stringify(error.message)} does not match ${pattern}`);
}

/** Copies `bytes` of `buffer` (COPY_SRC) to the CPU through a staging buffer of its own. */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, bytes: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const data = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return data;
}

/** A new buffer of `usage` (and COPY_DST) holding `data`. */
export function uploadBuffer(device: GPUDevice, data: Float32Array, usage: number): GPUBuffer {
  const buffer = device.createBuffer({ size: data.byteLength, usage: usage | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
  return buffer;
}

/**
 * Runs `run` and throws if a promise was rejected with no handler meanwhile, including one
 * reported a task after it (both runtimes report them once the microtasks of its task have run).
 */
export async function withoutUnhandled(env: SuiteEnv, run: () => Promise<void>): Promise<void> {
  const unhandled: unknown[] = [];
  const stop = env.onUnhandledRejection((reason) => unhandled.push(reason));
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    stop();
  }
  if (unhandled.length > 0) {
    const reasons = unhandled.map((r) => (r instanceof Error ? `${r.name}: ${r.message}` : String(r)));
    throw new Error(`${unhandled.length} promise(s) rejected with no handler: ${reasons.join('; ')}`);
  }
}

/** Counts the buffers created through `device` and not yet destroyed, while `fn` runs. */
export async function countingBuffers(device: GPUDevice, fn: (live: () => number) => Promise<void>): Promise<void> {
  const live = new Set<GPUBuffer>();
  const create = device.createBuffer;
  device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    const buffer = create.call(device, descriptor);
    const destroy = buffer.destroy;
    live.add(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy.call(buffer);
    };
    return buffer;
  };
  try {
    await fn(() => live.size);
  } finally {
    device.createBuffer = create;
  }
}
