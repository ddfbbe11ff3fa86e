/**
 * What the fuzzer (./fuzz.ts) draws: GRU configurations, weights and per-call arguments, all from
 * the repository's seeded generator (test/suite/random.ts), and the ways to break a call in exactly
 * one named place. Plain TypeScript, no test framework and no Node modules: it runs in Node and in
 * the browser page alike.
 *
 * Sizes are small and odd on purpose (1 to 70: packs of 4 and panels of 8 that straddle the end of
 * H, K ≠ H, H = 1); every option is drawn, and defaults are sometimes left out so that the code
 * paths that fill them in run too.
 */
import {
  GRU,
  type Activation,
  type Direction,
  type GRUOptions,
  type GRUWeights,
  type RunArgs,
  type Schedule,
  type WeightFormat,
} from '../../src/index.js';
import { roundToHalf } from '../../src/half.js';
import { resolveOptions, type ResolvedActivation } from '../../src/options.js';
import { uniform } from '../suite/util.js';

/** A seeded stream of choices. */
export class Draw {
  constructor(readonly random: () => number) {}

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  /** Uniform in (−scale, scale). */
  floats(length: number, scale = 1): Float32Array {
    return uniform(this.random, length, scale);
  }

  /**
   * The first of `choices`, in a random order, that applies: each returns undefined without
   * changing anything when it does not apply to the call at hand.
   */
  first<T>(choices: readonly (() => T | undefined)[]): T {
    const order = choices.map((c) => ({ c, key: this.random() })).sort((a, b) => a.key - b.key);
    for (const { c } of order) {
      const result = c();
      if (result !== undefined) return result;
    }
    throw new Error('Draw.first: no choice applies');
  }
}

/** Iteration i of a run of `seed` draws from this seed alone, so that `--from=i` replays it. */
export function iterationSeed(seed: number, iteration: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(iteration + 1, 0x85ebca6b)) >>> 0;
}

/**
 * The options that shape the kernels (every one is a pipeline override constant or picks the
 * kernels): a run with `pool` draws them from a few of these, so that the CPU adapters compile
 * each pipeline once and spend the run on calls.
 */
export interface Shape {
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  direction: Direction;
  resetAfter: boolean;
  activations?: [Activation, Activation];
  clip?: number;
  weightFormat?: WeightFormat;
  schedule?: Schedule | 'auto';
}

export function drawSize(d: Draw): number {
  return d.chance(0.5) ? d.int(1, 8) : d.int(9, 70);
}

const NAMED_ACTIVATIONS: readonly Activation[] = [
  'sigmoid',
  'tanh',
  'relu',
  'hardSigmoid',
  'leakyRelu',
  'elu',
  'softsign',
  'softplus',
  'scaledTanh',
  'affine',
  'thresholdedRelu',
  'Sigmoid',
  'Tanh',
  'Relu',
  'HardSigmoid',
  'LeakyRelu',
  'Elu',
  'Softsign',
  'Softplus',
  'ScaledTanh',
  'Affine',
  'ThresholdedRelu',
];

/** α and β where they matter, kept where the activation stays within a few units on inputs of that size. */
const PARAMETRIC = ['hardSigmoid', 'leakyRelu', 'elu', 'scaledTanh', 'affine', 'thresholdedRelu'] as const;

function drawActivation(d: Draw): Activation {
  if (d.chance(0.6)) return d.pick(NAMED_ACTIVATIONS);
  const name = d.pick(PARAMETRIC);
  const spec: Exclude<Activation, string> = { name };
  if (d.chance(0.7)) spec.alpha = d.int(-8, 12) / 8;
  if (d.chance(0.5)) spec.beta = d.int(-8, 8) / 8;
  return spec;
}

const DIRECTIONS = ['forward', 'reverse', 'bidirectional'] as const;
const FORMATS = ['f32', 'f16', 'int8'] as const;

/**
 * A shape. Shape number `stratum` of a pool takes its direction, reset variant, weight format and
 * schedule in turn (so that a pool of 8 has every value of each), the rest at random.
 */
export function drawShape(d: Draw, stratum?: number): Shape {
  const direction = stratum === undefined ? d.pick(DIRECTIONS) : DIRECTIONS[stratum % 3]!;
  const shape: Shape = {
    inputSize: drawSize(d),
    hiddenSize: drawSize(d),
    numLayers: d.int(1, 3),
    direction,
    resetAfter: stratum === undefined ? d.chance(0.5) : stratum % 2 === 0,
  };
  if (d.chance(0.4)) shape.activations = [drawActivation(d), drawActivation(d)];
  if (d.chance(0.2)) shape.clip = d.int(1, 40) / 8;
  if (stratum !== undefined) shape.weightFormat = FORMATS[(stratum >> 1) % 3];
  else if (d.chance(0.5)) shape.weightFormat = d.pick(FORMATS);
  // A forced wavefront needs one direction; that it refuses two is an invalid draw of its own.
  const schedules = (['auto', ...GRU.schedules] as const).filter((s) => s !== 'wavefront' || direction !== 'bidirectional');
  if (stratum !== undefined) shape.schedule = schedules[stratum % schedules.length];
  else if (d.chance(0.6)) shape.schedule = d.pick(schedules);
  return shape;
}

/** GRUOptions for `shape`, with the options that do not shape kernels drawn, and defaults sometimes left out. */
export function drawOptions(d: Draw, shape: Shape): GRUOptions {
  const o: GRUOptions = { inputSize: shape.inputSize, hiddenSize: shape.hiddenSize };
  if (shape.numLayers !== 1 || d.chance(0.3)) o.numLayers = shape.numLayers;
  if (shape.direction !== 'forward' || d.chance(0.3)) o.direction = shape.direction;
  if (d.chance(0.5)) o.batchFirst = d.chance(0.5);
  if (!shape.resetAfter || d.chance(0.3)) o.resetAfter = shape.resetAfter;
  if (d.chance(0.6)) o.gateOrder = d.pick(['rzn', 'zrn'] as const);
  if (shape.activations) o.activations = shape.activations;
  if (shape.clip !== undefined) o.clip = shape.clip;
  if (shape.weightFormat) o.weightFormat = shape.weightFormat;
  if (shape.schedule) o.schedule = shape.schedule;
  return o;
}

/** I, H, L, D of options that `drawOptions` made (or that are valid). */
export function dims(o: GRUOptions): { I: number; H: number; L: number; D: number } {
  return { I: o.inputSize, H: o.hiddenSize, L: o.numLayers ?? 1, D: o.direction === 'bidirectional' ? 2 : 1 };
}

/** Whether an activation's values stay within [0, 1]: a gate that keeps z there makes h' a convex combination of n and h. */
function unit(a: ResolvedActivation): boolean {
  return a.name === 'sigmoid' || a.name === 'hardSigmoid';
}

/** Whether an activation's values stay within [−1, 1]. */
function bounded(a: ResolvedActivation): boolean {
  return unit(a) || ['tanh', 'softsign'].includes(a.name) || (a.name === 'scaledTanh' && Math.abs(a.alpha) <= 1);
}

/**
 * How far a draw may go and still be compared at F32_TOLERANCE, as test/suite/activations.ts
 * does. A gate activation outside [0, 1] lets z leave it, so that h' = (1 − z)·n + z·h cancels and
 * grows — small weights and 7 steps at most (there, a float32 ulp of the weights and inputs moved
 * the float64 result of 12 steps by 1.7 times the tolerance); an unbounded candidate activation lets
 * h grow with U's norm — weights up to PyTorch's scale and 12 steps. Otherwise anything.
 */
export function conditioning(o: GRUOptions): { factors: readonly number[]; maxSteps: number } {
  const [f, g] = resolveOptions(o).activations;
  if (!unit(f)) return { factors: bounded(f) ? [0.25, 0.5] : [0.25], maxSteps: 7 };
  if (!bounded(g)) return { factors: [0.5, 1], maxSteps: 12 };
  return { factors: [0.5, 1, 1, 2], maxSteps: 80 };
}

/** Weights of a scale around PyTorch's 1/√H (see `conditioning`); biases both, neither, or one of them. */
export function drawWeights(d: Draw, o: GRUOptions, bias = d.pick(['both', 'both', 'both', 'none', 'ih', 'hh'] as const)): GRUWeights[] {
  const { I, H, L, D } = dims(o);
  const scale = d.pick(conditioning(o).factors) / Math.sqrt(H);
  const weights: GRUWeights[] = [];
  for (let l = 0; l < L; l++) {
    const K = l === 0 ? I : D * H;
    for (let dir = 0; dir < D; dir++) {
      const w: GRUWeights = { weightIh: d.floats(3 * H * K, scale), weightHh: d.floats(3 * H * H, scale) };
      if (bias === 'both' || bias === 'ih') w.biasIh = d.floats(3 * H, scale);
      if (bias === 'both' || bias === 'hh') w.biasHh = d.floats(3 * H, scale);
      weights.push(w);
    }
  }
  return weights;
}

/**
 * The weights the kernels compute with: weightFormat 'f16' and 'int8' round the recurrent weights
 * (binary16; q = round(127·w / max|row|), w' = q/127 · max|row|). Written here from the definition
 * in src/options.ts, not taken from either backend, so that it checks both.
 */
export function computedWeights(o: GRUOptions, weights: readonly GRUWeights[]): GRUWeights[] {
  const format = o.weightFormat ?? 'f32';
  if (format === 'f32') return [...weights];
  const H = o.hiddenSize;
  return weights.map((w) => {
    const u = new Float32Array(w.weightHh.length);
    for (let row = 0; row < 3 * H; row++) {
      let scale = 0;
      for (let k = 0; k < H; k++) scale = Math.max(scale, Math.abs(w.weightHh[row * H + k]!));
      for (let k = 0; k < H; k++) {
        const v = w.weightHh[row * H + k]!;
        u[row * H + k] = format === 'f16' ? roundToHalf(v) : scale > 0 ? (Math.round((v / scale) * 127) / 127) * scale : 0;
      }
    }
    return { ...w, weightHh: u };
  });
}

/** One forward's data: mostly short sequences, sometimes long enough to cross a persistent chunk. */
export interface RunData {
  input: Float32Array;
  args: RunArgs;
}

export function drawRun(d: Draw, o: GRUOptions): RunData {
  const { I, H, L, D } = dims(o);
  const { maxSteps } = conditioning(o);
  const steps = Math.min(maxSteps, d.chance(0.85) ? d.int(1, 12) : d.int(13, 80));
  const batch = d.chance(0.3) ? 1 : d.int(2, 9);
  const args: RunArgs = { steps, batch };
  if (d.chance(0.5)) args.h0 = d.floats(L * D * batch * H);
  if (d.chance(0.3)) args.seqLengths = Int32Array.from({ length: batch }, () => d.int(0, steps));
  return { input: d.floats(steps * batch * I, d.pick([1, 1, 3])), args };
}

/** What a broken call got wrong, and the argument its GRUError must name. */
export interface Broken {
  /** For the report: `args.steps = NaN`. */
  what: string;
  /** The argument: the message must start with `${names}:`. */
  names: string;
}

/** Values that are not a positive integer: zero, negative, fractional, NaN, infinite, other types. */
export const NOT_COUNTS: readonly unknown[] = [0, -1, -7, 0.5, 2.5, Number.NaN, Infinity, -Infinity, '3', null, true, [2], undefined];

/** Positive integers too large for any buffer or array. */
export const HUGE_COUNTS: readonly number[] = [2 ** 31, 1e12, 2 ** 53, Number.MAX_VALUE];

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length: number }).length})`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** A Float32Array of the wrong length or something that is not a Float32Array. */
export function wrongArray(d: Draw, length: number): unknown {
  return d.first<unknown>([
    () => new Float32Array(length + d.pick([1, 2, 7])),
    () => (length > 0 ? new Float32Array(length - 1) : undefined),
    () => (length > 0 ? new Float32Array(0) : undefined),
    () => new Float64Array(length),
    () => Array.from({ length }, () => 0),
    () => new Float32Array(length).buffer,
    () => null,
    () => 'zeros',
  ]);
}

/**
 * Breaks one of the arguments that `forward`, `forwardGPU` and `gruReference` share: steps,
 * batch, h0 (the array form), seqLengths or the args object itself.
 */
export function breakArgs(d: Draw, o: GRUOptions, args: Record<string, unknown>, keys: readonly string[]): Broken {
  const { H, L, D } = dims(o);
  const steps = args.steps as number;
  const batch = args.batch as number;
  return d.first<Broken>([
    () => {
      const v = d.pick(NOT_COUNTS);
      args.steps = v;
      return { what: `args.steps = ${show(v)}`, names: 'args.steps' };
    },
    () => {
      const v = d.pick(NOT_COUNTS);
      args.batch = v;
      return { what: `args.batch = ${show(v)}`, names: 'args.batch' };
    },
    () => {
      const key = d.pick(['lengths', 'seqLength', 'Steps', 'hN0', 'sequence_lens', 'output'].filter((k) => !keys.includes(k)));
      args[key] = 1;
      return { what: `unknown key args.${key}`, names: 'args' };
    },
    () => {
      const v = wrongArray(d, L * D * batch * H);
      args.h0 = v;
      return { what: `args.h0 = ${show(v)}`, names: 'args.h0' };
    },
    () => {
      const v = d.first<unknown>([
        () => Array.from({ length: batch }, () => steps),
        () => new Float32Array(batch).fill(steps),
        () => new Uint32Array(batch).fill(steps),
        () => new BigInt64Array(batch),
        () => 'all',
      ]);
      args.seqLengths = v;
      return { what: `args.seqLengths = ${show(v)}`, names: 'args.seqLengths' };
    },
    () => {
      const v = new Int32Array(batch + d.pick([-1, 1, 3])).fill(steps);
      args.seqLengths = v;
      return { what: `args.seqLengths of ${v.length} lengths for batch ${batch}`, names: 'args.seqLengths' };
    },
    () => {
      const lengths = Int32Array.from({ length: batch }, () => d.int(0, steps));
      const b = d.int(0, batch - 1);
      lengths[b] = d.chance(0.5) ? steps + d.int(1, 3) : -d.int(1, 3);
      args.seqLengths = lengths;
      return { what: `args.seqLengths[${b}] = ${lengths[b]} (steps ${steps})`, names: `args.seqLengths[${b}]` };
    },
  ]);
}

/** Breaks one option (`options` is a copy the call will get). */
export function breakOptions(d: Draw, options: Record<string, unknown>): Broken {
  const set = (key: string, values: readonly unknown[]): Broken => {
    const v = d.pick(values);
    options[key] = v;
    return { what: `options.${key} = ${show(v)}`, names: `options.${key}` };
  };
  const activation = (i: number, spec: unknown, names: string): Broken => {
    const pair: unknown[] = Array.isArray(options.activations) ? [...options.activations] : ['sigmoid', 'tanh'];
    pair[i] = spec;
    options.activations = pair;
    return { what: `options.activations[${i}] = ${show(spec)}`, names };
  };
  return d.first<Broken>([
    () => set('inputSize', NOT_COUNTS),
    () => set('hiddenSize', NOT_COUNTS),
    () =>
      set(
        'numLayers',
        NOT_COUNTS.filter((v) => v !== undefined),
      ),
    // Sizes that are valid integers but that no weights can match: the weights are what is wrong.
    () => {
      const key = d.pick(['inputSize', 'hiddenSize']);
      const v = d.pick(HUGE_COUNTS);
      options[key] = v;
      return { what: `options.${key} = ${v} (huge)`, names: 'weights[0].weightIh' };
    },
    () => {
      const v = d.pick(HUGE_COUNTS);
      options.numLayers = v;
      return { what: `options.numLayers = ${v} (huge)`, names: 'weights' };
    },
    () => set('direction', ['sideways', 'both', 'Forward', 'backward', 1, null]),
    () => set('batchFirst', ['yes', 1, 0, null, 'false']),
    () => set('resetAfter', ['true', 1, 0, null]),
    () => set('gateOrder', ['nzr', 'RZN', 'zr', 0, null]),
    () => set('clip', [0, -1, Number.NaN, Infinity, -Infinity, '1', null]),
    () => set('weightFormat', ['bf16', 'fp16', 'F16', 16, null]),
    () => set('schedule', ['fast', 'Persistent', 'wave', 0, null]),
    () => set('activations', ['tanh', [], ['sigmoid'], ['sigmoid', 'tanh', 'relu'], null, { 0: 'sigmoid', 1: 'tanh' }]),
    () => {
      const i = d.int(0, 1);
      return activation(i, d.pick(['swish', 'gelu', 'hardsigmoid', 'SIGMOID', '', 3, null]), `options.activations[${i}]`);
    },
    () => {
      const i = d.int(0, 1);
      return activation(i, { name: d.pick(['Swish', 'hard_sigmoid', 7, undefined]) }, `options.activations[${i}].name`);
    },
    () => {
      const i = d.int(0, 1);
      const key = d.pick(['alpha', 'beta']);
      return activation(i, { name: 'elu', [key]: d.pick([Number.NaN, Infinity, '1', null]) }, `options.activations[${i}].${key}`);
    },
    () => {
      const i = d.int(0, 1);
      return activation(i, { name: 'affine', gamma: 1 }, `options.activations[${i}]`);
    },
    () => {
      const key = d.pick(['hiddensize', 'layers', 'bias', 'dropout', 'bidirectional', 'linearBeforeReset']);
      options[key] = 1;
      return { what: `unknown option ${key}`, names: 'options' };
    },
  ]);
}

/**
 * Breaks one weight entry, or the array (`weights` is a shallow copy the call will get; entries
 * are copied before they change).
 */
export function breakWeights(d: Draw, o: GRUOptions, weights: unknown[]): Broken {
  const { I, H, D } = dims(o);
  const index = d.int(0, weights.length - 1);
  const name = `weights[${index}]`;
  const K = index < D ? I : D * H;
  const entry = () => ({ ...(weights[index] as GRUWeights) }) as Record<string, unknown>;
  const replace = (key: string, value: unknown): Broken => {
    const e = entry();
    e[key] = value;
    weights[index] = e;
    return { what: `${name}.${key} = ${show(value)}`, names: `${name}.${key}` };
  };
  return d.first<Broken>([
    () => {
      weights.splice(index, 1);
      return { what: `weights without entry ${index}`, names: 'weights' };
    },
    () => {
      weights.push(weights[index]);
      return { what: `weights with an extra entry`, names: 'weights' };
    },
    () => {
      const v = d.pick([null, 7, 'w', undefined]);
      weights[index] = v;
      return { what: `${name} = ${show(v)}`, names: name };
    },
    () => {
      const e = entry();
      const key = d.pick(['bias', 'weight_ih', 'W', 'biasHH']);
      e[key] = new Float32Array(3 * H);
      weights[index] = e;
      return { what: `unknown key ${name}.${key}`, names: name };
    },
    () => replace('weightIh', wrongArray(d, 3 * H * K)),
    () => replace('weightHh', wrongArray(d, 3 * H * H)),
    () => replace(d.pick(['biasIh', 'biasHh']), wrongArray(d, 3 * H)),
    () => replace('weightIh', undefined),
    // A layer after the first sized for the input (I) instead of D·H: the classic stacking mistake.
    () => (index >= D && I !== D * H ? replace('weightIh', new Float32Array(3 * H * I)) : undefined),
  ]);
}
