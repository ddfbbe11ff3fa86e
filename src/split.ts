/**
 * Forwards past the device's buffer limits, in pieces. Batch rows are independent, and time is
 * sequential with a small carried state (every layer's h), so a forward whose input, output or
 * intermediate buffers would pass `maxStorageBufferBindingSize` / `maxBufferSize` runs as pieces of
 * `rows` rows × `steps` steps, each an ordinary forward: the rows of a piece are gathered into an
 * input of their own, its output is scattered back, and the hN of a piece is the h0 of the next
 * piece in time — in time order for direction 'forward', backwards for 'reverse' (a reverse layer
 * starts at a row's last valid step, which lies in the last piece that holds one). A bidirectional
 * stack cannot go through time in pieces (layer l + 1 needs both directions of layer l at every
 * step), so it is split along the batch only. Rows are split before time: fewer pieces, and every
 * direction allows it.
 */
import { GRUError } from './errors.js';
import { bindingLimit, F32 } from './gpu.js';
import type { ResolvedOptions } from './options.js';
import { STEP, structBytes } from './uniforms.js';
import { paddedHidden } from './weights.js';

/** The shape of the pieces of a forward: `rows` batch rows × `steps` timesteps each (the last ones may be smaller). */
export interface Split {
  rows: number;
  steps: number;
}

/**
 * Bytes the largest binding of a forward's plan takes per (step, row), whatever the schedule: the
 * projected gates G (D·3H' floats), the layer input or output, and a stacked plan's two hidden
 * halves; and per row alone: the three state slots and the length.
 */
function bindingBytes(o: ResolvedOptions): { cell: number; row: number } {
  const { hiddenSize: H, numDirections: D, numLayers: L } = o;
  return {
    cell: Math.max(D * 3 * paddedHidden(H), D * H, o.inputSize, 2 * H) * F32,
    row: (3 * L * D * H + 1) * F32,
  };
}

/**
 * How a forward of `steps` × `batch` is cut so that every buffer of each piece fits the device,
 * or undefined when it fits whole. Throws a GRUError naming the sizes when not even one step of
 * one row fits, or when a bidirectional row does not fit whole.
 */
export function splitFor(device: GPUDevice, o: ResolvedOptions, steps: number, batch: number): Split | undefined {
  const limits = device.limits;
  const limit = bindingLimit(limits);
  const { cell, row } = bindingBytes(o);
  // One step uniform per step (a wavefront: per wave), at the uniform offset alignment.
  const slotStride = Math.max(structBytes(STEP), limits.minUniformBufferOffsetAlignment);
  const maxSteps = Math.floor(limits.maxBufferSize / slotStride) - o.numLayers;
  // Persistent workgroups hold one row each: the fewest rows per dimension of any schedule.
  const maxRows = limits.maxComputeWorkgroupsPerDimension;
  const fits = (t: number, b: number) => b * (t * cell + row) <= limit;
  if (fits(steps, batch) && steps <= maxSteps && batch <= maxRows) return undefined;
  const need = (t: number, b: number) => `${b * (t * cell + row)} bytes`;
  if (!fits(1, 1)) {
    throw new GRUError(
      `args.steps × args.batch = ${steps} × ${batch}: even one step of one row needs ${need(1, 1)} in one binding, ` +
        `over this device's limit of ${limit} bytes (maxStorageBufferBindingSize, maxBufferSize)`,
    );
  }
  if (fits(steps, 1) && steps <= maxSteps) {
    return { rows: Math.min(batch, maxRows, Math.floor(limit / (steps * cell + row))), steps };
  }
  if (o.numDirections === 2) {
    throw new GRUError(
      `args.steps: a bidirectional forward cannot be split in time, and one row of ${steps} steps needs ${need(steps, 1)} ` +
        `in one binding (at most ${Math.min(maxSteps, Math.floor((limit - row) / cell))} steps fit this device's limits); ` +
        'run it in fewer steps',
    );
  }
  // Time pieces of every row at once, unless even one step of every row is over the limit.
  const rows = Math.min(batch, maxRows, Math.floor(limit / (cell + row)));
  return { rows, steps: Math.min(maxSteps, Math.floor((limit / rows - row) / cell)) };
}

/** One piece: rows [b0, b1) × steps [t0, t1). */
export interface Piece {
  b0: number;
  b1: number;
  t0: number;
  t1: number;
}

/**
 * The pieces of a split forward, in the order they run: row blocks one after another, and within
 * one the time pieces in the order the direction walks time (backwards for 'reverse'). Pieces are
 * of even sizes, so that at most two plans of different shapes are made per row block.
 */
export function pieces(o: ResolvedOptions, steps: number, batch: number, split: Split): Piece[] {
  const even = (total: number, most: number) => {
    const count = Math.ceil(total / most);
    const size = Math.ceil(total / count);
    return Array.from({ length: count }, (_, i) => [i * size, Math.min(total, (i + 1) * size)] as const);
  };
  const times = even(steps, split.steps);
  if (o.direction === 'reverse') times.reverse();
  return even(batch, split.rows).flatMap(([b0, b1]) => times.map(([t0, t1]) => ({ b0, b1, t0, t1 })));
}

/**
 * Rows [b0, b1) and steps [t0, t1) of a `[T, B, F]` array (`[B, T, F]` when batchFirst), as an
 * array of the same layout for the piece.
 */
export function gatherSteps(o: ResolvedOptions, data: Float32Array, T: number, B: number, F: number, p: Piece): Float32Array {
  const rows = p.b1 - p.b0;
  const steps = p.t1 - p.t0;
  const out = new Float32Array(steps * rows * F);
  if (o.batchFirst) {
    for (let b = 0; b < rows; b++) out.set(data.subarray(((p.b0 + b) * T + p.t0) * F, ((p.b0 + b) * T + p.t1) * F), b * steps * F);
  } else {
    for (let t = 0; t < steps; t++) out.set(data.subarray(((p.t0 + t) * B + p.b0) * F, ((p.t0 + t) * B + p.b1) * F), t * rows * F);
  }
  return out;
}

/** Writes a piece's `[steps, rows, F]` (`[rows, steps, F]`) array back into the whole forward's. */
export function scatterSteps(o: ResolvedOptions, into: Float32Array, T: number, B: number, F: number, p: Piece, data: Float32Array): void {
  const rows = p.b1 - p.b0;
  const steps = p.t1 - p.t0;
  if (o.batchFirst) {
    for (let b = 0; b < rows; b++) into.set(data.subarray(b * steps * F, (b + 1) * steps * F), ((p.b0 + b) * T + p.t0) * F);
  } else {
    for (let t = 0; t < steps; t++) into.set(data.subarray(t * rows * F, (t + 1) * rows * F), ((p.t0 + t) * B + p.b0) * F);
  }
}

/** Rows [b0, b1) of a state `[L·D, B, H]`, as `[L·D, b1 − b0, H]`. */
export function gatherRows(state: Float32Array, B: number, H: number, b0: number, b1: number): Float32Array {
  const layers = state.length / (B * H);
  const rows = b1 - b0;
  const out = new Float32Array(layers * rows * H);
  for (let l = 0; l < layers; l++) out.set(state.subarray((l * B + b0) * H, (l * B + b1) * H), l * rows * H);
  return out;
}

/** Writes a `[L·D, b1 − b0, H]` state back into rows [b0, b1) of a `[L·D, B, H]` one. */
export function scatterRows(into: Float32Array, B: number, H: number, b0: number, b1: number, state: Float32Array): void {
  const rows = b1 - b0;
  const layers = state.length / (rows * H);
  for (let l = 0; l < layers; l++) into.set(state.subarray(l * rows * H, (l + 1) * rows * H), (l * B + b0) * H);
}

/** A piece's own lengths: how many of its steps each of its rows has (those past a row's end: none). */
export function pieceLengths(seqLengths: Int32Array | undefined, p: Piece): Int32Array | undefined {
  if (!seqLengths) return undefined;
  const steps = p.t1 - p.t0;
  return Int32Array.from(seqLengths.subarray(p.b0, p.b1), (len) => Math.max(0, Math.min(steps, len - p.t0)));
}
