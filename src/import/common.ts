/**
 * What every importer shares: the result type, the tensor shapes callers may hand in, number
 * decoding from little-endian bytes (float16, bfloat16, float8, 64-bit integers), and the checks
 * whose failures become GRUErrors naming the tensor, the expected and the actual shape.
 *
 * Importers take bytes and plain objects and return plain objects: no I/O, no Node APIs, no GPU,
 * so they run the same in a browser, a worker and Node.
 */
import { checkFinite as checkFiniteValues } from '../args.js';
import { GRUError, describe } from '../errors.js';
import { halfToFloat } from '../half.js';
import type { GRUOptions } from '../options.js';
import type { GRUWeights } from '../weights.js';

/** One GRU stack found in a model file, ready for `GRU.create(device, options, weights)`. */
export interface ImportedGRU {
  /** The ONNX node name, the Keras layer name, or the PyTorch key prefix (without its trailing dot). */
  name: string;
  /** Complete options: sizes, layers, direction, batchFirst, resetAfter, gateOrder, activations (and clip). */
  options: GRUOptions;
  /** One entry per layer and direction (index layer·D + direction), in the README's layout (`GRUWeights`) and `options.gateOrder`. */
  weights: GRUWeights[];
  /** [L·D, B, H] when the model holds a constant initial state (ONNX `initial_h`); pass it as `h0`. */
  initialH?: Float32Array;
  /** [B] when the model holds constant sequence lengths (ONNX `sequence_lens`); pass it as `seqLengths`. */
  seqLengths?: Int32Array;
  /** ONNX only: where the node sits in the graph. */
  onnx?: ONNXNodeInfo;
  /** Keras / TensorFlow.js only: what the layer returns, beyond what `GRU.forward` computes. */
  keras?: KerasOutputInfo;
}

/** The graph around an imported ONNX GRU node. */
export interface ONNXNodeInfo {
  /** The node's input value names: X, W, R, B, sequence_lens, initial_h ('' for an absent optional one). */
  inputs: string[];
  /** Y, Y_h ('' when unused). */
  outputs: string[];
  /** The graph value that feeds initial_h when it is computed at run time (a graph input, a Slice of
   * one, …; not a constant, not zeros): the caller passes its value as `h0`. */
  initialHFrom?: string;
  /** Likewise for sequence_lens: the caller passes its value as `seqLengths`. */
  sequenceLensFrom?: string;
}

/**
 * How a Keras GRU layer's outputs relate to `GRU.forward`'s.
 * - `returnSequences` false: the layer returns only the last state, i.e. `hN` (for Bidirectional,
 *   the forward and the backward last states concatenated).
 * - `goBackwards` true (a plain GRU layer, not inside Bidirectional): Keras returns the sequence in
 *   processing order, last time step first. `GRU.forward` with direction 'reverse' writes the state
 *   computed at step t to position t, so Keras' sequence is `output` with its time axis reversed.
 */
export interface KerasOutputInfo {
  /** The Keras class the GRU was found as: 'GRU', 'Bidirectional' (around GRUs) or 'RNN' (around a GRUCell). */
  className: string;
  /** The layer's `return_sequences` (default false): it returns `output`, else only the last state. */
  returnSequences: boolean;
  /** The layer's `return_state` (default false): it returns its last state(s) besides its output. */
  returnState: boolean;
  /** The layer's `go_backwards` (default false; always false for Bidirectional): imported as direction 'reverse'. */
  goBackwards: boolean;
  /** The layer's `stateful` (default false): Keras carries the state between batches; pass the last `hN` as `h0` to do the same. */
  stateful: boolean;
}

/** A tensor as a caller may hand it in: the values alone, or with a shape (and a dtype name). */
export type TensorInput =
  | Float32Array
  | {
      /** The dimensions; when given, their product must equal the number of values. Default: checked by length alone. */
      shape?: readonly number[];
      /** The values, row-major; a Float64Array or number[] is converted to float32. */
      data: Float32Array | Float64Array | readonly number[];
      /** A floating-point dtype name (F32, F16, BF16, F64, float32, float16, bfloat16, float64, float, half, double); any other throws. */
      dtype?: string;
    };

/** A set of named tensors: a `Map` or a plain record. */
export type TensorDict = Map<string, TensorInput> | Record<string, TensorInput>;

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws `${what}: expected shape [..] (note), got [..]` unless the shapes are equal. */
export function checkShape(what: string, actual: readonly number[], expected: readonly number[], note = ''): void {
  if (!sameShape(actual, expected)) {
    throw new GRUError(`${what}: expected shape ${formatShape(expected)}${note ? ` (${note})` : ''}, got ${formatShape(actual)}`);
  }
}

/** Weights with NaN or ±Infinity are a corrupted file, never a trained model. */
export function checkFinite(what: string, data: Float32Array): void {
  checkFiniteValues(what, data, 'a weight must be finite (is the file corrupted?)');
}

/** Accepts a Uint8Array, any other ArrayBufferView or an ArrayBuffer, as a byte view (no copy). */
export function toBytes(argument: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) return new Uint8Array(value);
  throw new GRUError(`${argument}: expected the file's bytes as a Uint8Array or ArrayBuffer, got ${describe(value)}`);
}

/** The parts one after another, in a new array (or the only part itself). */
export function concatArrays<T extends Uint8Array | Float32Array | Float64Array>(parts: readonly T[], Type: { new (n: number): T }): T {
  if (parts.length === 1) return parts[0]!;
  const out = new Type(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies `count` little-endian float32s starting at `offset` (which need not be aligned). */
export function readFloat32(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** bfloat16 (the top half of a float32) → number. */
export function bfloat16ToFloat(b: number): number {
  const scratch = new Float32Array(1);
  new Uint32Array(scratch.buffer)[0] = (b & 0xffff) << 16;
  return scratch[0];
}

/** float8 e4m3fn (bias 7, no infinities, S.1111.111 is NaN) → number. */
export function float8e4m3ToFloat(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const exponent = (b >> 3) & 0xf;
  const mantissa = b & 0x7;
  if (exponent === 15 && mantissa === 7) return NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -9;
  return sign * (1 + mantissa / 8) * 2 ** (exponent - 7);
}

/** float8 e5m2 (the top byte of a float16) → number. */
export function float8e5m2ToFloat(b: number): number {
  return halfToFloat((b & 0xff) << 8);
}

/** Element decoders for little-endian storage, by byte width. */
export type ElementReader = (view: DataView, offset: number) => number;

export const READERS = {
  f64: (v: DataView, o: number) => v.getFloat64(o, true),
  f32: (v: DataView, o: number) => v.getFloat32(o, true),
  f16: (v: DataView, o: number) => halfToFloat(v.getUint16(o, true)),
  bf16: (v: DataView, o: number) => bfloat16ToFloat(v.getUint16(o, true)),
  f8e4m3: (v: DataView, o: number) => float8e4m3ToFloat(v.getUint8(o)),
  f8e5m2: (v: DataView, o: number) => float8e5m2ToFloat(v.getUint8(o)),
  i64: (v: DataView, o: number) => Number(v.getBigInt64(o, true)),
  u64: (v: DataView, o: number) => Number(v.getBigUint64(o, true)),
  i32: (v: DataView, o: number) => v.getInt32(o, true),
  u32: (v: DataView, o: number) => v.getUint32(o, true),
  i16: (v: DataView, o: number) => v.getInt16(o, true),
  u16: (v: DataView, o: number) => v.getUint16(o, true),
  i8: (v: DataView, o: number) => v.getInt8(o),
  u8: (v: DataView, o: number) => v.getUint8(o),
} satisfies Record<string, ElementReader>;

/** Decodes `count` elements of `width` bytes each at `offset` into a Float32Array. */
export function decodeElements(bytes: Uint8Array, offset: number, count: number, width: number, read: ElementReader): Float32Array {
  if (read === READERS.f32) return readFloat32(bytes, offset, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * width);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = read(view, i * width);
  return out;
}

/** A caller's tensor, normalised: values as float32, the shape when one was given. */
export interface NormalisedTensor {
  shape: number[] | undefined;
  data: Float32Array;
  dtype: string | undefined;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64', 'float32', 'float16', 'bfloat16', 'float64', 'float', 'half', 'double']);

/** Validates and normalises one tensor handed in by a caller (`what` names it in errors). */
export function normaliseTensor(what: string, value: unknown): NormalisedTensor {
  if (value instanceof Float32Array) return { shape: undefined, data: value, dtype: undefined };
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || Array.isArray(value)) {
    throw new GRUError(`${what}: expected a Float32Array or { shape, data: Float32Array }, got ${describe(value)}`);
  }
  const t = value as { shape?: unknown; data?: unknown; dtype?: unknown };
  if (t.dtype !== undefined && (typeof t.dtype !== 'string' || !FLOAT_DTYPES.has(t.dtype))) {
    throw new GRUError(`${what}: expected a floating-point dtype (F32, F16, BF16, F64), got ${describe(t.dtype)}`);
  }
  let data: Float32Array;
  if (t.data instanceof Float32Array) data = t.data;
  else if (t.data instanceof Float64Array) data = Float32Array.from(t.data);
  else if (Array.isArray(t.data) && t.data.every((v) => typeof v === 'number')) data = Float32Array.from(t.data as number[]);
  else throw new GRUError(`${what}: expected data as a Float32Array (or Float64Array, number[]), got ${describe(t.data)}`);
  let shape: number[] | undefined;
  if (t.shape !== undefined) {
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new GRUError(`${what}: expected shape as an array of non-negative integers, got ${describe(t.shape)}`);
    }
    shape = [...(t.shape as number[])];
    if (product(shape) !== data.length) {
      throw new GRUError(`${what}: shape ${formatShape(shape)} holds ${product(shape)} values, data has ${data.length}`);
    }
  }
  return { shape, data, dtype: t.dtype as string | undefined };
}

/** Entries of a Map or a record, in insertion order. */
export function dictEntries(argument: string, dict: unknown): [string, unknown][] {
  if (dict instanceof Map) return [...dict.entries()].map(([k, v]) => [String(k), v]);
  if (typeof dict === 'object' && dict !== null && !Array.isArray(dict) && !ArrayBuffer.isView(dict)) {
    return Object.entries(dict);
  }
  throw new GRUError(`${argument}: expected a Map or a record of named tensors, got ${describe(dict)}`);
}

/** Runs `fn` and turns any non-GRUError it throws (a bug, or a runtime limit) into a GRUError. */
export function guard<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof GRUError) throw error;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new GRUError(`${context}: could not be read (${message})`);
  }
}
