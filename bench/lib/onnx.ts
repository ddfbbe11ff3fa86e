/**
 * A minimal protobuf encoder and the ONNX model the benchmark gives onnxruntime-web: one `GRU`
 * node per layer (linear_before_reset = 1, i.e. our resetAfter), the weights as initializers, and
 * Transpose/Reshape glue so that every layer reads, and the model returns, [T, B, D·H] like ours.
 *
 * Only what ONNX needs from protobuf is here: varints (int32/int64/enum, negative int64 as ten
 * bytes), length-delimited fields (strings, bytes, sub-messages, packed repeated varints) and
 * 32-bit floats. Field numbers are those of onnx/onnx.proto (IR version 8); test/bench.test.ts
 * decodes the result with an independent decoder.
 */

/** Wire types. */
const Wire = { Varint: 0, Len: 2, I32: 5 } as const;
type Wire = (typeof Wire)[keyof typeof Wire];

const utf8 = new TextEncoder();

/** Builds one protobuf message; sub-messages are built by nested writers and embedded. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private rawVarint(value: bigint): void {
    // Negative int64 is written as its 64-bit two's complement: always ten bytes.
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: Wire): void {
    this.rawVarint(BigInt((field << 3) | wire));
  }

  /** int32, int64, uint64, bool, enum. */
  varint(field: number, value: number | bigint): this {
    this.tag(field, Wire.Varint);
    this.rawVarint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, Wire.I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, Wire.Len);
    this.rawVarint(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    build(w);
    return this.bytes(field, w.finish());
  }

  /** A packed repeated varint field (proto3's default for repeated scalars). */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const w = new ProtoWriter();
    for (const v of values) w.rawVarint(BigInt(v));
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** onnx.proto field numbers and enums used here. */
export const ONNX = {
  Model: { irVersion: 1, producerName: 2, producerVersion: 3, graph: 7, opsetImport: 8 },
  OperatorSetId: { domain: 1, version: 2 },
  Graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12 },
  Node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5 },
  Attribute: { name: 1, f: 2, i: 3, s: 4, ints: 8, type: 20 },
  AttributeType: { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 },
  Tensor: { dims: 1, dataType: 2, name: 8, rawData: 9 },
  DataType: { FLOAT: 1, INT64: 7 },
  ValueInfo: { name: 1, type: 2 },
  Type: { tensorType: 1 },
  TypeTensor: { elemType: 1, shape: 2 },
  Shape: { dim: 1 },
  Dimension: { dimValue: 1, dimParam: 2 },
} as const;

export const IR_VERSION = 8;
export const OPSET = 17;

export type AttributeValue = number | string | readonly number[] | { float: number };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** A plain number is an INT, `{ float }` a FLOAT, a string a STRING, a number array INTS. */
  attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxValueInfo {
  name: string;
  /** A number is a fixed size, a string a symbolic one. */
  dims: readonly (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

function writeAttribute(w: ProtoWriter, name: string, value: AttributeValue): void {
  const A = ONNX.Attribute;
  w.string(A.name, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: an INT must be an integer (use { float } for a FLOAT), got ${value}`);
    w.varint(A.i, value).varint(A.type, ONNX.AttributeType.INT);
  } else if (typeof value === 'string') {
    w.string(A.s, value).varint(A.type, ONNX.AttributeType.STRING);
  } else if ('float' in value) {
    w.float(A.f, value.float).varint(A.type, ONNX.AttributeType.FLOAT);
  } else {
    w.packedVarints(A.ints, value).varint(A.type, ONNX.AttributeType.INTS);
  }
}

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  const T = ONNX.Tensor;
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length)
    throw new Error(`initializer ${t.name}: dims ${t.dims.join('×')} hold ${count} values, data has ${t.data.length}`);
  w.packedVarints(T.dims, t.dims);
  w.varint(T.dataType, t.data instanceof Float32Array ? ONNX.DataType.FLOAT : ONNX.DataType.INT64);
  w.string(T.name, t.name);
  // raw_data is little-endian; so are typed arrays on every host this runs on, checked here.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('a big-endian host: raw_data would need byte swapping');
  w.bytes(T.rawData, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(ONNX.ValueInfo.name, v.name);
  w.message(ONNX.ValueInfo.type, (type) =>
    type.message(ONNX.Type.tensorType, (tt) => {
      tt.varint(ONNX.TypeTensor.elemType, ONNX.DataType.FLOAT);
      tt.message(ONNX.TypeTensor.shape, (shape) => {
        for (const d of v.dims) {
          shape.message(ONNX.Shape.dim, (dim) => {
            if (typeof d === 'number') dim.varint(ONNX.Dimension.dimValue, d);
            else dim.string(ONNX.Dimension.dimParam, d);
          });
        }
      });
    }),
  );
}

/** Serialises a ModelProto holding `graph` (default domain, opset 17). */
export function encodeModel(graph: OnnxGraph): Uint8Array {
  const M = ONNX.Model;
  const G = ONNX.Graph;
  const N = ONNX.Node;
  return new ProtoWriter()
    .varint(M.irVersion, IR_VERSION)
    .string(M.producerName, 'webgpu-gru bench')
    .string(M.producerVersion, '1')
    .message(M.graph, (g) => {
      for (const node of graph.nodes) {
        g.message(G.node, (n) => {
          for (const i of node.inputs) n.string(N.input, i);
          for (const o of node.outputs) n.string(N.output, o);
          if (node.name) n.string(N.name, node.name);
          n.string(N.opType, node.opType);
          for (const [name, value] of Object.entries(node.attributes ?? {})) n.message(N.attribute, (a) => writeAttribute(a, name, value));
        });
      }
      g.string(G.name, graph.name);
      for (const t of graph.initializers) g.message(G.initializer, (w) => writeTensor(w, t));
      for (const v of graph.inputs) g.message(G.input, (w) => writeValueInfo(w, v));
      for (const v of graph.outputs) g.message(G.output, (w) => writeValueInfo(w, v));
    })
    .message(M.opsetImport, (o) => o.string(ONNX.OperatorSetId.domain, '').varint(ONNX.OperatorSetId.version, OPSET))
    .finish();
}

export interface GRUModelSpec {
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  direction: 'forward' | 'reverse' | 'bidirectional';
  /** Per layer, in ONNX layout: W [D, 3H, K], R [D, 3H, H], B [D, 6H], gates z, r, h. */
  layers: readonly { W: Float32Array; R: Float32Array; B: Float32Array }[];
}

/**
 * The graph: X [T, B, I] → GRU → Y [T, D, B, H] → (Transpose to [T, B, D, H] when D = 2) →
 * Reshape [T, B, D·H] → the next layer's X … → output Y [T, B, D·H]. ([T, 1, B, H] has the bytes
 * of [T, B, H], so D = 1 needs no Transpose.) Sizes are fixed so that the runtime can plan every
 * buffer once.
 */
export function gruGraph(spec: GRUModelSpec): OnnxGraph {
  const { steps: T, batch: B, inputSize: I, hiddenSize: H, numLayers: L } = spec;
  const D = spec.direction === 'bidirectional' ? 2 : 1;
  if (spec.layers.length !== L) throw new Error(`gruGraph: expected ${L} layers of weights, got ${spec.layers.length}`);
  const nodes: OnnxNode[] = [];
  // [T, 1, B, H] (D = 1) or [T, B, 2, H] (D = 2, after the Transpose) → [T, B, D·H].
  const initializers: OnnxTensor[] = [{ name: 'shape_TBDH', dims: [3], data: BigInt64Array.from([-1n, BigInt(B), BigInt(D * H)]) }];
  let x = 'X';
  for (let l = 0; l < L; l++) {
    const K = l === 0 ? I : D * H;
    const { W, R, B: bias } = spec.layers[l]!;
    initializers.push(
      { name: `W${l}`, dims: [D, 3 * H, K], data: W },
      { name: `R${l}`, dims: [D, 3 * H, H], data: R },
      { name: `B${l}`, dims: [D, 6 * H], data: bias },
    );
    nodes.push({
      opType: 'GRU',
      name: `gru${l}`,
      inputs: [x, `W${l}`, `R${l}`, `B${l}`],
      outputs: [`Y${l}`],
      attributes: { hidden_size: H, direction: spec.direction, linear_before_reset: 1 },
    });
    let y = `Y${l}`;
    if (D === 2) {
      nodes.push({ opType: 'Transpose', name: `transpose${l}`, inputs: [y], outputs: [`Yt${l}`], attributes: { perm: [0, 2, 1, 3] } });
      y = `Yt${l}`;
    }
    const out = l === L - 1 ? 'Y' : `X${l + 1}`;
    nodes.push({ opType: 'Reshape', name: `reshape${l}`, inputs: [y, 'shape_TBDH'], outputs: [out] });
    x = out;
  }
  return {
    name: `gru_L${L}_D${D}_H${H}`,
    nodes,
    initializers,
    inputs: [{ name: 'X', dims: [T, B, I] }],
    outputs: [{ name: 'Y', dims: [T, B, D * H] }],
  };
}

export function encodeGRUModel(spec: GRUModelSpec): Uint8Array {
  return encodeModel(gruGraph(spec));
}
