/** Validation of the per-call arguments of `forward`, its GPU-buffer form and `gruReference`. */
import { GRUError, fail } from './errors.js';
import { checkKeys, checkPositiveInteger, type ResolvedOptions } from './options.js';

export interface RunArgs {
  /** T: timesteps in `input`. */
  steps: number;
  /** B: independent sequences in `input`. */
  batch: number;
  /** [L·D, B, H] initial state, default zeros. */
  h0?: Float32Array;
  /**
   * [B] valid steps per batch row, each in [0, steps] (ONNX sequence_lens, PyTorch packed sequences):
   * outputs past a row's length are 0, hN holds its last valid state, and the reverse direction
   * starts at the row's own last valid step. Default: every row has `steps`.
   */
  seqLengths?: Int32Array;
}

export interface CheckedRunArgs {
  steps: number;
  batch: number;
  h0: Float32Array | undefined;
  seqLengths: Int32Array | undefined;
}

export const RUN_ARG_KEYS = new Set(['steps', 'batch', 'h0', 'seqLengths']);

export function inputShape(o: ResolvedOptions, steps: number, batch: number): string {
  return o.batchFirst ? `[B, T, I] = [${batch}, ${steps}, ${o.inputSize}]` : `[T, B, I] = [${steps}, ${batch}, ${o.inputSize}]`;
}

export function stateShape(o: ResolvedOptions, batch: number): string {
  return `[L·D, B, H] = [${o.numLayers * o.numDirections}, ${batch}, ${o.hiddenSize}]`;
}

/** Checks steps, batch and seqLengths; `h0` is checked by the caller, which knows its type. */
export function checkSizes(
  args: unknown,
  allowed: ReadonlySet<string>,
): { steps: number; batch: number; seqLengths: Int32Array | undefined } {
  if (typeof args !== 'object' || args === null) fail('args', '{ steps, batch, h0?, seqLengths? }', args);
  checkKeys('args', args, allowed);
  const a = args as Record<string, unknown>;
  const steps = checkPositiveInteger('args.steps', a.steps);
  const batch = checkPositiveInteger('args.batch', a.batch);
  let seqLengths: Int32Array | undefined;
  if (a.seqLengths !== undefined) {
    if (!(a.seqLengths instanceof Int32Array)) fail('args.seqLengths', `an Int32Array of [B] = ${batch} lengths`, a.seqLengths);
    seqLengths = a.seqLengths;
    if (seqLengths.length !== batch) {
      throw new GRUError(`args.seqLengths: expected [B] = ${batch} lengths, got ${seqLengths.length}`);
    }
    seqLengths.forEach((len, b) => {
      if (len < 0 || len > steps) {
        throw new GRUError(`args.seqLengths[${b}]: expected a length in [0, steps = ${steps}], got ${len}`);
      }
    });
  }
  return { steps, batch, seqLengths };
}

export function checkFloatArray(argument: string, value: unknown, length: number, shape: string): Float32Array {
  if (!(value instanceof Float32Array)) fail(argument, `a Float32Array of ${shape} = ${length} values`, value);
  if (value.length !== length) throw new GRUError(`${argument}: expected ${shape} = ${length} values, got ${value.length}`);
  return value;
}

export function checkRunArgs(o: ResolvedOptions, input: unknown, args: unknown): CheckedRunArgs {
  const { steps, batch, seqLengths } = checkSizes(args, RUN_ARG_KEYS);
  checkFloatArray('input', input, steps * batch * o.inputSize, inputShape(o, steps, batch));
  const h0Arg = (args as { h0?: unknown }).h0;
  const stateLength = o.numLayers * o.numDirections * batch * o.hiddenSize;
  const h0 = h0Arg === undefined ? undefined : checkFloatArray('args.h0', h0Arg, stateLength, stateShape(o, batch));
  return { steps, batch, h0, seqLengths };
}
