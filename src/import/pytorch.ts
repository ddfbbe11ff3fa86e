/**
 * PyTorch `nn.GRU` (and `nn.GRUCell`) weights from a state_dict: a record or Map of named tensors,
 * or a .safetensors file of it.
 *
 * nn.GRU names its parameters `weight_ih_l{k}` [3H, K], `weight_hh_l{k}` [3H, H], `bias_ih_l{k}`
 * [3H], `bias_hh_l{k}` [3H] and, when bidirectional, the same with `_reverse`; K is the input size
 * for layer 0 and D·H after it. Inside a bigger model every key carries the module's path as a
 * prefix (`rnn.weight_ih_l0`). The gate blocks are r, z, n and the reset gate multiplies
 * (W_hn h + b_hn), so the result has gateOrder 'rzn' and resetAfter true. nn.GRUCell names them
 * `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` (one forward layer).
 *
 * Everything else in the dict is ignored. The number of layers, the direction and the sizes are
 * inferred and every tensor's shape is checked against them; `batch_first` is not stored in a
 * state_dict, so it is an option here.
 */
import { checkKeys } from '../args.js';
import { GRUError, describe } from '../errors.js';
import type { GRUOptions } from '../options.js';
import type { GRUWeights } from '../weights.js';
import {
  checkFinite,
  dictEntries,
  formatShape,
  guard,
  normaliseTensor,
  product,
  type ImportedGRU,
  type NormalisedTensor,
  type TensorDict,
} from './common.js';
import { openSafetensors, SAFETENSORS_FLOAT_DTYPES } from './safetensors.js';

/** The options of {@link fromPyTorch} and {@link fromSafetensors}; an unknown key throws a {@link GRUError}. */
export interface FromPyTorchOptions {
  /**
   * The key prefix of the GRU module, e.g. 'rnn.' for `model.rnn` ('rnn' works too). Default: found
   * automatically when the dict holds exactly one GRU.
   */
  prefix?: string;
  /** The module's `batch_first` (a state_dict does not record it). Default false. */
  batchFirst?: boolean;
}

/** Named tensors with lazily known shapes (a safetensors file decodes only what is read). */
interface Source {
  names: readonly string[];
  has(name: string): boolean;
  /** The shape when the source records one. */
  shape(name: string): number[] | undefined;
  read(name: string): NormalisedTensor;
}

const PARAM = /^(.*?)(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?$/;
const CELL_PARAM = /^(.*?)weight_ih$/;

/**
 * Reads the GRU in a PyTorch state_dict. `tensors` maps names to Float32Arrays or to
 * `{ shape, data }` (such as `parseSafetensors` returns; a dtype, when given, must be a float type).
 */
export function fromPyTorch(tensors: TensorDict, options: FromPyTorchOptions = {}): ImportedGRU {
  const entries = dictEntries('tensors', tensors);
  const map = new Map(entries);
  const cache = new Map<string, NormalisedTensor>();
  const read = (name: string) => {
    let t = cache.get(name);
    if (!t) {
      t = normaliseTensor(`tensor ${JSON.stringify(name)}`, map.get(name));
      cache.set(name, t);
    }
    return t;
  };
  const source: Source = {
    names: entries.map(([k]) => k),
    has: (name) => map.has(name),
    shape: (name) => read(name).shape,
    read,
  };
  return guard('fromPyTorch', () => importGRU(source, options));
}

/** Reads the GRU in a .safetensors file of a PyTorch state_dict (see `fromPyTorch`). */
export function fromSafetensors(bytes: Uint8Array, options: FromPyTorchOptions = {}): ImportedGRU {
  const file = openSafetensors(bytes);
  const source: Source = {
    names: file.names,
    has: (name) => file.info(name) !== undefined,
    shape: (name) => file.info(name)?.shape,
    read: (name) => {
      const info = file.info(name)!;
      if (!SAFETENSORS_FLOAT_DTYPES.includes(info.dtype)) {
        throw new GRUError(
          `tensor ${JSON.stringify(name)}: expected a floating-point dtype (${SAFETENSORS_FLOAT_DTYPES.join(', ')}), got ${info.dtype}`,
        );
      }
      const t = file.read(name);
      return { shape: t.shape, data: t.data, dtype: t.dtype };
    },
  };
  return guard('fromSafetensors', () => importGRU(source, options));
}

function checkOptions(options: unknown): { prefix: string | undefined; batchFirst: boolean } {
  if (typeof options !== 'object' || options === null) {
    throw new GRUError(`options: expected { prefix?, batchFirst? }, got ${describe(options)}`);
  }
  checkKeys('options', options, ['prefix', 'batchFirst']);
  const o = options as { prefix?: unknown; batchFirst?: unknown };
  if (o.prefix !== undefined && typeof o.prefix !== 'string')
    throw new GRUError(`options.prefix: expected a string, got ${describe(o.prefix)}`);
  if (o.batchFirst !== undefined && typeof o.batchFirst !== 'boolean') {
    throw new GRUError(`options.batchFirst: expected a boolean, got ${describe(o.batchFirst)}`);
  }
  return { prefix: o.prefix as string | undefined, batchFirst: (o.batchFirst as boolean | undefined) ?? false };
}

interface Candidate {
  prefix: string;
  /** nn.GRUCell naming (no `_l{k}`). */
  cell: boolean;
}

/** Gate blocks of a recurrent weight [G·H, H]: 3 for a GRU, 4 for an LSTM, 1 for an RNN. */
function gateCount(source: Source, name: string): number | undefined {
  const shape = source.shape(name);
  if (shape) return shape.length === 2 && shape[1]! > 0 && shape[0]! % shape[1]! === 0 ? shape[0]! / shape[1]! : undefined;
  const n = source.read(name).data.length;
  for (const g of [3, 4, 1]) {
    const h = Math.round(Math.sqrt(n / g));
    if (h > 0 && g * h * h === n) return g;
  }
  return undefined;
}

function candidates(source: Source): Candidate[] {
  const found: Candidate[] = [];
  for (const name of source.names) {
    const m = PARAM.exec(name);
    if (m && m[2] === 'weight' && m[3] === 'ih' && m[4] === '0' && !m[5] && source.has(`${m[1]}weight_hh_l0`)) {
      found.push({ prefix: m[1]!, cell: false });
    }
    const c = CELL_PARAM.exec(name);
    if (c && source.has(`${c[1]}weight_hh`)) found.push({ prefix: c[1]!, cell: true });
  }
  return found;
}

function describeKeys(source: Source): string {
  const shown = source.names
    .slice(0, 8)
    .map((n) => JSON.stringify(n))
    .join(', ');
  return source.names.length === 0 ? 'the dict is empty' : `keys: ${shown}${source.names.length > 8 ? `, … (${source.names.length})` : ''}`;
}

function choose(source: Source, prefix: string | undefined): Candidate {
  const all = candidates(source);
  if (prefix !== undefined) {
    for (const p of prefix === '' || prefix.endsWith('.') ? [prefix] : [prefix, `${prefix}.`]) {
      const hit = all.find((c) => c.prefix === p);
      if (hit) return hit;
    }
    const found = all.map((c) => JSON.stringify(c.prefix)).join(', ') || 'none';
    throw new GRUError(
      `options.prefix: no tensor named ${JSON.stringify(`${prefix}weight_ih_l0`)} (or ${JSON.stringify(`${prefix}weight_ih`)}); recurrent-layer prefixes in the dict: ${found}`,
    );
  }
  const hh = (c: Candidate) => `${c.prefix}weight_hh${c.cell ? '' : '_l0'}`;
  const grus = all.filter((c) => gateCount(source, hh(c)) === 3);
  if (grus.length === 1) return grus[0]!;
  if (grus.length > 1) {
    throw new GRUError(
      `tensors: ${grus.length} GRUs found (prefixes ${grus.map((c) => JSON.stringify(c.prefix)).join(', ')}); pass options.prefix to choose one`,
    );
  }
  if (all.length > 0) {
    const c = all[0]!;
    const shape = source.shape(hh(c));
    throw new GRUError(
      `tensors: no GRU found; ${JSON.stringify(hh(c))} has ${shape ? `shape ${formatShape(shape)}` : `${source.read(hh(c)).data.length} values`}, ` +
        `which is not [3H, H] (an LSTM has 4 gate blocks, an RNN 1)`,
    );
  }
  throw new GRUError(`tensors: no GRU found: no key ends in "weight_ih_l0" or "weight_ih" (${describeKeys(source)})`);
}

function importGRU(source: Source, rawOptions: FromPyTorchOptions): ImportedGRU {
  const { prefix: wanted, batchFirst } = checkOptions(rawOptions);
  const { prefix, cell } = choose(source, wanted);
  const key = (kind: string, layer: number, reverse: boolean) =>
    cell ? `${prefix}${kind}` : `${prefix}${kind}_l${layer}${reverse ? '_reverse' : ''}`;

  // H from weight_hh_l0, which must be [3H, H].
  const hh0 = key('weight_hh', 0, false);
  const hhShape = source.shape(hh0);
  let H: number;
  if (hhShape) {
    if (hhShape.length !== 2 || hhShape[1]! < 1 || hhShape[0] !== 3 * hhShape[1]!) {
      throw new GRUError(`${hh0}: expected shape [3H, H], got ${formatShape(hhShape)}`);
    }
    H = hhShape[1]!;
  } else {
    const n = source.read(hh0).data.length;
    H = Math.round(Math.sqrt(n / 3));
    if (H < 1 || 3 * H * H !== n) throw new GRUError(`${hh0}: expected [3H, H] = 3·H² values, got ${n}`);
  }

  // Layers and directions present, and nothing stray under the prefix.
  let L = 1;
  if (!cell) {
    while (source.has(key('weight_ih', L, false))) L++;
  }
  const D = !cell && source.has(key('weight_ih', 0, true)) ? 2 : 1;
  if (!cell) {
    for (const name of source.names) {
      const m = PARAM.exec(name);
      if (!m || m[1] !== prefix) continue;
      if (m[3] === 'hr') throw new GRUError(`${name}: a projection weight (proj_size) belongs to an LSTM, not a GRU`);
      const layer = Number(m[4]);
      if (layer >= L) {
        throw new GRUError(
          `${name} is present but ${key('weight_ih', L, false)} is missing: layers must be numbered 0 to L−1 without gaps`,
        );
      }
      if (m[5] && D === 1) throw new GRUError(`${name} is present but ${key('weight_ih', 0, true)} is missing`);
    }
  }
  const hasBias = source.has(key('bias_ih', 0, false)) || source.has(key('bias_hh', 0, false));
  const biasWitness = source.has(key('bias_ih', 0, false)) ? key('bias_ih', 0, false) : key('bias_hh', 0, false);

  const weights: GRUWeights[] = [];
  let inputSize = 0;
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < D; d++) {
      const reverse = d === 1;
      const ihName = key('weight_ih', l, reverse);
      for (const kind of ['weight_ih', 'weight_hh']) {
        const name = key(kind, l, reverse);
        if (!source.has(name)) {
          throw new GRUError(`${name} is missing (the GRU has ${L} layer${L > 1 ? 's' : ''}${D === 2 ? ', bidirectional' : ''})`);
        }
      }
      if (hasBias) {
        for (const kind of ['bias_ih', 'bias_hh']) {
          const name = key(kind, l, reverse);
          if (!source.has(name))
            throw new GRUError(`${name} is missing (${biasWitness} is present: either every layer has both biases or none)`);
        }
      } else {
        for (const kind of ['bias_ih', 'bias_hh']) {
          const name = key(kind, l, reverse);
          if (source.has(name))
            throw new GRUError(`${name} is present but ${key(kind, 0, false)} is missing: either every layer has biases or none`);
        }
      }
      let K: number;
      if (l === 0) {
        const s = source.shape(ihName);
        if (s) {
          if (s.length !== 2 || s[0] !== 3 * H || s[1]! < 1) {
            throw new GRUError(`${ihName}: expected shape [3H, I] = [${3 * H}, I] (H = ${H}), got ${formatShape(s)}`);
          }
          K = s[1]!;
        } else {
          const n = source.read(ihName).data.length;
          K = n / (3 * H);
          if (!Number.isInteger(K) || K < 1) throw new GRUError(`${ihName}: expected [3H, I] = ${3 * H}·I values (H = ${H}), got ${n}`);
        }
        if (d === 0) inputSize = K;
        else if (K !== inputSize) {
          throw new GRUError(
            `${ihName}: expected shape [${3 * H}, ${inputSize}] (3H, I as in ${key('weight_ih', 0, false)}), got [${3 * H}, ${K}]`,
          );
        }
      } else {
        K = D * H;
      }
      const note = l === 0 ? `3H, I with H = ${H}` : `3H, D·H with H = ${H}, D = ${D}`;
      const w: GRUWeights = {
        weightIh: take(source, ihName, [3 * H, K], note),
        weightHh: take(source, key('weight_hh', l, reverse), [3 * H, H], `3H, H with H = ${H}`),
      };
      if (hasBias) {
        w.biasIh = take(source, key('bias_ih', l, reverse), [3 * H], `3H with H = ${H}`);
        w.biasHh = take(source, key('bias_hh', l, reverse), [3 * H], `3H with H = ${H}`);
      }
      weights.push(w);
    }
  }
  const options: GRUOptions = {
    inputSize,
    hiddenSize: H,
    numLayers: L,
    direction: D === 2 ? 'bidirectional' : 'forward',
    batchFirst,
    resetAfter: true,
    gateOrder: 'rzn',
    activations: ['sigmoid', 'tanh'],
  };
  return { name: prefix.endsWith('.') ? prefix.slice(0, -1) : prefix, options, weights };
}

/** Reads one tensor, checks its shape (or its length when no shape is known) and copies it. */
function take(source: Source, name: string, expected: number[], note: string): Float32Array {
  const t = source.read(name);
  if (t.shape) {
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
      throw new GRUError(`${name}: expected shape ${formatShape(expected)} (${note}), got ${formatShape(t.shape)}`);
    }
  } else if (t.data.length !== product(expected)) {
    throw new GRUError(`${name}: expected ${formatShape(expected)} = ${product(expected)} values (${note}), got ${t.data.length}`);
  }
  const data = Float32Array.from(t.data);
  checkFinite(name, data);
  return data;
}
