/**
 * ONNX `GRU` nodes (opsets 7 to 22) from an .onnx file's bytes, decoded with the minimal protobuf
 * reader in protobuf.ts: ModelProto → GraphProto → NodeProto / TensorProto / AttributeProto.
 *
 * Each GRU node becomes one ImportedGRU (numLayers 1). ONNX stores
 *   W [D, 3H, I], R [D, 3H, H] with gate blocks z, r, h   → weightIh = W[d], weightHh = R[d], gateOrder 'zrn'
 *   B [D, 6H] = [Wb_z Wb_r Wb_h Rb_z Rb_r Rb_h]            → biasIh = B[d][0:3H], biasHh = B[d][3H:6H]
 *   linear_before_reset ≠ 0                                 → resetAfter true
 *   layout 1 (X [B, T, I])                                  → batchFirst true
 *   initial_h [D, B, H] ([B, D, H] for layout 1)            → initialH [D, B, H], when constant
 *   sequence_lens [B]                                       → seqLengths, when constant
 * plus direction, activations (with activation_alpha/beta, consumed in order by the activations
 * that take them, as onnxruntime does), clip and hidden_size.
 *
 * "Constant" means: an initializer, a Constant node, or the result of the glue exporters put between
 * the stored weights and the node, folded here: Identity, Cast, Slice, Concat, Unsqueeze, Squeeze,
 * Transpose, Reshape. (torch.onnx.export below opset 9 emits such glue instead of folded weights.)
 * An initial_h that is an Expand or ConstantOfShape of zeros is the zero state (torch's export
 * without h0). Anything else (a graph input such as the backend tests' W, a runtime computation) is
 * not constant: W, R and B must then be passed in `options.tensors`; for initial_h and sequence_lens
 * the result leaves them out and `onnx.inputs` names the graph values the caller must supply.
 *
 * A multi-layer model (what torch.onnx.export writes for nn.GRU(num_layers = L)) is L GRU nodes, in
 * graph order, each fed by the previous one through Transpose/Reshape glue that turns Y [T, D, B, H]
 * into [T, B, D·H] — exactly `GRU.forward`'s output, so the imported stacks chain directly.
 *
 * Only GRU nodes of the main graph are read (not those inside If/Loop/Scan bodies). Tensors stored
 * in external files, sparse initializers and the float8/int4 types are not supported and say so.
 */
import { checkKeys } from '../args.js';
import { GRUError, describe } from '../errors.js';
import { halfToFloat, roundToHalf } from '../half.js';
import type { Activation, GRUOptions } from '../options.js';
import type { GRUWeights } from '../weights.js';
import {
  bfloat16ToFloat,
  checkFinite,
  dictEntries,
  formatShape,
  guard,
  product,
  READERS,
  toBytes,
  type ElementReader,
  type ImportedGRU,
} from './common.js';
import { ProtoMessage } from './protobuf.js';

/** A tensor value handed to `fromONNX` for a graph input (or to override an initializer). */
export interface ONNXTensorInput {
  /** The dimensions, non-negative integers whose product is the number of values. */
  shape: readonly number[];
  /** The values, row-major: floats, or an Int32Array for an integer tensor (sequence_lens). */
  data: Float32Array | Float64Array | Int32Array | readonly number[];
}

/** The options of {@link fromONNX}; an unknown key or a malformed tensor throws a {@link GRUError} naming it. */
export interface FromONNXOptions {
  /**
   * Values for tensors that are not constant in the file, by graph value name: the ONNX backend
   * tests, for example, feed W and R as graph inputs (their test_data_set_0/input_N.pb files, which
   * `parseONNXTensor` reads). A value given here also replaces an initializer of that name.
   */
  tensors?: Map<string, ONNXTensorInput> | Record<string, ONNXTensorInput>;
}

/** A decoded TensorProto (see `parseONNXTensor`). */
export interface ONNXTensor {
  /** The TensorProto's name ('' when it has none). */
  name: string;
  /** The ONNX TensorProto.DataType name: FLOAT, FLOAT16, DOUBLE, INT32, INT64, … */
  dataType: string;
  /** The TensorProto's dims (`[]` for a scalar). */
  shape: number[];
  /** Float types as float32; integer and bool types as int32. */
  data: Float32Array | Int32Array;
}

const DATA_TYPES: Record<number, string> = {
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
  17: 'FLOAT8E4M3FN',
  18: 'FLOAT8E4M3FNUZ',
  19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ',
  21: 'UINT4',
  22: 'INT4',
  23: 'FLOAT4E2M1',
};
const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
const FLOAT16 = 10;
const DOUBLE = 11;
const BFLOAT16 = 16;
const FLOAT_TYPES = new Set([FLOAT, FLOAT16, DOUBLE, BFLOAT16]);
const INT_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);

/** How each supported type is stored: raw_data width and reader, and which typed field holds it. */
const STORAGE: Record<number, { width: number; read: ElementReader; field: 'float' | 'double' | 'int32' | 'int64' | 'uint64' }> = {
  1: { width: 4, read: READERS.f32, field: 'float' },
  2: { width: 1, read: READERS.u8, field: 'int32' },
  3: { width: 1, read: READERS.i8, field: 'int32' },
  4: { width: 2, read: READERS.u16, field: 'int32' },
  5: { width: 2, read: READERS.i16, field: 'int32' },
  6: { width: 4, read: READERS.i32, field: 'int32' },
  7: { width: 8, read: READERS.i64, field: 'int64' },
  9: { width: 1, read: READERS.u8, field: 'int32' },
  10: { width: 2, read: READERS.f16, field: 'int32' },
  11: { width: 8, read: READERS.f64, field: 'double' },
  12: { width: 4, read: READERS.u32, field: 'uint64' },
  13: { width: 8, read: READERS.u64, field: 'uint64' },
  16: { width: 2, read: READERS.bf16, field: 'int32' },
};

const typeName = (t: number) => DATA_TYPES[t] ?? `data type ${t}`;

/** A constant during folding: values as float64 (exact for every supported type up to 2^53). */
interface Value {
  dims: number[];
  type: number;
  data: Float64Array;
}

/** Decodes a TensorProto message. `what` names it in errors. */
function decodeTensor(t: ProtoMessage, what: string): Value {
  const dims = t.varints(1, 'dims');
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new GRUError(`${what}: invalid dims ${formatShape(dims)}`);
  const type = t.varint(2, 'data_type') ?? 0;
  if (t.varint(14, 'data_location') === 1) {
    throw new GRUError(
      `${what}: its data is stored in an external file, which fromONNX cannot read; save the model with all tensors inside it`,
    );
  }
  if (t.has(3)) throw new GRUError(`${what}: segmented tensors are not supported`);
  const storage = STORAGE[type];
  if (!storage) throw new GRUError(`${what}: unsupported data type ${typeName(type)}`);
  const count = product(dims);
  const raw = t.bytesOf(9, 'raw_data');
  let data: Float64Array;
  if (raw) {
    if (raw.length !== count * storage.width) {
      throw new GRUError(
        `${what}: raw_data holds ${raw.length} bytes, but ${typeName(type)} ${formatShape(dims)} needs ${count * storage.width}`,
      );
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    data = new Float64Array(count);
    for (let i = 0; i < count; i++) data[i] = storage.read(view, i * storage.width);
  } else {
    let values: ArrayLike<number>;
    let field: string;
    switch (storage.field) {
      case 'float':
        values = t.floats(4, 'float_data');
        field = 'float_data';
        break;
      case 'double':
        values = t.doubles(10, 'double_data');
        field = 'double_data';
        break;
      case 'int64':
        values = t.varints(7, 'int64_data');
        field = 'int64_data';
        break;
      case 'uint64':
        values = t.varints(11, 'uint64_data');
        field = 'uint64_data';
        break;
      default: {
        const ints = t.varints(5, 'int32_data');
        // float16 and bfloat16 travel in int32_data as their bit patterns
        values = type === FLOAT16 ? ints.map(halfToFloat) : type === BFLOAT16 ? ints.map(bfloat16ToFloat) : ints;
        field = 'int32_data';
      }
    }
    if (values.length !== count) {
      throw new GRUError(`${what}: ${field} holds ${values.length} values, but dims ${formatShape(dims)} need ${count}`);
    }
    data = Float64Array.from(values);
  }
  return { dims, type, data };
}

/**
 * Decodes one serialized TensorProto, such as the backend tests' test_data_set_0/input_N.pb files.
 */
export function parseONNXTensor(bytes: Uint8Array): ONNXTensor {
  const b = toBytes('bytes', bytes);
  return guard('ONNX TensorProto', () => {
    const t = new ProtoMessage(b, 0, b.length, 'TensorProto');
    const name = t.string(8, 'name') ?? '';
    const v = decodeTensor(t, `TensorProto ${JSON.stringify(name)}`);
    const data = FLOAT_TYPES.has(v.type) ? Float32Array.from(v.data) : Int32Array.from(v.data);
    if (!FLOAT_TYPES.has(v.type) && data.some((x, i) => x !== v.data[i])) {
      throw new GRUError(`TensorProto ${JSON.stringify(name)}: ${typeName(v.type)} values outside the int32 range`);
    }
    return { name, dataType: typeName(v.type), shape: v.dims, data };
  });
}

interface Attribute {
  name: string;
  message: ProtoMessage;
}

interface Node {
  index: number;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Attribute[];
}

function decodeNode(m: ProtoMessage, index: number): Node {
  return {
    index,
    name: m.string(3, 'name') ?? '',
    opType: m.string(4, 'op_type') ?? '',
    domain: m.string(7, 'domain') ?? '',
    inputs: m.strings(1, 'input'),
    outputs: m.strings(2, 'output'),
    attributes: m.messages(5, 'attribute').map((a) => ({ name: a.string(1, 'name') ?? '', message: a })),
  };
}

const ATTRIBUTE_TYPES: Record<number, string> = { 1: 'FLOAT', 2: 'INT', 3: 'STRING', 4: 'TENSOR', 6: 'FLOATS', 7: 'INTS', 8: 'STRINGS' };

/** Typed attribute access; an attribute of the wrong type is a GRUError naming it. */
class Attributes {
  private readonly byName = new Map<string, Attribute>();

  constructor(
    attributes: readonly Attribute[],
    private readonly where: string,
  ) {
    for (const a of attributes) this.byName.set(a.name, a);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The AttributeProto.type, or (files from before IR 3 omit it) the type its set field implies. */
  private type(a: Attribute): number {
    const declared = a.message.varint(20, 'type');
    if (declared) return declared;
    const m = a.message;
    if (m.has(2)) return 1;
    if (m.has(3)) return 2;
    if (m.has(4)) return 3;
    if (m.has(5)) return 4;
    if (m.has(7)) return 6;
    if (m.has(8)) return 7;
    if (m.has(9)) return 8;
    return 0;
  }

  private get(name: string, type: number): Attribute | undefined {
    const a = this.byName.get(name);
    if (!a) return undefined;
    const actual = this.type(a);
    if (actual !== type) {
      throw new GRUError(
        `${this.where}: attribute ${name}: expected type ${ATTRIBUTE_TYPES[type]}, got ${ATTRIBUTE_TYPES[actual] ?? `type ${actual}`}`,
      );
    }
    return a;
  }

  int(name: string): number | undefined {
    return this.get(name, 2)?.message.varint(3, 'i') ?? (this.byName.has(name) ? 0 : undefined);
  }

  float(name: string): number | undefined {
    return this.get(name, 1)?.message.float(2, 'f') ?? (this.byName.has(name) ? 0 : undefined);
  }

  string(name: string): string | undefined {
    const a = this.get(name, 3);
    if (!a) return undefined;
    const bytes = a.message.bytesOf(4, 's') ?? new Uint8Array(0);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new GRUError(`${this.where}: attribute ${name} is not valid UTF-8`);
    }
  }

  floats(name: string): number[] | undefined {
    const a = this.get(name, 6);
    return a && Array.from(a.message.floats(7, 'floats'));
  }

  ints(name: string): number[] | undefined {
    return this.get(name, 7)?.message.varints(8, 'ints');
  }

  strings(name: string): string[] | undefined {
    return this.get(name, 8)?.message.strings(9, 'strings');
  }

  tensor(name: string): ProtoMessage | undefined {
    return this.get(name, 4)?.message.message(5, 't');
  }

  /** Which of the given names is set, for ops with alternative forms. */
  kind(name: string): string | undefined {
    const a = this.byName.get(name);
    return a && ATTRIBUTE_TYPES[this.type(a)];
  }
}

const FOLDABLE = new Set(['Identity', 'Cast', 'Slice', 'Concat', 'Unsqueeze', 'Squeeze', 'Transpose', 'Reshape', 'Constant']);
const MAX_FOLD_DEPTH = 500;

type Folded = { value: Value } | { reason: string };

/** The graph's constants: initializers, Constant nodes, and folds of the glue ops (see the module comment). */
class Constants {
  private readonly memo = new Map<string, Folded>();
  private readonly visiting = new Set<string>();

  constructor(
    private readonly initializers: Map<string, ProtoMessage>,
    private readonly producers: Map<string, Node>,
    private readonly graphInputs: Set<string>,
    private readonly given: Map<string, Value>,
  ) {}

  get(name: string, depth = 0): Folded {
    const known = this.memo.get(name);
    if (known) return known;
    if (this.visiting.has(name)) throw new GRUError(`ONNX graph: value ${JSON.stringify(name)} depends on itself (a cycle)`);
    if (depth > MAX_FOLD_DEPTH) return { reason: `more than ${MAX_FOLD_DEPTH} ops away from a stored tensor` };
    this.visiting.add(name);
    try {
      const result = this.compute(name, depth);
      this.memo.set(name, result);
      return result;
    } finally {
      this.visiting.delete(name);
    }
  }

  private compute(name: string, depth: number): Folded {
    const given = this.given.get(name);
    if (given) return { value: given };
    const init = this.initializers.get(name);
    if (init) return { value: decodeTensor(init, `initializer ${JSON.stringify(name)}`) };
    const node = this.producers.get(name);
    if (!node) {
      if (this.graphInputs.has(name)) return { reason: 'a graph input' };
      throw new GRUError(`ONNX graph: value ${JSON.stringify(name)} is neither an initializer, a graph input nor a node output`);
    }
    const label = `${node.opType} node ${JSON.stringify(node.name || node.outputs[0] || `#${node.index}`)}`;
    if (node.domain !== '' && node.domain !== 'ai.onnx') return { reason: `the output of ${label} (domain ${node.domain})` };
    if (!FOLDABLE.has(node.opType)) return { reason: `the output of ${label}, which is computed at run time` };
    if (node.outputs[0] !== name) return { reason: `output ${node.outputs.indexOf(name)} of ${label}` };
    const attrs = new Attributes(node.attributes, label);
    const input = (i: number): Value | { reason: string } => {
      const n = node.inputs[i];
      if (n === undefined || n === '') return { reason: `${label} has no input ${i}` };
      const r = this.get(n, depth + 1);
      return 'value' in r ? r.value : { reason: `${r.reason} (through ${label})` };
    };
    const inputs: Value[] = [];
    const needInputs = node.opType === 'Concat' ? node.inputs.length : node.opType === 'Constant' ? 0 : 1;
    for (let i = 0; i < needInputs; i++) {
      const v = input(i);
      if (!('data' in v)) return v;
      inputs.push(v);
    }
    const optional = (i: number): number[] | undefined | { reason: string } => {
      if (node.inputs[i] === undefined || node.inputs[i] === '') return undefined;
      const v = input(i);
      return 'data' in v ? Array.from(v.data) : v;
    };
    const fold = (f: () => Value): Folded => {
      try {
        return { value: f() };
      } catch (e) {
        if (e instanceof GRUError) throw new GRUError(`${label}: ${e.message}`);
        throw e;
      }
    };
    switch (node.opType) {
      case 'Constant':
        return fold(() => constantValue(attrs, label));
      case 'Identity':
        return { value: inputs[0]! };
      case 'Cast':
        return fold(() => cast(inputs[0]!, attrs.int('to') ?? -1));
      case 'Concat':
        return fold(() => concat(inputs, attrs.int('axis') ?? 0));
      case 'Transpose':
        return fold(() => transpose(inputs[0]!, attrs.ints('perm')));
      case 'Slice': {
        if (attrs.has('starts')) {
          return fold(() => slice(inputs[0]!, attrs.ints('starts') ?? [], attrs.ints('ends') ?? [], attrs.ints('axes'), undefined));
        }
        const parts = [1, 2, 3, 4].map(optional);
        for (const p of parts) if (p && !Array.isArray(p)) return p;
        const [starts, ends, axes, steps] = parts as (number[] | undefined)[];
        if (!starts || !ends) return { reason: `${label} has no starts/ends` };
        return fold(() => slice(inputs[0]!, starts, ends, axes, steps));
      }
      case 'Unsqueeze':
      case 'Squeeze': {
        let axes = attrs.ints('axes');
        if (!axes) {
          const a = optional(1);
          if (a && !Array.isArray(a)) return a;
          axes = a as number[] | undefined;
        }
        return fold(() => (node.opType === 'Unsqueeze' ? unsqueeze(inputs[0]!, axes ?? []) : squeeze(inputs[0]!, axes)));
      }
      case 'Reshape': {
        const shape = attrs.ints('shape') ?? optional(1);
        if (!shape) return { reason: `${label} has no shape` };
        if (!Array.isArray(shape)) return shape;
        return fold(() => reshape(inputs[0]!, shape, (attrs.int('allowzero') ?? 0) !== 0));
      }
    }
    return { reason: `the output of ${label}` };
  }

  /** True when `name` is a run-time broadcast of zeros (torch.onnx.export's initial_h without h0). */
  isZeroState(name: string): boolean {
    const node = this.producers.get(name);
    if (!node) return false;
    const label = `${node.opType} node`;
    if (node.opType === 'Expand' && node.inputs[0]) {
      const r = this.get(node.inputs[0]);
      return 'value' in r && r.value.data.every((v) => v === 0);
    }
    if (node.opType === 'ConstantOfShape') {
      const t = new Attributes(node.attributes, label).tensor('value');
      return !t || decodeTensor(t, `${label} value`).data.every((v) => v === 0);
    }
    return false;
  }
}

function constantValue(attrs: Attributes, label: string): Value {
  const t = attrs.tensor('value');
  if (t) return decodeTensor(t, `${label} value`);
  const f = attrs.kind('value_float') ? attrs.float('value_float') : undefined;
  if (f !== undefined) return { dims: [], type: FLOAT, data: Float64Array.of(f) };
  const fs = attrs.floats('value_floats');
  if (fs) return { dims: [fs.length], type: FLOAT, data: Float64Array.from(fs) };
  const i = attrs.kind('value_int') ? attrs.int('value_int') : undefined;
  if (i !== undefined) return { dims: [], type: INT64, data: Float64Array.of(i) };
  const is = attrs.ints('value_ints');
  if (is) return { dims: [is.length], type: INT64, data: Float64Array.from(is) };
  throw new GRUError(`a Constant needs value, value_float(s) or value_int(s) (sparse and string constants are not supported)`);
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i]!;
  }
  return s;
}

/** out[idx] = src[Σ idx[k]·srcStride[k] + base] over every index of outDims. */
function gather(src: Float64Array, outDims: number[], srcStride: number[], base: number): Float64Array {
  const out = new Float64Array(product(outDims));
  const idx = new Array<number>(outDims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let s = base;
    for (let k = 0; k < idx.length; k++) s += idx[k]! * srcStride[k]!;
    out[o] = src[s]!;
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k]! < outDims[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

function normaliseAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new GRUError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function cast(v: Value, to: number): Value {
  const data = new Float64Array(v.data.length);
  const convert: (x: number) => number =
    to === FLOAT
      ? Math.fround
      : to === DOUBLE
        ? (x) => x
        : to === FLOAT16
          ? roundToHalf
          : to === BFLOAT16
            ? roundToBfloat16
            : INT_TYPES.has(to)
              ? Math.trunc
              : (() => {
                  throw new GRUError(`Cast to ${typeName(to)} is not supported`);
                })();
  for (let i = 0; i < data.length; i++) data[i] = convert(v.data[i]!);
  return { dims: v.dims, type: to, data };
}

function roundToBfloat16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  if (Number.isNaN(f[0])) return NaN;
  u[0] = ((u[0]! + 0x7fff + ((u[0]! >>> 16) & 1)) >>> 16) << 16;
  return f[0]!;
}

function concat(values: Value[], axis: number): Value {
  if (values.length === 0) throw new GRUError('Concat has no inputs');
  const rank = values[0]!.dims.length;
  const a = normaliseAxis(axis, rank);
  for (const v of values) {
    if (v.dims.length !== rank || v.dims.some((d, i) => i !== a && d !== values[0]!.dims[i])) {
      throw new GRUError(`inputs of shapes ${values.map((x) => formatShape(x.dims)).join(', ')} cannot be concatenated on axis ${axis}`);
    }
  }
  const dims = [...values[0]!.dims];
  dims[a] = values.reduce((n, v) => n + v.dims[a]!, 0);
  const outer = product(dims.slice(0, a));
  const out = new Float64Array(product(dims));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const v of values) {
      const block = product(v.dims.slice(a));
      out.set(v.data.subarray(i * block, (i + 1) * block), o);
      o += block;
    }
  }
  return { dims, type: values[0]!.type, data: out };
}

function transpose(v: Value, perm: number[] | undefined): Value {
  const rank = v.dims.length;
  const p = perm ?? v.dims.map((_, i) => rank - 1 - i);
  if (p.length !== rank || [...p].sort((x, y) => x - y).some((x, i) => x !== i)) {
    throw new GRUError(`perm ${formatShape(p)} is not a permutation of ${rank} axes`);
  }
  const s = strides(v.dims);
  const dims = p.map((k) => v.dims[k]!);
  return {
    dims,
    type: v.type,
    data: gather(
      v.data,
      dims,
      p.map((k) => s[k]!),
      0,
    ),
  };
}

function slice(v: Value, starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined): Value {
  const rank = v.dims.length;
  const ax = axes ?? starts.map((_, i) => i);
  if (starts.length !== ends.length || ax.length !== starts.length || (steps && steps.length !== starts.length)) {
    throw new GRUError('starts, ends, axes and steps must have the same length');
  }
  const begin = v.dims.map(() => 0);
  const step = v.dims.map(() => 1);
  const dims = [...v.dims];
  ax.forEach((axis, i) => {
    const a = normaliseAxis(axis, rank);
    const n = v.dims[a]!;
    const st = steps ? steps[i]! : 1;
    if (st === 0) throw new GRUError('a slice step of 0');
    let s = starts[i]!;
    let e = ends[i]!;
    if (s < 0) s += n;
    if (e < 0) e += n;
    if (st > 0) {
      s = Math.min(Math.max(s, 0), n);
      e = Math.min(Math.max(e, 0), n);
      dims[a] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, 0), n - 1);
      e = Math.min(Math.max(e, -1), n - 1);
      dims[a] = Math.max(0, Math.ceil((s - e) / -st));
    }
    begin[a] = s;
    step[a] = st;
  });
  const s = strides(v.dims);
  const base = begin.reduce((acc, b, k) => acc + b * s[k]!, 0);
  return {
    dims,
    type: v.type,
    data: gather(
      v.data,
      dims,
      s.map((x, k) => x * step[k]!),
      base,
    ),
  };
}

function unsqueeze(v: Value, axes: number[]): Value {
  const rank = v.dims.length + axes.length;
  const at = new Set(axes.map((a) => normaliseAxis(a, rank)));
  if (at.size !== axes.length) throw new GRUError(`repeated axes ${formatShape(axes)}`);
  const dims: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) dims.push(at.has(i) ? 1 : v.dims[k++]!);
  return { dims, type: v.type, data: v.data };
}

function squeeze(v: Value, axes: number[] | undefined): Value {
  const at = axes ? new Set(axes.map((a) => normaliseAxis(a, v.dims.length))) : undefined;
  for (const a of at ?? []) {
    if (v.dims[a] !== 1) throw new GRUError(`axis ${a} of shape ${formatShape(v.dims)} is not 1`);
  }
  const dims = v.dims.filter((d, i) => (at ? !at.has(i) : d !== 1));
  return { dims, type: v.type, data: v.data };
}

function reshape(v: Value, shape: number[], allowZero: boolean): Value {
  const dims = shape.map((d, i) => (d === 0 && !allowZero ? (v.dims[i] ?? NaN) : d));
  const unknown = dims.filter((d) => d === -1).length;
  if (unknown > 1 || dims.some((d) => !Number.isInteger(d) || d < -1)) throw new GRUError(`invalid shape ${formatShape(shape)}`);
  if (unknown === 1) {
    const known = product(dims.filter((d) => d !== -1));
    const i = dims.indexOf(-1);
    dims[i] = known === 0 ? 0 : v.data.length / known;
  }
  if (product(dims) !== v.data.length || dims.some((d) => !Number.isInteger(d))) {
    throw new GRUError(`cannot reshape ${formatShape(v.dims)} to ${formatShape(shape)}`);
  }
  return { dims, type: v.type, data: v.data };
}

/** ONNX activation names (matched case-insensitively, as onnxruntime does) → ours, and which take alpha/beta. */
const ONNX_ACTIVATIONS: Record<string, { ours: string; alpha: boolean; beta: boolean }> = {
  sigmoid: { ours: 'sigmoid', alpha: false, beta: false },
  tanh: { ours: 'tanh', alpha: false, beta: false },
  relu: { ours: 'relu', alpha: false, beta: false },
  hardsigmoid: { ours: 'hardSigmoid', alpha: true, beta: true },
  leakyrelu: { ours: 'leakyRelu', alpha: true, beta: false },
  thresholdedrelu: { ours: 'thresholdedRelu', alpha: true, beta: false },
  scaledtanh: { ours: 'scaledTanh', alpha: true, beta: true },
  affine: { ours: 'affine', alpha: true, beta: true },
  elu: { ours: 'elu', alpha: true, beta: false },
  softsign: { ours: 'softsign', alpha: false, beta: false },
  softplus: { ours: 'softplus', alpha: false, beta: false },
};

const GRU_ATTRIBUTES = new Set([
  'activation_alpha',
  'activation_beta',
  'activations',
  'clip',
  'direction',
  'hidden_size',
  'layout',
  'linear_before_reset',
  'output_sequence', // GRU-1 and GRU-3 only; has no effect on the values
]);

/**
 * Reads every `GRU` node of an .onnx file. Returns one ImportedGRU per node, in graph order.
 * Throws a GRUError naming the node, the tensor and both shapes when something does not fit, and
 * for a truncated or corrupted file.
 */
export function fromONNX(bytes: Uint8Array, options: FromONNXOptions = {}): ImportedGRU[] {
  const b = toBytes('bytes', bytes);
  const given = givenTensors(options);
  return guard('ONNX model', () => {
    const model = new ProtoMessage(b, 0, b.length, 'ModelProto');
    const graph = model.message(7, 'graph');
    if (!graph) throw new GRUError('ModelProto: no graph (is this an .onnx model file? it may be truncated)');
    const opsets = model
      .messages(8, 'opset_import')
      .map((m) => ({ domain: m.string(1, 'domain') ?? '', version: m.varint(2, 'version') ?? 0 }));
    const main = opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
    if (!main) {
      throw new GRUError('ModelProto: no opset_import for the default ONNX domain (the file may be truncated)');
    }
    if (main.version < 7) {
      throw new GRUError(`ModelProto: opset ${main.version}; fromONNX reads the GRU of opsets 7 to 22 (GRU-7, -14, -22)`);
    }
    const nodes = graph.messages(1, 'node').map(decodeNode);
    const initializers = new Map<string, ProtoMessage>();
    for (const t of graph.messages(5, 'initializer')) initializers.set(t.string(8, 'name') ?? '', t);
    const graphInputs = new Set(graph.messages(11, 'input').map((v) => v.string(1, 'name') ?? ''));
    // declared types (graph inputs, outputs, value_info), decoded only for the GRU inputs X
    const declared = new Map<string, ProtoMessage>();
    for (const field of [13, 12, 11] as const) {
      for (const v of graph.messages(field, field === 11 ? 'input' : field === 12 ? 'output' : 'value_info'))
        declared.set(v.string(1, 'name') ?? '', v);
    }
    const producers = new Map<string, Node>();
    for (const n of nodes) for (const o of n.outputs) if (o !== '') producers.set(o, n);
    const constants = new Constants(initializers, producers, graphInputs, given);
    return nodes
      .filter((n) => n.opType === 'GRU' && (n.domain === '' || n.domain === 'ai.onnx'))
      .map((n) => importNode(n, constants, declared));
  });
}

function givenTensors(options: unknown): Map<string, Value> {
  if (typeof options !== 'object' || options === null) throw new GRUError(`options: expected { tensors? }, got ${describe(options)}`);
  checkKeys('options', options, ['tensors']);
  const out = new Map<string, Value>();
  const tensors = (options as FromONNXOptions).tensors;
  if (tensors === undefined) return out;
  for (const [name, t] of dictEntries('options.tensors', tensors)) {
    const what = `options.tensors[${JSON.stringify(name)}]`;
    if (typeof t !== 'object' || t === null || !('shape' in t) || !('data' in t)) {
      throw new GRUError(`${what}: expected { shape, data }, got ${describe(t)}`);
    }
    const { shape, data } = t as { shape: unknown; data: unknown };
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new GRUError(`${what}.shape: expected an array of non-negative integers, got ${describe(shape)}`);
    }
    let type: number;
    if (data instanceof Float32Array || data instanceof Float64Array) type = FLOAT;
    else if (data instanceof Int32Array) type = INT32;
    else if (Array.isArray(data) && data.every((x) => typeof x === 'number')) type = FLOAT;
    else throw new GRUError(`${what}.data: expected a Float32Array, Float64Array, Int32Array or number[], got ${describe(data)}`);
    const values = Float64Array.from(data as ArrayLike<number>);
    if (values.length !== product(shape)) {
      throw new GRUError(`${what}: shape ${formatShape(shape)} holds ${product(shape)} values, data has ${values.length}`);
    }
    out.set(name, { dims: [...shape], type, data: values });
  }
  return out;
}

/** The static dims of a value's declared tensor type (null for a symbolic one), if it has one. */
function declaredDims(info: ProtoMessage | undefined): (number | null)[] | undefined {
  const tensor = info?.message(2, 'type')?.message(1, 'tensor_type');
  const shape = tensor?.message(2, 'shape');
  if (!shape) return undefined;
  return shape.messages(1, 'dim').map((d) => (d.has(1) ? (d.varint(1, 'dim_value') ?? null) : null));
}

function importNode(node: Node, constants: Constants, declared: Map<string, ProtoMessage>): ImportedGRU {
  const label = node.name || node.outputs.find((o) => o !== '') || `#${node.index}`;
  const where = `ONNX GRU node ${JSON.stringify(label)}`;
  const attrs = new Attributes(node.attributes, where);
  for (const name of attrs.names()) {
    if (!GRU_ATTRIBUTES.has(name)) throw new GRUError(`${where}: unknown attribute ${JSON.stringify(name)}`);
  }
  const direction = attrs.string('direction') ?? 'forward';
  if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional') {
    throw new GRUError(`${where}: attribute direction: expected forward, reverse or bidirectional, got ${JSON.stringify(direction)}`);
  }
  const D = direction === 'bidirectional' ? 2 : 1;
  const layout = attrs.int('layout') ?? 0;
  if (layout !== 0 && layout !== 1) throw new GRUError(`${where}: attribute layout: expected 0 or 1, got ${layout}`);
  const hiddenAttr = attrs.int('hidden_size');
  if (hiddenAttr !== undefined && !(hiddenAttr >= 1))
    throw new GRUError(`${where}: attribute hidden_size: expected a positive integer, got ${hiddenAttr}`);
  const clip = attrs.float('clip');
  if (clip !== undefined && !(clip > 0 && Number.isFinite(clip)))
    throw new GRUError(`${where}: attribute clip: expected a finite number > 0, got ${clip}`);
  const lbr = attrs.int('linear_before_reset') ?? 0;

  const inputName = (i: number) => node.inputs[i] ?? '';
  const roles = ['X', 'W', 'R', 'B', 'sequence_lens', 'initial_h'];
  if (!inputName(0)) throw new GRUError(`${where}: input X is missing`);
  const tensorLabel = (i: number) => `${where} input ${roles[i]} (${JSON.stringify(inputName(i))})`;
  const constant = (i: number, required: boolean): Value | undefined => {
    const name = inputName(i);
    if (name === '') {
      if (required) throw new GRUError(`${where}: input ${roles[i]} is missing`);
      return undefined;
    }
    const r = constants.get(name);
    if ('value' in r) return r.value;
    if (required) {
      throw new GRUError(
        `${tensorLabel(i)} is not constant: it is ${r.reason}; pass its value in options.tensors[${JSON.stringify(name)}]`,
      );
    }
    return undefined;
  };
  const floats = (i: number, v: Value): Float32Array => {
    if (!FLOAT_TYPES.has(v.type))
      throw new GRUError(`${tensorLabel(i)}: expected a float tensor (FLOAT, FLOAT16, DOUBLE, BFLOAT16), got ${typeName(v.type)}`);
    const data = Float32Array.from(v.data);
    checkFinite(tensorLabel(i), data);
    return data;
  };
  const expectShape = (i: number, v: Value, expected: number[], note: string) => {
    if (v.dims.length !== expected.length || v.dims.some((d, k) => d !== expected[k])) {
      throw new GRUError(`${tensorLabel(i)}: expected shape ${formatShape(expected)} (${note}), got ${formatShape(v.dims)}`);
    }
  };

  const W = constant(1, true)!;
  if (W.dims.length !== 3 || W.dims[0] !== D || W.dims[1]! % 3 !== 0 || W.dims[1] === 0 || W.dims[2] === 0) {
    const h = hiddenAttr !== undefined ? `${3 * hiddenAttr}` : '3·hidden_size';
    throw new GRUError(
      `${tensorLabel(1)}: expected shape [${D}, ${h}, input_size] (num_directions, 3·hidden_size, input_size), got ${formatShape(W.dims)}`,
    );
  }
  const H = hiddenAttr ?? W.dims[1]! / 3;
  // input_size: from X's declared shape when the graph states it, else from W
  const xDims = declaredDims(declared.get(inputName(0)));
  const xI = xDims?.length === 3 ? xDims[2] : null;
  const I = xI ?? W.dims[2]!;
  const inputNote =
    xI !== null && xI !== undefined
      ? `, input_size = ${I} from X's declared shape ${formatShape(xDims!.map((d) => d ?? '?') as number[])}`
      : '';
  expectShape(1, W, [D, 3 * H, I], `num_directions, 3·hidden_size, input_size with hidden_size = ${H}${inputNote}`);
  const R = constant(2, true)!;
  expectShape(2, R, [D, 3 * H, H], `num_directions, 3·hidden_size, hidden_size with hidden_size = ${H}`);
  const B = constant(3, false);
  if (inputName(3) !== '' && !B) {
    const r = constants.get(inputName(3));
    throw new GRUError(
      `${tensorLabel(3)} is not constant: it is ${'reason' in r ? r.reason : ''}; pass its value in options.tensors[${JSON.stringify(inputName(3))}]`,
    );
  }
  if (B) expectShape(3, B, [D, 6 * H], `num_directions, 6·hidden_size with hidden_size = ${H}`);
  const w = floats(1, W);
  const r = floats(2, R);
  const bias = B && floats(3, B);
  const weights: GRUWeights[] = [];
  for (let d = 0; d < D; d++) {
    const entry: GRUWeights = {
      weightIh: w.slice(d * 3 * H * I, (d + 1) * 3 * H * I),
      weightHh: r.slice(d * 3 * H * H, (d + 1) * 3 * H * H),
    };
    if (bias) {
      entry.biasIh = bias.slice(d * 6 * H, d * 6 * H + 3 * H);
      entry.biasHh = bias.slice(d * 6 * H + 3 * H, (d + 1) * 6 * H);
    }
    weights.push(entry);
  }

  // sequence_lens and initial_h: read when constant, else left to the caller (onnx.inputs names them).
  let batch: number | undefined;
  let seqLengths: Int32Array | undefined;
  const seq = constant(4, false);
  if (seq) {
    if (!INT_TYPES.has(seq.type)) throw new GRUError(`${tensorLabel(4)}: expected an integer tensor (INT32), got ${typeName(seq.type)}`);
    if (seq.dims.length !== 1) throw new GRUError(`${tensorLabel(4)}: expected shape [batch_size], got ${formatShape(seq.dims)}`);
    batch = seq.dims[0]!;
    const bad = seq.data.findIndex((v) => !Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1);
    if (bad >= 0)
      throw new GRUError(`${tensorLabel(4)}: element ${bad} is ${seq.data[bad]}; a sequence length must be a non-negative integer`);
    seqLengths = Int32Array.from(seq.data);
  }
  let initialH: Float32Array | undefined;
  const h0 = constant(5, false);
  if (h0) {
    if (h0.dims.length !== 3) {
      throw new GRUError(
        `${tensorLabel(5)}: expected shape ${layout ? `[batch_size, ${D}, ${H}]` : `[${D}, batch_size, ${H}]`}, got ${formatShape(h0.dims)}`,
      );
    }
    const hb = layout ? h0.dims[0]! : h0.dims[1]!;
    const expected = layout ? [batch ?? hb, D, H] : [D, batch ?? hb, H];
    expectShape(5, h0, expected, layout ? 'batch_size, num_directions, hidden_size' : 'num_directions, batch_size, hidden_size');
    const data = floats(5, h0);
    if (layout) {
      // [B, D, H] → [D, B, H]
      initialH = new Float32Array(data.length);
      for (let b = 0; b < hb; b++)
        for (let d = 0; d < D; d++) initialH.set(data.subarray((b * D + d) * H, (b * D + d + 1) * H), (d * hb + b) * H);
    } else {
      initialH = data;
    }
    if (initialH.every((v) => v === 0)) initialH = undefined;
  }
  const runtime: { initialHFrom?: string; sequenceLensFrom?: string } = {};
  if (!h0 && inputName(5) !== '' && !constants.isZeroState(inputName(5))) runtime.initialHFrom = inputName(5);
  if (!seq && inputName(4) !== '') runtime.sequenceLensFrom = inputName(4);

  const options: GRUOptions = {
    inputSize: I,
    hiddenSize: H,
    numLayers: 1,
    direction,
    batchFirst: layout === 1,
    resetAfter: lbr !== 0,
    gateOrder: 'zrn',
    activations: activations(attrs, D, where),
  };
  if (clip !== undefined) options.clip = clip;
  const result: ImportedGRU = { name: label, options, weights, onnx: { inputs: [...node.inputs], outputs: [...node.outputs], ...runtime } };
  if (initialH) result.initialH = initialH;
  if (seqLengths) result.seqLengths = seqLengths;
  return result;
}

function activations(attrs: Attributes, D: number, where: string): [Activation, Activation] {
  let names = attrs.strings('activations') ?? ['Sigmoid', 'Tanh'];
  if (names.length === 2 && D === 2) names = [...names, ...names];
  if (names.length !== 2 * D) {
    throw new GRUError(`${where}: attribute activations: expected ${2 * D} names (f, g for each direction), got ${names.length}`);
  }
  const alphas = attrs.floats('activation_alpha') ?? [];
  const betas = attrs.floats('activation_beta') ?? [];
  let a = 0;
  let b = 0;
  const mapped = names.map((name): Activation => {
    const spec = ONNX_ACTIVATIONS[name.toLowerCase()];
    if (!spec) {
      throw new GRUError(
        `${where}: attribute activations: unknown activation ${JSON.stringify(name)}; expected one of Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, ThresholdedRelu, ScaledTanh, Affine, Elu, Softsign, Softplus`,
      );
    }
    if (spec.ours === 'sigmoid' || spec.ours === 'tanh' || spec.ours === 'relu') return spec.ours;
    if (!spec.alpha && !spec.beta) return { name: spec.ours } as Activation;
    const out: { name: string; alpha?: number; beta?: number } = { name: spec.ours };
    if (spec.alpha && a < alphas.length) out.alpha = alphas[a++]!;
    if (spec.beta && b < betas.length) out.beta = betas[b++]!;
    return out as Activation;
  });
  if (D === 2 && JSON.stringify(mapped.slice(0, 2)) !== JSON.stringify(mapped.slice(2))) {
    throw new GRUError(
      `${where}: attribute activations: the forward pair ${JSON.stringify(mapped.slice(0, 2))} and the reverse pair ${JSON.stringify(mapped.slice(2))} differ; webgpu-gru applies one pair to both directions`,
    );
  }
  return [mapped[0]!, mapped[1]!];
}
