/**
 * Arrays shaped as WebNN's `MLGraphBuilder.gru()` takes them
 * (https://www.w3.org/TR/webnn/#api-mlgraphbuilder-gru):
 *   weight [D, 3H, I], recurrentWeight [D, 3H, H], bias [D, 3H], recurrentBias [D, 3H],
 *   initialHiddenState [D, B, H]; gate blocks in `layout` order ('zrn', WebNN's default, or 'rzn');
 *   resetAfter (default true); direction 'forward' | 'backward' | 'both'.
 * WebNN's `activations` are MLActivation objects; here they are named ('sigmoid', 'tanh', 'relu').
 */
import { checkKeys, checkPositiveInteger } from '../args.js';
import { GRUError, describe } from '../errors.js';
import type { GRUOptions } from '../options.js';
import type { GRUWeights } from '../weights.js';
import { checkFinite, guard, type ImportedGRU } from './common.js';

/** The activations WebNN's `gru()` accepts, by name (WebNN passes MLActivation objects). */
export type WebNNActivation = 'sigmoid' | 'tanh' | 'relu';

/**
 * The operands and options of WebNN's `MLGraphBuilder.gru()` as plain arrays, the argument of
 * {@link fromWebNN}. An unknown key, a size that is not a positive integer or an array of the
 * wrong shape throws a {@link GRUError} naming it.
 */
export interface WebNNGRUInput {
  /** [D, 3H, I] */
  weight: Float32Array;
  /** [D, 3H, H] */
  recurrentWeight: Float32Array;
  /** [D, 3H], optional (zeros) */
  bias?: Float32Array;
  /** [D, 3H], optional (zeros) */
  recurrentBias?: Float32Array;
  /** [D, B, H], optional (zeros); B is its length / (D·H). */
  initialHiddenState?: Float32Array;
  /** H: units of the hidden state (WebNN's `hiddenSize` argument). */
  hiddenSize: number;
  /** I: features of one input step (WebNN reads it from the input operand's shape). */
  inputSize: number;
  /** 1 or 2; must agree with `direction` when both are given. Default from `direction`, else 1. */
  numDirections?: 1 | 2;
  /** Gate order of every weight and bias. Default 'zrn' (WebNN's MLGruWeightLayout default). */
  layout?: 'zrn' | 'rzn';
  /** Default true, as in WebNN. */
  resetAfter?: boolean;
  /** Default 'forward' ('both' when numDirections is 2). */
  direction?: 'forward' | 'backward' | 'both';
  /** [gate activation, candidate activation]; default ['sigmoid', 'tanh']. */
  activations?: [WebNNActivation, WebNNActivation];
  /** Names the result; default 'webnn'. */
  name?: string;
}

const KEYS = new Set([
  'weight',
  'recurrentWeight',
  'bias',
  'recurrentBias',
  'initialHiddenState',
  'hiddenSize',
  'inputSize',
  'numDirections',
  'layout',
  'resetAfter',
  'direction',
  'activations',
  'name',
]);

/** Turns WebNN-shaped GRU arrays into an ImportedGRU, validating every shape. */
export function fromWebNN(input: WebNNGRUInput): ImportedGRU {
  return guard('fromWebNN', () => convert(input));
}

function convert(input: unknown): ImportedGRU {
  if (typeof input !== 'object' || input === null)
    throw new GRUError(`input: expected an object of WebNN GRU arrays, got ${describe(input)}`);
  checkKeys('input', input, KEYS, 'key');
  const o = input as Record<string, unknown>;
  const H = checkPositiveInteger('input.hiddenSize', o.hiddenSize);
  const I = checkPositiveInteger('input.inputSize', o.inputSize);
  const direction = o.direction ?? (o.numDirections === 2 ? 'both' : 'forward');
  if (direction !== 'forward' && direction !== 'backward' && direction !== 'both') {
    throw new GRUError(`input.direction: expected 'forward', 'backward' or 'both', got ${describe(direction)}`);
  }
  const D = direction === 'both' ? 2 : 1;
  if (o.numDirections !== undefined && o.numDirections !== D) {
    throw new GRUError(`input.numDirections: expected ${D} (direction '${direction}'), got ${describe(o.numDirections)}`);
  }
  const layout = o.layout ?? 'zrn';
  if (layout !== 'zrn' && layout !== 'rzn') throw new GRUError(`input.layout: expected 'zrn' or 'rzn', got ${describe(layout)}`);
  const resetAfter = o.resetAfter ?? true;
  if (typeof resetAfter !== 'boolean') throw new GRUError(`input.resetAfter: expected a boolean, got ${describe(resetAfter)}`);
  const activations = o.activations ?? ['sigmoid', 'tanh'];
  if (
    !Array.isArray(activations) ||
    activations.length !== 2 ||
    !activations.every((a) => a === 'sigmoid' || a === 'tanh' || a === 'relu')
  ) {
    throw new GRUError(`input.activations: expected two of 'sigmoid', 'tanh', 'relu', got ${JSON.stringify(activations)}`);
  }
  const name = o.name ?? 'webnn';
  if (typeof name !== 'string') throw new GRUError(`input.name: expected a string, got ${describe(name)}`);

  const array = (key: string, shape: number[], required: boolean): Float32Array | undefined => {
    const v = o[key];
    if (v === undefined && !required) return undefined;
    const n = shape.reduce((a, b) => a * b, 1);
    const dims = `[${shape.join(', ')}]`;
    if (!(v instanceof Float32Array))
      throw new GRUError(`input.${key}: expected a Float32Array of shape ${dims} = ${n} values, got ${describe(v)}`);
    if (v.length !== n) throw new GRUError(`input.${key}: expected shape ${dims} = ${n} values, got ${v.length}`);
    checkFinite(`input.${key}`, v);
    return v;
  };
  const weight = array('weight', [D, 3 * H, I], true)!;
  const recurrent = array('recurrentWeight', [D, 3 * H, H], true)!;
  const bias = array('bias', [D, 3 * H], false);
  const recurrentBias = array('recurrentBias', [D, 3 * H], false);
  let initialH: Float32Array | undefined;
  if (o.initialHiddenState !== undefined) {
    const v = o.initialHiddenState;
    if (!(v instanceof Float32Array) || v.length === 0 || v.length % (D * H) !== 0) {
      throw new GRUError(
        `input.initialHiddenState: expected a Float32Array of shape [${D}, batch, ${H}] (a multiple of ${D * H} values), got ${describe(v)}`,
      );
    }
    checkFinite('input.initialHiddenState', v);
    initialH = Float32Array.from(v);
  }
  const weights: GRUWeights[] = [];
  for (let d = 0; d < D; d++) {
    const w: GRUWeights = {
      weightIh: weight.slice(d * 3 * H * I, (d + 1) * 3 * H * I),
      weightHh: recurrent.slice(d * 3 * H * H, (d + 1) * 3 * H * H),
    };
    // WebNN defaults a missing bias to zeros; so does GRU, but a lone one must pair with zeros.
    if (bias || recurrentBias) {
      w.biasIh = bias ? bias.slice(d * 3 * H, (d + 1) * 3 * H) : new Float32Array(3 * H);
      w.biasHh = recurrentBias ? recurrentBias.slice(d * 3 * H, (d + 1) * 3 * H) : new Float32Array(3 * H);
    }
    weights.push(w);
  }
  const options: GRUOptions = {
    inputSize: I,
    hiddenSize: H,
    numLayers: 1,
    direction: direction === 'both' ? 'bidirectional' : direction === 'backward' ? 'reverse' : 'forward',
    batchFirst: false,
    resetAfter,
    gateOrder: layout,
    activations: [activations[0], activations[1]],
  };
  const result: ImportedGRU = { name, options, weights };
  if (initialH) result.initialH = initialH;
  return result;
}
