/**
 * The options of one GRU stack, their defaults, and the validation shared by the GPU path and the
 * CPU reference. `resolveOptions` turns what a caller wrote into a fully specified, frozen record.
 */
import { checkKeys, checkPositiveInteger } from './args.js';
import { fail } from './errors.js';
import { SCHEDULES, type Schedule } from './schedule.js';

/**
 * Which way each layer runs through the sequence ({@link GRUOptions.direction}, default 'forward'):
 * - 'forward': from t = 0 to each row's last valid step (`seqLengths`, default T);
 * - 'reverse': from each row's last valid step back to t = 0; the state computed at step t is
 *   written at output position t;
 * - 'bidirectional': both (D = 2); each output step holds the forward then the reverse H features,
 *   and hN holds both directions' last states, at index `layer · D + direction`.
 */
export type Direction = 'forward' | 'reverse' | 'bidirectional';
/**
 * The order of the three H-row gate blocks in every weight and bias ({@link GRUOptions.gateOrder}):
 * 'rzn' (reset, update, candidate: PyTorch, the default) or 'zrn' (update, reset, candidate: ONNX,
 * Keras, WebNN).
 */
export type GateOrder = 'rzn' | 'zrn';
/**
 * How the recurrent weights are stored on the GPU ({@link GRUOptions.weightFormat}, default 'f32'):
 * 'f16' as binary16, 'int8' as round(127 · w / max |row|) with one f32 scale per row. The
 * WebAssembly backend rounds them the same way, so both backends compute with the same weights.
 */
export type WeightFormat = 'f32' | 'f16' | 'int8';
/**
 * The activations besides sigmoid, tanh and relu, with the default α, β in parentheses (ONNX's
 * where ONNX has one): hardSigmoid max(0, min(1, α·x + β)) (0.2, 0.5); leakyRelu x < 0 ? α·x : x
 * (0.01); elu x < 0 ? α·(eˣ − 1) : x (1); softsign x / (1 + |x|); softplus log(1 + eˣ); scaledTanh
 * α·tanh(β·x) (1, 1); affine α·x + β (1, 0); thresholdedRelu x > α ? x : 0 (1). softsign and
 * softplus use neither.
 */
export type ParametricActivationName =
  | 'hardSigmoid'
  | 'leakyRelu'
  | 'elu'
  | 'softsign'
  | 'softplus'
  | 'scaledTanh'
  | 'affine'
  | 'thresholdedRelu';
/** The ONNX spelling of every activation (ONNX GRU `activations`), accepted as a name too. */
export type OnnxActivationName =
  | 'Sigmoid'
  | 'Tanh'
  | 'Relu'
  | 'HardSigmoid'
  | 'LeakyRelu'
  | 'Elu'
  | 'Softsign'
  | 'Softplus'
  | 'ScaledTanh'
  | 'Affine'
  | 'ThresholdedRelu';
/**
 * An activation: a name (camelCase, or as ONNX writes it) with ONNX's default alpha/beta, or
 * `{ name, alpha?, beta? }` for the parametric ones.
 */
export type Activation =
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | ParametricActivationName
  | OnnxActivationName
  | {
      /** The activation, spelled as in the string form. */
      name: ParametricActivationName | 'sigmoid' | 'tanh' | 'relu' | OnnxActivationName;
      /** A finite number; default: the activation's (see {@link ParametricActivationName}). */
      alpha?: number;
      /** A finite number; default: the activation's (see {@link ParametricActivationName}). */
      beta?: number;
    };

/**
 * The network of a GRU stack: the first argument of {@link GRU.create}, {@link WasmGRU.create},
 * {@link createGRU} and {@link gruReference}. Only `inputSize` and `hiddenSize` are required; an
 * unknown key or a value out of range throws a {@link GRUError} naming the option.
 */
export interface GRUOptions {
  /** I: features of one input step. */
  inputSize: number;
  /** H: units of the hidden state. */
  hiddenSize: number;
  /** L: stacked layers; layer l > 0 reads layer l−1's output (D·H features). Default 1. */
  numLayers?: number;
  /** Default 'forward'. 'bidirectional' runs both and concatenates them (D = 2). */
  direction?: Direction;
  /** Default false: input [T, B, I]; true: [B, T, I] (the output follows, hN does not). */
  batchFirst?: boolean;
  /**
   * Default true: n = g(Wn·x + bn_i + r ⊙ (Un·h + bn_h)) — PyTorch, cuDNN, Keras reset_after=True,
   * ONNX linear_before_reset=1. false: n = g(Wn·x + bn_i + Un·(r ⊙ h) + bn_h) — Cho et al. 2014, ONNX default.
   */
  resetAfter?: boolean;
  /** Order of the three H-row blocks in every weight and bias. Default 'rzn' (PyTorch); 'zrn' is ONNX, Keras, WebNN. */
  gateOrder?: GateOrder;
  /** [gate activation f, candidate activation g]. Default ['sigmoid', 'tanh']. */
  activations?: [Activation, Activation];
  /** ONNX clip: each pre-activation (r, z and the whole argument of g) is clamped to [−clip, clip]. */
  clip?: number;
  /**
   * How the recurrent weights are stored on the GPU (default 'f32'): 'f16' halves their bytes,
   * 'int8' quarters them (per-row scale); both are unpacked in the shader with core WGSL, so they
   * work on adapters without shader-f16. The input projection stays f32.
   */
  weightFormat?: WeightFormat;
  /** Kernel schedule, default 'auto' (see `Schedule`, src/schedule.ts). */
  schedule?: Schedule | 'auto';
}

/** Activation codes shared with shaders/recurrence.wgsl (`apply_activation`). */
export const ACTIVATION_CODES = {
  sigmoid: 0,
  tanh: 1,
  relu: 2,
  hardSigmoid: 3,
  leakyRelu: 4,
  elu: 5,
  softsign: 6,
  softplus: 7,
  scaledTanh: 8,
  affine: 9,
  thresholdedRelu: 10,
} as const;
/**
 * The camelCase name of an activation, as {@link ResolvedActivation} holds it.
 * @inline
 */
export type ActivationName = keyof typeof ACTIVATION_CODES;

/**
 * alpha/beta defaults: the ONNX operator defaults where ONNX gives one (HardSigmoid 0.2/0.5,
 * LeakyRelu 0.01, Elu 1, ThresholdedRelu 1); ScaledTanh and Affine have none in ONNX, so the
 * identity-like 1/1 and 1/0 are used.
 */
const ACTIVATION_DEFAULTS: Record<ActivationName, { alpha: number; beta: number }> = {
  sigmoid: { alpha: 0, beta: 0 },
  tanh: { alpha: 0, beta: 0 },
  relu: { alpha: 0, beta: 0 },
  hardSigmoid: { alpha: 0.2, beta: 0.5 },
  leakyRelu: { alpha: 0.01, beta: 0 },
  elu: { alpha: 1, beta: 0 },
  softsign: { alpha: 0, beta: 0 },
  softplus: { alpha: 0, beta: 0 },
  scaledTanh: { alpha: 1, beta: 1 },
  affine: { alpha: 1, beta: 0 },
  thresholdedRelu: { alpha: 1, beta: 0 },
};

/** An {@link Activation} with its name in camelCase and alpha and beta filled in. */
export interface ResolvedActivation {
  /** camelCase, whichever way it was written ('HardSigmoid' becomes 'hardSigmoid'). */
  name: ActivationName;
  /** The activation's number in the kernels (shaders/recurrence.wgsl `apply_activation`): 0 to 10. */
  code: number;
  /** As given, else the activation's default (see {@link ParametricActivationName}); 0 where unused. */
  alpha: number;
  /** As given, else the activation's default (see {@link ParametricActivationName}); 0 where unused. */
  beta: number;
}

/**
 * {@link GRUOptions} as a GRU runs them (`GRU.options`, `WasmGRU.options`): validated, every
 * default filled in, frozen.
 */
export interface ResolvedOptions {
  /** I: features of one input step. */
  inputSize: number;
  /** H: units of the hidden state. */
  hiddenSize: number;
  /** L: stacked layers (default 1). */
  numLayers: number;
  /** Default 'forward'. */
  direction: Direction;
  /** Number of directions: 2 for bidirectional, else 1. */
  numDirections: 1 | 2;
  /** Whether input and output are `[B, T, …]` rather than `[T, B, …]` (default false). */
  batchFirst: boolean;
  /** Whether the reset gate multiplies Un·h + bn_h (true, the default) or h (false). */
  resetAfter: boolean;
  /** Default 'rzn'. */
  gateOrder: GateOrder;
  /** `[gate activation f, candidate activation g]`; default sigmoid and tanh. */
  activations: readonly [ResolvedActivation, ResolvedActivation];
  /** The clamp of each pre-activation to [−clip, clip]; 0 means no clipping (the default). */
  clip: number;
  /** Default 'f32'. */
  weightFormat: WeightFormat;
  /** Default 'auto'; a forced schedule is checked against the device by `GRU.create`. */
  schedule: Schedule | 'auto';
}

const OPTION_KEYS = new Set([
  'inputSize',
  'hiddenSize',
  'numLayers',
  'direction',
  'batchFirst',
  'resetAfter',
  'gateOrder',
  'activations',
  'clip',
  'weightFormat',
  'schedule',
]);

function checkEnum<T extends string>(argument: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(argument, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

function checkBoolean(argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(argument, 'a boolean', value);
  return value;
}

const ACTIVATION_NAMES = Object.keys(ACTIVATION_CODES) as ActivationName[];

/** Our name of an activation written camelCase or as ONNX writes it (the first letter in upper case). */
function activationName(value: string): ActivationName | undefined {
  const camel = value.charAt(0).toLowerCase() + value.slice(1);
  return (ACTIVATION_NAMES as string[]).includes(camel) ? (camel as ActivationName) : undefined;
}

function resolveActivation(argument: string, value: unknown): ResolvedActivation {
  const names = ACTIVATION_NAMES;
  if (typeof value === 'string') {
    const name = activationName(value);
    if (!name) fail(argument, `an activation (${names.join(', ')}, or as ONNX spells them: Sigmoid, HardSigmoid, …)`, value);
    return { name, code: ACTIVATION_CODES[name], ...ACTIVATION_DEFAULTS[name] };
  }
  if (typeof value !== 'object' || value === null) fail(argument, 'an activation name or { name, alpha?, beta? }', value);
  checkKeys(argument, value, new Set(['name', 'alpha', 'beta']));
  const spec = value as { name?: unknown; alpha?: unknown; beta?: unknown };
  const name = typeof spec.name === 'string' ? activationName(spec.name) : undefined;
  if (!name) fail(`${argument}.name`, `one of ${names.join(', ')} (or as ONNX spells them)`, spec.name);
  const defaults = ACTIVATION_DEFAULTS[name];
  for (const key of ['alpha', 'beta'] as const) {
    const v = spec[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) fail(`${argument}.${key}`, 'a finite number', v);
  }
  return {
    name,
    code: ACTIVATION_CODES[name],
    alpha: (spec.alpha as number | undefined) ?? defaults.alpha,
    beta: (spec.beta as number | undefined) ?? defaults.beta,
  };
}

export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object of GRUOptions', options);
  checkKeys('options', options, OPTION_KEYS);
  const o = options as Record<string, unknown>;
  const inputSize = checkPositiveInteger('options.inputSize', o.inputSize);
  const hiddenSize = checkPositiveInteger('options.hiddenSize', o.hiddenSize);
  const numLayers = o.numLayers === undefined ? 1 : checkPositiveInteger('options.numLayers', o.numLayers);
  const direction = checkEnum<Direction>('options.direction', o.direction, ['forward', 'reverse', 'bidirectional'], 'forward');
  const batchFirst = checkBoolean('options.batchFirst', o.batchFirst, false);
  const resetAfter = checkBoolean('options.resetAfter', o.resetAfter, true);
  const gateOrder = checkEnum<GateOrder>('options.gateOrder', o.gateOrder, ['rzn', 'zrn'], 'rzn');
  let activations: [ResolvedActivation, ResolvedActivation];
  if (o.activations === undefined) {
    activations = [resolveActivation('options.activations[0]', 'sigmoid'), resolveActivation('options.activations[1]', 'tanh')];
  } else {
    if (!Array.isArray(o.activations) || o.activations.length !== 2) {
      fail('options.activations', '[gate activation, candidate activation] (an array of 2)', o.activations);
    }
    activations = [
      resolveActivation('options.activations[0]', o.activations[0]),
      resolveActivation('options.activations[1]', o.activations[1]),
    ];
  }
  let clip = 0;
  if (o.clip !== undefined) {
    if (typeof o.clip !== 'number' || !(o.clip > 0) || !Number.isFinite(o.clip)) fail('options.clip', 'a finite number > 0', o.clip);
    clip = o.clip;
  }
  const weightFormat = checkEnum<WeightFormat>('options.weightFormat', o.weightFormat, ['f32', 'f16', 'int8'], 'f32');
  const schedule = checkEnum<Schedule | 'auto'>('options.schedule', o.schedule, ['auto', ...SCHEDULES], 'auto');
  return Object.freeze({
    inputSize,
    hiddenSize,
    numLayers,
    direction,
    numDirections: direction === 'bidirectional' ? 2 : 1,
    batchFirst,
    resetAfter,
    gateOrder,
    activations: Object.freeze(activations) as readonly [ResolvedActivation, ResolvedActivation],
    clip,
    weightFormat,
    schedule,
  });
}
