/**
 * Keras GRU layers from a TensorFlow.js layers model: the model.json that `tensorflowjs_converter`
 * (or tfjs' `model.save`) writes, and the weight shards it lists.
 *
 * model.json: { format: 'layers-model', modelTopology, weightsManifest: [{ paths, weights: [{ name,
 * shape, dtype, quantization? }] }] }. modelTopology is the Keras model config itself
 * ({ class_name, config }) or wraps it as { keras_version, backend, model_config }. The weights are
 * stored back to back in the concatenation of every group's shards, in manifest order.
 *
 * A Keras GRU stores kernel (I, 3H) and recurrent_kernel (H, 3H) with gate columns z, r, h, and
 *   reset_after false: bias (3H), the reset gate applied before the recurrent matmul (Cho et al.;
 *     the only variant tfjs builds, with recurrent_activation 'hard_sigmoid' by default);
 *   reset_after true:  bias (2, 3H) = [input bias; recurrent bias], reset after (Keras ≥ 2.3's default,
 *     cuDNN-compatible).
 * Transposed to [3H, K] they are our weightIh/weightHh with gateOrder 'zrn'. Also read: go_backwards
 * (direction 'reverse'; see KerasOutputInfo for how Keras orders that layer's output), use_bias,
 * time_major (batchFirst is its negation), the activations, the `Bidirectional` wrapper (merge_mode
 * 'concat' only; its weights are the forward then the backward layer's) and `RNN(cell=GRUCell)`.
 * Nested Sequential/Functional models are searched too. Every GRU layer becomes one ImportedGRU
 * named after the layer, in model order; other layers are skipped.
 *
 * hard_sigmoid: tfjs and Keras 2 compute clip(0.2·x + 0.5, 0, 1); Keras 3 changed it to
 * relu6(x + 3) / 6 = clip(x/6 + 0.5, 0, 1). The importer uses Keras 3's definition when
 * modelTopology.keras_version is 3 or later, tfjs' otherwise (tfjs itself always uses 0.2);
 * `options.hardSigmoid` overrides that.
 */
import { checkKeys, checkPositiveInteger } from '../args.js';
import { GRUError, describe } from '../errors.js';
import { halfToFloat } from '../half.js';
import type { Activation, GRUOptions } from '../options.js';
import type { GRUWeights } from '../weights.js';
import { checkFinite, concatArrays, formatShape, guard, product, readFloat32, toBytes, type ImportedGRU } from './common.js';

/** The options of {@link fromTFJSLayersModel}. */
export interface FromTFJSOptions {
  /**
   * Which hard_sigmoid the model was trained with: 'tfjs' (also Keras 2): clip(0.2x + 0.5, 0, 1);
   * 'keras3': clip(x/6 + 0.5, 0, 1). Default: 'keras3' when modelTopology.keras_version ≥ 3, else 'tfjs'.
   */
  hardSigmoid?: 'tfjs' | 'keras3';
}

type Json = Record<string, unknown>;

interface WeightSpec {
  name: string;
  /** The name without a ':0' suffix, split at '/'. */
  segments: string[];
  shape: number[];
  dtype: string;
  quantization: { dtype: 'uint8' | 'uint16' | 'float16'; scale: number; min: number } | undefined;
  offset: number;
  byteLength: number;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses model.json given as an object, a JSON string or its bytes. */
function parseModelJson(modelJson: unknown): Json {
  let value = modelJson;
  if (typeof value === 'string' || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    let text: string;
    if (typeof value === 'string') text = value;
    else {
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(toBytes('modelJson', value));
      } catch {
        throw new GRUError('modelJson: the bytes are not valid UTF-8');
      }
    }
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new GRUError(`modelJson: not valid JSON (${(e as Error).message}); is the file truncated?`);
    }
  }
  if (!isObject(value)) throw new GRUError(`modelJson: expected the parsed model.json object, got ${describe(value)}`);
  return value;
}

function concatBuffers(weightData: unknown): Uint8Array {
  const parts = Array.isArray(weightData) ? weightData : [weightData];
  const views = parts.map((p, i) => {
    try {
      return toBytes(Array.isArray(weightData) ? `weightData[${i}]` : 'weightData', p);
    } catch (e) {
      throw new GRUError(`${(e as Error).message.replace("the file's bytes", 'a weight shard')}`);
    }
  });
  return concatArrays(views, Uint8Array);
}

const DTYPE_WIDTH: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANT_WIDTH: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

function parseManifest(json: Json, data: Uint8Array): WeightSpec[] {
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest))
    throw new GRUError(`modelJson.weightsManifest: expected an array of { paths, weights }, got ${describe(manifest)}`);
  const specs: WeightSpec[] = [];
  let offset = 0;
  manifest.forEach((group, g) => {
    if (!isObject(group) || !Array.isArray(group.weights)) {
      throw new GRUError(`modelJson.weightsManifest[${g}]: expected { paths, weights: [...] }, got ${describe(group)}`);
    }
    group.weights.forEach((w, i) => {
      const where = `modelJson.weightsManifest[${g}].weights[${i}]`;
      if (!isObject(w) || typeof w.name !== 'string') throw new GRUError(`${where}: expected { name, shape, dtype }, got ${describe(w)}`);
      const label = `weight ${JSON.stringify(w.name)}`;
      if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new GRUError(`${label}: expected shape as an array of non-negative integers, got ${JSON.stringify(w.shape)}`);
      }
      const shape = w.shape as number[];
      const dtype = typeof w.dtype === 'string' ? w.dtype : 'float32';
      let quantization: WeightSpec['quantization'];
      let width: number | undefined;
      if (w.quantization !== undefined) {
        const q = w.quantization;
        if (!isObject(q) || typeof q.dtype !== 'string' || !(q.dtype in QUANT_WIDTH)) {
          throw new GRUError(
            `${label}: expected quantization { dtype: 'uint8' | 'uint16' | 'float16', scale?, min? }, got ${JSON.stringify(q)}`,
          );
        }
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        if (
          q.dtype !== 'float16' &&
          (typeof scale !== 'number' || typeof min !== 'number' || !Number.isFinite(scale) || !Number.isFinite(min))
        ) {
          throw new GRUError(`${label}: quantization needs a finite scale and min, got ${JSON.stringify(q)}`);
        }
        quantization = { dtype: q.dtype as 'uint8', scale: scale as number, min: min as number };
        width = QUANT_WIDTH[q.dtype];
      } else if (dtype === 'string') {
        width = undefined;
      } else {
        width = DTYPE_WIDTH[dtype];
        if (width === undefined) throw new GRUError(`${label}: unknown dtype ${JSON.stringify(dtype)}`);
      }
      let byteLength: number;
      if (width !== undefined) {
        byteLength = product(shape) * width;
      } else {
        // strings: each is a uint32 length and its bytes
        let at = offset;
        for (let k = 0; k < product(shape); k++) {
          if (at + 4 > data.length) throw new GRUError(`${label}: string data runs past the end of weightData (${data.length} bytes)`);
          at += 4 + new DataView(data.buffer, data.byteOffset + at, 4).getUint32(0, true);
        }
        byteLength = at - offset;
      }
      const segments = w.name.replace(/:\d+$/, '').split('/');
      specs.push({ name: w.name, segments, shape, dtype, quantization, offset, byteLength });
      offset += byteLength;
    });
  });
  if (offset !== data.length) {
    throw new GRUError(
      `weightData: holds ${data.length} bytes, but the weightsManifest describes ${offset}` +
        (offset > data.length ? ' (a shard is missing or truncated)' : ' (extra bytes: a shard from another model?)'),
    );
  }
  return specs;
}

function readWeight(spec: WeightSpec, data: Uint8Array, layer: string): Float32Array {
  if (spec.dtype !== 'float32')
    throw new GRUError(`layer ${JSON.stringify(layer)}: weight ${JSON.stringify(spec.name)}: expected dtype float32, got ${spec.dtype}`);
  const n = product(spec.shape);
  let out: Float32Array;
  const q = spec.quantization;
  if (!q) out = readFloat32(data, spec.offset, n);
  else {
    const view = new DataView(data.buffer, data.byteOffset + spec.offset, spec.byteLength);
    out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (q.dtype === 'float16') out[i] = halfToFloat(view.getUint16(i * 2, true));
      else out[i] = (q.dtype === 'uint8' ? view.getUint8(i) : view.getUint16(i * 2, true)) * q.scale + q.min;
    }
  }
  checkFinite(`weight ${JSON.stringify(spec.name)}`, out);
  return out;
}

/** A GRU found in the topology. */
interface Found {
  className: 'GRU' | 'Bidirectional' | 'RNN';
  name: string;
  /** Layer configs: [forward] or [forward, backward]; each merged with its RNN wrapper's flags. */
  layers: Json[];
  wrapper: Json;
}

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

function layerName(layer: Json): string {
  const config = isObject(layer.config) ? layer.config : {};
  const name = config.name ?? layer.name;
  return typeof name === 'string' ? name : '';
}

/** RNN(cell=GRUCell): the cell's config plus the RNN's own flags. */
function asGRUConfig(layer: Json): Json | undefined {
  if (layer.class_name === 'GRU' && isObject(layer.config)) return layer.config;
  if (layer.class_name === 'RNN' && isObject(layer.config) && isObject(layer.config.cell) && layer.config.cell.class_name === 'GRUCell') {
    return { ...(isObject(layer.config.cell.config) ? layer.config.cell.config : {}), ...layer.config, cell: undefined };
  }
  return undefined;
}

function findGRUs(model: Json, out: Found[], depth = 0): void {
  if (depth > 32) throw new GRUError('modelTopology: models nested more than 32 deep');
  const config = model.config;
  const layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(layers)) {
    throw new GRUError(`modelTopology: model ${JSON.stringify(layerName(model))} (${String(model.class_name)}) has no layers list`);
  }
  for (const layer of layers) {
    if (!isObject(layer)) throw new GRUError(`modelTopology: expected a layer { class_name, config }, got ${describe(layer)}`);
    const cls = layer.class_name;
    if (typeof cls === 'string' && MODEL_CLASSES.has(cls)) {
      findGRUs(layer, out, depth + 1);
      continue;
    }
    const gru = asGRUConfig(layer);
    if (gru) {
      out.push({ className: cls as 'GRU' | 'RNN', name: layerName(layer), layers: [gru], wrapper: gru });
      continue;
    }
    if (cls === 'Bidirectional' && isObject(layer.config) && isObject(layer.config.layer)) {
      const forward = asGRUConfig(layer.config.layer);
      if (!forward) continue;
      const backwardLayer = layer.config.backward_layer;
      const backward = isObject(backwardLayer) ? asGRUConfig(backwardLayer) : { ...forward, go_backwards: !forward.go_backwards };
      if (!backward) {
        throw new GRUError(
          `layer ${JSON.stringify(layerName(layer))}: Bidirectional with a GRU forward layer needs a GRU backward layer, got ${String((backwardLayer as Json).class_name)}`,
        );
      }
      out.push({ className: 'Bidirectional', name: layerName(layer), layers: [forward, backward], wrapper: layer.config });
    }
  }
}

const flag = (config: Json, snake: string, camel: string, fallback: boolean): boolean => {
  const v = config[snake] ?? config[camel];
  return v === undefined || v === null ? fallback : Boolean(v);
};

function activationName(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (isObject(value)) {
    if (typeof value.config === 'string') return value.config;
    if (typeof value.class_name === 'string') return value.class_name;
  }
  return String(value);
}

function toActivation(value: unknown, hardSigmoid: 'tfjs' | 'keras3', where: string): Activation {
  const name = activationName(value);
  switch (name) {
    case 'sigmoid':
    case 'tanh':
    case 'relu':
      return name;
    case 'softsign':
    case 'softplus':
      return { name };
    case null:
    case 'linear':
      return { name: 'affine', alpha: 1, beta: 0 };
    case 'hard_sigmoid':
    case 'hardSigmoid':
      return { name: 'hardSigmoid', alpha: hardSigmoid === 'keras3' ? 1 / 6 : 0.2, beta: 0.5 };
    case 'elu':
      return { name: 'elu', alpha: 1 };
    case 'leaky_relu':
      return { name: 'leakyRelu', alpha: 0.2 }; // Keras 3's leaky_relu activation: negative_slope 0.2
  }
  throw new GRUError(
    `${where}: activation ${JSON.stringify(name)} is not supported; expected sigmoid, tanh, relu, hard_sigmoid, linear, elu, softsign, softplus or leaky_relu`,
  );
}

/**
 * Reads every GRU layer of a TensorFlow.js layers model. `weightData` is the concatenation of the
 * manifest's shards, or the shards in manifest order.
 */
export function fromTFJSLayersModel(
  modelJson: unknown,
  weightData: ArrayBuffer | ArrayBufferView | (ArrayBuffer | ArrayBufferView)[],
  options: FromTFJSOptions = {},
): ImportedGRU[] {
  if (typeof options !== 'object' || options === null) throw new GRUError(`options: expected { hardSigmoid? }, got ${describe(options)}`);
  checkKeys('options', options, ['hardSigmoid']);
  if (options.hardSigmoid !== undefined && options.hardSigmoid !== 'tfjs' && options.hardSigmoid !== 'keras3') {
    throw new GRUError(`options.hardSigmoid: expected 'tfjs' or 'keras3', got ${describe(options.hardSigmoid)}`);
  }
  return guard('TensorFlow.js layers model', () => {
    const json = parseModelJson(modelJson);
    if (json.format !== undefined && json.format !== 'layers-model') {
      throw new GRUError(
        `modelJson.format: expected 'layers-model', got ${describe(json.format)}` +
          (json.format === 'graph-model' ? ' (a graph model has no Keras layers; convert with --output_format=tfjs_layers_model)' : ''),
      );
    }
    const topology = json.modelTopology;
    if (!isObject(topology)) throw new GRUError(`modelJson.modelTopology: expected an object, got ${describe(topology)}`);
    const model = isObject(topology.model_config) ? topology.model_config : topology;
    if (typeof model.class_name !== 'string') {
      throw new GRUError('modelJson.modelTopology: expected { class_name, config } or { model_config: { class_name, config } }');
    }
    const version = typeof topology.keras_version === 'string' ? topology.keras_version : '';
    const kerasMajor = /^(\d+)\./.exec(version)?.[1];
    const hardSigmoid = options.hardSigmoid ?? (kerasMajor && Number(kerasMajor) >= 3 ? 'keras3' : 'tfjs');
    const fromTfjs = !kerasMajor; // written by tfjs itself: its defaults differ from Keras'
    const data = concatBuffers(weightData);
    const specs = parseManifest(json, data);
    const found: Found[] = [];
    if (MODEL_CLASSES.has(model.class_name)) findGRUs(model, found);
    else if (asGRUConfig(model))
      found.push({ className: 'GRU', name: layerName(model), layers: [asGRUConfig(model)!], wrapper: asGRUConfig(model)! });
    return found.map((f) => importLayer(f, specs, data, hardSigmoid, fromTfjs));
  });
}

/** The kernel, recurrent_kernel and bias specs of one (sub)layer, matched by name. */
function weightsOf(specs: WeightSpec[], where: string): Record<'kernel' | 'recurrent_kernel' | 'bias', WeightSpec | undefined> {
  const out: Record<string, WeightSpec | undefined> = {};
  for (const s of specs) {
    const role = s.segments[s.segments.length - 1]!;
    if (role !== 'kernel' && role !== 'recurrent_kernel' && role !== 'bias') continue;
    if (out[role])
      throw new GRUError(`${where}: two weights could be its ${role}: ${JSON.stringify(out[role]!.name)} and ${JSON.stringify(s.name)}`);
    out[role] = s;
  }
  return out as Record<'kernel' | 'recurrent_kernel' | 'bias', WeightSpec | undefined>;
}

function importLayer(found: Found, specs: WeightSpec[], data: Uint8Array, hardSigmoid: 'tfjs' | 'keras3', fromTfjs: boolean): ImportedGRU {
  const where = `layer ${JSON.stringify(found.name)}`;
  const wrapper = found.wrapper;
  if (found.className === 'Bidirectional') {
    const mode = wrapper.merge_mode ?? wrapper.mergeMode ?? 'concat';
    if (mode !== 'concat') {
      throw new GRUError(
        `${where}: Bidirectional merge_mode ${JSON.stringify(mode)} is not supported; webgpu-gru concatenates the directions (merge_mode 'concat')`,
      );
    }
    if (flag(found.layers[0]!, 'go_backwards', 'goBackwards', false) || !flag(found.layers[1]!, 'go_backwards', 'goBackwards', true)) {
      throw new GRUError(`${where}: a Bidirectional whose forward layer runs backwards (or backward layer forwards) is not supported`);
    }
  }
  // The specs under this layer: those whose first name segment is the layer, else any segment.
  const first = specs.filter((s) => s.segments[0] === found.name);
  const mine = first.length > 0 ? first : specs.filter((s) => s.segments.includes(found.name));
  const groups: WeightSpec[][] = [];
  if (found.className === 'Bidirectional') {
    const side = (prefix: string) => mine.filter((s) => s.segments.some((seg) => seg.startsWith(prefix)));
    let forward = side('forward');
    let backward = side('backward');
    if (forward.length === 0 || backward.length === 0 || forward.length + backward.length !== mine.length) {
      // names without forward_/backward_: Keras stores the forward layer's weights first
      forward = mine.slice(0, mine.length / 2);
      backward = mine.slice(mine.length / 2);
    }
    groups.push(forward, backward);
  } else {
    groups.push(mine);
  }
  const H = checkPositiveInteger(`${where}: config.units`, found.layers[0]!.units);
  const describeConfig = (c: Json) =>
    JSON.stringify([c.units, activationName(c.activation), activationName(c.recurrent_activation), c.use_bias, c.reset_after]);
  if (found.layers.length === 2 && describeConfig(found.layers[0]!) !== describeConfig(found.layers[1]!)) {
    throw new GRUError(
      `${where}: the forward and backward layers differ in units, activations, use_bias or reset_after; webgpu-gru runs both with one configuration`,
    );
  }
  const config = found.layers[0]!;
  const useBias = flag(config, 'use_bias', 'useBias', true);
  const activation = toActivation(config.activation ?? 'tanh', hardSigmoid, `${where}: config.activation`);
  const recurrent = toActivation(
    config.recurrent_activation ?? config.recurrentActivation ?? (fromTfjs ? 'hard_sigmoid' : 'sigmoid'),
    hardSigmoid,
    `${where}: config.recurrent_activation`,
  );
  let inputSize = 0;
  let resetAfter: boolean | undefined;
  const weights: GRUWeights[] = groups.map((group, d) => {
    const sub = found.layers.length === 2 ? `${where} (${d === 0 ? 'forward' : 'backward'} layer)` : where;
    const w = weightsOf(group, sub);
    const names = mine.map((s) => JSON.stringify(s.name)).join(', ') || 'none';
    if (!w.kernel || !w.recurrent_kernel) {
      throw new GRUError(
        `${sub}: no ${w.kernel ? 'recurrent_kernel' : 'kernel'} in weightsManifest (weights named after the layer: ${names})`,
      );
    }
    const k = w.kernel;
    if (k.shape.length !== 2 || k.shape[1] !== 3 * H || k.shape[0]! < 1) {
      throw new GRUError(
        `${sub}: weight ${JSON.stringify(k.name)}: expected shape [input_size, ${3 * H}] (I, 3·units), got ${formatShape(k.shape)}`,
      );
    }
    const K = k.shape[0]!;
    if (d === 0) inputSize = K;
    else if (K !== inputSize)
      throw new GRUError(`${sub}: weight ${JSON.stringify(k.name)}: expected shape [${inputSize}, ${3 * H}], got ${formatShape(k.shape)}`);
    const rk = w.recurrent_kernel;
    if (rk.shape.length !== 2 || rk.shape[0] !== H || rk.shape[1] !== 3 * H) {
      throw new GRUError(
        `${sub}: weight ${JSON.stringify(rk.name)}: expected shape [${H}, ${3 * H}] (units, 3·units), got ${formatShape(rk.shape)}`,
      );
    }
    const entry: GRUWeights = {
      weightIh: transpose(readWeight(k, data, found.name), K, 3 * H),
      weightHh: transpose(readWeight(rk, data, found.name), H, 3 * H),
    };
    if (useBias) {
      if (!w.bias)
        throw new GRUError(`${sub}: use_bias is true but weightsManifest has no bias for it (weights named after the layer: ${names})`);
      // reset_after from the config; when absent, from the bias' rank
      const declared = config.reset_after ?? config.resetAfter;
      const after = declared === undefined || declared === null ? w.bias.shape.length === 2 : Boolean(declared);
      const expected = after ? [2, 3 * H] : [3 * H];
      if (w.bias.shape.length !== expected.length || w.bias.shape.some((x, i) => x !== expected[i])) {
        throw new GRUError(
          `${sub}: weight ${JSON.stringify(w.bias.name)}: expected shape ${formatShape(expected)} (reset_after ${after}), got ${formatShape(w.bias.shape)}`,
        );
      }
      const b = readWeight(w.bias, data, found.name);
      entry.biasIh = b.slice(0, 3 * H);
      if (after) entry.biasHh = b.slice(3 * H);
      resetAfter = after;
    } else if (w.bias) {
      throw new GRUError(`${sub}: use_bias is false but weightsManifest has ${JSON.stringify(w.bias.name)}`);
    }
    return entry;
  });
  if (resetAfter === undefined) {
    const declared = config.reset_after ?? config.resetAfter;
    resetAfter = declared === undefined || declared === null ? !fromTfjs : Boolean(declared);
  }
  const goBackwards = found.className !== 'Bidirectional' && flag(config, 'go_backwards', 'goBackwards', false);
  const options: GRUOptions = {
    inputSize,
    hiddenSize: H,
    numLayers: 1,
    direction: found.className === 'Bidirectional' ? 'bidirectional' : goBackwards ? 'reverse' : 'forward',
    batchFirst: !flag(config, 'time_major', 'timeMajor', false),
    resetAfter,
    gateOrder: 'zrn',
    activations: [recurrent, activation],
  };
  return {
    name: found.name,
    options,
    weights,
    keras: {
      className: found.className,
      returnSequences: flag(config, 'return_sequences', 'returnSequences', false),
      returnState: flag(config, 'return_state', 'returnState', false),
      goBackwards,
      stateful: flag(config, 'stateful', 'stateful', false),
    },
  };
}

/** [rows, cols] row-major → [cols, rows] row-major. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}
