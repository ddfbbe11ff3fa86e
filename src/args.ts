/**
 * Argument checks: the generic ones that the GRU, the layers and the importers share (positive
 * integers, option keys, objects, Float32Arrays, finite values, devices, GPU buffers), and the
 * per-call arguments of `forward`, its GPU-buffer form, the WebAssembly backend and
 * `gruReference`. Every check throws a GRUError naming the argument, what was expected and what
 * was given, before any GPU work.
 */
import { GRUError, fail } from './errors.js';
import { Usage } from './gpu.js';
import type { ResolvedOptions } from './options.js';

export function checkPositiveInteger(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(argument, 'a positive integer', value);
  return value;
}

/**
 * Throws `${argument}: unknown ${noun} "k"; expected ${expected}` for the first key of `value`
 * that is not allowed; `expected` names the allowed key, or "one of" them when there are several.
 */
export function checkKeys(
  argument: string,
  value: object,
  allowed: Iterable<string>,
  noun: 'option' | 'key' = 'option',
  expected?: string,
): void {
  const keys = [...allowed];
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      const list = expected ?? (keys.length === 1 ? keys[0] : `one of ${keys.join(', ')}`);
      throw new GRUError(`${argument}: unknown ${noun} ${JSON.stringify(key)}; expected ${list}`);
    }
  }
}

/** A plain object (not null, an array or a typed array). */
/** `createState`'s `init` (both backends): undefined or `{ h0? }`; h0 itself is checked by the state. */
export function checkStateInit(init: unknown): { h0?: Float32Array } | undefined {
  if (init === undefined) return undefined;
  if (typeof init !== 'object' || init === null) fail('init', '{ h0?: Float32Array }', init);
  checkKeys('init', init, ['h0']);
  return init as { h0?: Float32Array };
}

export function checkObject(argument: string, value: unknown, expected: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    fail(argument, expected, value);
  }
  return value as Record<string, unknown>;
}

/** A Float32Array of exactly `length` values, counted in messages as `values` ("[3H] = [12] = 12 values"). */
export function checkLength(argument: string, value: unknown, length: number, values: string): Float32Array {
  if (!(value instanceof Float32Array)) fail(argument, `a Float32Array of ${values}`, value);
  if (value.length !== length) throw new GRUError(`${argument}: expected ${values}, got ${value.length}`);
  return value;
}

/** A Float32Array of `shape` = `length` values. */
export function checkFloatArray(argument: string, value: unknown, length: number, shape: string): Float32Array {
  return checkLength(argument, value, length, `${shape} = ${length} values`);
}

/** Throws `${argument}: element i is x; ${rule}` at the first NaN or ±Infinity of `data`. */
export function checkFinite(argument: string, data: Float32Array, rule: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new GRUError(`${argument}: element ${i} is ${data[i]}; ${rule}`);
  }
}

export function checkDevice(device: unknown): GPUDevice {
  if (typeof device !== 'object' || device === null || typeof (device as GPUDevice).createBuffer !== 'function') {
    fail('device', 'a GPUDevice', device);
  }
  return device as GPUDevice;
}

function isBuffer(value: unknown): value is GPUBuffer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as GPUBuffer).mapAsync === 'function' &&
    typeof (value as GPUBuffer).usage === 'number'
  );
}

/**
 * A GPUBuffer of at least `bytes` bytes with every flag of `usage` (named `usageName` in
 * messages); `shape`, where given, follows the byte count in them.
 */
export function checkBuffer(argument: string, value: unknown, bytes: number, usage: number, usageName: string, shape?: string): GPUBuffer {
  const size = shape === undefined ? `${bytes} bytes` : `${bytes} bytes (${shape})`;
  if (!isBuffer(value)) fail(argument, `a GPUBuffer of at least ${size} with ${usageName} usage`, value);
  if (value.size < bytes) throw new GRUError(`${argument}: expected a GPUBuffer of at least ${size}, got ${value.size}`);
  if ((value.usage & usage) !== usage) {
    throw new GRUError(`${argument}: expected a GPUBuffer with ${usageName} usage, got usage flags 0x${value.usage.toString(16)}`);
  }
  return value;
}

/** A GPUBuffer with STORAGE usage and at least `bytes` bytes of `shape`. */
export function checkStorage(argument: string, value: unknown, bytes: number, shape: string): GPUBuffer {
  return checkBuffer(argument, value, bytes, Usage.STORAGE, 'STORAGE', shape);
}

/**
 * The per-call arguments of {@link GRU.forward}, {@link WasmGRU.forward} and {@link gruReference};
 * `input` holds `[T, B, I]` = steps · batch · inputSize values (`[B, T, I]` when batchFirst). The
 * call throws a {@link GRUError} naming the argument for a steps or batch that is not a positive
 * integer, an unknown key, an array of the wrong type or length, or a length outside [0, steps].
 */
export interface RunArgs {
  /** T: timesteps in `input`. */
  steps: number;
  /** B: independent sequences in `input`. */
  batch: number;
  /** `[L·D, B, H]` initial state, default zeros. */
  h0?: Float32Array;
  /**
   * `[B]` valid steps per batch row, each in [0, steps] (ONNX sequence_lens, PyTorch packed sequences):
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

export function checkRunArgs(o: ResolvedOptions, input: unknown, args: unknown): CheckedRunArgs {
  const { steps, batch, seqLengths } = checkSizes(args, RUN_ARG_KEYS);
  checkFloatArray('input', input, steps * batch * o.inputSize, inputShape(o, steps, batch));
  const h0Arg = (args as { h0?: unknown }).h0;
  const stateLength = o.numLayers * o.numDirections * batch * o.hiddenSize;
  const h0 = h0Arg === undefined ? undefined : checkFloatArray('args.h0', h0Arg, stateLength, stateShape(o, batch));
  return { steps, batch, h0, seqLengths };
}
